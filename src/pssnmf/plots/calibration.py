"""Reliability curves of the final models' test predictions (beyond the paper: calibration).

One panel per source (cell lines, TCGA) and scaling (raw probabilities; after temperature
scaling fitted on the validation folds), one line per model: mean top probability of each
confidence bin against the fraction of its samples whose top class is the truth.  A calibrated
model lies on the diagonal; below it, the model is overconfident.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pssnmf.plots.common import model_colors, new_figure, require_columns, require_rows, styled

CURVE_COLUMNS = ("model", "source", "scaling", "mean_predicted", "observed_frequency", "count")
SCALINGS = {"raw": "raw probabilities", "temperature": "temperature-scaled (T from validation folds)"}


@styled
def reliability_figure(curves: pd.DataFrame, ece: pd.DataFrame, models: Sequence[str] | None = None,
                       title: str | None = None):
    """The figure and the data it shows.

    curves : :func:`pssnmf.tables.calibration_table`'s curves (``model, source, scaling, bin,
        mean_predicted, observed_frequency, count``); empty bins (count 0) are not drawn.
    ece : its table (``model, source, ece, ece_scaled``), for the legend.
    models : the models to draw, in order (default: all, sorted).
    """
    require_columns(curves, CURVE_COLUMNS, "reliability curves")
    require_rows(curves, "reliability curves")
    models = list(models) if models is not None else sorted(curves["model"].unique())
    sources = [s for s in ("cell lines", "TCGA") if s in set(curves["source"])] + \
        sorted(set(curves["source"]) - {"cell lines", "TCGA"})
    scalings = [s for s in SCALINGS if s in set(curves["scaling"])]
    colors = model_colors(models)
    fig = new_figure(3.4 * len(sources), 3.1 * len(scalings))
    axes = fig.subplots(len(scalings), len(sources), squeeze=False, sharex=True, sharey=True)
    for i, scaling in enumerate(scalings):
        for j, source in enumerate(sources):
            ax = axes[i][j]
            ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--")
            for model in models:
                part = curves[(curves["model"] == model) & (curves["source"] == source)
                              & (curves["scaling"] == scaling) & (curves["count"] > 0)]
                if part.empty:
                    continue
                row = ece[(ece["model"] == model) & (ece["source"] == source)]
                value = np.nan if row.empty else float(row.iloc[0]["ece" if scaling == "raw" else "ece_scaled"])
                ax.plot(part["mean_predicted"], part["observed_frequency"], marker="o", markersize=3,
                        linewidth=1.1, color=colors[model], label=f"{model} (ECE {value:.2f})")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_title(f"{source}: {SCALINGS[scaling]}", fontsize=8)
            if i == len(scalings) - 1:
                ax.set_xlabel("Mean top probability")
            if j == 0:
                ax.set_ylabel("Fraction correct")
            ax.legend(fontsize=6, loc="upper left", frameon=False)
    if title:
        fig.suptitle(title)
    data = curves[curves["model"].isin(models)].reset_index(drop=True)
    return fig, data
