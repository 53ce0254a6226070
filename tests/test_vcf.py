"""pssnmf.data.vcf and ``pssnmf predict --vcf`` / ``--per-mutation`` on small fixtures written here.

The SBS96 counts are derived by hand in the comments beside each variant: the plus-strand
context is read off ``SEQUENCES``, and a purine reference (G or A) is read from the other
strand: complement every base and swap 5' and 3' (``A G C``, G>T, becomes ``G[C>A]T``).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli_predict import run_many, run_predict
from test_predict import model_file, rewrite_model  # noqa: F401 - shared fixtures

from pssnmf.channels import CHANNEL_INDEX, SBS96
from pssnmf.data.maf import convert_maf
from pssnmf.data.vcf import VcfError, convert_vcf, file_sample, substitution
from pssnmf.predict import predict_maf, predict_vcf, read_model

# 1-based positions, lines of 10 in the FASTA:
#   1: A1 C2 G3 T4 A5 C6 G7 T8 A9 C10 | G11 G12 A13 T14 C15 C16 N17 N18 A19 T20
#      | T21 T22 G23 C24 A25 T26 G27 C28 A29 A30
#   2: C1 C2 C3 C4 C5 A6 A7 A8 A9 A10 | G11 T12 C13 A14 G15 C16 T17 A18 G19 T20
SEQUENCES = {"1": "ACGTACGTAC" "GGATCCNNAT" "TTGCATGCAA", "2": "CCCCCAAAAA" "GTCAGCTAGT"}

# (chrom, pos, REF, ALT, FILTER, GT of NORMAL, GT of TUMOR), and the hand-derived outcome for TUMOR.
VARIANTS = [
    ("1", 2, "C", "T", "PASS", "0/0", "0/1"),  # A C G -> A[C>T]G
    ("1", 3, "G", "T", "PASS", "0/0", "0/1"),  # C G T, purine: A[C>A]G (comp T=A 5', C>A, comp C=G 3')
    ("1", 10, "C", "A", "PASS", "0/0", "0/1"),  # A C | G across the line break -> A[C>A]G
    ("1", 15, "C", "A,T", "PASS", "0/0", "1/2"),  # T C C, both ALTs carried -> T[C>A]C and T[C>T]C
    ("1", 13, "A", "G", "PASS", "0/0", "0|1"),  # G A T, purine: A[T>C]C
    ("1", 5, "AC", "A", "PASS", "0/0", "0/1"),  # deletion -> indel
    ("1", 7, "GT", "CA", "PASS", "0/0", "0/1"),  # two bases changed -> mnv
    ("1", 20, "T", "<DEL>", "PASS", "0/0", "0/1"),  # symbolic
    ("1", 22, "TGC", "TAC", "PASS", "0/0", "0/1"),  # padded: G>A at 23, T G C, purine: G[C>T]A
    ("1", 24, "C", "G", "LowQual", "0/0", "0/1"),  # filtered; with all filters: G C A -> G[C>G]A
    ("1", 26, "T", "A", ".", "0/0", "0/1"),  # FILTER '.' counts: A T G -> A[T>A]G
    ("1", 28, "A", "G", "PASS", "0/0", "0/1"),  # the genome has C -> ref_mismatch
    ("1", 16, "C", "T", "PASS", "0/0", "0/1"),  # C C N: an N neighbour -> unknown_base
    ("1", 1, "A", "C", "PASS", "0/0", "0/1"),  # the first base has no 5' neighbour -> no_context
    ("2", 12, "TCA", "T,TGA", "PASS", "0/0", "0/2"),  # ALT 1 a deletion (indel); ALT 2 C>G at 13: T[C>G]A
    ("2", 15, "G", "T", "PASS", "0/0", "0/1"),  # A G C, G>T, purine: G[C>A]T
    ("2", 18, "A", "C", "PASS", "0/1", "0/0"),  # the normal's: T A G, purine: C[T>G]A (comp G=C 5', comp T=A 3')
    ("3", 5, "C", "T", "PASS", "0/0", "0/1"),  # chromosome 3 not in the FASTA -> no_context
    ("1", 2, "C", "T", "PASS", "0/0", "0/1"),  # the first line again -> duplicate
]
TUMOR = {"A[C>T]G": 1, "A[C>A]G": 2, "T[C>A]C": 1, "T[C>T]C": 1, "A[T>C]C": 1, "G[C>T]A": 1, "A[T>A]G": 1,
         "T[C>G]A": 1, "G[C>A]T": 1}
NORMAL = {"C[T>G]A": 1}
TUMOR_SKIPPED = {"indel": 2, "mnv": 1, "symbolic": 1, "filtered": 1, "ref_mismatch": 1, "unknown_base": 1,
                 "no_context": 2, "not_in_sample": 1, "duplicate": 1}
META = "##fileformat=VCFv4.2\n##source=test\n"
HEADER = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


def _fasta(path: Path, prefix: str = "", width: int = 10) -> Path:
    path.write_text("".join(f">{prefix}{name} test\n" + "".join(s[i:i + width] + "\n" for i in range(0, len(s), width))
                            for name, s in SEQUENCES.items()))
    return path


def _vcf_text(variants=VARIANTS, prefix: str = "chr", samples=("NORMAL", "TUMOR")) -> str:
    lines = [META + HEADER + ("\tFORMAT\t" + "\t".join(samples) if samples else "")]
    for chrom, pos, ref, alt, filt, *gts in variants:
        fields = [f"{prefix}{chrom}", str(pos), ".", ref, alt, "50", filt, "."]
        if samples:
            fields += ["GT:DP", *(f"{gt}:30" for gt in gts[: len(samples)])]
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def _vcf(path: Path, **options) -> Path:
    path.write_text(_vcf_text(**options))
    return path


def _nonzero(counts: pd.DataFrame, sample: str) -> dict[str, int]:
    row = counts.loc[sample]
    return {channel: int(n) for channel, n in row[row > 0].items()}


def _skipped(conversion) -> dict[str, int]:
    return {reason: n for reason, n in conversion.skipped.items() if n}


@pytest.fixture
def fasta(tmp_path):
    return _fasta(tmp_path / "ref.fa")


# ---------------------------------------------------------------------------- hand-checked counts
def test_tumour_column_of_a_tumour_normal_vcf(tmp_path, fasta):
    result = convert_vcf(_vcf(tmp_path / "t.vcf"), fasta, sample="TUMOR")
    assert result.rows == len(VARIANTS)
    assert result.counts.index.tolist() == ["TUMOR"] and list(result.counts.columns) == list(SBS96)
    assert _nonzero(result.counts, "TUMOR") == TUMOR
    assert _skipped(result) == TUMOR_SKIPPED


def test_every_sample_column_counts_the_alleles_its_gt_carries(tmp_path, fasta):
    """Without --vcf-sample: NORMAL has only its own 0/1 (the line TUMOR has 0/0); nothing is
    not_in_sample, since NORMAL carries the one allele TUMOR lacks."""
    result = convert_vcf(_vcf(tmp_path / "t.vcf"), fasta)
    assert result.counts.index.tolist() == ["TUMOR", "NORMAL"]  # the order first met
    assert _nonzero(result.counts, "TUMOR") == TUMOR and _nonzero(result.counts, "NORMAL") == NORMAL
    assert _skipped(result) == {reason: n for reason, n in TUMOR_SKIPPED.items() if reason != "not_in_sample"}


def test_all_filters_keeps_the_filtered_line(tmp_path, fasta):
    result = convert_vcf(_vcf(tmp_path / "t.vcf"), fasta, sample="TUMOR", all_filters=True)
    assert _nonzero(result.counts, "TUMOR") == {**TUMOR, "G[C>G]A": 1}
    assert "filtered" not in _skipped(result)


def test_single_sample_and_sites_only_vcfs(tmp_path, fasta):
    """One sample column: that column, named by its header. No sample columns: one sample named
    by the file, every line counted (the normal's variant too)."""
    single = convert_vcf(_vcf(tmp_path / "one.vcf", samples=("PD1234a",),
                              variants=[(*v[:5], v[6]) for v in VARIANTS]), fasta)
    assert single.counts.index.tolist() == ["PD1234a"]
    assert _nonzero(single.counts, "PD1234a") == TUMOR
    sites = convert_vcf(_vcf(tmp_path / "PD1234a.sites.vcf", samples=()), fasta)
    assert sites.counts.index.tolist() == ["PD1234a.sites"]
    assert _nonzero(sites.counts, "PD1234a.sites") == {**TUMOR, **NORMAL}
    assert file_sample("x/T1.vcf.gz") == "T1" and file_sample("T2.vcf") == "T2" and file_sample("T3.bgz") == "T3"


def test_a_line_without_gt_counts_for_the_chosen_column_only(tmp_path, fasta):
    """Strelka2 writes no GT: with one counted column the line is the call; with several it is an error."""
    text = META + HEADER + "\tFORMAT\tNORMAL\tTUMOR\nchr1\t2\t.\tC\tT\t.\tPASS\t.\tDP:AU\t30:0,0\t30:5,5\n"
    path = tmp_path / "strelka.vcf"
    path.write_text(text)
    assert _nonzero(convert_vcf(path, fasta, sample="TUMOR").counts, "TUMOR") == {"A[C>T]G": 1}
    with pytest.raises(VcfError, match=r"strelka\.vcf: line 4: no GT in FORMAT 'DP:AU'.*--vcf-sample"):
        convert_vcf(path, fasta)


@pytest.mark.parametrize(("vcf_prefix", "fasta_prefix"), [("chr", ""), ("", "chr"), ("chr", "chr")],
                         ids=["vcf_chr1_fasta_1", "vcf_1_fasta_chr1", "both_chr1"])
def test_chromosome_names_match_with_or_without_chr(tmp_path, vcf_prefix, fasta_prefix):
    fasta = _fasta(tmp_path / "ref.fa", prefix=fasta_prefix)
    result = convert_vcf(_vcf(tmp_path / "t.vcf", prefix=vcf_prefix), fasta, sample="TUMOR")
    assert _nonzero(result.counts, "TUMOR") == TUMOR and _skipped(result) == TUMOR_SKIPPED


BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _bgzip(data: bytes, block: int = 200) -> bytes:
    """BGZF as bgzip writes it: gzip members of at most ``block`` input bytes, each with the
    'BC' extra field holding its size, then the empty end-of-file block."""
    out = bytearray()
    for start in range(0, len(data), block):
        chunk = data[start:start + block]
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate: the member's header is ours
        deflated = compressor.compress(chunk) + compressor.flush()
        size = 18 + len(deflated) + 8  # header with the extra field, data, CRC32 and input size
        out += struct.pack("<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, size - 1)
        out += deflated + struct.pack("<II", zlib.crc32(chunk), len(chunk))
    return bytes(out) + BGZF_EOF


@pytest.mark.parametrize("compression", ["bgzip", "gzip"])
def test_compressed_vcfs(tmp_path, fasta, compression):
    data = _vcf_text().encode()
    packed = _bgzip(data) if compression == "bgzip" else gzip.compress(data)
    assert packed.count(b"\x1f\x8b\x08") > (5 if compression == "bgzip" else 0)  # bgzip: many blocks
    path = tmp_path / "t.vcf.gz"
    path.write_bytes(packed)
    result = convert_vcf(path, fasta, sample="TUMOR")
    assert _nonzero(result.counts, "TUMOR") == TUMOR and _skipped(result) == TUMOR_SKIPPED


def test_a_sample_in_several_files_is_pooled(tmp_path, fasta):
    """A tumour split into two files (lines 1-10, 11-end): one sample, the same counts; a line in
    both files counts once."""
    first = _vcf(tmp_path / "a.vcf", variants=VARIANTS[:10])
    second = _vcf(tmp_path / "b.vcf", variants=VARIANTS[9:])  # the filtered line in both
    result = convert_vcf([first, second], fasta, sample="TUMOR", all_filters=True)
    assert result.rows == len(VARIANTS) + 1
    assert _nonzero(result.counts, "TUMOR") == {**TUMOR, "G[C>G]A": 1}
    assert result.skipped["duplicate"] == 2  # the last line, and the filtered line's second copy


def test_allele_trimming_and_kinds():
    assert substitution("ACG", "ATG", 100) == (None, "C", "T", 101)
    assert substitution("C", "T", 7) == (None, "C", "T", 7)
    assert substitution("AC", "GT", 5)[0] == "mnv"
    assert substitution("AC", "A", 5)[0] == "indel" and substitution("A", "AT", 5)[0] == "indel"
    for symbolic in ("<DEL>", "*", "G]17:198982]", "]13:123456]T", ".A", "A."):
        assert substitution("A", symbolic, 5)[0] == "symbolic", symbolic
    assert substitution("A", ".", 5)[0] == "no_alt" and substitution("AC", "AC", 5)[0] == "no_alt"
    assert substitution("N", "A", 5)[0] == "unknown_base"


def test_many_reference_mismatches_are_a_warning(tmp_path, fasta, caplog):
    """Another build: three of four REF bases disagree with the FASTA."""
    variants = [("1", 2, "C", "T", "PASS", "0/0", "0/1"), ("1", 3, "A", "T", "PASS", "0/0", "0/1"),
                ("1", 4, "G", "A", "PASS", "0/0", "0/1"), ("1", 6, "T", "A", "PASS", "0/0", "0/1")]
    with caplog.at_level("INFO"):
        result = convert_vcf(_vcf(tmp_path / "t.vcf", variants=variants), fasta, sample="TUMOR")
    assert result.skipped["ref_mismatch"] == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "3 of 4 substitutions (75 %) have a reference allele that disagrees with the " \
        "FASTA" in warnings[0]


def test_a_stale_fasta_index_is_detected(tmp_path, caplog):
    """The FASTA rewritten at another line width, its old index kept and newer: refused with a
    warning, the counts right."""
    fasta = _fasta(tmp_path / "ref.fa", width=10)
    vcf = _vcf(tmp_path / "t.vcf")
    fresh = convert_vcf(vcf, fasta, sample="TUMOR")
    fai = Path(str(fasta) + ".fai")
    assert fai.is_file()
    _fasta(fasta, width=7)
    os.utime(fai, (fasta.stat().st_mtime + 10,) * 2)
    with caplog.at_level("WARNING"):
        stale = convert_vcf(vcf, fasta, sample="TUMOR")
    assert f"{fai} does not fit {fasta}" in caplog.text
    assert stale.counts.equals(fresh.counts) and stale.skipped == fresh.skipped


# ---------------------------------------------------------------------------- VCF and MAF agree
MAF_HEADER = ("Hugo_Symbol\tChromosome\tStart_Position\tVariant_Type\tReference_Allele\tTumor_Seq_Allele1\t"
              "Tumor_Seq_Allele2\tTumor_Sample_Barcode")
# The TUMOR's PASS (or '.') variants of VARIANTS as a MAF writes them: one row per ALT, trimmed
# alleles, '-' for a deleted base, in the VCF's order.
MAF_ROWS = [
    ("chr1", 2, "SNP", "C", "T"), ("chr1", 3, "SNP", "G", "T"), ("chr1", 10, "SNP", "C", "A"),
    ("chr1", 15, "SNP", "C", "A"), ("chr1", 15, "SNP", "C", "T"), ("chr1", 13, "SNP", "A", "G"),
    ("chr1", 6, "DEL", "C", "-"), ("chr1", 7, "DNP", "GT", "CA"), ("chr1", 23, "SNP", "G", "A"),
    ("chr1", 26, "SNP", "T", "A"), ("chr1", 28, "SNP", "A", "G"), ("chr1", 16, "SNP", "C", "T"),
    ("chr1", 1, "SNP", "A", "C"), ("chr2", 13, "DEL", "CA", "-"), ("chr2", 13, "SNP", "C", "G"),
    ("chr2", 15, "SNP", "G", "T"), ("chr3", 5, "SNP", "C", "T"), ("chr1", 2, "SNP", "C", "T"),
]


def _maf(path: Path) -> Path:
    lines = ["#version 2.4", MAF_HEADER]
    lines += [f"GENE\t{c}\t{p}\t{t}\t{r}\t{r}\t{a}\tTUMOR" for c, p, t, r, a in MAF_ROWS]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_vcf_and_maf_give_the_same_catalog_and_mutations(tmp_path, fasta):
    vcf = convert_vcf(_vcf(tmp_path / "t.vcf"), fasta, sample="TUMOR", mutations=True)
    maf = convert_maf(_maf(tmp_path / "t.maf"), fasta, mutations=True)
    assert vcf.counts.equals(maf.counts)
    assert _nonzero(maf.counts, "TUMOR") == TUMOR
    assert vcf.mutations.equals(maf.mutations)
    assert vcf.mutations.iloc[6].tolist() == ["TUMOR", "chr1", 23, "G", "A", "G[C>T]A"]  # the padded line
    assert len(vcf.mutations) == sum(TUMOR.values())


def test_mutations_are_kept_only_when_asked(tmp_path, fasta):
    assert convert_vcf(_vcf(tmp_path / "t.vcf"), fasta).mutations is None
    assert convert_maf(_maf(tmp_path / "t.maf"), fasta).mutations is None


# ---------------------------------------------------------------------------- bad input
def _edit_line(number: int, change):
    def edit(text: str) -> str:
        lines = text.split("\n")
        lines[number - 1] = change(lines[number - 1])
        return "\n".join(lines)
    return edit


def _set_field(index: int, value: str):
    def change(line: str) -> str:
        fields = line.split("\t")
        fields[index] = value
        return "\t".join(fields)
    return change


# Lines of the fixture: 1-2 '##' meta, 3 the header, 4 on the variants.
BAD_VCFS = {
    "no_header_line": (lambda t: t.replace(HEADER + "\tFORMAT\tNORMAL\tTUMOR\n", ""), {},
                       r"line 3: expected the header line '#CHROM POS ID REF ALT QUAL FILTER INFO'"),
    "empty_file": (lambda t: "", {}, r"no '#CHROM' header line"),
    "meta_lines_only": (lambda t: META, {}, r"no '#CHROM' header line"),
    "header_misspelt": (lambda t: t.replace("\tQUAL\t", "\tQUALITY\t"), {}, r"line 3: header columns"),
    "too_few_fields": (_edit_line(6, lambda line: line.rsplit("\t", 1)[0]), {},
                       r"line 6: 10 tab-separated fields, but the header names 11 columns"),
    "too_many_fields": (_edit_line(7, lambda line: line + "\textra"), {}, r"line 7: 12 tab-separated fields"),
    "position_not_a_number": (_edit_line(5, _set_field(1, "3x")), {}, r"line 5: POS '3x' is not a whole number"),
    "position_empty": (_edit_line(4, _set_field(1, "")), {}, r"line 4: POS '' is not a whole number"),
    "genotype_not_a_genotype": (_edit_line(8, _set_field(10, "A/B:30")), {"sample": "TUMOR"},
                                r"line 8: GT 'A/B' of sample 'TUMOR' is not a genotype"),
    "unknown_sample": (lambda t: t, {"sample": "TUMOUR"},
                       (r"line 3: sample 'TUMOUR' \(--vcf-sample\) is not a column of the header; its sample "
                        r"columns: NORMAL, TUMOR")),
    "repeated_sample_column": (lambda t: t.replace("\tNORMAL\tTUMOR", "\tTUMOR\tTUMOR"), {},
                               r"line 3: sample column\(s\) TUMOR appear more than once"),
    "binary": (lambda t: "\udcff", {}, r"not readable as a VCF"),
}


@pytest.mark.parametrize("case", list(BAD_VCFS))
def test_bad_vcfs_are_named_by_file_and_line(tmp_path, fasta, case):
    spoil, options, message = BAD_VCFS[case]
    path = tmp_path / "bad.vcf"
    path.write_bytes(spoil(_vcf_text()).encode("utf-8", "surrogateescape"))
    with pytest.raises(VcfError, match=r"bad\.vcf: .*" + message if "line" in message else message):
        convert_vcf(path, fasta, **options)


def test_a_truncated_gzip_is_named(tmp_path, fasta):
    path = tmp_path / "cut.vcf.gz"
    path.write_bytes(gzip.compress(_vcf_text().encode())[:-20])
    with pytest.raises(VcfError, match=r"cut\.vcf\.gz: after line \d+: not readable as a VCF"):
        convert_vcf(path, fasta)


def test_missing_files_are_named(tmp_path, fasta):
    with pytest.raises(VcfError, match=r"nowhere\.vcf: no such VCF file"):
        convert_vcf(tmp_path / "nowhere.vcf", fasta)
    with pytest.raises(ValueError, match=r"nowhere\.fa: no such FASTA file"):
        convert_vcf(_vcf(tmp_path / "t.vcf"), tmp_path / "nowhere.fa")


# ---------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def command_runs(model_file, tmp_path_factory):  # noqa: F811
    """``pssnmf predict`` on the fixture's VCF and MAF (with --per-mutation), and on bad input,
    run side by side: case -> (result, out folder)."""
    root = tmp_path_factory.mktemp("vcf_command")
    fasta = _fasta(root / "ref.fa", prefix="")  # the VCF says chr1, the FASTA 1
    vcf, maf = _vcf(root / "t.vcf"), _maf(root / "t.maf")
    (root / "bad").mkdir()
    spoilt = {case: root / "bad" / f"{case}.vcf" for case in ("no_header_line", "too_few_fields",
                                                              "position_not_a_number")}
    for case, path in spoilt.items():
        path.write_text(BAD_VCFS[case][0](_vcf_text()))
    common = ["--model", model_file, "--min-mutations", 1, "--resamples", 20]
    jobs = {
        "vcf": [*common, "--vcf", vcf, "--fasta", fasta, "--vcf-sample", "TUMOR", "--per-mutation"],
        "maf": [*common, "--maf", maf, "--fasta", fasta, "--per-mutation"],
        **{case: [*common, "--vcf", path, "--fasta", fasta] for case, path in spoilt.items()},
        "unknown_sample": [*common, "--vcf", vcf, "--fasta", fasta, "--vcf-sample", "TUMOUR"],
        "vcf_without_fasta": [*common, "--vcf", vcf],
        "vcf_sample_without_vcf": [*common, "--maf", maf, "--fasta", fasta, "--vcf-sample", "TUMOR"],
        "all_filters_without_vcf": [*common, "--maf", maf, "--fasta", fasta, "--all-filters"],
        "per_mutation_with_a_catalog": [*common, "--catalog", root / "c.tsv", "--per-mutation"],
    }
    outs = {case: root / f"out-{case}" for case in jobs}
    results = run_many({case: [*args, "--out", outs[case]] for case, args in jobs.items()})
    return {case: (result, outs[case]) for case, result in results.items()}, vcf, maf


def test_command_on_a_vcf_gives_what_the_maf_gives(command_runs):
    runs, vcf, _ = command_runs
    for case in ("vcf", "maf"):
        assert runs[case][0].returncode == 0, runs[case][0].stderr
    vcf_out, maf_out = runs["vcf"][1], runs["maf"][1]
    assert sorted(p.name for p in vcf_out.iterdir()) == ["contributions.tsv", "per_mutation.tsv", "predictions.tsv"]
    for name in ("predictions.tsv", "contributions.tsv", "per_mutation.tsv"):
        assert (vcf_out / name).read_bytes() == (maf_out / name).read_bytes(), name
    stderr = runs["vcf"][0].stderr
    assert f"VCF {vcf}: {len(VARIANTS)} rows, 1 samples" in stderr
    assert "ALT alleles skipped: 1 filtered, 2 indel, 1 mnv, 1 symbolic, 1 not_in_sample, 1 unknown_base, " \
           "1 ref_mismatch, 2 no_context, 1 duplicate" in stderr
    table = pd.read_csv(vcf_out / "per_mutation.tsv", sep="\t", dtype={"sample": str, "chromosome": str})
    assert list(table.columns[:6]) == ["sample", "chromosome", "position", "ref", "alt", "channel"]
    assert len(table) == sum(TUMOR.values())


VCF_BAD_INPUT = {
    "no_header_line": ["no_header_line.vcf: line 3: expected the header line"],
    "too_few_fields": ["too_few_fields.vcf: line 6: 10 tab-separated fields, but the header names 11 columns"],
    "position_not_a_number": ["position_not_a_number.vcf: line 5: POS '3x' is not a whole number"],
    "unknown_sample": ["t.vcf: line 3: sample 'TUMOUR' (--vcf-sample) is not a column of the header"],
    "vcf_without_fasta": ["--vcf needs --fasta"],
    "vcf_sample_without_vcf": ["--vcf-sample is used only with --vcf"],
    "all_filters_without_vcf": ["--all-filters is used only with --vcf"],
    "per_mutation_with_a_catalog": ["--per-mutation needs the mutations themselves: --maf or --vcf"],
}


@pytest.mark.parametrize("case", list(VCF_BAD_INPUT))
def test_command_refuses_bad_vcf_input(case, command_runs):
    result, out = command_runs[0][case]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "pssnmf predict: error:" in result.stderr and "Traceback" not in result.stderr
    for words in VCF_BAD_INPUT[case]:
        assert words in result.stderr, f"{words!r} not in: {result.stderr}"
    assert not out.exists(), sorted(out.rglob("*"))


def test_per_mutation_needs_overwrite_and_is_left_alone_when_not_written(model_file, tmp_path):  # noqa: F811
    """A second run into the same folder needs --overwrite; one without --per-mutation leaves the
    earlier per_mutation.tsv as it is, and says so."""
    fasta, vcf, out = _fasta(tmp_path / "ref.fa"), _vcf(tmp_path / "t.vcf"), tmp_path / "out"
    args = ["--model", model_file, "--vcf", vcf, "--fasta", fasta, "--vcf-sample", "TUMOR", "--out", out,
            "--min-mutations", 1, "--resamples", 0]
    assert run_predict(*args, "--per-mutation").returncode == 0
    earlier = (out / "per_mutation.tsv").read_bytes()
    again = run_predict(*args, "--per-mutation")
    assert again.returncode == 2 and "the output folder is not empty" in again.stderr
    without = run_predict(*args, "--overwrite")
    assert without.returncode == 0, without.stderr
    assert (out / "per_mutation.tsv").read_bytes() == earlier
    assert f"{out / 'per_mutation.tsv'} is from an earlier run (left as it is)" in without.stderr


# ---------------------------------------------------------------------------- per-mutation probabilities
def _random_calls(folder: Path, rng, n_per_sample=(400, 150, 3)) -> tuple[Path, Path]:
    """A random genome and a VCF of three samples (each GT 0/1 on its own substitutions)."""
    genome = "".join(rng.choice(list("ACGT"), 20_000))
    fasta = folder / "random.fa"
    fasta.write_text(">1\n" + "".join(genome[i:i + 60] + "\n" for i in range(0, len(genome), 60)))
    samples = [f"T{i + 1}" for i in range(len(n_per_sample))]
    lines = [META + HEADER + "\tFORMAT\t" + "\t".join(samples)]
    positions = np.sort(rng.choice(np.arange(2, len(genome)), sum(n_per_sample), replace=False))
    owner = rng.permutation(np.repeat(np.arange(len(samples)), n_per_sample))
    for position, who in zip(positions, owner):
        ref = genome[position - 1]
        alt = rng.choice([b for b in "ACGT" if b != ref])
        gts = ["0/1" if s == who else "0/0" for s in range(len(samples))]
        lines.append("\t".join(["1", str(position), ".", ref, alt, ".", "PASS", ".", "GT", *gts]))
    vcf = folder / "random.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return vcf, fasta


def check_per_mutation(prediction, model, counts: pd.DataFrame) -> None:
    """The identity of :func:`pssnmf.predict.per_mutation_table`, recomputed from the counts:

    for each sample i and signature k,
        sum over i's mutations m of P(k | m) = sum_c n_ic E_ik W_kc / sum_j E_ij W_jc,
    E the exposures of the predictions table, W = model.signatures_; every row sums to 1, and
    each sample's row sums add up to its mutations.
    """
    names = [n.replace(" ", "_") for n in prediction.signature_names]
    mutations = prediction.mutations
    probability = mutations[names].to_numpy(dtype=float)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    table = prediction.table.set_index("sample")
    signatures = np.asarray(model.signatures_, dtype=float)  # (K, 96)
    for sample, n in counts.iterrows():
        exposures = table.loc[sample, [f"exposure_{name}" for name in names]].to_numpy(dtype=float)  # (K,)
        share = exposures[:, None] * signatures  # (K, 96): E_k W_kc
        seen = n.to_numpy() > 0  # a channel without mutations adds nothing (its share may be 0 / 0)
        expected = (n.to_numpy(dtype=float)[seen] * share[:, seen] / share[:, seen].sum(axis=0)).sum(axis=1)
        mine = mutations["sample"] == sample
        np.testing.assert_allclose(probability[mine].sum(axis=0), expected, rtol=1e-10, atol=1e-10)
        assert probability[mine].sum() == pytest.approx(table.loc[sample, "mutations"], rel=1e-12)
        # ... and each row is its own channel's share.
        channels = np.array([CHANNEL_INDEX[c] for c in mutations.loc[mine, "channel"]])
        own = share[:, channels]  # (K, its mutations)
        np.testing.assert_allclose(probability[mine], (own / own.sum(axis=0)).T, rtol=1e-12)


def test_per_mutation_probabilities_share_out_each_samples_mutations(model_file, tmp_path):  # noqa: F811
    vcf, fasta = _random_calls(tmp_path, np.random.default_rng(5))
    model = read_model(model_file)
    prediction = predict_vcf(model_file, vcf, None, fasta=fasta, per_mutation=True, min_mutations=0, n_resamples=0)
    counts = convert_vcf(vcf, fasta).counts
    assert counts.sum(axis=1).tolist() == [400, 150, 3] and len(prediction.mutations) == 553
    assert list(prediction.mutations.columns) == ["sample", "chromosome", "position", "ref", "alt", "channel"] + [
        f"Signature_{c}" for c in "ABCDE"]
    check_per_mutation(prediction, model, counts)
    # Without --per-mutation nothing of it is computed.
    assert predict_vcf(model_file, vcf, None, fasta=fasta, min_mutations=0, n_resamples=0).mutations is None


def test_a_mutation_no_signature_explains_gets_empty_probabilities(caplog):
    """Channel 0 is in no signature with a non-zero exposure of S1 (only in S2's, whose exposure
    is 0): its mutation has no share to give, so its probabilities are empty, with a warning."""
    from types import SimpleNamespace

    from pssnmf.predict import Prediction, per_mutation_table

    signatures = np.full((2, 96), 1 / 95)
    signatures[0, 0], signatures[1, :] = 0.0, 1 / 96
    table = pd.DataFrame({"sample": ["S1"], "exposure_A": [1.0], "exposure_B": [0.0]})
    prediction = Prediction(table=table, classes=["x"], signature_names=["A", "B"])
    mutations = pd.DataFrame({"sample": ["S1", "S1"], "chromosome": ["1", "1"], "position": [5, 9],
                              "ref": ["C", "C"], "alt": ["A", "A"], "channel": [SBS96[0], SBS96[1]]})
    with caplog.at_level("WARNING"):
        out = per_mutation_table(SimpleNamespace(signatures_=signatures), prediction, mutations)
    assert out[["A", "B"]].isna().to_numpy().tolist() == [[True, True], [False, False]]
    assert out.loc[1, ["A", "B"]].tolist() == [1.0, 0.0]
    assert "1 of 2 mutations are in a channel that no signature with a non-zero exposure explains" in caplog.text


def test_per_mutation_from_a_maf_and_written_atomically(model_file, tmp_path):  # noqa: F811
    fasta = _fasta(tmp_path / "ref.fa")
    out = tmp_path / "out"
    prediction = predict_maf(model_file, _maf(tmp_path / "t.maf"), out, fasta=fasta, per_mutation=True,
                             min_mutations=0, n_resamples=0)
    check_per_mutation(prediction, read_model(model_file), convert_maf(_maf(tmp_path / "t.maf"), fasta).counts)
    written = pd.read_csv(out / "per_mutation.tsv", sep="\t", dtype={"sample": str, "chromosome": str})
    assert written.shape == prediction.mutations.shape
    np.testing.assert_allclose(written.iloc[:, 6:].to_numpy(), prediction.mutations.iloc[:, 6:].to_numpy(),
                               rtol=1e-7)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no staging or temporary file left


def test_per_mutation_of_an_exome_scale_model_uses_the_table_exposures(model_file, tmp_path):  # noqa: F811
    """A model trained at exome scale, whole genomes given: exposures and signatures are the
    model's (exome) scale; the genome/exome factor of a channel cancels in P(k | m), so the
    pair converted to genome scale (signatures times the ratio, renormalised; exposures times
    the renormalising sums) gives the same probabilities."""
    ratio = np.random.default_rng(7).uniform(0.5, 3.0, 96)
    exome_model = rewrite_model(model_file, tmp_path / "exome.npz", lambda info: info["metadata"].update(
        opportunity={"target_scale": "exome", "ratio": ratio.tolist()}))
    vcf, fasta = _random_calls(tmp_path, np.random.default_rng(5))
    prediction = predict_vcf(exome_model, vcf, None, fasta=fasta, per_mutation=True, min_mutations=0,
                             n_resamples=0, scale="genome")
    model = read_model(exome_model)
    counts = convert_vcf(vcf, fasta).counts
    check_per_mutation(prediction, model, counts)
    plain = predict_vcf(model_file, vcf, None, fasta=fasta, per_mutation=True, min_mutations=0, n_resamples=0)
    names = [f"Signature_{c}" for c in "ABCDE"]
    assert np.abs(prediction.mutations[names].to_numpy() - plain.mutations[names].to_numpy()).max() > 1e-3
    # The same on genome scale.
    signatures = np.asarray(model.signatures_) * ratio  # (K, 96), genome scale before renormalising
    totals = signatures.sum(axis=1)
    genome_signatures = signatures / totals[:, None]
    table = prediction.table.set_index("sample")
    mutations = prediction.mutations
    exposures = table.loc[mutations["sample"], [f"exposure_{n}" for n in names]].to_numpy() * totals  # (M, K)
    channels = np.array([CHANNEL_INDEX[c] for c in mutations["channel"]])
    share = exposures * genome_signatures[:, channels].T
    np.testing.assert_allclose(mutations[names].to_numpy(), share / share.sum(axis=1, keepdims=True), rtol=1e-10)
