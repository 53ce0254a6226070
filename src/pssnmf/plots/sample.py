"""One sample's report figure for ``pssnmf predict --plots``: its SBS96 profile, its signature
exposures, each signature's contribution to the predicted class, and its class (DDRd)
probabilities with their resampling intervals, side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pssnmf.channels import SBS96
from pssnmf.plots.common import class_colors, new_figure, styled
from pssnmf.plots.sbs96 import SUBSTITUTION_COLORS, substitution_class

_SIGNATURE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                     "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"]


@styled
def sample_figure(
    *,
    sample: str,
    counts: Sequence[float],
    exposures: Sequence[float],
    signature_names: Sequence[str],
    probabilities: Mapping[str, float],
    note: str | None = None,
    contributions: Sequence[float] | None = None,
    intervals: Mapping[str, tuple[float, float]] | None = None,
):
    """The figure of one sample.

    Parameters
    ----------
    counts : (96,) mutation counts in COSMIC order (:data:`pssnmf.channels.SBS96`).
    exposures : (K,) the sample's signature exposures, in the order of ``signature_names``.
    probabilities : class → predicted probability.
    note : optional second title line (``pssnmf predict`` puts the predicted class, the
        reconstruction cosine and the low-count warning there).
    contributions : optional (K,) exposure x weight of each signature for the predicted class
        (its share of the class's logit, eq. 2); drawn as a panel of signed bars.
    intervals : optional class → (lower, upper) resampling interval of its probability, drawn
        as error bars.

    Returns the :class:`matplotlib.figure.Figure` (made without pyplot).
    """
    counts = np.asarray(counts, dtype=float)
    exposures = np.asarray(exposures, dtype=float)
    if counts.shape != (96,):
        raise ValueError(f"sample {sample!r}: expected 96 SBS96 counts, got shape {counts.shape}")
    if exposures.shape != (len(signature_names),):
        raise ValueError(f"sample {sample!r}: {exposures.shape[0]} exposures for "
                         f"{len(signature_names)} signature names")
    if contributions is not None:
        contributions = np.asarray(contributions, dtype=float)
        if contributions.shape != (len(signature_names),):
            raise ValueError(f"sample {sample!r}: {contributions.shape[0]} contributions for "
                             f"{len(signature_names)} signature names")
    total = counts.sum()
    panels = 3 if contributions is None else 4
    fig = new_figure(11.0 + 1.8 * (panels - 3), 3.0)
    grid = fig.add_gridspec(1, panels, width_ratios=[6] + [1.6] * (panels - 1))
    ax = fig.add_subplot(grid[0])
    proportions = counts / total if total > 0 else counts
    ax.bar(np.arange(96), proportions, width=0.7, linewidth=0,
           color=[SUBSTITUTION_COLORS[substitution_class(c)] for c in SBS96])
    ax.set_xlim(-0.7, 95.7)
    ax.set_xticks([8 + 16 * i - 0.5 for i in range(6)], list(SUBSTITUTION_COLORS))
    ax.set_ylabel("Proportion of mutations")
    title = f"{sample}: SBS96 profile ({int(round(total))} substitutions)"
    ax.set_title(title if note is None else f"{title}\n{note}", loc="left")
    ax = fig.add_subplot(grid[1])
    shares = exposures / exposures.sum() if exposures.sum() > 0 else exposures
    ax.barh(range(len(shares)), shares, color=[_SIGNATURE_COLORS[i % len(_SIGNATURE_COLORS)]
                                              for i in range(len(shares))])
    ax.set_yticks(range(len(shares)), list(signature_names))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Relative exposure")
    ax.set_title("Signatures")
    if contributions is not None:
        ax = fig.add_subplot(grid[2])
        ax.barh(range(len(contributions)), contributions,
                color=[_SIGNATURE_COLORS[i % len(_SIGNATURE_COLORS)] for i in range(len(contributions))])
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.set_yticks(range(len(contributions)), list(signature_names))
        ax.invert_yaxis()
        ax.set_xlabel("Exposure × weight")
        ax.set_title("Contribution to call")
    ax = fig.add_subplot(grid[panels - 1])
    classes = list(probabilities)
    colors = class_colors(classes)
    values = [float(probabilities[c]) for c in classes]
    xerr = None
    if intervals is not None:
        lows = [max(0.0, v - float(intervals[c][0])) for c, v in zip(classes, values)]
        highs = [max(0.0, float(intervals[c][1]) - v) for c, v in zip(classes, values)]
        if np.isfinite(lows).all() and np.isfinite(highs).all():
            xerr = np.array([lows, highs])
    ax.barh(range(len(classes)), values, color=[colors[c] for c in classes], xerr=xerr,
            error_kw={"elinewidth": 0.8, "capsize": 2})
    for i, v in enumerate(values):
        ax.text(min(v + 0.02, 0.98), i, f"{v:.2f}", va="center", ha="left" if v < 0.8 else "right",
                fontsize=7)
    ax.set_yticks(range(len(classes)), classes)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Probability")
    ax.set_title("Prediction")
    return fig
