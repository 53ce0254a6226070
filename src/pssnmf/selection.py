"""Hyperparameter selection from cross-validation fits (paper section 2.2.5).

1. :func:`fold_summary`: per-fit metrics -> one row per hyperparameter point, with the mean, the
   standard deviation and the number of folds of every metric.
2. :func:`pareto_front`: the points not dominated in (mean stability, mean cell-line accuracy),
   both maximised, among the points with mean stability >= ``min_stability`` (0.9 in the paper).
   Fallback: when no point of a (task, split mode, proportion, model) reaches the threshold, the
   front is taken over all its points and every row is flagged ``stability_threshold_met = False``.
3. :func:`choose`: the choice rule among front points, written down: the highest mean cell-line
   accuracy; ties -> the higher mean stability -> the smaller K -> the smaller lambda_c -> the
   smaller lambda_L2 -> the higher confidence threshold (fewer, surer pseudo-labels).  The front
   point of highest accuracy is the most accurate point that is stable enough; the rest only
   make the choice unique.

TCGA metrics are never read here: they are not known for unlabelled data in real use.

The SS-NMF(-UR) optimum is chosen before the PSS stage; PSS-NMF(-UR) reuse its (K, lambda_c,
lambda_L2) and sweep the confidence threshold (``base`` in :mod:`pssnmf.models`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SCOPE = ["task", "split_mode", "proportion", "model"]
POINT = ["K", "lambda_c", "lambda_l2", "confidence_threshold"]
SELECTION_METRICS = ("stability", "cellline_accuracy")
SUMMARY_METRICS = (
    "stability", "cellline_accuracy", "cellline_f1", "tcga_accuracy", "tcga_f1", "tcga_f1_truth_classes",
    "tcga_mean_max_probability", "n_pseudo_labels", "pseudo_label_precision", "n_epochs",
)


def fold_summary(fits: pd.DataFrame, n_folds: int | None = None) -> pd.DataFrame:
    """Fold means (``mean_<metric>``), standard deviations (``sd_<metric>``) and ``n_folds``.

    fits : one row per fit (the fit batches' metrics TSVs), validation folds only.
    n_folds : when given, points with fewer folds are dropped (a missing fit would bias the mean).
    """
    fits = fits[fits["fold"].astype(str) != "test"].copy()
    if fits.empty:
        raise ValueError("no validation-fold fits to summarise")
    fits["confidence_threshold"] = fits["confidence_threshold"].fillna(-1.0)  # NaN keys vanish in groupby
    keys = SCOPE + POINT
    metrics = [m for m in SUMMARY_METRICS if m in fits.columns]
    grouped = fits.groupby(keys, sort=True)
    summary = grouped[metrics].mean().add_prefix("mean_")
    spread = grouped[metrics].std(ddof=1).add_prefix("sd_")
    summary = summary.join(spread)
    summary["n_folds"] = grouped.size()
    summary = summary.reset_index()
    summary["confidence_threshold"] = summary["confidence_threshold"].replace(-1.0, np.nan)
    if n_folds is not None:
        short = summary["n_folds"] < n_folds
        if short.any():
            row = summary[short].iloc[0]
            log.warning(
                "%d points have fewer than %d folds and are left out (first: %s)",
                int(short.sum()), n_folds, dict(row[keys]))
        summary = summary[~short]
    return summary.reset_index(drop=True)


def non_dominated(stability: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Mask of points that no other point dominates (>= in both, > in one); both maximised."""
    s = np.asarray(stability, dtype=np.float64)
    a = np.asarray(accuracy, dtype=np.float64)
    ge = (s[None, :] >= s[:, None]) & (a[None, :] >= a[:, None])
    gt = (s[None, :] > s[:, None]) | (a[None, :] > a[:, None])
    dominated = (ge & gt).any(axis=1)
    return ~dominated


def pareto_front(summary: pd.DataFrame, min_stability: float = 0.9) -> pd.DataFrame:
    """The summary with ``eligible``, ``on_front`` and ``stability_threshold_met`` columns added.

    Per (task, split mode, proportion, model): eligible = mean stability >= ``min_stability``,
    or every point when none is (then ``stability_threshold_met`` is False for the whole scope).
    Points with a NaN mean stability or accuracy (failed fits) are never eligible.
    """
    out = []
    for _, part in summary.groupby(SCOPE, sort=True):
        part = part.copy()
        finite = np.isfinite(part["mean_stability"]) & np.isfinite(part["mean_cellline_accuracy"])
        stable = finite & (part["mean_stability"] >= min_stability)
        met = bool(stable.any())
        eligible = stable if met else finite
        part["eligible"] = eligible
        part["stability_threshold_met"] = met
        on_front = np.zeros(len(part), dtype=bool)
        idx = np.flatnonzero(eligible.to_numpy())
        if idx.size:
            on_front[idx] = non_dominated(part["mean_stability"].to_numpy()[idx],
                                          part["mean_cellline_accuracy"].to_numpy()[idx])
        part["on_front"] = on_front
        out.append(part)
    return pd.concat(out, ignore_index=True)


def choose(front: pd.DataFrame) -> pd.DataFrame:
    """One chosen point per (task, split mode, proportion, model) by the module's choice rule."""
    rows = []
    for _, part in front[front["on_front"]].groupby(SCOPE, sort=True):
        ct = part["confidence_threshold"].fillna(-np.inf)
        order = np.lexsort((
            -ct.to_numpy(), part["lambda_l2"].to_numpy(), part["lambda_c"].to_numpy(), part["K"].to_numpy(),
            -part["mean_stability"].to_numpy(), -part["mean_cellline_accuracy"].to_numpy(),
        ))
        rows.append(part.iloc[order[0]])
    if not rows:
        raise ValueError("no eligible points to choose from")
    return pd.DataFrame(rows).reset_index(drop=True)


def select(fits: pd.DataFrame, min_stability: float = 0.9, n_folds: int | None = None
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fold summary with front flags, and the chosen point per scope."""
    front = pareto_front(fold_summary(fits, n_folds=n_folds), min_stability=min_stability)
    return front, choose(front)
