"""pssnmf.data.maf and pssnmf.data.fasta on small fixtures with hand-checked counts."""

from __future__ import annotations

import gzip

import pytest

from pssnmf.channels import SBS96
from pssnmf.data.fasta import FastaError, IndexedFasta, write_fai
from pssnmf.data.maf import MafError, convert_maf, maf_to_sbs96, sbs96_channel

# chr1, 1-based: A1 C2 G3 T4 A5 C6 G7 T8 A9 C10 | G11 G12 A13 T14 C15 C16 N17 N18 A19 T20 | T21 T22 G23
FASTA = ">chr1 test chromosome\nACGTACGTAC\nGGATCCNNAT\nTTG\n>2\nCCCCCAAAAA\n"

MAF_HEADER = "Hugo_Symbol\tChromosome\tStart_Position\tVariant_Type\tReference_Allele\tTumor_Seq_Allele1\tTumor_Seq_Allele2\tTumor_Sample_Barcode"
# (sample, chrom, pos, type, ref, alt) and, in the comment, the hand-derived outcome.
ROWS = [
    ("S1", "1", 2, "SNP", "C", "T"),  # A C G -> A[C>T]G
    ("S1", "chr1", 3, "SNP", "G", "A"),  # C G T, purine: revcomp -> A[C>T]G
    ("S1", "1", 10, "SNP", "C", "A"),  # A C | G across a line break -> A[C>A]G
    ("S2", "1", 12, "SNP", "G", "T"),  # G G A, purine -> T[C>A]C
    ("S2", "1", 16, "SNP", "C", "G"),  # C C N -> unknown_base
    ("S2", "1", 14, "SNP", "A", "G"),  # genome has T -> ref_mismatch
    ("S2", "1", 13, "SNP", "A", "C"),  # G A T, purine -> A[T>G]C
    ("S2", "1", 1, "SNP", "A", "T"),  # no 5' base -> no_context
    ("S2", "1", 5, "DEL", "A", "-"),  # not_sbs
    ("S2", "1", 5, "DNP", "AC", "GT"),  # not_sbs
    ("S3", "2", 7, "SNP", "A", "N"),  # unknown_base (alt N)
    ("S1", "1", 2, "SNP", "C", "T"),  # duplicate of the first row
    ("S3", "3", 5, "SNP", "C", "T"),  # chromosome 3 absent -> no_context
    ("S3", "2", 3, "SNP", "C", "A"),  # C C C -> C[C>A]C
    ("S2", "1", 23, "SNP", "G", "C"),  # last base, no 3' neighbour -> no_context
]
EXPECTED = {
    "S1": {"A[C>T]G": 2, "A[C>A]G": 1},
    "S2": {"T[C>A]C": 1, "A[T>G]C": 1},
    "S3": {"C[C>A]C": 1},
}
EXPECTED_SKIPPED = {"not_sbs": 2, "unknown_base": 2, "ref_mismatch": 1, "no_context": 3, "duplicate": 1}


def _maf(path, rows=ROWS, gz=False):
    lines = ["#version 2.4", MAF_HEADER]
    for sample, chrom, pos, vtype, ref, alt in rows:
        lines.append(f"GENE\t{chrom}\t{pos}\t{vtype}\t{ref}\t{ref}\t{alt}\t{sample}")
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "ref.fa"
    path.write_text(FASTA)
    return path


def test_fai_index_matches_samtools_layout(fasta):
    fai = write_fai(fasta)
    assert fai.read_text().splitlines() == ["chr1\t23\t22\t10\t11", "2\t10\t51\t10\t11"]


def test_fetch_across_lines_and_name_variants(fasta):
    with IndexedFasta(fasta) as ref:
        assert ref.fetch("chr1", 8, 12) == "ACGG"  # positions 9-12
        assert ref.fetch("1", 0, 3) == "ACG"
        assert ref.fetch("chr2", 0, 5) == "CCCCC"
        assert ref.fetch("1", 21, 24) is None  # past the end
        assert ref.fetch("X", 0, 1) is None


def test_fasta_with_unequal_lines_is_rejected(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACG\nACGTT\n")
    with pytest.raises(FastaError, match=r"bad\.fa: line 3: lines of sequence 'a' have unequal lengths"):
        write_fai(bad)


@pytest.mark.parametrize("gz", [False, True])
def test_maf_with_fasta_hand_checked_counts(tmp_path, fasta, gz):
    result = convert_maf(_maf(tmp_path / ("m.maf.gz" if gz else "m.maf"), gz=gz), fasta)
    assert result.rows == len(ROWS)
    assert result.counts.index.tolist() == ["S1", "S2", "S3"]
    assert list(result.counts.columns) == list(SBS96)
    for sample, expected in EXPECTED.items():
        row = result.counts.loc[sample]
        assert row[row > 0].to_dict() == expected
    assert {k: v for k, v in result.skipped.items() if v} == EXPECTED_SKIPPED


def test_maf_with_context_column_needs_no_fasta(tmp_path):
    header = "Chromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\tTumor_Sample_Barcode\tCONTEXT"
    rows = [
        "1\t100\tC\tT\tTCGA-AA-0001-01A-11D-A\tTTTTACGTTTT",  # A[C>T]G
        "1\t200\tG\tT\tTCGA-AA-0001-01A-11D-A\tCCCCAGTCCCC",  # A G T, purine -> A[C>A]T
        "1\t300\tC\tT\tTCGA-AA-0002-01A-11D-A\tCCCCNCTCCCC",  # N 5' -> unknown_base
        "1\t400\tT\tC\tTCGA-AA-0002-01A-11D-A\tCCCCACTCCCC",  # context has C -> ref_mismatch
        "1\t500\tC\tA\tTCGA-AA-0002-01B-11D-B\tGGGGTCAGGGG",  # aliquot B of the same sample: T[C>A]A
    ]
    path = tmp_path / "ctx.maf"
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(MafError):
        convert_maf(path, None, context_column=None)
    result = convert_maf(path, None, sample_id=lambda barcode: barcode[:15])
    assert result.counts.index.tolist() == ["TCGA-AA-0001-01", "TCGA-AA-0002-01"]
    first = result.counts.loc["TCGA-AA-0001-01"]
    assert first[first > 0].to_dict() == {"A[C>T]G": 1, "A[C>A]T": 1}
    second = result.counts.loc["TCGA-AA-0002-01"]
    assert second[second > 0].to_dict() == {"T[C>A]A": 1}
    assert result.skipped["unknown_base"] == 1 and result.skipped["ref_mismatch"] == 1


def test_maf_without_context_or_fasta_is_an_error(tmp_path):
    with pytest.raises(MafError, match=r"m\.maf: no CONTEXT column, and no reference FASTA given"):
        maf_to_sbs96(_maf(tmp_path / "m.maf"))


def test_maf_missing_column_is_named(tmp_path):
    path = tmp_path / "cols.maf"
    path.write_text("Chromosome\tReference_Allele\n1\tA\n")
    with pytest.raises(MafError, match=r"cols\.maf: none of the columns Tumor_Sample_Barcode, DepMap_ID found"):
        maf_to_sbs96(path)


def test_ccle_style_columns(tmp_path, fasta):
    # DepMap's CCLE_mutations.csv: comma-separated, Start_position, Tumor_Seq_Allele1 is the alt, DepMap_ID.
    path = tmp_path / "CCLE_mutations.csv"
    path.write_text(
        "Chromosome,Start_position,Variant_Type,Reference_Allele,Tumor_Seq_Allele1,DepMap_ID\n"
        "1,2,SNP,C,T,ACH-000001\n1,12,SNP,G,T,ACH-000002\n"
    )
    counts = maf_to_sbs96(path, fasta, sample_column="DepMap_ID", alt_column="Tumor_Seq_Allele1")
    assert counts.loc["ACH-000001", "A[C>T]G"] == 1 and counts.loc["ACH-000002", "T[C>A]C"] == 1
    assert int(counts.to_numpy().sum()) == 2


@pytest.mark.parametrize(
    ("given", "channel"),
    [
        (("A", "C", "T", "G"), "A[C>T]G"),
        (("T", "G", "A", "C"), "G[C>T]A"),  # purine ref: complement, swap 5'/3'
        (("C", "A", "G", "T"), "A[T>C]G"),
        (("A", "C", "C", "G"), None),  # not a substitution
        (("N", "C", "T", "G"), None),
    ],
)
def test_channel_orientation(given, channel):
    assert sbs96_channel(*given) == channel
