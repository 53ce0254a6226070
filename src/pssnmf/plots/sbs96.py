"""SBS96 bar plots of signatures in the field's usual style (COSMIC / SigProfilerPlotting).

96 bars in COSMIC order, coloured by the six substitution classes with their customary colours,
a coloured band naming each class above the bars, and the trinucleotide context of each bar
(5' base, reference base, 3' base) written under it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from pssnmf.channels import SBS96, SUBSTITUTIONS, normalize_channel
from pssnmf.plots.common import new_figure, styled

#: COSMIC's colours of the six substitution classes.
SUBSTITUTION_COLORS = {
    "C>A": "#1EBFF0",
    "C>G": "#050708",
    "C>T": "#E62725",
    "T>A": "#CBCACB",
    "T>C": "#A1CE63",
    "T>G": "#EDC8C5",
}


def substitution_class(channel: str) -> str:
    """``A[C>T]G`` → ``C>T``."""
    return channel[2:5]


def trinucleotide(channel: str) -> str:
    """``A[C>T]G`` → ``ACG`` (the reference context printed under a bar)."""
    return channel[0] + channel[2] + channel[6]


def _as_signature_matrix(signatures: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(signatures, pd.DataFrame):
        raise TypeError(f"signatures: expected a DataFrame, got {type(signatures).__name__}")
    try:
        renamed = {c: normalize_channel(c) for c in signatures.columns}
    except ValueError as err:
        raise ValueError(
            f"signatures: columns must be the 96 SBS96 channels (pssnmf.channels.SBS96): {err}"
        ) from None
    frame = signatures.rename(columns=renamed)
    missing = [c for c in SBS96 if c not in frame.columns]
    if missing or frame.shape[1] != 96:
        raise ValueError(
            f"signatures: expected the 96 SBS96 channels as columns, got {frame.shape[1]} columns"
            + (f", missing {missing[:3]}..." if missing else "")
        )
    if len(frame) == 0:
        raise ValueError("signatures: no signature (row) to plot")
    values = frame[list(SBS96)].astype(float)
    if not np.isfinite(values.to_numpy()).all() or (values.to_numpy() < 0).any():
        raise ValueError("signatures: weights must be finite and non-negative")
    return values


@styled
def sbs96_figure(
    signatures: pd.DataFrame,
    *,
    normalize: bool = True,
    ylabel: str = "Proportion of mutations",
    titles: dict[str, str] | None = None,
    panel_height: float = 1.9,
    width: float = 11.0,
):
    """SBS96 bar plots, one panel per signature.

    Parameters
    ----------
    signatures : DataFrame, (n_signatures, 96)
        Index = signature names, columns = the SBS96 channels (``A[C>A]A`` or ``ACA>A``;
        reordered to COSMIC order).
    normalize : bool
        Scale each signature to sum 1 (a signature's weights are proportions of mutations).
    titles : dict, optional
        Panel title per signature name (default: the name).

    Returns
    -------
    fig : Figure
    data : DataFrame
        One row per (signature, channel) in plotting order: ``signature, position (0..95),
        channel, substitution, trinucleotide, weight, color``.
    """
    values = _as_signature_matrix(signatures)
    if normalize:
        totals = values.sum(axis=1)
        if (totals <= 0).any():
            raise ValueError(f"signatures: all-zero signature(s) {list(totals.index[totals <= 0])}")
        values = values.div(totals, axis=0)
    titles = titles or {}
    colors = [SUBSTITUTION_COLORS[substitution_class(c)] for c in SBS96]
    n = len(values)
    fig = new_figure(width, panel_height * n + 0.3)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    x = np.arange(96)
    for ax, (name, row) in zip(axes, values.iterrows()):
        heights = row.to_numpy()
        ax.bar(x, heights, width=0.7, color=colors, edgecolor="none")
        top = max(float(heights.max()) * 1.18, 1e-12)
        ax.set_xlim(-0.7, 95.7)
        ax.set_ylim(0, top)
        # Class bands above the bars, as COSMIC draws them: one coloured strip per class.
        band_bottom = top * 1.02
        for i, sub in enumerate(SUBSTITUTIONS):
            ax.add_patch(
                Rectangle(
                    (i * 16 - 0.5, band_bottom), 16, top * 0.09,
                    color=SUBSTITUTION_COLORS[sub], clip_on=False, linewidth=0,
                )
            )
            ax.text(
                i * 16 + 7.5, band_bottom + top * 0.1, sub,
                ha="center", va="bottom", fontsize=8, fontweight="bold",
            )
            if i:
                ax.axvline(i * 16 - 0.5, color="#dddddd", linewidth=0.6, zorder=0)
        ax.set_xticks(x)
        ax.set_xticklabels([trinucleotide(c) for c in SBS96], rotation=90, fontsize=5,
                           fontfamily="monospace")
        ax.tick_params(axis="x", length=0, pad=1)
        ax.set_ylabel(ylabel if n == 1 else "Proportion", fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        if normalize:
            ax.yaxis.set_major_formatter(lambda v, _: f"{round(v * 100, 6):g}%")
        # Above the class bands and their labels (about 25 points high), not over them.
        ax.set_title(titles.get(name, str(name)), loc="left", fontsize=9, pad=30)
    data = pd.DataFrame(
        {
            "signature": np.repeat(values.index.astype(str).to_numpy(), 96),
            "position": np.tile(x, n),
            "channel": np.tile(np.array(SBS96), n),
            "substitution": np.tile([substitution_class(c) for c in SBS96], n),
            "trinucleotide": np.tile([trinucleotide(c) for c in SBS96], n),
            "weight": values.to_numpy().ravel(),
            "color": np.tile(colors, n),
        }
    )
    return fig, data
