"""Fig. 3: pseudo-label true and false positives by class and confidence threshold (ct).

Counts are summed over validation folds and restarts, as the paper's Fig. 3 counts "all
pseudo-labeled tumor mutation profiles over validation folds and runs".  Each ct has one bar per
model (PSS-NMF dark, PSS-NMF U.R. light, as in the paper), stacked by pseudo-labelled class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from pssnmf.plots.common import (
    CLASS_COLORS,
    class_colors,
    format_value,
    new_figure,
    require_columns,
    require_rows,
    require_single,
    styled,
)

COUNT_COLUMNS = ("model", "ct", "class", "n_true", "n_false")
RAW_COLUMNS = ("model", "ct", "pseudo_label", "truth")


def pseudo_label_counts(pseudo_labels: pd.DataFrame) -> pd.DataFrame:
    """True and false positives per model, ct and pseudo-labelled class.

    Parameters
    ----------
    pseudo_labels : DataFrame
        Either already counted (``model, ct, class, n_true, n_false``, optionally ``n_unknown``),
        or one row per pseudo-label given (``model, ct, pseudo_label, truth``; ``label`` is
        accepted for ``pseudo_label``): a pseudo-label is a true positive when it equals the
        tumour's true class (cancer type, or the uniquely homozygous pathway for DDRd), a false
        positive when it differs, and unknown when the tumour has no indicative label (``truth``
        missing or empty: DDRd tumours not uniquely homozygous), as the experiment's pseudo-label
        precision leaves those out too.

    Returns
    -------
    DataFrame ``model, ct, class, n_true, n_false, n_unknown, n, precision`` (``n`` counts all
    three; ``precision = n_true / (n_true + n_false)``), sorted by model order, ct, class.
    """
    if isinstance(pseudo_labels, pd.DataFrame):
        if "ct" not in pseudo_labels and "confidence_threshold" in pseudo_labels:
            pseudo_labels = pseudo_labels.rename(columns={"confidence_threshold": "ct"})
        require_single(pseudo_labels, ("task", "proportion", "split"), "pseudo-labels")
    if isinstance(pseudo_labels, pd.DataFrame) and set(COUNT_COLUMNS) <= set(pseudo_labels.columns):
        counts = pseudo_labels[list(COUNT_COLUMNS)].copy()
        counts["n_unknown"] = pseudo_labels["n_unknown"] if "n_unknown" in pseudo_labels else 0
        for column in ("n_true", "n_false", "n_unknown"):
            values = pd.to_numeric(counts[column], errors="raise")
            if (values < 0).any() or not np.allclose(values, np.round(values)):
                raise ValueError(f"pseudo-label counts: {column} must hold non-negative integers")
            counts[column] = values.astype(int)
        counts = counts.groupby(["model", "ct", "class"], sort=False, as_index=False)[
            ["n_true", "n_false", "n_unknown"]
        ].sum()
    else:
        frame = pseudo_labels
        if isinstance(frame, pd.DataFrame) and "pseudo_label" not in frame and "label" in frame:
            frame = frame.rename(columns={"label": "pseudo_label"})
        require_columns(frame, RAW_COLUMNS, "pseudo-labels (or counts with " + ", ".join(COUNT_COLUMNS) + ")")
        known = frame["truth"].notna() & (frame["truth"].astype(str).str.strip() != "")
        frame = frame.assign(
            correct=known & (frame["pseudo_label"].astype(str) == frame["truth"].astype(str)),
            wrong=known & (frame["pseudo_label"].astype(str) != frame["truth"].astype(str)),
            unknown=~known,
        )
        counts = (
            frame.groupby(["model", "ct", "pseudo_label"], sort=False)[["correct", "wrong", "unknown"]]
            .sum()
            .astype(int)
            .reset_index()
            .rename(columns={"pseudo_label": "class", "correct": "n_true", "wrong": "n_false",
                             "unknown": "n_unknown"})
        )
    require_rows(counts, "pseudo-labels")
    counts["n"] = counts["n_true"] + counts["n_false"] + counts["n_unknown"]
    judged = counts["n_true"] + counts["n_false"]
    counts["precision"] = counts["n_true"] / judged.where(judged > 0)
    model_order = {m: i for i, m in enumerate(dict.fromkeys(counts["model"]))}
    return counts.sort_values(
        ["model", "ct", "class"], key=lambda s: s.map(model_order) if s.name == "model" else s
    ).reset_index(drop=True)


@styled
def pseudo_label_figure(
    pseudo_labels: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    title: str | None = None,
):
    """Fig. 3: two panels, true positives and false positives, by ct, model and class.

    ``pseudo_labels`` as in :func:`pseudo_label_counts`; ``models`` picks and orders the models
    (default: all; the first is drawn darkest).  Returns ``(fig, counts)``.
    """
    counts = pseudo_label_counts(pseudo_labels)
    if models is not None:
        absent = [m for m in models if m not in set(counts["model"])]
        if absent:
            raise ValueError(f"pseudo-labels: no rows for model(s) {absent}")
        counts = counts[counts["model"].isin(models)].reset_index(drop=True)
    models = list(models) if models is not None else list(dict.fromkeys(counts["model"]))
    present = list(dict.fromkeys(counts["class"]))
    if classes is None:
        classes = [c for c in CLASS_COLORS if c in present] + sorted(
            c for c in present if c not in CLASS_COLORS
        )
    colors = class_colors(classes)
    cts = sorted(counts["ct"].unique())
    alphas = np.linspace(1.0, 0.4, len(models)) if len(models) > 1 else [1.0]
    width = 0.8 / len(models)
    fig = new_figure(min(10.0, max(6.5, 0.55 * len(cts) * len(models) + 2.5)), 5.2)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, column, name in zip(axes, ("n_true", "n_false"), ("True positives", "False positives")):
        for m, model in enumerate(models):
            bottom = np.zeros(len(cts))
            part = counts[counts["model"] == model]
            for cls in classes:
                heights = np.array(
                    [part.loc[(part["ct"] == ct) & (part["class"] == cls), column].sum() for ct in cts],
                    dtype=float,
                )
                ax.bar(np.arange(len(cts)) - 0.4 + width * (m + 0.5), heights, width * 0.92,
                       bottom=bottom, color=colors[cls], alpha=alphas[m], edgecolor="white",
                       linewidth=0.3)
                bottom += heights
            for x, total in zip(np.arange(len(cts)) - 0.4 + width * (m + 0.5), bottom):
                ax.text(x, total, f"{int(total)}", ha="center", va="bottom", fontsize=6)
        ax.set_ylabel(f"{name}\n(pseudo-labels)")
        ax.margins(y=0.12)
        # Counts are never negative; an all-zero panel keeps a 0..1 axis rather than ±0.06.
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
        ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    axes[-1].set_xticks(range(len(cts)), [format_value(ct) for ct in cts])
    axes[-1].set_xlabel("Confidence threshold ct")
    handles = [Patch(color=colors[c], label=c) for c in classes]
    handles += [Patch(facecolor="#555555", alpha=a, label=m) for m, a in zip(models, alphas)]
    fig.legend(handles=handles, loc="outside right center", frameon=False,
               title="Class / model (shade)")
    if title:
        fig.suptitle(title)
    return fig, counts
