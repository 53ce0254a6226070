"""Estimate the wall time of the full experiment grid from fits measured at full scale.

What it does:
1. Builds DDRd folds at the paper's size (100 bootstraps per class per validation fold, so a
   cross-validation fit trains on 2 folds = 800 labelled rows, plus 800 unlabelled tumours at
   50 %), from the task inputs given (``--catalog/--samples``, the data layer's
   ``results/data/ddrd/``), or else from the shared data directly (Zou's 46 subclones and TCGA
   tumours without truth, which does not change a fit's cost).
2. Times real fits (10 restarts, the model's default tolerance and epoch limits) for the models
   and K values asked (default S-NMF, SS-NMF, PSS-NMF at K = 2, 6, 10), one BLAS thread each, as
   the workflow runs them; plus the cost of starting Python with the library and of loading a
   fold, which every job pays once.
3. Estimates the full grid: K 2-10 x lambda_c {0.001, 0.01, 0.1, 0.25, 0.5, 1} x lambda_L2
   {1e-4, 1e-3, 1e-2} x 3 folds x {S-NMF, SS-NMF, SS-NMF-UR}, plus the ct sweep {0.3, 0.35, 0.4,
   0.45, 0.5, 0.6, 0.9} x 3 folds x {PSS-NMF, PSS-NMF-UR}, plus the final fits, x 2 tasks x 2
   proportions x 2 split modes.  Assumptions, printed with the result: a fit's time is linear in
   K between the measured K (interpolated) and linear in its training rows (33 % folds and S-NMF,
   which ignores unlabelled rows, are scaled down; the final fits on the whole validation set up);
   U.R. variants are measured (or cost what their base model costs if left out); lambda values do not change the cost (they
   change the number of epochs, which the measured fits sample at one lambda only); jobs run one
   fit at a time per core, ``--cores`` at once.

Usage:
    python benchmarks/estimate_full_run.py [--catalog C --samples S] [--data-dir ../shared/data]
        [--models S-NMF SS-NMF SS-NMF-UR PSS-NMF PSS-NMF-UR] [--ks 2 6 10] [--cores 2] [--solver bcd] [--dtype float64]
        [--out bench.tsv] [--config config/config.yaml]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from threadpoolctl import threadpool_limits

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.experiment import FitSettings, Point, fit_one, fit_seed
from pssnmf.folds import FoldSettings, build_folds, load_fold

K_GRID = list(range(2, 11))
LAMBDA_C = [0.001, 0.01, 0.1, 0.25, 0.5, 1.0]
LAMBDA_L2 = [1e-4, 1e-3, 1e-2]
CT = [0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.9]
N_FOLDS, N_TASKS, PROPORTIONS, N_SPLIT_MODES = 3, 2, (0.33, 0.5), 2
SNAKEMAKE_SHELL_JOB_S = 0.025  # measured by the lead: Snakemake's own cost per shell: job
ZOU_GENES = ("MSH6", "MSH2", "MLH1", "PMS2", "PMS1", "UNG", "OGG1", "EXO1", "RNF168", "ATP2B4")
PATHWAY = {"MSH6": "MMR", "MSH2": "MMR", "MLH1": "MMR", "PMS2": "MMR", "PMS1": "MMR", "UNG": "BER", "OGG1": "BER",
           "EXO1": "HR", "RNF168": "HR", "ATP2B4": "Control"}


def timing_inputs(data_dir: Path, out: Path, n_tumours: int = 4000) -> tuple[Path, Path]:
    """A DDRd-shaped task from the shared data: Zou's 46 subclones + TCGA tumours (no truth needed)."""
    zou = pd.read_excel(data_dir / "zou2021" / "Supplementary_tables.xlsx", sheet_name="TableS3")
    zou = zou.set_index("MutationType").drop(columns="Mutation")
    zou.index = [normalize_channel(c) for c in zou.index]
    cols = [c for c in zou.columns if c.split("_")[0] in ZOU_GENES]
    tcga = pd.read_csv(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", sep="\t", index_col=0)
    tcga.index = [normalize_channel(c) for c in tcga.index]
    tumours = [c for c in tcga.columns if tcga[c].sum() > 0][:n_tumours]
    counts = pd.concat([zou.loc[list(SBS96), cols], tcga.loc[list(SBS96), tumours]], axis=1).astype(np.int64)
    labels = [PATHWAY[c.split("_")[0]] for c in cols]
    samples = pd.DataFrame({
        "sample": cols + tumours, "source": ["cell_line"] * len(cols) + ["tumour"] * len(tumours),
        "label": labels + [""] * len(tumours), "truth": labels + [""] * len(tumours),
        "group": ["_".join(c.split("_")[:2]) for c in cols] + tumours, "cancer_type": "",
        "mutations": counts.sum(axis=0).to_numpy(),
    })
    out.mkdir(parents=True, exist_ok=True)
    catalog = counts.copy()
    catalog.insert(0, "MutationType", list(SBS96))
    catalog.to_csv(out / "catalog.tsv", sep="\t", index=False)
    samples.to_csv(out / "samples.tsv", sep="\t", index=False)
    return out / "catalog.tsv", out / "samples.tsv"


def job_start_seconds() -> float:
    """Seconds to start Python and import the library, as every job does (median of 3)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pssnmf.experiment, pssnmf.model"], check=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


VARIANT_BASE = {"PSS-NMF-vote": "PSS-NMF", "PSS-NMF-soft": "PSS-NMF", "PSS-NMF-revisable": "PSS-NMF",
                "PSS-NMF-UR-half": "PSS-NMF-UR"}


def config_extras(config: Path, per_fit, n_labelled: int, n_rows_50: int) -> tuple[float, int, int]:
    """CPU seconds, fits and jobs that ``config`` runs beyond the paper's grid, costed like the grid.

    Counted: the pseudo-labelling variants (ct sweep and final fits, costed as the model they
    modify), the seeds of every final fit beyond the first (``evaluation.replicates``), and the
    opportunity comparison (the final fits again at the other scale, for tasks whose cell lines are
    not at exome scale).  Each final job runs all its seeds.
    """
    if not config.is_file():
        return 0.0, 0, 0
    experiment = yaml.safe_load(config.read_text())["experiment"]
    replicates = int(experiment["evaluation"]["replicates"])
    variants = [m for m in experiment["pseudo_label_models"] if m not in ("PSS-NMF", "PSS-NMF-UR")]
    models = list(experiment["models"]) + list(experiment["pseudo_label_models"])
    tasks = experiment.get("tasks", ["ddrd", "cancer_type"])
    comparison_tasks = [t for t in tasks if experiment.get("cell_line_scale", {}).get(t) != "exome"]
    comparison = bool(experiment.get("opportunity_comparison")) and comparison_tasks
    cpu, fits, jobs = 0.0, 0, 0
    for proportion in PROPORTIONS:
        semi_scale = (n_labelled * (1.5 if proportion < 0.4 else 2.0)) / n_rows_50
        mean_cost = {m: float(np.mean([per_fit(m if m in ("S-NMF", "SS-NMF", "SS-NMF-UR") else
                                              VARIANT_BASE.get(m, m), k, semi_scale) for k in K_GRID]))
                     for m in models}
        for variant in variants:  # ct sweep, one job for every fold, plus its final fit
            cpu += len(CT) * N_FOLDS * mean_cost[variant] + 1.5 * mean_cost[variant]
            fits += len(CT) * N_FOLDS + 1
            jobs += 2
        finals = sum(1.5 * mean_cost[m] for m in models)
        cpu += (replicates - 1) * finals  # the extra seeds, run in the same final jobs
        fits += (replicates - 1) * len(models)
        if comparison:
            share = len(comparison_tasks) / N_TASKS  # scaled below by all tasks
            cpu += share * replicates * finals
            fits += round(share * replicates * len(models))
            jobs += round(share * len(models))
    scopes = N_TASKS * N_SPLIT_MODES
    return cpu * scopes, fits * scopes, jobs * scopes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog")
    parser.add_argument("--samples")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--models", nargs="+", default=["S-NMF", "SS-NMF", "SS-NMF-UR", "PSS-NMF", "PSS-NMF-UR"])
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 6, 10])
    parser.add_argument("--lambda-c", type=float, default=0.1)
    parser.add_argument("--lambda-l2", type=float, default=1e-3)
    parser.add_argument("--ct", type=float, default=0.5)
    parser.add_argument("--n-restarts", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, help="model default unless given")
    parser.add_argument("--solver", default="bcd", choices=["bcd", "mu"], help="experiment.fit.solver")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                        help="training precision (experiment.fit.dtype; float32 needs --solver mu)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", help="TSV of the measured fits")
    parser.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config" / "config.yaml"),
                        help="workflow config whose extras beyond the paper's grid are costed too")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.catalog and args.samples:
            catalog, samples = Path(args.catalog), Path(args.samples)
        else:
            catalog, samples = timing_inputs(Path(args.data_dir), tmp / "inputs")
        fold_dir = build_folds(catalog, samples, tmp / "folds", "ddrd",
                               FoldSettings(seed=1, per_class=100, test_per_class=1000, proportions=(0.5,)))
        start = time.perf_counter()
        data = load_fold(fold_dir, 0.5, 0)
        load_seconds = time.perf_counter() - start
        n_labelled = int(sum(y is not None for y in data.y_train))
        n_unlabelled = len(data.y_train) - n_labelled
        print(f"fold: {n_labelled} labelled + {n_unlabelled} unlabelled training rows, {len(data.eval)} evaluation "
              f"rows; loading it took {load_seconds:.2f} s", flush=True)
        start_seconds = job_start_seconds()
        print(f"job start (python + import pssnmf): {start_seconds:.2f} s", flush=True)

        settings = FitSettings(n_restarts=args.n_restarts, solver=args.solver, max_epochs=args.max_epochs,
                               dtype=args.dtype)
        # The compiled kernels are built once per installation and dtype (numba's disk cache), then
        # loaded in ~0.2 s by every job: a short fit first keeps that one-off cost out of the timings.
        start = time.perf_counter()
        with threadpool_limits(limits=1):
            fit_one(data, Point("SS-NMF", 2, args.lambda_c, args.lambda_l2, None, "0"), 0,
                    FitSettings(n_restarts=2, solver=args.solver, min_epochs=10, max_epochs=20, dtype=args.dtype))
        print(f"first fit (compiles the kernels if numba's cache lacks them): {time.perf_counter() - start:.2f} s",
              flush=True)
        rows = []
        for model in args.models:
            for k in args.ks:
                ct = args.ct if model.startswith("PSS") else None
                point = Point(model, k, args.lambda_c, args.lambda_l2, ct, "0")
                with threadpool_limits(limits=1):
                    _, scores, _, seconds = fit_one(data, point, fit_seed(1, "ddrd", "grouped", 0.5, point), settings)
                rows.append({"model": model, "K": k, "fit_seconds": seconds, "n_epochs": scores["n_epochs"],
                             "n_epochs_mean": scores["n_epochs_mean"],
                             "stability": scores["stability"], "cellline_accuracy": scores["cellline_accuracy"]})
                print(f"{model:>10} K={k:<2} {seconds:7.2f} s  epochs max {scores['n_epochs']:.0f}, mean "
                      f"{scores['n_epochs_mean']:.0f} over restarts  "
                      f"stability {scores['stability']:.3f}", flush=True)
    measured = pd.DataFrame(rows)
    if args.out:
        measured.to_csv(args.out, sep="\t", index=False)

    def per_fit(model: str, k: int, rows_scale: float) -> float:
        base = model if model in set(measured["model"]) else model.replace("-UR", "")
        if base not in set(measured["model"]):
            base = "SS-NMF" if "SS-NMF" in set(measured["model"]) else measured["model"].iloc[0]
        m = measured[measured["model"] == base].sort_values("K")
        return float(np.interp(k, m["K"], m["fit_seconds"])) * rows_scale

    n_rows_50 = n_labelled + n_unlabelled
    fits = 0
    cpu = 0.0
    for proportion in PROPORTIONS:
        unlabelled = n_labelled * (0.5 if proportion < 0.4 else 1.0)
        semi_scale = (n_labelled + unlabelled) / n_rows_50
        supervised_scale = n_labelled / n_rows_50
        final_scale = 1.5  # 3 folds instead of 2
        for model in ("S-NMF", "SS-NMF", "SS-NMF-UR"):
            scale = supervised_scale if model == "S-NMF" else semi_scale
            for k in K_GRID:
                n = len(LAMBDA_C) * len(LAMBDA_L2) * N_FOLDS
                cpu += n * per_fit(model, k, scale)
                fits += n
        # ct sweep on the SS optimum; K unknown in advance: the grid's mean cost over K.
        mean_k = {model: float(np.mean([per_fit(model, k, semi_scale) for k in K_GRID]))
                  for model in ("PSS-NMF", "PSS-NMF-UR")}
        cpu += len(CT) * N_FOLDS * sum(mean_k.values())
        fits += 2 * len(CT) * N_FOLDS
        cpu += 5 * final_scale * float(np.mean(list(mean_k.values())))  # the final fits on the whole validation set
        fits += 5
    scopes = N_TASKS * N_SPLIT_MODES
    cpu *= scopes
    fits *= scopes
    # the workflow's jobs: one per (model, K) of the grid (all lambda points on every fold), per PSS
    # model of the ct sweep (every fold), per final model; per task x split mode x proportion
    jobs = scopes * len(PROPORTIONS) * (3 * len(K_GRID) + 2 + 5)
    overhead = jobs * (start_seconds + load_seconds + SNAKEMAKE_SHELL_JOB_S)
    wall = (cpu + overhead) / args.cores
    print()
    print(f"full grid: {fits} fits in {jobs} jobs (the workflow's fit_grid, fit_ct and fit_final jobs)")
    print(f"fit CPU time:      {cpu / 3600:8.2f} h")
    print(f"job overhead:      {overhead / 3600:8.2f} h  ({overhead / (cpu + overhead):.1%} of the total; "
          f"per job {start_seconds + load_seconds + SNAKEMAKE_SHELL_JOB_S:.2f} s: start, fold load, Snakemake)")
    print(f"wall time on {args.cores} cores: {wall / 3600:8.2f} h")
    # Most of a fit's time is its epochs: what the grid would take if restarts converged sooner.
    mean_epochs = float(measured["n_epochs_mean"].mean())
    print(f"measured fits ran {mean_epochs:.0f} epochs per restart on average "
          f"(max_epochs bounds it when restarts do not converge); scaled by epochs:")
    for epochs in (200, 500, 1000, 2000, 5000):
        print(f"  {epochs:>5} epochs per restart -> about {wall * epochs / mean_epochs / 3600:7.2f} h on "
              f"{args.cores} cores")
    extras_cpu, extras_fits, extras_jobs = config_extras(Path(args.config), per_fit, n_labelled, n_rows_50)
    if extras_fits:
        extra_overhead = extras_jobs * (start_seconds + load_seconds + SNAKEMAKE_SHELL_JOB_S)
        total = (cpu + overhead + extras_cpu + extra_overhead) / args.cores
        print(f"beyond the paper's grid, {args.config} also runs {extras_fits} fits in {extras_jobs} jobs "
              f"(pseudo-label variants, seeds of the final fits, the opportunity comparison; baselines not counted: "
              f"seconds each): {(extras_cpu + extra_overhead) / args.cores / 3600:.2f} h more, "
              f"{total / 3600:.2f} h on {args.cores} cores for the whole config")
    print("assumptions: fit time linear in K between measured points and in training rows; "
          "lambda does not change the cost; DDRd fold sizes used for both tasks (the cancer-type folds are the same "
          "size: 400 cell lines per fold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
