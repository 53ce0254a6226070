"""Test-time exposures: batched NNLS against a per-sample scipy.optimize.nnls loop.

4,000 real TCGA tumours, 6 COSMIC signatures (and K = 10).  Target: >= 20x faster, equal to 1e-8.
Usage: python benchmarks/bench_nnls.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits
import pandas as pd
from scipy.optimize import nnls

sys.path.insert(0, os.path.dirname(__file__))
from _real_data import data_dir  # noqa: E402

from pssnmf.model.nnls import nnls_exposures  # noqa: E402

SIGNATURES = ["SBS1", "SBS2", "SBS3", "SBS5", "SBS6", "SBS13", "SBS4", "SBS7a", "SBS10a", "SBS40a"]


def best_of(function, repeats):
    """Best CPU time of ``repeats`` runs (CPU time: the machine is shared, wall time is not reliable)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        result = function()
        times.append(time.process_time() - start)
    return min(times), result


def main():
    folder = data_dir()
    cosmic = pd.read_csv(folder / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", sep="\t", index_col=0)
    counts = pd.read_csv(folder / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", sep="\t", index_col=0).to_numpy().T
    counts = counts[counts.sum(axis=1) > 0][:4000].astype(float)
    X = counts / counts.sum(axis=1, keepdims=True)
    print(f"- load average: {os.getloadavg()[0]:.2f}; {len(X)} TCGA tumours")
    print("| K | batched ms (CPU, 1 thread) | scipy loop ms (CPU) | speed-up | max abs difference |")
    print("|---|---|---|---|---|")
    with threadpool_limits(1):
        rows = [_row(X, cosmic, k) for k in (6, 10)]
    print("\n".join(rows))


def _row(X, cosmic, k):
    """One table row: K signatures of COSMIC v3.4."""
    S = cosmic[SIGNATURES[:k]].to_numpy().T
    batched_time, batched = best_of(lambda: nnls_exposures(X, S), 5)
    loop_time, loop = best_of(lambda: np.array([nnls(S.T, x)[0] for x in X]), 2)
    return (f"| {k} | {batched_time * 1e3:.1f} | {loop_time * 1e3:.1f} | {loop_time / batched_time:.1f}x | "
            f"{np.abs(batched - loop).max():.1e} |")


if __name__ == "__main__":
    main()
