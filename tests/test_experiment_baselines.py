"""Baselines in the experiment protocol and the spread of Table 1 over seeds, on a small real problem.

The baselines (LR-96, NMF+LR, COSMIC+LR) are fitted by the same batch runner as the NMF models, on the
same fold, scored into the same metrics columns, saved without pickle, and land in Table 1; Table 1's
per-seed spread is checked against scores recomputed here from the predictions file with scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from _task_inputs import cancer_type_inputs
from pssnmf import baselines
from pssnmf.experiment import BASELINES, Point, fill_from_optimum, fit_seed, main, parse_point
from pssnmf.tables import seed_spread
from pssnmf.folds import load_fold

SEED = 5
FIT = ["--n-restarts", "3", "--max-epochs", "60", "--min-epochs", "20"]


def test_baseline_names_match_the_library():
    assert BASELINES == baselines.BASELINES


def test_baseline_points_take_no_nmf_hyperparameters():
    p = parse_point("model=LR-96,fold=test")
    assert p.complete and p.point_id == "LR-96_foldtest"
    assert parse_point("model=COSMIC+LR,fold=test,replicate=2").point_id == "COSMIC+LR_foldtest_r2"
    nmf = parse_point("model=NMF+LR,fold=test")
    assert not nmf.complete
    assert parse_point("model=NMF+LR,K=4,fold=test").point_id == "NMF+LR_K4_foldtest"
    for bad, word in (("model=LR-96,K=4", "K"), ("model=NMF+LR,K=4,lambda_c=0.1", "lambda_c"),
                      ("model=COSMIC+LR,ct=0.5", "confidence_threshold")):
        with pytest.raises(ValueError, match=f"takes no {word}"):
            parse_point(bad)
    with pytest.raises(ValueError, match="unknown model"):
        parse_point("model=LR96")
    # Baselines get seeds of their own, distinct per model, replicate and fold, stable in form.
    seeds = {fit_seed(SEED, "ddrd", "grouped", 0.5, Point(m, K=4 if m == "NMF+LR" else None, fold=f, replicate=r))
             for m in BASELINES for f in ("test", "0") for r in (0, 1)}
    assert len(seeds) == 12


def test_nmf_lr_takes_k_from_the_chosen_s_nmf_point():
    optimum = pd.DataFrame([
        {"task": "t", "split_mode": "grouped", "proportion": 0.5, "model": "S-NMF", "K": 7, "lambda_c": 0.25,
         "lambda_l2": 0.01, "confidence_threshold": np.nan},
        {"task": "t", "split_mode": "grouped", "proportion": 0.5, "model": "SS-NMF", "K": 3, "lambda_c": 0.25,
         "lambda_l2": 0.01, "confidence_threshold": np.nan},
    ])
    points = [Point("NMF+LR", fold="test"), Point("LR-96", fold="test")]
    assert fill_from_optimum(points, optimum, "t", "grouped", 0.5) == [Point("NMF+LR", K=7, fold="test"),
                                                                       Point("LR-96", fold="test")]
    with pytest.raises(ValueError, match="takes K from the chosen S-NMF point"):
        fill_from_optimum(points, optimum[optimum["model"] != "S-NMF"], "t", "grouped", 0.5)


@pytest.fixture(scope="module")
def fold_dir(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("experiment_baselines")
    catalog, samples = cancer_type_inputs(data_dir, root / "inputs", tumours_per_type=30)
    out = root / "folds"
    assert main(["-q", "folds", "--catalog", str(catalog), "--samples", str(samples), "--out-dir", str(out),
                 "--task", "cancer_type", "--split-mode", "grouped", "--seed", str(SEED), "--per-class", "6",
                 "--test-per-class", "10", "--proportions", "0.5"]) == 0
    return out


@pytest.fixture(scope="module")
def cosmic_file(data_dir):
    return data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt"


def _fit(fold_dir, out, points, extra=()):
    args = ["-q", "fit", "--fold-dir", str(fold_dir), "--task", "cancer_type", "--split-mode", "grouped",
            "--proportion", "0.5", "--seed", str(SEED), "--metrics-out", str(out / "metrics.tsv"),
            "--timings-out", str(out / "timings.tsv"), "--models-dir", str(out / "models"),
            "--predictions-out", str(out / "predictions.tsv"), *FIT, *extra]
    for p in points:
        args += ["--point", p]
    return main(args)


BASELINE_POINTS = ["model=LR-96,fold=test", "model=NMF+LR,K=3,fold=test", "model=COSMIC+LR,fold=test"]


@pytest.fixture(scope="module")
def baseline_fit(fold_dir, cosmic_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline_fit")
    assert _fit(fold_dir, out, BASELINE_POINTS, ["--cosmic-signatures", str(cosmic_file), "--replicates", "2"]) == 0
    return out


def test_baselines_fit_score_and_save_like_the_nmf_models(fold_dir, baseline_fit, tmp_path):
    metrics = pd.read_csv(baseline_fit / "metrics.tsv", sep="\t")
    nmf = tmp_path / "nmf"
    assert _fit(fold_dir, nmf, ["model=S-NMF,K=3,lambda_c=0.1,lambda_l2=0.001,fold=test"]) == 0
    assert list(metrics.columns) == list(pd.read_csv(nmf / "metrics.tsv", sep="\t").columns)
    assert sorted(metrics["model"]) == sorted(["LR-96", "NMF+LR", "COSMIC+LR"] * 2)
    assert metrics["stability"].isna().all() and metrics[["lambda_c", "lambda_l2"]].isna().all().all()
    assert metrics.loc[metrics["model"] == "NMF+LR", "K"].eq(3).all()
    assert metrics.loc[metrics["model"] != "NMF+LR", "K"].isna().all()
    for column in ("cellline_accuracy", "cellline_f1", "tcga_accuracy", "tcga_f1"):
        assert metrics[column].between(0, 1).all(), column
    assert (metrics["n_pseudo_labels"] == 0).all()

    # The saved models (no pickle) give back the predictions the runner wrote, for every replicate.
    data = load_fold(fold_dir, 0.5, "test")
    predictions = pd.read_csv(baseline_fit / "predictions.tsv", sep="\t", keep_default_na=False)
    for _, row in metrics.iterrows():
        model = baselines.load_baseline(baseline_fit / "models" / f"{row['point_id']}.npz")
        mine = predictions[(predictions["model"] == row["model"]) & (predictions["replicate"] == row["replicate"])]
        assert list(mine["row_id"]) == list(data.eval["row_id"])
        stored = mine[[f"probability_{c}" for c in model.classes_]].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(model.predict_proba(data.X_eval), stored, rtol=0, atol=1e-12)
        assert accuracy_score(data.eval["truth"][data.eval["source"] == "cell_line"],
                              mine["predicted"][mine["source"] == "cell_line"]) == row["cellline_accuracy"]


def test_baseline_fits_are_bit_identical_on_rerun(fold_dir, cosmic_file, baseline_fit, tmp_path):
    assert _fit(fold_dir, tmp_path, BASELINE_POINTS, ["--cosmic-signatures", str(cosmic_file),
                                                      "--replicates", "2"]) == 0
    for name in ("metrics.tsv", "predictions.tsv"):
        assert (tmp_path / name).read_bytes() == (baseline_fit / name).read_bytes(), name
    for path in sorted((baseline_fit / "models").glob("*.npz")):
        assert (tmp_path / "models" / path.name).read_bytes() == path.read_bytes(), path.name


def test_cosmic_lr_without_its_signature_file_is_a_clear_error(fold_dir, tmp_path, capsys):
    assert _fit(fold_dir, tmp_path, ["model=COSMIC+LR,fold=test"]) == 2
    assert "--cosmic-signatures" in capsys.readouterr().err
    assert not (tmp_path / "metrics.tsv").exists()
    assert _fit(fold_dir, tmp_path, ["model=COSMIC+LR,fold=test"],
                ["--cosmic-signatures", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_seed_spread_arithmetic():
    sd, low, high = seed_spread([0.5, 0.7, 0.6])
    assert sd == pytest.approx(np.std([0.5, 0.7, 0.6], ddof=1)) and (low, high) == (0.5, 0.7)
    sd, low, high = seed_spread([0.8, np.nan])
    assert np.isnan(sd) and low == high == 0.8
    assert all(np.isnan(v) for v in seed_spread([np.nan, np.nan]))


def test_table1_reports_the_spread_over_seeds_and_the_baseline_rows(fold_dir, baseline_fit, tmp_path):
    """Three seeds of two NMF models and the baselines -> Table 1; the spread columns equal the
    per-seed scores recomputed here with scikit-learn from the predictions file."""
    nmf = tmp_path / "nmf"
    assert _fit(fold_dir, nmf, ["model=S-NMF,K=3,lambda_c=0.1,lambda_l2=0.001,fold=test",
                                "model=SS-NMF,K=3,lambda_c=0.5,lambda_l2=0.001,fold=test"],
                ["--replicates", "3"]) == 0
    out_tsv, out_md = tmp_path / "t1.tsv", tmp_path / "t1.md"
    assert main(["-q", "table1", "--metrics", str(nmf / "metrics.tsv"), str(baseline_fit / "metrics.tsv"),
                 "--predictions", str(nmf / "predictions.tsv"), str(baseline_fit / "predictions.tsv"),
                 "--n-boot", "200", "--out-tsv", str(out_tsv), "--out-md", str(out_md)]) == 0
    table = pd.read_csv(out_tsv, sep="\t").set_index("model")
    assert sorted(table.index) == sorted(["S-NMF", "SS-NMF", *BASELINES])
    assert table.loc[["S-NMF", "SS-NMF"], "n_replicates"].eq(3).all()
    assert table.loc[list(BASELINES), "n_replicates"].eq(2).all()

    predictions = pd.concat([pd.read_csv(p / "predictions.tsv", sep="\t", keep_default_na=False)
                             for p in (nmf, baseline_fit)])
    scores = {"cellline_accuracy": ("cell_line", accuracy_score),
              "cellline_f1": ("cell_line", lambda t, p: f1_score(t, p, average="macro", zero_division=0)),
              "tcga_accuracy": ("tumour", accuracy_score),
              "tcga_f1": ("tumour", lambda t, p: f1_score(t, p, average="macro", zero_division=0))}
    spread_seen = 0.0
    for model, row in table.iterrows():
        for name, (source, score) in scores.items():
            part = predictions[(predictions["model"] == model) & (predictions["source"] == source)
                               & (predictions["truth"] != "")]
            per_seed = [score(g["truth"], g["predicted"]) for _, g in part.groupby("replicate")]
            assert row[name] == pytest.approx(np.mean(per_seed), abs=1e-12), (model, name)
            assert row[f"{name}_seed_sd"] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-12), (model, name)
            assert (row[f"{name}_seed_min"], row[f"{name}_seed_max"]) == pytest.approx((min(per_seed),
                                                                                       max(per_seed)))
            assert row[f"{name}_low"] <= row[name] + 1e-12 and row[name] <= row[f"{name}_high"] + 1e-12
            if model in ("S-NMF", "SS-NMF"):
                spread_seen = max(spread_seen, row[f"{name}_seed_sd"])
    # Different seeds give NMF models different fits; the spread is not zero everywhere.
    assert spread_seen > 0
    stability = table.loc["S-NMF", ["stability_seed_sd", "stability_seed_min", "stability_seed_max"]]
    assert np.isfinite(stability.to_numpy(dtype=float)).all()
    assert table.loc[list(BASELINES), "stability"].isna().all()
    assert table.loc[list(BASELINES), "paper_tcga_f1"].isna().all()

    markdown = out_md.read_text()
    assert "| 50% | NMF+LR | 3 | – | – | – | – |" in markdown
    assert "±" in markdown and "mean over 2/3 seeds" in markdown
    # Baseline rows come after the NMF models.
    assert markdown.index("| SS-NMF |") < markdown.index("| LR-96 |") < markdown.index("| COSMIC+LR |")
