"""A trained model as prediction reads it: the fitted state of an IntegratedNMF, without scikit-learn.

``pssnmf predict`` applies a model file to new samples.  Importing scikit-learn, for the
estimator's base classes, took longer than predicting 10,000 samples (benchmarks/RESULTS.md,
"Predict"), so :func:`pssnmf.model.load_model` with ``estimator=False`` returns a
:class:`FittedModel`: the hyperparameters and fitted attributes that ``load_model`` gives an
:class:`~pssnmf.model.IntegratedNMF`, checked by the same rules, and its ``transform``,
``predict_proba`` and ``predict`` through the same functions (:func:`as_profiles`,
:func:`~pssnmf.model.nnls.nnls_exposures`, :func:`~pssnmf.model.updates.probabilities`), so the
same numbers bit for bit.  No ``fit``, no ``set_params``: to train or tune, load the estimator.
"""

from __future__ import annotations

import numpy as np

from ..channels import SBS96, normalize_channel
from .nnls import nnls_exposures
from .params import N_CHANNELS
from .updates import probabilities


class FittedModel:
    """A fitted model read from its file, for prediction: ``transform``, ``predict_proba``, ``predict``.

    Holds each hyperparameter as an attribute (``get_params()`` gives them all) and the fitted
    attributes of :class:`~pssnmf.model.IntegratedNMF` (``signatures_``, ``weights_``,
    ``classes_``, ``ood_threshold_``, ...), set by :func:`pssnmf.model.load_model`.
    """

    def __init__(self, **params):
        self._param_names = tuple(params)
        for name, value in params.items():
            setattr(self, name, value)

    def get_params(self) -> dict:
        """The hyperparameters the model was trained with, as its file holds them."""
        return {name: getattr(self, name) for name in self._param_names}

    def transform(self, X) -> np.ndarray:
        """Exposures (n_samples, K) by NNLS on the fixed consensus signatures (rows normalised)."""
        return nnls_exposures(as_profiles(X), self.signatures_)

    def predict_proba(self, X) -> np.ndarray:
        """softmax(E W), (n_samples, O), columns in ``classes_`` order."""
        return probabilities(self.transform(X), self.weights_)

    def predict(self, X) -> np.ndarray:
        """The class of highest probability, from ``classes_``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def as_profiles(X, what: str = "X"):
    """(n_samples, 96) float64 proportions of X (counts or proportions, each row divided by its sum);
    a clear ValueError naming ``what`` and the row for anything else.  The one profile validator of
    the estimator, the fitted model and the baselines."""
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(f"{what}: sparse input is not supported; pass a dense (n_samples, 96) array")
    if hasattr(X, "columns"):
        try:
            channels = [normalize_channel(c) for c in X.columns]
        except ValueError as error:
            raise ValueError(f"{what}: a column is not an SBS96 channel: {error}") from None
        if channels != list(SBS96):
            raise ValueError(f"{what}: the columns must be the 96 SBS96 channels in COSMIC order (pssnmf.channels.SBS96)")
    try:
        raw = np.asarray(X)
        if np.iscomplexobj(raw):  # a cast to float would drop the imaginary part with only a warning
            raise ValueError(f"{what} holds complex values (Complex data not supported); profiles are real counts")
        profiles = raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be a numeric (n_samples, 96) array: {error}") from None
    if profiles.ndim == 2 and not np.isfinite(profiles).all():
        row = int(np.flatnonzero(~np.isfinite(profiles).all(axis=1))[0])
        raise ValueError(f"{what} row {row} holds a NaN or infinite value (Input contains NaN or infinity)")
    if profiles.ndim != 2 or profiles.shape[1] != N_CHANNELS:
        raise ValueError(f"{what} must have shape (n_samples, 96), one column per SBS96 channel; got {profiles.shape}")
    if profiles.shape[0] == 0:
        raise ValueError(f"{what} has no rows")
    if (profiles < 0).any():
        row = int(np.flatnonzero((profiles < 0).any(axis=1))[0])
        raise ValueError(f"{what} row {row} holds a negative value; profiles must be non-negative")
    totals = profiles.sum(axis=1, keepdims=True)
    if (totals == 0).any():
        row = int(np.flatnonzero(totals[:, 0] == 0)[0])
        raise ValueError(f"{what} row {row} is all zero: a profile needs at least one mutation")
    return profiles / totals
