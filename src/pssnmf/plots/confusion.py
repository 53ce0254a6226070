"""Fig. 4 (and the U.R. panels of Figs. 15–18): confusion matrices of test-set predictions.

Each cell shows the percentage of the row's (true class's) samples on top and their count below;
the colour is the percentage, as in the paper's Fig. 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pssnmf.plots.common import (
    CLASS_COLORS,
    new_figure,
    require_columns,
    require_rows,
    require_single,
    source_name,
    styled,
)

PREDICTION_COLUMNS = ("model", "sample", "source", "truth", "predicted")


def _ordered(values, preferred: Sequence[str] | None) -> list[str]:
    values = list(dict.fromkeys(values))
    if preferred is not None:
        unknown = [v for v in values if v not in preferred]
        if unknown:
            raise ValueError(f"classes {unknown} are not in the class order given {list(preferred)}")
        return [c for c in preferred if c in values]
    known = [c for c in CLASS_COLORS if c in values]
    return known + sorted(v for v in values if v not in known)


def confusion_counts(
    predictions: pd.DataFrame, classes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Count matrix behind Fig. 4, long format.

    Parameters
    ----------
    predictions : DataFrame
        One row per test sample and model: ``model, sample, source, truth, predicted`` (other
        columns ignored).  Rows whose ``truth`` is missing or empty (tumours without an indicative
        label) are left out.  Filter the experiment's predictions to the test fold and one
        replicate first: a sample may appear once per model and source.
    classes : sequence, optional
        Class order; default: the task's usual order (``MMR, BER, HR, Control`` or the cancer
        types), then alphabetical.

    Returns
    -------
    DataFrame with ``model, source, truth, predicted, count, row_total, row_percent``: every
    (truth, predicted) pair for the truth classes present in the source and all predicted
    classes, zeros included.
    """
    require_columns(predictions, PREDICTION_COLUMNS, "test predictions")
    require_single(predictions, ("task", "proportion", "split", "split_mode", "fold", "replicate"),
                   "test predictions")
    # A tumour without an indicative label (DDRd: not uniquely homozygous) has no truth: NaN or "".
    has_truth = predictions["truth"].notna() & (predictions["truth"].astype(str).str.strip() != "")
    frame = predictions.loc[has_truth, list(PREDICTION_COLUMNS)].copy()
    require_rows(frame, "test predictions (rows with a truth label)")
    duplicated = frame.duplicated(["model", "source", "sample"])
    if duplicated.any():
        first = frame.loc[duplicated].iloc[0]
        raise ValueError(
            f"test predictions: sample {first['sample']!r} appears twice for model "
            f"{first['model']!r} and source {first['source']!r}; pass one fold (test) and one "
            "replicate per model"
        )
    frame["truth"] = frame["truth"].astype(str)
    frame["predicted"] = frame["predicted"].astype(str)
    order = _ordered(list(frame["truth"]) + list(frame["predicted"]), classes)
    rows = []
    models = list(dict.fromkeys(frame["model"]))
    for source in dict.fromkeys(frame["source"]):
        in_source = frame[frame["source"] == source]
        truths = [c for c in order if c in set(in_source["truth"])]
        for model in models:
            part = in_source[in_source["model"] == model]
            if part.empty:
                continue
            table = pd.crosstab(part["truth"], part["predicted"]).reindex(
                index=truths, columns=order, fill_value=0
            )
            for truth in truths:
                total = int(table.loc[truth].sum())
                for predicted in order:
                    count = int(table.loc[truth, predicted])
                    rows.append(
                        {
                            "model": model,
                            "source": source,
                            "truth": truth,
                            "predicted": predicted,
                            "count": count,
                            "row_total": total,
                            "row_percent": 100.0 * count / total if total else np.nan,
                        }
                    )
    return pd.DataFrame(rows)


@styled
def confusion_figure(
    predictions: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "Blues",
):
    """Fig. 4: a grid of confusion matrices, one row per model, one column per source.

    ``predictions`` as in :func:`confusion_counts`; ``models`` picks and orders the models (any
    list: S-NMF, SS-NMF, PSS-NMF, the U.R. variants).  Returns ``(fig, counts)`` where ``counts``
    is the table of :func:`confusion_counts` for the models shown.
    """
    require_columns(predictions, PREDICTION_COLUMNS, "test predictions")
    if models is not None:
        absent = [m for m in models if m not in set(predictions["model"])]
        if absent:
            raise ValueError(
                f"test predictions: no rows for model(s) {absent}; "
                f"models present: {sorted(set(predictions['model']))}"
            )
        predictions = predictions[predictions["model"].isin(models)]
    counts = confusion_counts(predictions, classes)
    models = list(models) if models is not None else list(dict.fromkeys(counts["model"]))
    sources = list(dict.fromkeys(counts["source"]))
    order = list(dict.fromkeys(counts["predicted"]))
    n_rows, n_cols = len(models), len(sources)
    cell = 0.42
    width = max(3.2, sum(len(order) * cell + 1.3 for _ in sources) + 0.8)
    height = max(2.6, n_rows * (max(len(set(counts["truth"])), 2) * cell + 1.1) + 0.5)
    fig = new_figure(width, height)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    image = None
    for i, model in enumerate(models):
        for j, source in enumerate(sources):
            ax = axes[i, j]
            part = counts[(counts["model"] == model) & (counts["source"] == source)]
            if part.empty:
                ax.set_axis_off()
                ax.set_title(f"{model} — {source_name(source)}\n(no predictions)")
                continue
            truths = list(dict.fromkeys(part["truth"]))
            percent = part.pivot(index="truth", columns="predicted", values="row_percent")
            count = part.pivot(index="truth", columns="predicted", values="count")
            percent = percent.loc[truths, order]
            count = count.loc[truths, order]
            image = ax.imshow(percent.to_numpy(), cmap=cmap, vmin=0, vmax=100, aspect="auto")
            for r in range(len(truths)):
                for c in range(len(order)):
                    value = percent.iat[r, c]
                    dark = value > 55
                    ax.text(c, r, f"{value:.0f}%\n{count.iat[r, c]}", ha="center", va="center",
                            fontsize=7, color="white" if dark else "black", linespacing=1.1)
            ax.set_xticks(range(len(order)), order, rotation=30 if len(order) > 3 else 0,
                          ha="right" if len(order) > 3 else "center")
            ax.set_yticks(range(len(truths)), truths)
            ax.spines[:].set_visible(False)
            ax.set_title(f"{model} — {source_name(source)} (n = {int(count.to_numpy().sum())})")
            if i == n_rows - 1:
                ax.set_xlabel("Predicted class")
            if j == 0:
                ax.set_ylabel("True class")
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.6, aspect=30)
        bar.set_label("% of the true class (row)")
    if title:
        fig.suptitle(title)
    return fig, counts
