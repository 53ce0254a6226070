"""Indexed access to a plain-text FASTA file through a samtools-style ``.fai`` index.

The MAF → SBS96 conversion needs three bases around each substitution; reading the
3 GB GRCh37 genome into memory for that is wasteful, so :class:`IndexedFasta` seeks
to the bases it needs.  The ``.fai`` format is samtools' (``name, length, offset,
line_bases, line_width``), so an index written by ``samtools faidx`` works too, and
:func:`write_fai` writes one without samtools.  gzip-compressed FASTA cannot be
seeked into: the workflow decompresses the downloaded genome once (rule
``unpack_reference``).  ``pyfaidx`` or pysam would do the same job; 80 lines here save a
dependency, and ``benchmarks/bench_vcf.py`` measures them against pysam's (htslib): as fast or
faster on 100,000 three-base fetches, and htslib uses a stale index without a word.

An index that no longer fits its FASTA (the FASTA rewritten with another line width, or
edited after the index was made) would fetch the wrong bases without a word, so it is
checked against the file before use (:func:`stale_index`); a stale index is not used and
not overwritten: the FASTA is indexed again in memory, with a warning that says how to
refresh the file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pssnmf.data.atomic import atomic_path

log = logging.getLogger(__name__)


class FastaError(ValueError):
    """A FASTA file or index that cannot be used."""


@dataclass(frozen=True)
class FaiEntry:
    length: int
    offset: int
    line_bases: int
    line_width: int


def write_fai(fasta: str | os.PathLike, fai: str | os.PathLike | None = None) -> Path:
    """Scan ``fasta`` once (line by line) and write its ``.fai`` index; return the index path."""
    fasta = Path(fasta)
    fai = Path(fai) if fai is not None else Path(str(fasta) + ".fai")
    rows = _index_rows(fasta)
    with atomic_path(fai) as tmp:
        tmp.write_text("\n".join(rows) + "\n")
    return fai


def _index_rows(fasta: Path) -> list[str]:
    """The ``.fai`` lines of ``fasta`` (samtools' five fields), from one scan of the file."""
    rows: list[str] = []
    name = None
    length = offset = line_bases = line_width = 0
    short_line_seen = False
    with open(fasta, "rb") as handle:
        position = 0
        for number, line in enumerate(handle, start=1):
            if line.startswith(b">"):
                if name is not None:
                    rows.append(f"{name}\t{length}\t{offset}\t{line_bases}\t{line_width}")
                name = line[1:].split()[0].decode() if line[1:].split() else ""
                if not name:
                    raise FastaError(f"{fasta}: line {number}: sequence header without a name")
                length = line_bases = line_width = 0
                offset = position + len(line)
                short_line_seen = False
            elif name is None:
                if line.strip():
                    raise FastaError(f"{fasta}: line {number}: sequence before the first '>' header")
            else:
                bases = len(line.rstrip(b"\r\n"))
                if bases == 0:
                    short_line_seen = True
                elif line_bases == 0:
                    line_bases, line_width = bases, len(line)
                elif short_line_seen or bases > line_bases:
                    raise FastaError(
                        f"{fasta}: line {number}: lines of sequence {name!r} have unequal lengths; "
                        "expected every line but the last to hold the same number of bases"
                    )
                elif bases < line_bases:
                    short_line_seen = True
                length += bases
            position += len(line)
    if name is not None:
        rows.append(f"{name}\t{length}\t{offset}\t{line_bases}\t{line_width}")
    if not rows:
        raise FastaError(f"{fasta}: no sequences; expected a FASTA file ('>name' lines, then bases)")
    return rows


def _parse_fai(lines: list[str], fai: Path) -> dict[str, FaiEntry]:
    index: dict[str, FaiEntry] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        try:
            entry = FaiEntry(*(int(f) for f in fields[1:5]))
        except (TypeError, ValueError):
            raise FastaError(f"{fai}: line {number}: expected 5 tab-separated fields, the last four whole "
                             "numbers (samtools .fai)") from None
        index[fields[0]] = entry
    return index


def stale_index(fasta: str | os.PathLike, fai: str | os.PathLike, index: dict[str, FaiEntry]) -> str | None:
    """Why ``index`` (read from ``fai``) does not describe ``fasta``, or ``None`` when it does.

    Checks, without reading the sequences: the FASTA is not newer than the index; each
    sequence starts right after its own ``>name`` line, its lines end where the index says,
    and it ends where the next header (or the end of the file) begins.
    """
    fasta, fai = Path(fasta), Path(fai)
    size = fasta.stat().st_size
    if fasta.stat().st_mtime > fai.stat().st_mtime:
        return "the FASTA was changed after the index was written"
    ends = []
    with open(fasta, "rb") as handle:
        def read(at: int, n: int) -> bytes:
            handle.seek(max(at, 0))
            return handle.read(n)

        for name, entry in index.items():
            newline = entry.line_width - entry.line_bases
            if entry.offset < 2 or entry.length < 0 or (
                    entry.length and (entry.line_bases <= 0 or newline not in (1, 2))):
                return f"sequence {name!r}: impossible entry {entry}"
            before = read(entry.offset - 4096, min(entry.offset, 4096))
            header = before[before.rfind(b"\n", 0, len(before) - 1) + 1:]
            if header[:1] != b">" or not header.endswith(b"\n") or header[1:].split()[:1] != [name.encode()]:
                return f"sequence {name!r} does not start at byte {entry.offset}"
            if entry.length == 0:
                last_base_end = entry.offset
            else:
                full, rest = divmod(entry.length, entry.line_bases)
                line_end = read(entry.offset + entry.line_bases, 1)
                if entry.length > entry.line_bases and line_end not in (b"\n", b"\r"):
                    return f"sequence {name!r}: its lines are not {entry.line_bases} bases long"
                last_base_end = entry.offset + full * entry.line_width + (rest if rest else -newline)
            tail = read(last_base_end, 64)
            following = tail.lstrip(b"\r\n")
            mid_line = entry.length > 0 and tail == following and tail  # no line end after the last base
            if last_base_end > size or following[:1] not in (b"", b">") or mid_line:
                return f"sequence {name!r} does not end where the index says (byte {last_base_end} of {size})"
            ends.append(last_base_end + len(tail) - len(following))
    if not ends or max(ends) != size:
        return f"the index covers {max(ends, default=0)} of the file's {size} bytes"
    return None


class IndexedFasta:
    """Random access to a FASTA file; sequences are never loaded whole.

    Chromosome names are matched as given, then with ``chr`` added or removed and
    ``M``/``MT`` swapped, because Ensembl (``1``, ``MT``) and UCSC (``chr1``,
    ``chrM``) spell them differently and MAFs follow either.
    """

    def __init__(self, fasta: str | os.PathLike, fai: str | os.PathLike | None = None):
        self.path = Path(fasta)
        fai = Path(fai) if fai is not None else Path(str(self.path) + ".fai")
        if not self.path.is_file():
            raise FastaError(f"{self.path}: no such FASTA file")
        if not fai.is_file():
            write_fai(self.path, fai)
        self.index = _parse_fai(fai.read_text().splitlines(), fai)
        problem = stale_index(self.path, fai, self.index)
        if problem:
            log.warning("%s does not fit %s (%s): not used; the FASTA is indexed again in memory. Delete the "
                        "stale index to have a fresh one written (or run samtools faidx)", fai, self.path, problem)
            self.index = _parse_fai(_index_rows(self.path), self.path)
        self._names: dict[str, str | None] = {}  # resolve()'s answers: a caller asks about a few names, often
        self._handle = open(self.path, "rb")  # noqa: SIM115 - closed in close()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> IndexedFasta:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, chrom: str) -> str | None:
        """The index's name for ``chrom``, or ``None`` when the FASTA lacks it."""
        chrom = str(chrom)
        if chrom in self._names:
            return self._names[chrom]
        self._names[chrom] = self._find(chrom)
        return self._names[chrom]

    def _find(self, chrom: str) -> str | None:
        bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
        candidates = [chrom, bare, "chr" + bare]
        if bare in ("M", "MT"):
            candidates += ["MT", "chrM", "M", "chrMT"]
        for name in candidates:
            if name in self.index:
                return name
        return None

    def fetch(self, chrom: str, start: int, end: int) -> str | None:
        """Bases ``[start, end)`` (0-based, half-open) of ``chrom`` in upper case.

        Returns ``None`` when the chromosome is absent or the range falls outside it.
        """
        name = self.resolve(chrom)
        if name is None:
            return None
        entry = self.index[name]
        if start < 0 or end > entry.length or start >= end:
            return None
        first = entry.offset + (start // entry.line_bases) * entry.line_width + start % entry.line_bases
        last = entry.offset + ((end - 1) // entry.line_bases) * entry.line_width + (end - 1) % entry.line_bases
        self._handle.seek(first)
        chunk = self._handle.read(last - first + 1)
        return chunk.replace(b"\n", b"").replace(b"\r", b"").decode("ascii").upper()
