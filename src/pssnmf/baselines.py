"""Simple baselines that every claim of the integrated models is measured against (issue "Beyond").

Three drop-in estimators with the surface of :class:`pssnmf.model.IntegratedNMF`, so the
experiment runner fits them on the same folds and seeds:

``LR-96``      multinomial logistic regression on the 96 per-sample proportions.  The S-NMF code of
               the same lab reported this plain classifier at ~0.974 cell-line accuracy, above its
               own S-NMF, which is why it belongs in Table 1.
``NMF+LR``     two steps: unsupervised NMF (scikit-learn) with K signatures on *all* training rows,
               labelled and unlabelled, then the same logistic regression on the exposures (NNLS
               against the NMF signatures, as the integrated models' test step, section 2.1.3).
``COSMIC+LR``  exposures by NNLS against a fixed COSMIC SBS set, then the logistic regression.

Conventions shared with ``IntegratedNMF``: X is (n_samples, 96) counts or proportions, every row
divided by its sum; y marks unlabelled rows with ``None``, ``""``, NaN or ``-1``.  The classifiers
train on the labelled rows only (only NMF+LR's factorisation sees the unlabelled ones).  There are
no restarts and no consensus, so ``stability_`` is NaN.  The same ``random_state`` gives the same
predictions bit for bit (lbfgs and the NNLS are deterministic; NMF is seeded).
"""

from __future__ import annotations

import json
import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls as _scipy_nnls
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from .channels import SBS96, normalize_channel
from .data.atomic import atomic_path
from .model.estimator import _encode_labels
from .model.fitted import as_profiles
from .model.nnls import nnls_exposures
from .models import names

BASELINES = names("baseline")  # the registry's (pssnmf.models); make_baseline builds each
N_CHANNELS = len(SBS96)


# ---------------------------------------------------------------------------------- input checks
# Profiles: pssnmf.model.fitted.as_profiles, the estimator's own validator.
# The same reading of y as IntegratedNMF: unlabelled rows are -1, None, NaN or "".
encode_labels = _encode_labels


def as_signatures(signatures, what: str = "cosmic_signatures") -> tuple[np.ndarray, list[str]]:
    """Signatures as a (K, 96) float64 array with rows summing to 1, and their names.

    Accepts a path to a COSMIC-layout file (``Type`` then one column per signature), a DataFrame
    with signatures as rows and the 96 channels as columns (or the transpose, COSMIC's layout),
    or a (K, 96) array.
    """
    names = None
    if isinstance(signatures, (str, os.PathLike)):
        from .catalog import read_catalog

        signatures = read_catalog(signatures, integer=False)
    if isinstance(signatures, pd.DataFrame):
        frame = signatures
        try:
            is_channel_index = [normalize_channel(str(i)) for i in frame.index] == list(SBS96)
        except ValueError:
            is_channel_index = False
        if is_channel_index:
            frame = frame.T
        as_profiles(frame, what)  # checks the channel columns
        names = [str(c) for c in frame.index]
        signatures = frame.to_numpy(dtype=np.float64)
    values = as_profiles(signatures, what)
    return values, names if names is not None else [f"signature_{k + 1}" for k in range(values.shape[0])]


def exposures_nnls(profiles: np.ndarray, signatures: np.ndarray) -> np.ndarray:
    """Exposures (n, K) = argmin_{e >= 0} ||x - e S|| per row, S (K, 96) fixed (section 2.1.3, "Testing").

    The model's batched solver wins for the small K of the NMF models; for a full COSMIC set
    (K = 86) its passive-set patterns rarely repeat, and scipy's active-set solver row by row is
    ~20x faster (measured on 300 TCGA exomes: 1.7 s vs 0.07 s).  Both give the same answer to
    rounding.
    """
    if signatures.shape[0] <= 16:
        return nnls_exposures(profiles, signatures)
    design = np.ascontiguousarray(signatures.T)
    return np.array([_scipy_nnls(design, row)[0] for row in profiles]).reshape(len(profiles), -1)


# ---------------------------------------------------------------------------------- estimators
class _LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Shared fit/predict: features from the profiles, then standardised multinomial LR.

    Standardising matters: proportions are ~1/96 each, and an L2 penalty of strength 1/C on such
    small features would flatten the classifier; after scaling, C means the same for every
    feature set (96 proportions or K exposures).
    """

    def _features(self, profiles: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit_features(self, profiles: np.ndarray, codes: np.ndarray) -> None:
        """Learn whatever the features need (signatures); runs before the classifier."""

    def _validate_common(self):
        if not (isinstance(self.C, numbers.Real) and not isinstance(self.C, bool) and np.isfinite(self.C)
                and self.C > 0):
            raise ValueError(f"C must be a finite number > 0; got {self.C!r}")
        if not (isinstance(self.max_iter, numbers.Integral) and not isinstance(self.max_iter, bool)
                and self.max_iter >= 1):
            raise ValueError(f"max_iter must be an integer >= 1; got {self.max_iter!r}")
        if self.random_state is not None and not (isinstance(self.random_state, numbers.Integral)
                                                  and self.random_state >= 0):
            raise ValueError(f"random_state must be an integer >= 0 or None; got {self.random_state!r}")

    def fit(self, X, y):
        """Fit on the labelled rows of X (unlabelled rows feed only an unsupervised step). Returns self."""
        self._validate_common()
        profiles = as_profiles(X)
        codes, classes = encode_labels(y, profiles.shape[0])
        self._fit_features(profiles, codes)
        labelled = codes >= 0
        self.classifier_ = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=float(self.C), max_iter=int(self.max_iter), random_state=self.random_state),
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            self.classifier_.fit(self._features(profiles[labelled]), codes[labelled])
        self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        self.classes_ = classes
        self.n_features_in_ = N_CHANNELS
        self.stability_ = float("nan")  # no restarts, no consensus signatures (eq. 9 undefined)
        self.n_train_labelled_ = int(labelled.sum())
        return self

    def predict_proba(self, X):
        """(n_samples, O) class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(self._features(as_profiles(X)))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def decision_function(self, X):
        """Logits (n_samples, O) of the logistic regression, for temperature scaling."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.decision_function(self._features(as_profiles(X)))


class LogisticRegression96(_LogisticBaseline):
    """``LR-96``: multinomial logistic regression on the 96 proportions (labelled rows only)."""

    name = "LR-96"

    def __init__(self, C=1.0, max_iter=5000, random_state=0):
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def _features(self, profiles):
        return profiles


class _ExposureBaseline(TransformerMixin, _LogisticBaseline):
    def transform(self, X):
        """Exposures (n_samples, K) by NNLS against the fixed signatures (rows normalised)."""
        check_is_fitted(self, "signatures_")
        return exposures_nnls(as_profiles(X), self.signatures_)

    def _features(self, profiles):
        return exposures_nnls(profiles, self.signatures_)


class NMFLogisticRegression(_ExposureBaseline):
    """``NMF+LR``: unsupervised NMF on all training rows, then LR on NNLS exposures (two steps)."""

    name = "NMF+LR"

    def __init__(self, n_signatures=6, C=1.0, max_iter=5000, nmf_max_iter=2000, random_state=0):
        self.n_signatures = n_signatures
        self.C = C
        self.max_iter = max_iter
        self.nmf_max_iter = nmf_max_iter
        self.random_state = random_state

    def _fit_features(self, profiles, codes):
        k = self.n_signatures
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k < min(profiles.shape[0],
                                                                                        N_CHANNELS + 1):
            raise ValueError(f"n_signatures must be an integer in [1, min(n_samples - 1, 96)]; got {k!r} "
                             f"with {profiles.shape[0]} training rows")
        # nndsvda: a deterministic SVD start with zeros filled by the data mean, so the seed matters
        # only for the coordinate-descent order and results are reproducible bit for bit.
        nmf = NMF(n_components=int(k), init="nndsvda", max_iter=int(self.nmf_max_iter), tol=1e-6,
                  random_state=self.random_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            nmf.fit(profiles)
        self.nmf_converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        self.nmf_n_iter_ = int(nmf.n_iter_)
        signatures = nmf.components_
        totals = signatures.sum(axis=1, keepdims=True)
        # A component of all zeros can occur when K exceeds the data's rank; keep it a valid,
        # uninformative signature instead of dividing by zero.
        signatures = np.where(totals > 0, signatures / np.where(totals > 0, totals, 1.0), 1.0 / N_CHANNELS)
        self.signatures_ = signatures  # (K, 96), each row sums to 1 as COSMIC's


class COSMICLogisticRegression(_ExposureBaseline):
    """``COSMIC+LR``: NNLS exposures against a fixed COSMIC SBS set, then LR."""

    name = "COSMIC+LR"

    def __init__(self, cosmic_signatures=None, C=1.0, max_iter=5000, random_state=0):
        self.cosmic_signatures = cosmic_signatures
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit_features(self, profiles, codes):
        if self.cosmic_signatures is None:
            raise ValueError("COSMIC+LR needs cosmic_signatures: a COSMIC SBS file path (e.g. "
                             "cosmic/COSMIC_v3.4_SBS_GRCh37.txt), a DataFrame or a (K, 96) array")
        self.signatures_, self.signature_names_ = as_signatures(self.cosmic_signatures)


def make_baseline(name: str, n_signatures: int = 6, random_state: int | None = 0, cosmic_signatures=None,
                  C: float = 1.0, max_iter: int = 5000):
    """A baseline estimator by its name in the results (``LR-96``, ``NMF+LR``, ``COSMIC+LR``).

    ``n_signatures`` is used by NMF+LR only, ``cosmic_signatures`` by COSMIC+LR only.
    """
    if name == "LR-96":
        return LogisticRegression96(C=C, max_iter=max_iter, random_state=random_state)
    if name == "NMF+LR":
        return NMFLogisticRegression(n_signatures=n_signatures, C=C, max_iter=max_iter, random_state=random_state)
    if name == "COSMIC+LR":
        return COSMICLogisticRegression(cosmic_signatures=cosmic_signatures, C=C, max_iter=max_iter,
                                        random_state=random_state)
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")


# ---------------------------------------------------------------------------------- persistence
BASELINE_FORMAT = "pssnmf-baseline"
_CLASSES_BY_NAME = {"LR-96": LogisticRegression96, "NMF+LR": NMFLogisticRegression,
                    "COSMIC+LR": COSMICLogisticRegression}


def save_baseline(model, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write a fitted baseline to one ``.npz`` of plain arrays plus JSON, atomically.

    Only what prediction needs is kept: the scaler, the logistic regression's coefficients, the
    classes and (exposure baselines) the signatures.  Read back with :func:`load_baseline`;
    nothing is pickled.
    """
    check_is_fitted(model, "classifier_")
    scaler, logistic = model.classifier_[0], model.classifier_[-1]
    params = {k: v for k, v in model.get_params().items() if k != "cosmic_signatures"}
    info = {"format": BASELINE_FORMAT, "format_version": 1, "name": model.name, "params": params,
            "classes": np.asarray(model.classes_).tolist(), "converged": bool(model.converged_),
            "signature_names": getattr(model, "signature_names_", None), "metadata": metadata or {}}
    arrays = {"metadata_json": np.array(json.dumps(info)), "scaler_mean": scaler.mean_,
              "scaler_scale": scaler.scale_, "coef": logistic.coef_, "intercept": logistic.intercept_}
    if hasattr(model, "signatures_"):
        arrays["signatures"] = model.signatures_
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **arrays)


def load_baseline(path: str | os.PathLike):
    """A baseline written by :func:`save_baseline`, ready for ``predict``/``predict_proba``."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    try:
        info = json.loads(str(arrays["metadata_json"]))
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path}: not a baseline file (no readable metadata_json: {error})") from None
    if info.get("format") != BASELINE_FORMAT or info.get("name") not in _CLASSES_BY_NAME:
        raise ValueError(f"{path}: format {info.get('format')!r} / name {info.get('name')!r}; expected a "
                         f"{BASELINE_FORMAT!r} file of one of {', '.join(BASELINES)}")
    model = _CLASSES_BY_NAME[info["name"]](**info["params"])
    classes = np.asarray(info["classes"], dtype=object if any(isinstance(c, str) for c in info["classes"]) else None)
    n_features = arrays["coef"].shape[1]
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = arrays["scaler_mean"], arrays["scaler_scale"]
    scaler.var_ = scaler.scale_ ** 2
    scaler.n_features_in_, scaler.n_samples_seen_ = n_features, 0
    logistic = LogisticRegression(C=float(model.C), max_iter=int(model.max_iter), random_state=model.random_state)
    logistic.coef_, logistic.intercept_ = arrays["coef"], arrays["intercept"]
    logistic.classes_ = np.arange(len(classes))
    logistic.n_features_in_ = n_features
    model.classifier_ = make_pipeline(scaler, logistic)
    model.classes_ = classes
    model.n_features_in_ = N_CHANNELS
    model.stability_ = float("nan")
    model.converged_ = info["converged"]
    if "signatures" in arrays:
        model.signatures_ = arrays["signatures"]
    if info.get("signature_names") is not None:
        model.signature_names_ = info["signature_names"]
    return model
