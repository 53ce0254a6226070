"""Genome vs exome trinucleotide opportunity: convert SBS96 profiles between the two scales.

The labelled DDRd cell lines (Zou 2021) are whole genomes; the TCGA tumours are exomes.  A
mutational process hits each trinucleotide at a per-site rate, so the count it leaves in channel
``c`` is proportional to the number of ``c``'s reference trinucleotides in the sequenced territory
(its *opportunity*).  Exomes are GC rich, so the same process gives a different SBS96 profile in an
exome than in a genome:

    exome_profile[c]  ∝  genome_profile[c] / ratio[c],    ratio[c] = genome_opp[c] / exome_opp[c]

(each side renormalised to the row's total).  COSMIC publishes every SBS signature on both scales,
computed exactly this way, so the per-channel ratio is recoverable from the two files up to one
constant per signature (each column sums to 1).  :func:`opportunity_ratio` recovers it by a
two-way median polish of ``log(genome / exome)`` (channel effect + signature effect): robust to a
signature with a rounded or zero entry, and exact when the files are consistent.  On COSMIC v3.4
GRCh37 the residuals are at floating-point rounding (~5e-15 in log), i.e. the two files differ by
one per-channel vector exactly (see ``tests/test_opportunity.py`` and ``docs/beyond.md``).

The ratio is only defined up to a constant (rows are renormalised after conversion); it is scaled
to a geometric mean of 1 over the 96 channels.

At full scale the opportunities come from a reference genome and an exome BED;
:func:`trinucleotide_opportunity` counts them (pyrimidine-centred, both strands) and
:func:`opportunity_ratio_from_counts` turns two such counts into the same ratio.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .channels import SBS96

SCALES = ("genome", "exome")
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def read_signatures(path: str | os.PathLike) -> pd.DataFrame:
    """A COSMIC signature file (``Type`` then one column per signature) as signatures x 96 floats."""
    from .catalog import read_catalog

    return read_catalog(path, integer=False).astype(np.float64)


def _channels_by_signatures(signatures: pd.DataFrame, what: str) -> pd.DataFrame:
    """96 x n_signatures in COSMIC order, whichever way round the frame was given."""
    from .channels import normalize_channel

    def is_channels(labels) -> bool:
        try:
            return sorted(normalize_channel(str(x)) for x in labels) == sorted(SBS96) and len(labels) == 96
        except ValueError:
            return False

    if is_channels(signatures.index):
        frame = signatures.copy()
    elif is_channels(signatures.columns):
        frame = signatures.T.copy()
    else:
        raise ValueError(f"{what}: neither its rows nor its columns are the 96 SBS96 channels")
    frame.index = [normalize_channel(str(x)) for x in frame.index]
    frame = frame.loc[list(SBS96)].astype(np.float64)
    if not np.isfinite(frame.to_numpy()).all() or (frame.to_numpy() < 0).any():
        raise ValueError(f"{what}: signatures must be finite and non-negative")
    return frame


def _median_polish(table: np.ndarray, n_iter: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tukey's median polish of a (rows, columns) table with NaN for missing cells.

    Returns (row effects, column effects, residuals), overall level folded into the row effects.
    """
    residual = table.copy()
    row = np.zeros(table.shape[0])
    column = np.zeros(table.shape[1])
    for _ in range(n_iter):
        r = np.nanmedian(residual, axis=1)
        row += r
        residual -= r[:, None]
        c = np.nanmedian(residual, axis=0)
        column += c
        residual -= c[None, :]
        if np.nanmax(np.abs(r)) < 1e-15 and np.nanmax(np.abs(c)) < 1e-15:
            break
    return row, column, residual


def opportunity_ratio(genome_signatures: pd.DataFrame, exome_signatures: pd.DataFrame,
                      return_residuals: bool = False):
    """Per-channel ratio genome opportunity / exome opportunity, estimated from paired signatures.

    genome_signatures, exome_signatures : the same signatures on the two scales (COSMIC's
    ``..._GRCh37.txt`` and ``..._GRCh37_exome.txt``), 96 x S or S x 96, matched by signature name.
    Cells where either value is 0 carry no information about the ratio and are left out.

    Returns a Series (96, COSMIC order, geometric mean 1) named ``genome_over_exome``; with
    ``return_residuals=True`` also the 96 x S frame of log residuals (how far each signature's own
    ratio departs from the common one: 0 when the files differ exactly by one per-channel vector).
    """
    genome = _channels_by_signatures(genome_signatures, "genome_signatures")
    exome = _channels_by_signatures(exome_signatures, "exome_signatures")
    common = [s for s in genome.columns if s in set(exome.columns)]
    if not common:
        raise ValueError("genome_signatures and exome_signatures share no signature name; "
                         f"genome has {list(genome.columns)[:5]}..., exome {list(exome.columns)[:5]}...")
    genome, exome = genome[common].to_numpy(), exome[common].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where((genome > 0) & (exome > 0), np.log(genome) - np.log(exome), np.nan)
    seen = np.isfinite(log_ratio).any(axis=1)
    if not seen.all():
        missing = [SBS96[i] for i in np.flatnonzero(~seen)]
        raise ValueError(f"no signature has a non-zero value on both scales in channels {missing}; "
                         "the ratio there cannot be estimated")
    channel_effect, _, residual = _median_polish(log_ratio)
    channel_effect -= channel_effect.mean()  # geometric mean 1: the ratio's scale is arbitrary
    ratio = pd.Series(np.exp(channel_effect), index=list(SBS96), name="genome_over_exome")
    if return_residuals:
        return ratio, pd.DataFrame(residual, index=list(SBS96), columns=common)
    return ratio


def opportunity_ratio_from_counts(genome_opportunity: pd.Series, exome_opportunity: pd.Series) -> pd.Series:
    """The ratio from trinucleotide counts (full scale: reference genome and exome BED).

    Each argument: the count of every channel's reference trinucleotide (its 32 pyrimidine-centred
    contexts repeated over the three substitutions), as :func:`trinucleotide_opportunity` returns.
    """
    genome = genome_opportunity.reindex(list(SBS96)).to_numpy(dtype=np.float64)
    exome = exome_opportunity.reindex(list(SBS96)).to_numpy(dtype=np.float64)
    if not (np.isfinite(genome).all() and np.isfinite(exome).all() and (genome > 0).all() and (exome > 0).all()):
        raise ValueError("opportunities must be positive and finite for all 96 channels")
    log_ratio = np.log(genome) - np.log(exome)
    return pd.Series(np.exp(log_ratio - log_ratio.mean()), index=list(SBS96), name="genome_over_exome")


def _check_ratio(ratio) -> np.ndarray:
    values = np.asarray(ratio.reindex(list(SBS96)) if isinstance(ratio, pd.Series) else ratio, dtype=np.float64)
    if values.shape != (96,) or not np.isfinite(values).all() or (values <= 0).any():
        raise ValueError("ratio must hold 96 positive finite values, one per SBS96 channel (COSMIC order)")
    return values


def _rescale(profiles, factor: np.ndarray):
    """Multiply every row by ``factor`` per channel and restore the row's total (counts or 1)."""
    is_frame = isinstance(profiles, pd.DataFrame)
    values = np.array(profiles, dtype=np.float64)
    one_row = values.ndim == 1
    values = np.atleast_2d(values)
    if values.shape[1] != 96:
        raise ValueError(f"profiles must have 96 columns (SBS96, COSMIC order); got shape {values.shape}")
    if (values < 0).any() or not np.isfinite(values).all():
        raise ValueError("profiles must be finite and non-negative")
    totals = values.sum(axis=1, keepdims=True)
    scaled = values * factor[None, :]
    scaled_totals = scaled.sum(axis=1, keepdims=True)
    out = np.divide(scaled * totals, scaled_totals, out=np.zeros_like(scaled), where=scaled_totals > 0)
    if is_frame:
        return pd.DataFrame(out, index=profiles.index, columns=profiles.columns)
    return out[0] if one_row else out


def to_exome(profiles, ratio):
    """Genome-scale profiles (n, 96) -> exome scale: divide by the genome/exome ratio, keep totals.

    Counts stay counts in total (the values become non-integer); proportions stay proportions.
    """
    return _rescale(profiles, 1.0 / _check_ratio(ratio))


def to_genome(profiles, ratio):
    """Exome-scale profiles (n, 96) -> genome scale: multiply by the genome/exome ratio, keep totals."""
    return _rescale(profiles, _check_ratio(ratio))


def convert_scale(profiles, source_scale: str, target_scale: str, ratio):
    """Convert from ``source_scale`` to ``target_scale`` ("genome" or "exome"); identity when equal."""
    for name, value in (("source_scale", source_scale), ("target_scale", target_scale)):
        if value not in SCALES:
            raise ValueError(f"{name} must be one of {SCALES}; got {value!r}")
    if source_scale == target_scale:
        return _rescale(profiles, np.ones(96))
    return to_exome(profiles, ratio) if target_scale == "exome" else to_genome(profiles, ratio)


def harmonise(profiles, scales, target_scale: str, ratio):
    """Bring rows of mixed scale (one of ``SCALES`` per row) to ``target_scale``.

    What the protocol applies, the same way at training and at prediction: e.g. Zou cell lines
    ("genome") and TCGA tumours ("exome") both to "exome" before any model sees them.
    """
    values = np.array(profiles, dtype=np.float64)
    scales = np.asarray(scales, dtype=object)
    if values.ndim != 2 or scales.shape != (values.shape[0],):
        raise ValueError(f"scales must give one scale per row of profiles ({values.shape[0]}); got {scales.shape}")
    unknown = sorted({str(s) for s in scales} - set(SCALES))
    if unknown:
        raise ValueError(f"unknown scales {unknown}; expected one of {SCALES}")
    out = values.copy()
    for scale in SCALES:
        rows = scales == scale
        if rows.any():
            out[rows] = convert_scale(values[rows], scale, target_scale, ratio)
    if isinstance(profiles, pd.DataFrame):
        return pd.DataFrame(out, index=profiles.index, columns=profiles.columns)
    return out


# ------------------------------------------------------------------ full scale: counting contexts
def _channel_contexts() -> list[str]:
    """The reference trinucleotide of each SBS96 channel, e.g. ``A[C>A]T`` -> ``ACT``."""
    return [label[0] + label[2] + label[6] for label in SBS96]


def trinucleotide_opportunity(fasta: str | os.PathLike, bed: str | os.PathLike | None = None,
                              chunk: int = 10_000_000) -> pd.Series:
    """Count each channel's reference trinucleotide in a FASTA, optionally inside BED intervals.

    Both strands count: a purine-centred trinucleotide is counted as its reverse complement, so
    the 32 pyrimidine-centred contexts cover every site.  Trinucleotides with N (or any base
    other than ACGT) are skipped.  Without ``bed`` the whole FASTA counts (the genome); with it,
    the union of its intervals (0-based, half-open, as BED), each with its centre bases only.
    Returns a Series over the 96 channels (the 3 channels of one context share its count).
    """
    from .data.fasta import IndexedFasta

    contexts = sorted({c for c in _channel_contexts()})
    code = np.full(256, 4, dtype=np.int64)
    for i, base in enumerate(b"ACGT"):
        code[base] = i
        code[base + 32] = i  # lower case (soft-masked repeats) counts too
    counts = np.zeros(125, dtype=np.int64)  # 5^3: ACGT + "other"

    def add(sequence: bytes) -> None:
        if len(sequence) < 3:
            return
        x = code[np.frombuffer(sequence, dtype=np.uint8)]
        index = x[:-2] * 25 + x[1:-1] * 5 + x[2:]
        counts[:] += np.bincount(index, minlength=125)

    with IndexedFasta(fasta) as reference:
        if bed is None:
            regions = [(name, 0, entry.length) for name, entry in reference.index.items()]
        else:
            regions = _read_bed(bed, reference)
        for name, start, end in regions:
            # one base of flank each side so every base of the interval is a centre
            lo = max(start - 1, 0)
            hi = min(end + 1, reference.index[name].length)
            for a in range(lo, hi, chunk):
                b = min(a + chunk + 2, hi)
                seq = reference.fetch(name, a, b)
                if seq is not None:
                    add(seq.encode("ascii"))
    by_context = {}
    bases = "ACGT"
    for context in contexts:
        i, j, k = (bases.index(b) for b in context)
        reverse = context.translate(_COMPLEMENT)[::-1]
        ri, rj, rk = (bases.index(b) for b in reverse)
        by_context[context] = counts[i * 25 + j * 5 + k] + counts[ri * 25 + rj * 5 + rk]
    return pd.Series([by_context[c] for c in _channel_contexts()], index=list(SBS96), name="opportunity",
                     dtype=np.int64)


def _read_bed(bed: str | os.PathLike, reference) -> list[tuple[str, int, int]]:
    """BED intervals (chrom, start, end), merged per chromosome so overlaps count once."""
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    for number, line in enumerate(Path(bed).read_text().splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        try:
            chrom, start, end = fields[0], int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            raise ValueError(f"{bed}: line {number}: expected 'chrom<TAB>start<TAB>end' (BED)") from None
        if start < 0 or end < start:
            raise ValueError(f"{bed}: line {number}: interval [{start}, {end}) is not valid")
        name = reference.resolve(chrom)
        if name is None:
            raise ValueError(f"{bed}: line {number}: chromosome {chrom!r} is not in the FASTA")
        by_chrom.setdefault(name, []).append((start, min(end, reference.index[name].length)))
    regions = []
    for name, intervals in by_chrom.items():
        intervals.sort()
        current_start, current_end = intervals[0]
        for start, end in intervals[1:]:
            if start <= current_end:
                current_end = max(current_end, end)
            else:
                regions.append((name, current_start, current_end))
                current_start, current_end = start, end
        regions.append((name, current_start, current_end))
    return regions


# ------------------------------------------------------------------ the protocol's option
@dataclass(frozen=True)
class Opportunity:
    """How the experiment brings profiles to one scale (config ``experiment.opportunity``).

    target_scale : the scale every profile is brought to before a model sees it ("exome").
    ratio : (96,) genome/exome opportunity ratio (:func:`opportunity_ratio`), COSMIC order.
    source_scales : the scale of each ``source`` of the fold tables (``cell_line``, ``tumour``).
    """

    target_scale: str
    ratio: tuple[float, ...]
    source_scales: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if self.target_scale not in SCALES:
            raise ValueError(f"target_scale must be one of {SCALES}; got {self.target_scale!r}")
        _check_ratio(np.asarray(self.ratio))
        for source, scale in self.source_scales:
            if scale not in SCALES:
                raise ValueError(f"scale of source {source!r} must be one of {SCALES}; got {scale!r}")

    def apply(self, profiles: np.ndarray, sources) -> np.ndarray:
        """Rows of ``profiles`` (n, 96) brought from their source's scale to the target scale."""
        by_source = dict(self.source_scales)
        sources = [str(s) for s in sources]
        unknown = sorted(set(sources) - set(by_source))
        if unknown:
            raise ValueError(f"no scale given for source(s) {unknown}; scales are given for {sorted(by_source)}")
        return harmonise(profiles, [by_source[s] for s in sources], self.target_scale, np.asarray(self.ratio))

    def from_scale(self, profiles: np.ndarray, scale: str) -> np.ndarray:
        """Rows of ``profiles`` (n, 96), all at ``scale``, brought to the target scale."""
        return convert_scale(profiles, scale, self.target_scale, np.asarray(self.ratio))

    def metadata(self) -> dict:
        """What a model file records (``metadata["opportunity"]``), read back by :meth:`from_metadata`."""
        return {"target_scale": self.target_scale, "ratio": [float(r) for r in self.ratio],
                "source_scales": dict(self.source_scales)}

    @classmethod
    def from_metadata(cls, info) -> "Opportunity | None":
        """The conversion a model file records (:meth:`metadata`), checked; None for a model trained
        without one (the paper's protocol: ``experiment.opportunity: none``)."""
        info = info or {}
        target = info.get("target_scale")
        if target is None:
            return None
        if target not in SCALES:
            raise ValueError(f"model metadata: opportunity target_scale {target!r}; expected one of {SCALES}")
        ratio = np.asarray(info.get("ratio", []), dtype=float)
        if ratio.shape != (96,) or not np.isfinite(ratio).all() or (ratio <= 0).any():
            raise ValueError("model metadata: opportunity ratio must hold 96 positive numbers")
        scales = dict(info.get("source_scales") or {"tumour": "exome"})
        return cls(target, tuple(ratio.tolist()), tuple(sorted(scales.items())))


class AtModelScale:
    """A fitted model that sees profiles at the scale it was trained at: ``predict_proba`` of the
    rows after ``convert`` (None: as they are).  The one wrapper of ``pssnmf predict`` (samples at
    the scale the user names) and of the workflow's figures (fold rows of one source), so that
    :func:`pssnmf.uncertainty.prediction_intervals` converts each resample as the point prediction
    was converted.  ``classes_`` are the class names as text, as the tables write them (a model
    trained on integer labels has integer classes, and resampled calls must compare equal)."""

    def __init__(self, model, convert=None):
        self.model, self._convert = model, convert
        self.classes_ = np.asarray([str(c) for c in model.classes_], dtype=object)

    @classmethod
    def for_source(cls, model, opportunity: "Opportunity | None", source: str) -> "AtModelScale":
        """Rows of one fold ``source`` (``cell_line``, ``tumour``), converted as the fits converted them."""
        if opportunity is None:
            return cls(model)
        return cls(model, lambda values: opportunity.apply(values, [source] * len(values)))

    def convert(self, values: np.ndarray) -> np.ndarray:
        return values if self._convert is None else self._convert(values)

    def predict_proba(self, values):
        return self.model.predict_proba(self.convert(np.asarray(values, dtype=float)))


def read_ratio(path: str | os.PathLike) -> pd.Series:
    """A ratio file written by :func:`write_ratio` (``channel``, ``genome_over_exome``)."""
    table = pd.read_csv(path, sep="\t")
    if list(table.columns) != ["channel", "genome_over_exome"]:
        raise ValueError(f"{path}: columns must be channel, genome_over_exome; got {list(table.columns)}")
    if list(table["channel"]) != list(SBS96):
        raise ValueError(f"{path}: column channel must list the 96 SBS96 channels in COSMIC order")
    ratio = pd.Series(table["genome_over_exome"].to_numpy(dtype=np.float64), index=list(SBS96),
                      name="genome_over_exome")
    try:
        _check_ratio(ratio)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return ratio


def write_ratio(ratio: pd.Series, path: str | os.PathLike) -> None:
    from .data.atomic import write_table

    table = pd.DataFrame({"channel": list(SBS96), "genome_over_exome": _check_ratio(ratio)})
    write_table(table, path, float_format="%.17g")


def add_arguments(parser) -> None:
    """The command-line options of :func:`from_arguments` (``experiment fit``, ``figures``)."""
    parser.add_argument("--opportunity-ratio", help="genome/exome ratio TSV (python -m pssnmf.opportunity); "
                                                   "with it, profiles are brought to --target-scale")
    parser.add_argument("--target-scale", choices=SCALES, default="exome")
    parser.add_argument("--source-scale", action="append", default=[], metavar="SOURCE=SCALE",
                        help="scale of a fold source, e.g. cell_line=genome (repeat); default tumour=exome")


def from_spec(spec) -> Opportunity | None:
    """An :class:`Opportunity` from a job's typed spec (``pssnmf.planning.plan``):
    ``{"ratio": path, "target_scale": "exome", "source_scales": {"cell_line": "genome", ...}}``,
    None for no conversion.  Sources not named are tumours at exome scale."""
    if spec is None:
        return None
    unknown = sorted(set(spec) - {"ratio", "target_scale", "source_scales"})
    if unknown or "ratio" not in spec:
        raise ValueError(f"opportunity spec {spec!r}: needs 'ratio' (and 'target_scale', 'source_scales'); "
                         f"unknown {unknown}")
    scales = {"tumour": "exome", **dict(spec.get("source_scales") or {})}
    return Opportunity(spec.get("target_scale", "exome"), tuple(read_ratio(spec["ratio"]).tolist()),
                       tuple(sorted(scales.items())))


def from_arguments(args) -> Opportunity | None:
    if not args.opportunity_ratio:
        if args.source_scale:
            raise ValueError("--source-scale is used only with --opportunity-ratio")
        return None
    scales = {}
    for item in args.source_scale:
        source, sep, scale = item.partition("=")
        if not sep:
            raise ValueError(f"--source-scale {item!r}: expected SOURCE=SCALE, e.g. cell_line=genome")
        scales[source] = scale
    return from_spec({"ratio": args.opportunity_ratio, "target_scale": args.target_scale, "source_scales": scales})


def main(argv=None) -> int:
    """``python -m pssnmf.opportunity --genome G.txt --exome E.txt --out ratio.tsv``."""
    import argparse

    from pssnmf import commands

    parser = argparse.ArgumentParser(prog="python -m pssnmf.opportunity",
                                     description="The genome/exome opportunity ratio from COSMIC's genome and "
                                                 "exome signature files (two-way median polish).")
    parser.add_argument("--genome", required=True, help="COSMIC SBS file, genome scale (..._GRCh37.txt)")
    parser.add_argument("--exome", required=True, help="the same signatures at exome scale (..._GRCh37_exome.txt)")
    parser.add_argument("--out", required=True, help="ratio TSV: channel, genome_over_exome (geometric mean 1)")
    commands.add_options(parser)
    return commands.run("python -m pssnmf.opportunity", _run, parser.parse_args(argv))


def _run(args) -> None:
    import logging

    ratio, residuals = opportunity_ratio(read_signatures(args.genome), read_signatures(args.exome),
                                         return_residuals=True)
    write_ratio(ratio, args.out)
    logging.getLogger(__name__).info(
        "ratio from %d signatures: %.3g (%s) to %.3g (%s); largest log residual %.2g", residuals.shape[1],
        ratio.min(), ratio.idxmin(), ratio.max(), ratio.idxmax(), float(np.nanmax(np.abs(residuals))))


if __name__ == "__main__":
    raise SystemExit(main())
