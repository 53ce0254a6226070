"""Every table and figure of the paper from one real workflow run (config/test.yaml), checked
for content: the data behind each figure is recomputed here from the workflow's own inputs
(membership, per-fit metrics, selection, model files, label tables) and compared.

One module-scoped run of the whole workflow (~4-8 min on 2 shared cores), then the report.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pssnmf.channels import SBS96
from pssnmf.folds import load_fold

from _workflow import run_snakemake, snakemake_command

PROJECT = Path(__file__).resolve().parents[1]
SNAKEFILE = PROJECT / "Snakefile"
TEST_CONFIG = PROJECT / "config" / "test.yaml"
_CONFIG = yaml.safe_load(TEST_CONFIG.read_text())["experiment"]
TASKS = _CONFIG["tasks"]
SPLITS = _CONFIG["split_modes"]
PROPORTIONS = [repr(float(p)) for p in _CONFIG["proportions"]]
MODELS = _CONFIG["models"] + _CONFIG["pseudo_label_models"]
# The paper's figures (3, 4, 15-18) show the paper's five models; the pseudo-labelling variants and
# baselines are in the tables (Table 1, Tables 3-4).
FIGURE_MODELS = [m for m in MODELS if m in ("S-NMF", "SS-NMF", "SS-NMF-UR", "PSS-NMF", "PSS-NMF-UR")]
MAIN_SPLIT = "grouped" if "grouped" in SPLITS else SPLITS[0]
MAIN_FIGURES = ["fig02_validation", "fig15_18_validation_ur", "fig03_pseudo_labels", "fig05_pca",
                "fig06_matched_similarity", "fig07_cosmic_similarity", "fig08_exposures",
                *(f"sbs96/{m}" for m in MODELS), "calibration_reliability"]
EVERY_SPLIT_FIGURES = ["fig04_confusion", "fig04_confusion_ur", "fig10_14_pareto"]
EXPLORATION = ["fig09ab_samples_per_cancer_type", "fig09c_clustermap_cell_lines",
               "fig09d_clustermap_tcga", "fig09e_cell_lines_vs_tcga"]

pytestmark = pytest.mark.slow


_snakemake = snakemake_command
_run = run_snakemake


@pytest.fixture(scope="module")
def run(workflow_run: Path) -> Path:
    """The session's one real workflow run (tests/conftest.py)."""
    return workflow_run


def _figure_stems(workdir: Path) -> list[Path]:
    stems = []
    for task in TASKS:
        for prop in PROPORTIONS:
            for split in SPLITS:
                base = workdir / "results" / "figures" / task / split / f"u{prop}"
                names = EVERY_SPLIT_FIGURES + (MAIN_FIGURES if split == MAIN_SPLIT else [])
                stems += [base / name for name in names]
    stems += [workdir / "results" / "figures" / "cancer_type" / "data" / name for name in EXPLORATION]
    return stems


def _tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def _dir(workdir: Path, kind: str, task: str, split: str, prop: str) -> Path:
    return workdir / "results" / kind / task / split / f"u{prop}"


def _fits(folder: Path, pattern: str) -> pd.DataFrame:
    """Per-fit metrics TSVs under ``folder`` (their .timings.tsv neighbours left out)."""
    paths = [p for p in sorted(folder.glob(pattern)) if not p.name.endswith(".timings.tsv")]
    assert paths, f"no {pattern} under {folder}"
    return pd.concat([_tsv(p) for p in paths], ignore_index=True)


def test_every_figure_has_png_svg_and_data(run: Path) -> None:
    for stem in _figure_stems(run):
        png = stem.with_name(stem.name + ".png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        svg = stem.with_name(stem.name + ".svg").read_text()
        assert svg.rstrip().endswith("</svg>"), stem
        data = _tsv(stem.with_name(stem.name + ".tsv"))
        assert len(data) > 0, f"{stem}.tsv has no rows"
    for table in ["table2"] + [f"table{n}_{t}_{MAIN_SPLIT}" for n in (3, 4) for t in TASKS]:
        assert len(_tsv(run / "results" / "tables" / f"{table}.tsv")) > 0
        assert (run / "results" / "tables" / f"{table}.md").read_text().count("\n|") > 1
    # Progress: each job's log names the files it wrote.
    logs = list((run / "results" / "logs" / "figures").glob("*.log"))
    assert logs and all(" wrote results/" in log.read_text() for log in logs)


def test_confusion_counts_sum_to_the_test_set(run: Path) -> None:
    for task in TASKS:
        for split in SPLITS:
            membership = pd.read_csv(run / "results" / "folds" / task / split / "membership.tsv", sep="\t",
                                     dtype=str, keep_default_na=False)
            for prop in PROPORTIONS:
                test = membership[(membership["set"] == "test") & (membership["proportion"] == prop)
                                  & (membership["truth"] != "")]
                expected = test.groupby("source").size()
                for name, models in (("fig04_confusion", ["S-NMF", "SS-NMF", "PSS-NMF"]),
                                     ("fig04_confusion_ur", FIGURE_MODELS)):
                    counts = _tsv(_dir(run, "figures", task, split, prop) / f"{name}.tsv")
                    assert sorted(counts["model"].unique()) == sorted(m for m in models if m in FIGURE_MODELS)
                    sums = counts.groupby(["model", "source"])["count"].sum()
                    for (model, source), total in sums.items():
                        assert total == expected[source], (task, split, model, source)
                    # Each true class's row of percentages sums to 100.
                    rows = counts.groupby(["model", "source", "truth"])["row_percent"].sum()
                    assert np.allclose(rows, 100.0)
                # The diagonal equals the correct predictions in the predictions file.
                predictions = _tsv(_dir(run, "final", task, split, prop) / "PSS-NMF.predictions.tsv")
                predictions = predictions[predictions["truth"].notna() & (predictions["replicate"] == 0)]
                counts = _tsv(_dir(run, "figures", task, split, prop) / "fig04_confusion.tsv")
                diagonal = counts[(counts["model"] == "PSS-NMF") & (counts["truth"] == counts["predicted"])]
                assert diagonal["count"].sum() == (predictions["truth"] == predictions["predicted"]).sum()


def _non_dominated(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.array([not np.any((s >= s[i]) & (a >= a[i]) & ((s > s[i]) | (a > a[i]))) for i in range(len(s))])


def test_pareto_points_are_non_dominated_and_match_the_selection(run: Path) -> None:
    for task in TASKS:
        for split in SPLITS:
            for prop in PROPORTIONS:
                points = _tsv(_dir(run, "figures", task, split, prop) / "fig10_14_pareto.tsv")
                summary = _tsv(_dir(run, "select", task, split, prop) / "summary.tsv")
                chosen = _tsv(_dir(run, "select", task, split, prop) / "chosen.tsv")
                assert set(points["model"]) == set(MODELS)
                for model, part in points.groupby("model"):
                    pool = part[part["eligible"]] if part["eligible"].any() else part
                    front = _non_dominated(pool["stability"].to_numpy(), pool["cell_line_accuracy"].to_numpy())
                    assert set(pool.index[front]) == set(part.index[part["on_front"]]), (task, model)
                keys = ["model", "K", "lambda_c", "lambda_l2", "ct"]
                selection = summary.rename(columns={"confidence_threshold": "ct"})
                # NaN ct (models without pseudo-labels) must match NaN ct.
                merged = points.fillna({"ct": -1.0}).merge(selection.fillna({"ct": -1.0}), on=keys,
                                                           how="inner", suffixes=("", "_selection"))
                assert len(merged) == len(points) == len(summary)
                assert np.allclose(merged["stability"], merged["mean_stability"])
                assert np.allclose(merged["cell_line_accuracy"], merged["mean_cellline_accuracy"])
                assert (merged["on_front"] == merged["on_front_selection"]).all()
                starred = points[points["chosen"]].set_index("model")
                assert set(starred.index) == set(chosen["model"])
                for _, row in chosen.iterrows():
                    assert starred.loc[row["model"], "K"] == row["K"]
                    assert np.isclose(starred.loc[row["model"], "lambda_c"], row["lambda_c"])


def test_table2_counts_equal_the_label_file(run: Path) -> None:
    labels = _tsv(run / "results" / "data" / "tcga" / "ddr_status.tsv")
    table = _tsv(run / "results" / "tables" / "table2.tsv").set_index("cancer_type")
    hom = labels[["MMR", "BER", "HR"]] == "hom"
    het = labels[["MMR", "BER", "HR"]] == "het"
    n_hom = hom.sum(axis=1)
    for cancer_type, rows in labels.groupby("cancer_type"):
        row = table.loc[cancer_type]
        idx = rows.index
        assert row["TOT samples"] == len(rows)
        for pathway in ("MMR", "BER", "HR"):
            assert row[f"{pathway} hom"] == (hom.loc[idx, pathway] & (n_hom[idx] == 1)).sum()
        assert row["multiple hom"] == (n_hom[idx] > 1).sum()
        assert row["TOT control"] == ((n_hom[idx] == 0) & ~het.loc[idx].any(axis=1)).sum()
        only_hr_mmr = (n_hom[idx] == 0) & het.loc[idx, "HR"] & het.loc[idx, "MMR"] & ~het.loc[idx, "BER"]
        assert row["HR & MMR het"] == only_hr_mmr.sum()
    assert table.loc["All", "TOT samples"] == len(labels)


def test_sbs96_data_equal_the_final_signatures(run: Path) -> None:
    from pssnmf.model import load_model

    for task in TASKS:
        for prop in PROPORTIONS:
            for model in MODELS:
                files = sorted((_dir(run, "final", task, MAIN_SPLIT, prop) / f"{model}.models").glob("*.npz"))
                signatures = load_model(files[0]).signatures_
                data = _tsv(_dir(run, "figures", task, MAIN_SPLIT, prop) / "sbs96" / f"{model}.tsv")
                assert list(data["channel"][:96]) == list(SBS96)
                weights = data["weight"].to_numpy().reshape(signatures.shape)
                expected = signatures / signatures.sum(axis=1, keepdims=True)
                assert np.allclose(weights, expected, rtol=1e-12, atol=1e-15), (task, model)


def test_pseudo_label_figure_and_tables_agree_with_the_fits(run: Path) -> None:
    for task in TASKS:
        # Table 3 and Fig. 3 are the paper's: its two PSS models (the variants are in Tables 1 and 4)
        fits = pd.concat([_fits(_dir(run, "fits", task, MAIN_SPLIT, prop) / m, "ct.tsv")
                          for prop in PROPORTIONS for m in _CONFIG["pseudo_label_models"] if m in FIGURE_MODELS])
        table3 = _tsv(run / "results" / "tables" / f"table3_{task}_{MAIN_SPLIT}.tsv")
        counted = table3.filter(like="pseudo_labelled_").to_numpy().sum()
        assert counted == fits["n_pseudo_labels"].sum()
        assert sorted(table3["ct"]) == sorted(fits["confidence_threshold"].unique())
        for prop in PROPORTIONS:
            figure = _tsv(_dir(run, "figures", task, MAIN_SPLIT, prop) / "fig03_pseudo_labels.tsv")
            part = fits[fits["proportion"] == float(prop)]
            per_model = figure.groupby("model")[["n_true", "n_false", "n_unknown"]].sum().sum(axis=1)
            assert per_model.to_dict() == part.groupby("model")["n_pseudo_labels"].sum().to_dict()
            judged = figure.groupby("model")[["n_true", "n_false"]].sum().sum(axis=1)
            assert judged.to_dict() == part.groupby("model")["n_pseudo_labels_with_truth"].sum().to_dict()
        # Table 4: the mean TCGA probability of each model at its chosen point, over the folds.
        table4 = _tsv(run / "results" / "tables" / f"table4_{task}_{MAIN_SPLIT}.tsv")
        for prop in PROPORTIONS:
            chosen = _tsv(_dir(run, "select", task, MAIN_SPLIT, prop) / "chosen.tsv")
            for _, row in chosen.iterrows():
                pattern = "ct.tsv" if row["model"].startswith("PSS") else f"K{row['K']}.tsv"
                fold_fits = _fits(_dir(run, "fits", task, MAIN_SPLIT, prop) / row["model"], pattern)
                at = fold_fits[np.isclose(fold_fits["lambda_c"], row["lambda_c"])
                               & np.isclose(fold_fits["lambda_l2"], row["lambda_l2"])]
                if row["model"].startswith("PSS"):
                    at = at[np.isclose(at["confidence_threshold"], row["confidence_threshold"])]
                shown = table4[(table4["model"] == row["model"]) & np.isclose(table4["proportion"], float(prop))]
                if row["model"].startswith("PSS"):
                    shown = shown[np.isclose(shown["ct"], row["confidence_threshold"])]
                assert len(shown) == 1 and shown["n_fits"].iat[0] == len(at) == _CONFIG["folds"]["n_folds"]
                assert np.isclose(shown["mean_tcga_probability"].iat[0], at["tcga_mean_max_probability"].mean())


def test_validation_boxes_summarise_the_fits(run: Path) -> None:
    for task in TASKS:
        for prop in PROPORTIONS:
            data = _tsv(_dir(run, "figures", task, MAIN_SPLIT, prop) / "fig15_18_validation_ur.tsv")
            base = _dir(run, "fits", task, MAIN_SPLIT, prop)
            fits = _fits(base, "*/*.tsv")
            assert set(data["model"]) == set(FIGURE_MODELS)
            by_k = data[(data["hyperparameter"] == "K") & (data["metric"] == "cell_line_accuracy")]
            for (model, k), rows in by_k.groupby(["model", "value"]):
                values = fits[(fits["model"] == model) & (fits["K"] == k)]["cellline_accuracy"]
                assert sorted(rows["score"]) == pytest.approx(sorted(values))
                assert rows["median"].iat[0] == pytest.approx(np.median(values))


def test_signature_figures_match_the_models(run: Path) -> None:
    from pssnmf.model import load_model

    cosmic = pd.read_csv(run / "results" / "data" / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", sep="\t",
                         index_col=0)
    for task in TASKS:
        for prop in PROPORTIONS:
            figures = _dir(run, "figures", task, MAIN_SPLIT, prop)
            sigs = {m: load_model(sorted((_dir(run, "final", task, MAIN_SPLIT, prop) / f"{m}.models")
                                         .glob("*.npz"))[0]) for m in MODELS}
            names = [f"Signature {chr(65 + k)}" for k in range(sigs["S-NMF"].signatures_.shape[0])]

            def unit(rows):
                return rows / np.linalg.norm(rows, axis=-1, keepdims=True)

            fig6 = _tsv(figures / "fig06_matched_similarity.tsv")
            a, b = unit(sigs["S-NMF"].signatures_), unit(sigs["PSS-NMF"].signatures_)
            for _, row in fig6.iterrows():
                i, j = names.index(row["signature_a"]), names.index(row["signature_b"])
                assert row["cosine"] == pytest.approx(a[i] @ b[j])
            matched = fig6[fig6["matched"]]
            assert matched["signature_a"].is_unique and matched["signature_b"].is_unique
            assert len(matched) == len(names)
            fig7 = _tsv(figures / "fig07_cosmic_similarity.tsv")
            for _, row in fig7.sample(n=min(20, len(fig7)), random_state=0).iterrows():
                learned = unit(sigs[row["model"]].signatures_[names.index(row["signature"])])
                reference = unit(cosmic[row["cosmic"]].reindex(list(SBS96)).to_numpy())
                assert row["cosine"] == pytest.approx(learned @ reference)
            # Fig. 8: each shown sample's relative exposures sum to 1 and equal the model's
            # NNLS exposures of its profile.
            fig8 = _tsv(figures / "fig08_exposures.tsv")
            sums = fig8.groupby(["model", "sample"])["shown"].sum()
            assert np.allclose(sums[sums > 0], 1.0)
            fold = load_fold(run / "results" / "folds" / task / MAIN_SPLIT, float(prop), "test")
            position = {r: i for i, r in enumerate(fold.eval["row_id"])}
            sample = fig8["sample"].iat[0]
            exposures = sigs["PSS-NMF"].transform(fold.X_eval[[position[sample]]])[0]
            shown = fig8[(fig8["model"] == "PSS-NMF") & (fig8["sample"] == sample)].set_index("signature")
            assert np.allclose(shown.loc[names, "exposure"], exposures)
            # Fig. 5: one point per training row of the final fit, by source.
            pca = _tsv(figures / "fig05_pca.tsv")
            assert len(pca) == len(fold.train)
            assert pca["source"].value_counts().to_dict() == fold.train["source"].value_counts().to_dict()


def test_exploration_counts_equal_the_data_tables(run: Path) -> None:
    data = run / "results" / "data"
    counts = _tsv(run / "results" / "figures" / "cancer_type" / "data" / "fig09ab_samples_per_cancer_type.tsv")
    for source, table in (("cell_line", "cell_lines"), ("tcga", "tcga")):
        expected = _tsv(data / table / "samples.tsv")["cancer_type"].value_counts()
        shown = counts[counts["source"] == source].set_index("cancer_type")["n_samples"]
        assert shown.to_dict() == {t: expected[t] for t in shown.index}
    selection = _tsv(data / "cancer_type" / "selection.tsv").set_index("cancer_type")
    cross = _tsv(run / "results" / "figures" / "cancer_type" / "data" / "fig09e_cell_lines_vs_tcga.tsv")
    types = (data / "cancer_type" / "types.txt").read_text().split()
    assert set(cross.iloc[:, 2]) == set(types) and len(cross) == len(types) ** 2
    clustermap = _tsv(run / "results" / "figures" / "cancer_type" / "data" / "fig09c_clustermap_cell_lines.tsv")
    assert set(clustermap["cancer_type_a"]) == set(selection.index[selection["candidate"]])


def test_report_holds_every_figure_and_table(run: Path) -> None:
    report = run / "report.zip"
    _run(_snakemake(run, "--report", str(report)), run / "report.log", timeout=600)
    with zipfile.ZipFile(report) as archive:
        names = archive.namelist()
    # Names repeat across tasks and splits, so compare how many of each the report holds.
    held = Counter(Path(n).name for n in names if n.endswith((".png", ".tsv")))
    expected = Counter(f"{stem.name}.png" for stem in _figure_stems(run))
    for name, count in expected.items():
        assert held[name] == count, f"report holds {held[name]} of {count} {name}"
    for table in ["table1.tsv", "table2.tsv"] + [f"table{n}_{t}_{MAIN_SPLIT}.tsv" for n in (3, 4) for t in TASKS]:
        assert held[table] == 1, table
    assert held["calibration_ece.tsv"] == len(TASKS) * len(PROPORTIONS)
    assert held["uncertainty.tsv"] == len(TASKS) * len(PROPORTIONS)
    assert held["opportunity.tsv"] == 1


# ---- beyond the paper: calibration and the genome/exome opportunity comparison ---------------

def _ece_by_hand(probability: np.ndarray, truth: np.ndarray, classes: list[str], n_bins: int = 10) -> float:
    top = probability.max(axis=1)
    correct = np.asarray(classes)[probability.argmax(axis=1)] == truth
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = (top > lo) & (top <= hi) if b else (top <= hi)
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - top[inside].mean())
    return total / len(top)


def test_calibration_table_recomputed_from_the_predictions(run: Path) -> None:
    for task in TASKS:
        for prop in PROPORTIONS:
            table = _tsv(_dir(run, "figures", task, MAIN_SPLIT, prop) / "calibration_ece.tsv")
            assert set(table["source"]) == {"cell lines", "TCGA"} and set(MODELS) <= set(table["model"])
            for _, row in table[table["model"].isin(MODELS)].iterrows():
                preds = _tsv(_dir(run, "final", task, MAIN_SPLIT, prop) / f"{row['model']}.predictions.tsv")
                source = "cell_line" if row["source"] == "cell lines" else "tumour"
                preds = preds[(preds["source"] == source) & preds["truth"].notna()]
                classes = [c.removeprefix("probability_") for c in preds.columns if c.startswith("probability_")]
                p = preds[[f"probability_{c}" for c in classes]].to_numpy()
                truth = preds["truth"].astype(str).to_numpy()
                assert row["n_predictions"] == len(preds)
                assert row["ece"] == pytest.approx(_ece_by_hand(p, truth, classes), abs=1e-12)
                # Temperature scaling: softmax(log p / T), never changing the class.
                assert np.isfinite(row["temperature"]) and row["temperature"] > 0 and row["n_validation"] > 0
                z = np.log(np.maximum(p, np.finfo(float).tiny)) / row["temperature"]
                scaled = np.exp(z - z.max(axis=1, keepdims=True))
                scaled /= scaled.sum(axis=1, keepdims=True)
                assert row["ece_scaled"] == pytest.approx(_ece_by_hand(scaled, truth, classes), abs=1e-9)


def test_temperature_lowers_the_validation_loss_it_was_fitted_on(run: Path) -> None:
    """T comes from the chosen point's out-of-fold cell-line predictions: there it must not do
    worse than T = 1 (it minimises that loss), and it must differ from 1 for some model."""
    from pssnmf.calibration import apply_temperature
    from pssnmf.experiment import Point
    from pssnmf.model import load_model

    task, prop = TASKS[0], PROPORTIONS[0]
    table = _tsv(_dir(run, "figures", task, MAIN_SPLIT, prop) / "calibration_ece.tsv")
    chosen = _tsv(_dir(run, "select", task, MAIN_SPLIT, prop) / "chosen.tsv")
    temperatures = []
    for model_name in MODELS:
        r = chosen[chosen["model"] == model_name].iloc[0]
        ct = None if pd.isna(r["confidence_threshold"]) else float(r["confidence_threshold"])
        p, truth, classes = [], [], None
        for fold in range(_CONFIG["folds"]["n_folds"]):
            point = Point(model_name, int(r["K"]), float(r["lambda_c"]), float(r["lambda_l2"]), ct, fold=str(fold))
            (path,) = (_dir(run, "fits", task, MAIN_SPLIT, prop) / model_name).glob(f"*.models/{point.point_id}.npz")
            model = load_model(path)
            data = load_fold(run / "results" / "folds" / task / MAIN_SPLIT, float(prop), fold)
            cells = (data.eval["source"] == "cell_line").to_numpy()
            p.append(model.predict_proba(data.X_eval[cells]))
            truth.append(data.eval.loc[cells, "truth"].to_numpy())
            classes = list(model.classes_)
        p, truth = np.vstack(p), np.concatenate(truth)
        codes = np.array([classes.index(t) for t in truth])
        t = float(table[table["model"] == model_name]["temperature"].iloc[0])
        temperatures.append(t)

        def nll(q):
            return -np.mean(np.log(np.maximum(q[np.arange(len(codes)), codes], 1e-300)))

        assert nll(apply_temperature(p, t)) <= nll(p) + 1e-12, model_name
    assert any(abs(t - 1) > 0.01 for t in temperatures), temperatures


def test_opportunity_ratio_file_is_derived_from_the_cosmic_files(run: Path) -> None:
    from pssnmf.opportunity import opportunity_ratio, read_ratio, read_signatures

    cosmic = run / "results" / "data" / "cosmic"
    ratio = read_ratio(cosmic / "opportunity_ratio.tsv")
    expected = opportunity_ratio(read_signatures(cosmic / "COSMIC_v3.4_SBS_GRCh37.txt"),
                                 read_signatures(cosmic / "COSMIC_v3.4_SBS_GRCh37_exome.txt"))
    np.testing.assert_allclose(ratio.to_numpy(), expected.to_numpy(), rtol=1e-15)


def test_opportunity_table_recomputed_from_both_runs(run: Path) -> None:
    """The comparison refits every final point at exome scale (DDRd: the Zou cell lines are
    genomes; cancer type's GDSC cell lines are exomes, so it is not run); its F1 columns equal
    scikit-learn's on the two prediction files, and the conversion changes predictions."""
    from sklearn.metrics import f1_score

    table = _tsv(run / "results" / "tables" / "opportunity.tsv")
    assert set(table["task"]) == {"ddrd"} and set(table["split_mode"]) == set(SPLITS)
    assert set(table["model"]) == set(MODELS) and set(table["source"]) == {"cell lines", "TCGA"}
    for _, row in table.iterrows():
        prop = repr(float(row["proportion"]))
        main = _tsv(_dir(run, "final", row["task"], row["split_mode"], prop) / f"{row['model']}.predictions.tsv")
        other = _tsv(_dir(run, "opportunity", row["task"], row["split_mode"], prop) / "exome"
                     / f"{row['model']}.predictions.tsv")
        source = "cell_line" if row["source"] == "cell lines" else "tumour"
        f1 = {}
        for name, frame in (("none", main), ("exome", other)):
            part = frame[(frame["source"] == source) & frame["truth"].notna()]
            f1[name] = np.mean([f1_score(g["truth"].astype(str), g["predicted"].astype(str), average="macro")
                                for _, g in part.groupby("replicate")])
        assert row["f1_none"] == pytest.approx(f1["none"], abs=1e-12)
        assert row["f1_exome"] == pytest.approx(f1["exome"], abs=1e-12)
        assert row["f1_change_low"] <= row["f1_change_high"]
        # Same test rows, same seeds: only the scale differs.
        key = ["row_id", "replicate"]
        merged = main.merge(other, on=key, suffixes=("_none", "_exome"))
        assert len(merged) == len(main) == len(other)
    assert (table["predictions_changed"] > 0).any()
    # The main run's models are trained without conversion and say so.
    from pssnmf.model import load_model

    final = next((_dir(run, "final", "ddrd", MAIN_SPLIT, PROPORTIONS[0]) / "S-NMF.models").glob("*.npz"))
    assert load_model(final).metadata_["opportunity"] is None


def test_an_exome_scale_fit_converts_cell_lines_only_and_records_its_scale(run: Path, tmp_path: Path) -> None:
    """experiment.opportunity: exome, on the run's real DDRd folds: cell-line rows (Zou genomes)
    are divided by the ratio and renormalised, tumour rows untouched, and the saved model
    carries the scale and ratio that `pssnmf predict --scale` uses."""
    from pssnmf.experiment import FitSettings, Point, run_fit_batch
    from pssnmf.model import load_model
    from pssnmf.opportunity import Opportunity, read_ratio
    from pssnmf.predict import predict_counts

    ratio = read_ratio(run / "results" / "data" / "cosmic" / "opportunity_ratio.tsv")
    opportunity = Opportunity("exome", tuple(ratio), (("cell_line", "genome"), ("tumour", "exome")))
    fold_dir = run / "results" / "folds" / "ddrd" / MAIN_SPLIT
    plain = load_fold(fold_dir, float(PROPORTIONS[0]), "test")
    exome = load_fold(fold_dir, float(PROPORTIONS[0]), "test", opportunity=opportunity)
    for X_plain, X_exome, rows in ((plain.X_train, exome.X_train, plain.train), (plain.X_eval, exome.X_eval, plain.eval)):
        cells = (rows["source"] == "cell_line").to_numpy()
        assert cells.any() and (~cells).any()
        np.testing.assert_array_equal(X_exome[~cells], X_plain[~cells])
        expected = X_plain[cells] / ratio.to_numpy()
        np.testing.assert_allclose(X_exome[cells], expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)
    point = Point("S-NMF", 4, 0.1, 0.0001, fold="test")
    run_fit_batch(fold_dir, "ddrd", MAIN_SPLIT, float(PROPORTIONS[0]), [point], 0, tmp_path / "m.tsv",
                  models_dir=tmp_path / "models", settings=FitSettings(n_restarts=2, max_epochs=60, min_epochs=10),
                  opportunity=opportunity)
    model = load_model(tmp_path / "models" / f"{point.point_id}.npz")
    recorded = model.metadata_["opportunity"]
    assert recorded["target_scale"] == "exome" and recorded["source_scales"]["cell_line"] == "genome"
    np.testing.assert_allclose(recorded["ratio"], ratio.to_numpy(), rtol=1e-15)
    counts = pd.read_csv(run / "results" / "folds" / "ddrd" / MAIN_SPLIT / "catalog.tsv", sep="\t",
                         index_col=0).T.iloc[:5]
    with pytest.raises(ValueError, match="--scale"):
        predict_counts(model, counts)
    assert len(predict_counts(model, counts, scale="genome", n_resamples=0).table) == 5


def test_undetermined_counts_follow_the_rule_and_the_final_predictions(run: Path) -> None:
    """uncertainty.tsv: the few-mutation count equals the test rows under 50 mutations, the
    counts add up, and accuracy over all samples equals the final fit's own (seed 0)."""
    exercised = []
    for task in TASKS:
        for prop in PROPORTIONS:
            table = _tsv(_dir(run, "figures", task, MAIN_SPLIT, prop) / "uncertainty.tsv")
            assert set(table["model"]) == set(MODELS) and set(table["source"]) == {"cell lines", "TCGA"}
            membership = pd.read_csv(run / "results" / "folds" / task / MAIN_SPLIT / "membership.tsv", sep="\t",
                                     dtype=str, keep_default_na=False)
            test = membership[(membership["set"] == "test") & (membership["proportion"] == prop)
                              & (membership["truth"] != "")]
            for _, row in table.iterrows():
                source = "cell_line" if row["source"] == "cell lines" else "tumour"
                rows = test[test["source"] == source]
                assert row["n_samples"] == len(rows)
                assert row["n_few_mutations"] == (rows["mutations"].astype(int) < 50).sum()
                assert row["n_determined"] + row["n_few_mutations"] + row["n_wide_interval"] == row["n_samples"]
                preds = _tsv(_dir(run, "final", task, MAIN_SPLIT, prop) / f"{row['model']}.predictions.tsv")
                preds = preds[(preds["replicate"] == 0) & (preds["source"] == source) & preds["truth"].notna()]
                assert row["accuracy_all"] == pytest.approx((preds["truth"] == preds["predicted"]).mean(), abs=1e-12)
            exercised.append((table[table["source"] == "TCGA"]["n_few_mutations"] > 0).all())
    # Real TCGA exomes have tumours under 50 mutations (in the test config, the DDRd task's test
    # tumours; the cancer-type ones, of four high-burden cancers, may have none): not vacuous.
    assert any(exercised)


def test_every_output_folder_is_in_the_readme_and_logs_have_one_root(run: Path) -> None:
    """README's "What comes out where" names every top-level folder the run wrote under results/,
    and every log is under results/logs/ (none in a logs/ folder of the working directory)."""
    readme = (PROJECT / "README.md").read_text()
    table = readme[readme.index("### What comes out where"):]
    table = table[:table.index("\n\n", table.index("| path |"))]
    named = set(re.findall(r"`results/([^/`{]+)", table))
    written = {path.name for path in (run / "results").iterdir()}
    assert written <= named, f"not in the README's table: {sorted(written - named)}"
    assert not (run / "logs").exists(), sorted(p.name for p in (run / "logs").rglob("*"))[:5]
    assert (run / "results" / "logs" / "fetch").is_dir() and (run / "results" / "logs" / "data").is_dir()
