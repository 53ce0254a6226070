"""Damaged inputs, generated (hypothesis): ``read_catalog``, the MAF reader and ``load_model``
either give their documented result or raise their documented error naming the file.

Each starts from a real, valid file (the example whole-genome catalog, the MAF of
``test_cli_predict.py`` with its CONTEXT column, the small real model) and damages it: bit
flips, truncation, random bytes, a field replaced by an extreme or odd value.  Never another
exception, never a NaN or a negative count in what is returned.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pssnmf.catalog import CatalogError, read_catalog
from pssnmf.channels import SBS96
from pssnmf.data.maf import MafError, convert_maf
from pssnmf.model import load_model
from test_cli_predict import MAF_ROWS, _save_maf
from test_predict import model_file  # noqa: F401 - shared fixture

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ODD_VALUES = ["", " ", "-1", "-0", "1e309", "-1e309", "1e19", str(2**63), str(2**64), "9" * 400, "nan", "NaN", "inf",
              "0x10", "1_000", "+3", "3.0", "3.5", "1e2", "١٢", "\u00a0", "\"", "\"\"", "'", "#", "\\", "\t", ",",
              "\r", "\x00", "\ufeff", "ACA>A", "A[C>A]A"]


def damaged(original: bytes):
    """Strategy: ``original`` with bit flips, truncated, replaced by random bytes, or a span
    overwritten by random bytes."""
    n = len(original)

    def flip(flips):
        data = bytearray(original)
        for position, bit in flips:
            data[position % n] ^= 1 << bit
        return bytes(data)

    def overwrite(args):
        start, junk = args
        return original[:start % n] + junk + original[start % n + len(junk):]

    return st.one_of(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 7)), min_size=1, max_size=8).map(flip),
        st.integers(0, n - 1).map(lambda cut: original[:cut]),
        st.binary(max_size=4096),
        st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=64)).map(overwrite),
    )


def _check_counts(counts):
    values = counts.to_numpy()
    assert list(counts.columns) == list(SBS96) and values.dtype == np.int64
    assert (values >= 0).all() and counts.index.is_unique


def _names_file(error: BaseException, path: Path) -> None:
    assert str(path) in str(error), f"{type(error).__name__} does not name {path}: {error}"


def _with_field(original: bytes, line: int, column: int, value: str, path: Path) -> Path:
    """``original`` (tab-separated) with one field replaced by ``value``, written to ``path``."""
    lines = original.decode().split("\n")
    fields = lines[line].split("\t")
    fields[column % len(fields)] = value
    lines[line] = "\t".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- catalogs
@functools.lru_cache(maxsize=None)
def _catalog_bytes(data_dir: Path) -> bytes:
    return (data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt").read_bytes()


def _read_catalog_or_refuse(path: Path) -> None:
    try:
        counts = read_catalog(path)
    except CatalogError as error:
        _names_file(error, path)
    else:
        _check_counts(counts)
        assert counts.sum(axis=1).gt(0).all()


@SETTINGS
@given(data=st.data())
def test_read_catalog_on_damaged_bytes(data, data_dir, tmp_path):
    path = tmp_path / "catalog.tsv"
    path.write_bytes(data.draw(damaged(_catalog_bytes(data_dir))))
    _read_catalog_or_refuse(path)


@SETTINGS
@given(line=st.integers(0, 96), column=st.integers(0, 21), value=st.sampled_from(ODD_VALUES) | st.text(max_size=12))
def test_read_catalog_with_an_odd_field(line, column, value, data_dir, tmp_path):
    _read_catalog_or_refuse(_with_field(_catalog_bytes(data_dir), line, column, value, tmp_path / "catalog.tsv"))


# ---------------------------------------------------------------------------- MAFs
@functools.lru_cache(maxsize=None)
def _maf_bytes(folder: Path) -> bytes:
    return _save_maf(MAF_ROWS, folder / "good.maf").read_bytes()


def _convert_or_refuse(path: Path) -> None:
    try:
        conversion = convert_maf(path)
    except MafError as error:
        _names_file(error, path)
    else:
        _check_counts(conversion.counts)
        assert all(n >= 0 for n in conversion.skipped.values()) and conversion.rows >= 0
        assert "" not in conversion.counts.index


@SETTINGS
@given(data=st.data())
def test_maf_reader_on_damaged_bytes(data, tmp_path_factory, tmp_path):
    path = tmp_path / "tumours.maf"
    path.write_bytes(data.draw(damaged(_maf_bytes(tmp_path_factory.getbasetemp()))))
    _convert_or_refuse(path)


@SETTINGS
@given(line=st.integers(1, 9), column=st.integers(0, 8), value=st.sampled_from(ODD_VALUES) | st.text(max_size=12))
def test_maf_reader_with_an_odd_field(line, column, value, tmp_path_factory, tmp_path):
    original = _maf_bytes(tmp_path_factory.getbasetemp())
    _convert_or_refuse(_with_field(original, line, column, value, tmp_path / "tumours.maf"))


# ---------------------------------------------------------------------------- model files
@SETTINGS
@given(data=st.data())
def test_load_model_on_damaged_bytes(data, model_file, tmp_path):  # noqa: F811
    path = tmp_path / "model.npz"
    path.write_bytes(data.draw(damaged(model_file.read_bytes())))
    try:
        model = load_model(path)
    except ValueError as error:
        _names_file(error, path)
    else:  # a flip in a part of the zip nothing reads (a date, a comment): the model is intact
        assert np.isfinite(model.weights_).all() and np.isfinite(model.signatures_).all()
        np.testing.assert_allclose(model.signatures_.sum(axis=1), 1.0, atol=1e-4)
        assert len(set(map(str, model.classes_))) == len(model.classes_)


def test_the_undamaged_files_give_their_result(data_dir, model_file, tmp_path_factory, tmp_path):  # noqa: F811
    """The generators start from valid files: undamaged, each is read."""
    path = tmp_path / "catalog.tsv"
    path.write_bytes(_catalog_bytes(data_dir))
    assert read_catalog(path).shape == (21, 96)
    path = tmp_path / "tumours.maf"
    path.write_bytes(_maf_bytes(tmp_path_factory.getbasetemp()))
    assert convert_maf(path).counts.to_numpy().sum() == 7
    assert load_model(model_file).weights_.shape == (5, 4)


pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow or NaN warning is a finding
