"""Per-sample uncertainty of a prediction, from multinomial resampling of the sample's own counts.

A tumour with 20 mutations has a noisy profile: another 20 draws from the same process would give
a different one, and maybe a different class.  For each sample this module draws ``n_resamples``
multinomial resamples of its count vector (same total, probabilities = its own profile; the
bootstrap the protocol already uses for cell lines, docs/protocol.md, "Splits and bootstrapping"), passes them
through a *fixed* fitted model (no refitting) and reports:

* per class, the percentile interval of the predicted probability over the resamples;
* ``agreement``: the fraction of resamples whose predicted class is the point prediction's;
* ``call``: the point prediction, or :data:`UNDETERMINED` when the sample has fewer than
  ``min_mutations`` mutations or the interval of its top class is wider than
  ``max_interval_width``.  Such samples are counted in the results, not forced into a class.

The defaults (:data:`DEFAULT_MIN_MUTATIONS`, :data:`DEFAULT_MAX_INTERVAL_WIDTH`, 90 % intervals,
200 resamples) and the measurements behind them are in ``docs/beyond.md``.

The resampling is plug-in: it treats the observed profile as the truth, so it shows how much the
prediction would move with the sampling noise of that many mutations, not the model's own error.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

UNDETERMINED = "undetermined"
DEFAULT_MIN_MUTATIONS = 50
DEFAULT_MAX_INTERVAL_WIDTH = 0.5
DEFAULT_LEVEL = 0.9
DEFAULT_RESAMPLES = 200
_BATCH_ROWS = 100_000  # resampled profiles per predict_proba call: bounds memory (rows x 96 floats)


def _as_counts(counts) -> tuple[np.ndarray, list]:
    names = list(counts.index) if isinstance(counts, pd.DataFrame) else None
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.shape[1] != 96:
        raise ValueError(f"counts must be (n_samples, 96) mutation counts; got shape {values.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1) | (values < 0).any(axis=1))[0])
        raise ValueError(f"counts row {row} holds a negative, NaN or infinite value")
    if not np.array_equal(values, np.round(values)):
        row = int(np.flatnonzero((values != np.round(values)).any(axis=1))[0])
        raise ValueError(f"counts row {row} holds a non-integer value: resampling needs mutation counts, "
                         "not proportions")
    return values.astype(np.int64), names if names is not None else list(range(values.shape[0]))


def _check_parameters(n_resamples, level, min_mutations, max_interval_width):
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer >= 2; got {n_resamples!r}")
    if not (isinstance(level, numbers.Real) and 0 < level < 1):
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    if isinstance(min_mutations, bool) or not isinstance(min_mutations, numbers.Integral) or min_mutations < 1:
        raise ValueError(f"min_mutations must be an integer >= 1; got {min_mutations!r}")
    if not (isinstance(max_interval_width, numbers.Real) and 0 < max_interval_width <= 1):
        raise ValueError(f"max_interval_width must be in (0, 1]; got {max_interval_width!r}")


def resample_counts(counts_row: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, 96) multinomial resamples of one count vector, each with the same total."""
    total = int(counts_row.sum())
    return rng.multinomial(total, counts_row / total, size=n_resamples)


def resampled_probabilities(model, counts, n_resamples: int = DEFAULT_RESAMPLES, random_state: int = 0
                            ) -> np.ndarray:
    """(n_samples, n_resamples, n_classes) predicted probabilities of every resample.

    Sample i's resamples come from ``SeedSequence(random_state).spawn(n)[i]``: the same seed and
    the same rows give the same numbers bit for bit.  Rows with no mutation get NaN.
    """
    values, _ = _as_counts(counts)
    n = values.shape[0]
    n_classes = len(model.classes_)
    out = np.full((n, n_resamples, n_classes), np.nan)
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(random_state).spawn(n)]
    have = np.flatnonzero(values.sum(axis=1) > 0)
    per_batch = max(1, _BATCH_ROWS // n_resamples)
    for start in range(0, have.size, per_batch):
        rows = have[start:start + per_batch]
        resamples = np.concatenate([resample_counts(values[i], n_resamples, generators[i]) for i in rows])
        probabilities = np.asarray(model.predict_proba(resamples), dtype=np.float64)
        out[rows] = probabilities.reshape(rows.size, n_resamples, n_classes)
    return out


def prediction_intervals(model, counts, n_resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL,
                         min_mutations: int = DEFAULT_MIN_MUTATIONS,
                         max_interval_width: float = DEFAULT_MAX_INTERVAL_WIDTH,
                         random_state: int = 0) -> pd.DataFrame:
    """Per-sample probability intervals, agreement and a call that may be :data:`UNDETERMINED`.

    model : a fitted object with ``predict_proba`` (on counts; rows are normalised by the model)
    and ``classes_``.  counts : (n, 96) integer mutation counts (a DataFrame keeps its index as
    ``sample``).  Returns one row per sample: ``sample``, ``mutations``, ``predicted`` (argmax of
    the sample's own profile), ``probability`` (its top probability), ``agreement``,
    ``top_lower``, ``top_upper``, ``top_interval_width`` (interval of the predicted class),
    ``call``, ``determined``, ``reason`` (``""``, ``"few mutations"``, ``"wide interval"``,
    ``"no mutations"``), then ``lower_<class>`` and ``upper_<class>`` for every class.
    """
    _check_parameters(n_resamples, level, min_mutations, max_interval_width)
    values, names = _as_counts(counts)
    classes = np.asarray(model.classes_, dtype=object)
    totals = values.sum(axis=1)
    have = totals > 0
    point = np.full((values.shape[0], classes.size), np.nan)
    if have.any():
        point[have] = np.asarray(model.predict_proba(values[have]), dtype=np.float64)
    draws = resampled_probabilities(model, values, n_resamples, random_state)
    alpha = (1.0 - level) / 2.0
    lower = np.quantile(draws, alpha, axis=1)  # (n, O); NaN rows stay NaN
    upper = np.quantile(draws, 1.0 - alpha, axis=1)

    rows = np.arange(values.shape[0])
    top = np.where(have, np.argmax(np.nan_to_num(point, nan=-1.0), axis=1), 0)
    agreement = np.where(have, (np.argmax(np.nan_to_num(draws, nan=-1.0), axis=2) == top[:, None]).mean(axis=1),
                         np.nan)
    width = upper[rows, top] - lower[rows, top]
    reason = np.where(~have, "no mutations",
                      np.where(totals < min_mutations, "few mutations",
                               np.where(width > max_interval_width, "wide interval", "")))
    determined = reason == ""
    predicted = np.where(have, classes[top], UNDETERMINED)
    table = pd.DataFrame({
        "sample": names, "mutations": totals, "predicted": predicted,
        "probability": np.where(have, point[rows, top], np.nan), "agreement": agreement,
        "top_lower": np.where(have, lower[rows, top], np.nan), "top_upper": np.where(have, upper[rows, top], np.nan),
        "top_interval_width": np.where(have, width, np.nan),
        "call": np.where(determined, predicted, UNDETERMINED), "determined": determined, "reason": reason,
    })
    for j, cls in enumerate(classes):
        table[f"lower_{cls}"] = lower[:, j]
        table[f"upper_{cls}"] = upper[:, j]
    return table


def undetermined_summary(table: pd.DataFrame) -> dict:
    """Counts for the results: how many samples got a class, how many were left undetermined and why."""
    reasons = table["reason"].value_counts()
    return {"n_samples": int(len(table)), "n_determined": int(table["determined"].sum()),
            "n_undetermined": int((~table["determined"]).sum()),
            "n_few_mutations": int(reasons.get("few mutations", 0)),
            "n_wide_interval": int(reasons.get("wide interval", 0)),
            "n_no_mutations": int(reasons.get("no mutations", 0))}
