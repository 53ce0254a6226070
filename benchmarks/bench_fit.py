"""Speed of the training epochs: the library (all restarts batched) against a plain per-restart loop.

Reference problem (issue 3): 800 labelled Zou bootstraps (200 per class) + 800 TCGA tumours, K = 6,
4 classes, 10 restarts, a fixed 2,000 epochs (convergence disabled).  Prints a Markdown block for
benchmarks/RESULTS.md.  Usage: python benchmarks/bench_fit.py [--epochs 2000] [--restarts 10]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from _real_data import reference_problem  # noqa: E402

from pssnmf.model import IntegratedNMF  # noqa: E402
from pssnmf.model.training import initial_state, train_restarts  # noqa: E402
from pssnmf.model.updates import EPSILON, LOGIT_CLIP  # noqa: E402

LAMBDA_C, LAMBDA_L2, MU_W, K = 0.1, 1e-4, 0.2, 6


def plain_restart(X, E, S, W, Y, mask, epochs):
    """The same equations, one restart, one numpy call per term (the issue's baseline)."""
    n_labelled = mask.sum()
    for _ in range(epochs):
        S *= (E.T @ X) / (E.T @ E @ S + EPSILON)  # eq. 5
        S /= S.sum(axis=1, keepdims=True)
        S = np.maximum(S, EPSILON)
        Z = np.clip(E @ W, -LOGIT_CLIP, LOGIT_CLIP)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        G = (P - Y) * mask[:, None]
        W_new = W - MU_W / n_labelled * (E.T @ G + 2 * LAMBDA_L2 * W)  # eq. 7, averaged
        E *= np.maximum(X @ S.T - LAMBDA_C / 2 * G @ W.T, EPSILON) / (E @ (S @ S.T) + EPSILON)  # eq. 6
        E = np.maximum(E, EPSILON)
        W = W_new
    return E, S, W


def matmul_gflops(dtype, size=2000, repeats=5, clock=time.perf_counter):
    """Square float matmul throughput, measured with ``clock`` (wall or CPU time)."""
    a = np.random.default_rng(0).random((size, size)).astype(dtype)
    a @ a
    start = clock()
    for _ in range(repeats):
        a @ a
    return 2 * size**3 * repeats / (clock() - start) / 1e9


def flops_per_restart_epoch(n, k, m=96, o=4):
    """Multiply-adds x 2 of the products of one epoch (E'X, X S', E'E, E'E S, S S', S S' E', E W, l(Yhat-Y) W', E' l(Yhat-Y))."""
    return 2 * (2 * n * k * m + n * k * k + 2 * k * k * m + k * k * n + 3 * n * k * o)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--restarts", type=int, default=10)
    args = parser.parse_args()
    X, y, _, _ = reference_problem()
    profiles = X / X.sum(axis=1, keepdims=True)
    classes = np.array(["BER", "Control", "HR", "MMR"], dtype=object)
    codes = np.array([-1 if v is None else int(np.flatnonzero(classes == v)[0]) for v in y])
    n, o = len(profiles), len(classes)
    Y = np.zeros((n, o))
    Y[codes >= 0, codes[codes >= 0]] = 1
    mask = (codes >= 0).astype(float)
    restart_epochs = args.restarts * args.epochs
    flops = flops_per_restart_epoch(n, K) * restart_epochs

    lines = []
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model_name = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
    load = os.getloadavg()
    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)" for i in threadpool_info())
    lines.append(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {model_name}, "
                 f"{os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}; BLAS: {blas}")
    busy = " (other processes were using the cores: wall-clock numbers are noisy)" if load[0] > 1.5 else ""
    lines.append(f"- load average before the run: {load[0]:.2f}{busy}")
    lines.append(f"- problem: N = {n} ({int(mask.sum())} labelled), K = {K}, O = {o}, {args.restarts} restarts x "
                 f"{args.epochs} epochs; {flops_per_restart_epoch(n, K) / 1e6:.2f} MFLOP per restart-epoch")
    def run_library(dtype, n_threads=1):
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(args.restarts)]
        train_restarts(profiles, codes, o, n_signatures=K, pseudo_labeling=False, unlabeled_regularization=False,
                       confidence_threshold=0.6, lambda_c=LAMBDA_C, lambda_l2=LAMBDA_L2, mu_w=MU_W, tol=0.0,
                       min_epochs=args.epochs, max_epochs=args.epochs, rngs=rngs, dtype=dtype, n_threads=n_threads)

    def run_plain(dtype):
        X_d, Y_d, mask_d = profiles.astype(dtype), Y.astype(dtype), mask.astype(dtype)
        for seed in np.random.SeedSequence(0).spawn(args.restarts):
            E, S, W = (a.astype(dtype) for a in initial_state(n, K, 96, o, np.random.default_rng(seed)))
            plain_restart(X_d, E, S, W, Y_d, mask_d, args.epochs)

    def timed(function, dtype, clock, **kwargs):
        start = clock()
        function(dtype, **kwargs)
        return clock() - start

    # compile (or load from the cache) the kernels before timing
    for dtype in ("float32", "float64"):
        rngs = [np.random.default_rng(0)]
        train_restarts(profiles[:50], codes[:50], o, n_signatures=K, pseudo_labeling=False,
                       unlabeled_regularization=False, confidence_threshold=0.6, lambda_c=LAMBDA_C,
                       lambda_l2=LAMBDA_L2, mu_w=MU_W, tol=0.0, min_epochs=20, max_epochs=20, rngs=rngs, dtype=dtype)

    for threads, clock, label in ((None, time.perf_counter, "wall clock, all BLAS threads"),
                                  (1, time.process_time, "CPU time, 1 BLAS thread")):
        lines.append("")
        lines.append(f"**{label}**")
        lines.append("")
        lines.append("| dtype | matmul peak GFLOP/s | library restart-epochs/s | plain loop restart-epochs/s | speed-up | library us/restart-epoch | plain us/restart-epoch | library GFLOP/s | share of peak |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        with threadpool_limits(threads):
            for dtype in ("float32", "float64"):
                peak = matmul_gflops(dtype, clock=clock)
                library = timed(run_library, dtype, clock)
                plain = timed(run_plain, dtype, clock)
                lines.append(f"| {dtype} | {peak:.0f} | {restart_epochs / library:.0f} | {restart_epochs / plain:.0f} | "
                             f"{plain / library:.2f}x | {library / restart_epochs * 1e6:.1f} | "
                             f"{plain / restart_epochs * 1e6:.1f} | {flops / library / 1e9:.1f} | "
                             f"{flops / library / 1e9 / peak:.1%} |")
                if threads is None:  # both cores: the kernels' restarts on 2 threads
                    both = timed(run_library, dtype, clock, n_threads=os.cpu_count())
                    lines.append(f"| {dtype}, kernels on {os.cpu_count()} threads | {peak:.0f} | "
                                 f"{restart_epochs / both:.0f} | {restart_epochs / plain:.0f} | {plain / both:.2f}x | "
                                 f"{both / restart_epochs * 1e6:.1f} | {plain / restart_epochs * 1e6:.1f} | "
                                 f"{flops / both / 1e9:.1f} | {flops / both / 1e9 / peak:.1%} |")

    # Same equations: the library's first restart equals the plain loop after a few epochs (float64).
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(1)]
    result = train_restarts(profiles, codes, o, n_signatures=K, pseudo_labeling=False, unlabeled_regularization=False,
                            confidence_threshold=0.6, lambda_c=LAMBDA_C, lambda_l2=LAMBDA_L2, mu_w=MU_W, tol=0.0,
                            min_epochs=50, max_epochs=50, rngs=rngs, dtype="float64")[0]
    E, S, W = initial_state(n, K, 96, o, np.random.default_rng(np.random.SeedSequence(0).spawn(1)[0]))
    E, S, W = plain_restart(profiles, E, S, W, Y, mask, 50)
    difference = max(np.abs(result.signatures - S).max(), np.abs(result.exposures - E).max(), np.abs(result.weights - W).max())
    lines.append("")
    lines.append(f"- library vs plain loop after 50 float64 epochs, same initialisation: max |difference| {difference:.2e}")

    # Peak memory of one full 10-restart fit (default convergence), float64.
    tracemalloc.start()
    start = time.perf_counter()
    model = IntegratedNMF(n_signatures=K, mode="pseudo_labeling", n_restarts=args.restarts, random_state=0).fit(X, y)
    seconds = time.perf_counter() - start
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"- one PSS-NMF fit with the defaults (10 restarts, float64): {seconds:.1f} s, epochs per restart "
                 f"{model.n_epochs_.tolist()}; peak traced numpy/Python memory {peak_bytes / 2**20:.0f} MiB, "
                 f"process peak RSS {rss:.0f} MiB (includes the imports and the data loading)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
