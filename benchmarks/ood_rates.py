"""How many samples ``pssnmf predict`` flags out of distribution (``ood``), on real data.

A DDRd model is trained as ``bench_predict.py`` trains it (400 Zou bootstraps + 400 random TCGA
tumours, K = 6), once per ``--seeds`` (the seed draws the bootstraps and the tumours and seeds the
fit), and applied to:

- the TCGA tumours it was not trained on (7,051 of the 7,451 with a mutation), in all and split
  at 50 mutations (below, the call is ``undetermined`` for few mutations anyway; at or above, the
  out-of-distribution flag is what calls them undetermined);
- its own 400 training tumours (the threshold is their 5th percentile: 5 % by construction);
- the 21 breast cancer whole genomes of ``example_wgs``;
- the 86 COSMIC v3.4 signatures, each drawn as 500 mutations (processes, most of them absent
  from the training data);
- a flat profile (10 mutations in each of the 96 channels).

Beside each rate, in brackets, what the 1st percentile of the same training cosines would have
flagged instead of the 5th (the choice of pssnmf.model.reconstruction).  Prints a Markdown table
for benchmarks/RESULTS.md.  No resampling (``n_resamples=0``): the flag
depends on the reconstruction cosine alone.

Usage: python benchmarks/ood_rates.py [--seeds 0 1 2] [--signatures 6]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]  # this tree's library, whatever is installed
from _real_data import data_dir  # noqa: E402
from bench_predict import _cpu_model, _train  # noqa: E402

from pssnmf.catalog import read_catalog  # noqa: E402
from pssnmf.channels import SBS96  # noqa: E402
from pssnmf.predict import predict_counts, read_model  # noqa: E402


def _rates(model, samples: dict[str, pd.DataFrame], first: float) -> dict[str, tuple[int, int, int]]:
    """(flagged, flagged below ``first`` instead, n) for each named set of samples."""
    out = {}
    for name, counts in samples.items():
        table = predict_counts(model, counts, n_resamples=0).table
        out[name] = (int(table["ood"].sum()), int((table["reconstruction_cosine"] < first).sum()), len(table))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--signatures", type=int, default=6)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    folder = data_dir()
    tumours = read_catalog(folder / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", on_all_zero="drop")
    genomes = read_catalog(folder / "example_wgs" / "Samples_SBS96_21_breast.txt")
    cosmic = read_catalog(folder / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", integer=False)
    rng = np.random.default_rng(0)
    drawn = pd.DataFrame([rng.multinomial(500, row / row.sum()) for row in cosmic.to_numpy(float)],
                         index=cosmic.index, columns=list(SBS96))
    rows, thresholds = [], []
    for seed in args.seeds:
        scratch = Path(tempfile.mkdtemp(prefix="ood_rates."))
        try:
            model = read_model(_train(scratch, tumours, args.signatures, seed=seed))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        trained = tumours.index.isin(model.metadata_["training_tumours"])
        test = tumours[~trained]
        few = test.sum(axis=1) < 50
        training = predict_counts(model, tumours[trained], n_resamples=0).table["reconstruction_cosine"]
        first = float(np.percentile(training, 1))
        rows.append(_rates(model, {
            "TCGA test tumours, all": test, "of which < 50 mutations": test[few],
            "of which >= 50 mutations": test[~few], "TCGA training tumours": tumours[trained],
            "21 breast whole genomes (example_wgs)": genomes, "COSMIC v3.4 signatures, 500 mutations each": drawn,
            "flat profile (10 mutations per channel)": pd.DataFrame([[10] * 96], index=["flat"], columns=list(SBS96))},
            first))
        thresholds.append((model.ood_threshold_, first))

    print(f"### Out-of-distribution rates, K = {args.signatures}, seeds {', '.join(map(str, args.seeds))}")
    print()
    print(f"Machine: {_cpu_model()}; {platform.python_implementation()} {platform.python_version()}; "
          f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load average "
          f"{os.getloadavg()[0]:.2f} at the end ({load_before[0]:.2f} at the start). Thresholds, the 5th "
          f"percentile of the 400 training tumours' reconstruction cosines (the 1st): "
          f"{', '.join(f'{t:.3f} ({f:.3f})' for t, f in thresholds)}.")
    print()
    print("| samples | " + " | ".join(f"seed {s}: ood / n (1st)" for s in args.seeds)
          + " | rate, range over seeds (1st) |")
    print("|---|" + "---|" * (len(args.seeds) + 1))
    for name in rows[0]:
        cells = [f"{row[name][0]} / {row[name][2]} ({row[name][1]})" for row in rows]
        rates = [row[name][0] / row[name][2] for row in rows]
        firsts = [row[name][1] / row[name][2] for row in rows]
        print(f"| {name} | " + " | ".join(cells) + f" | {min(rates):.1%}-{max(rates):.1%} "
              f"({min(firsts):.1%}-{max(firsts):.1%}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
