"""pssnmf.catalog: reading and writing SBS96 catalogs, and every kind of bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pssnmf.catalog import CatalogError, read_catalog, write_catalog
from pssnmf.channels import SBS96


def _trinuc_alt(channel: str) -> str:
    """``A[C>T]G`` -> ``ACG>T`` (Levatić et al.'s spelling)."""
    return f"{channel[0]}{channel[2]}{channel[6]}>{channel[4]}"


def _counts(n_samples: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 20, size=(n_samples, 96))
    values[:, 0] += 1  # no all-zero sample
    return pd.DataFrame(values, index=[f"S{i}" for i in range(n_samples)], columns=list(SBS96))


def _sigprofiler_lines(counts: pd.DataFrame, first: str = "MutationType", sep: str = "\t") -> list[str]:
    lines = [sep.join([first, *counts.index])]
    for channel in counts.columns:
        lines.append(sep.join([channel, *(str(v) for v in counts[channel])]))
    return lines


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sigprofiler_layout_round_trip(tmp_path):
    counts = _counts()
    path = tmp_path / "catalog.tsv"
    write_catalog(counts, path)
    assert path.read_text().splitlines()[0] == "MutationType\tS0\tS1\tS2"
    back = read_catalog(path)
    assert list(back.columns) == list(SBS96)
    assert back.index.tolist() == ["S0", "S1", "S2"]
    assert back.dtypes.unique().tolist() == [np.dtype("int64")]
    pd.testing.assert_frame_equal(back, counts, check_names=False)


@pytest.mark.parametrize("first", ["MutationType", "Type", "Mutation Types"])
def test_channel_column_headers(tmp_path, first):
    counts = _counts()
    back = read_catalog(_write(tmp_path / "c.txt", _sigprofiler_lines(counts, first)))
    assert back.to_numpy().tolist() == counts.to_numpy().tolist()


def test_samples_as_rows_with_other_spelling_and_order_is_reordered(tmp_path):
    counts = _counts()
    shuffled = list(np.random.default_rng(1).permutation(SBS96))
    lines = [",".join(["COSMIC_ID", *(_trinuc_alt(c) for c in shuffled)])]
    for name, row in counts.iterrows():
        lines.append(",".join([name, *(str(row[c]) for c in shuffled)]))
    back = read_catalog(_write(tmp_path / "rows.csv", lines))
    pd.testing.assert_frame_equal(back, counts, check_names=False)


def test_crlf_line_ends_and_trailing_separators(tmp_path):
    counts = _counts()
    path = tmp_path / "dos.tsv"
    path.write_bytes(("\r\n".join(line + "\t" for line in _sigprofiler_lines(counts)) + "\r\n").encode())
    pd.testing.assert_frame_equal(read_catalog(path), counts, check_names=False)


@pytest.mark.parametrize("spoil", [
    lambda lines: [lines[0].replace("S1", '"S1"'), *lines[1:]],  # quoted: pandas reads it
    lambda lines: [lines[0], *(line + "\r" for line in lines[1:])],  # carriage returns: pandas
    lambda lines: [lines[0], *(line.replace("\t", "\t ") for line in lines[1:])],  # blanks around counts
    lambda lines: [lines[0], "", *lines[1:], ""],  # empty lines
    lambda lines: [lines[0], *(line.replace("\t", "\t00") for line in lines[1:])],  # leading zeros
], ids=["quoted", "crlf", "blanks", "empty_lines", "leading_zeros"])
def test_bare_digit_files_read_as_pandas_reads_any_other(tmp_path, spoil):
    """The fast route (bare digits split at the separator) and pandas' reader give one table."""
    counts = _counts(n_samples=4)
    lines = _sigprofiler_lines(counts)
    plain = read_catalog(_write(tmp_path / "plain.tsv", lines))
    pd.testing.assert_frame_equal(plain, counts.rename_axis("sample"))
    pd.testing.assert_frame_equal(read_catalog(_write(tmp_path / "other.tsv", spoil(lines))), plain)


def test_reordered_channel_rows_are_put_in_cosmic_order(tmp_path):
    counts = _counts()
    lines = _sigprofiler_lines(counts)
    body = lines[1:][::-1]
    back = read_catalog(_write(tmp_path / "rev.tsv", [lines[0], *body]))
    pd.testing.assert_frame_equal(back, counts, check_names=False)


def test_ignore_columns_drops_named_extra_columns(tmp_path):
    counts = _counts()
    lines = [",".join(["id", "cancer_type", *SBS96, "Insertion"])]
    for name, row in counts.iterrows():
        lines.append(",".join([name, "BLCA", *(str(v) for v in row), "3"]))
    path = _write(tmp_path / "x.csv", lines)
    with pytest.raises(CatalogError, match=r"x\.csv: column 2: 'cancer_type' is not an SBS96 channel"):
        read_catalog(path)
    back = read_catalog(path, ignore_columns=["cancer_type", "Insertion"])
    pd.testing.assert_frame_equal(back, counts, check_names=False)


def _bad(tmp_path, edit, name="bad.tsv"):
    lines = _sigprofiler_lines(_counts())
    return _write(tmp_path / name, edit(lines))


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        # missing channel: drop the T[T>G]T row
        (lambda ls: ls[:-1], r"bad\.tsv: 1 of the 96 SBS96 channels are missing \(T\[T>G\]T\)"),
        # extra channel: a 97th row with an unknown label
        (lambda ls: [*ls, "N[C>A]A\t1\t1\t1"], r"bad\.tsv: line 98: 'N\[C>A\]A' is not an SBS96 channel"),
        # misnamed channel
        (lambda ls: [ls[0], "A[C>C]A\t1\t2\t3", *ls[2:]], r"bad\.tsv: line 2: 'A\[C>C\]A' is not an SBS96 channel"),
        # the same channel twice under two spellings
        (lambda ls: [ls[0], ls[1], "ACA>A\t1\t2\t3", *ls[3:]], r"line 3: channel 'ACA>A' \(A\[C>A\]A\) appears twice \(also at line 2\)"),
        # negative count
        (lambda ls: [ls[0], ls[1], ls[2].replace("\t", "\t-", 1), *ls[3:]], r"sample 'S0' \(column 2\), channel 'A\[C>A\]C' \(line 3\): negative count"),
        # NaN
        (lambda ls: [ls[0], "A[C>A]A\tNaN\t1\t1", *ls[2:]], r"sample 'S0' \(column 2\), channel 'A\[C>A\]A' \(line 2\): missing value \(NaN\)"),
        # empty cell
        (lambda ls: [ls[0], "A[C>A]A\t4\t\t1", *ls[2:]], r"sample 'S1' \(column 3\), channel 'A\[C>A\]A' \(line 2\): missing value"),
        # non-integer
        (lambda ls: [ls[0], "A[C>A]A\t4\t2.5\t1", *ls[2:]], r"sample 'S1' \(column 3\).*non-integer count '2\.5'; expected a non-negative integer count"),
        # not a number
        (lambda ls: [ls[0], "A[C>A]A\t4\tfive\t1", *ls[2:]], r"sample 'S1' \(column 3\).*not a number: 'five'"),
        # duplicate sample IDs
        (lambda ls: ["MutationType\tS0\tS1\tS0", *ls[1:]], r"bad\.tsv: column 4: sample ID 'S0' appears twice \(also at column 2\)"),
        # empty sample ID
        (lambda ls: ["MutationType\tS0\t\tS2", *ls[1:]], r"bad\.tsv: column 3: empty sample ID"),
        # no channel labels at all
        (lambda ls: ["id\tS0", "x\t1"], r"no SBS96 channel labels in the first line or the first column"),
        # ragged table
        (lambda ls: [ls[0], "A[C>A]A\t1\t2\t3\t4\t5", *ls[2:]], r"bad\.tsv: not a rectangular table"),
        # a header only: no samples
        (lambda ls: ["MutationType", *(line.split("\t")[0] for line in ls[1:])], r"neither tabs nor commas|fewer than two columns"),
    ],
    ids=[
        "missing_channel",
        "extra_channel",
        "misnamed_channel",
        "duplicate_channel",
        "negative",
        "nan",
        "empty_cell",
        "non_integer",
        "not_a_number",
        "duplicate_sample",
        "empty_sample_id",
        "no_channels",
        "ragged",
        "no_samples",
    ],
)
def test_bad_catalogs_name_file_place_and_expectation(tmp_path, edit, pattern):
    path = _bad(tmp_path, edit)
    with pytest.raises(CatalogError, match=pattern) as info:
        read_catalog(path)
    assert isinstance(info.value, ValueError)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n")
    with pytest.raises(CatalogError, match=r"empty\.tsv: the file is empty"):
        read_catalog(empty)
    with pytest.raises(CatalogError, match=r"nowhere\.tsv: no such file"):
        read_catalog(tmp_path / "nowhere.tsv")


def test_all_zero_samples_error_by_default_and_drop_on_request(tmp_path, caplog):
    counts = _counts(4)
    counts.loc["S2"] = 0
    path = tmp_path / "zero.tsv"
    _write(path, _sigprofiler_lines(counts))
    with pytest.raises(CatalogError, match=r"zero\.tsv: 1 sample\(s\) have no mutations.*\(S2\)"):
        read_catalog(path)
    with caplog.at_level("WARNING"):
        kept = read_catalog(path, on_all_zero="drop")
    assert kept.index.tolist() == ["S0", "S1", "S3"]
    assert "dropped 1 all-zero sample(s): S2" in caplog.text


def test_write_catalog_rejects_bad_tables_and_leaves_no_file(tmp_path):
    path = tmp_path / "out.tsv"
    counts = _counts().astype(float)
    counts.iloc[0, 0] = 0.5
    with pytest.raises(CatalogError, match="non-negative integers"):
        write_catalog(counts, path)
    with pytest.raises(CatalogError, match="missing"):
        write_catalog(_counts().drop(columns=["A[C>A]A"]), path)
    assert list(tmp_path.iterdir()) == []


def test_real_catalogs_read(data_dir):
    tcga = read_catalog(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv")
    assert tcga.shape == (7451, 96)
    gdsc = read_catalog(
        data_dir / "cell_lines_gdsc" / "cellLines_contexts.csv",
        ignore_columns=["cancer_type", "MH", "MS", "Insertion", "Other"],
    )
    assert gdsc.shape == (929, 96)
    # The file's own A[C>T]G column (written ACG>T) lands on the COSMIC channel.
    raw = pd.read_csv(data_dir / "cell_lines_gdsc" / "cellLines_contexts.csv", index_col=0)
    assert gdsc["A[C>T]G"].tolist() == raw["ACG>T"].tolist()
    cosmic = read_catalog(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", integer=False)
    assert cosmic.shape[1] == 96 and np.allclose(cosmic.sum(axis=1), 1, atol=1e-3)


@pytest.mark.parametrize("value", ["9223372036854775808", "18446744073709551616", "1e300", "9007199254740993"])
def test_counts_too_large_for_an_exact_integer_are_named(data_dir, tmp_path, value):
    """2^63 used to wrap to -9.2e18 with only a numpy warning; above 2^53 a count is not exact."""
    lines = (data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt").read_text().splitlines()
    fields = lines[10].split("\t")
    fields[3] = value
    path = _write(tmp_path / "huge.tsv", [*lines[:10], "\t".join(fields), *lines[11:]])
    with pytest.raises(CatalogError, match=rf"huge\.tsv: sample '\w+' \(column 4\), channel '{re.escape(fields[0])}' "
                       rf"\(line 11\): count too large: '{value}'; expected a non-negative integer count below 2\^53"):
        read_catalog(path)
    fields[3] = str(2**53 - 1)  # the largest accepted, read exactly
    path = _write(tmp_path / "big.tsv", [*lines[:10], "\t".join(fields), *lines[11:]])
    assert read_catalog(path).to_numpy().max() == 2**53 - 1
