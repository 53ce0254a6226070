"""MAF (mutation annotation format) → SBS96 count catalogs.

Each single-base substitution is placed in one of the 96 SBS channels by its 5' and
3' neighbouring bases.  They come from a context column where the MAF has one
(MC3's ``CONTEXT``: 11 reference bases centred on the variant), else from a
reference FASTA read through its index (:class:`pssnmf.data.fasta.IndexedFasta`).
What this shares with the VCF reader (the channel of a substitution in COSMIC's
pyrimidine orientation, the tally, the mismatch warning) is
:mod:`pssnmf.data.substitutions`.

Rows that are not single-base substitutions (indels, DNPs, ONPs), rows with an
unknown base (``N``) in the reference, alternative or context, and rows whose
reference allele disagrees with the context or FASTA are skipped and counted
(:attr:`MafConversion.skipped`), never silently guessed; when more than 5 % of the
substitutions disagree with the reference
(:data:`~pssnmf.data.substitutions.MISMATCH_WARNING_SHARE`), the log says so as a warning
(the wrong genome build, or a stale index).  A variant listed twice for one sample (same
position and alleles) is counted once.

A row that cannot be read is an error naming the file and line (:class:`MafError`):
more fields than the header, an empty sample ID, a ``Start_Position`` that is not a
whole number.  Every field is read as text, so a sample named ``NaN`` or ``NA`` is a
sample ID like any other.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import logging
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from pssnmf.data.fasta import IndexedFasta
from pssnmf.data.substitutions import (  # noqa: F401 - reverse_complement, sbs96_channel: their old home
    BASES,
    Conversion,
    SubstitutionTally,
    mismatch_warning,
    place,
    reverse_complement,
    sbs96_channel,
)

log = logging.getLogger(__name__)

SKIP_REASONS = (
    "not_sbs",  # indel, DNP, ONP or a multi-base allele
    "unknown_base",  # N (or another non-ACGT letter) in ref, alt or the neighbours
    "ref_mismatch",  # reference allele differs from the context / FASTA base
    "no_context",  # chromosome absent from the FASTA, or position outside it
    "duplicate",  # same sample, position and alleles seen before
)


class MafError(ValueError):
    """A MAF that cannot be converted (missing columns, no source of context)."""


MafConversion = Conversion
"""The result of :func:`convert_maf` (:class:`pssnmf.data.substitutions.Conversion`)."""


def _header_rows(path: Path) -> tuple[int, str]:
    """Leading ``#`` comment lines (``#version 2.4``) before the header, and the separator.

    MAFs are tab-separated; DepMap's ``CCLE_mutations.csv`` has been published both
    tab- and comma-separated, so the header line decides.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    skipped = 0
    header = ""
    with opener(path, "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                header = line
                break
            skipped += 1
    if not header.strip():
        raise MafError(f"{path}: no header line; expected a MAF (tab-separated, one variant per line)")
    return skipped, "\t" if "\t" in header else ","


@contextlib.contextmanager
def _unreadable_as_maf_error(path: Path):
    """What the text, gzip and CSV layers raise on a damaged file, as a MafError naming it."""
    try:
        yield
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, EOFError, gzip.BadGzipFile,
            zlib.error) as error:
        raise MafError(f"{path}: not a readable MAF ({type(error).__name__}: {error}); expected tab-separated "
                       "UTF-8 text (or gzip of it), one variant per line") from None


def _check_field_counts(path: Path, sep: str, skip: int, n_columns: int) -> None:
    """A MafError naming the first data line with more fields than the header.

    pandas drops such fields without a word when it reads only some columns, so a shifted row
    would be read with its values in the wrong columns.  One pass over the raw lines (a line
    with quotes is split as CSV); trailing empty fields (a separator at the line end) are fine.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    separator = sep.encode()
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number <= skip + 1 or line.count(separator) < n_columns:
                continue
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            fields = next(csv.reader([text], delimiter=sep)) if '"' in text else text.split(sep)
            while len(fields) > n_columns and not fields[-1].strip():
                fields.pop()
            if len(fields) > n_columns:
                raise MafError(f"{path}: line {number}: {len(fields)} fields, but the header names {n_columns} "
                               "columns; expected one field per column")


def _pick(columns: list[str], wanted: tuple[str, ...], path: Path, required: bool = True) -> str | None:
    lower = {c.lower(): c for c in columns}
    for name in wanted:
        if name.lower() in lower:
            return lower[name.lower()]
    if required:
        raise MafError(f"{path}: none of the columns {', '.join(wanted)} found; expected a MAF header")
    return None


def convert_maf(
    path: str | os.PathLike,
    fasta: str | os.PathLike | None = None,
    *,
    sample_id: Callable[[str], str] | None = None,
    sample_column: str | None = None,
    alt_column: str | None = None,
    context_column: str | None = "CONTEXT",
    keep_sample: Callable[[str], bool] | None = None,
    chunksize: int = 500_000,
    mutations: bool = False,
) -> MafConversion:
    """Count the SBS96 channels of every sample in a MAF (plain or gzip).

    Parameters
    ----------
    path : MAF file; leading ``#`` lines are skipped; columns are matched ignoring case.
    fasta : reference FASTA (plain text, ``.fai`` beside it or written on first use);
        needed when the MAF has no ``context_column`` (or a row's context is empty).
    sample_id : maps the sample column's value to the sample ID (for TCGA: the first
        15 characters of the aliquot barcode, aliquot → sample).
    sample_column : default ``Tumor_Sample_Barcode`` (or ``DepMap_ID``).
    alt_column : default ``Tumor_Seq_Allele2``, else ``Tumor_Seq_Allele1`` (CCLE).
    context_column : the column of reference bases centred on the variant; ``None``
        ignores it.
    keep_sample : called with the sample ID; rows for which it is false are left out
        (not counted as skipped).
    mutations : also return one row per substitution counted (:attr:`MafConversion.mutations`,
        for ``pssnmf predict --per-mutation``); off by default, it holds every row in memory.
    """
    path = Path(path)
    if not path.is_file():
        raise MafError(f"{path}: no such MAF file")
    with _unreadable_as_maf_error(path):
        skip, sep = _header_rows(path)
        head = pd.read_csv(path, sep=sep, skiprows=skip, nrows=0, dtype=str, keep_default_na=False)
    columns = list(head.columns)
    c_sample = _pick(columns, (sample_column,) if sample_column else ("Tumor_Sample_Barcode", "DepMap_ID"), path)
    c_chrom = _pick(columns, ("Chromosome",), path)
    c_pos = _pick(columns, ("Start_Position", "Start_position"), path)
    c_ref = _pick(columns, ("Reference_Allele",), path)
    c_alt = _pick(columns, (alt_column,) if alt_column else ("Tumor_Seq_Allele2", "Tumor_Seq_Allele1"), path)
    c_type = _pick(columns, ("Variant_Type",), path, required=False)
    c_context = _pick(columns, (context_column,), path, required=False) if context_column else None
    if c_context is None and fasta is None:
        raise MafError(
            f"{path}: no {context_column or 'context'} column, and no reference FASTA given; "
            "expected one of the two to read each substitution's neighbouring bases"
        )
    reference = IndexedFasta(fasta) if fasta is not None else None
    usecols = [c for c in (c_sample, c_chrom, c_pos, c_ref, c_alt, c_type, c_context) if c]

    skipped = dict.fromkeys(SKIP_REASONS, 0)
    tally = SubstitutionTally(keep_rows=mutations)
    rows = 0
    first_line = skip + 2  # 1-based line of the first data row (blank lines are kept as rows)
    try:
        with _unreadable_as_maf_error(path):
            _check_field_counts(path, sep, skip, len(columns))
            reader = pd.read_csv(
                path, sep=sep, skiprows=skip, usecols=usecols, dtype=str, keep_default_na=False, index_col=False,
                skip_blank_lines=False, chunksize=chunksize,
            )
            for chunk in reader:
                start = first_line + (chunk.index[0] if len(chunk) else 0)
                for offset, rec in enumerate(chunk[usecols].itertuples(index=False, name=None)):
                    values = dict(zip(usecols, rec, strict=True))
                    line = start + offset
                    if not any(v.strip() for v in rec):
                        continue  # a blank line
                    rows += 1
                    sample = values[c_sample].strip()
                    sample = sample_id(sample) if sample_id and sample else sample
                    if not sample:
                        raise MafError(f"{path}: line {line}: empty {c_sample}; expected a sample ID on every row")
                    if keep_sample is not None and not keep_sample(sample):
                        continue
                    ref = values[c_ref].strip().upper()
                    alt = values[c_alt].strip().upper()
                    if (c_type and values[c_type].strip().upper() not in ("SNP", "")) or len(ref) != 1 or len(alt) != 1:
                        skipped["not_sbs"] += 1
                        continue
                    if ref == "-" or alt == "-":
                        skipped["not_sbs"] += 1
                        continue
                    if ref not in BASES or alt not in BASES or ref == alt:
                        skipped["unknown_base"] += 1
                        continue
                    chrom, position = values[c_chrom].strip(), values[c_pos].strip()
                    if not (position.isascii() and position.isdigit()):
                        raise MafError(f"{path}: line {line}: {c_pos} {position[:40]!r} is not a whole number; "
                                       "expected the variant's 1-based position")
                    pos = int(position)
                    channel, reason = place(_context_bases(values[c_context] if c_context else "", reference,
                                                           chrom, pos), ref, alt)
                    if reason is not None:
                        skipped[reason] += 1
                    elif not tally.add(sample, chrom, pos, ref, alt, channel):
                        skipped["duplicate"] += 1
    finally:
        if reference is not None:
            reference.close()

    for reason, number in skipped.items():
        if number:
            log.info("%s: skipped %d row(s): %s", path, number, reason)
    warning = mismatch_warning(skipped["ref_mismatch"], len(tally) + skipped["duplicate"] + skipped["ref_mismatch"],
                               str(path), "FASTA" if reference is not None else "context column")
    if warning:
        log.warning("%s", warning)
    return MafConversion(counts=tally.counts(), skipped=skipped, rows=rows, mutations=tally.mutations())


def _context_bases(context: str, reference: IndexedFasta | None, chrom: str, pos: int) -> str | None:
    """The three reference bases centred on ``pos``: from the row's context (11 bases in MC3's
    CONTEXT), else from the FASTA; ``None`` where neither has them."""
    context = context.strip().upper()
    if context:
        centre = len(context) // 2
        return context[centre - 1 : centre + 2] if len(context) % 2 == 1 and len(context) >= 3 else None
    return reference.fetch(chrom, pos - 2, pos + 1) if reference is not None else None


def maf_to_sbs96(path: str | os.PathLike, fasta: str | os.PathLike | None = None, **options) -> pd.DataFrame:
    """Samples x 96 SBS counts of a MAF; see :func:`convert_maf` for the options."""
    return convert_maf(path, fasta, **options).counts
