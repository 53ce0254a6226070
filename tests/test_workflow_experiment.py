"""The experiment end to end, for real: config/test.yaml on the real data, through every stage.

One run with ``--cores 2`` makes the data and Table 1; a second run with ``--cores 1`` is
killed midway (SIGKILL, the whole process group), restarted, and must redo nothing it had
finished and end with the same results, bit for bit; a third runs its jobs through a real
SLURM controller on localhost (started by ``.ci/slurm-up.sh``) and must give the same bits.
The second and third build one task and split each (every rule of the experiment, from the
folds to the final fits of every model): the whole experiment again at one core and again
on SLURM cost CI 20 minutes, and a quarter of it runs the same rules on the same code.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _workflow import PROJECT, run_snakemake, snakemake_command

# The experiment's own targets: the determinism runs build these, not the figures.
EXPERIMENT_TARGETS = ("results/tables/table1.tsv", "results/tables/table1.md")

pytestmark = pytest.mark.slow


_snakemake = snakemake_command
_run = run_snakemake


def _slice_targets(task: str, split: str) -> list[str]:
    """The final fit of every model and baseline of one task and split at 50 % unlabelled: every
    rule of the experiment runs for them (folds, grid, selection, pseudo-label thresholds, final)."""
    return [f"results/final/{task}/{split}/u0.5/{model}.tsv" for model in NMF_MODELS + BASELINES]


def _result_files(workdir: Path, task_split: tuple[str, str] | None = None) -> dict[str, Path]:
    """Every results file whose bytes must not depend on how the jobs were run (of one task and
    split where given, else of the whole experiment and its Table 1).

    Timings (``*.timings.tsv``) and logs hold wall-clock seconds and are left out.
    """
    out = {}
    for sub in ("folds", "fits", "select", "final"):
        root = workdir / "results" / sub
        if task_split is not None:
            root = root.joinpath(*task_split)
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".timings.tsv"):
                out[str(path.relative_to(workdir))] = path
    if task_split is None:
        for name in EXPERIMENT_TARGETS:
            out[name] = workdir / name
    return out


def _assert_same_results(a: Path, b: Path, task_split: tuple[str, str] | None = None) -> None:
    files_a, files_b = _result_files(a, task_split), _result_files(b, task_split)
    assert files_a, f"no result files in {a} for {task_split}"
    assert sorted(files_a) == sorted(files_b), (
        f"different result files: only in {a}: {sorted(set(files_a) - set(files_b))[:5]}, "
        f"only in {b}: {sorted(set(files_b) - set(files_a))[:5]}"
    )
    differ = [name for name in files_a if not filecmp.cmp(files_a[name], files_b[name], shallow=False)]
    assert not differ, f"{len(differ)} result files differ between {a} and {b}, e.g. {differ[:5]}"


def _seed_data(source: Path, target: Path) -> None:
    """Give a run the data stage's outputs of an earlier run (copied with their times)."""
    for sub in ("results/data", "results/downloads"):
        if (source / sub).exists():
            shutil.copytree(source / sub, target / sub)


@pytest.fixture(scope="module")
def cores2_run(workflow_run: Path) -> Path:
    """The session's one real ``--cores 2`` run of the whole workflow (tests/conftest.py)."""
    return workflow_run


NMF_MODELS = ["S-NMF", "SS-NMF", "SS-NMF-UR", "PSS-NMF", "PSS-NMF-UR",
              # the pseudo-labelling variants (config/test.yaml runs them all)
              "PSS-NMF-vote", "PSS-NMF-soft", "PSS-NMF-revisable", "PSS-NMF-UR-half"]
BASELINES = ["LR-96", "NMF+LR", "COSMIC+LR"]


def test_table1_covers_every_task_model_and_split(cores2_run: Path) -> None:
    table = pd.read_csv(cores2_run / "results/tables/table1.tsv", sep="\t")
    combos = set(zip(table["task"], table["split_mode"], table["model"]))
    expected = {(t, s, m) for t in ("ddrd", "cancer_type") for s in ("grouped", "paper")
                for m in NMF_MODELS + BASELINES}
    assert combos == expected, f"Table 1 rows: {sorted(combos)}"
    # Scores are real fractions with intervals around them, never NaN for the chosen models
    # (baselines have no stability: no restarts).
    nmf = table["model"].isin(NMF_MODELS)
    for column in ("stability", "cellline_f1", "tcga_f1"):
        rows = table[nmf] if column == "stability" else table
        assert rows[column].between(0, 1).all(), rows[[column]]
        low, high = rows[f"{column}_low"], rows[f"{column}_high"]
        assert ((low <= rows[column] + 1e-12) & (rows[column] <= high + 1e-12)).all(), column
    assert (cores2_run / "results/tables/table1.md").read_text().count("|") > 100


def test_table1_baseline_rows_and_spread_over_seeds(cores2_run: Path) -> None:
    """config/test.yaml runs the three baselines and two seeds per final fit: Table 1 has the baseline
    rows for both tasks with finite scores and intervals, and the spread of every score over the seeds."""
    table = pd.read_csv(cores2_run / "results/tables/table1.tsv", sep="\t")
    assert (table["n_replicates"] == 2).all()
    base = table[table["model"].isin(BASELINES)]
    assert sorted(set(base["task"])) == ["cancer_type", "ddrd"]
    for column in ("cellline_accuracy", "cellline_f1", "tcga_accuracy", "tcga_f1"):
        for suffix in ("", "_low", "_high", "_seed_sd", "_seed_min", "_seed_max"):
            assert np.isfinite(table[column + suffix]).all(), (column + suffix, table[["model", column + suffix]])
        assert (table[f"{column}_seed_min"] <= table[column] + 1e-12).all()
        assert (table[column] <= table[f"{column}_seed_max"] + 1e-12).all()
    assert base["stability"].isna().all() and base[["lambda_c", "lambda_l2", "paper_tcga_f1"]].isna().all().all()
    # NMF+LR's K is the chosen S-NMF point's (the workflow's rule); the other baselines have none.
    keyed = table.set_index(["task", "split_mode", "model"])
    for task in ("ddrd", "cancer_type"):
        for split in ("grouped", "paper"):
            assert keyed.loc[(task, split, "NMF+LR"), "K"] == keyed.loc[(task, split, "S-NMF"), "K"]
            assert np.isnan(keyed.loc[(task, split, "LR-96"), "K"]) and np.isnan(keyed.loc[(task, split,
                                                                                           "COSMIC+LR"), "K"])
    markdown = (cores2_run / "results/tables/table1.md").read_text()
    for model in BASELINES:
        assert markdown.count(f"| 50% | {model} |") == 4, model
    assert "mean over 2 seeds" in markdown


def test_baseline_models_reproduce_their_test_predictions(cores2_run: Path) -> None:
    """The saved baselines (no pickle) give the test-set probabilities the final fit wrote."""
    from pssnmf.baselines import load_baseline
    from pssnmf.folds import load_fold

    for task in ("ddrd", "cancer_type"):
        data = load_fold(cores2_run / f"results/folds/{task}/grouped", 0.5, "test")
        for model_name in BASELINES:
            final = cores2_run / f"results/final/{task}/grouped/u0.5"
            predictions = pd.read_csv(final / f"{model_name}.predictions.tsv", sep="\t", keep_default_na=False)
            for replicate, rows in predictions.groupby("replicate"):
                paths = sorted((final / f"{model_name}.models").glob(f"*_foldtest{'_r1' if replicate else ''}.npz"))
                assert len(paths) == 1, paths
                model = load_baseline(paths[0])
                assert list(rows["row_id"]) == list(data.eval["row_id"])
                stored = rows[[f"probability_{c}" for c in model.classes_]].to_numpy(dtype=np.float64)
                np.testing.assert_allclose(model.predict_proba(data.X_eval), stored, rtol=0, atol=1e-12)


def test_final_predictions_match_the_test_set(cores2_run: Path) -> None:
    """Every test-set row of the folds is predicted once per seed by each final model, with its truth."""
    for task in ("ddrd", "cancer_type"):
        membership = pd.read_csv(cores2_run / f"results/folds/{task}/grouped/membership.tsv", sep="\t",
                                 dtype=str, keep_default_na=False)
        test_rows = membership[(membership["set"] == "test") & (membership["proportion"] == "0.5")]
        predictions = pd.read_csv(cores2_run / f"results/final/{task}/grouped/u0.5/SS-NMF.predictions.tsv",
                                  sep="\t", dtype={"row_id": str})
        for _, seed_rows in predictions.groupby("replicate"):
            assert sorted(seed_rows["row_id"]) == sorted(test_rows["row_id"])
        assert sorted(predictions["replicate"].unique()) == [0, 1]  # config/test.yaml: 2 seeds
        probabilities = predictions.filter(like="probability_")
        assert (probabilities.sum(axis=1) - 1).abs().max() < 1e-9


def test_a_variant_differs_from_its_paper_model_only_by_its_rule(cores2_run: Path) -> None:
    """Variants draw the seeds of the model they modify: where revisable pseudo-labelling withdrew
    nothing, PSS-NMF-revisable is PSS-NMF bit for bit; the other variants' rules do change the fit."""
    from pssnmf.model import load_model

    identical = 0
    for task in ("ddrd", "cancer_type"):
        for split in ("grouped", "paper"):
            final = cores2_run / f"results/final/{task}/{split}/u0.5"
            plain = pd.read_csv(final / "PSS-NMF.predictions.tsv", sep="\t")
            models = sorted((final / "PSS-NMF-revisable.models").glob("*.npz"))
            revised = sum(len(load_model(path).pseudo_label_revisions_) for path in models)
            revisable = pd.read_csv(final / "PSS-NMF-revisable.predictions.tsv", sep="\t")
            if revised == 0:  # everything but the model's name
                pd.testing.assert_frame_equal(plain.drop(columns="model"), revisable.drop(columns="model"))
                identical += 1
            soft = pd.read_csv(final / "PSS-NMF-soft.predictions.tsv", sep="\t")
            probabilities = [c for c in plain.columns if c.startswith("probability_")]
            given = load_model(sorted((final / "PSS-NMF.models").glob("*.npz"))[0]).pseudo_labels_
            if (given["probability"] < 1).any():  # soft weights < 1: the fit must move
                assert not np.array_equal(plain[probabilities].to_numpy(), soft[probabilities].to_numpy()), \
                    (task, split, "soft pseudo-labels changed nothing although pseudo-labels were given")
    assert identical > 0, "every revisable fit revised a label: the identity check never ran"


def _finished_outputs(log: Path, workdir: Path) -> list[Path]:
    """Outputs of the jobs that Snakemake's log reports finished (``Finished jobid: N``)."""
    outputs: dict[str, list[str]] = {}
    pending: list[str] = []
    finished: list[Path] = []
    for line in log.read_text().splitlines():
        text = line.strip()
        if text.startswith("output:"):
            pending = [item.strip() for item in text[len("output:"):].split(",")]
        elif text.startswith("jobid:"):
            outputs[text.split(":", 1)[1].strip()] = pending
            pending = []
        elif text.startswith("Finished jobid:"):
            jobid = text.split(":", 1)[1].split("(")[0].strip()
            finished += [workdir / name for name in outputs.get(jobid, [])]
    return [path for path in finished if path.is_file()]


def test_killed_run_resumes_without_redoing_work(cores2_run: Path, tmp_path: Path) -> None:
    """--cores 1, SIGKILL midway, restart: finished jobs are not redone; results equal --cores 2's
    (DDRd, grouped split: every rule of the experiment)."""
    workdir = tmp_path / "cores1"
    workdir.mkdir()
    _seed_data(cores2_run, workdir)
    cmd = _snakemake(workdir, *_slice_targets("ddrd", "grouped"), "--cores", "1", "--rerun-triggers", "mtime")
    first = workdir / "first.log"
    log = open(first, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    fits = workdir / "results" / "fits"
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if fits.exists() and len([p for p in fits.rglob("*.tsv") if "timings" not in p.name]) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed midway"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        log.close()
    finished = {p: p.stat().st_mtime_ns for p in _finished_outputs(first, workdir) if "fits" in p.parts}
    assert finished, f"no fit job had finished before the kill:\n{first.read_text()[-2000:]}"

    subprocess.run(_snakemake(workdir, "--unlock"), check=True, capture_output=True)
    _run(cmd + ["--rerun-incomplete"], workdir / "second.log")
    redone = [str(p) for p, mtime in finished.items() if p.stat().st_mtime_ns != mtime]
    assert not redone, f"outputs of finished jobs were redone after the restart: {redone[:5]}"
    _assert_same_results(cores2_run, workdir, ("ddrd", "grouped"))


def _slurm_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    probe = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return probe.returncode == 0 and any(s.strip() in ("idle", "mix", "alloc") for s in probe.stdout.split())


@pytest.mark.slurm
def test_slurm_run_gives_the_same_results(cores2_run: Path, tmp_path: Path) -> None:
    if not _slurm_up():
        if os.environ.get("PSSNMF_REQUIRE_SLURM"):
            pytest.fail("PSSNMF_REQUIRE_SLURM is set but no SLURM controller answers on localhost")
        pytest.skip("no SLURM controller on localhost (start one with .ci/slurm-up.sh, as root)")
    workdir = tmp_path / "slurm"
    workdir.mkdir()
    _seed_data(cores2_run, workdir)
    cmd = _snakemake(
        workdir, *_slice_targets("cancer_type", "paper"), "--workflow-profile", str(PROJECT / "workflow/profiles/slurm"),
        # The test's jobs last a few seconds.  The SLURM plugin checks 'init' seconds after a round
        # that saw a job finish, 10 s later each round that saw none: with the profile's 5 s and 4
        # jobs in flight, the run moved in 20 s rounds of 4 jobs (14.5 min on 2 cores).  A 1 s start
        # and 8 jobs in flight keep SLURM's queue from running dry between two checks.
        "--jobs", "8", "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
        "--rerun-triggers", "mtime",
    )
    _run(cmd, workdir / "snakemake.log", timeout=1200)
    log = (workdir / "snakemake.log").read_text()
    # The profile submits the fit rules as job arrays (slurm-array-jobs): one sbatch per rule and
    # batch of ready jobs; the other rules go one sbatch per job.
    arrays = re.findall(r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID (\d+)", log)
    assert arrays and all(len(ids.split(",")) > 1 for ids, _ in arrays), "no fit rule went out as an array"
    assert "has been submitted with SLURM jobid" in log, "no single job went through SLURM"
    print(f"SLURM: {len(arrays)} arrays of {sum(len(ids.split(',')) for ids, _ in arrays)} jobs, "
          f"{log.count('has been submitted with SLURM jobid')} single jobs")
    _assert_same_results(cores2_run, workdir, ("cancer_type", "paper"))
