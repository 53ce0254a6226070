"""Fig. 9: data exploration behind the choice of the cancer types (Appendix B.1).

(a, b) samples per cancer type in the cell lines and in TCGA, with the selection thresholds (≥ 15
cell lines, ≥ 400 tumours) drawn as dotted red lines; (c, d) clustermaps of the cosine similarity
between the average mutational profiles of the cancer types kept; (e) cosine similarity between the
cell-line and TCGA average profiles of the chosen cancer types.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import dendrogram, leaves_list, linkage
from scipy.spatial.distance import squareform

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.plots.common import (
    cosine_similarity,
    new_figure,
    require_columns,
    require_rows,
    source_name,
    styled,
)

SAMPLE_COLUMNS = ("sample", "source", "cancer_type")

#: The paper's selection thresholds (section 2.2.1 and Fig. 9): at least 15 cell lines and 400
#: tumours of a cancer type.
THRESHOLDS = {"cell_line": 15, "tcga": 400}


def _threshold_for(source: str, thresholds: dict[str, int]) -> float:
    for key, value in thresholds.items():
        if str(key).lower() == str(source).lower() or source_name(key) == source_name(source):
            return float(value)
    return float("nan")


def samples_per_cancer_type(
    samples: pd.DataFrame, thresholds: dict[str, int] | None = None, *, shared_only: bool = True
) -> pd.DataFrame:
    """Samples per source and cancer type, and whether the type passes the source's threshold.

    ``samples``: ``sample, source, cancer_type``.  With ``shared_only`` only cancer types present in
    every source are counted (the paper's "cancer-type overlap").  Returns ``source, cancer_type,
    n_samples, threshold, passes`` sorted by source and decreasing count.
    """
    require_columns(samples, SAMPLE_COLUMNS, "samples")
    thresholds = dict(THRESHOLDS if thresholds is None else thresholds)
    frame = samples.dropna(subset=["cancer_type"]).drop_duplicates(["source", "sample"])
    require_rows(frame, "samples")
    if shared_only:
        sets = [set(part["cancer_type"]) for _, part in frame.groupby("source")]
        shared = set.intersection(*sets)
        frame = frame[frame["cancer_type"].isin(shared)]
    counts = frame.groupby(["source", "cancer_type"]).size().rename("n_samples").reset_index()
    counts["threshold"] = [_threshold_for(s, thresholds) for s in counts["source"]]
    counts["passes"] = counts["n_samples"] >= counts["threshold"]
    return counts.sort_values(["source", "n_samples", "cancer_type"], ascending=[True, False, True],
                              ignore_index=True)


@styled
def samples_per_cancer_type_figure(
    samples: pd.DataFrame, thresholds: dict[str, int] | None = None, *, shared_only: bool = True
):
    """Fig. 9 (a, b): samples per cancer type, one panel per source, thresholds dotted red.

    Returns ``(fig, counts)`` with ``counts`` from :func:`samples_per_cancer_type`.
    """
    counts = samples_per_cancer_type(samples, thresholds, shared_only=shared_only)
    sources = sorted(dict.fromkeys(counts["source"]), key=lambda s: source_name(s) == "TCGA")
    n_types = counts["cancer_type"].nunique()
    fig = new_figure(max(6.0, 0.28 * n_types + 1.5), 2.6 * len(sources) + 0.3)
    axes = fig.subplots(len(sources), 1, squeeze=False)[:, 0]
    for ax, source in zip(axes, sources):
        part = counts[counts["source"] == source]
        colors = np.where(part["passes"], "#1f77b4", "#c7c7c7")
        ax.bar(range(len(part)), part["n_samples"], color=colors)
        threshold = part["threshold"].iat[0]
        if np.isfinite(threshold):
            ax.axhline(threshold, color="red", linestyle=":", linewidth=1.4)
            ax.text(len(part) - 0.5, threshold, f"threshold {threshold:g}", color="red",
                    ha="right", va="bottom", fontsize=7)
        ax.set_xticks(range(len(part)), part["cancer_type"], rotation=90)
        ax.set_xlim(-0.6, len(part) - 0.4)
        ax.set_ylabel("Samples")
        kept = int(part["passes"].sum())
        ax.set_title(f"{source_name(source)}: {len(part)} cancer types, {kept} pass (blue)")
    axes[-1].set_xlabel("Cancer type")
    return fig, counts


def _profile_matrix(profiles: pd.DataFrame) -> pd.DataFrame:
    try:
        frame = profiles.rename(columns={c: normalize_channel(c) for c in profiles.columns})
    except ValueError as err:
        raise ValueError(f"profiles: columns must be the 96 SBS96 channels: {err}") from None
    missing = [c for c in SBS96 if c not in frame.columns]
    if missing:
        raise ValueError(f"profiles: missing SBS96 channel columns, e.g. {missing[:3]}")
    frame = frame[list(SBS96)].astype(float)
    totals = frame.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError(f"profiles: sample {totals.index[totals <= 0][0]!r} has no mutations")
    return frame.div(totals, axis=0)


def mean_profiles(
    profiles: pd.DataFrame, samples: pd.DataFrame, source: str, cancer_types: Sequence[str] | None = None
) -> pd.DataFrame:
    """Average SBS96 proportions per cancer type of one source: (n_types, 96).

    ``profiles``: index = sample, SBS96 columns (counts or proportions; each sample is scaled to
    sum 1 first, so every sample weighs the same).  ``samples``: ``sample, source, cancer_type``.
    """
    require_columns(samples, SAMPLE_COLUMNS, "samples")
    table = samples[samples["source"] == source].dropna(subset=["cancer_type"])
    if cancer_types is not None:
        table = table[table["cancer_type"].isin(cancer_types)]
    table = table[table["sample"].isin(profiles.index)]
    if table.empty:
        raise ValueError(f"profiles: no sample of source {source!r} with a cancer type among {cancer_types}")
    matrix = _profile_matrix(profiles.loc[table["sample"]])
    means = matrix.groupby(table["cancer_type"].to_numpy()).mean()
    if cancer_types is not None:
        means = means.loc[[c for c in cancer_types if c in means.index]]
    return means


def _similarity_long(similarity: pd.DataFrame, row_name: str, column_name: str) -> pd.DataFrame:
    data = similarity.stack().rename("cosine").reset_index()
    data.columns = [row_name, column_name, "cosine"]
    data.insert(0, "row_order", data[row_name].map({n: i for i, n in enumerate(similarity.index)}))
    data.insert(1, "column_order", data[column_name].map({n: i for i, n in enumerate(similarity.columns)}))
    return data


@styled
def mean_profile_clustermap(
    profiles: pd.DataFrame,
    samples: pd.DataFrame,
    source: str,
    *,
    cancer_types: Sequence[str] | None = None,
    title: str | None = None,
):
    """Fig. 9 (c, d): clustermap of the cosine similarity between cancer types' average profiles.

    Rows and columns are ordered by average-linkage hierarchical clustering on cosine distance
    (``scipy.cluster.hierarchy``), dendrograms on top and left.  Returns ``(fig, data)`` with the
    similarity in long form in dendrogram order (``row_order, column_order, cancer_type_a,
    cancer_type_b, cosine``).
    """
    means = mean_profiles(profiles, samples, source, cancer_types)
    if len(means) < 2:
        raise ValueError(f"clustermap of {source!r}: at least 2 cancer types needed, got {list(means.index)}")
    similarity = pd.DataFrame(cosine_similarity(means.to_numpy(), means.to_numpy()),
                              index=means.index, columns=means.index)
    distance = np.clip(1.0 - similarity.to_numpy(), 0.0, None)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    order = leaves_list(tree)
    shown = similarity.iloc[order, order]
    n = len(shown)
    size = max(4.0, 0.32 * n + 2.2)
    fig = new_figure(size + 1.0, size)
    grid = fig.add_gridspec(2, 3, width_ratios=[0.9, 5, 0.25], height_ratios=[0.9, 5])
    top = fig.add_subplot(grid[0, 1])
    left = fig.add_subplot(grid[1, 0])
    ax = fig.add_subplot(grid[1, 1])
    cax = fig.add_subplot(grid[1, 2])
    dendrogram(tree, ax=top, no_labels=True, color_threshold=0, above_threshold_color="#444444")
    dendrogram(tree, ax=left, no_labels=True, orientation="left", color_threshold=0,
               above_threshold_color="#444444")
    left.invert_yaxis()  # imshow draws row 0 at the top
    for dendro in (top, left):
        dendro.set_axis_off()
    low = float(np.floor(shown.to_numpy().min() * 10) / 10)
    image = ax.imshow(shown.to_numpy(), cmap="viridis", vmin=low, vmax=1.0, aspect="auto")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                value = shown.iat[i, j]
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5,
                        color="black" if value > low + 0.7 * (1 - low) else "white")
    ax.set_xticks(range(n), shown.columns, rotation=90)
    ax.set_yticks(range(n), shown.index)
    ax.yaxis.tick_right()
    ax.tick_params(axis="y", pad=1)
    ax.spines[:].set_visible(False)
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("Cosine similarity of average profiles")
    fig.suptitle(title or f"{source_name(source)}: average profiles per cancer type")
    return fig, _similarity_long(shown, "cancer_type_a", "cancer_type_b")


@styled
def cross_source_similarity_figure(
    profiles: pd.DataFrame,
    samples: pd.DataFrame,
    cancer_types: Sequence[str],
    *,
    row_source: str = "cell_line",
    column_source: str = "tcga",
    title: str | None = None,
):
    """Fig. 9 (e): cosine similarity of the cell-line and TCGA average profiles of the chosen
    cancer types.  Returns ``(fig, data)``: ``row_order, column_order, cell_line_type,
    tcga_type, cosine`` (column names follow the sources)."""
    rows = mean_profiles(profiles, samples, row_source, cancer_types)
    cols = mean_profiles(profiles, samples, column_source, cancer_types)
    similarity = pd.DataFrame(cosine_similarity(rows.to_numpy(), cols.to_numpy()),
                              index=rows.index, columns=cols.index)
    fig = new_figure(1.8 + 0.75 * len(cols) + 1.0, 1.4 + 0.55 * len(rows))
    ax = fig.subplots()
    image = ax.imshow(similarity.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            value = similarity.iat[i, j]
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if value > 0.7 else "white")
    ax.set_xticks(range(len(cols)), cols.index)
    ax.set_yticks(range(len(rows)), rows.index)
    ax.set_xlabel(f"{source_name(column_source)} average profile")
    ax.set_ylabel(f"{source_name(row_source)} average profile")
    ax.spines[:].set_visible(False)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("Cosine similarity")
    ax.set_title(title or "Average profiles: cell lines vs TCGA")
    return fig, _similarity_long(similarity, f"{row_source}_type", f"{column_source}_type")
