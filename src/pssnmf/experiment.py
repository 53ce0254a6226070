"""The experiment: fit batches on folds, selection, final test and Table 1 (paper sections 2.2.3-2.2.5).

Library functions, each with a thin command (``python -m pssnmf.experiment <command> --help``):

``folds``   :func:`pssnmf.folds.build_folds`   task inputs -> fold directory (catalog + membership)
``fit``     :func:`run_fit_batch`               a batch of fits -> one metrics TSV (+ timings, models,
                                                predictions)
``job``     :func:`pssnmf.planning.plan`        one workflow job's typed spec -> its fits, as ``fit``
``select``  :func:`run_selection`               metrics TSVs -> fold summary with Pareto flags + chosen
                                                point per (task, split mode, proportion, model)
``table1``  :func:`write_table1`                final fits' metrics + test predictions -> Table 1 with
                                                bootstrap intervals, the spread over seeds and the
                                                paper's numbers beside

A *point* is one fit (:mod:`pssnmf.planning`, re-exported here: points, their seeds and settings,
and :func:`~pssnmf.planning.plan`, which turns one workflow job's spec into its points): model name,
K, lambda_c, lambda_l2, confidence_threshold (PSS models only), fold (0..n-1 or ``test``) and
replicate (0 unless several seeds of a final fit are run).  The
baselines of :mod:`pssnmf.baselines` (``LR-96``, ``NMF+LR``, ``COSMIC+LR``) are points too, with no
lambda_c, lambda_l2 or ct; only NMF+LR has a K, which the final test takes from the chosen S-NMF
point (``k_from`` in :mod:`pssnmf.models`).  They are fitted, scored and saved by the same batch runner, so
their rows in the metrics and in Table 1 have the NMF models' columns (stability NaN).  Its
``random_state`` comes from the config seed and the point through :func:`fit_seed`
(SeedSequence on stable encodings), so a fit gives the same result whichever job, batch, core
count or cluster runs it.  BLAS threads are pinned to ``--threads`` with threadpoolctl.

Results files hold no timing, so they are byte-identical on reruns; fit seconds go to a separate
timings TSV.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pssnmf import commands
from pssnmf import folds as folds_lib
from pssnmf import metrics as metrics_lib
from pssnmf import models as models_lib
from pssnmf import opportunity as opportunity_lib
from pssnmf import selection as selection_lib
from pssnmf import tables as tables_lib
from pssnmf.data.atomic import write_table, write_text
from pssnmf.folds import FoldData, load_fold, load_pools, proportion_label, seed_sequence

log = logging.getLogger(__name__)

# Points, seeds, settings and the planning of one workflow job: pssnmf.planning (re-exported here).
from pssnmf.planning import (  # noqa: E402,F401
    BASELINES, JOB_STAGES, POINT_COLUMNS, FitJob, FitSettings, Point, complete_points, fill_from_optimum, fit_seed,
    parse_point, plan, read_points,
)


def make_model(point: Point, random_state: int, settings: FitSettings):
    if point.is_baseline:
        from pssnmf.baselines import make_baseline

        if point.model == "COSMIC+LR" and settings.cosmic_signatures is None:
            raise ValueError("COSMIC+LR needs the COSMIC signature file: --cosmic-signatures PATH (e.g. "
                             "results/data/cosmic/COSMIC_v3.4_SBS_GRCh37.txt)")
        extra = {} if point.K is None else {"n_signatures": int(point.K)}
        return make_baseline(point.model, random_state=random_state, cosmic_signatures=settings.cosmic_signatures,
                             **extra)
    from pssnmf.model import IntegratedNMF  # imported late: folds/selection work without the model

    entry = models_lib.spec(point.model)
    kwargs = dict(n_signatures=int(point.K), mode=entry.mode, unlabeled_regularization=entry.unlabeled_regularization,
                  lambda_c=float(point.lambda_c), lambda_l2=float(point.lambda_l2), random_state=random_state,
                  **settings.kwargs(), **entry.options)
    if entry.kind == "pseudo_label":
        kwargs["confidence_threshold"] = float(point.confidence_threshold)
    return IntegratedNMF(**kwargs)


def _epochs(model) -> tuple[float, float]:
    """(max, mean) epochs over restarts; ``n_epochs_`` may be one number or one per restart."""
    value = np.atleast_1d(np.asarray(getattr(model, "n_epochs_", np.nan), dtype=np.float64))
    return float(np.max(value)), float(np.mean(value))


def fit_one(data: FoldData, point: Point, random_state: int, settings: FitSettings):
    """Fit one point on one fold; returns (model, metrics dict, predictions frame, seconds)."""
    model = make_model(point, random_state, settings)
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    probability = np.asarray(model.predict_proba(data.X_eval), dtype=np.float64)
    classes = np.asarray(model.classes_, dtype=object)
    predicted = classes[np.argmax(probability, axis=1)]
    scores = metrics_lib.evaluation_scores(data.eval, predicted, probability.max(axis=1))
    pseudo = metrics_lib.pseudo_label_scores(getattr(model, "pseudo_labels_", None), data.train,
                                              n_restarts=settings.n_restarts)
    n_epochs, n_epochs_mean = _epochs(model)
    labelled = np.array([y is not None for y in data.y_train])
    # A baseline is one fit: no restarts, no epochs (NaN), no pseudo-labels, stability NaN.
    n_restarts = 1 if point.is_baseline else settings.n_restarts
    row = {"random_state": random_state, "n_restarts": n_restarts,
           "n_train_labelled": int(labelled.sum()), "n_train_unlabelled": int((~labelled).sum()),
           "n_epochs": n_epochs, "n_epochs_mean": n_epochs_mean,
           "stability": float(model.stability_), **scores, **pseudo}
    predictions = data.eval[["row_id", "sample", "source", "truth"]].copy()
    predictions["predicted"] = predicted
    for j, cls in enumerate(classes):
        predictions[f"probability_{cls}"] = probability[:, j]
    return model, row, predictions, seconds


POOL_COLUMNS = ("row_id", "sample", "cancer_type", "mutations", "pool", "role", "heterozygous", "predicted")
"""The identity columns of a pools file, before ``probability_<class>`` and the fit's keys."""


def pool_predictions(model, X: np.ndarray, rows: pd.DataFrame) -> pd.DataFrame:
    """A fitted model's predictions of the screening pools' rows (:func:`pssnmf.folds.load_pools`)."""
    frame = pd.DataFrame({"row_id": rows["row_id"], "sample": rows["sample"], "cancer_type": rows["cancer_type"],
                          "mutations": rows["mutations"], "pool": rows["fold"], "role": rows["role"],
                          "heterozygous": rows["heterozygous"]})
    classes = np.asarray(model.classes_, dtype=object)
    probability = (np.asarray(model.predict_proba(X), dtype=np.float64) if len(X)
                   else np.zeros((0, classes.size)))
    frame["predicted"] = classes[np.argmax(probability, axis=1)] if len(X) else pd.Series(dtype=object)
    for j, cls in enumerate(classes):
        frame[f"probability_{cls}"] = probability[:, j]
    return frame


def run_fit_batch(
    fold_dir: str | os.PathLike,
    task: str,
    split_mode: str,
    proportion: float,
    points: Sequence[Point],
    seed: int,
    metrics_out: str | os.PathLike,
    timings_out: str | os.PathLike | None = None,
    models_dir: str | os.PathLike | None = None,
    predictions_out: str | os.PathLike | None = None,
    pools_out: str | os.PathLike | None = None,
    settings: FitSettings = FitSettings(),
    threads: int = 1,
    opportunity=None,
) -> pd.DataFrame:
    """Fit a batch of points and write one metrics TSV (one row per fit); return it.

    Each fold is read once.  Models go to ``models_dir/<point_id>.npz`` (written by
    :func:`pssnmf.model.save_model`, baselines by :func:`pssnmf.baselines.save_baseline`), test
    predictions to ``predictions_out``, and the final fits' (fold ``test``) predictions of the
    screening pools (:func:`pssnmf.folds.load_pools`) to ``pools_out``.
    All files are written atomically; the metrics file is written last, so its presence means
    the batch is complete.
    """
    from pssnmf.baselines import save_baseline
    from pssnmf.model import save_model

    if not points:
        raise ValueError("a fit batch needs at least one point")
    incomplete = [p for p in points if not p.complete]
    if incomplete:
        raise ValueError(f"points lack hyperparameters (give them or --optimum): {incomplete[0]}")
    if any(p.model == "COSMIC+LR" for p in points):
        if settings.cosmic_signatures is None:
            raise ValueError("COSMIC+LR needs the COSMIC signature file: --cosmic-signatures PATH")
        if not Path(settings.cosmic_signatures).is_file():
            raise FileNotFoundError(f"--cosmic-signatures {settings.cosmic_signatures}: no such file")
    rows, timing_rows, prediction_frames, pool_frames = [], [], [], []
    pools = None
    cache: dict[str, FoldData] = {}
    with threadpool_limits(limits=int(threads)):
        for i, point in enumerate(points, 1):
            if point.fold not in cache:
                cache[point.fold] = load_fold(fold_dir, proportion, point.fold, opportunity=opportunity)
            data = cache[point.fold]
            random_state = fit_seed(seed, task, split_mode, proportion, point)
            model, scores, predictions, seconds = fit_one(data, point, random_state, settings)
            keys = {"task": task, "split_mode": split_mode, "proportion": float(proportion),
                    "model": point.model, "K": np.nan if point.K is None else int(point.K),
                    "lambda_c": np.nan if point.lambda_c is None else float(point.lambda_c),
                    "lambda_l2": np.nan if point.lambda_l2 is None else float(point.lambda_l2),
                    "confidence_threshold": (np.nan if point.confidence_threshold is None
                                             else float(point.confidence_threshold)),
                    "fold": str(point.fold), "replicate": int(point.replicate), "seed": int(seed),
                    "point_id": point.point_id}
            rows.append({**keys, **scores})
            timing_rows.append({**keys, "fit_seconds": seconds, "threads": int(threads)})
            identity = {k: keys[k] for k in ("task", "split_mode", "proportion", "model", "fold", "replicate")}
            if predictions_out is not None:
                prediction_frames.append(predictions.assign(**identity))
            if pools_out is not None and str(point.fold) == "test":
                if pools is None:
                    pools = load_pools(fold_dir, proportion, opportunity=opportunity)
                pool_frames.append(pool_predictions(model, *pools).assign(**identity))
            if models_dir is not None:
                metadata = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in keys.items()}
                # The profiles' scale (experiment.opportunity), read back by `pssnmf predict --scale`.
                metadata["opportunity"] = None if opportunity is None else opportunity.metadata()
                if point.is_baseline:
                    metadata["random_state"] = random_state
                    if point.model == "COSMIC+LR":
                        metadata["cosmic_signatures"] = Path(settings.cosmic_signatures).name
                    _save_model_atomic(save_baseline, model, Path(models_dir), point.point_id, metadata)
                else:
                    metadata.update(random_state=random_state, **settings.kwargs())
                    _save_model_atomic(save_model, model, Path(models_dir), point.point_id, metadata)
            log.info("[%d/%d] %s %s/%s p=%s: stability %.3f, cell-line acc %.3f, TCGA acc %.3f, %s epochs, %.1f s",
                     i, len(points), point.point_id, task, split_mode, proportion_label(proportion),
                     scores["stability"], scores["cellline_accuracy"], scores["tcga_accuracy"],
                     f"{scores['n_epochs']:.0f}", seconds)
    metrics = pd.DataFrame(rows)
    if timings_out is not None:
        write_table(pd.DataFrame(timing_rows), timings_out)
    if predictions_out is not None:
        write_table(pd.concat(prediction_frames, ignore_index=True), predictions_out)
    if pools_out is not None:
        write_table(pd.concat(pool_frames, ignore_index=True) if pool_frames else pd.DataFrame(columns=POOL_COLUMNS),
                    pools_out)
    write_table(metrics, metrics_out)
    return metrics


def _save_model_atomic(save_model, model, models_dir: Path, name: str, metadata: dict) -> None:
    """``save_model`` writes one .npz atomically (temp file + os.replace)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    save_model(model, models_dir / f"{name}.npz", metadata=metadata)


def read_metrics(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(path, sep="\t", keep_default_na=True, dtype={"fold": str, "task": str,
                                                                         "split_mode": str, "model": str})
        missing = [c for c in ("task", "split_mode", "proportion", *POINT_COLUMNS[:-2], "fold", "stability",
                               "cellline_accuracy") if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: not a fit-batch metrics file; missing columns {missing}")
        frames.append(frame)
    if not frames:
        raise ValueError("no metrics files given")
    return pd.concat(frames, ignore_index=True)


def run_selection(metrics_paths: Sequence[str | os.PathLike], summary_out: str | os.PathLike,
                  chosen_out: str | os.PathLike, min_stability: float = 0.9, n_folds: int | None = None,
                  models: Sequence[str] | None = None) -> pd.DataFrame:
    """Fold summary with Pareto flags -> ``summary_out``; chosen points -> ``chosen_out``."""
    fits = read_metrics(metrics_paths)
    if models:
        fits = fits[fits["model"].isin(models)]
        if fits.empty:
            raise ValueError(f"no fits of models {list(models)} in the metrics files")
    front, chosen = selection_lib.select(fits, min_stability=min_stability, n_folds=n_folds)
    write_table(front, summary_out)
    write_table(chosen, chosen_out)
    return chosen


# --------------------------------------------------------------------------------------------
# Table 1 (built by pssnmf.tables.table1; the command's file reading and writing here)
# --------------------------------------------------------------------------------------------
def write_table1(final_metrics_paths: Sequence[str | os.PathLike], predictions_paths: Sequence[str | os.PathLike],
                 out_tsv: str | os.PathLike, out_md: str | os.PathLike, n_boot: int = 1000, seed: int = 0,
                 paper_path: str | os.PathLike | None = None) -> pd.DataFrame:
    metrics = read_metrics(final_metrics_paths)
    predictions = pd.concat([pd.read_csv(p, sep="\t", keep_default_na=False,
                                         dtype={"fold": str, "truth": str, "predicted": str})
                             for p in predictions_paths], ignore_index=True)
    predictions["proportion"] = predictions["proportion"].map(float)
    predictions["replicate"] = predictions["replicate"].map(int)
    paper = pd.read_csv(paper_path, sep="\t") if paper_path else tables_lib.paper_table(1)
    table = tables_lib.table1(metrics, predictions, paper=paper, n_boot=n_boot, seed=seed)
    write_table(table, out_tsv)
    write_text(tables_lib.table1_markdown(table), out_md)
    return table


def export_model(models_dir: str | os.PathLike, out: str | os.PathLike, screening: dict | None = None) -> Path:
    """Copy the replicate-0 final model of ``models_dir`` to ``out`` after checking it loads.

    ``screening`` (:func:`pssnmf.screening.exported_cutoffs`): the per-pathway cut-offs of this
    model chosen on the validation pool, and their realised test rates, stored in the exported
    file's metadata (``metadata["screening"]``); the model itself is unchanged.
    """
    import shutil

    from pssnmf.model import load_model, save_model

    candidates = sorted(Path(models_dir).glob("*_foldtest.npz"))
    if len(candidates) != 1:
        raise ValueError(f"{models_dir}: expected one replicate-0 final model (*_foldtest.npz), "
                         f"found {[c.name for c in candidates]}")
    model = load_model(candidates[0])  # refuses a corrupt or foreign file before it is published
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if screening is not None:
        save_model(model, out, metadata={**model.metadata_, "screening": screening})
    else:
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.copyfile(candidates[0], tmp)
        os.replace(tmp, out)
    log.info("exported %s to %s%s", candidates[0], out, " with its screening cut-offs" if screening else "")
    return out


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def _fit_outputs(p: argparse.ArgumentParser) -> None:
    """The outputs of a batch of fits (``fit`` and ``job``)."""
    p.add_argument("--metrics-out", required=True, help="metrics TSV, one row per fit (written last)")
    p.add_argument("--timings-out", help="TSV of fit seconds per fit")
    p.add_argument("--models-dir", help="folder for the fitted models (<point_id>.npz)")
    p.add_argument("--predictions-out", help="TSV of per-sample predictions on the evaluation rows")
    p.add_argument("--pools-out", help="TSV of per-sample predictions on the screening pools (final fits: "
                                       "fold test; empty for a task without pools)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pssnmf.experiment", fromfile_prefix_chars="@",
                                     description="Folds, fit batches, selection and Table 1 of the PSS-NMF "
                                                 "experiment. Arguments may be read from a file: @args.txt.")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("folds", help="build one task's validation folds and test set for one split mode")
    p.add_argument("--catalog", required=True, help="task catalog.tsv (MutationType x samples)")
    p.add_argument("--samples", required=True, help="task samples.tsv (one row per catalog column)")
    p.add_argument("--out-dir", required=True, help="fold directory to write (catalog.tsv, membership.tsv, "
                                                     "settings.json)")
    p.add_argument("--task", required=True, help="task name (ddrd, cancer_type); part of every seed")
    p.add_argument("--split-mode", choices=folds_lib.SPLIT_MODES, default="grouped")
    p.add_argument("--seed", type=int, required=True, help="config seed")
    p.add_argument("--n-folds", type=int, default=3)
    p.add_argument("--test-fraction", type=float, default=0.25)
    p.add_argument("--per-class", type=int, default=100, help="cell-line bootstraps per class per validation fold")
    p.add_argument("--test-per-class", type=int, default=100, help="cell-line bootstraps per class in the test "
                                                                   "set (DDRd: 1000)")
    p.add_argument("--proportions", type=float, nargs="+", default=[0.33, 0.5], help="unlabelled shares")
    p.add_argument("--min-mutations", type=int, default=1, help="tumours with fewer mutations are not used")

    p = sub.add_parser("fit", help="fit a batch of points on one fold directory and proportion")
    p.add_argument("--fold-dir", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--split-mode", required=True, choices=folds_lib.SPLIT_MODES)
    p.add_argument("--proportion", type=float, required=True)
    p.add_argument("--seed", type=int, required=True, help="config seed")
    p.add_argument("--point", action="append", default=[], type=parse_point,
                   help="a fit: model=SS-NMF,K=5,lambda_c=0.1,lambda_l2=0.001,fold=0 (ct=0.5 for PSS models; "
                        "replicate=1 for another seed); a baseline: model=LR-96,fold=test (NMF+LR: K=..., or "
                        "the chosen S-NMF point's through --optimum); repeat for a batch")
    p.add_argument("--points-file", help="TSV of points (columns model, K, lambda_c, lambda_l2, "
                                         "confidence_threshold, fold, replicate)")
    p.add_argument("--optimum", help="chosen-points TSV (select's output) filling the points' missing "
                                     "hyperparameters")
    p.add_argument("--replicates", type=int, default=1, help="run every point with replicates 0..N-1 (seeds)")
    _fit_outputs(p)
    p.add_argument("--n-restarts", type=int, default=10)
    p.add_argument("--solver", choices=["bcd", "mu"], help="the model's solver (default: the library's, bcd)")
    p.add_argument("--tol", type=float)
    p.add_argument("--min-epochs", type=int)
    p.add_argument("--max-epochs", type=int)
    opportunity_lib.add_arguments(p)  # experiment.opportunity: genome/exome conversion of the fold rows
    p.add_argument("--cosmic-signatures", help="COSMIC SBS signature file (COSMIC layout: Type + one column per "
                                               "signature) for the COSMIC+LR baseline")

    p = sub.add_parser("job", help="the fits of one workflow job, planned from its typed spec (plan())")
    p.add_argument("--spec", required=True, help="one JSON object: the job's stage, wildcards and config values "
                                                 "(pssnmf.planning.plan)")
    _fit_outputs(p)

    p = sub.add_parser("select", help="fold summary, Pareto front and chosen point per model")
    p.add_argument("--metrics", nargs="+", required=True, help="fit-batch metrics TSVs")
    p.add_argument("--summary-out", required=True, help="TSV: fold means/sd per point with eligible/on_front flags")
    p.add_argument("--chosen-out", required=True, help="TSV: one chosen point per task/split/proportion/model")
    p.add_argument("--min-stability", type=float, default=0.9)
    p.add_argument("--n-folds", type=int, help="drop points with fewer folds than this")
    p.add_argument("--models", nargs="+", choices=list(models_lib.names("grid", "pseudo_label")),
                   help="only these models")

    p = sub.add_parser("export-model", help="copy replicate 0 of a final fit to a stable path, checked")
    p.add_argument("--models-dir", required=True, help="a final fit's models folder (<point_id>.npz files)")
    p.add_argument("--out", required=True, help="the exported model file (.npz)")
    p.add_argument("--pools", help="the same final fit's .pools.tsv: store its screening cut-offs (none when the "
                                   "file has no rows: a task without pools)")
    p.add_argument("--predictions", help="the same final fit's .predictions.tsv (with --pools)")
    p.add_argument("--fpr", nargs="+", type=float, default=[0.1, 0.05], help="FPR targets of the cut-offs")

    p = sub.add_parser("table1", help="Table 1 from the final fits (fold 'test') with bootstrap intervals")
    p.add_argument("--metrics", nargs="+", required=True, help="metrics TSVs of the final fits")
    p.add_argument("--predictions", nargs="+", required=True, help="predictions TSVs of the final fits")
    p.add_argument("--out-tsv", required=True)
    p.add_argument("--out-md", required=True)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    p.add_argument("--paper", help="paper numbers TSV (default: the packaged paper_table1.tsv)")
    commands.add_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return commands.run("python -m pssnmf.experiment", _run, args)


def _job_from_flags(args: argparse.Namespace) -> FitJob:
    """The ``fit`` command's points and settings, as :func:`plan` gives them for a ``job``."""
    points = list(args.point) + (read_points(args.points_file) if args.points_file else [])
    settings = FitSettings(n_restarts=args.n_restarts, solver=args.solver, tol=args.tol, min_epochs=args.min_epochs,
                           max_epochs=args.max_epochs, cosmic_signatures=args.cosmic_signatures)
    return FitJob(args.fold_dir, args.task, args.split_mode, args.proportion, args.seed,
                  tuple(complete_points(points, args.optimum, args.task, args.split_mode, args.proportion,
                                        args.replicates)),
                  settings, opportunity_lib.from_arguments(args))


def _run(args: argparse.Namespace) -> None:
    if args.command == "folds":
        settings = folds_lib.FoldSettings(
            seed=args.seed, split_mode=args.split_mode, n_folds=args.n_folds, test_fraction=args.test_fraction,
            per_class=args.per_class, test_per_class=args.test_per_class, proportions=tuple(args.proportions),
            min_mutations=args.min_mutations)
        folds_lib.build_folds(args.catalog, args.samples, args.out_dir, args.task, settings)
    elif args.command in ("fit", "job"):
        job = _job_from_flags(args) if args.command == "fit" else plan(commands.spec_object(args.spec))
        run_fit_batch(job.fold_dir, job.task, job.split_mode, job.proportion, list(job.points), job.seed,
                      args.metrics_out, timings_out=args.timings_out, models_dir=args.models_dir,
                      predictions_out=args.predictions_out, pools_out=args.pools_out, settings=job.settings,
                      threads=args.threads, opportunity=job.opportunity)
    elif args.command == "select":
        run_selection(args.metrics, args.summary_out, args.chosen_out, min_stability=args.min_stability,
                      n_folds=args.n_folds, models=args.models)
    elif args.command == "export-model":
        screening = None
        if args.pools is not None:
            if args.predictions is None:
                raise ValueError("export-model: --pools needs --predictions")
            from pssnmf.screening import exported_cutoffs

            screening = exported_cutoffs(args.predictions, args.pools, args.fpr)  # None: no pools
        export_model(args.models_dir, args.out, screening=screening)
    elif args.command == "table1":
        write_table1(args.metrics, args.predictions, args.out_tsv, args.out_md, n_boot=args.n_boot,
                     seed=args.seed, paper_path=args.paper)


if __name__ == "__main__":
    sys.exit(main())
