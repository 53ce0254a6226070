"""The benchmarks' reference problem from the real data in ../shared/data (or $PSSNMF_TEST_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pssnmf.catalog import read_catalog
from pssnmf.channels import SBS96, normalize_channel

PATHWAY = {"MSH6": "MMR", "MSH2": "MMR", "MLH1": "MMR", "PMS2": "MMR", "PMS1": "MMR",
           "UNG": "BER", "OGG1": "BER", "EXO1": "HR", "RNF168": "HR", "ATP2B4": "Control"}


def data_dir() -> Path:
    candidates = [Path(os.environ["PSSNMF_TEST_DATA"])] if "PSSNMF_TEST_DATA" in os.environ else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for candidate in candidates:
        if (candidate / "MANIFEST.md").is_file():
            return candidate
    raise SystemExit("real data not found: set PSSNMF_TEST_DATA (see tests/conftest.py)")


def reference_problem(per_class=200, n_tumours=800, seed=0):
    """Balanced Zou bootstraps (multinomial resamples of each subclone's own count) + TCGA tumours.

    Returns X (counts), y (pathway or None), and the 46 real Zou profiles with their labels.
    """
    folder = data_dir()
    table = pd.read_excel(folder / "zou2021" / "Supplementary_tables.xlsx", sheet_name="TableS3")
    columns = [c for c in table.columns[2:] if c.split("_")[0] in PATHWAY]
    # TableS3 lists the channels alphabetically; the models work in COSMIC order.
    table.index = [normalize_channel(c) for c in table["MutationType"]]
    counts = table.loc[list(SBS96), columns].to_numpy().T.astype(float)
    labels = np.array([PATHWAY[c.split("_")[0]] for c in columns], dtype=object)
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in ("MMR", "BER", "HR", "Control"):
        for row in rng.choice(np.flatnonzero(labels == label), per_class):
            X.append(rng.multinomial(int(counts[row].sum()), counts[row] / counts[row].sum()))
            y.append(label)
    # read_catalog puts the channels in COSMIC order (the file lists them alphabetically).
    tumours = read_catalog(folder / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv").to_numpy(dtype=float)
    tumours = tumours[tumours.sum(axis=1) >= 20]
    tumours = tumours[rng.choice(len(tumours), n_tumours, replace=False)]
    X = np.vstack([np.array(X, dtype=float), tumours])
    y = np.array(y + [None] * n_tumours, dtype=object)
    return X, y, counts, labels
