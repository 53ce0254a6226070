"""VCF → SBS96 count catalogs, for ``pssnmf predict --vcf``.

A VCF (4.x; plain, gzip or bgzip, told by its first bytes: bgzip is gzip blocks one after
another, which Python's gzip reads) is read line by line as text.  The three reference bases
around each substitution come from a FASTA through its index
(:class:`pssnmf.data.fasta.IndexedFasta`, which refuses a stale ``.fai``), and its channel in
COSMIC's pyrimidine orientation from :func:`pssnmf.data.substitutions.place`, as for a MAF.
Chromosome names match with or without ``chr`` (``chr1`` in the VCF and ``1`` in the FASTA, or
the other way round; ``M``/``MT`` too), so Ensembl's and UCSC's spellings of GRCh37 and
GRCh38 both work.  The FASTA must be the build the calls were made on: another build shows
as reference mismatches, and more than 5 % of them is a warning.

Which sample an ALT allele counts for (its number: 1 for the first ALT, 2 for the second):

- ``sample="NAME"`` (``--vcf-sample``, e.g. the tumour column of a tumour/normal VCF), or a
  VCF with one sample column: that column is the one sample.  An allele counts unless the
  column's GT says the sample does not carry it (``0/0``, ``./.``, ``0/2`` for allele 1); a
  line whose FORMAT has no GT counts (somatic callers such as Strelka2 write none: the line
  is the call).
- several sample columns and no ``sample``: every column is a sample, and an allele counts
  for each column whose GT holds its number (``0/1``, ``1|1``; ``1/2`` for alleles 1 and 2);
  ``0/0`` and ``./.`` do not.  A line without GT is an error: no one could say whose it is.
- no sample columns (a sites-only VCF): one sample, named by the file's name less
  ``.vcf``/``.vcf.gz``; every line counts.

The same sample ID in several files is one sample (a tumour's SNV and indel files, or one file
per chromosome): their substitutions are pooled, and one listed in two files counts once.

Only lines whose FILTER is ``PASS`` or ``.`` count, unless ``all_filters``.  Each ALT of a
multi-allelic line is a variant of its own.  REF and ALT are trimmed of the bases they share
at either end first, so ``ACG>ATG`` at 100 (a caller's padded form, or one ALT of
``ACG>A,ATG``) is ``C>T`` at 101.  What is not a single-base substitution is skipped and
counted by reason, once per ALT allele (a duplicate once per sample): :data:`SKIP_REASONS`.

Bad input raises :class:`VcfError` (a ValueError) naming the file and line: no ``#CHROM``
header line before the data, a header whose first columns are not VCF's, a data line with
another number of fields than the header, a POS that is not a whole number, a GT that is not
a genotype, a ``sample`` that is not a column of the header.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from pssnmf.data.fasta import IndexedFasta
from pssnmf.data.substitutions import BASES, Conversion, SubstitutionTally, mismatch_warning, place

log = logging.getLogger(__name__)

SKIP_REASONS = (
    "filtered",  # FILTER neither PASS nor '.' (counted with all_filters)
    "indel",  # REF and ALT of different lengths
    "mnv",  # REF and ALT of one length, more than one base apart after trimming
    "symbolic",  # <DEL>, <*>, '*' (an upstream deletion), breakends
    "no_alt",  # ALT '.' (a reference-only line) or the REF itself
    "not_in_sample",  # no counted sample's GT carries the allele
    "unknown_base",  # N (or another non-ACGT letter) in REF, ALT or the neighbouring bases
    "ref_mismatch",  # REF differs from the FASTA's base
    "no_context",  # chromosome absent from the FASTA, or its first or last base
    "duplicate",  # same sample, position and alleles seen before (in this or another file)
)

HEADER = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
"""The first eight columns of a VCF's header line; ``FORMAT`` and the samples may follow."""

_KEPT_FILTERS = frozenset(("PASS", "."))


class VcfError(ValueError):
    """A VCF that cannot be read (no header line, a line of the wrong shape, an unknown sample)."""


def convert_vcf(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    fasta: str | os.PathLike,
    *,
    sample: str | None = None,
    all_filters: bool = False,
    mutations: bool = False,
) -> Conversion:
    """Count the SBS96 channels of every sample of one or more VCFs (module docstring for the rules).

    paths : one VCF or several (``.vcf``, ``.vcf.gz``; bgzip or plain gzip).
    fasta : the reference the calls were made on (plain text; its ``.fai`` used, or written).
    sample : the one sample column to count (``--vcf-sample``); every file must have it.
    all_filters : count lines whatever their FILTER (default: ``PASS`` or ``.`` only).
    mutations : also return one row per substitution counted (:attr:`Conversion.mutations`);
        off by default, it holds every row in memory.

    Returns counts (n_samples, 96), samples in the order first met; ``rows``: data lines read;
    ``skipped``: ALT alleles by reason (:data:`SKIP_REASONS`).
    """
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not paths:
        raise VcfError("no VCF file given; expected one or more .vcf or .vcf.gz files")
    for path in paths:
        if not path.is_file():
            raise VcfError(f"{path}: {'a folder' if path.is_dir() else 'no such VCF file'}; expected a .vcf or "
                           ".vcf.gz file")
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    tally = SubstitutionTally(keep_rows=mutations)
    files = [_VcfFile(path, tally, skipped, sample=sample, all_filters=all_filters) for path in paths]
    with IndexedFasta(fasta) as reference:
        for file in files:
            file.run(reference)
    source = str(paths[0]) if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more VCF(s)"
    _log_summary(files, tally, skipped, source)
    return Conversion(counts=tally.counts(), skipped=skipped, rows=sum(f.rows for f in files),
                      mutations=tally.mutations())


def _log_summary(files: list[_VcfFile], tally: SubstitutionTally, skipped: dict[str, int], source: str) -> None:
    """Samples pooled across files or left without substitutions, the skips, the mismatch warning."""
    files_of: dict[str, list[str]] = {}
    for file in files:
        for name in file.sample_names:
            files_of.setdefault(name, []).append(file.path.name)
    for name, found_in in files_of.items():
        if len(found_in) > 1:
            log.info("sample %s is in %d files (%s): one sample, its substitutions pooled", name, len(found_in),
                     ", ".join(found_in[:3]) + (" ..." if len(found_in) > 3 else ""))
    counted = set(tally.samples)
    empty = [name for name in files_of if name not in counted]
    if empty:
        # e.g. the normal of a tumour/normal VCF read without --vcf-sample: 0/0 everywhere.
        log.info("%s: %d sample(s) with no single-base substitution counted, left out: %s", source, len(empty),
                 ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else ""))
    for reason, number in skipped.items():
        if number:
            log.info("%s: skipped %d ALT allele(s): %s", source, number, reason)
    warning = mismatch_warning(skipped["ref_mismatch"], sum(f.compared for f in files), source, "FASTA")
    if warning:
        log.warning("%s", warning)


def file_sample(path: str | os.PathLike) -> str:
    """The sample ID of a sites-only VCF: its file name less ``.gz``/``.bgz`` and ``.vcf``."""
    name = Path(path).name
    for suffix in (".gz", ".bgz", ".vcf"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def substitution(ref: str, alt: str, position: int) -> tuple[str | None, str, str, int]:
    """``(None, ref, alt, position)`` of the single-base substitution that ``ref>alt`` at ``position``
    is, once trimmed of the bases REF and ALT share at either end; else ``(reason, ...)``, the
    reason a :data:`SKIP_REASONS` entry.

    ``("ACG", "ATG", 100)`` -> ``(None, "C", "T", 101)``; ``("AC", "GT", 5)`` -> ``("mnv", ...)``.
    """
    if alt in (".", ""):
        return "no_alt", ref, alt, position
    if alt == "*" or alt[0] in "<." or alt[-1] == "." or "[" in alt or "]" in alt:
        return "symbolic", ref, alt, position
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, position = ref[1:], alt[1:], position + 1
    if len(ref) != len(alt):
        reason = "indel"
    elif ref == alt:
        reason = "no_alt"
    elif len(ref) > 1:
        reason = "mnv"
    elif ref not in BASES or alt not in BASES:
        reason = "unknown_base"
    else:
        reason = None
    return reason, ref, alt, position


def _genotype(value: str, where: str, name: str) -> frozenset[int]:
    """The allele numbers of a GT value (``0/1`` -> {0, 1}; ``./.`` -> {})."""
    alleles = set()
    for allele in value.replace("|", "/").split("/"):
        if allele in (".", ""):
            continue
        if not (allele.isascii() and allele.isdigit()):
            raise VcfError(f"{where}: GT {value[:40]!r} of sample {name!r} is not a genotype; expected allele "
                           "numbers separated by / or | (0/1, 1|1, ./.)")
        alleles.add(int(allele))
    return frozenset(alleles)


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a plain, gzip or bgzip file; damage is a VcfError naming it."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    number = 0
    try:
        with (gzip.open if compressed else open)(path, "rt", encoding="utf-8", newline="") as handle:
            for number, line in enumerate(handle, start=1):  # number: read in the except clause too
                yield number, line
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise VcfError(f"{path}: after line {number}: not readable as a VCF ({type(error).__name__}: {error}); "
                       "expected tab-separated UTF-8 text, plain or (b)gzip-compressed") from None


class _VcfFile:
    """One pass over one VCF, adding its substitutions to ``tally`` and its skips to ``skipped``."""

    def __init__(self, path: Path, tally: SubstitutionTally, skipped: dict[str, int], *, sample: str | None,
                 all_filters: bool):
        self.path, self.tally, self.skipped = path, tally, skipped
        self.reference: IndexedFasta | None = None
        self.sample, self.all_filters = sample, all_filters
        self.rows = 0  # data lines read
        self.compared = 0  # ALT alleles whose REF base was compared with the FASTA
        self.columns: list[tuple[int, str]] = []  # (field index, sample name) of the counted columns
        self.needs_genotype = False
        self.sample_names: list[str] = []
        self._genotypes: dict[str, frozenset[int]] = {}  # a GT value read before: a VCF holds few distinct ones

    def where(self, number: int) -> str:
        """What an error message starts with: the file and the line."""
        return f"{self.path}: line {number}"

    def run(self, reference: IndexedFasta) -> None:
        self.reference = reference
        with contextlib.closing(_numbered_lines(self.path)) as lines:
            n_fields = self._read_header(lines)
            for number, line in lines:
                text = line.rstrip("\r\n")
                if not text or text.isspace():
                    continue
                fields = text.split("\t")
                if len(fields) != n_fields:
                    raise VcfError(f"{self.where(number)}: {len(fields)} tab-separated fields, but the header "
                                   f"names {n_fields} columns; expected one field per column")
                self.rows += 1
                self._read_line(fields, number)

    def _read_header(self, lines: Iterator[tuple[int, str]]) -> int:
        """Read up to the ``#CHROM`` line; choose the sample columns; return the number of fields."""
        for number, line in lines:
            if line.startswith("##"):
                continue
            header = line.rstrip("\r\n").split("\t")
            where = self.where(number)
            if not line.startswith("#CHROM"):
                raise VcfError(f"{where}: expected the header line '{' '.join(HEADER)}' (tab-separated) before "
                               f"the data; found {line.strip()[:40]!r}")
            if tuple(header[:8]) != HEADER or (len(header) > 8 and header[8] != "FORMAT"):
                raise VcfError(f"{where}: header columns {' '.join(header[:9])!r}; expected "
                               f"'{' '.join(HEADER)}', then FORMAT and the sample columns, tab-separated")
            self._choose_samples(header[9:], where)
            return len(header)
        raise VcfError(f"{self.path}: no '#CHROM' header line; expected a VCF: '##' meta lines, the header line "
                       f"'{' '.join(HEADER)}', then one variant per line")

    def _choose_samples(self, names: list[str], where: str) -> None:
        """Which columns are counted, and how (module docstring)."""
        repeated = sorted(name for name, n in Counter(names).items() if n > 1)
        if repeated:
            raise VcfError(f"{where}: sample column(s) {', '.join(repeated[:5])} appear more than once; expected "
                           "unique sample names")
        if self.sample is not None and self.sample not in names:
            present = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else \
                "none (a sites-only VCF)"
            raise VcfError(f"{where}: sample {self.sample!r} (--vcf-sample) is not a column of the header; its "
                           f"sample columns: {present}")
        if self.sample is not None:
            self.columns = [(9 + names.index(self.sample), self.sample)]
        else:
            self.columns = [(9 + i, name) for i, name in enumerate(names)]
        # One chosen column: a line without GT is its call. Several: GT says whose a line is.
        self.needs_genotype = len(self.columns) > 1
        self.sample_names = [name for _, name in self.columns] or [file_sample(self.path)]

    def _carriers(self, fields: list[str], number: int) -> list[tuple[str, frozenset[int] | None]]:
        """``(sample, its allele numbers)`` per counted column; ``None``: no GT, every allele counts."""
        if not self.columns:
            return [(self.sample_names[0], None)]
        keys = fields[8].split(":")
        if "GT" not in keys:
            if self.needs_genotype:
                raise VcfError(f"{self.where(number)}: no GT in FORMAT {fields[8][:40]!r}; expected GT in a VCF "
                               "of several samples (or --vcf-sample to count one column)")
            return [(self.columns[0][1], None)]
        at = keys.index("GT")
        carriers = []
        for column, name in self.columns:
            values = fields[column].split(":")
            value = values[at] if at < len(values) else "."
            alleles = self._genotypes.get(value)
            if alleles is None:
                alleles = self._genotypes[value] = _genotype(value, self.where(number), name)
            carriers.append((name, alleles))
        return carriers

    def _read_line(self, fields: list[str], number: int) -> None:
        chrom, position = fields[0], fields[1]
        if not (position.isascii() and position.isdigit()):
            raise VcfError(f"{self.where(number)}: POS {position[:40]!r} is not a whole number; expected the "
                           "variant's 1-based position")
        alts = fields[4].upper().split(",")
        if not self.all_filters and fields[6] not in _KEPT_FILTERS:
            self.skipped["filtered"] += len(alts)
            return
        carriers = self._carriers(fields, number)
        ref_allele = fields[3].upper()
        for allele, alt_allele in enumerate(alts, start=1):
            reason, ref, alt, pos = substitution(ref_allele, alt_allele, int(position))
            samples = [name for name, alleles in carriers if alleles is None or allele in alleles]
            if reason is None and not samples:
                reason = "not_in_sample"
            if reason is None:
                channel, reason = place(self.reference.fetch(chrom, pos - 2, pos + 1), ref, alt)
                self.compared += reason in (None, "ref_mismatch")
            if reason is not None:
                self.skipped[reason] += 1
                continue
            for name in samples:
                if not self.tally.add(name, chrom, pos, ref, alt, channel):
                    self.skipped["duplicate"] += 1
