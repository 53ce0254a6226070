"""Per-fit evaluation metrics (paper section 2.2.4, docs/protocol.md, "Selection and evaluation").

Every score here is computed with :mod:`sklearn.metrics`:

- ``cellline_accuracy``, ``cellline_f1``: accuracy (eq. 10) and macro F1 (eq. 11) over the
  evaluation cell lines (balanced classes).
- ``tcga_accuracy``, ``tcga_f1``: the same over the evaluation tumours that have ``truth``
  (cancer type: the tumour's cancer type; DDRd: the pathway of a uniquely-homozygous tumour).
  Macro F1 averages over the classes present in truth *or* prediction, as scikit-learn does by
  default, so a DDRd tumour predicted ``Control`` counts against the score (Control's F1 is 0).
- ``tcga_f1_truth_classes``: the DDRd "3-pathway" variant: macro F1 averaged over the classes
  present in truth only (a tumour predicted Control is still a miss for its pathway, but
  Control's own zero F1 is not averaged in).  Equal to ``tcga_f1`` when no prediction falls
  outside the truth classes.
- ``n_pseudo_labels``: pseudo-labels given over all restarts of the fit (``pseudo_labels_`` rows);
  ``pseudo_label_precision``: the share of those whose tumour has truth that match it.  Tumours
  without truth (DDRd heterozygous / wild type) cannot be judged: they are left out of the
  precision and counted in ``n_pseudo_labels_without_truth``.
- ``tcga_mean_max_probability``: mean over all evaluation tumours of the largest class probability.

Confidence intervals: :func:`bootstrap_ci` resamples test samples (percentile bootstrap, seeded)
and, when several seeds were run, seeds too (a two-level bootstrap: a seed, then samples).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

NAN = float("nan")


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    return float(accuracy_score(truth, predicted)) if len(truth) else NAN


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro F1 over the classes present in truth or prediction (scikit-learn's default)."""
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    if not len(truth):
        return NAN
    return float(f1_score(truth, predicted, average="macro", zero_division=0))


def macro_f1_truth_classes(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro F1 averaged over the classes present in truth only (the DDRd 3-pathway variant)."""
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    if not len(truth):
        return NAN
    labels = sorted(set(truth.tolist()))
    return float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


def evaluation_scores(evaluation: pd.DataFrame, predicted: Sequence[str], max_probability: Sequence[float]) -> dict:
    """Cell-line and TCGA scores of one fit.

    evaluation : membership rows of the evaluation samples (``source``, ``truth``), in the order
        of ``predicted`` and ``max_probability``.
    """
    predicted = np.asarray(predicted, dtype=object)
    max_probability = np.asarray(max_probability, dtype=np.float64)
    source = evaluation["source"].to_numpy()
    truth = evaluation["truth"].to_numpy(dtype=object)
    cells = source == "cell_line"
    tumours = source == "tumour"
    judged = tumours & (truth != "")
    return {
        "n_eval_cell_lines": int(cells.sum()),
        "n_eval_tumours": int(tumours.sum()),
        "n_eval_tumours_with_truth": int(judged.sum()),
        "cellline_accuracy": accuracy(truth[cells], predicted[cells]),
        "cellline_f1": macro_f1(truth[cells], predicted[cells]),
        "tcga_accuracy": accuracy(truth[judged], predicted[judged]),
        "tcga_f1": macro_f1(truth[judged], predicted[judged]),
        "tcga_f1_truth_classes": macro_f1_truth_classes(truth[judged], predicted[judged]),
        "tcga_mean_max_probability": float(max_probability[tumours].mean()) if tumours.any() else NAN,
    }


def pseudo_label_scores(pseudo_labels: pd.DataFrame | None, train: pd.DataFrame, n_restarts: int = 1) -> dict:
    """Count and precision of the pseudo-labels of one fit.

    pseudo_labels : the model's ``pseudo_labels_`` (restart, sample = row index into the training
        X, label, epoch, probability); ``None`` or empty for models that give none.
    train : membership rows of the training samples, in X's order (``truth``).
    n_restarts : the fit's restarts, for ``pseudo_labels_per_restart``.
    """
    if pseudo_labels is None or len(pseudo_labels) == 0:
        return {"n_pseudo_labels": 0, "pseudo_labels_per_restart": 0.0, "n_pseudo_labels_with_truth": 0,
                "n_pseudo_labels_without_truth": 0, "pseudo_label_precision": NAN}
    truth = train["truth"].to_numpy(dtype=object)[pseudo_labels["sample"].to_numpy(dtype=np.int64)]
    labels = pseudo_labels["label"].astype(str).to_numpy(dtype=object)
    judged = truth != ""
    return {
        "n_pseudo_labels": int(len(pseudo_labels)),
        "pseudo_labels_per_restart": len(pseudo_labels) / max(1, int(n_restarts)),
        "n_pseudo_labels_with_truth": int(judged.sum()),
        "n_pseudo_labels_without_truth": int((~judged).sum()),
        "pseudo_label_precision": float(np.mean(labels[judged] == truth[judged])) if judged.any() else NAN,
    }


METRICS: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "macro_f1_truth_classes": macro_f1_truth_classes,
}


def scores_from_codes(truth: np.ndarray, predicted: np.ndarray, n_labels: int, metric: str) -> np.ndarray:
    """``metric`` for many resamples at once, from integer-coded labels.

    truth, predicted : (n_draws, n) label codes in [0, n_labels).  Gives exactly what the
    scikit-learn functions above give on each row (checked in the tests), but about a thousand
    times faster, which a bootstrap of 4,000 test samples needs.
    """
    n_draws, n = truth.shape
    if metric == "accuracy":
        return (truth == predicted).mean(axis=1)
    offset = (np.arange(n_draws) * n_labels)[:, None]
    support_true = np.bincount((offset + truth).ravel(), minlength=n_draws * n_labels).reshape(n_draws, n_labels)
    support_pred = np.bincount((offset + predicted).ravel(), minlength=n_draws * n_labels).reshape(n_draws, n_labels)
    hits = np.where(truth == predicted, truth, n_labels)  # n_labels: a bin for misses
    wide = n_labels + 1
    tp = np.bincount(((np.arange(n_draws) * wide)[:, None] + hits).ravel(),
                     minlength=n_draws * wide).reshape(n_draws, wide)[:, :n_labels]
    denominator = support_true + support_pred
    f1 = np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)
    # eq. 11: averaged over the classes in truth or prediction (sklearn's default), or truth only.
    present = (support_true > 0) if metric == "macro_f1_truth_classes" else (denominator > 0)
    if metric not in ("macro_f1", "macro_f1_truth_classes"):
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    return (f1 * present).sum(axis=1) / present.sum(axis=1)


def bootstrap_ci(
    replicates: Sequence[tuple[Sequence[str], Sequence[str]]],
    metric: str,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | np.random.SeedSequence = 0,
) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of a metric over test samples (and seeds).

    replicates : one (truth, predicted) pair per seed of the final fit (the same test samples,
        predicted by models trained with different seeds).  With one pair this is the usual
        bootstrap over test samples; with several, each bootstrap draw picks a seed at random
        and then resamples the test samples, so the interval covers both sources of variation.
    metric : ``"accuracy"``, ``"macro_f1"`` or ``"macro_f1_truth_classes"``.
    Returns (estimate, low, high); the estimate is the mean over the seeds of the metric on the
    full test set (computed with scikit-learn).  NaN where there are no samples.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    pairs = [(np.asarray(t, dtype=object), np.asarray(p, dtype=object)) for t, p in replicates]
    if not pairs or any(len(t) != len(p) or len(t) != len(pairs[0][0]) for t, p in pairs):
        raise ValueError("bootstrap_ci needs at least one (truth, predicted) pair, all of one length")
    n = len(pairs[0][0])
    if n == 0:
        return NAN, NAN, NAN
    estimate = float(np.mean([METRICS[metric](t, p) for t, p in pairs]))
    labels = sorted(set().union(*(set(t.tolist()) | set(p.tolist()) for t, p in pairs)), key=str)
    code = {label: i for i, label in enumerate(labels)}
    truth_codes = np.array([[code[v] for v in t] for t, _ in pairs], dtype=np.int64)
    pred_codes = np.array([[code[v] for v in p] for _, p in pairs], dtype=np.int64)
    rng = np.random.default_rng(seed)
    which = rng.integers(len(pairs), size=n_boot)
    idx = rng.integers(0, n, size=(n_boot, n))
    draws = scores_from_codes(truth_codes[which[:, None], idx], pred_codes[which[:, None], idx], len(labels), metric)
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return estimate, float(low), float(high)


def paired_difference_ci(
    truth: Sequence[Sequence[str]],
    a: Sequence[Sequence[str]],
    b: Sequence[Sequence[str]],
    metric: str,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | np.random.SeedSequence = 0,
) -> tuple[float, float, float]:
    """``metric(b) - metric(a)`` on the same test samples, with a paired percentile bootstrap interval.

    truth, a, b : one row per seed (replicate) of the two final fits, each over the same test
        samples in the same order; seed r of ``a`` is paired with seed r of ``b``.  As in
        :func:`bootstrap_ci`, each draw picks a seed at random and resamples the test samples,
        and both models are scored on that one resample, so the interval is of the difference
        itself (over test samples and seeds), narrower than two separate intervals would suggest
        when the models err on the same samples.
    Returns (estimate, low, high): the estimate is the mean over seeds of the difference on the
    full test set.  NaN where there are no samples.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    truth, a, b = (np.asarray(x, dtype=object) for x in (truth, a, b))
    if truth.ndim != 2 or truth.shape != a.shape or truth.shape != b.shape or truth.shape[0] == 0:
        raise ValueError("paired_difference_ci needs truth, a and b of one shape (seeds, samples), "
                         f"got {truth.shape}, {a.shape} and {b.shape}")
    n_seeds, n = truth.shape
    if n == 0:
        return NAN, NAN, NAN
    estimate = float(np.mean([METRICS[metric](truth[r], b[r]) - METRICS[metric](truth[r], a[r])
                              for r in range(n_seeds)]))
    labels = sorted(set(truth.ravel().tolist()) | set(a.ravel().tolist()) | set(b.ravel().tolist()), key=str)
    code = {label: i for i, label in enumerate(labels)}
    t, ca, cb = (np.vectorize(code.__getitem__, otypes=[np.int64])(x) for x in (truth, a, b))
    rng = np.random.default_rng(seed)
    which = rng.integers(n_seeds, size=n_boot)[:, None]
    idx = rng.integers(0, n, size=(n_boot, n))
    draws = (scores_from_codes(t[which, idx], cb[which, idx], len(labels), metric)
             - scores_from_codes(t[which, idx], ca[which, idx], len(labels), metric))
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return estimate, float(low), float(high)


def seeds_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and percentile range over seeds of a score that has no sample to resample (stability)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return NAN, NAN, NAN
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(values.mean()), float(low), float(high)
