"""Fig. 5: the first two principal components of a training set, by source and class.

PCA is fitted on the per-sample SBS96 proportions of the training set (cell lines and tumours
together), as in the paper's Fig. 5.  Colour = class, marker = source.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.plots.common import (
    CLASS_COLORS,
    class_colors,
    new_figure,
    require_columns,
    require_rows,
    source_name,
    styled,
)

SAMPLE_COLUMNS = ("sample", "source", "class")
#: Shown for samples without a class (e.g. unlabelled tumours of the DDRd task).
UNLABELLED = "unlabelled"
_MARKERS = ["^", "s", "D", "v", "P"]


def _profiles_matrix(profiles: pd.DataFrame) -> pd.DataFrame:
    try:
        frame = profiles.rename(columns={c: normalize_channel(c) for c in profiles.columns})
    except ValueError as err:
        raise ValueError(f"profiles: columns must be the 96 SBS96 channels: {err}") from None
    missing = [c for c in SBS96 if c not in frame.columns]
    if missing:
        raise ValueError(f"profiles: missing SBS96 channel columns, e.g. {missing[:3]}")
    return frame[list(SBS96)].astype(float)


def pca_coordinates(profiles: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """PC1 and PC2 of every sample.

    Parameters
    ----------
    profiles : DataFrame (n_samples, 96)
        Index = sample, columns = SBS96 channels; proportions (rows are rescaled to sum 1, so
        counts are accepted too).
    samples : DataFrame
        ``sample, source, class``: one row per sample of ``profiles`` (``class`` missing for
        unlabelled samples).

    Returns
    -------
    DataFrame ``sample, source, class, PC1, PC2, PC1_variance_ratio, PC2_variance_ratio``.
    """
    require_columns(samples, SAMPLE_COLUMNS, "samples")
    matrix = _profiles_matrix(profiles)
    require_rows(matrix, "profiles")
    if matrix.index.duplicated().any():
        raise ValueError(f"profiles: duplicated sample {matrix.index[matrix.index.duplicated()][0]!r}")
    table = samples.drop_duplicates("sample").set_index("sample")
    absent = matrix.index.difference(table.index)
    if len(absent):
        raise ValueError(f"samples: no row for profile(s) {list(absent[:3])} (of {len(absent)})")
    totals = matrix.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError(f"profiles: sample {totals.index[totals <= 0][0]!r} has no mutations")
    proportions = matrix.div(totals, axis=0)
    pca = PCA(n_components=2, svd_solver="full")
    coords = pca.fit_transform(proportions.to_numpy())
    out = pd.DataFrame(
        {
            "sample": matrix.index.astype(str),
            "source": table.loc[matrix.index, "source"].astype(str).to_numpy(),
            "class": table.loc[matrix.index, "class"].to_numpy(),
            "PC1": coords[:, 0],
            "PC2": coords[:, 1],
        }
    )
    out["class"] = out["class"].where(out["class"].notna(), UNLABELLED).astype(str)
    out["PC1_variance_ratio"] = pca.explained_variance_ratio_[0]
    out["PC2_variance_ratio"] = pca.explained_variance_ratio_[1]
    return out


@styled
def pca_figure(
    profiles: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    classes: Sequence[str] | None = None,
    title: str | None = None,
):
    """Fig. 5: scatter of PC1 and PC2 coloured by class, marker by source.

    Inputs as in :func:`pca_coordinates`.  Returns ``(fig, coordinates)``.
    """
    data = pca_coordinates(profiles, samples)
    present = list(dict.fromkeys(data["class"]))
    if classes is None:
        classes = [c for c in CLASS_COLORS if c in present]
        classes += sorted(c for c in present if c not in classes and c != UNLABELLED)
        if UNLABELLED in present:
            classes.append(UNLABELLED)
    colors = class_colors([c for c in classes if c != UNLABELLED])
    colors[UNLABELLED] = "#c7c7c7"
    # Tumours (usually many) first and small, cell lines on top.
    sources = sorted(dict.fromkeys(data["source"]), key=lambda s: source_name(s) == "TCGA", reverse=True)
    others = [s for s in sources if source_name(s) != "TCGA"]
    markers = {s: _MARKERS[others.index(s) % len(_MARKERS)] if s in others else "o" for s in sources}
    fig = new_figure(6.8, 5.0)
    ax = fig.subplots()
    for source in sources:
        many = (data["source"] == source).sum() > 300
        for cls in classes:
            part = data[(data["source"] == source) & (data["class"] == cls)]
            if part.empty:
                continue
            ax.scatter(part["PC1"], part["PC2"], s=8 if many else 22, marker=markers[source],
                       color=colors[cls], alpha=0.45 if many else 0.85,
                       edgecolors="none" if many else "black", linewidths=0.3)
    ratio1, ratio2 = data["PC1_variance_ratio"].iat[0], data["PC2_variance_ratio"].iat[0]
    ax.set_xlabel(f"PC1 ({ratio1:.1%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio2:.1%} of variance)")
    handles = [Line2D([], [], linestyle="none", marker="o", color=colors[c], label=c)
               for c in classes if c in present]
    handles += [Line2D([], [], linestyle="none", marker=markers[s], markerfacecolor="white",
                       markeredgecolor="black", label=f"{source_name(s)} (n = {(data['source'] == s).sum()})")
                for s in sources]
    fig.legend(handles=handles, loc="outside right center", frameon=False, title="Class / source")
    if title:
        ax.set_title(title)
    return fig, data


