"""Single-base substitutions placed in the 96 SBS channels: what the MAF and VCF readers share.

Each substitution is placed in one of the 96 channels by its 5' and 3' neighbouring
reference bases.  COSMIC writes every substitution from the pyrimidine of the base pair,
so a purine reference (G or A) is reverse-complemented together with its context:
``A[G>T]C`` on the given strand is ``G[C>A]T``.

A substitution that cannot be placed is skipped and counted by reason, never guessed:
no neighbouring bases (chromosome absent from the reference, or the first or last base),
an unknown base (``N``) in the reference, or a reference allele that disagrees with the
reference genome.  When more than :data:`MISMATCH_WARNING_SHARE` of them disagree, the
reader warns (:func:`mismatch_warning`): the wrong genome build, or a stale index.

:class:`SubstitutionTally` keeps what was placed: the samples x 96 counts and, only when
asked (it costs memory on a large file), one row per substitution for
``pssnmf predict --per-mutation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pssnmf.channels import CHANNEL_INDEX, SBS96

_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
_PAIRED = {"A": "T", "C": "G", "G": "C", "T": "A"}  # one base's complement, without a string's round trip
BASES = frozenset("ACGT")

MISMATCH_WARNING_SHARE = 0.05
"""Share of reference mismatches among the substitutions above which the log warns."""

MUTATION_COLUMNS = ("sample", "chromosome", "position", "ref", "alt", "channel")
"""The columns of :attr:`Conversion.mutations`, one row per substitution placed."""


@dataclass
class Conversion:
    """What a reader of mutation calls returns (:func:`pssnmf.data.maf.convert_maf`,
    :func:`pssnmf.data.vcf.convert_vcf`)."""

    counts: pd.DataFrame
    """samples x 96 int64 counts, columns in COSMIC order, index name ``sample``."""
    skipped: dict[str, int] = field(default_factory=dict)
    """what was skipped, by reason (the reader's ``SKIP_REASONS``)."""
    rows: int = 0
    """data rows read."""
    mutations: pd.DataFrame | None = None
    """with ``mutations=True``: one row per substitution placed, columns :data:`MUTATION_COLUMNS`
    (``chromosome`` as the file spells it, 1-based ``position``, ``ref``/``alt`` on the plus strand,
    ``channel`` in COSMIC orientation), in the order read; else ``None``."""


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def sbs96_channel(five: str, ref: str, alt: str, three: str) -> str | None:
    """The COSMIC channel of ``five ref>alt three`` (given strand), or ``None`` if not ACGT."""
    if not {five, ref, alt, three} <= BASES or ref == alt:
        return None
    if ref in "GA":
        # eq. to reading the other strand: complement each base and swap 5'/3'.
        five, ref, alt, three = _PAIRED[three], _PAIRED[ref], _PAIRED[alt], _PAIRED[five]
    return f"{five}[{ref}>{alt}]{three}"


def place(bases: str | None, ref: str, alt: str) -> tuple[str | None, str | None]:
    """``(channel, None)`` for ``ref>alt`` between ``bases[0]`` and ``bases[2]``, else ``(None, reason)``.

    bases : the three reference bases centred on the substitution (``None`` where the reference
        has none: ``no_context``); ref, alt : single bases of the given strand, ACGT.
    Reasons: ``no_context``, ``unknown_base`` (an N in the reference), ``ref_mismatch``.
    """
    if bases is None or len(bases) != 3:
        return None, "no_context"
    if bases[1] != ref:
        # An N in the reference is an unknown base, not a disagreement.
        return None, "unknown_base" if bases[1] not in BASES else "ref_mismatch"
    channel = sbs96_channel(bases[0], ref, alt, bases[2])
    return (channel, None) if channel is not None else (None, "unknown_base")


def mismatch_warning(mismatches: int, compared: int, source: str, against: str) -> str | None:
    """The warning to log when more than :data:`MISMATCH_WARNING_SHARE` of the ``compared``
    reference alleles disagree with the reference (``against``: "FASTA", "context column"), else None."""
    if mismatches <= MISMATCH_WARNING_SHARE * compared:
        return None
    return (f"{source}: {mismatches} of {compared} substitutions ({100 * mismatches / compared:.0f} %) have a "
            f"reference allele that disagrees with the {against}; they are skipped. Is it the genome build "
            "the calls were made on?")


class SubstitutionTally:
    """The substitutions placed so far: counts per sample and channel, and (``keep_rows``) one row each.

    A substitution seen before for the same sample (chromosome, position and alleles) is not
    counted again: :meth:`add` returns False and the reader counts it ``duplicate``.
    """

    def __init__(self, keep_rows: bool = False):
        self.keep_rows = keep_rows
        self._samples: dict[str, int] = {}
        self._seen: set[tuple] = set()
        self._sample_index: list[int] = []
        self._channel_index: list[int] = []
        self._rows: list[tuple[str, int, str, str]] = []  # (chromosome, position, ref, alt), with keep_rows

    def add(self, sample: str, chromosome: str, position: int, ref: str, alt: str, channel: str) -> bool:
        key = (sample, chromosome, position, ref, alt)
        if key in self._seen:
            return False
        self._seen.add(key)
        self._sample_index.append(self._samples.setdefault(sample, len(self._samples)))
        self._channel_index.append(CHANNEL_INDEX[channel])
        if self.keep_rows:
            self._rows.append((chromosome, position, ref, alt))
        return True

    def __len__(self) -> int:
        return len(self._channel_index)

    @property
    def samples(self) -> list[str]:
        return list(self._samples)

    def counts(self) -> pd.DataFrame:
        """(n_samples, 96) int64, samples in the order first seen, columns in COSMIC order."""
        matrix = np.zeros((len(self._samples), len(SBS96)), dtype=np.int64)
        np.add.at(matrix, (np.asarray(self._sample_index, dtype=np.intp),
                           np.asarray(self._channel_index, dtype=np.intp)), 1)
        return pd.DataFrame(matrix, index=pd.Index(self.samples, name="sample"), columns=list(SBS96))

    def mutations(self) -> pd.DataFrame | None:
        """One row per substitution counted (:attr:`Conversion.mutations`); ``None`` without ``keep_rows``."""
        if not self.keep_rows:
            return None
        chromosome, position, ref, alt = (list(c) for c in zip(*self._rows, strict=True)) if self._rows \
            else ([], [], [], [])
        return pd.DataFrame({
            "sample": np.asarray(self.samples, dtype=object)[np.asarray(self._sample_index, dtype=np.intp)],
            "chromosome": pd.Series(chromosome, dtype=object),
            "position": np.asarray(position, dtype=np.int64),
            "ref": pd.Series(ref, dtype=object),
            "alt": pd.Series(alt, dtype=object),
            "channel": np.asarray(SBS96, dtype=object)[np.asarray(self._channel_index, dtype=np.intp)],
        }, columns=list(MUTATION_COLUMNS))
