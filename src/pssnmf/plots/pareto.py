"""Figs. 10–14 (and the U.R. panels): Pareto fronts of validation stability and cell-line accuracy.

Model selection (section 2.2.5) keeps the configurations that are Pareto-optimal in (mean
stability, mean cell-line accuracy) over the 3 validation folds, among those with stability ≥ 0.9.
Each panel shows every configuration of one model, the front of each K as a line (the paper's
"different lines indicate different numbers of signatures"), the overall front among eligible
configurations ringed and annotated with its hyperparameters, and the chosen configuration
starred.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.text
import matplotlib.transforms
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D

from pssnmf.plots.common import (
    canonical_metrics,
    format_value,
    new_figure,
    require_columns,
    require_rows,
    require_single,
    styled,
)

HYPERPARAMETERS = ("K", "lambda_c", "lambda_l2", "ct")
METRIC_COLUMNS = ("model", *HYPERPARAMETERS, "stability", "cell_line_accuracy")

#: The paper's stability requirement (section 2.2.5).
MIN_STABILITY = 0.9

_LABEL_NAMES = {"lambda_c": "λc", "lambda_l2": "λL2", "ct": "ct"}


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Boolean mask of the points not dominated when both ``x`` and ``y`` are maximised.

    A point is dominated when another is at least as good in both and better in one; ties
    (identical points) are all on the front.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("pareto_front: x and y must be 1-d arrays of the same length")
    ge = (x[None, :] >= x[:, None]) & (y[None, :] >= y[:, None])
    gt = (x[None, :] > x[:, None]) | (y[None, :] > y[:, None])
    dominated = (ge & gt).any(axis=1)
    return ~dominated & np.isfinite(x) & np.isfinite(y)


def fold_means(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean stability and cell-line accuracy per model and configuration over folds.

    ``metrics`` holds one row per fit (``fold`` column) or already one row per configuration;
    ``ct`` is missing (NaN) for models without pseudo-labelling.  The experiment's spellings
    (``confidence_threshold``, ``cellline_accuracy``) are accepted.  Adds ``n_folds``.
    """
    metrics = canonical_metrics(metrics)
    require_columns(metrics, METRIC_COLUMNS, "per-fit validation metrics")
    require_single(metrics, ("task", "proportion", "split"), "per-fit validation metrics")
    keys = ["model", *HYPERPARAMETERS]
    frame = metrics.copy()
    # NaN keys (ct of S-NMF / SS-NMF) must group together, not vanish.
    grouped = frame.groupby(keys, dropna=False, sort=False)
    out = grouped[["stability", "cell_line_accuracy"]].mean()
    out["n_folds"] = grouped.size()
    return out.reset_index()


def _chosen_mask(points: pd.DataFrame, chosen: Mapping[str, Mapping[str, float]] | None) -> np.ndarray:
    mask = np.zeros(len(points), dtype=bool)
    if not chosen:
        return mask
    for model, params in chosen.items():
        unknown = set(params) - set(HYPERPARAMETERS)
        if unknown:
            raise ValueError(f"chosen[{model!r}]: unknown hyperparameter(s) {sorted(unknown)}")
        hit = (points["model"] == model).to_numpy().copy()
        for name, value in params.items():
            column = points[name].to_numpy(dtype=float)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                hit &= np.isnan(column)
            else:
                hit &= np.isclose(column, float(value))
        if model in set(points["model"]) and not hit.any():
            raise ValueError(f"chosen[{model!r}] = {dict(params)} matches no configuration of {model}")
        mask |= hit
    return mask


def pareto_points(
    metrics: pd.DataFrame,
    *,
    chosen: Mapping[str, Mapping[str, float]] | None = None,
    min_stability: float = MIN_STABILITY,
) -> pd.DataFrame:
    """The data behind the Pareto figures: one row per model and configuration.

    Columns: ``model, K, lambda_c, lambda_l2, ct, stability, cell_line_accuracy, n_folds,
    eligible`` (stability ≥ ``min_stability``), ``on_front`` (Pareto-optimal among the eligible
    configurations of the model; among all of them when none is eligible, as the selection
    does), ``on_front_of_K`` (Pareto-optimal among all configurations of the model with the
    same K: the paper's lines), ``chosen``, ``label`` (the annotation).
    """
    points = fold_means(metrics)
    require_rows(points, "per-fit validation metrics")
    points["eligible"] = points["stability"] >= min_stability
    points["on_front"] = False
    points["on_front_of_K"] = False
    for model, part in points.groupby("model", sort=False):
        eligible = part[part["eligible"]]
        if not len(eligible):
            # The selection's fallback (pssnmf.selection): no configuration reaches the stability
            # threshold, so the front is taken over all of them, as the chosen point was.
            eligible = part
        if len(eligible):
            mask = pareto_front(eligible["stability"], eligible["cell_line_accuracy"])
            points.loc[eligible.index[mask], "on_front"] = True
        for _, by_k in part.groupby("K", sort=False):
            mask = pareto_front(by_k["stability"], by_k["cell_line_accuracy"])
            points.loc[by_k.index[mask], "on_front_of_K"] = True
    points["chosen"] = _chosen_mask(points, chosen)
    points["label"] = ""
    for model, part in points.groupby("model", sort=False):
        # Name only the hyperparameters that vary within the panel (K is the colour): PSS-NMF
        # reuses its SS-NMF optimum, so its labels are mostly ct (as in Figs. 11–14).
        varying = [h for h in ("ct", "lambda_c", "lambda_l2") if part[h].nunique(dropna=True) > 1]
        if not varying:
            varying = [h for h in ("ct", "lambda_c", "lambda_l2") if part[h].notna().any()]
        points.loc[part.index, "label"] = [
            ", ".join(f"{_LABEL_NAMES[h]}={format_value(row[h])}" for h in varying)
            for _, row in part.iterrows()
        ]
    return points


def _overlap(a, b) -> float:
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _place_labels(fig, ax, rows: pd.DataFrame, avoid: np.ndarray) -> None:
    """Annotate points with labels that overlap neither each other, nor the marked points, nor
    the axes' edge.

    Greedy: each label takes the first offset, on rings of growing radius around its point, whose
    box is free; if none is, the least-overlapping one.  A thin leader line joins label and point.
    """
    renderer = fig.canvas.get_renderer()
    axes_box = ax.get_window_extent(renderer)
    angles = np.deg2rad([45, -45, 135, -135, 0, 180, 90, -90, 20, -20, 160, -160, 65, -65, 115, -115])
    offsets = [(r * np.cos(a), r * np.sin(a)) for r in (10, 22, 36, 52) for a in angles]
    xy = ax.transData.transform(rows[["stability", "cell_line_accuracy"]].to_numpy(dtype=float))
    obstacles = np.vstack([xy, ax.transData.transform(avoid)]) if len(avoid) else xy
    marker_boxes = [
        matplotlib.transforms.Bbox.from_extents(x - 6, y - 6, x + 6, y + 6) for x, y in obstacles
    ]
    placed = []
    order = np.argsort(-xy[:, 1])
    for i in order:
        row = rows.iloc[i]
        best = None
        for dx, dy in offsets:
            ha = "left" if dx > 1 else ("right" if dx < -1 else "center")
            va = "bottom" if dy > 1 else ("top" if dy < -1 else "center")
            text = ax.annotate(
                row["label"], (row["stability"], row["cell_line_accuracy"]),
                xytext=(dx, dy), textcoords="offset points", fontsize=6.5, ha=ha, va=va,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
                arrowprops={"arrowstyle": "-", "color": "#777777", "linewidth": 0.5,
                            "shrinkA": 0, "shrinkB": 4},
                zorder=5,
            )
            text.set_in_layout(False)
            text.update_positions(renderer)  # the offset is resolved only at draw time otherwise
            # The text's own box (Annotation's extent would include its leader line).
            box = matplotlib.text.Text.get_window_extent(text, renderer).expanded(1.04, 1.08)
            cost = sum(_overlap(box, b) for b in placed)
            cost += sum(_overlap(box, b) for b in marker_boxes)
            inside = _overlap(box, axes_box)
            cost += 4 * (box.width * box.height - inside)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text, box, (dx, dy))
            else:
                text.remove()
            if cost == 0:
                break
        placed.append(best[2])


@styled
def pareto_figure(
    metrics: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    chosen: Mapping[str, Mapping[str, float]] | None = None,
    min_stability: float = MIN_STABILITY,
    title: str | None = None,
    ncols: int = 2,
):
    """Figs. 10–14: one Pareto panel per model.

    Parameters
    ----------
    metrics : DataFrame
        Validation metrics per fit (``model, K, lambda_c, lambda_l2, ct, fold, stability,
        cell_line_accuracy``; other columns ignored) or per configuration (no ``fold``).  Fits of
        one configuration are averaged over folds.  ``ct`` is NaN for models without it.
    models : sequence, optional
        Models to show, in order (default: all, in order of appearance).
    chosen : mapping, optional
        Selected configuration per model, e.g. ``{"PSS-NMF": {"K": 7, "lambda_c": 0.5,
        "lambda_l2": 0.001, "ct": 0.6}}``; starred in the figure.

    Returns ``(fig, points)`` with ``points`` from :func:`pareto_points`.
    """
    points = pareto_points(metrics, chosen=chosen, min_stability=min_stability)
    if models is not None:
        absent = [m for m in models if m not in set(points["model"])]
        if absent:
            raise ValueError(f"validation metrics: no rows for model(s) {absent}")
        points = points[points["model"].isin(models)].reset_index(drop=True)
    models = list(models) if models is not None else list(dict.fromkeys(points["model"]))
    ncols = min(ncols, len(models))
    nrows = math.ceil(len(models) / ncols)
    fig = new_figure(5.0 * ncols + 0.6, 4.0 * nrows + 0.4)
    FigureCanvasAgg(fig)  # a renderer to measure label boxes with
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    ks = sorted(points["K"].unique())
    cmap = matplotlib.colormaps["viridis"]
    k_color = {k: cmap(i / max(len(ks) - 1, 1) * 0.9) for i, k in enumerate(ks)}
    for ax, model in zip(axes, models):
        part = points[points["model"] == model]
        for k, by_k in part.groupby("K"):
            ax.scatter(by_k["stability"], by_k["cell_line_accuracy"], s=12, color=k_color[k],
                       alpha=0.35, linewidths=0)
            front = by_k[by_k["on_front_of_K"]].sort_values("stability")
            ax.plot(front["stability"], front["cell_line_accuracy"], "-o", color=k_color[k],
                    markersize=3, linewidth=1)
        front = part[part["on_front"]]
        ax.scatter(front["stability"], front["cell_line_accuracy"], s=60, facecolors="none",
                   edgecolors="black", linewidths=1.1, zorder=3)
        pick = part[part["chosen"]]
        ax.scatter(pick["stability"], pick["cell_line_accuracy"], s=160, marker="*",
                   color="#d62728", edgecolors="black", linewidths=0.6, zorder=4)
        ax.axvline(min_stability, color="#888888", linestyle="--", linewidth=0.8)
        ax.set_title(model)
        ax.set_xlabel("Mean stability (3 folds)")
        ax.set_ylabel("Mean cell-line accuracy")
        lo_x, hi_x = part["stability"].min(), part["stability"].max()
        lo_y, hi_y = part["cell_line_accuracy"].min(), part["cell_line_accuracy"].max()
        pad_x = max(0.08 * (hi_x - lo_x), 0.01)
        pad_y = max(0.12 * (hi_y - lo_y), 0.01)
        ax.set_xlim(min(lo_x, min_stability) - pad_x, max(hi_x, min_stability) + pad_x)
        ax.set_ylim(lo_y - pad_y, hi_y + 2 * pad_y)
    for ax in axes[len(models):]:
        ax.set_axis_off()
    handles = [Line2D([], [], color=k_color[k], marker="o", markersize=4, label=f"K = {k}")
               for k in ks]
    handles += [
        Line2D([], [], linestyle="none", marker="o", markerfacecolor="none",
               markeredgecolor="black", markersize=7, label="Pareto front (stability ≥ "
               f"{format_value(min_stability)})"),
        Line2D([], [], linestyle="none", marker="*", color="#d62728", markeredgecolor="black",
               markersize=10, label="Chosen"),
        Line2D([], [], color="#888888", linestyle="--", label="Stability threshold"),
    ]
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    if title:
        fig.suptitle(title)
    fig.draw_without_rendering()  # settle the layout before measuring labels
    for ax, model in zip(axes, models):
        part = points[(points["model"] == model) & points["on_front"]]
        chosen_xy = points.loc[(points["model"] == model) & points["chosen"],
                               ["stability", "cell_line_accuracy"]].to_numpy(dtype=float)
        _place_labels(fig, ax, part, chosen_xy)
    return fig, points
