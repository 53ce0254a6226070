"""Convergence of the two solvers on a grid slice at full size (issue 15), both in one run.

Problem: a DDRd validation fold at the paper's size built from the shared data by the workflow's own
fold code (100 bootstraps per class per fold, so a fit trains on 800 labelled Zou bootstraps + 800
TCGA tumours at 50 % unlabelled; it is scored on the held-out fold's cell lines).  Model: SS-NMF,
lambda_l2 = 1e-4, 10 restarts, the same seeds for every solver.  Grid: K x lambda_c (paper scale).

Runs, each over the whole grid:
- ``bcd``           the default solver at its default tolerance;
- ``bcd-tight``     the same, tolerance / 10 (is the default converged? stability and accuracy
                    must not move);
- ``bcd-loose``     the same, tolerance x 10 (would a looser default do?);
- ``mu-default``    the paper's updates at their default stop (what the grid ran before);
- ``mu-converged``  the paper's updates run on to tol = 1e-5, 20,000 epochs allowed.
- ``bcd-baseline``  (with ``--baseline REF``) ``bcd`` at its default tolerance as the library was at
                    git revision REF (its ``src/``, exported to a temporary folder and imported
                    in its own worker processes): a before/after comparison in one run.
Seed-to-seed spread: ``--spread-seeds`` extra seeds of ``bcd`` and ``mu-converged`` at one point.

Prints a Markdown block for benchmarks/RESULTS.md.  Fits run ``--jobs`` at a time (one BLAS thread
each, as the workflow runs them); the seconds are each fit's own.
Usage: python benchmarks/bench_convergence.py [--ks 4 6 8 10] [--lambda-c 0.01 0.1 0.5 1] [--jobs 2]
       [--runs bcd bcd-baseline bcd-tight] [--baseline main]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import io
import multiprocessing
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimate_full_run import timing_inputs  # noqa: E402

from pssnmf.folds import FoldSettings, build_folds, load_fold  # noqa: E402
from pssnmf.solvers import SOLVER_DEFAULTS  # noqa: E402

LAMBDA_L2 = 1e-4
RUNS = {
    "bcd": dict(solver="bcd"),
    "bcd-tight": dict(solver="bcd", tol=SOLVER_DEFAULTS["bcd"]["tol"] / 10),
    "bcd-loose": dict(solver="bcd", tol=SOLVER_DEFAULTS["bcd"]["tol"] * 10),
    "mu-default": dict(solver="mu"),
    "mu-converged": dict(solver="mu", tol=1e-5, max_epochs=20000),
    "bcd-baseline": dict(solver="bcd"),
}
_DATA = {}


def _fit(job):
    # imported here: a baseline worker has swapped the library for the baseline's (_use_source)
    from pssnmf.experiment import FitSettings, Point, fit_one
    from pssnmf.folds import load_fold

    run, K, lambda_c, seed, fold_dir, n_restarts = job
    if fold_dir not in _DATA:
        _DATA[fold_dir] = load_fold(Path(fold_dir), 0.5, 0)
    settings = FitSettings(n_restarts=n_restarts, **RUNS[run])
    with threadpool_limits(limits=1):
        model, scores, _, seconds = fit_one(_DATA[fold_dir], Point("SS-NMF", K, lambda_c, LAMBDA_L2, None, "0"),
                                            seed, settings)
    cap = settings.max_epochs or SOLVER_DEFAULTS[settings.solver]["max_epochs"]
    return [{"run": run, "K": K, "lambda_c": lambda_c, "seed": seed, "restart": r, "epochs": int(model.n_epochs_[r]),
             "capped": bool(model.n_epochs_[r] >= cap), "final_loss": float(model.loss_history_[r][-1]),
             "stability": scores["stability"], "cellline_accuracy": scores["cellline_accuracy"],
             "fit_seconds": seconds} for r in range(n_restarts)]


def _warm_up(fold_dir, source=None):
    """Two tiny fits, one per solver: each process loads the compiled kernels before any fit is timed.
    With ``source``, the process first replaces the library by the one in that folder."""
    if source is not None:
        _use_source(source)
    _fit(("bcd", 2, 0.1, 0, fold_dir, 2))
    _fit(("mu-default", 2, 0.1, 0, fold_dir, 2))


def _use_source(source):
    """Import pssnmf from ``source`` from now on (a spawned worker inherits the parent's sys.path)."""
    for name in [name for name in sys.modules if name == "pssnmf" or name.startswith("pssnmf.")]:
        del sys.modules[name]
    sys.path.insert(0, source)
    import pssnmf

    assert Path(pssnmf.__file__).is_relative_to(source), pssnmf.__file__


def _export_source(revision, folder):
    """``src/`` of the repository at ``revision``, written under ``folder``; returns the src path."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", revision, "src"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return str(Path(folder) / "src")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--ks", type=int, nargs="+", default=[4, 6, 8, 10])
    parser.add_argument("--lambda-c", type=float, nargs="+", default=[0.01, 0.1, 0.5, 1.0])
    parser.add_argument("--runs", nargs="+", default=[run for run in RUNS if run not in ("bcd-baseline", "bcd-loose")],
                        choices=list(RUNS))
    parser.add_argument("--baseline", help="git revision whose bcd the run bcd-baseline fits (e.g. main)")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7, help="random_state of every grid fit")
    parser.add_argument("--spread-seeds", type=int, default=3, help="seeds at the spread point (0: none)")
    parser.add_argument("--spread-point", type=float, nargs=2, default=[6, 0.1], metavar=("K", "LAMBDA_C"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", help="TSV of every restart of every fit")
    args = parser.parse_args(argv)
    if ("bcd-baseline" in args.runs) != (args.baseline is not None):
        parser.error("the run bcd-baseline and --baseline REF go together")

    with tempfile.TemporaryDirectory() as tmp:
        catalog, samples = timing_inputs(Path(args.data_dir), Path(tmp) / "inputs")
        fold_dir = str(build_folds(catalog, samples, Path(tmp) / "folds", "ddrd",
                                   FoldSettings(seed=1, per_class=100, test_per_class=1000, proportions=(0.5,))))
        data = load_fold(Path(fold_dir), 0.5, 0)
        n_labelled = int(sum(y is not None for y in data.y_train))
        print(f"fold: {n_labelled} labelled + {len(data.y_train) - n_labelled} unlabelled training rows, "
              f"{len(data.eval)} evaluation rows", flush=True)
        jobs = [(run, k, lc, args.seed, fold_dir, args.restarts) for run in args.runs for k in args.ks
                for lc in args.lambda_c]
        K, lambda_c = int(args.spread_point[0]), float(args.spread_point[1])
        jobs += [(run, K, lambda_c, args.seed + 1 + s, fold_dir, args.restarts) for run in ("bcd", "mu-converged")
                 if run in args.runs for s in range(args.spread_seeds)]
        # point by point, every run of a point together, the slowest point first: the runs share the
        # machine's conditions, and the pool's workers finish together
        jobs.sort(key=lambda job: (-job[1], -job[2], job[3], args.runs.index(job[0])))
        _warm_up(fold_dir)  # compiles the kernels once (numba caches them on disk)
        source = _export_source(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        context = multiprocessing.get_context("spawn")
        start = time.perf_counter()
        rows = []
        # one pool for the library here, one for the baseline's; at most --jobs fits run at once
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context, initializer=_warm_up,
                                 initargs=(fold_dir,)) as pool, \
                ProcessPoolExecutor(max_workers=args.jobs if source else 1, mp_context=context,
                                    initializer=_warm_up, initargs=(fold_dir, source)) as baseline_pool:
            running = collections.deque()
            n_done = 0
            for index, job in enumerate(jobs):
                running.append((baseline_pool if job[0] == "bcd-baseline" else pool).submit(_fit, job))
                while running and (len(running) >= args.jobs or index == len(jobs) - 1):
                    result = running.popleft().result()
                    n_done += 1
                    rows += result
                    first = result[0]
                    print(f"[{n_done}/{len(jobs)}] {first['run']:>12} K={first['K']:<2} "
                          f"lambda_c={first['lambda_c']:<5} seed {first['seed']}: {first['fit_seconds']:6.1f} s, "
                          f"epochs median {np.median([r['epochs'] for r in result]):.0f}, "
                          f"stability {first['stability']:.3f}, accuracy {first['cellline_accuracy']:.3f}",
                          flush=True)
        wall = time.perf_counter() - start
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
    print(report(table, args, wall))
    return 0


def report(table, args, wall):
    grid = table[table["seed"] == args.seed]
    fits = grid.drop_duplicates(["run", "K", "lambda_c"]).set_index(["run", "K", "lambda_c"])
    # the final loss and the fit seconds of each run against a reference run: the baseline if there is one
    reference_run = next((run for run in ("bcd-baseline", "mu-converged") if run in args.runs), args.runs[0])
    reference = grid[grid["run"] == reference_run].set_index(["K", "lambda_c", "restart"])["final_loss"]
    lines = [f"### Convergence, both solvers ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"{platform.processor() or platform.machine()}, `python benchmarks/bench_convergence.py`, "
             f"{args.jobs} fits at a time, wall {wall / 60:.1f} min)", "",
             f"SS-NMF on a full-size DDRd fold, K {args.ks} x lambda_c {args.lambda_c}, lambda_l2 = {LAMBDA_L2}, "
             f"{args.restarts} restarts, seed {args.seed}; final loss relative to `{reference_run}` per restart "
             f"(same seeded start){f'; bcd-baseline is bcd at {args.baseline}' if args.baseline else ''}.", "",
             f"| run | epochs per restart: median | 95th pct | restarts stopped by the cap | final loss / {reference_run}: "
             f"median | max | mean stability | mean cell-line accuracy | fit seconds (sum) | speed-up vs {reference_run} |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    seconds = {run: float(fits.loc[run, "fit_seconds"].sum()) for run in args.runs}
    for run in args.runs:
        rows = grid[grid["run"] == run]
        ratio = (rows.set_index(["K", "lambda_c", "restart"])["final_loss"] / reference) if len(reference) else None
        ratio_text = "–" if ratio is None else f"{ratio.median():.4f} | {ratio.max():.4f}"
        speed = seconds.get(reference_run, np.nan) / seconds[run]
        lines.append(f"| {run} | {rows['epochs'].median():.0f} | {rows['epochs'].quantile(0.95):.0f} | "
                     f"{rows['capped'].mean():.0%} | {ratio_text} | {fits.loc[run, 'stability'].mean():.3f} | "
                     f"{fits.loc[run, 'cellline_accuracy'].mean():.3f} | {seconds[run]:.0f} | {speed:.2f}x |")
    lines += ["", "Per point (stability / cell-line accuracy / fit seconds):", "",
              "| K | lambda_c | " + " | ".join(args.runs) + " |", "|---|---|" + "---|" * len(args.runs)]
    for K in args.ks:
        for lc in args.lambda_c:
            cells = []
            for run in args.runs:
                fit = fits.loc[(run, K, lc)]
                cells.append(f"{fit['stability']:.3f} / {fit['cellline_accuracy']:.3f} / {fit['fit_seconds']:.1f}")
            lines.append(f"| {K} | {lc} | " + " | ".join(cells) + " |")
    spread = table.drop_duplicates(["run", "K", "lambda_c", "seed"])
    spread = spread[(spread["K"] == int(args.spread_point[0])) & (spread["lambda_c"] == float(args.spread_point[1]))]
    if spread["seed"].nunique() > 1:
        lines += ["", f"Seed-to-seed spread at K = {int(args.spread_point[0])}, lambda_c = {args.spread_point[1]} "
                      f"({spread['seed'].nunique()} seeds; mean ± sd):", "",
                  "| run | stability | cell-line accuracy |", "|---|---|---|"]
        for run, group in spread.groupby("run"):
            lines.append(f"| {run} | {group['stability'].mean():.3f} ± {group['stability'].std():.3f} | "
                         f"{group['cellline_accuracy'].mean():.3f} ± {group['cellline_accuracy'].std():.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
