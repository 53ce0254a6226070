"""The screening table and ROC figure of the shared config/test.yaml run, recomputed from the final
fits' files with scikit-learn (docs/protocol.md, "Screening")."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

pytestmark = pytest.mark.slow

PATHWAYS = ("MMR", "BER", "HR")
FPR = (0.1, 0.05)  # config/test.yaml leaves experiment.screening at its defaults


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], dtype={"heterozygous": str})


def _model_files(run: Path, split: str, prop: str, model: str, crossfit: bool = False
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A final fit's predictions (with its cross-fits' where asked) and pools predictions."""
    base = run / "results" / "final" / "ddrd" / split / f"u{prop}"
    predictions = _read(base / f"{model}.predictions.tsv")
    if crossfit:
        extra = _read(run / "results" / "crossfit" / "ddrd" / split / f"u{prop}" / f"{model}.predictions.tsv")
        predictions = pd.concat([predictions, extra], ignore_index=True)
    predictions["truth"] = predictions["truth"].fillna("")
    pools = _read(base / f"{model}.pools.tsv")
    return predictions, pools


def test_screening_table_is_recomputed_from_the_predictions(workflow_run: Path) -> None:
    table = pd.read_csv(workflow_run / "results" / "tables" / "screening.tsv", sep="\t")
    assert set(table["split_mode"]) == {"grouped", "paper"}
    assert set(table["positives"]) == {"test", "cross-fit"}
    final = sorted(p.name.removesuffix(".pools.tsv")
                   for p in (workflow_run / "results/final/ddrd/grouped/u0.5").glob("*.pools.tsv"))
    assert set(table["model"]) == set(final) | {"COSMIC-share"}
    assert len(final) >= 12  # every NMF model and baseline of the test config
    checked = 0
    for row in table[table["score"] == "probability"].itertuples():
        predictions, pools = _model_files(workflow_run, row.split_mode, repr(float(row.proportion)), row.model,
                                          crossfit=row.positives == "cross-fit")
        aucs, sens, cuts, fprs = [], {f: [] for f in FPR}, {f: [] for f in FPR}, {f: [] for f in FPR}
        for replicate, pred in predictions.groupby("replicate"):
            pool = pools[pools["replicate"] == replicate]
            positive = pred.loc[(pred["source"] == "tumour") & (pred["truth"] == row.pathway), f"probability_{row.pathway}"]
            negative = pool.loc[(pool["pool"] == "test") & (pool["role"] == "proficient"), f"probability_{row.pathway}"]
            validation = pool.loc[(pool["pool"] == "validation") & (pool["role"] == "proficient"),
                                  f"probability_{row.pathway}"].to_numpy()
            assert len(positive) == row.n_positive and len(negative) == row.n_negative
            truth = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
            scores = np.r_[positive, negative]
            aucs.append(roc_auc_score(truth, scores))
            fpr, tpr, _ = roc_curve(truth, scores, drop_intermediate=False)
            for target in FPR:
                sens[target].append(tpr[fpr <= target + 1e-12].max())
                # the cut-off: from the validation pool only; at most the target FPR there, and no
                # lower validation score would do
                cut = np.sort(validation)[::-1][math.floor(target * len(validation) + 1e-9)]
                assert (validation > cut).mean() <= target
                cuts[target].append(cut)
                fprs[target].append((negative.to_numpy() > cut).mean())
        assert row.auc == pytest.approx(np.mean(aucs), abs=1e-12)
        assert row.auc_low <= row.auc + 1e-12 and row.auc <= row.auc_high + 1e-12
        for target in FPR:
            tag = f"{target:g}"
            values = table.loc[row.Index]
            assert values[f"sensitivity_at_fpr_{tag}"] == pytest.approx(np.mean(sens[target]), abs=1e-12)
            assert values[f"cutoff_fpr_{tag}"] == pytest.approx(np.mean(cuts[target]), abs=1e-12)
            assert values[f"test_fpr_at_cutoff_{tag}"] == pytest.approx(np.mean(fprs[target]), abs=1e-12)
        checked += 1
    assert checked == len(table[table["score"] == "probability"]) > 0
    # the COSMIC share is a score of every pathway, with no argmax call
    share = table[table["model"] == "COSMIC-share"]
    assert set(share["score"]) == {"share"} and share["argmax_fpr"].isna().all()
    assert (workflow_run / "results" / "tables" / "screening.md").read_text().count("COSMIC-share") >= 2


def test_no_pool_tumour_trains_any_fit(workflow_run: Path) -> None:
    """The pools are rows no fit trains on: not in any fold's training rows, and the final fits'
    training counts are the validation set's labelled and unlabelled rows alone."""
    for split in ("grouped", "paper"):
        membership = _read(workflow_run / "results" / "folds" / "ddrd" / split / "membership.tsv")
        pools = membership[membership["set"] == "screening"]
        assert len(pools[pools["role"] == "proficient"]) > 0
        training = membership[membership["set"].isin(["validation", "test"])]
        assert not set(pools["sample"]) & set(training["sample"])
        metrics = pd.read_csv(workflow_run / "results" / "final" / "ddrd" / split / "u0.5" / "SS-NMF.tsv", sep="\t")
        validation = training[(training["set"] == "validation") & (training["proportion"].astype(float) == 0.5)]
        assert (metrics["n_train_unlabelled"] == (validation["role"] == "unlabelled").sum()).all()
        assert (metrics["n_train_labelled"] == (validation["role"] == "labelled").sum()).all()


def test_roc_figure_data_are_scikit_learns_curves(workflow_run: Path) -> None:
    stem = workflow_run / "results" / "figures" / "screening_roc_grouped_u0.5"
    for ext in ("png", "svg", "tsv"):
        assert Path(f"{stem}.{ext}").stat().st_size > 0
    curves = pd.read_csv(f"{stem}.tsv", sep="\t")
    # positives: every tumour with truth, out of fold (the final fit's and its cross-fits' predictions)
    predictions, pools = _model_files(workflow_run, "grouped", "0.5", "PSS-NMF", crossfit=True)
    predictions, pools = predictions[predictions["replicate"] == 0], pools[pools["replicate"] == 0]
    for pathway in PATHWAYS:
        positive = predictions.loc[(predictions["source"] == "tumour") & (predictions["truth"] == pathway),
                                   f"probability_{pathway}"]
        negative = pools.loc[(pools["pool"] == "test") & (pools["role"] == "proficient"), f"probability_{pathway}"]
        fpr, tpr, _ = roc_curve(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative])
        drawn = curves[(curves["model"] == "PSS-NMF") & (curves["pathway"] == pathway)]
        np.testing.assert_allclose(drawn["fpr"], fpr)
        np.testing.assert_allclose(drawn["tpr"], tpr)


def test_exported_model_carries_its_validation_cutoffs(workflow_run: Path) -> None:
    """results/models/ddrd.npz holds the cut-offs of its own seed (replicate 0), from the
    validation pool, and the test rates at them; the cancer-type model has none."""
    from pssnmf.model import load_model

    metadata = load_model(workflow_run / "results" / "models" / "ddrd.npz", estimator=False).metadata_
    stored = metadata["screening"]
    predictions, pools = _model_files(workflow_run, "grouped", "0.5", "PSS-NMF")  # config/test.yaml's export
    pools = pools[(pools["replicate"] == 0) & (pools["role"] == "proficient")]
    validation = pools[pools["pool"] == "validation"]
    assert stored["n_validation"] == len(validation) > 0
    for kind in ("probability", "margin"):
        for target in FPR:
            for pathway in PATHWAYS:
                values = validation[f"probability_{pathway}"].to_numpy()
                test = pools.loc[pools["pool"] == "test", f"probability_{pathway}"].to_numpy()
                if kind == "margin":
                    values = np.log(values) - np.log(validation["probability_Control"].to_numpy())
                    test = np.log(test) - np.log(pools.loc[pools["pool"] == "test", "probability_Control"].to_numpy())
                cut = stored["cutoffs"][kind][f"{target:g}"][pathway]
                assert cut == pytest.approx(np.sort(values)[::-1][math.floor(target * len(values) + 1e-9)], abs=1e-12)
                assert stored["test"][kind][f"{target:g}"][pathway]["fpr"] == pytest.approx((test > cut).mean())
    assert "screening" not in load_model(workflow_run / "results" / "models" / "cancer_type.npz",
                                         estimator=False).metadata_


def test_crossfit_scores_every_tumour_with_truth_once_out_of_fold(workflow_run: Path) -> None:
    """Each fold's unlabelled tumour with truth, and each test-set tumour, is scored exactly once per
    seed: by the final fit (test set) or by the one cross-fit that left it out of training."""
    from pssnmf.folds import load_fold

    fold_dir = workflow_run / "results" / "folds" / "ddrd" / "grouped"
    membership = _read(fold_dir / "membership.tsv")
    rows = membership[(membership["proportion"].astype(float) == 0.5) & (membership["role"] == "unlabelled")
                      & membership["truth"].fillna("").isin(PATHWAYS)]
    predictions, _ = _model_files(workflow_run, "grouped", "0.5", "SS-NMF", crossfit=True)
    tumours = predictions[(predictions["source"] == "tumour") & (predictions["truth"] != "")]
    for _, seed_rows in tumours.groupby("replicate"):
        assert sorted(seed_rows["row_id"]) == sorted(rows["row_id"])
    for fold in ("0", "1", "2"):
        data = load_fold(fold_dir, 0.5, f"outer{fold}")
        scored = set(tumours.loc[tumours["fold"] == f"outer{fold}", "row_id"])
        assert scored == set(data.eval["row_id"]) and not scored & set(data.train["row_id"])
    table = pd.read_csv(workflow_run / "results" / "tables" / "screening_tcga.tsv", sep="\t")
    wide = table.pivot_table(index=["split_mode", "model"], columns="positives", values="n_tumours")
    assert (wide["cross-fit"] > wide["test"]).all()


def test_release_records_its_provenance_and_rebuilds_to_the_same_bytes(workflow_run: Path, tmp_path: Path) -> None:
    """results/release/ddrd.npz (pssnmf.release): the chosen point of the export, the checksums of
    its inputs, the Table 1 row it scored, its own cut-offs from the validation pool; and the same
    command again gives the same bytes."""
    import shlex
    import sys

    from pssnmf.folds import load_pools
    from pssnmf.model import load_model
    from pssnmf.release import sha256

    path = workflow_run / "results" / "release" / "ddrd.npz"
    model = load_model(path, estimator=False)
    release = model.metadata_["release"]
    chosen = pd.read_csv(workflow_run / "results/select/ddrd/grouped/u0.5/chosen.tsv", sep="\t")
    row = chosen[chosen["model"] == "PSS-NMF"].iloc[0]
    h = release["hyperparameters"]
    assert (h["K"], h["lambda_c"], h["lambda_l2"], h["confidence_threshold"]) == (
        row["K"], row["lambda_c"], row["lambda_l2"], row["confidence_threshold"])
    assert release["inputs"]["catalog"]["sha256"] == sha256(workflow_run / "results/data/ddrd/catalog.tsv")
    assert release["inputs"]["table1"]["sha256"] == sha256(workflow_run / "results/tables/table1.tsv")
    assert set(release["project"]) == {"version", "commit", "dirty"}  # commit: None in the copied clone
    table1 = pd.read_csv(workflow_run / "results/tables/table1.tsv", sep="\t")
    own = table1[(table1["task"] == "ddrd") & (table1["split_mode"] == "grouped") & (table1["model"] == "PSS-NMF")]
    assert release["protocol_scores"]["table1"][0]["tcga_f1"] == pytest.approx(own.iloc[0]["tcga_f1"])
    assert release["n_labelled"] == release["n_unlabelled"] > 0
    # its own cut-offs: the release model's probabilities on the proficient validation pool
    X, pools = load_pools(workflow_run / "results/folds/ddrd/grouped", 0.5)
    validation = (pools["fold"] == "validation").to_numpy()
    # scored in one batch, as the release scores them (batched NNLS: the last bit can depend on the batch)
    probability = model.predict_proba(X[validation])[(pools.loc[validation, "role"] == "proficient").to_numpy()]
    classes = list(model.classes_)
    for tag, by_pathway in model.metadata_["screening"]["cutoffs"]["probability"].items():
        for pathway, cut in by_pathway.items():
            scores = np.sort(probability[:, classes.index(pathway)])[::-1]
            assert cut == scores[math.floor(float(tag) * len(scores) + 1e-9)]
    # the rule's own command (as Snakemake prints it), run again into another file: the same bytes
    from _workflow import snakemake_command

    dry = subprocess.run(snakemake_command(workflow_run, "-n", "-p", "--forcerun", "release_model",
                                           "results/release/ddrd.npz"), capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    line = next(line for line in (dry.stdout + dry.stderr).splitlines()
                if "python -m pssnmf.release" in line and "results/release/ddrd.npz" in line)
    words = shlex.split(line[line.index("python -m pssnmf.release"):])
    words = words[:words.index(">")]
    words[words.index("--out") + 1] = str(tmp_path / "again.npz")
    venv = workflow_run.parent / "venv" / "bin" / "python"  # the quick start's environment, as the rule ran
    python = str(venv) if venv.exists() else sys.executable
    run = subprocess.run([python, *words[1:]], cwd=workflow_run, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()


def test_project_commit_is_the_checkouts() -> None:
    """A release records the commit it was built from where the project is a git checkout."""
    from pssnmf.release import project_commit

    from _workflow import PROJECT

    recorded = project_commit()
    if (PROJECT / ".git").exists():
        head = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert recorded["commit"] == head.stdout.strip() and isinstance(recorded["dirty"], bool)
    else:
        assert recorded == {"commit": None, "dirty": None}
