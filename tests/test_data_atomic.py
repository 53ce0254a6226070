"""Every atomically written file gets the mode the umask gives (as ``open(path, "w")`` would),
not the 0600 of its temporary file: a lab's shared results folder stays readable.

One test per writer, on real files (the small real model of ``test_predict.py``, the real
example catalog), under two umasks; and the installed ``pssnmf predict`` under a group umask.
"""

from __future__ import annotations

import os
import stat
import subprocess

import numpy as np
import pandas as pd
import pytest

from pssnmf.catalog import read_catalog, write_catalog
from pssnmf.data.atomic import atomic_path, current_umask, write_table, write_text
from test_cli_predict import _catalog_text, _command, _save_grid
from test_predict import model_file, new_tumours  # noqa: F401 - shared fixtures


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o027], ids=["umask022", "umask002", "umask027"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.fixture
def catalog(data_dir):
    return read_catalog(data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt")


def _writers(model_file, catalog):  # noqa: F811
    """name -> function(folder) that writes one file through a library writer; returns its path."""
    from matplotlib.figure import Figure

    from pssnmf.baselines import make_baseline, save_baseline
    from pssnmf.data.fasta import write_fai
    from pssnmf.model import load_model, save_model
    from pssnmf.plots.common import save_figure

    def figure(folder):
        fig = Figure()
        fig.add_subplot().bar(range(96), catalog.iloc[0])
        return save_figure(fig, catalog.iloc[:1].T.reset_index(), folder / "profile")

    def baseline(folder):
        X, y = catalog.to_numpy(dtype=float), np.arange(len(catalog)) % 2
        save_baseline(make_baseline("LR-96").fit(X, y), folder / "baseline.npz")
        return folder / "baseline.npz"

    def fasta(folder):
        (folder / "ref.fa").write_text(">chr1\nACGTACGTAC\nGGA\n")
        return write_fai(folder / "ref.fa")

    return {
        "atomic_path": lambda folder: write_table(catalog.iloc[:2], folder / "t.tsv") or folder / "t.tsv",
        "save_model": lambda folder: save_model(load_model(model_file), folder / "m.npz") or folder / "m.npz",
        "write_catalog": lambda folder: write_catalog(catalog, folder / "c.tsv") or folder / "c.tsv",
        "save_figure": figure,
        "write_text": lambda folder: write_text("x\n", folder / "s.json"),
        "save_baseline": baseline,
        "write_fai": fasta,
    }


WRITERS = ["atomic_path", "save_model", "write_catalog", "save_figure", "write_text", "save_baseline", "write_fai"]


@pytest.mark.parametrize("writer", WRITERS)
def test_written_files_take_the_mode_the_umask_gives(writer, umask, model_file, catalog, tmp_path):  # noqa: F811
    written = _writers(model_file, catalog)[writer](tmp_path)
    for path in written if isinstance(written, list) else [written]:
        assert _mode(path) == 0o666 & ~umask, (path, oct(_mode(path)))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_current_umask_reads_without_changing_it(umask):
    assert current_umask() == umask
    assert os.umask(umask) == umask


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("stopped")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_command_outputs_take_the_mode_the_umask_gives(model_file, new_tumours, tmp_path):  # noqa: F811
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:2]), tmp_path / "c.tsv")
    out = tmp_path / "out"
    result = subprocess.run([_command(), "predict", "--model", str(model_file), "--catalog", str(catalog),
                             "--out", str(out), "--plots"], capture_output=True, text=True, timeout=120,
                            umask=0o002)
    assert result.returncode == 0, result.stderr
    for path in [out, out / "plots", *out.rglob("*")]:
        assert _mode(path) == (0o775 if path.is_dir() else 0o664), (path, oct(_mode(path)))
