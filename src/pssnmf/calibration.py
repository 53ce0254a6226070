"""Calibration of predicted class probabilities: reliability curves, ECE, temperature scaling.

A model's ``predict_proba`` (softmax(E W), section 2.1.3, or a baseline's) is *calibrated* when,
among the samples predicted with top probability ~p, a fraction ~p is right.  Issue "Beyond":
users read these numbers as confidences, so Table 1 reports how far they are from it.

* :func:`reliability_curve` - top-label reliability data: per confidence bin, the mean predicted
  (top) probability, the observed accuracy, and the number of samples.
* :func:`expected_calibration_error` - top-label ECE = sum_b (n_b / n) |accuracy_b - confidence_b|
  (Guo et al. 2017, "On calibration of modern neural networks", eq. 3), equal-width bins.
* :func:`fit_temperature` / :func:`apply_temperature` - temperature scaling (Guo et al. 2017,
  section 4.2): one scalar T > 0 divides the logits, fitted on validation predictions by
  minimising the negative log-likelihood over log T.  It never changes the argmax, so accuracy
  and F1 are untouched; only the confidences move.  With probabilities as input the logits are
  ``log p`` (softmax is shift-invariant, so that is exact up to a per-row constant).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

_LOG_FLOOR = np.log(np.finfo(np.float64).tiny)
_LOG_T_BOUNDS = (np.log(1e-2), np.log(1e2))


def _check_probabilities(probabilities, what="probabilities") -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or p.shape[0] == 0:
        raise ValueError(f"{what} must be (n_samples, n_classes) with >= 2 classes and >= 1 row; got {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{what} must be finite and non-negative")
    sums = p.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        row = int(np.flatnonzero(~np.isclose(sums, 1.0, atol=1e-6))[0])
        raise ValueError(f"{what} row {row} sums to {sums[row]:.6g}; each row must sum to 1")
    return p


def _truth_codes(truth, classes, n: int, strict: bool) -> np.ndarray:
    """Column of each true label in ``classes``; -1 where the label is not a class (if allowed)."""
    truth = np.asarray(truth, dtype=object)
    classes = list(np.asarray(classes, dtype=object))
    if truth.shape != (n,):
        raise ValueError(f"truth has {truth.size} labels but probabilities have {n} rows")
    if len(classes) != len(set(classes)):
        raise ValueError(f"classes must be distinct; got {classes}")
    position = {c: i for i, c in enumerate(classes)}
    codes = np.array([position.get(t, -1) for t in truth], dtype=np.intp)
    if strict and (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"truth row {row}: label {truth[row]!r} is not one of the classes {classes}; "
                         "the likelihood of a label the model cannot predict is undefined")
    return codes


def reliability_curve(probabilities, truth, classes, n_bins: int = 10) -> pd.DataFrame:
    """Top-label reliability data in ``n_bins`` equal-width bins of the top probability.

    probabilities : (n, O), columns in ``classes`` order; truth : (n,) true labels (a label outside
    ``classes`` counts as a wrong prediction).  Returns one row per bin (empty bins included, with
    count 0 and NaN means): ``bin``, ``lower``, ``upper``, ``mean_predicted`` (mean top probability),
    ``observed_frequency`` (fraction whose top class is the true one), ``count``.
    """
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise ValueError(f"n_bins must be an integer >= 1; got {n_bins!r}")
    p = _check_probabilities(probabilities)
    if p.shape[1] != len(classes):
        raise ValueError(f"probabilities have {p.shape[1]} columns but there are {len(classes)} classes")
    codes = _truth_codes(truth, classes, p.shape[0], strict=False)
    confidence = p.max(axis=1)
    correct = (np.argmax(p, axis=1) == codes).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bins are (lower, upper], the first [0, upper]: a confidence of exactly 1 falls in the last.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(which, weights=confidence, minlength=n_bins) / count
        observed = np.bincount(which, weights=correct, minlength=n_bins) / count
    return pd.DataFrame({"bin": np.arange(n_bins), "lower": edges[:-1], "upper": edges[1:],
                         "mean_predicted": mean_predicted, "observed_frequency": observed, "count": count})


def expected_calibration_error(probabilities, truth, classes, n_bins: int = 10) -> float:
    """Top-label ECE: the count-weighted mean |observed accuracy - mean confidence| over bins."""
    curve = reliability_curve(probabilities, truth, classes, n_bins)
    used = curve["count"] > 0
    gap = (curve.loc[used, "observed_frequency"] - curve.loc[used, "mean_predicted"]).abs()
    return float((gap * curve.loc[used, "count"]).sum() / curve["count"].sum())


def logits_from_probabilities(probabilities) -> np.ndarray:
    """log p, floored where p = 0 so a zero probability stays (almost) zero after scaling."""
    p = _check_probabilities(probabilities)
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), _LOG_FLOOR)


def apply_temperature(probabilities=None, temperature: float = 1.0, *, logits=None) -> np.ndarray:
    """softmax(logits / T); give either probabilities (logits = log p) or logits.  T = 1 is identity."""
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0; got {temperature!r}")
    if (probabilities is None) == (logits is None):
        raise ValueError("give exactly one of probabilities or logits")
    if logits is None:
        if temperature == 1.0:
            return _check_probabilities(probabilities).copy()
        z = logits_from_probabilities(probabilities)
    else:
        z = np.asarray(logits, dtype=np.float64)
        if z.ndim != 2 or not np.isfinite(z).all():
            raise ValueError(f"logits must be a finite (n_samples, n_classes) array; got shape {z.shape}")
    return softmax(z / temperature, axis=1)


def negative_log_likelihood(logits, codes, temperature: float) -> float:
    """Mean -log softmax(logits / T)[true class]."""
    log_p = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-log_p[np.arange(len(codes)), codes].mean())


def fit_temperature(probabilities=None, truth=None, classes=None, *, logits=None) -> float:
    """The T > 0 minimising the validation NLL of softmax(logits / T) (Guo et al. 2017).

    Searched over log T in [log 0.01, log 100] (bounded Brent, ``minimize_scalar``): a T outside
    means the predictions carry no usable confidence at all, which is reported as the bound.
    Every true label must be one of ``classes``.
    """
    if (probabilities is None) == (logits is None):
        raise ValueError("give exactly one of probabilities or logits")
    z = logits_from_probabilities(probabilities) if logits is None else np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or not np.isfinite(z).all():
        raise ValueError(f"logits must be a finite (n_samples, n_classes) array; got shape {z.shape}")
    if classes is None or len(classes) != z.shape[1]:
        raise ValueError(f"classes must name the {z.shape[1]} columns of the predictions")
    codes = _truth_codes(truth, classes, z.shape[0], strict=True)
    result = minimize_scalar(lambda log_t: negative_log_likelihood(z, codes, np.exp(log_t)),
                             bounds=_LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


class TemperatureScaledClassifier:
    """A fitted classifier whose ``predict_proba`` is divided by a temperature fitted on held-out data.

    ``estimator`` is any fitted object with ``predict_proba`` and ``classes_``; ``fit`` takes the
    validation predictions' inputs and true labels (the estimator itself is not refitted).
    ``predict`` is the estimator's (temperature does not change the argmax).
    """

    def __init__(self, estimator, temperature: float | None = None):
        self.estimator = estimator
        self.temperature = temperature

    @property
    def classes_(self):
        return self.estimator.classes_

    def fit(self, X, y):
        self.temperature_ = fit_temperature(self.estimator.predict_proba(X), y, self.estimator.classes_)
        return self

    def predict_proba(self, X):
        temperature = getattr(self, "temperature_", self.temperature)
        if temperature is None:
            raise ValueError("TemperatureScaledClassifier: call fit on validation data or give a temperature")
        return apply_temperature(self.estimator.predict_proba(X), temperature)

    def predict(self, X):
        return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]
