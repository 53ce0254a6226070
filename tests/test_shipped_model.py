"""The shipped DDRd model (pssnmf/shipped/ddrd.npz, pssnmf.release): checked, not trusted.

Its release fit is retrained from the hyperparameters and config it records, on the public data in
../shared/data, and must give the same arrays; and a plain ``pip install .`` predicts with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from _workflow import PROJECT, run_snakemake
from pssnmf.shipped import shipped_models

SHIPPED = shipped_models().get("ddrd")
pytestmark = pytest.mark.skipif(SHIPPED is None, reason="this checkout ships no DDRd model")


def _release():
    from pssnmf.model import load_model

    model = load_model(SHIPPED, estimator=False)
    return model, model.metadata_["release"]


def test_shipped_model_rebuilds_from_its_recorded_inputs(data_dir, tmp_path):
    """The workflow's data and fold rules with the recorded config give the recorded inputs (same
    SHA-256), and the release fit on them gives the shipped model's arrays, bit for bit."""
    from pssnmf.folds import FoldSettings
    from pssnmf.release import build_release, sha256

    model, release = _release()
    config = release["config"]
    config["data"].update(local_dir=str(data_dir), mirror=None, manifest=str(PROJECT / "resources/sources.yaml"))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    targets = ["results/data/ddrd/catalog.tsv", "results/data/ddrd/samples.tsv",
               f"results/folds/ddrd/{release['selected_on']['split_mode']}/membership.tsv"]
    run_snakemake([sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"), "--directory", str(tmp_path),
                   "--cores", "2", *targets, "--configfile", str(tmp_path / "config.yaml")], tmp_path / "snakemake.log")
    for name, target in zip(("catalog", "samples", "membership"), targets):
        assert sha256(tmp_path / target) == release["inputs"][name]["sha256"], f"{target} is not the recorded {name}"
    h = release["hyperparameters"]
    chosen = pd.DataFrame([{"task": "ddrd", "split_mode": release["selected_on"]["split_mode"],
                            "proportion": release["selected_on"]["proportion"], "model": release["model"], **h}])
    chosen.to_csv(tmp_path / "chosen.tsv", sep="\t", index=False)
    experiment = config["experiment"]
    job = {"stage": "final", "task": "ddrd", "split_mode": release["selected_on"]["split_mode"],
           "proportion": release["selected_on"]["proportion"], "model": release["model"], "seed": experiment["seed"],
           "fold_dir": str(tmp_path / Path(targets[2]).parent),
           "fit": {k: v for k, v in experiment["fit"].items()
                   if k in ("n_restarts", "solver", "tol", "min_epochs", "max_epochs") and v is not None},
           "opportunity": None, "optimum": str(tmp_path / "chosen.tsv")}
    settings = FoldSettings(seed=experiment["seed"], n_folds=experiment["folds"]["n_folds"],
                            per_class=experiment["folds"]["per_class"])
    out = build_release(job, tmp_path / targets[0], tmp_path / targets[1], settings, tmp_path / "again.npz",
                        fpr_targets=[float(t) for t in model.metadata_["screening"]["cutoffs"]["probability"]])
    with np.load(SHIPPED, allow_pickle=False) as shipped, np.load(out, allow_pickle=False) as again:
        for name in shipped.files:
            if name != "metadata_json":
                assert shipped[name].tobytes() == again[name].tobytes(), name
        rebuilt = json.loads(str(again["metadata_json"]))["metadata"]
    assert rebuilt["screening"]["cutoffs"] == model.metadata_["screening"]["cutoffs"]
    assert rebuilt["release"]["random_state"] == release["random_state"]


def test_an_installed_package_predicts_with_the_shipped_model(data_dir, tmp_path):
    """README, "Apply a trained model": ``pip install .`` in a fresh environment, then ``pssnmf
    predict`` with no ``--model`` and no workflow run."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    str(PROJECT)], check=True, capture_output=True)
    where = subprocess.run([str(python), "-c", "import pssnmf.shipped as s; print(s.shipped_models()['ddrd'])"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    out = tmp_path / "out"
    run = subprocess.run([str(venv / "bin" / "pssnmf"), "predict", "--catalog",
                          str(data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt"), "--out", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr
    assert f"using the shipped model {where}" in run.stderr and "commit" in run.stderr
    table = pd.read_csv(out / "predictions.tsv", sep="\t")
    assert len(table) == 21 and any(c.startswith("screen_") for c in table.columns)
    listed = subprocess.run([str(venv / "bin" / "pssnmf"), "models"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0 and "ddrd" in listed.stdout and "the default of pssnmf predict" in listed.stdout
