"""Whole grid jobs of the workflow (the rule ``fit_grid``: one model and K, every lambda point of the
default grid on every validation fold, 10 restarts each), this tree against an older revision in the
same run.  Grid jobs are about two thirds of the whole default config's job time
(benchmarks/RESULTS.md), so their wall time is what a solver change must move.

Each job is the command the rule runs, ``python -m pssnmf.experiment job --spec ...``, with the spec
``workflow/rules/common.smk`` (``fit_job``) builds from ``config/offline.yaml`` (grid, fit settings,
seed), on the full-size folds of the shared data.  The folds come from the workflow itself
(``snakemake results/folds/<task>/<split>/membership.tsv``, run once in ``--workdir``).  The baseline
revision's ``src/`` is taken out with ``git archive``; both trees run every job from their own
``src/`` (``PYTHONPATH``), each once untimed first (numba compiles its cached kernels), then the
timed jobs alternate between the trees.  For each job: the wall time of the command, the fits'
seconds (the job's ``timings.tsv``), the mean iterations per restart, and how far the two trees'
scores are apart (stability, held-out cell-line accuracy), so a speed-up that changes results shows.

Usage: python benchmarks/bench_grid_jobs.py --baseline REV [--jobs cancer_type:S-NMF:2 ddrd:SS-NMF:6]
       [--split grouped] [--proportion 0.5] [--workdir DIR]
Prints a Markdown block for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _machine import cpu_model  # noqa: E402

DEFAULT_JOBS = ("cancer_type:S-NMF:2", "ddrd:SS-NMF:6", "ddrd:SS-NMF-UR:9")


def _export_source(revision: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def _spec(config: dict, task: str, model: str, K: int, split: str, proportion: float) -> dict:
    """The spec of ``common.smk``'s ``fit_job("grid")`` for one (task, model, K)."""
    experiment = config["experiment"]
    fit = {k: v for k, v in experiment["fit"].items() if v is not None}
    return {"stage": "grid", "task": task, "split_mode": split, "proportion": proportion, "model": model,
            "seed": experiment["seed"], "fold_dir": f"results/folds/{task}/{split}", "fit": fit,
            "opportunity": None, "K": K, "folds": [str(f) for f in range(experiment["folds"]["n_folds"])],
            "grid": {"lambda_c": experiment["grid"]["lambda_c"], "lambda_l2": experiment["grid"]["lambda_l2"]}}


def _run_job(source: Path, spec: dict, workdir: Path, out: Path) -> tuple[float, pd.DataFrame, pd.DataFrame]:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, "-m", "pssnmf.experiment", "-q", "job", "--spec", json.dumps(spec), "--threads", "1",
               "--metrics-out", str(out / "metrics.tsv"), "--timings-out", str(out / "timings.tsv")]
    start = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, check=True)
    seconds = time.perf_counter() - start
    return (seconds, pd.read_csv(out / "metrics.tsv", sep="\t"), pd.read_csv(out / "timings.tsv", sep="\t"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with (e.g. main~1)")
    parser.add_argument("--jobs", nargs="+", default=list(DEFAULT_JOBS), metavar="TASK:MODEL:K")
    parser.add_argument("--split", default="grouped")
    parser.add_argument("--proportion", type=float, default=0.5)
    parser.add_argument("--config", default=str(ROOT / "config" / "offline.yaml"))
    parser.add_argument("--workdir", help="a workflow directory whose results/folds hold the jobs' folds "
                                          "(built there with snakemake if missing; default: a temporary one)")
    args = parser.parse_args(argv)
    config = yaml.safe_load(Path(args.config).read_text())
    jobs = []
    for item in args.jobs:
        task, model, K = item.split(":")
        jobs.append((task, model, int(K)))
    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        tmp = Path(tmp)
        workdir = Path(args.workdir) if args.workdir else tmp / "work"
        targets = sorted({f"results/folds/{task}/{args.split}/membership.tsv" for task, _, _ in jobs})
        if not all((workdir / t).is_file() for t in targets):
            workdir.mkdir(parents=True, exist_ok=True)
            data = str((ROOT / config["data"]["local_dir"]).resolve())
            subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                            str(workdir), "--cores", "2", "--quiet", *targets, "--configfile", args.config,
                            "--config", f"data={json.dumps({**config['data'], 'local_dir': data})}"], check=True)
        trees = {"this": ROOT / "src", args.baseline: _export_source(args.baseline, tmp / "baseline")}
        warm = _spec(config, jobs[0][0], jobs[0][1], 2, args.split, args.proportion)
        warm["grid"] = {"lambda_c": [0.1], "lambda_l2": [0.001]}
        for name, source in trees.items():  # numba compiles each tree's kernels here, untimed
            _run_job(source, {**warm, "folds": ["0"]}, workdir, tmp / "warm" / name.replace("/", "_"))
        load = os.getloadavg()[0]
        rows = []
        for i, (task, model, K) in enumerate(jobs):
            spec = _spec(config, task, model, K, args.split, args.proportion)
            order = list(trees) if i % 2 == 0 else list(trees)[::-1]
            result = {}
            for name in order:
                result[name] = _run_job(trees[name], spec, workdir, tmp / f"{task}_{model}_K{K}" / name.replace("/", "_"))
            (wall_a, metrics_a, timing_a), (wall_b, metrics_b, timing_b) = result["this"], result[args.baseline]
            rows.append({
                "job": f"{task} {model} K = {K} ({len(metrics_a)} fits)",
                "wall this": wall_a, "wall base": wall_b, "fit s this": timing_a["fit_seconds"].sum(),
                "fit s base": timing_b["fit_seconds"].sum(), "iterations this": metrics_a["n_epochs_mean"].mean(),
                "iterations base": metrics_b["n_epochs_mean"].mean(),
                "stability": (metrics_a["stability"] - metrics_b["stability"]).abs().max(),
                "accuracy": (metrics_a["cellline_accuracy"] - metrics_b["cellline_accuracy"]).abs().max(),
                "changed": int(((metrics_a["stability"] != metrics_b["stability"])
                                | (metrics_a["cellline_accuracy"] != metrics_b["cellline_accuracy"])).sum()),
            })
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"### Grid jobs, this tree against {args.baseline} ({now}, {cpu_model()}, {platform.python_version()}; "
          f"`python benchmarks/bench_grid_jobs.py --baseline {args.baseline}`; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after)\n")
    print(f"| job ({args.split}, {args.proportion:g} unlabelled) | wall s: this / {args.baseline} | ratio | "
          "fit s: this / base | iterations per restart: this / base | fits whose scores changed | "
          "largest change: stability / cell-line accuracy |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['job']} | {r['wall this']:.1f} / {r['wall base']:.1f} | {r['wall base'] / r['wall this']:.2f}x | "
              f"{r['fit s this']:.1f} / {r['fit s base']:.1f} | {r['iterations this']:.1f} / {r['iterations base']:.1f} "
              f"| {r['changed']} | {r['stability']:.2g} / {r['accuracy']:.2g} |")
    total_a = sum(r["wall this"] for r in rows)
    total_b = sum(r["wall base"] for r in rows)
    print(f"| all | {total_a:.1f} / {total_b:.1f} | {total_b / total_a:.2f}x | | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
