"""What every figure module shares: writing a figure, input checks, colours, cosine similarity.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through ``pyplot``:
no global figure registry (so a workflow that draws hundreds of figures leaks none) and no
interactive backend: ``Figure.savefig`` renders PNG with Agg and SVG with the SVG backend whatever
backend pyplot uses.  Importing this package therefore never switches the caller's backend (a
notebook keeps its own).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from pssnmf.data.atomic import atomic_path

log = logging.getLogger(__name__)

#: Written beside every figure: the figure as PNG (report), as SVG (vector, editable) and the
#: exact data it shows as TSV.
FIGURE_FORMATS = ("png", "svg")

#: Resolution of the PNG; the report shows figures about 16 cm wide.
PNG_DPI = 150

#: Fixed SVG id salt and no date stamps, so the same data give the same files bit for bit.
_RC_REPRODUCIBLE = {"svg.hashsalt": "pssnmf", "svg.fonttype": "path"}

#: Readable at the report's size.
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

# Display names of the two sources of samples; unknown values are shown as they are.
SOURCE_NAMES = {
    "cell_line": "Cell lines",
    "cell line": "Cell lines",
    "cell_lines": "Cell lines",
    "ccle": "Cell lines (CCLE)",
    "gdsc": "Cell lines (GDSC)",
    "zou": "Cell lines (Zou 2021)",
    "tcga": "TCGA",
    "tumour": "TCGA",
    "tumor": "TCGA",
    "tumours": "TCGA",
}

# Fixed colours for the classes of both tasks, so a class keeps its colour in every figure.
CLASS_COLORS = {
    "MMR": "#d62728",
    "BER": "#1f77b4",
    "HR": "#2ca02c",
    "Control": "#7f7f7f",
    "BLCA": "#9467bd",
    "LUAD": "#ff7f0e",
    "SKCM": "#8c564b",
    "UCEC": "#17becf",
}

# Colours of models (the U.R. variants are lighter shades of their base model, as in Fig. 3).
MODEL_COLORS = {
    "S-NMF": "#4d4d4d",
    "SS-NMF": "#1f77b4",
    "SS-NMF U.R.": "#9ecae1",
    "PSS-NMF": "#d62728",
    "PSS-NMF U.R.": "#fc9272",
    "SS-NMF-UR": "#9ecae1",
    "PSS-NMF-UR": "#fc9272",
}

#: Column names of the experiment's per-fit metrics (``pssnmf.experiment``) → the names the
#: figure functions document; both spellings are accepted.
METRIC_ALIASES = {
    "confidence_threshold": "ct",
    "cellline_accuracy": "cell_line_accuracy",
    "cellline_f1": "cell_line_f1",
    "split_mode": "split",
}

_FALLBACK = [to_hex(c) for c in matplotlib.colormaps["tab20"].colors]


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` × ``height`` inches with constrained layout."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def style():
    """Context manager applying :data:`RC` while a figure is drawn."""
    return matplotlib.rc_context(RC)


def styled(function):
    """Decorator: draw the whole figure under :data:`RC` (rcParams are read when artists are made)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return function(*args, **kwargs)

    return wrapper


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(str(source).strip().lower(), str(source))


def palette(names: Iterable[str], known: dict[str, str] | None = None) -> dict[str, str]:
    """A colour per name: the fixed one in ``known`` where there is one, else tab20 in turn."""
    known = known or {}
    used = set(known.values())
    spare = (c for c in _FALLBACK if c not in used)
    colors = {}
    for name in names:
        if name in colors:
            continue
        colors[name] = known.get(name) or next(spare, "#000000")
    return colors


def class_colors(classes: Iterable[str]) -> dict[str, str]:
    return palette(classes, CLASS_COLORS)


def model_colors(models: Iterable[str]) -> dict[str, str]:
    return palette(models, MODEL_COLORS)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ``ValueError`` naming the missing columns of ``frame`` (described as ``what``)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {missing}; expected columns {list(columns)}, "
            f"got {list(frame.columns)}"
        )


def canonical_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the experiment's column spellings (:data:`METRIC_ALIASES`) renamed to ours.

    A column already present under our name wins; the alias is then left as it is.  A table of
    models without pseudo-labelling may lack ``ct``: it is added as NaN.
    """
    renames = {a: b for a, b in METRIC_ALIASES.items() if a in frame.columns and b not in frame.columns}
    frame = frame.rename(columns=renames) if renames else frame
    if "ct" not in frame.columns:
        frame = frame.assign(ct=np.nan)
    return frame


def require_single(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise unless each of ``columns`` present in ``frame`` holds one value: a figure shows one
    task, one proportion of unlabelled data and one split mode, never an average over several."""
    for column in columns:
        if column in frame.columns and frame[column].nunique(dropna=False) > 1:
            raise ValueError(
                f"{what}: one {column} per figure expected, got {sorted(map(str, frame[column].unique()))}; "
                "filter the table first"
            )


def require_rows(frame: pd.DataFrame, what: str) -> None:
    if len(frame) == 0:
        raise ValueError(f"{what}: no rows to plot")


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``a`` (n, d) with every row of ``b`` (m, d): (n, m)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    norm_a = np.linalg.norm(a, axis=1, keepdims=True)
    norm_b = np.linalg.norm(b, axis=1, keepdims=True)
    if np.any(norm_a == 0) or np.any(norm_b == 0):
        raise ValueError("cosine similarity of an all-zero profile is undefined")
    return (a / norm_a) @ (b / norm_b).T


def format_value(value: float) -> str:
    """A hyperparameter as the paper writes it: ``0.001``, ``0.5``, ``1e-05``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:g}"


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


#: matplotlib names an SVG clip path after the id() of its Path object (a memory address), so the
#: same figure drawn twice can differ in these ids (seen on Fig. 9c's dendrograms); svg.hashsalt
#: fixes only the other ids.
_CLIP_ID = re.compile(rb'(?<=id=")p[0-9a-f]{10}(?=")|(?<=url\(#)p[0-9a-f]{10}(?=\))')


def _numbered_clip_ids(svg: bytes) -> bytes:
    """``svg`` with its clip-path ids numbered in order of appearance (``p0000000000``, ...)."""
    names: dict[bytes, bytes] = {}
    return _CLIP_ID.sub(lambda m: names.setdefault(m.group(0), b"p%010x" % len(names)), svg)


def save_figure(fig: Figure, data: pd.DataFrame, stem: str | os.PathLike) -> list[Path]:
    """Write ``stem.png``, ``stem.svg`` and ``stem.tsv`` (the data behind the figure), atomically.

    Each file is written to a temporary file in the target folder and moved into place, so a
    killed job never leaves a half-written figure that Snakemake would take for done.  Returns the
    paths written, each also logged (``wrote <path>``: a job's log names what it wrote).
    """
    stem = Path(stem)
    if stem.suffix in {".png", ".svg", ".pdf", ".tsv"}:
        raise ValueError(f"save_figure: give the stem without extension, got {stem}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"save_figure: data must be a DataFrame, got {type(data).__name__}")
    written = []
    with matplotlib.rc_context(_RC_REPRODUCIBLE):
        for fmt in FIGURE_FORMATS:
            path = stem.with_name(f"{stem.name}.{fmt}")
            # No date or software stamp: reruns give identical files.
            metadata = {"Date": None} if fmt == "svg" else {"Software": None}
            if fmt == "svg":
                buffer = io.BytesIO()
                fig.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=metadata)
                svg = _numbered_clip_ids(buffer.getvalue())
                _atomic_write(path, lambda tmp, svg=svg: tmp.write_bytes(svg))
            else:
                _atomic_write(
                    path,
                    lambda tmp, fmt=fmt, metadata=metadata: fig.savefig(
                        tmp, format=fmt, dpi=PNG_DPI, metadata=metadata
                    ),
                )
            written.append(path)
    tsv = stem.with_name(f"{stem.name}.tsv")
    _atomic_write(tsv, lambda tmp: data.to_csv(tmp, sep="\t", index=False, lineterminator="\n"))
    written.append(tsv)
    for path in written:
        log.info("wrote %s", path)
    return written
