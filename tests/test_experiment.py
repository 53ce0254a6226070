"""The experiment end to end on a tiny real problem: folds -> fit batches -> selection -> ct sweep ->
final fits -> Table 1, through the command line the workflow calls, with determinism checks."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from _task_inputs import cancer_type_inputs
from pssnmf.experiment import Point, fill_from_optimum, fit_seed, main, parse_point
from pssnmf.model import load_model

SEED = 21
FIT = ["--n-restarts", "3", "--max-epochs", "60", "--min-epochs", "20"]


def test_parse_point_and_point_id():
    p = parse_point("model=PSS-NMF,K=5,lambda_c=0.1,lambda_l2=0.0001,ct=0.6,fold=test")
    assert p == Point("PSS-NMF", 5, 0.1, 1e-4, 0.6, "test", 0)
    assert p.point_id == "PSS-NMF_K5_lc0.1_l20.0001_ct0.6_foldtest"
    with pytest.raises(ValueError, match="takes no confidence_threshold"):
        parse_point("model=S-NMF,K=5,lambda_c=0.1,lambda_l2=0.001,ct=0.5")
    with pytest.raises(ValueError, match="unknown key"):
        parse_point("model=S-NMF,k=5")


def test_fit_seed_is_stable_across_processes_and_distinct_per_fit():
    point = Point("SS-NMF", 5, 0.1, 1e-3, None, "1")
    here = fit_seed(SEED, "ddrd", "grouped", 0.5, point)
    code = ("from pssnmf.experiment import Point, fit_seed; "
            f"print(fit_seed({SEED}, 'ddrd', 'grouped', 0.5, Point('SS-NMF', 5, 0.1, 1e-3, None, '1')))")
    # A fresh interpreter has another hash salt: equal seeds prove hash() plays no part.
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert int(other.stdout) == here
    others = {fit_seed(SEED, "ddrd", "grouped", 0.5, Point("SS-NMF", 5, 0.1, 1e-3, None, f)) for f in "012"}
    others |= {fit_seed(SEED, "ddrd", "paper", 0.5, point), fit_seed(SEED, "ddrd", "grouped", 0.33, point),
               fit_seed(SEED + 1, "ddrd", "grouped", 0.5, point)}
    assert len(others) == 6


def test_fill_from_optimum_uses_own_row_else_the_ss_base():
    optimum = pd.DataFrame([
        {"task": "t", "split_mode": "grouped", "proportion": 0.5, "model": "SS-NMF", "K": 4, "lambda_c": 0.25,
         "lambda_l2": 0.01, "confidence_threshold": np.nan},
        {"task": "t", "split_mode": "grouped", "proportion": 0.5, "model": "PSS-NMF", "K": 4, "lambda_c": 0.25,
         "lambda_l2": 0.01, "confidence_threshold": 0.35},
    ])
    sweep = fill_from_optimum([Point("PSS-NMF", confidence_threshold=0.9, fold="2")], optimum, "t", "grouped", 0.5)
    assert sweep == [Point("PSS-NMF", 4, 0.25, 0.01, 0.9, "2")]
    final = fill_from_optimum([Point("PSS-NMF", fold="test")], optimum, "t", "grouped", 0.5)
    assert final == [Point("PSS-NMF", 4, 0.25, 0.01, 0.35, "test")]
    with pytest.raises(ValueError, match="no single chosen point"):
        fill_from_optimum([Point("PSS-NMF-UR", fold="0")], optimum, "t", "grouped", 0.5)


@pytest.fixture(scope="module")
def fold_dir(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("experiment")
    catalog, samples = cancer_type_inputs(data_dir, root / "inputs", tumours_per_type=40)
    out = root / "folds"
    assert main(["-q", "folds", "--catalog", str(catalog), "--samples", str(samples), "--out-dir", str(out),
                 "--task", "cancer_type", "--split-mode", "grouped", "--seed", str(SEED), "--per-class", "6",
                 "--test-per-class", "10", "--proportions", "0.33", "0.5"]) == 0
    return out


def _fit(fold_dir, out, points, threads=1, extra=()):
    args = ["-q", "fit", "--fold-dir", str(fold_dir), "--task", "cancer_type", "--split-mode", "grouped",
            "--proportion", "0.5", "--seed", str(SEED), "--metrics-out", str(out / "metrics.tsv"),
            "--timings-out", str(out / "timings.tsv"), "--models-dir", str(out / "models"),
            "--threads", str(threads), *FIT, *extra]
    for p in points:
        args += ["--point", p]
    assert main(args) == 0
    return out / "metrics.tsv"


def test_fit_batch_is_bit_identical_whatever_the_thread_count(fold_dir, tmp_path):
    points = ["model=SS-NMF,K=3,lambda_c=0.1,lambda_l2=0.001,fold=0",
              "model=PSS-NMF-UR,K=3,lambda_c=0.5,lambda_l2=0.001,ct=0.4,fold=1"]
    one = _fit(fold_dir, tmp_path / "one", points, threads=1)
    two = _fit(fold_dir, tmp_path / "two", points, threads=2)
    assert one.read_bytes() == two.read_bytes()
    metrics = pd.read_csv(one, sep="\t")
    assert len(metrics) == 2 and "fit_seconds" not in metrics.columns
    assert metrics["stability"].between(-1, 1).all()
    assert metrics["cellline_accuracy"].between(0, 1).all()
    timings = pd.read_csv(tmp_path / "one" / "timings.tsv", sep="\t")
    assert list(timings["point_id"]) == list(metrics["point_id"]) and (timings["fit_seconds"] > 0).all()
    for point_id in metrics["point_id"]:
        model = load_model(tmp_path / "one" / "models" / f"{point_id}.npz")
        assert model.signatures_.shape == (3, 96)
    # Batching does not change a fit: the second point alone gives the same row.
    alone = _fit(fold_dir, tmp_path / "alone", points[1:])
    assert pd.read_csv(alone, sep="\t").iloc[0].equals(metrics.iloc[1])


def test_experiment_end_to_end(fold_dir, tmp_path):
    grid = [f"model={m},K={k},lambda_c={lc},lambda_l2=0.001,fold={f}"
            for m in ("S-NMF", "SS-NMF", "SS-NMF-UR") for k in (2, 3) for lc in (0.1, 0.5) for f in (0, 1, 2)]
    stage1 = _fit(fold_dir, tmp_path / "grid", grid)
    ss = tmp_path / "ss_chosen.tsv"
    assert main(["-q", "select", "--metrics", str(stage1), "--summary-out", str(tmp_path / "ss_summary.tsv"),
                 "--chosen-out", str(ss), "--n-folds", "3", "--models", "SS-NMF", "SS-NMF-UR"]) == 0
    chosen_ss = pd.read_csv(ss, sep="\t")
    assert sorted(chosen_ss["model"]) == ["SS-NMF", "SS-NMF-UR"]

    sweep = [f"model={m},ct={ct},fold={f}" for m in ("PSS-NMF", "PSS-NMF-UR") for ct in (0.3, 0.6) for f in (0, 1, 2)]
    stage2 = _fit(fold_dir, tmp_path / "sweep", sweep, extra=["--optimum", str(ss)])
    swept = pd.read_csv(stage2, sep="\t")
    for model, base in (("PSS-NMF", "SS-NMF"), ("PSS-NMF-UR", "SS-NMF-UR")):
        b = chosen_ss[chosen_ss["model"] == base].iloc[0]
        assert (swept.loc[swept["model"] == model, ["K", "lambda_c", "lambda_l2"]] == b[["K", "lambda_c",
                                                                                          "lambda_l2"]]).all().all()

    chosen = tmp_path / "chosen.tsv"
    assert main(["-q", "select", "--metrics", str(stage1), str(stage2), "--summary-out",
                 str(tmp_path / "summary.tsv"), "--chosen-out", str(chosen), "--n-folds", "3"]) == 0
    chosen_all = pd.read_csv(chosen, sep="\t")
    assert len(chosen_all) == 5
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert {"mean_stability", "sd_cellline_accuracy", "on_front", "stability_threshold_met"} <= set(summary.columns)

    final = tmp_path / "final"
    finals = [f"model={m},fold=test" for m in ("S-NMF", "SS-NMF", "SS-NMF-UR", "PSS-NMF", "PSS-NMF-UR")]
    _fit(fold_dir, final, finals, extra=["--optimum", str(chosen), "--predictions-out",
                                         str(final / "predictions.tsv"), "--replicates", "2"])
    predictions = pd.read_csv(final / "predictions.tsv", sep="\t", keep_default_na=False)
    assert {"sample", "source", "truth", "predicted", "probability_LUAD", "replicate"} <= set(predictions.columns)
    assert sorted(predictions["replicate"].unique()) == [0, 1]

    args = ["-q", "table1", "--metrics", str(final / "metrics.tsv"), "--predictions", str(final / "predictions.tsv"),
            "--n-boot", "200"]
    assert main(args + ["--out-tsv", str(tmp_path / "t1.tsv"), "--out-md", str(tmp_path / "t1.md")]) == 0
    assert main(args + ["--out-tsv", str(tmp_path / "t1b.tsv"), "--out-md", str(tmp_path / "t1b.md")]) == 0
    assert (tmp_path / "t1.tsv").read_bytes() == (tmp_path / "t1b.tsv").read_bytes()
    table = pd.read_csv(tmp_path / "t1.tsv", sep="\t")
    assert len(table) == 5 and (table["n_replicates"] == 2).all()
    assert (table["cellline_f1_low"] <= table["cellline_f1_high"]).all()
    # The paper's numbers sit beside ours (SS-NMF at 50 % has a row in the paper's table).
    ss_row = table[table["model"] == "SS-NMF"].iloc[0]
    assert not np.isnan(ss_row["paper_tcga_f1"]) and np.isnan(table[table["model"] == "SS-NMF-UR"].iloc[0][
        "paper_tcga_f1"])
    assert "| 50% | PSS-NMF |" in (tmp_path / "t1.md").read_text()


def test_cli_reports_bad_input_with_exit_status_2(fold_dir, tmp_path, capsys):
    status = main(["fit", "--fold-dir", str(fold_dir), "--task", "cancer_type", "--split-mode", "grouped",
                   "--proportion", "0.25", "--seed", "1", "--metrics-out", str(tmp_path / "m.tsv"),
                   "--point", "model=S-NMF,K=2,lambda_c=0.1,lambda_l2=0.001,fold=0"])
    error = capsys.readouterr().err
    assert status == 2 and "python -m pssnmf.experiment: error: " in error and "proportion 0.25" in error
    assert not (tmp_path / "m.tsv").exists()


def test_pseudo_label_variants_are_models_with_their_estimator_options():
    from pssnmf.experiment import FitSettings, Point, make_model
    from pssnmf.models import REGISTRY, spec

    variants = [entry for entry in REGISTRY if entry.options]
    assert variants
    for entry in variants:
        assert entry.kind == "pseudo_label" and entry.base is not None
        model = make_model(Point(entry.name, 4, 0.1, 1e-4, 0.5, "0"), 7, FitSettings(n_restarts=2))
        for key, value in entry.options.items():
            assert model.get_params()[key] == value, (entry.name, key)
        # everything else as the paper's PSS model on the same base
        plain = make_model(Point(entry.seeds_from, 4, 0.1, 1e-4, 0.5, "0"), 7, FitSettings(n_restarts=2)).get_params()
        assert spec(entry.seeds_from).base == entry.base
        assert {k: v for k, v in model.get_params().items() if k not in entry.options} == \
            {k: v for k, v in plain.items() if k not in entry.options}


def test_variants_share_the_seeds_of_the_model_they_modify():
    from pssnmf.models import REGISTRY

    variants = [(entry.name, entry.seeds_from) for entry in REGISTRY if entry.seeds_from]
    assert len(variants) == 4
    for variant, model in variants:
        point = Point(variant, 4, 0.1, 1e-4, 0.5, "1", 1)
        assert fit_seed(SEED, "ddrd", "grouped", 0.5, point) == fit_seed(
            SEED, "ddrd", "grouped", 0.5, Point(model, 4, 0.1, 1e-4, 0.5, "1", 1))
    assert fit_seed(SEED, "ddrd", "grouped", 0.5, Point("PSS-NMF", 4, 0.1, 1e-4, 0.5, "1")) != fit_seed(
        SEED, "ddrd", "grouped", 0.5, Point("PSS-NMF-UR", 4, 0.1, 1e-4, 0.5, "1"))


def _job(**extra):
    return {"stage": "grid", "task": "cancer_type", "split_mode": "grouped", "proportion": 0.5, "model": "SS-NMF",
            "seed": SEED, "fold_dir": "folds", "fit": {"n_restarts": 2, "solver": "bcd", "max_epochs": 40},
            "K": 3, "folds": ["0", "1"], "grid": {"lambda_c": [0.1, 1], "lambda_l2": [1e-4]}, **extra}


def test_a_job_spec_plans_the_grid_fold_first_with_typed_values():
    from pssnmf.experiment import FitSettings, plan

    job = plan(_job())
    assert [p.point_id for p in job.points] == [
        "SS-NMF_K3_lc0.1_l20.0001_ctNA_fold0", "SS-NMF_K3_lc1.0_l20.0001_ctNA_fold0",
        "SS-NMF_K3_lc0.1_l20.0001_ctNA_fold1", "SS-NMF_K3_lc1.0_l20.0001_ctNA_fold1"]
    assert job.settings == FitSettings(n_restarts=2, solver="bcd", max_epochs=40) and job.opportunity is None
    # The same points as the flags of `fit` give (parse_point), so the files are the same bytes.
    assert list(job.points) == [parse_point(f"model=SS-NMF,K=3,lambda_c={lc},lambda_l2=0.0001,fold={f}")
                                for f in ("0", "1") for lc in ("0.1", "1")]
    final = plan(_job(stage="final", model="LR-96", fit={}, replicates=2, K=None, folds=None, grid=None))
    assert [(p.model, p.fold, p.replicate) for p in final.points] == [("LR-96", "test", 0), ("LR-96", "test", 1)]


@pytest.mark.parametrize(("change", "message"), [
    ({"stage": "fit"}, "stage must be one of grid, ct, final"),
    ({"stage": "ct"}, "a ct job cannot fit SS-NMF"),
    ({"model": "SSNMF"}, "unknown model 'SSNMF'"),
    ({"lambda_c": [1]}, "unknown key(s) ['lambda_c']"),
    ({"fit": {"max_epoch": 3}}, "fit has unknown key(s) ['max_epoch']"),
])
def test_a_bad_job_spec_is_refused_naming_the_key(change, message):
    from pssnmf.experiment import plan

    with pytest.raises(ValueError, match=re.escape(message)):
        plan(_job(**change))


def test_the_job_command_refuses_a_spec_that_is_not_a_json_object(tmp_path, capsys):
    for spec, said in (("{nope", "--spec: not a JSON object"), ("[1]", "expected a JSON object, got list")):
        assert main(["job", "--spec", spec, "--metrics-out", str(tmp_path / "m.tsv")]) == 2
        assert said in capsys.readouterr().err
    assert not (tmp_path / "m.tsv").exists()
