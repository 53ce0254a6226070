"""Speed of ``pssnmf predict``: 10,000 real TCGA profiles through one trained model, this tree
against an older one in the same run.

The catalog is the 7,451 TCGA exomes of ../shared/data (``$PSSNMF_TEST_DATA``) plus multinomial
resamples of randomly chosen ones (each at its own mutation count) up to 10,000 samples, written in
SigProfiler layout.  The model is trained here on the real DDRd data (Zou bootstraps + TCGA
tumours, K = 6 by default; prediction time depends on K, not on how long the model trained).

Times (median of ``--repeats``): ``predict_counts`` and its parts on the counts in memory, then the
whole command, ``python -m pssnmf predict``, as a subprocess (Python start-up, reading the catalog
and the model, predicting, writing predictions.tsv and contributions.tsv), for two trees of the
library: this one (``src/`` beside this script) and ``--baseline`` (a git commit, default the last
one before issue 18's fast start), whose ``src/`` is taken out with ``git archive`` into a
temporary folder.  Each tree is run once untimed first (numba compiles its cached kernels there).
The older tree reads format-1 model files only: it gets the same model with the ``ood`` entry
taken out of its metadata (the arrays are the same).  The two trees' ``contributions.tsv`` must be
the same bytes and their ``predictions.tsv`` the same in every column they share but ``call`` and
``undetermined_reason`` (which out-of-distribution changes): the numbers did not move.

``--resamples 0`` (no intervals) is the like-for-like of the first measurement (6.8 s, before the
intervals existed); the default 200 resamples are timed too, ``--resampled-repeats`` times.
Prints a Markdown block for benchmarks/RESULTS.md, with the load average before and after.

Usage: python benchmarks/bench_predict.py [--samples 10000] [--signatures 6] [--repeats 5]
       [--baseline 3cd0917] [--resampled-repeats 1]
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]  # this tree's library, whatever is installed
from _machine import cpu_model, median_time  # noqa: E402
from _real_data import PATHWAY, data_dir  # noqa: E402

from pssnmf.catalog import read_catalog, write_catalog  # noqa: E402
from pssnmf.model import IntegratedNMF, save_model  # noqa: E402
from pssnmf.predict import predict_counts, read_model, write_prediction  # noqa: E402

BASELINE = "3cd0917"
"""The last commit before issue 18's fast start (and its out-of-distribution columns)."""


def _train(folder: Path, tumours: pd.DataFrame, n_signatures: int, seed: int = 0) -> Path:
    """A DDRd model (400 Zou bootstraps, 100 per class, + 400 random TCGA tumours) saved in ``folder``;
    its metadata names the training tumours (``training_tumours``)."""
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
    chosen = rng.choice(len(tumours), 400, replace=False)
    unlabelled = tumours.to_numpy(dtype=float)[chosen]
    X = np.vstack([np.array(X, dtype=float), unlabelled])
    y = np.array(y + [None] * len(unlabelled), dtype=object)
    model = IntegratedNMF(n_signatures=n_signatures, n_restarts=3, min_epochs=50, max_epochs=300,
                          random_state=seed).fit(X, y)
    path = folder / "model.npz"
    save_model(model, path, metadata={"note": "bench_predict.py",
                                      "training_tumours": [str(s) for s in tumours.index[chosen]]})
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


def _baseline_tree(ref: str, folder: Path) -> Path:
    """``src/`` of commit ``ref`` of this repository, extracted into ``folder``; returns its ``src``."""
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", "--format=tar", ref, "src"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def _as_format_1(model_path: Path, path: Path) -> Path:
    """The model file as format version 1 (no ``ood`` entry): what the older tree reads."""
    with np.load(model_path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    info = json.loads(str(arrays["metadata_json"]))
    info["format_version"] = 1
    info.pop("ood")
    arrays["metadata_json"] = np.array(json.dumps(info))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _command(model: Path, catalog: Path, out: Path, resamples: int | None) -> list[str]:
    extra = [] if resamples is None else ["--resamples", str(resamples)]
    return [sys.executable, "-m", "pssnmf", "predict", "--model", str(model), "--catalog", str(catalog),
            "--out", str(out), "--overwrite", "-q", *extra]  # the repeats write into one folder


def _run(src: Path, command: list[str]) -> None:
    subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(src)})


def _same_numbers(new_out: Path, old_out: Path) -> None:
    """The trees' outputs agree: contributions.tsv byte for byte, predictions.tsv in every shared
    column but the call (out of distribution is new)."""
    assert (new_out / "contributions.tsv").read_bytes() == (old_out / "contributions.tsv").read_bytes()
    new = pd.read_csv(new_out / "predictions.tsv", sep="\t", dtype=str, keep_default_na=False)
    old = pd.read_csv(old_out / "predictions.tsv", sep="\t", dtype=str, keep_default_na=False)
    shared = [c for c in old.columns if c not in ("call", "undetermined_reason")]
    assert set(old.columns) <= set(new.columns) and new[shared].equals(old[shared])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--signatures", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the older tree (default: %(default)s)")
    parser.add_argument("--resampled-repeats", type=int, default=1,
                        help="runs of each tree with the default 200 resamples (0: none)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    tumours = read_catalog(data_dir() / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", on_all_zero="drop")
    folder = Path(tempfile.mkdtemp(prefix="bench_predict."))
    trees = {"this tree": HERE.parent / "src", f"baseline {args.baseline}": _baseline_tree(args.baseline, folder)}
    whole: dict[str, dict[str, float]] = {name: {} for name in trees}
    try:
        model_path = _train(folder, tumours, args.signatures)
        models = {"this tree": model_path,
                  f"baseline {args.baseline}": _as_format_1(model_path, folder / "model_format_1.npz")}
        counts = _catalog(tumours, args.samples)
        catalog = folder / "catalog.tsv"
        write_catalog(counts, catalog)
        model = read_model(model_path)

        t_predict = median_time(lambda: predict_counts(model, counts, n_resamples=0), args.repeats)
        t_transform = median_time(lambda: model.transform(counts.to_numpy(dtype=float)), args.repeats)
        t_read = median_time(lambda: read_catalog(catalog), args.repeats)
        prediction = predict_counts(model, counts, n_resamples=0)
        t_write = median_time(lambda: write_prediction(prediction, counts, folder / "written", overwrite=True),
                               args.repeats)
        for name, src in trees.items():
            out = folder / f"out {name}"
            command = _command(models[name], catalog, out, 0)
            _run(src, command)  # numba compiles (or loads) its kernels for this tree
            whole[name]["resamples 0"] = median_time(lambda: _run(src, command), args.repeats)
            startup = [sys.executable, "-c", "import pssnmf.predict, pssnmf.catalog, pssnmf.model"]
            whole[name]["start-up"] = median_time(lambda: _run(src, startup), args.repeats)
            if args.resampled_repeats:
                resampled = _command(models[name], catalog, folder / f"resampled {name}", None)
                whole[name]["resamples 200"] = median_time(lambda: _run(src, resampled), args.resampled_repeats)
        _same_numbers(*(folder / f"out {name}" for name in trees))
        written = pd.read_csv(folder / "out this tree" / "predictions.tsv", sep="\t")
        assert len(written) == len(counts), (len(written), len(counts))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()

    new, old = whole["this tree"], whole[f"baseline {args.baseline}"]
    print(f"### {len(counts):,} samples ({min(len(counts), len(tumours)):,} real TCGA exomes + "
          f"{max(0, len(counts) - len(tumours)):,} multinomial resamples), K = {args.signatures}, "
          f"{len(model.classes_)} classes")
    print()
    print(f"Machine: {cpu_model()}; {platform.python_implementation()} {platform.python_version()}, "
          f"numpy {np.__version__}; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load "
          f"average (1, 5, 15 min) {' '.join(f'{v:.2f}' for v in load_before)} before, "
          f"{' '.join(f'{v:.2f}' for v in load_after)} after. Median of {args.repeats} runs "
          f"({args.resampled_repeats} with 200 resamples).")
    print()
    print("This tree, in memory:")
    print()
    print("| step | seconds |")
    print("|---|---|")
    print(f"| `predict_counts`, no resampling (exposures, probabilities, cosine, flags) | {t_predict:.3f} |")
    print(f"| of which `model.transform` (batched NNLS exposures) | {t_transform:.3f} |")
    print(f"| `read_catalog` of the {len(counts):,}-sample SigProfiler file | {t_read:.3f} |")
    print(f"| `write_prediction` (predictions.tsv, contributions.tsv) | {t_write:.3f} |")
    print()
    print(f"The whole command, `python -m pssnmf predict` (subprocess), this tree against {args.baseline}:")
    print()
    print(f"| run | this tree (s) | {args.baseline} (s) | this / {args.baseline} |")
    print("|---|---|---|---|")
    rows = [("`--resamples 0`", "resamples 0"), ("default, 200 resamples", "resamples 200"),
            ("of which start-up: `import pssnmf.predict, pssnmf.catalog, pssnmf.model`", "start-up")]
    for label, key in rows:
        if key in new:
            print(f"| {label} | {new[key]:.3f} | {old[key]:.3f} | {new[key] / old[key]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
