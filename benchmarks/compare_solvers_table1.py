"""Table 1 of the test config with each solver, side by side (issue 15): do the scores agree within
their intervals?

Runs the real workflow on ``config/test.yaml`` twice into temporary folders, once with the default
solver (``bcd``) and once with the paper's updates (``mu``, at the stopping settings the test config
used for them before: tol 0.01, 50-300 epochs), the data read from ``--data-dir`` as a mirror, then
prints every Table 1 score of both with its bootstrap interval and whether the intervals overlap.
Usage: python benchmarks/compare_solvers_table1.py [--data-dir ../shared/data] [--cores 2] [--out DIR]
    [--reuse SOLVER=DIR ...]   (a finished run of config/test.yaml with that solver, e.g. the tests' own)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from pssnmf.experiment import TABLE1_SCORES

PROJECT = Path(__file__).resolve().parents[1]
OVERLAYS = {
    "bcd": "experiment:\n  fit:\n    solver: bcd\n",
    "mu": "experiment:\n  fit:\n    solver: mu\n    tol: 0.01\n    min_epochs: 50\n    max_epochs: 300\n",
}
SCORES = [name for name, _, _ in TABLE1_SCORES] + ["stability"]
KEY = ["task", "split_mode", "proportion", "model"]


def run(solver: str, workdir: Path, data_dir: Path, cores: int) -> tuple[pd.DataFrame, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    overlay = workdir / "solver.yaml"
    overlay.write_text(OVERLAYS[solver] + f"data:\n  mirror: {data_dir}\n")
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "w") as log:
        subprocess.run([sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"), "--directory",
                        str(workdir), "--cores", str(cores), "results/tables/table1.tsv", "--configfile",
                        str(PROJECT / "config" / "test.yaml"), str(overlay)], stdout=log, stderr=subprocess.STDOUT,
                       check=True)
    return pd.read_csv(workdir / "results" / "tables" / "table1.tsv", sep="\t"), time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(PROJECT.parent / "shared" / "data"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", help="keep the two runs here (default: a temporary folder)")
    parser.add_argument("--reuse", nargs="+", default=[], metavar="SOLVER=DIR",
                        help="take this solver's Table 1 from a finished run of config/test.yaml in DIR")
    args = parser.parse_args(argv)
    reused = dict(item.split("=", 1) for item in args.reuse)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        tables, seconds = {}, {}
        for solver in OVERLAYS:
            if solver in reused:
                tables[solver] = pd.read_csv(Path(reused[solver]) / "results" / "tables" / "table1.tsv", sep="\t")
                seconds[solver] = float("nan")
            else:
                tables[solver], seconds[solver] = run(solver, root / solver, Path(args.data_dir).resolve(),
                                                      args.cores)
    merged = tables["bcd"].merge(tables["mu"], on=KEY, suffixes=("_bcd", "_mu"))
    print(f"workflow wall time, config/test.yaml, --cores {args.cores}: bcd {seconds['bcd']:.0f} s, "
          f"mu {seconds['mu']:.0f} s\n")
    print("| task | split | prop | model | score | bcd [interval] | mu [interval] | intervals overlap |")
    print("|---|---|---|---|---|---|---|---|")
    n_compared = n_overlap = 0
    for _, row in merged.iterrows():
        for score in SCORES:
            values = [row.get(f"{score}{part}_{solver}") for solver in ("bcd", "mu") for part in ("", "_low", "_high")]
            if any(pd.isna(v) for v in values):
                continue
            value_b, low_b, high_b, value_m, low_m, high_m = values
            overlap = low_b <= high_m and low_m <= high_b
            n_compared += 1
            n_overlap += overlap
            print(f"| {row['task']} | {row['split_mode']} | {row['proportion']} | {row['model']} | {score} | "
                  f"{value_b:.3f} [{low_b:.3f}, {high_b:.3f}] | {value_m:.3f} [{low_m:.3f}, {high_m:.3f}] | "
                  f"{'yes' if overlap else '**no**'} |")
    print(f"\n{n_overlap} of {n_compared} scores: the two solvers' intervals overlap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
