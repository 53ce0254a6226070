"""Our VCF and FASTA readers against pysam's (htslib), on the same 100,000 SNVs, in one run.

Issue 18 asks for a well-kept library for indexed FASTA and VCF access unless a measurement
says ours is better.  This script measures it: a synthetic genome (random bases, 60-base
lines, five chromosomes) and a single-sample bgzip VCF of ``--snvs`` substitutions (plus 5 %
indels and 5 % multi-allelic lines), then, median of ``--repeats``:

- the whole conversion: :func:`pssnmf.data.vcf.convert_vcf` against the same rules written
  on ``pysam.VariantFile`` and ``pysam.FastaFile`` (FILTER, GT, trimming, context, channel,
  the same :class:`~pssnmf.data.substitutions.SubstitutionTally`), checked to give equal counts;
- its two parts alone: reading every record's CHROM, POS, REF, ALT, FILTER and GT; fetching the
  three bases around every SNV.

It also checks what neither speed says: whether a stale ``.fai`` (the FASTA rewritten with another
line width, the old index kept) is noticed.  Prints a Markdown block for benchmarks/RESULTS.md.

pysam is not a dependency: install it beside the project to compare (``pip install pysam``, or
``pip install --target DIR pysam`` and ``PYTHONPATH=DIR``); without it only our times are printed.

Usage: python benchmarks/bench_vcf.py [--snvs 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _machine import cpu_model, median_time  # noqa: E402

from pssnmf.data.fasta import IndexedFasta, write_fai  # noqa: E402
from pssnmf.data.substitutions import SubstitutionTally, place  # noqa: E402
from pssnmf.data.vcf import _numbered_lines, convert_vcf, substitution  # noqa: E402

try:
    import pysam

    pysam.set_verbosity(0)  # htslib's "could not retrieve index file": the VCF is read whole, no index needed
except ImportError:  # pragma: no cover - the comparison is optional
    pysam = None

CHROMOSOMES = {"1": 3_000_000, "2": 2_500_000, "3": 2_000_000, "X": 1_500_000, "MT": 16_569}


def _write_fasta(path: Path, rng, width: int = 60) -> dict[str, np.ndarray]:
    genome = {}
    with open(path, "w") as handle:
        for name, length in CHROMOSOMES.items():
            bases = np.frombuffer(b"ACGT", dtype="S1")[rng.integers(0, 4, length)]
            genome[name] = bases
            text = bases.tobytes().decode()
            handle.write(f">{name} synthetic\n")
            handle.writelines(text[i:i + width] + "\n" for i in range(0, length, width))
    return genome


def _write_vcf(path: Path, genome: dict[str, np.ndarray], n_snvs: int, rng) -> None:
    """A single-sample VCF, sorted; UCSC names (chr1) against the FASTA's Ensembl ones (1)."""
    names = list(CHROMOSOMES)
    weights = np.array([CHROMOSOMES[n] for n in names], dtype=float)
    chrom_of = rng.choice(len(names), n_snvs, p=weights / weights.sum())
    lines = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">',
             '##FILTER=<ID=LowQual,Description="Low quality">',
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             *(f"##contig=<ID=chr{name},length={length}>" for name, length in CHROMOSOMES.items()),
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR"]
    for c in range(len(names)):
        name = names[c]
        positions = np.sort(rng.choice(np.arange(2, CHROMOSOMES[name] - 2), (chrom_of == c).sum(), replace=False))
        for position in positions:
            ref = genome[name][position - 1].decode()
            others = [b for b in "ACGT" if b != ref]
            kind = rng.random()
            if kind < 0.05:  # an indel
                ref_field, alt_field = ref + genome[name][position].decode(), ref
            elif kind < 0.10:  # multi-allelic
                ref_field, alt_field = ref, ",".join(others[:2])
            else:
                ref_field, alt_field = ref, others[rng.integers(0, 3)]
            filt = "LowQual" if rng.random() < 0.03 else "PASS"
            gt = "1/2" if "," in alt_field else "0/1"
            lines.append(f"chr{name}\t{position}\t.\t{ref_field}\t{alt_field}\t50\t{filt}\t.\tGT\t{gt}")
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    if pysam is not None:
        pysam.tabix_compress(str(plain), str(path), force=True)  # real bgzip blocks
    else:
        with open(plain, "rb") as source, gzip.open(path, "wb") as target:
            target.write(source.read())
    plain.unlink()


# ---------------------------------------------------------------------------- the library's route
def _pysam_convert(vcf: Path, fasta: Path) -> SubstitutionTally:
    """convert_vcf's rules (one sample column, PASS or '.', GT carries the allele) on pysam."""
    tally = SubstitutionTally()
    with pysam.VariantFile(str(vcf)) as variants, pysam.FastaFile(str(fasta)) as reference:
        names = {}  # the VCF's chromosome name -> the FASTA's (chr1 -> 1)
        sample = next(iter(variants.header.samples))
        for record in variants:
            if record.filter.keys() not in (["PASS"], []):
                continue
            chrom = record.chrom
            if chrom not in names:
                bare = chrom.removeprefix("chr")
                names[chrom] = next((n for n in (chrom, bare, "chr" + bare) if n in reference.references), None)
            alleles = set(record.samples[sample]["GT"])
            for number, alt in enumerate(record.alts or (), start=1):
                reason, ref, alt, pos = substitution(record.ref.upper(), alt.upper(), record.pos)
                if reason is not None or number not in alleles or names[chrom] is None:
                    continue
                bases = reference.fetch(names[chrom], pos - 2, pos + 1).upper() if pos >= 2 else None
                channel, reason = place(bases, ref, alt)
                if reason is None:
                    tally.add(sample, chrom, pos, ref, alt, channel)
    return tally


def _pysam_read(vcf: Path) -> int:
    n = 0
    with pysam.VariantFile(str(vcf)) as variants:
        sample = next(iter(variants.header.samples))
        for record in variants:
            n += len((record.chrom, record.pos, record.ref, record.alts, record.filter.keys(),
                      record.samples[sample]["GT"]))
    return n


def _our_read(vcf: Path) -> int:
    n = 0
    for _, line in _numbered_lines(vcf):
        if line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        n += len((fields[0], int(fields[1]), fields[3], fields[4].split(","), fields[6],
                  fields[9].split(":")[0]))
    return n


def _sites() -> list[tuple[str, int]]:
    rng = np.random.default_rng(3)
    names = list(CHROMOSOMES)
    return [(names[c], int(rng.integers(2, CHROMOSOMES[names[c]] - 1))) for c in rng.integers(0, len(names), 100_000)]


def _our_fetch(fasta: Path, sites) -> int:
    with IndexedFasta(fasta) as reference:
        return sum(len(reference.fetch(chrom, pos - 2, pos + 1)) for chrom, pos in sites)


def _pysam_fetch(fasta: Path, sites) -> int:
    with pysam.FastaFile(str(fasta)) as reference:
        return sum(len(reference.fetch(chrom, pos - 2, pos + 1).upper()) for chrom, pos in sites)


def _stale_index_noticed(folder: Path) -> dict[str, str]:
    """Rewrite a FASTA with another line width, keep the old (newer) .fai: what each reader fetches."""
    sequence = "ACGTTGCA" * 40
    fasta = folder / "stale.fa"
    fasta.write_text(">1\n" + "".join(sequence[i:i + 60] + "\n" for i in range(0, len(sequence), 60)))
    write_fai(fasta)
    fasta.write_text(">1\n" + "".join(sequence[i:i + 50] + "\n" for i in range(0, len(sequence), 50)))
    fai = Path(str(fasta) + ".fai")
    os.utime(fai, (fasta.stat().st_mtime + 10,) * 2)
    truth = sequence[200:210]
    with IndexedFasta(fasta) as reference:
        ours = reference.fetch("1", 200, 210)
    out = {"truth": truth, "ours": ours}
    if pysam is not None:
        with pysam.FastaFile(str(fasta)) as reference:
            out["pysam"] = reference.fetch("1", 200, 210)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snvs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="bench_vcf.") as tmp:
        folder = Path(tmp)
        fasta, vcf = folder / "genome.fa", folder / "tumour.vcf.gz"
        genome = _write_fasta(fasta, rng)
        _write_vcf(vcf, genome, args.snvs, rng)
        write_fai(fasta)
        if pysam is not None:
            pysam.faidx(str(fasta))  # htslib's own index (the same five fields)
        ours = convert_vcf(vcf, fasta)
        sites = _sites()
        rows = {"whole conversion (VCF lines -> SBS96 counts)":
                (lambda: convert_vcf(vcf, fasta), lambda: _pysam_convert(vcf, fasta)),
                "reading every record (CHROM, POS, REF, ALT, FILTER, GT)":
                (lambda: _our_read(vcf), lambda: _pysam_read(vcf)),
                "fetching 3 bases at 100,000 sites": (lambda: _our_fetch(fasta, sites),
                                                      lambda: _pysam_fetch(fasta, sites))}
        if pysam is not None:
            theirs = _pysam_convert(vcf, fasta).counts()
            assert theirs.to_numpy().tolist() == ours.counts.to_numpy().tolist(), "the two routes disagree"
        times = {name: (median_time(a, args.repeats), median_time(b, args.repeats) if pysam else None)
                 for name, (a, b) in rows.items()}
        stale = _stale_index_noticed(folder)
    n_lines = ours.rows
    print(f"### {n_lines:,} VCF lines ({int(ours.counts.to_numpy().sum()):,} SNVs counted), bgzip, "
          f"{sum(CHROMOSOMES.values()) / 1e6:.1f} Mb synthetic genome")
    print()
    print(f"Machine: {cpu_model()}; {platform.python_implementation()} {platform.python_version()}, "
          f"pysam {pysam.__version__ if pysam else 'not installed'}; {datetime.date.today().isoformat()}; "
          f"load average {os.getloadavg()[0]:.1f}. Median of {args.repeats} runs.")
    print()
    print("| step | ours (s) | pysam (s) | ours / pysam |")
    print("|---|---|---|---|")
    for name, (t_ours, t_pysam) in times.items():
        ratio = f"{t_ours / t_pysam:.2f}" if t_pysam else "-"
        print(f"| {name} | {t_ours:.3f} | {t_pysam:.3f} | {ratio} |" if t_pysam else
              f"| {name} | {t_ours:.3f} | - | - |")
    print()
    print(f"Stale .fai (FASTA rewritten at another line width, old index kept): the true bases "
          f"{stale['truth']!r}; ours fetched {stale['ours']!r}"
          + (f"; pysam fetched {stale['pysam']!r}" if "pysam" in stale else "") + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
