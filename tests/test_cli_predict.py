"""``pssnmf predict``, the installed command, run as a subprocess on real catalogs.

The model is the small real model of ``test_predict.py`` (trained once per session); the
tumours are real TCGA exomes it never saw, and the 21 breast cancer whole genomes of
``example_wgs``.  Every output is checked against values recomputed here.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pssnmf.catalog import read_catalog
from pssnmf.channels import SBS96
from pssnmf.model import load_model
from test_predict import check_prediction_table, model_file, new_tumours, rewrite_model  # noqa: F401 - shared fixtures

# Values in predictions.tsv carry 8 significant digits.
TEXT = {"rtol": 1e-7, "atol": 1e-8}


def _command() -> str:
    """The ``pssnmf`` script installed with the package (beside this Python first)."""
    beside = Path(sys.executable).parent / "pssnmf"
    found = str(beside) if beside.is_file() else shutil.which("pssnmf")
    assert found, "the pssnmf command is not installed: pip install -e . (pyproject.toml [project.scripts])"
    return found


def run_predict(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([_command(), "predict", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def run_many(jobs: dict[str, list]) -> dict[str, subprocess.CompletedProcess]:
    """``run_predict`` for each job, a few at a time: most of a run is Python's start-up."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_predict, *args) for name, args in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _read_output(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "predictions.tsv", sep="\t", dtype={"sample": str})


def _write_catalog(counts: pd.DataFrame, path: Path, layout: str, sep: str) -> None:
    """counts (samples x 96, COSMIC order) as a user's file: channels shuffled, either orientation."""
    shuffled = counts.iloc[:, np.random.default_rng(2).permutation(96)]
    if layout == "sigprofiler":
        shuffled.T.rename_axis("MutationType").to_csv(path, sep=sep)
    else:
        shuffled.rename_axis("Sample").to_csv(path, sep=sep)


# SigProfiler layout, tab-separated, is also what the --plots and the whole-genome tests read.
LAYOUTS = {
    "sigprofiler-tab": ("sigprofiler", "\t", None),
    "sigprofiler-comma": ("sigprofiler", ",", 100),
    "transposed-tab": ("transposed", "\t", None),
    "transposed-comma": ("transposed", ",", 20),
}


@pytest.fixture(scope="module")
def layout_runs(model_file, new_tumours, tmp_path_factory):  # noqa: F811
    """The command on the 40 new tumours written in each layout, run side by side."""
    root = tmp_path_factory.mktemp("layouts")
    jobs = {}
    for name, (layout, sep, min_mutations) in LAYOUTS.items():
        catalog = root / f"{name}.{'tsv' if sep == chr(9) else 'csv'}"
        _write_catalog(new_tumours, catalog, layout, sep)
        extra = [] if min_mutations is None else ["--min-mutations", min_mutations]
        jobs[name] = ["--model", model_file, "--catalog", catalog, "--out", root / f"{name}-out", *extra]
    return {name: (result, root / f"{name}-out") for name, result in run_many(jobs).items()}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_command_on_tcga_tumours(name, layout_runs, model_file, new_tumours):  # noqa: F811
    layout, sep, min_mutations = LAYOUTS[name]
    result, out = layout_runs[name]
    assert result.returncode == 0, result.stderr
    # The layout detected is said in the log.
    said = "SigProfiler layout" if layout == "sigprofiler" else "samples as rows"
    assert said in result.stderr and ("tab-separated" if sep == "\t" else "comma-separated") in result.stderr
    assert "40 samples" in result.stderr
    table = _read_output(out)
    threshold = 50 if min_mutations is None else min_mutations
    check_prediction_table(table, new_tumours, load_model(model_file), min_mutations=threshold, **TEXT)
    assert table["low_count"].any() and not table["low_count"].all()
    assert sorted(p.name for p in out.iterdir()) == ["contributions.tsv", "predictions.tsv"]


def test_command_on_example_whole_genomes(model_file, data_dir, tmp_path):  # noqa: F811
    catalog = data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt"
    assert catalog.read_text().split("\t", 1)[0] == "Mutation Types"
    out = tmp_path / "out"
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "21 samples (SigProfiler layout" in result.stderr
    raw = pd.read_csv(catalog, sep="\t", index_col=0)
    counts = raw.T[list(SBS96)]  # the file's rows are not in COSMIC order
    table = _read_output(out)
    check_prediction_table(table, counts, load_model(model_file), **TEXT)
    assert list(table["sample"]) == list(raw.columns)


def test_command_plots_one_figure_per_sample(model_file, new_tumours, tmp_path):  # noqa: F811
    import matplotlib.image

    few = new_tumours.iloc[:3]
    catalog = tmp_path / "three.tsv"
    _write_catalog(few, catalog, "sigprofiler", "\t")
    out = tmp_path / "out"
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", out, "--plots")
    assert result.returncode == 0, result.stderr
    assert "3 samples (SigProfiler layout" in result.stderr and "tab-separated" in result.stderr
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(f"{s}.png" for s in few.index)
    image = matplotlib.image.imread(out / "plots" / f"{few.index[0]}.png")
    assert image.shape[0] >= 250 and image.shape[1] >= 1000, image.shape
    # Not blank: the profile's colours are drawn.
    assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 20


# A tiny MAF with MC3's CONTEXT column (11 reference bases, the variant in the middle).  The
# hand-derived channel of each row is in its comment; purines are read from the other strand.
MAF_HEADER = ("Hugo_Symbol\tChromosome\tStart_Position\tVariant_Type\tReference_Allele\t"
              "Tumor_Seq_Allele1\tTumor_Seq_Allele2\tTumor_Sample_Barcode\tCONTEXT")
MAF_ROWS = [
    ("1", 100, "SNP", "C", "T", "T1", "GGGGACGTTTT"),  # A C G -> A[C>T]G
    ("1", 200, "SNP", "G", "A", "T1", "AAAACGTAAAA"),  # C G T -> revcomp A C G -> A[C>T]G
    ("2", 300, "SNP", "T", "C", "T1", "CCCCATGCCCC"),  # A T G -> A[T>C]G
    ("2", 400, "SNP", "A", "G", "T1", "TTTTCATTTTT"),  # C A T -> revcomp A T G -> A[T>C]G
    ("3", 500, "SNP", "C", "A", "T1", "GGGGTCAGGGG"),  # T C A -> T[C>A]A
    ("3", 600, "DEL", "C", "-", "T1", "GGGGTCAGGGG"),  # deletion: skipped
    ("4", 700, "SNP", "C", "G", "T2", "AAAACCCAAAA"),  # C C C -> C[C>G]C
    ("4", 800, "SNP", "G", "T", "T2", "AAAATGAAAAA"),  # T G A -> revcomp T C A -> T[C>A]A
]
MAF_EXPECTED = {"T1": {"A[C>T]G": 2, "A[T>C]G": 2, "T[C>A]A": 1}, "T2": {"C[C>G]C": 1, "T[C>A]A": 1}}


def _save_maf(rows, path: Path, context: bool = True) -> Path:
    header = MAF_HEADER if context else MAF_HEADER.rsplit("\t", 1)[0]
    lines = ["#version 2.4", header]
    # (chrom, pos, type, ref, alt, sample[, context]) -> Tumor_Seq_Allele1 = ref, Allele2 = alt.
    lines += ["\t".join(["GENE", c, str(p), t, r, r, a, *rest]) for c, p, t, r, a, *rest in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_command_on_a_maf(model_file, tmp_path):  # noqa: F811
    maf = _save_maf(MAF_ROWS, tmp_path / "tumours.maf")
    out = tmp_path / "out"
    result = run_predict("--model", model_file, "--maf", maf, "--out", out, "--min-mutations", 3)
    assert result.returncode == 0, result.stderr
    expected = pd.DataFrame(0, index=pd.Index(list(MAF_EXPECTED), name="sample"), columns=list(SBS96))
    for sample, channels in MAF_EXPECTED.items():
        for channel, n in channels.items():
            expected.loc[sample, channel] = n
    table = _read_output(out)
    check_prediction_table(table, expected, load_model(model_file), min_mutations=3, **TEXT)
    assert list(table["mutations"]) == [5, 2] and list(table["low_count"]) == [False, True]


# ---------------------------------------------------------------------------- bad input
def _catalog_text(counts: pd.DataFrame) -> list[list[str]]:
    """SigProfiler layout as a grid of strings, to spoil one cell."""
    grid = [["MutationType", *counts.index]]
    grid += [[channel, *map(str, counts[channel])] for channel in SBS96]
    return grid


def _save_grid(grid, path: Path) -> Path:
    path.write_text("\n".join("\t".join(row) for row in grid) + "\n")
    return path


def _save_text(text: str, path: Path) -> Path:
    path.write_text(text)
    return path


def _save_bytes(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


def _spoil(grid, row, col, value):
    grid[row][col] = value
    return grid


def _truncated(model_file: Path, path: Path) -> Path:
    data = model_file.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# Each case: (catalog maker, model maker, words the message must hold).  Makers take
# (good catalog grid, tmp_path) and (good model file, tmp_path).
BAD_INPUTS = {
    "misnamed_channel": (lambda g, t: _save_grid(_spoil(g, 5, 0, "A[C>X]A"), t / "c.tsv"), None,
                         ["line 6", "'A[C>X]A' is not an SBS96 channel"]),
    "wrong_channels": (lambda g, t: _save_grid(g[:-3], t / "c.tsv"), None,
                       ["3 of the 96 SBS96 channels are missing", "T[T>G]G"]),
    "non_numeric": (lambda g, t: _save_grid(_spoil(g, 10, 2, "ten"), t / "c.tsv"), None,
                    ["not a number", "'ten'", "line 11", "column 3"]),
    "negative": (lambda g, t: _save_grid(_spoil(g, 20, 1, "-4"), t / "c.tsv"), None,
                 ["negative count", "'-4'"]),
    "count_of_2_to_the_63": (lambda g, t: _save_grid(_spoil(g, 10, 2, str(2**63)), t / "c.tsv"), None,
                             ["count too large", f"'{2**63}'", "line 11", "column 3"]),
    "empty_file": (lambda g, t: _save_text("", t / "c.tsv"), None, ["the file is empty"]),
    "blank_lines_only": (lambda g, t: _save_text("\n \n", t / "c.tsv"), None, ["the file is empty"]),
    "header_only": (lambda g, t: _save_grid(g[:1], t / "c.tsv"), None, ["channels are missing"]),
    "duplicate_samples": (lambda g, t: _save_grid(_spoil(g, 0, 3, g[0][1]), t / "c.tsv"), None,
                          ["appears twice", "column 4"]),
    "gzipped_catalog": (lambda g, t: _save_bytes(gzip.compress(b"MutationType\tS1\n"), t / "c.tsv.gz"), None,
                        ["c.tsv.gz: not a UTF-8 text file", "uncompress"]),
    "missing_catalog": (lambda g, t: t / "nowhere.tsv", None, ["nowhere.tsv", "no such file"]),
    "corrupt_model": (None, lambda m, t: _truncated(m, t / "m.npz"), ["m.npz", "not a readable pssnmf model file"]),
    "other_version": (None, lambda m, t: rewrite_model(m, t / "m.npz", lambda i: i.update(format_version=99)),
                      ["m.npz", "format version 99"]),
    "other_channel_set": (None, lambda m, t: rewrite_model(m, t / "m.npz",
                                                            lambda i: i.update(channels=sorted(SBS96))),
                          ["m.npz", "channel labels are not the SBS96 channels"]),
    "missing_model": (None, lambda m, t: t / "none.npz", ["none.npz", "no such model file"]),
    "model_is_a_folder": (None, lambda m, t: t, ["a folder, not a model file"]),
    # --maf (a catalog maker returning a .maf path runs the command with --maf).
    "maf_without_context": (lambda g, t: _save_maf([r[:-1] for r in MAF_ROWS], t / "t.maf", context=False), None,
                            ["no CONTEXT column, and no reference FASTA given"]),
    "maf_position_not_a_number": (lambda g, t: _save_maf([MAF_ROWS[0], ("1", "2OO", *MAF_ROWS[1][2:])], t / "t.maf"),
                                  None, ["t.maf: line 4: Start_Position '2OO' is not a whole number"]),
    "maf_without_substitutions": (lambda g, t: _save_maf([r for r in MAF_ROWS if r[2] == "DEL"], t / "t.maf"),
                                  None, ["no single-base substitution", "1 not_sbs"]),
}


@pytest.fixture(scope="module")
def bad_input_runs(model_file, new_tumours, tmp_path_factory):  # noqa: F811
    """The command on each bad input (with --plots), run side by side: case -> (result, out)."""
    jobs, outs = {}, {}
    for case, (make_catalog, make_model, _) in BAD_INPUTS.items():
        folder = tmp_path_factory.mktemp(case)
        grid = _catalog_text(new_tumours.iloc[:4])
        catalog = make_catalog(grid, folder) if make_catalog else _save_grid(grid, folder / "good.tsv")
        model = make_model(model_file, folder) if make_model else model_file
        outs[case] = folder / "out"
        source = "--maf" if catalog.suffix == ".maf" else "--catalog"
        jobs[case] = ["--model", model, source, catalog, "--out", outs[case], "--plots"]
    return {case: (result, outs[case]) for case, result in run_many(jobs).items()}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_command_refuses_bad_input(case, bad_input_runs):
    result, out = bad_input_runs[case]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "pssnmf predict: error:" in result.stderr and "Traceback" not in result.stderr
    for word in BAD_INPUTS[case][2]:
        assert word in result.stderr, f"{word!r} not in: {result.stderr}"
    # No partial output: not even the folder (so no predictions.tsv, no plots).
    assert not out.exists(), sorted(out.rglob("*"))


def test_bad_input_does_not_touch_an_existing_out_folder(model_file, new_tumours, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    out.mkdir()
    catalog = _save_grid(_spoil(_catalog_text(new_tumours.iloc[:2]), 3, 1, "x"), tmp_path / "c.tsv")
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", out, "--plots")
    assert result.returncode == 2
    assert list(out.iterdir()) == []


def test_the_good_catalog_of_the_bad_input_cases_passes(model_file, new_tumours, tmp_path):  # noqa: F811
    """The bad-input tests spoil exactly one thing: unspoilt, the same files are accepted."""
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:4]), tmp_path / "good.tsv")
    rewritten = rewrite_model(model_file, tmp_path / "m.npz", lambda info: None)
    assert read_catalog(catalog).shape == (4, 96)
    result = run_predict("--model", rewritten, "--catalog", catalog, "--out", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_usage_errors_exit_2(model_file, tmp_path):  # noqa: F811
    result = run_predict("--model", model_file, "--out", tmp_path / "out")
    assert result.returncode == 2 and "--catalog" in result.stderr
    result = run_predict("--model", model_file, "--catalog", "x.tsv", "--out", tmp_path / "o", "--min-mutations", "-1")
    assert result.returncode == 2 and "--min-mutations must be >= 0" in result.stderr
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------- the output folder
def test_command_never_overwrites_what_it_did_not_write(model_file, new_tumours, tmp_path):  # noqa: F811
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:2]), tmp_path / "c.tsv")
    out = tmp_path / "out"
    (out / "plots").mkdir(parents=True)
    (out / "predictions.tsv").write_text("the user's own table\n")
    (out / "plots" / "notes.txt").write_text("the user's notes\n")
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", out, "--plots")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{out}: the output folder is not empty (plots, predictions.tsv)" in result.stderr
    assert "--overwrite" in result.stderr
    assert (out / "predictions.tsv").read_text() == "the user's own table\n"
    assert sorted(p.name for p in out.rglob("*")) == ["notes.txt", "plots", "predictions.tsv"]
    # A folder holding only someone else's file is refused the same way.
    other = tmp_path / "other"
    other.mkdir()
    (other / "draft.txt").write_text("x")
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", other)
    assert result.returncode == 2 and "draft.txt" in result.stderr
    assert [p.name for p in other.iterdir()] == ["draft.txt"]
    # --overwrite replaces the command's own outputs and nothing else.
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", out, "--plots", "--overwrite")
    assert result.returncode == 0, result.stderr
    check_prediction_table(_read_output(out), new_tumours.iloc[:2], load_model(model_file), **TEXT)
    assert (out / "plots" / "notes.txt").read_text() == "the user's notes\n"
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(
        ["notes.txt", *(f"{s}.png" for s in new_tumours.index[:2])])
    assert "holds 1 file(s) this run did not write (left as they are), e.g. notes.txt" in result.stderr


def test_command_refuses_an_empty_out_name(model_file, new_tumours, tmp_path):  # noqa: F811
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:2]), tmp_path / "c.tsv")
    result = subprocess.run([_command(), "predict", "--model", str(model_file), "--catalog", "c.tsv", "--out", ""],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "empty name (--out '')" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [catalog.name]


def test_sigterm_during_plots_leaves_nothing_behind(model_file, new_tumours, tmp_path):  # noqa: F811
    """Killed while drawing the figures: no hidden staging folder, no table, the new folder gone;
    in a folder of an earlier run (--overwrite), that run's files stay as they were."""
    import signal
    import time

    catalog = _save_grid(_catalog_text(new_tumours), tmp_path / "c.tsv")
    earlier = tmp_path / "earlier"
    assert run_predict("--model", model_file, "--catalog", _save_grid(_catalog_text(new_tumours.iloc[:1]),
                       tmp_path / "one.tsv"), "--out", earlier, "--plots").returncode == 0
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    for out, extra in ((tmp_path / "new", []), (earlier, ["--overwrite"])):
        process = subprocess.Popen([_command(), "predict", "--model", str(model_file), "--catalog", str(catalog),
                                    "--out", str(out), "--plots", *extra], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not list(out.glob(".pssnmf-predict.*/plots/*.png")) and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stderr = process.communicate(timeout=60)[1]
        assert process.returncode == 128 + signal.SIGTERM, stderr
        assert "stopped by SIGTERM; nothing was written" in stderr and "Traceback" not in stderr
        if out == earlier:
            assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
            assert sorted(p.name for p in out.iterdir()) == ["contributions.tsv", "plots", "predictions.tsv"]
        else:
            assert not out.exists(), sorted(out.rglob("*"))


def test_command_plots_samples_with_very_long_names(model_file, new_tumours, tmp_path):  # noqa: F811
    """300-character sample IDs (two alike in their first 299): bounded, distinct plot files,
    and the table keeps the IDs whole."""
    long = ["S" * 300, "S" * 299 + "T", "a/b"]
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:3].set_axis(long)), tmp_path / "c.tsv")
    out = tmp_path / "out"
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", out, "--plots")
    assert result.returncode == 0, result.stderr
    assert list(_read_output(out)["sample"]) == long
    files = sorted(p.name for p in (out / "plots").iterdir())
    assert len(files) == 3 and all(len(name) <= 110 for name in files) and "a_b.png" in files


def _fasta_of_contexts(rows, path: Path, width: int) -> Path:
    """A reference whose bases around each row of a MAF_ROWS-like list are its CONTEXT column."""
    sequences: dict[str, list[str]] = {}
    for chrom, position, *_, context in rows:
        bases = sequences.setdefault(chrom, ["A"] * 1000)
        bases[position - 6 : position + 5] = list(context)
    text = "".join(f">{chrom}\n" + "".join("".join(b[i:i + width]) + "\n" for i in range(0, len(b), width))
                   for chrom, b in sequences.items())
    path.write_text(text)
    return path


def test_command_warns_of_a_stale_index_and_of_reference_mismatches(model_file, tmp_path):  # noqa: F811
    import os

    maf = _save_maf([r[:-1] for r in MAF_ROWS], tmp_path / "t.maf", context=False)
    fasta = _fasta_of_contexts(MAF_ROWS, tmp_path / "ref.fa", 60)
    first = run_predict("--model", model_file, "--maf", maf, "--fasta", fasta, "--out", tmp_path / "fresh",
                        "--min-mutations", 3)
    assert first.returncode == 0 and "WARNING" not in first.stderr, first.stderr
    fai = Path(str(fasta) + ".fai")
    _fasta_of_contexts(MAF_ROWS, fasta, 50)  # rewritten, another line width; the old index kept, newer
    os.utime(fai, (fasta.stat().st_mtime + 10,) * 2)
    stale = run_predict("--model", model_file, "--maf", maf, "--fasta", fasta, "--out", tmp_path / "stale",
                        "--min-mutations", 3)
    assert stale.returncode == 0, stale.stderr
    assert f"WARNING: {fai} does not fit {fasta}" in stale.stderr
    assert (tmp_path / "stale" / "predictions.tsv").read_bytes() == (tmp_path / "fresh" / "predictions.tsv").read_bytes()
    # A reference of another build (T around the first four; the third is a T>C): said with the count.
    wrong = _fasta_of_contexts([(c, p, *rest[:-1], "T" * 11) for c, p, *rest in MAF_ROWS[:4]] + MAF_ROWS[4:],
                               tmp_path / "other.fa", 60)
    result = run_predict("--model", model_file, "--maf", maf, "--fasta", wrong, "--out", tmp_path / "wrong",
                         "--min-mutations", 1)
    assert result.returncode == 0, result.stderr
    assert "WARNING: " in result.stderr and "3 of 7 substitutions (43 %) have a reference allele that disagrees" \
        in result.stderr


def test_prediction_imports_neither_scikit_learn_nor_matplotlib(model_file, new_tumours, tmp_path):  # noqa: F811
    """The command's start-up was mostly scikit-learn (benchmarks/RESULTS.md, "Predict"): a model
    file is read and applied without it, without matplotlib (no --plots) and scipy.optimize."""
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:4]), tmp_path / "c.tsv")
    script = ("import sys; from pssnmf.cli import main; "
              f"status = main(['predict', '--model', {str(model_file)!r}, '--catalog', {str(catalog)!r}, "
              f"'--out', {str(tmp_path / 'out')!r}, '-q']); "
              "print(status, sorted(m for m in ('sklearn', 'matplotlib', 'scipy.optimize') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "0 []", (result.stdout, result.stderr)
