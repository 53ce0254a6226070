"""The hyperparameters of :class:`~pssnmf.model.IntegratedNMF`, checked in one place.

Apart from the estimator so that a model read for prediction (:class:`pssnmf.model.fitted.FittedModel`)
is checked by the same rules without importing scikit-learn.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..channels import SBS96
from ..solvers import SOLVER_DEFAULTS, SOLVERS

MODES = ("supervised", "semi_supervised", "pseudo_labeling")
N_CHANNELS = len(SBS96)


def check_params(model) -> None:
    """Check every hyperparameter of ``model`` (an estimator, or a model read from its file);
    raise ValueError naming it and what was expected."""

    def integer(name, low, high=None):
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high
        ):
            span = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ValueError(f"{name} must be an integer {span}; got {value!r}")

    def real(name, low, high=None, low_open=False):
        value = getattr(model, name)
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
        ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
        if not ok:
            span = (f"> {low}" if low_open else f">= {low}") + ("" if high is None else f" and <= {high}")
            raise ValueError(f"{name} must be a finite number {span}; got {value!r}")

    integer("n_signatures", 1, N_CHANNELS)
    if model.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {model.mode!r}")
    for name in ("unlabeled_regularization", "pseudo_label_vote", "soft_pseudo_labels", "revisable_pseudo_labels"):
        if not isinstance(getattr(model, name), (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False; got {getattr(model, name)!r}")
    real("ur_weight", 0.0, 1.0)
    real("confidence_threshold", 0.0, 1.0)
    real("lambda_c", 0.0)
    real("lambda_l2", 0.0)
    real("mu_w", 0.0, low_open=True)
    integer("n_restarts", 1)
    if model.solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}; got {model.solver!r}")
    if model.tol is not None:
        real("tol", 0.0)
    if model.min_epochs is not None:
        integer("min_epochs", 0)
    if model.max_epochs is not None:
        integer("max_epochs", 1)
    limits = stopping(model)
    if limits["min_epochs"] > limits["max_epochs"]:
        raise ValueError(f"min_epochs ({limits['min_epochs']}) must not exceed max_epochs "
                         f"({limits['max_epochs']})")
    if model.random_state is not None:
        integer("random_state", 0)
    if getattr(model, "n_jobs", None) is not None:  # a fit-time option: a model file has none
        integer("n_jobs", 1)
    if model.dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {model.dtype!r}")
    if model.dtype == "float32" and model.solver != "mu":
        raise ValueError(f"dtype='float32' needs solver='mu'; solver={model.solver!r} runs in float64")


def stopping(model) -> dict:
    """tol, min_epochs, max_epochs: the values given, else the solver's defaults."""
    defaults = SOLVER_DEFAULTS[model.solver]
    return {key: defaults[key] if getattr(model, key) is None else getattr(model, key) for key in defaults}
