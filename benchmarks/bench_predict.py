"""Speed of ``pssnmf predict``: 10,000 real TCGA profiles through one trained model.

The catalog is the 7,451 TCGA exomes of ../shared/data (``$PSSNMF_TEST_DATA``) plus multinomial
resamples of randomly chosen ones (each at its own mutation count) up to 10,000 samples, written in
SigProfiler layout.  The model is trained here on the real DDRd data (Zou bootstraps + TCGA
tumours, K = 6 by default; prediction time depends on K, not on how long the model trained).

Times (median of ``--repeats``): ``predict_counts`` (batched NNLS exposures, softmax, cosine) on
the counts in memory, its parts, and the whole installed command as a subprocess (Python start-up,
reading the catalog, writing predictions.tsv).  Prints a Markdown block for benchmarks/RESULTS.md.

Usage: python benchmarks/bench_predict.py [--samples 10000] [--signatures 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _real_data import PATHWAY, data_dir  # noqa: E402

from pssnmf.catalog import read_catalog, write_catalog  # noqa: E402
from pssnmf.model import IntegratedNMF, save_model  # noqa: E402
from pssnmf.predict import predict_counts, read_model  # noqa: E402


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {os.cpu_count()} CPUs visible"


def _train(folder: Path, tumours: pd.DataFrame, n_signatures: int, seed: int = 0) -> Path:
    from pssnmf.data.zou import read_zou

    classes: dict[str, list[str]] = {}
    for gene, pathway in PATHWAY.items():
        classes.setdefault(pathway, []).append(gene)
    counts, samples = read_zou(data_dir() / "zou2021" / "Supplementary_tables.xlsx", classes)
    labelled = samples["pathway"].to_numpy() != ""
    subclones = counts.to_numpy(dtype=float)[labelled]
    labels = samples["pathway"].to_numpy()[labelled]
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in np.unique(labels):
        for row in rng.choice(np.flatnonzero(labels == label), 100):
            X.append(rng.multinomial(int(subclones[row].sum()), subclones[row] / subclones[row].sum()))
            y.append(label)
    unlabelled = tumours.to_numpy(dtype=float)[rng.choice(len(tumours), 400, replace=False)]
    X = np.vstack([np.array(X, dtype=float), unlabelled])
    y = np.array(y + [None] * len(unlabelled), dtype=object)
    model = IntegratedNMF(n_signatures=n_signatures, n_restarts=3, min_epochs=50, max_epochs=300,
                          random_state=seed).fit(X, y)
    path = folder / "model.npz"
    save_model(model, path, metadata={"note": "bench_predict.py"})
    return path


def _catalog(tumours: pd.DataFrame, n_samples: int, seed: int = 1) -> pd.DataFrame:
    """All real tumours, then multinomial resamples of random ones, up to ``n_samples``."""
    rng = np.random.default_rng(seed)
    values = tumours.to_numpy(dtype=float)
    if n_samples <= len(tumours):
        return tumours.iloc[rng.choice(len(tumours), n_samples, replace=False)]
    rows = rng.choice(len(tumours), n_samples - len(tumours))
    extra = np.array([rng.multinomial(int(values[r].sum()), values[r] / values[r].sum()) for r in rows])
    names = [f"{tumours.index[r]}_resample{i}" for i, r in enumerate(rows)]
    return pd.concat([tumours, pd.DataFrame(extra, index=names, columns=tumours.columns)])


def _median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--signatures", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    tumours = read_catalog(data_dir() / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", on_all_zero="drop")
    folder = Path(tempfile.mkdtemp(prefix="bench_predict."))
    try:
        model_path = _train(folder, tumours, args.signatures)
        counts = _catalog(tumours, args.samples)
        catalog = folder / "catalog.tsv"
        write_catalog(counts, catalog)
        model = read_model(model_path)

        t_predict = _median_time(lambda: predict_counts(model, counts), args.repeats)
        t_transform = _median_time(lambda: model.transform(counts.to_numpy(dtype=float)), args.repeats)
        t_read = _median_time(lambda: read_catalog(catalog), args.repeats)
        command = shutil.which("pssnmf") or str(Path(sys.executable).parent / "pssnmf")
        run = [command, "predict", "--model", str(model_path), "--catalog", str(catalog),
               "--out", str(folder / "out"), "--overwrite", "-q"]  # the repeats write into one folder
        t_command = _median_time(lambda: subprocess.run(run, check=True), args.repeats)
        startup = [sys.executable, "-c", "import pssnmf.predict, pssnmf.catalog, pssnmf.model"]
        t_startup = _median_time(lambda: subprocess.run(startup, check=True, capture_output=True), args.repeats)
        written = pd.read_csv(folder / "out" / "predictions.tsv", sep="\t")
        assert len(written) == len(counts), (len(written), len(counts))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"### {len(counts):,} samples ({len(tumours):,} real TCGA exomes + "
          f"{max(0, len(counts) - len(tumours)):,} multinomial resamples), K = {args.signatures}, "
          f"{len(model.classes_)} classes")
    print()
    print(f"Machine: {_cpu_model()}; {platform.python_implementation()} {platform.python_version()}, "
          f"numpy {np.__version__}; {datetime.date.today().isoformat()}; load average "
          f"{os.getloadavg()[0]:.1f} at the end (the machine is shared). Median of {args.repeats} runs.")
    print()
    print("| step | seconds |")
    print("|---|---|")
    print(f"| `predict_counts` (in memory: exposures, probabilities, cosine, flags) | {t_predict:.3f} |")
    print(f"| of which `model.transform` (batched NNLS exposures) | {t_transform:.3f} |")
    print(f"| `read_catalog` of the {len(counts):,}-sample SigProfiler file | {t_read:.3f} |")
    print(f"| whole command `pssnmf predict` (subprocess, writes predictions.tsv) | {t_command:.3f} |")
    print(f"| of which Python start-up and imports (numpy, pandas, scikit-learn) | {t_startup:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
