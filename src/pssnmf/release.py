"""The released model: the exported model's chosen point retrained on all of a task's data.

The final fit (``results/final``) is an evaluation: it trains on the validation set and is scored
on the test set.  A user who applies the model to their own tumours wants the same recipe trained
on everything the protocol may train on.  :func:`release_fold` builds that training set the way the
folds build the final fit's (docs/protocol.md, "Splits and bootstrapping"), from every sample:

* **labelled**: ``n_folds * per_class`` bootstraps per class (the final fit's count), drawn
  round-robin over *all* the class's cell lines (shuffled order), each a multinomial resample of
  its own count;
* **unlabelled**: ``unlabelled_count(labelled, proportion)`` tumours, those with truth first
  (interleaved by class, shuffled), then the others, never a tumour of the screening pools, which
  stay out so that the release model's own cut-offs can be chosen on the validation pool, as the
  exported model's were.

:func:`build_release` fits the chosen point on it (the seed from :func:`pssnmf.planning.fit_seed`
with fold ``release``) and writes the model with its provenance in ``metadata["release"]``:
project version and commit, the resolved config, the SHA-256 of every input, the hyperparameters,
the Table 1 and screening rows the same point scored in the protocol and the exported model's
cut-offs; and in ``metadata["screening"]`` its own cut-offs, chosen on the validation pool (which it
never trained on), that ``pssnmf predict`` applies.  There is no held-out set: its scores are the
protocol's, not its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from pssnmf.folds import (
    FoldData,
    FoldSettings,
    bootstrap_profile,
    interleave_by_class,
    load_pools,
    read_membership,
    read_task,
    rng_for,
    round_robin,
    unlabelled_count,
)

log = logging.getLogger(__name__)

RELEASE_FOLD = "release"
"""The fold name of a release fit (its seed key: :func:`pssnmf.planning.fit_seed`)."""


def release_fold(catalog_path, samples_path, fold_dir, task: str, settings: FoldSettings, proportion: float,
                 opportunity=None) -> FoldData:
    """The release's training rows as a :class:`FoldData` (no evaluation rows); see the module docstring."""
    counts, samples = read_task(catalog_path, samples_path)
    membership = read_membership(fold_dir)
    pools = set(membership.loc[membership["set"] == "screening", "sample"])
    cells = samples[(samples["source"] == "cell_line") & (samples["label"] != "")]
    if cells.empty:
        raise ValueError(f"{samples_path}: no labelled cell lines to release a model from")
    per_class = settings.n_folds * settings.per_class
    rng = rng_for(settings.seed, "release", task, "cell_lines")
    boot = rng_for(settings.seed, "release", task, "bootstrap")
    row_ids, origins, rows = [], [], []
    for cls in sorted(cells["label"].unique()):
        names = sorted(cells.index[cells["label"] == cls])
        seen: dict[str, int] = {}
        for origin in round_robin(names, per_class, rng):
            seen[origin] = seen.get(origin, 0) + 1
            row_ids.append(f"{origin}#r{seen[origin]:04d}")
            origins.append(origin)
            rows.append(bootstrap_profile(counts.loc[origin].to_numpy(), 1, boot)[0])
    n_labelled = len(rows)
    tumours = samples[(samples["source"] == "tumour") & ~samples.index.isin(pools)]
    tumours = tumours[counts.loc[tumours.index].sum(axis=1).to_numpy() >= max(1, settings.min_mutations)]
    order = rng_for(settings.seed, "release", task, "tumours")
    by_truth = {}
    for truth in sorted(set(tumours["truth"]) - {""}):
        names = sorted(tumours.index[tumours["truth"] == truth])
        by_truth[truth] = [names[i] for i in order.permutation(len(names))]
    rest = sorted(tumours.index[tumours["truth"] == ""])
    ordered = interleave_by_class(by_truth) + [rest[i] for i in order.permutation(len(rest))]
    need = unlabelled_count(n_labelled, proportion)
    if len(ordered) < need:
        raise ValueError(f"{task}: the release needs {need} unlabelled tumours for proportion {proportion}, "
                         f"only {len(ordered)} are outside the screening pools")
    chosen = ordered[:need]
    values = np.vstack([np.array(rows, dtype=np.float64), counts.loc[chosen].to_numpy(dtype=np.float64)])
    X = values / values.sum(axis=1, keepdims=True)
    train = pd.DataFrame({
        "row_id": row_ids + chosen, "sample": origins + chosen,
        "source": ["cell_line"] * n_labelled + ["tumour"] * len(chosen),
        "label": list(cells.loc[origins, "label"]) + [""] * len(chosen),
        "truth": list(cells.loc[origins, "truth"]) + list(tumours.loc[chosen, "truth"]),
    })
    if opportunity is not None:
        X = opportunity.apply(X, train["source"])
    y = np.array([label if label != "" else None for label in train["label"]], dtype=object)
    return FoldData(X, y, train, np.zeros((0, X.shape[1])), train.iloc[:0])


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def project_commit() -> dict:
    """The git commit of the project this module runs from, and whether its tree had changes
    (both None outside a git checkout, e.g. an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _rows(path, **match) -> list[dict]:
    """The rows of a TSV whose columns equal ``match`` (floats compared as floats), as plain dicts."""
    table = pd.read_csv(path, sep="\t")
    for column, value in match.items():
        if column not in table.columns:
            raise ValueError(f"{path}: no column {column!r}")
        table = table[table[column].astype(float) == float(value)] if isinstance(value, float) else \
            table[table[column].astype(str) == str(value)]
    return json.loads(table.to_json(orient="records"))


def build_release(spec: dict, catalog, samples, settings: FoldSettings, out, *, table1=None, screening=None,
                  exported=None, config: dict | None = None, fpr_targets: Sequence[float] = (0.1, 0.05)) -> Path:
    """Fit the release of the job ``spec`` (a final-stage fit spec: :func:`pssnmf.planning.plan`)
    and write it to ``out`` with its provenance; returns ``out``."""
    import pssnmf
    from pssnmf.experiment import make_model, pool_predictions
    from pssnmf.model import load_model, save_model
    from pssnmf.planning import fit_seed, plan
    from pssnmf.screening import pool_cutoffs

    job = plan({**spec, "stage": "final", "replicates": 1})
    if len(job.points) != 1 or job.points[0].is_baseline:
        raise ValueError(f"a release is one NMF model's chosen point; the spec gives {list(job.points)}")
    point = replace(job.points[0], fold=RELEASE_FOLD, replicate=0)
    data = release_fold(catalog, samples, job.fold_dir, job.task, settings, job.proportion, job.opportunity)
    random_state = fit_seed(job.seed, job.task, job.split_mode, job.proportion, point)
    model = make_model(point, random_state, job.settings)
    model.fit(data.X_train, data.y_train)
    inputs = {"catalog": catalog, "samples": samples, "membership": Path(job.fold_dir) / "membership.tsv",
              "chosen": spec["optimum"], "table1": table1, "screening": screening, "exported": exported}
    release = {
        "task": job.task, "model": point.model, "selected_on": {"split_mode": job.split_mode,
                                                               "proportion": job.proportion},
        "hyperparameters": {"K": point.K, "lambda_c": point.lambda_c, "lambda_l2": point.lambda_l2,
                            "confidence_threshold": point.confidence_threshold},
        "random_state": random_state, "fit": job.settings.kwargs(),
        "n_labelled": int(sum(y is not None for y in data.y_train)),
        "n_unlabelled": int(sum(y is None for y in data.y_train)),
        "project": {"version": pssnmf.__version__, **project_commit()},
        "inputs": {name: {"file": Path(path).name, "sha256": sha256(path)}
                   for name, path in inputs.items() if path is not None},
        "config": config,
        "protocol_scores": {
            "table1": _rows(table1, task=job.task, split_mode=job.split_mode, proportion=float(job.proportion),
                            model=point.model) if table1 else [],
            "screening": _rows(screening, split_mode=job.split_mode, proportion=float(job.proportion),
                               model=point.model) if screening else [],
        },
        "exported_screening": (load_model(exported, estimator=False).metadata_.get("screening")
                               if exported else None),
    }
    metadata = {"task": job.task, "model": point.model, "opportunity": (None if job.opportunity is None
                                                                       else job.opportunity.metadata()),
                "release": release}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, out, metadata=metadata)
    X_pool, pools = load_pools(job.fold_dir, job.proportion, opportunity=job.opportunity)
    validation = pools["fold"] == "validation"
    if validation.any():
        # The release's own cut-offs, on the validation pool it never trained on (`pssnmf predict`
        # applies them; its test rates are the protocol's, in exported_screening).  Scored by the
        # model as written, as users load it: a freshly fitted estimator can differ in the last bit.
        saved = load_model(out, estimator=False)
        frame = pool_predictions(saved, X_pool[validation.to_numpy()], pools[validation].reset_index(drop=True))
        metadata["screening"] = pool_cutoffs(frame[frame["role"] == "proficient"], fpr_targets)
        save_model(model, out, metadata=metadata)
    log.info("released %s (%s, K=%s, lambda_c=%s, lambda_l2=%s, ct=%s) trained on %d labelled and %d unlabelled "
             "rows to %s", point.model, job.task, point.K, point.lambda_c, point.lambda_l2,
             point.confidence_threshold, release["n_labelled"], release["n_unlabelled"], out)
    return out


def _parser() -> argparse.ArgumentParser:
    from pssnmf import commands

    parser = argparse.ArgumentParser(prog="python -m pssnmf.release", description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True,
                        help="JSON: job (the export's final-stage fit spec, pssnmf.planning.plan), table1, "
                             "screening (or null), exported (the exported model file), fpr (the cut-offs' "
                             "false-positive rates), config (the resolved config, recorded in the model)")
    parser.add_argument("--catalog", required=True, help="the task's catalog.tsv (results/data/{task})")
    parser.add_argument("--samples", required=True, help="the task's samples.tsv")
    parser.add_argument("--n-folds", type=int, required=True)
    parser.add_argument("--per-class", type=int, required=True)
    parser.add_argument("--out", required=True, help="the released model file (.npz)")
    commands.add_options(parser)
    return parser


RELEASE_SPEC_KEYS = {"job", "table1", "screening", "exported", "fpr", "config"}


def _run(args: argparse.Namespace) -> None:
    from pssnmf.commands import spec_object

    spec = spec_object(args.spec)
    if set(spec) - RELEASE_SPEC_KEYS or "job" not in spec:
        raise ValueError(f"--spec: expected an object with job and some of {sorted(RELEASE_SPEC_KEYS - {'job'})}")
    settings = FoldSettings(seed=int(spec["job"]["seed"]), n_folds=args.n_folds, per_class=args.per_class)
    build_release(spec["job"], args.catalog, args.samples, settings, args.out, table1=spec.get("table1"),
                  screening=spec.get("screening"), exported=spec.get("exported"), config=spec.get("config"),
                  fpr_targets=spec.get("fpr") or (0.1, 0.05))


def main(argv: Sequence[str] | None = None) -> int:
    from pssnmf import commands

    args = _parser().parse_args(argv)
    return commands.run("python -m pssnmf.release", _run, args)


if __name__ == "__main__":
    sys.exit(main())
