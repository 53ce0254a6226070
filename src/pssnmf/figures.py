"""The paper's Tables 2–4 and Figs. 2–18 from the workflow's files: ``python -m pssnmf.figures``.

One subcommand per figure family (or table).  Each is a thin reader: it reads the files the
workflow wrote (per-fit metrics, selection, final models and predictions, fold membership, data
tables), shapes them into the tidy frames documented by :mod:`pssnmf.plots` and
:mod:`pssnmf.tables`, and writes ``<stem>.png``, ``<stem>.svg`` and ``<stem>.tsv`` (figures) or
``<stem>.tsv`` and ``<stem>.md`` (tables), each atomically.  Every written file is logged.

=================  ==============================================================================
subcommand         writes
=================  ==============================================================================
table2             Table 2: TCGA DDR status counts per cancer type (from ``ddr_status.tsv``)
table3             Table 3: pseudo-labelled samples per ct and proportion (one task, one split)
table4             Table 4: mean TCGA probability, pseudo-labels, precision at the chosen points
validation         Fig. 2 (models without U.R.) and Figs. 15–18 (with U.R.): validation metrics
pseudo-labels      Fig. 3: pseudo-label true/false positives by class and ct
confusion          Fig. 4 (and its U.R. extension): test-set confusion matrices
pca                Fig. 5: PCA of the final training set
signatures         Figs. 6, 7, 8 and the SBS96 plots of every final model
pareto             Figs. 10–14: Pareto fronts of (stability, cell-line accuracy)
exploration        Fig. 9: samples per cancer type, mean-profile clustermaps, cross-source cosine
uncertainty        undetermined test samples per final model, and accuracy on the determined ones
calibration        reliability curves and ECE of the final models' test predictions, raw and
                   temperature-scaled (T fitted on the chosen points' validation-fold predictions)
opportunity        the final test with and without genome/exome conversion, side by side
=================  ==============================================================================
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pssnmf import commands
from pssnmf import models as models_lib
from pssnmf import tables as tables_lib
from pssnmf.channels import SBS96
from pssnmf.data.atomic import write_table, write_text
from pssnmf.folds import load_fold, read_catalog_rows
from pssnmf.plots import save_figure

log = logging.getLogger("pssnmf.figures")

TASK_TITLES = {"ddrd": "DDRd", "cancer_type": "Cancer type"}
#: The paper's models, in its order (pssnmf.models); those without unlabelled regularisation are
#: its main figures' (Figs. 2, 4), the U.R. variants join them in the extended results (Figs. 15–18).
MODEL_ORDER = tuple(entry.name for entry in models_lib.REGISTRY if entry.paper)
MAIN_MODELS = tuple(entry.name for entry in models_lib.REGISTRY if entry.paper and not entry.unlabeled_regularization)


# ---- reading ---------------------------------------------------------------------------------

def _read_tsv(path: str | os.PathLike, columns: Sequence[str] = ()) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; it has {list(frame.columns)}")
    return frame


def _read_many(paths: Sequence[str], columns: Sequence[str] = ()) -> pd.DataFrame:
    if not paths:
        raise ValueError("no input files given")
    return pd.concat([_read_tsv(p, columns) for p in paths], ignore_index=True)


def _validation_fits(paths: Sequence[str]) -> pd.DataFrame:
    """Per-fit metrics of the cross-validation folds (the final ``test`` fits are left out)."""
    fits = _read_many(paths, ("model", "fold", "K", "lambda_c", "lambda_l2", "confidence_threshold"))
    return fits[fits["fold"].astype(str) != "test"].reset_index(drop=True)


def _scope(frame: pd.DataFrame, what: str) -> dict:
    """The one task, split mode and proportion of ``frame`` (a figure never mixes them)."""
    scope = {}
    for column in ("task", "split_mode", "proportion"):
        if column in frame.columns:
            values = frame[column].dropna().unique()
            if len(values) != 1:
                raise ValueError(f"{what}: one {column} expected, got {sorted(map(str, values))}")
            scope[column] = values[0]
    return scope


def _title(scope: dict, what: str) -> str:
    parts = [what]
    if "task" in scope:
        parts.append(f"{TASK_TITLES.get(scope['task'], scope['task'])} task")
    if "proportion" in scope:
        parts.append(f"{round(100 * float(scope['proportion']))}% unlabelled")
    if "split_mode" in scope:
        parts.append(f"{scope['split_mode']} split")
    # Two lines: a one-line title wider than a narrow figure is clipped at both ends.
    return "\n".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]


def _chosen_points(chosen: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Model → its chosen (K, λc, λL2, ct) from ``select/.../chosen.tsv``."""
    points = {}
    for _, row in chosen.iterrows():
        ct = row["confidence_threshold"]
        points[str(row["model"])] = {
            "K": float(row["K"]), "lambda_c": float(row["lambda_c"]), "lambda_l2": float(row["lambda_l2"]),
            "ct": None if pd.isna(ct) else float(ct),
        }
    return points


def _final_model(models_dir: str | os.PathLike):
    """The replicate-0 model of a final fit's ``.models`` folder."""
    from pssnmf.model import load_model

    files = sorted(Path(models_dir).glob("*.npz"))
    if not files:
        raise ValueError(f"{models_dir}: no model file (*.npz)")
    models = [load_model(f) for f in files]
    for model in models:
        if int(model.metadata_.get("replicate", 0)) == 0:
            return model
    return models[0]


def _signature_frame(model) -> pd.DataFrame:
    names = [f"Signature {chr(ord('A') + k)}" if k < 26 else f"Signature {k + 1}"
             for k in range(model.signatures_.shape[0])]
    return pd.DataFrame(model.signatures_, index=names, columns=list(SBS96))


def _parse_models(items: Sequence[str], what: str) -> dict[str, str]:
    """``MODEL=PATH`` arguments → {model: path}, in the order given."""
    out = {}
    for item in items:
        model, sep, path = item.partition("=")
        if not sep or not model or not path:
            raise ValueError(f"{what}: expected MODEL=PATH, got {item!r}")
        out[model] = path
    return out


# ---- writing ---------------------------------------------------------------------------------

def _save(fig, data: pd.DataFrame, stem: str) -> None:
    save_figure(fig, data, stem)


def _save_table(table: pd.DataFrame, stem: str, title: str) -> None:
    stem = Path(stem)
    tsv = write_table(table, stem.with_name(stem.name + ".tsv"))
    log.info("wrote %s", tsv)
    md = stem.with_name(stem.name + ".md")
    # One line: Markdown bold does not span a line break.
    write_text(f"**{title.replace(chr(10), ' — ')}**\n\n" + tables_lib.markdown_table(table), md)
    log.info("wrote %s", md)


# ---- subcommands -----------------------------------------------------------------------------

def cmd_table2(args) -> None:
    labels = _read_tsv(args.ddr_status, ("sample", "cancer_type", "MMR", "BER", "HR"))
    table = tables_lib.with_paper_table2(tables_lib.table2_ddr_counts(labels))  # + paper_* columns
    _save_table(table, args.out_stem, "Table 2: TCGA samples per cancer type by DDR status "
                                      "(homozygous, heterozygous, wild type) of MMR, BER and HR")


def cmd_table3(args) -> None:
    fits = _validation_fits(args.metrics)
    scope = _scope(fits.drop(columns="proportion"), "per-fit metrics")
    table = tables_lib.table3_pseudo_label_activity(fits[fits["model"].isin(args.models)])
    table = tables_lib.with_paper_table3(table, scope.get("task"))  # + paper_* columns (comparison only)
    _save_table(table, args.out_stem, _title(scope, "Table 3: pseudo-labelled samples per ct, "
                                                    "summed over PSS models, folds and restarts"))


def cmd_table4(args) -> None:
    fits = _validation_fits(args.metrics)
    scope = _scope(fits.drop(columns="proportion"), "per-fit metrics")
    chosen = _read_many(args.chosen, ("model", "proportion", "K", "lambda_c", "lambda_l2"))
    table = tables_lib.table4_prediction_probability(fits, selected=chosen)
    table = tables_lib.with_paper_table4(table, scope.get("task"))  # + paper_* columns (comparison only)
    _save_table(table, args.out_stem, _title(scope, "Table 4: mean TCGA prediction probability, "
                                                    "pseudo-labels and their precision at the chosen points"))


def cmd_validation(args) -> None:
    from pssnmf.plots.validation import validation_figure

    fits = _validation_fits(args.metrics)
    scope = _scope(fits, "per-fit metrics")
    chosen = _read_tsv(args.chosen, ("model", "K"))
    optimal_k = {str(m): int(k) for m, k in zip(chosen["model"], chosen["K"])}
    present = [m for m in MODEL_ORDER if m in set(fits["model"])]
    main = [m for m in MAIN_MODELS if m in present]
    fig, data = validation_figure(fits, models=main, optimal_k=optimal_k,
                                  title=_title(scope, "Fig. 2: validation metrics by hyperparameter"))
    _save(fig, data, args.out_stem)
    fig, data = validation_figure(fits, models=present, optimal_k=optimal_k,
                                  title=_title(scope, "Figs. 15–18: validation metrics, with U.R. models"))
    _save(fig, data, args.out_stem_ur)


def cmd_pseudo_labels(args) -> None:
    from pssnmf.model import load_model
    from pssnmf.plots.pseudolabels import pseudo_label_counts, pseudo_label_figure

    given, zeros, scope, classes = [], [], {}, None
    truth_by_fold: dict[str, np.ndarray] = {}
    for models_dir in args.models_dir:
        files = sorted(Path(models_dir).glob("*.npz"))
        if not files:
            raise ValueError(f"{models_dir}: no model file (*.npz)")
        for path in files:
            model = load_model(path)
            meta = model.metadata_
            scope = {k: meta[k] for k in ("task", "split_mode", "proportion")}
            fold, ct = str(meta["fold"]), float(meta["confidence_threshold"])
            if fold not in truth_by_fold:
                # pseudo_labels_["sample"] indexes the fit's training rows, in load_fold's order.
                truth_by_fold[fold] = load_fold(args.fold_dir, float(meta["proportion"]), fold) \
                    .train["truth"].to_numpy(dtype=object)
            truth = truth_by_fold[fold]
            classes = [str(c) for c in model.classes_]
            # Every restart's pseudo-labels, as the per-fit n_pseudo_labels counts them.
            pseudo = model.pseudo_labels_
            given.extend({"model": meta["model"], "ct": ct, "pseudo_label": label, "truth": truth[sample]}
                         for sample, label in zip(pseudo["sample"].to_numpy(dtype=int),
                                                  pseudo["label"].astype(str)))
            # A row of zeros per class keeps a ct without pseudo-labels on the axis.
            zeros.extend({"model": meta["model"], "ct": ct, "class": c, "n_true": 0, "n_false": 0,
                          "n_unknown": 0} for c in classes)
    parts = [pd.DataFrame(zeros)]
    if given:
        parts.append(pseudo_label_counts(pd.DataFrame(given))[["model", "ct", "class", "n_true", "n_false",
                                                                "n_unknown"]])
    counts = pd.concat(parts, ignore_index=True).groupby(["model", "ct", "class"], as_index=False, sort=False)[
        ["n_true", "n_false", "n_unknown"]].sum()
    models = [m for m in MODEL_ORDER if m in set(counts["model"])]
    fig, data = pseudo_label_figure(counts, models=models, classes=classes,
                                    title=_title(scope, "Fig. 3: pseudo-labels by ct, summed over folds "
                                                        "and restarts"))
    _save(fig, data, args.out_stem)


def _test_predictions(paths: Sequence[str]) -> pd.DataFrame:
    predictions = _read_many(paths, ("row_id", "model", "source", "truth", "predicted", "fold", "replicate"))
    predictions = predictions[predictions["fold"].astype(str) == "test"]
    # One seed per model: replicate 0 (Table 1 pools the others for its intervals).
    predictions = predictions[predictions["replicate"] == predictions["replicate"].min()]
    # A bootstrap replicate of a cell line is a test sample of its own (row_id is unique).
    return predictions.assign(sample=predictions["row_id"]).reset_index(drop=True)


def cmd_confusion(args) -> None:
    from pssnmf.plots.confusion import confusion_figure

    predictions = _test_predictions(args.predictions)
    scope = _scope(predictions, "test predictions")
    classes = sorted(c.removeprefix("probability_") for c in predictions.columns if c.startswith("probability_"))
    order = [c for c in ("MMR", "BER", "HR", "Control") if c in classes] + \
        [c for c in classes if c not in ("MMR", "BER", "HR", "Control")]
    present = [m for m in MODEL_ORDER if m in set(predictions["model"])]
    main = [m for m in MAIN_MODELS if m in present]
    fig, data = confusion_figure(predictions, models=main, classes=order,
                                 title=_title(scope, "Fig. 4: test-set confusion matrices"))
    _save(fig, data, args.out_stem)
    if args.out_stem_ur:
        fig, data = confusion_figure(predictions, models=present, classes=order,
                                     title=_title(scope, "Test-set confusion matrices, with U.R. models"))
        _save(fig, data, args.out_stem_ur)


def _opportunity(args):
    """The profiles' scale the models were trained at (``experiment.opportunity``), from the options."""
    from pssnmf import opportunity as opportunity_lib

    return opportunity_lib.from_arguments(args)


def cmd_pca(args) -> None:
    from pssnmf.plots.pca import pca_figure

    fold = load_fold(args.fold_dir, args.proportion, "test", opportunity=_opportunity(args))
    rows = fold.train
    profiles = pd.DataFrame(fold.X_train, index=rows["row_id"].to_numpy(), columns=list(SBS96))
    # Unlabelled tumours are coloured by their true class where one is known (never used to
    # train); the others stay unclassed.
    classes = rows["truth"].replace("", np.nan)
    samples = pd.DataFrame({"sample": rows["row_id"], "source": rows["source"], "class": classes})
    scope = {"task": args.task, "proportion": args.proportion, "split_mode": args.split_mode}
    fig, data = pca_figure(profiles, samples,
                           title=_title(scope, "Fig. 5: PCA of the final training set (validation set)"))
    _save(fig, data, args.out_stem)


def cmd_signatures(args) -> None:
    from pssnmf.plots.exposures import exposures_figure
    from pssnmf.plots.sbs96 import sbs96_figure
    from pssnmf.plots.similarity import (cosmic_similarity_figure, matched_similarity_figure,
                                         name_signatures)

    model_dirs = _parse_models(args.final_models, "--final-models")
    models = {name: _final_model(path) for name, path in model_dirs.items()}
    fold = load_fold(args.fold_dir, args.proportion, "test", opportunity=_opportunity(args))
    scope = {"task": args.task, "proportion": args.proportion, "split_mode": args.split_mode}
    cosmic = _read_tsv(args.cosmic).set_index("Type").T
    train = fold.train
    labelled = train[train["label"] != ""]
    labels = pd.DataFrame({"sample": labelled["row_id"], "class": labelled["label"]})
    signatures, names, label_maps = {}, {}, {}
    for name, model in models.items():
        sigs = _signature_frame(model)
        exposures = pd.DataFrame(model.training_exposures_, index=train["row_id"].to_numpy(), columns=sigs.index)
        signatures[name] = sigs
        names[name] = name_signatures(sigs, cosmic, exposures, labels)
        label_maps[name] = dict(zip(names[name]["signature"], names[name]["name"]))

    for name, sigs in signatures.items():
        titles = {s: f"{name} {s}: {label_maps[name][s]}" for s in sigs.index}
        fig, data = sbs96_figure(sigs, titles=titles)
        data.insert(0, "model", name)
        _save(fig, data, str(Path(args.sbs96_dir) / name))

    if args.fig6_stem:
        a, b = args.matched
        fig, data = matched_similarity_figure(
            signatures[a], signatures[b], model_a=a, model_b=b, labels_a=label_maps[a], labels_b=label_maps[b],
            title=_title(scope, f"Fig. 6: cosine similarity of {a} and {b} signatures"))
        _save(fig, data, args.fig6_stem)

    shown = [m for m in MAIN_MODELS if m in signatures] or list(signatures)
    fig, data = cosmic_similarity_figure(
        {m: signatures[m] for m in shown}, cosmic, names={m: names[m] for m in shown},
        title=_title(scope, "Fig. 7: learned signatures vs COSMIC SBS"))
    _save(fig, data, args.fig7_stem)

    # Fig. 8: the test samples' exposures (NNLS on the final signatures, as at prediction time):
    # each real cell line once (its first bootstrap replicate) and every tumour with a true class.
    evaluation = fold.eval.assign(_position=np.arange(len(fold.eval)))
    evaluation = evaluation[evaluation["truth"] != ""]
    cell_lines = evaluation[evaluation["source"] == "cell_line"].drop_duplicates("sample")
    shown_rows = pd.concat([cell_lines, evaluation[evaluation["source"] != "cell_line"]])
    X = fold.X_eval[shown_rows["_position"].to_numpy()]
    exposures = {m: pd.DataFrame(models[m].transform(X), index=shown_rows["row_id"].to_numpy(),
                                 columns=signatures[m].index) for m in shown}
    samples = pd.DataFrame({"sample": shown_rows["row_id"], "source": shown_rows["source"],
                            "class": shown_rows["truth"]})
    fig, data = exposures_figure(exposures, samples, signatures={m: signatures[m] for m in shown},
                                 signature_labels={m: label_maps[m] for m in shown},
                                 max_per_group=args.max_per_group,
                                 title=_title(scope, "Fig. 8: relative exposures of test samples"))
    _save(fig, data, args.fig8_stem)


def cmd_pareto(args) -> None:
    from pssnmf.plots.pareto import pareto_figure

    fits = _validation_fits(args.metrics)
    scope = _scope(fits, "per-fit metrics")
    chosen = _chosen_points(_read_tsv(args.chosen, ("model", "K", "lambda_c", "lambda_l2",
                                                     "confidence_threshold")))
    present = set(fits["model"])
    models = models_lib.figure_order(present)
    fig, data = pareto_figure(fits, models=models, chosen=chosen, min_stability=args.min_stability,
                              title=_title(scope, "Figs. 10–14: Pareto fronts of validation stability "
                                                  "and cell-line accuracy"))
    _save(fig, data, args.out_stem)


def cmd_exploration(args) -> None:
    from pssnmf.plots.exploration import (cross_source_similarity_figure, mean_profile_clustermap,
                                          samples_per_cancer_type_figure)

    parts, profiles = [], []
    for source, samples_path, catalog_path in (("cell_line", args.cell_line_samples, args.cell_line_catalog),
                                               ("tcga", args.tcga_samples, args.tcga_catalog)):
        samples = _read_tsv(samples_path, ("sample", "cancer_type"))
        parts.append(samples[["sample", "cancer_type"]].assign(source=source))
        profiles.append(read_catalog_rows(catalog_path))
    samples = pd.concat(parts, ignore_index=True)
    profiles = pd.concat(profiles)
    thresholds = {"cell_line": args.min_cell_lines, "tcga": args.min_tumours}
    fig, data = samples_per_cancer_type_figure(samples, thresholds)
    _save(fig, data, args.counts_stem)
    selection = _read_tsv(args.selection, ("cancer_type", "candidate"))
    candidates = selection.loc[selection["candidate"].astype(str) == "True", "cancer_type"].tolist()
    for source, stem, what in (("cell_line", args.clustermap_cell_lines_stem, "cell lines"),
                               ("tcga", args.clustermap_tcga_stem, "TCGA")):
        fig, data = mean_profile_clustermap(
            profiles, samples, source, cancer_types=candidates,
            title=f"Fig. 9: cosine similarity of mean profiles, {what}")
        _save(fig, data, stem)
    types = [t.strip() for t in Path(args.types).read_text().split() if t.strip()]
    fig, data = cross_source_similarity_figure(
        profiles, samples, types, title="Fig. 9: cell-line vs TCGA mean profiles, chosen cancer types")
    _save(fig, data, args.cross_stem)


# ---- command line ----------------------------------------------------------------------------

# ---- beyond the paper ------------------------------------------------------------------------

def validation_temperature(model_name: str, chosen: pd.DataFrame, fits_dir: str | os.PathLike,
                           fold_dir: str | os.PathLike, proportion: float, n_folds: int,
                           opportunity=None) -> tuple[float, int]:
    """Temperature of one model's chosen point, fitted on its validation folds' cell lines.

    Each fold's model of the chosen point (``fits_dir/<model>/*.models/<point_id>.npz``, written
    by the grid or ct fits) predicts its own held-out fold, so the predictions are out of fold;
    T minimises their negative log-likelihood on the labelled cell lines (TCGA truth is never
    used).  Returns (T, number of cell-line rows); (NaN, 0) for a model without a chosen point
    (e.g. a baseline: no validation fits).
    """
    from pssnmf.calibration import fit_temperature
    from pssnmf.experiment import Point
    from pssnmf.model import load_model

    row = chosen[chosen["model"] == model_name]
    if row.empty:
        return float("nan"), 0
    r = row.iloc[0]
    ct = None if pd.isna(r.get("confidence_threshold", np.nan)) else float(r["confidence_threshold"])
    probabilities, truth, classes = [], [], None
    for fold in range(n_folds):
        point = Point(model_name, int(r["K"]), float(r["lambda_c"]), float(r["lambda_l2"]), ct, fold=str(fold))
        files = sorted(Path(fits_dir, model_name).glob(f"*.models/{point.point_id}.npz"))
        if len(files) != 1:
            raise ValueError(f"{fits_dir}/{model_name}: expected one model file {point.point_id}.npz of the chosen "
                             f"point, found {len(files)}")
        model = load_model(files[0])
        data = load_fold(fold_dir, proportion, fold, opportunity=opportunity)
        cells = (data.eval["source"] == "cell_line").to_numpy()
        probabilities.append(np.asarray(model.predict_proba(data.X_eval[cells]), dtype=float))
        truth.append(data.eval.loc[cells, "truth"].astype(str).to_numpy())
        classes = [str(c) for c in model.classes_]
    truth_all = np.concatenate(truth)
    return fit_temperature(np.vstack(probabilities), truth_all, classes), int(truth_all.size)


def cmd_calibration(args) -> None:
    from pssnmf import opportunity as opportunity_lib
    from pssnmf.plots.calibration import reliability_figure

    predictions = _read_many(args.predictions, ("row_id", "model", "source", "truth", "predicted", "fold"))
    predictions = predictions[predictions["fold"].astype(str) == "test"].reset_index(drop=True)
    predictions["truth"] = predictions["truth"].fillna("").astype(str)
    scope = _scope(predictions, "test predictions")
    chosen = _read_tsv(args.chosen, ("model", "K", "lambda_c", "lambda_l2", "confidence_threshold"))
    opportunity = opportunity_lib.from_arguments(args)
    models = models_lib.figure_order(predictions["model"])
    temperatures, n_validation = {}, {}
    for model in models:
        temperatures[model], n_validation[model] = validation_temperature(
            model, chosen, args.fits_dir, args.fold_dir, args.proportion, args.n_folds, opportunity)
        log.info("%s: temperature %.3g from %d validation cell-line predictions", model, temperatures[model],
                 n_validation[model])
    table, curves = tables_lib.calibration_table(predictions, temperatures, n_bins=args.n_bins)
    table.insert(0, "task", scope.get("task"))
    table.insert(1, "split_mode", scope.get("split_mode"))
    table.insert(2, "proportion", scope.get("proportion"))
    table["n_validation"] = table["model"].map(n_validation)
    table["model"] = pd.Categorical(table["model"], models, ordered=True)
    table = table.sort_values(["model", "source"]).assign(model=lambda t: t["model"].astype(str))
    _save_table(table.reset_index(drop=True), args.table_stem,
                _title(scope, "Calibration of the final models' test predictions (ECE, 10 bins)"))
    fig, data = reliability_figure(curves, table, models=models,
                                   title=_title(scope, "Reliability of the final models' test predictions"))
    _save(fig, data, args.out_stem)


def cmd_uncertainty(args) -> None:
    from pssnmf.opportunity import AtModelScale
    from pssnmf.uncertainty import prediction_intervals

    opportunity = _opportunity(args)
    fold = load_fold(args.fold_dir, args.proportion, "test")
    catalog = read_catalog_rows(Path(args.fold_dir) / "catalog.tsv")
    evaluation = fold.eval[fold.eval["truth"].astype(str) != ""]
    frames = []
    for model_name, models_dir in _parse_models(args.final_models, "--final-models").items():
        model = _final_model(models_dir)
        for source, rows in evaluation.groupby("source", sort=True):
            counts = catalog.loc[rows["row_id"]].to_numpy(dtype=np.int64)
            table = prediction_intervals(AtModelScale.for_source(model, opportunity, source), counts,
                                         n_resamples=args.resamples, min_mutations=args.min_mutations,
                                         max_interval_width=args.max_interval_width, random_state=args.seed)
            frames.append(table.assign(model=model_name, source=source, truth=rows["truth"].to_numpy(),
                                       row_id=rows["row_id"].to_numpy()))
    table = tables_lib.undetermined_table(pd.concat(frames, ignore_index=True))
    order = {m: i for i, m in enumerate(MODEL_ORDER)}
    table = table.sort_values(["model", "source"], key=lambda c: c.map(order).fillna(99) if c.name == "model" else c,
                              kind="stable").reset_index(drop=True)
    scope = {"task": args.task, "proportion": args.proportion, "split_mode": args.split_mode}
    _save_table(table, args.out_stem, _title(scope, f"Undetermined test samples (fewer than {args.min_mutations} "
                                                    f"mutations, or a 90 % interval wider than "
                                                    f"{args.max_interval_width}), final models, seed 0"))


def cmd_opportunity(args) -> None:
    def read(paths):
        frame = _read_many(paths, ("task", "split_mode", "proportion", "model", "replicate", "row_id", "source",
                                   "truth", "predicted", "fold"))
        return frame.assign(truth=frame["truth"].fillna("").astype(str))

    by_scale = {args.main_scale: read(args.main_predictions), args.other_scale: read(args.other_predictions)}
    if set(by_scale) != set(tables_lib.OPPORTUNITY_SCALES):
        raise ValueError(f"--main-scale and --other-scale must be {tables_lib.OPPORTUNITY_SCALES} in some order")
    table = tables_lib.opportunity_comparison(by_scale, n_boot=args.n_boot, seed=args.seed)
    _save_table(table, args.out_stem, "Final test with and without genome/exome opportunity conversion "
                "(exome: Zou cell lines brought to exome scale); F1 change = exome - none, 95 % paired bootstrap")


def _parser() -> argparse.ArgumentParser:
    from pssnmf import opportunity as opportunity_lib

    parser = argparse.ArgumentParser(prog="python -m pssnmf.figures", description=__doc__.split("\n")[0],
                                     fromfile_prefix_chars="@")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("table2", help="Table 2 from results/data/tcga/ddr_status.tsv")
    p.add_argument("--ddr-status", required=True)
    p.add_argument("--out-stem", required=True)
    p.set_defaults(run=cmd_table2)

    p = sub.add_parser("table3", help="Table 3 from the PSS models' per-fit metrics (one task and split)")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--models", nargs="+", default=["PSS-NMF", "PSS-NMF-UR"])
    p.add_argument("--out-stem", required=True)
    p.set_defaults(run=cmd_table3)

    p = sub.add_parser("table4", help="Table 4 from per-fit metrics and chosen.tsv (one task and split)")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--chosen", nargs="+", required=True)
    p.add_argument("--out-stem", required=True)
    p.set_defaults(run=cmd_table4)

    p = sub.add_parser("validation", help="Fig. 2 and Figs. 15–18 from per-fit metrics")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--chosen", required=True)
    p.add_argument("--out-stem", required=True)
    p.add_argument("--out-stem-ur", required=True)
    p.set_defaults(run=cmd_validation)

    p = sub.add_parser("pseudo-labels", help="Fig. 3 from the PSS fits' model files")
    p.add_argument("--fold-dir", required=True)
    p.add_argument("--models-dir", nargs="+", required=True)
    p.add_argument("--out-stem", required=True)
    p.set_defaults(run=cmd_pseudo_labels)

    p = sub.add_parser("confusion", help="Fig. 4 from final test predictions")
    p.add_argument("--predictions", nargs="+", required=True)
    p.add_argument("--out-stem", required=True)
    p.add_argument("--out-stem-ur")
    p.set_defaults(run=cmd_confusion)

    for name, helptext in (("pca", "Fig. 5 from the fold directory"),
                           ("signatures", "Figs. 6–8 and SBS96 plots from the final models")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--fold-dir", required=True)
        p.add_argument("--task", required=True)
        p.add_argument("--split-mode", required=True)
        p.add_argument("--proportion", type=float, required=True)
        opportunity_lib.add_arguments(p)  # the fits' scale (experiment.opportunity)
        if name == "pca":
            p.add_argument("--out-stem", required=True)
            p.set_defaults(run=cmd_pca)
        else:
            p.add_argument("--final-models", nargs="+", required=True, help="MODEL=path/to/MODEL.models")
            p.add_argument("--cosmic", required=True, help="COSMIC SBS signatures (Type + one column each)")
            p.add_argument("--matched", nargs=2, default=["S-NMF", "PSS-NMF"], help="the two models of Fig. 6")
            p.add_argument("--fig6-stem")
            p.add_argument("--fig7-stem", required=True)
            p.add_argument("--fig8-stem", required=True)
            p.add_argument("--sbs96-dir", required=True, help="folder of <model>.png/.svg/.tsv")
            p.add_argument("--max-per-group", type=int, default=30)
            p.set_defaults(run=cmd_signatures)

    p = sub.add_parser("pareto", help="Figs. 10–14 from per-fit metrics and chosen.tsv")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--chosen", required=True)
    p.add_argument("--min-stability", type=float, required=True)
    p.add_argument("--out-stem", required=True)
    p.set_defaults(run=cmd_pareto)

    p = sub.add_parser("exploration", help="Fig. 9 from the data tables")
    for flag in ("--cell-line-samples", "--cell-line-catalog", "--tcga-samples", "--tcga-catalog",
                 "--selection", "--types", "--counts-stem", "--clustermap-cell-lines-stem",
                 "--clustermap-tcga-stem", "--cross-stem"):
        p.add_argument(flag, required=True)
    p.add_argument("--min-cell-lines", type=int, required=True)
    p.add_argument("--min-tumours", type=int, required=True)
    p.set_defaults(run=cmd_exploration)

    p = sub.add_parser("calibration", help="reliability curves and ECE of the final test predictions")
    p.add_argument("--predictions", nargs="+", required=True, help="final predictions TSVs (one task/split/prop)")
    p.add_argument("--chosen", required=True, help="select/.../chosen.tsv: the chosen point of each model")
    p.add_argument("--fits-dir", required=True, help="fits/{task}/{split}/u{prop}: the validation fits' models")
    p.add_argument("--fold-dir", required=True)
    p.add_argument("--proportion", type=float, required=True)
    p.add_argument("--n-folds", type=int, required=True)
    p.add_argument("--n-bins", type=int, default=10)
    opportunity_lib.add_arguments(p)
    p.add_argument("--out-stem", required=True, help="the reliability figure")
    p.add_argument("--table-stem", required=True, help="the ECE table (.tsv and .md)")
    p.set_defaults(run=cmd_calibration)

    p = sub.add_parser("uncertainty", help="undetermined test samples per final model (pssnmf.uncertainty)")
    p.add_argument("--fold-dir", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--split-mode", required=True)
    p.add_argument("--proportion", type=float, required=True)
    p.add_argument("--final-models", nargs="+", required=True, help="MODEL=path/to/MODEL.models")
    p.add_argument("--resamples", type=int, default=200)
    p.add_argument("--min-mutations", type=int, default=50)
    p.add_argument("--max-interval-width", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    opportunity_lib.add_arguments(p)
    p.add_argument("--out-stem", required=True, help="the table (.tsv and .md)")
    p.set_defaults(run=cmd_uncertainty)

    p = sub.add_parser("opportunity", help="final test scores with vs without genome/exome conversion")
    p.add_argument("--main-predictions", nargs="+", required=True, help="final predictions at the main scale")
    p.add_argument("--other-predictions", nargs="+", required=True, help="the same fits at the other scale")
    p.add_argument("--main-scale", required=True, choices=tables_lib.OPPORTUNITY_SCALES)
    p.add_argument("--other-scale", required=True, choices=tables_lib.OPPORTUNITY_SCALES)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-stem", required=True)
    p.set_defaults(run=cmd_opportunity)
    commands.add_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return commands.run("python -m pssnmf.figures", _run, args)


def _run(args: argparse.Namespace) -> None:
    log.info("%s: starting", args.command)
    args.run(args)
    log.info("%s: done", args.command)


if __name__ == "__main__":
    sys.exit(main())
