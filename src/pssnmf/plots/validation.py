"""Fig. 2: validation metrics aggregated by hyperparameter (box plots: median, IQR).

Rows are hyperparameters, columns are metrics (cell-line accuracy, TCGA accuracy, stability), as in
the paper's Fig. 2.  Following its caption: the K row aggregates every fit; the λc and λL2 rows
only the fits at each model's optimal K; the ct row the pseudo-labelling models at their SS-NMF
optimum (every fit that has a ct), drawn below a dashed line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from pssnmf.plots.common import (
    canonical_metrics,
    format_value,
    model_colors,
    new_figure,
    require_columns,
    require_rows,
    require_single,
    styled,
)

METRIC_COLUMNS = (
    "task", "proportion", "model", "K", "lambda_c", "lambda_l2", "ct", "fold",
)

#: Metric column → axis title.
METRICS = {
    "cell_line_accuracy": "Cell-line accuracy",
    "tcga_accuracy": "TCGA accuracy",
    "stability": "Stability",
}

#: Hyperparameter column → row label.
HYPERPARAMETER_NAMES = {"K": "K", "lambda_c": "λc", "lambda_l2": "λL2", "ct": "ct"}


def validation_summary(
    metrics: pd.DataFrame,
    *,
    optimal_k: Mapping[str, int] | None = None,
    metric_columns: Sequence[str] = tuple(METRICS),
) -> pd.DataFrame:
    """The data behind Fig. 2: each fit's metric value, tagged with the row it is drawn in.

    Parameters
    ----------
    metrics : DataFrame
        One row per fit: ``task, proportion, model, K, lambda_c, lambda_l2, ct, fold`` and the
        metric columns (default ``cell_line_accuracy, tcga_accuracy, stability``); ``ct`` NaN for
        models without pseudo-labelling.  Pass one task and proportion.  The experiment's
        spellings (``confidence_threshold``, ``cellline_accuracy``) are accepted.
    optimal_k : mapping, optional
        Model → its optimal K (from model selection); restricts the λc and λL2 rows to those fits
        (a model missing from the mapping is left out of those rows).  Without it those rows
        aggregate every fit.

    Returns
    -------
    Long DataFrame: ``hyperparameter, value, model, metric, score`` plus the summary of each box
    (``n, median, q1, q3``) repeated on its rows, so the TSV states what each box shows.
    """
    metrics = canonical_metrics(metrics)
    require_columns(metrics, (*METRIC_COLUMNS, *metric_columns), "per-fit validation metrics")
    require_rows(metrics, "per-fit validation metrics")
    require_single(metrics, ("task", "proportion", "split"), "per-fit validation metrics")
    has_ct = metrics["ct"].notna()
    optimal_k = dict(optimal_k or {})
    rows = []

    def add(frame: pd.DataFrame, hyperparameter: str) -> None:
        for metric in metric_columns:
            part = frame[["model", hyperparameter, metric]].dropna()
            rows.append(
                pd.DataFrame(
                    {
                        "hyperparameter": hyperparameter,
                        "value": part[hyperparameter].astype(float).to_numpy(),
                        "model": part["model"].to_numpy(),
                        "metric": metric,
                        "score": part[metric].astype(float).to_numpy(),
                    }
                )
            )

    # K: every fit of the models without ct (the ct models reuse one K each).
    add(metrics[~has_ct], "K")
    at_optimum = metrics[~has_ct]
    if optimal_k:
        keep = at_optimum["model"].map(optimal_k)
        at_optimum = at_optimum[keep.notna() & (at_optimum["K"] == keep)]
    add(at_optimum, "lambda_c")
    add(at_optimum, "lambda_l2")
    add(metrics[has_ct], "ct")
    data = pd.concat(rows, ignore_index=True)
    grouped = data.groupby(["hyperparameter", "value", "model", "metric"], sort=False)["score"]
    stats = grouped.agg(
        n="size", median="median", q1=lambda s: s.quantile(0.25), q3=lambda s: s.quantile(0.75)
    ).reset_index()
    return data.merge(stats, on=["hyperparameter", "value", "model", "metric"], how="left")


@styled
def validation_figure(
    metrics: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    optimal_k: Mapping[str, int] | None = None,
    metric_columns: Sequence[str] = tuple(METRICS),
    title: str | None = None,
):
    """Fig. 2: box plots of each metric (columns) by each hyperparameter (rows), one box per model.

    ``metrics`` and ``optimal_k`` as in :func:`validation_summary`; ``models`` picks and orders the
    models (e.g. with or without the U.R. variants).  Returns ``(fig, data)`` with ``data`` from
    :func:`validation_summary`.
    """
    metrics = canonical_metrics(metrics)
    if models is not None:
        require_columns(metrics, ("model",), "per-fit validation metrics")
        absent = [m for m in models if m not in set(metrics["model"])]
        if absent:
            raise ValueError(f"per-fit validation metrics: no rows for model(s) {absent}")
        metrics = metrics[metrics["model"].isin(models)]
    data = validation_summary(metrics, optimal_k=optimal_k, metric_columns=metric_columns)
    models = list(models) if models is not None else list(dict.fromkeys(metrics["model"]))
    colors = model_colors(models)
    hyperparameters = [h for h in HYPERPARAMETER_NAMES if (data["hyperparameter"] == h).any()]
    n_rows, n_cols = len(hyperparameters), len(metric_columns)
    fig = new_figure(3.3 * n_cols + 1.4, 2.1 * n_rows + 0.5)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, hyperparameter in enumerate(hyperparameters):
        in_row = data[data["hyperparameter"] == hyperparameter]
        values = sorted(in_row["value"].unique())
        row_models = [m for m in models if (in_row["model"] == m).any()]
        width = 0.8 / max(len(row_models), 1)
        for j, metric in enumerate(metric_columns):
            ax = axes[i, j]
            part = in_row[in_row["metric"] == metric]
            for m, model in enumerate(row_models):
                boxes, positions = [], []
                for v, value in enumerate(values):
                    scores = part.loc[(part["model"] == model) & (part["value"] == value), "score"]
                    if len(scores):
                        boxes.append(scores.to_numpy())
                        positions.append(v - 0.4 + width * (m + 0.5))
                if not boxes:
                    continue
                # Whiskers at 1.5 IQR, no outlier markers: the figure is about median and IQR.
                ax.boxplot(
                    boxes, positions=positions, widths=width * 0.85, patch_artist=True,
                    showfliers=False, medianprops={"color": "black", "linewidth": 1},
                    boxprops={"facecolor": colors[model], "linewidth": 0.6},
                    whiskerprops={"linewidth": 0.6}, capprops={"linewidth": 0.6},
                )
            ax.set_xticks(range(len(values)), [format_value(v) for v in values],
                          rotation=45 if len(values) > 10 else 0)
            ax.set_xlim(-0.6, len(values) - 0.4)
            ax.set_xlabel(HYPERPARAMETER_NAMES[hyperparameter], labelpad=1)
            if i == 0:
                ax.set_title(METRICS.get(metric, metric))
            if j == 0:
                label = f"by {HYPERPARAMETER_NAMES[hyperparameter]}"
                if hyperparameter in ("lambda_c", "lambda_l2") and optimal_k:
                    label += "\n(at optimal K)"
                ax.set_ylabel(label)
            ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    # Legend and title first: they move the constrained layout, and the line below is placed
    # from the final positions of the axes.
    handles = [Patch(facecolor=colors[m], edgecolor="black", linewidth=0.6, label=m) for m in models]
    fig.legend(handles=handles, loc="outside right center", frameon=False, title="Model")
    if title:
        fig.suptitle(title)
    if "ct" in hyperparameters and n_rows > 1:
        # The paper separates the ct row (PSS-NMF models) from the others with a dashed line.
        row = hyperparameters.index("ct")
        FigureCanvasAgg(fig)
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        # Between the title-less top of the ct row and the x label of the row above it.
        top = fig.transFigure.inverted().transform(
            (0, axes[row, 0].get_tightbbox(renderer).y1))[1]
        below = fig.transFigure.inverted().transform(
            (0, axes[row - 1, 0].get_tightbbox(renderer).y0))[1]
        y = (top + below) / 2
        fig.add_artist(Line2D([0.02, 0.98], [y, y], transform=fig.transFigure, color="#555555",
                              linestyle="--", linewidth=0.8))
    return fig, data


def describe(data: pd.DataFrame) -> pd.DataFrame:
    """One row per box of :func:`validation_summary`'s data (``n, median, q1, q3, iqr``)."""
    boxes = data.drop(columns=["score"]).drop_duplicates(
        ["hyperparameter", "value", "model", "metric"]
    )
    return boxes.assign(iqr=boxes["q3"] - boxes["q1"]).reset_index(drop=True)


__all__ = ["validation_figure", "validation_summary", "describe", "METRICS"]
