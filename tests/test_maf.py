"""pssnmf.data.maf and pssnmf.data.fasta on small fixtures with hand-checked counts."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

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


# ---------------------------------------------------------------------------- rows that cannot be read
def _lines(path):
    """The MAF fixture's lines: '#version', the header, then ROWS from line 3."""
    return _maf(path).read_text().splitlines()


def _spoiled(path, line, change):
    lines = _lines(path)
    lines[line - 1] = change(lines[line - 1])
    path.write_text("\n".join(lines) + "\n")
    return path


def _set_field(index, value):
    def change(line):
        fields = line.split("\t")
        fields[index] = value
        return "\t".join(fields)
    return change


@pytest.mark.parametrize(
    ("line", "change", "message"),
    [
        (5, _set_field(2, "12x"), r"m\.maf: line 5: Start_Position '12x' is not a whole number"),
        (4, _set_field(2, ""), r"m\.maf: line 4: Start_Position '' is not a whole number"),
        (6, lambda line: line + "\tsurplus", r"m\.maf: line 6: 9 fields, but the header names 8 columns"),
        (3, lambda line: line.replace("\tSNP\t", "\tSNP\textra\t"), r"m\.maf: line 3: 9 fields"),
        (7, _set_field(7, ""), r"m\.maf: line 7: empty Tumor_Sample_Barcode; expected a sample ID on every row"),
        (11, _set_field(7, "  "), r"m\.maf: line 11: empty Tumor_Sample_Barcode"),  # an indel's row too
    ],
    ids=["position_text", "position_empty", "extra_field", "shifted_row", "empty_sample", "blank_sample_indel"],
)
def test_a_row_that_cannot_be_read_is_named_by_file_and_line(tmp_path, fasta, line, change, message):
    path = _spoiled(tmp_path / "m.maf", line, change)
    with pytest.raises(MafError, match=message):
        convert_maf(path, fasta)


def test_line_numbers_count_blank_lines_and_trailing_separators_are_fine(tmp_path, fasta):
    lines = _lines(tmp_path / "m.maf")
    lines[2] += "\t"  # a separator at the line end: an empty 9th field, not data
    lines.insert(4, "")
    lines[7] = _set_field(2, "x")(lines[7])
    path = tmp_path / "m.maf"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(MafError, match=r"m\.maf: line 8: Start_Position 'x'"):
        convert_maf(path, fasta)
    lines[7] = _set_field(2, "13")(lines[7])
    path.write_text("\n".join(lines) + "\n")
    result = convert_maf(path, fasta)
    assert result.rows == len(ROWS)
    assert result.counts.equals(convert_maf(_maf(tmp_path / "plain.maf"), fasta).counts)


def test_sample_ids_are_text_even_where_pandas_reads_missing_values(tmp_path, fasta):
    """'NaN', 'NA', 'null' name samples; they survive the catalog written from the MAF."""
    from pssnmf.catalog import read_catalog, write_catalog

    names = {"S1": "NaN", "S2": "NA", "S3": "null"}
    path = _maf(tmp_path / "m.maf", rows=[(names[r[0]], *r[1:]) for r in ROWS])
    counts = convert_maf(path, fasta).counts
    assert counts.index.tolist() == ["NaN", "NA", "null"]
    for sample, expected in EXPECTED.items():
        row = counts.loc[names[sample]]
        assert row[row > 0].to_dict() == expected
    write_catalog(counts, tmp_path / "catalog.tsv")
    assert read_catalog(tmp_path / "catalog.tsv").index.tolist() == ["NaN", "NA", "null"]


def test_many_reference_mismatches_are_a_warning_with_the_count(tmp_path, fasta, caplog):
    rows = [("S1", "1", 2, "SNP", "C", "T"), ("S1", "1", 3, "SNP", "A", "T"), ("S1", "1", 4, "SNP", "G", "A"),
            ("S1", "1", 6, "SNP", "T", "A")]  # the genome has C G T C: three disagree
    with caplog.at_level("INFO", logger="pssnmf.data.maf"):
        convert_maf(_maf(tmp_path / "m.maf", rows=rows), fasta)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "3 of 4 substitutions (75 %) have a reference allele that disagrees" in warnings[0]
    caplog.clear()
    with caplog.at_level("INFO", logger="pssnmf.data.maf"):
        convert_maf(_maf(tmp_path / "few.maf"), fasta)  # 1 mismatch in 8 rows read against the genome: 12 %
    assert "1 of 8 substitutions (12 %)" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="pssnmf.data.maf"):
        convert_maf(_maf(tmp_path / "none.maf", rows=[r for r in ROWS if r[2] != 14]), fasta)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


# ---------------------------------------------------------------------------- stale .fai indexes
def _fasta_text(sequences: dict[str, str], width: int, newline: str = "\n") -> str:
    parts = []
    for name, sequence in sequences.items():
        parts.append(f">{name} description{newline}")
        parts += [sequence[i:i + width] + newline for i in range(0, len(sequence), width)]
    return "".join(parts)


SEQUENCES = {"chr1": "ACGTACGTACGGATCCNNATTTG", "2": "CCCCCAAAAA", "chr3": "GATTACA" * 5}


@pytest.mark.parametrize(
    "text",
    [_fasta_text(SEQUENCES, 10), _fasta_text(SEQUENCES, 7), _fasta_text(SEQUENCES, 10, "\r\n"),
     _fasta_text(SEQUENCES, 10).rstrip("\n"), _fasta_text(SEQUENCES, 10) + "\n\n", ">empty\n" + _fasta_text(SEQUENCES, 5),
     _fasta_text(SEQUENCES, 5) + ">empty\n"],
    ids=["width10", "width7_exact_lines", "crlf", "no_final_newline", "blank_lines_at_end", "empty_first",
         "empty_last"],
)
def test_a_fresh_index_is_never_called_stale(tmp_path, text, caplog):
    path = tmp_path / "ref.fa"
    path.write_bytes(text.encode())
    with caplog.at_level("WARNING", logger="pssnmf.data.fasta"), IndexedFasta(path) as ref:
        assert ref.fetch("chr3", 33, 35) == "CA" and ref.fetch("2", 9, 10) == "A"
    assert caplog.text == ""


def test_a_stale_index_is_detected_not_used_and_not_overwritten(tmp_path, caplog):
    """The FASTA rewritten with another line width, its old index kept (and newer): the index
    would fetch the wrong bases; it is refused with a warning and the FASTA indexed in memory."""
    path = tmp_path / "ref.fa"
    path.write_text(_fasta_text(SEQUENCES, 10))
    fai = write_fai(path)
    old_index = fai.read_bytes()
    path.write_text(_fasta_text(SEQUENCES, 6))
    os.utime(fai, (path.stat().st_mtime + 10,) * 2)  # the index newer: only the layout tells
    with caplog.at_level("WARNING", logger="pssnmf.data.fasta"), IndexedFasta(path) as ref:
        assert ref.fetch("chr1", 8, 14) == "ACGGAT" and ref.fetch("chr3", 28, 35) == "GATTACA"
    assert f"{fai} does not fit {path}" in caplog.text and "indexed again in memory" in caplog.text
    assert fai.read_bytes() == old_index
    # Same layout, one base edited after the index was written: the dates tell.
    caplog.clear()
    write_fai(path)
    path.write_text(_fasta_text({**SEQUENCES, "chr1": "T" + SEQUENCES["chr1"][1:]}, 6))
    os.utime(path, (fai.stat().st_mtime + 10,) * 2)
    with caplog.at_level("WARNING", logger="pssnmf.data.fasta"), IndexedFasta(path) as ref:
        assert ref.fetch("chr1", 0, 2) == "TC"
    assert "changed after the index was written" in caplog.text


def test_maf_counts_through_a_stale_index_are_right(tmp_path, caplog):
    """The issue's case: a stale index made most substitutions reference mismatches (an INFO line)."""
    path = tmp_path / "ref.fa"
    path.write_text(_fasta_text({"chr1": FASTA.split("\n>")[0].split("\n", 1)[1].replace("\n", ""),
                                 "2": "CCCCCAAAAA"}, 10))
    expected = convert_maf(_maf(tmp_path / "m.maf"), path)
    fai = Path(str(path) + ".fai")
    path.write_text(_fasta_text({"chr1": FASTA.split("\n>")[0].split("\n", 1)[1].replace("\n", ""),
                                 "2": "CCCCCAAAAA"}, 4))
    os.utime(fai, (path.stat().st_mtime + 10,) * 2)
    with caplog.at_level("INFO"):
        result = convert_maf(_maf(tmp_path / "m.maf"), path)
    assert result.counts.equals(expected.counts) and result.skipped == expected.skipped
    assert "does not fit" in caplog.text


def test_a_corrupt_index_line_is_named(tmp_path):
    path = tmp_path / "ref.fa"
    path.write_text(_fasta_text(SEQUENCES, 10))
    Path(str(path) + ".fai").write_text("chr1\t23\tx\t10\t11\n")
    with pytest.raises(FastaError, match=r"ref\.fa\.fai: line 1: expected 5 tab-separated fields"):
        IndexedFasta(path)
