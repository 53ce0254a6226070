"""Fig. 8: signature exposures of DDRd and control samples, cell lines and TCGA separated.

One row of stacked bars per model; samples grouped by DDR label, and within a label the cell lines
first, then the tumours, a dashed line between them (as in the paper's Fig. 8).  Signatures of the
second and later models take the colour of the first model's signature they are matched to
(Hungarian matching on cosine similarity, :func:`pssnmf.plots.similarity.match_signatures`), so
"colour-matched signatures" can be compared across models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from pssnmf.plots.common import (
    CLASS_COLORS,
    new_figure,
    require_columns,
    require_rows,
    source_name,
    styled,
)
from pssnmf.plots.similarity import match_signatures

SAMPLE_COLUMNS = ("sample", "source", "class")

# Qualitative colours for signatures (tab10 without grey, then tab20's light shades).
_SIGNATURE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                     "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"]


def matched_signature_colors(signatures: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    """A colour per signature of each model; matched signatures share the first model's colour.

    ``signatures``: model → DataFrame (K, 96).  Signatures of a later model left unmatched (it has
    more signatures than the first) get colours of their own.
    """
    models = list(signatures)
    if not models:
        raise ValueError("signatures: no model given")
    first = signatures[models[0]]
    base = {s: _SIGNATURE_COLORS[i % len(_SIGNATURE_COLORS)] for i, s in enumerate(first.index)}
    colors = {models[0]: base}
    spare = _SIGNATURE_COLORS[len(base):]
    for model in models[1:]:
        pairs = match_signatures(first, signatures[model])
        mine = {b: base[a] for a, b in zip(pairs["signature_a"], pairs["signature_b"])}
        extra = iter(spare)
        for s in signatures[model].index:
            if s not in mine:
                mine[s] = next(extra, "#333333")
        colors[model] = mine
    return colors


@styled
def exposures_figure(
    exposures: Mapping[str, pd.DataFrame],
    samples: pd.DataFrame,
    *,
    signatures: Mapping[str, pd.DataFrame] | None = None,
    signature_labels: Mapping[str, Mapping[str, str]] | None = None,
    classes: Sequence[str] | None = None,
    relative: bool = True,
    max_per_group: int | None = None,
    title: str | None = None,
):
    """Fig. 8: stacked exposures per sample, one panel per model.

    Parameters
    ----------
    exposures : mapping model → DataFrame (n_samples, K)
        Index = sample, columns = signature names.
    samples : DataFrame
        ``sample, source, class`` of the samples to show (e.g. the Zou cell lines and the
        homozygous TCGA tumours; ``class`` = DDR label).  Their order within a group is kept.
    signatures : mapping model → DataFrame (K, 96), optional
        Colour-matches signatures across models (:func:`matched_signature_colors`).
    signature_labels : mapping model → {signature: name}, optional
        Legend names (e.g. from :func:`pssnmf.plots.similarity.name_signatures`).
    relative : bool
        Scale each sample's exposures to sum 1.
    max_per_group : int, optional
        Show at most this many samples per (class, source), the first ones in ``samples``.

    Returns ``(fig, data)``: one row per model, sample and signature: ``model, position, sample,
    source, class, signature, signature_label, exposure, shown`` (``shown`` = the bar height).
    """
    require_columns(samples, SAMPLE_COLUMNS, "samples")
    require_rows(samples, "samples")
    models = list(exposures)
    if not models:
        raise ValueError("exposures: no model given")
    table = samples.dropna(subset=["class"]).drop_duplicates("sample")
    present = list(dict.fromkeys(table["class"].astype(str)))
    if classes is None:
        classes = [c for c in CLASS_COLORS if c in present] + sorted(
            c for c in present if c not in CLASS_COLORS
        )
    # Cell lines before tumours inside each class.
    sources = sorted(dict.fromkeys(table["source"]), key=lambda s: source_name(s) == "TCGA")
    ordered = []
    for cls in classes:
        for source in sources:
            part = table[(table["class"].astype(str) == cls) & (table["source"] == source)]
            if max_per_group is not None:
                part = part.head(max_per_group)
            ordered.append(part)
    table = pd.concat(ordered, ignore_index=True)
    require_rows(table, "samples (with a class among the classes shown)")
    for model, frame in exposures.items():
        absent = table.loc[~table["sample"].isin(frame.index), "sample"]
        if len(absent):
            raise ValueError(
                f"exposures[{model!r}]: no row for sample(s) {list(absent[:3])} (of {len(absent)})"
            )
    if signatures is not None:
        colors = matched_signature_colors(signatures)
    else:
        colors = {
            m: {s: _SIGNATURE_COLORS[i % len(_SIGNATURE_COLORS)] for i, s in enumerate(exposures[m].columns)}
            for m in models
        }
    signature_labels = signature_labels or {}
    n = len(table)
    fig = new_figure(min(14.0, max(7.0, 0.07 * n + 3.5)), 2.5 * len(models) + 0.8)
    axes = fig.subplots(len(models), 1, squeeze=False)[:, 0]
    blocks = []
    x = np.arange(n)
    for ax, model in zip(axes, models):
        values = exposures[model].loc[table["sample"]].astype(float)
        if relative:
            totals = values.sum(axis=1).where(lambda t: t > 0)
            shown = values.div(totals, axis=0).fillna(0.0)
        else:
            shown = values
        bottom = np.zeros(n)
        handles = []
        labels = signature_labels.get(model, {})
        for signature in values.columns:
            color = colors.get(model, {}).get(signature, "#333333")
            heights = shown[signature].to_numpy()
            ax.bar(x, heights, width=1.0, bottom=bottom, color=color, linewidth=0)
            bottom += heights
            handles.append(Patch(color=color, label=labels.get(signature, signature)))
            blocks.append(pd.DataFrame({
                "model": model, "position": x, "sample": table["sample"].to_numpy(),
                "source": table["source"].to_numpy(), "class": table["class"].to_numpy(),
                "signature": signature, "signature_label": labels.get(signature, signature),
                "exposure": values[signature].to_numpy(), "shown": heights,
            }))
        top = 1.0 if relative else float(bottom.max()) * 1.05
        # Group boundaries: solid between classes, dashed between cell lines and tumours.
        previous = None
        for i, (cls, source) in enumerate(zip(table["class"], table["source"])):
            if previous is not None and cls != previous[0]:
                ax.axvline(i - 0.5, color="black", linewidth=1.2)
            elif previous is not None and source != previous[1]:
                ax.axvline(i - 0.5, color="black", linewidth=1.0, linestyle="--")
            previous = (cls, source)
        for cls in classes:
            where = np.flatnonzero(table["class"].astype(str).to_numpy() == cls)
            if len(where):
                ax.text((where[0] + where[-1]) / 2, top * 1.02, cls, ha="center", va="bottom",
                        fontsize=8, fontweight="bold")
                for source in sources:
                    w = np.flatnonzero((table["class"].astype(str).to_numpy() == cls)
                                       & (table["source"].to_numpy() == source))
                    if len(w):
                        ax.text((w[0] + w[-1]) / 2, -0.03 * top, source_name(source).split(" (")[0],
                                ha="center", va="top", fontsize=6.5, color="#444444")
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(0, top)
        ax.set_xticks([])
        ax.set_ylabel("Relative exposure" if relative else "Exposure")
        ax.set_title(model, loc="left", pad=14)
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
                  title="Signatures", fontsize=7)
    if title:
        fig.suptitle(title)
    return fig, pd.concat(blocks, ignore_index=True)
