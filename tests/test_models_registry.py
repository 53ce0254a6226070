"""pssnmf.models: the one registry of the experiment's models, read by the library and the workflow."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pssnmf import models as models_lib
from pssnmf.models import REGISTRY, ModelSpec, figure_order, names, spec

PROJECT = Path(__file__).resolve().parents[1]
LISTS = {"models": "grid", "pseudo_label_models": "pseudo_label", "baselines": "baseline"}


def test_every_model_name_of_the_configs_schema_and_rules_is_in_the_registry():
    schema = yaml.safe_load((PROJECT / "workflow/schemas/config.schema.yaml").read_text())
    experiment = schema["properties"]["experiment"]["properties"]
    for key, kind in LISTS.items():
        assert set(experiment[key]["default"]) <= set(names(kind)), key
        assert "enum" not in experiment[key]["items"], f"{key}: the registry is the one list of names"
    assert experiment["export"]["properties"]["model"]["default"] in names("grid", "pseudo_label")
    for path in sorted((PROJECT / "config").glob("*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("experiment", {})
        for key, kind in LISTS.items():
            assert set(config.get(key, [])) <= set(names(kind)), (path.name, key)
        if "export" in config:
            assert config["export"]["model"] in names("grid", "pseudo_label"), path.name
    # Model names written in the rule files and the library are the registry's.
    known = set(names())
    for path in [*sorted((PROJECT / "workflow/rules").glob("*.smk")), *sorted((PROJECT / "src/pssnmf").glob("*.py"))]:
        for name in re.findall(r"[\"']((?:P?SS-|S-)NMF[\w+-]*|LR-96|NMF\+LR|COSMIC\+LR)[\"']", path.read_text()):
            assert name in known, (path.name, name)


def test_registry_entries_are_consistent():
    assert len(set(names())) == len(REGISTRY)
    for entry in REGISTRY:
        if entry.base is not None:
            assert spec(entry.base).kind == "grid", entry
            assert spec(entry.base).unlabeled_regularization == entry.unlabeled_regularization, entry
        if entry.seeds_from is not None:
            assert spec(entry.seeds_from).paper and spec(entry.seeds_from).base == entry.base, entry
        if entry.k_from is not None:
            assert spec(entry.k_from).kind == "grid", entry
    from pssnmf.baselines import BASELINES, make_baseline

    assert BASELINES == names("baseline")
    for name in BASELINES:  # each baseline of the registry is built by pssnmf.baselines
        make_baseline(name, random_state=0, **({"n_signatures": 3} if spec(name).k_from else {}),
                      **({"cosmic_signatures": None} if name == "COSMIC+LR" else {}))
    with pytest.raises(ValueError, match="unknown model 'NMF'; expected one of S-NMF, SS-NMF"):
        spec("NMF")
    with pytest.raises(ValueError, match="a base is what a pseudo-labelling model"):
        ModelSpec("X", "pseudo_label", "pseudo_labeling")


THROWAWAY = ModelSpec("PSS-NMF-throwaway", "pseudo_label", "pseudo_labeling",
                      options={"pseudo_label_vote": True, "soft_pseudo_labels": True},
                      base="SS-NMF", seeds_from="PSS-NMF")


def test_a_new_variant_is_one_registry_entry_in_the_library(monkeypatch):
    """With one entry added, the library plans, seeds, builds and orders the new variant."""
    from pssnmf.experiment import FitSettings, Point, fill_from_optimum, fit_seed, make_model

    monkeypatch.setattr(models_lib, "REGISTRY", (*REGISTRY, THROWAWAY))
    optimum = pd.DataFrame([{"task": "ddrd", "split_mode": "grouped", "proportion": 0.5, "model": "SS-NMF",
                             "K": 5, "lambda_c": 0.1, "lambda_l2": 1e-4, "confidence_threshold": float("nan")}])
    (point,) = fill_from_optimum([Point("PSS-NMF-throwaway", confidence_threshold=0.6, fold="1")], optimum,
                                 "ddrd", "grouped", 0.5)
    assert (point.K, point.lambda_c, point.lambda_l2) == (5, 0.1, 1e-4)  # from its base's chosen point
    paper = dataclasses.replace(point, model="PSS-NMF")
    assert fit_seed(0, "ddrd", "grouped", 0.5, point) == fit_seed(0, "ddrd", "grouped", 0.5, paper)
    model = make_model(point, 1, FitSettings(n_restarts=2))
    params = model.get_params()
    assert params["mode"] == "pseudo_labeling" and params["pseudo_label_vote"] and params["soft_pseudo_labels"]
    assert params["confidence_threshold"] == 0.6 and params["n_signatures"] == 5
    assert figure_order({"PSS-NMF-throwaway", "PSS-NMF", "S-NMF"}) == ["S-NMF", "PSS-NMF", "PSS-NMF-throwaway"]


def test_a_new_variant_is_one_registry_entry_in_the_workflow(tmp_path):
    """The same entry, appended to a copy of the package's registry, is all the workflow needs:
    a dry run of the test config plans the variant's ct sweep on its base and its final fits."""
    package = tmp_path / "src" / "pssnmf"
    shutil.copytree(PROJECT / "src" / "pssnmf", package, ignore=shutil.ignore_patterns("__pycache__"))
    registry = package / "models.py"
    entry = repr(THROWAWAY).replace("mappingproxy(", "dict(")
    registry.write_text(registry.read_text() + f"\nREGISTRY = (*REGISTRY, {entry})\n")
    overlay = tmp_path / "variant.yaml"
    overlay.write_text("experiment: {pseudo_label_models: [PSS-NMF, PSS-NMF-throwaway]}\n")
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"), "--directory", str(tmp_path / "run"),
         "--dry-run", "--printshellcmds", "results/final/ddrd/grouped/u0.5/PSS-NMF-throwaway.tsv",
         "--configfile", str(PROJECT / "config/test.yaml"), str(overlay)],
        capture_output=True, text=True, timeout=300, env={**environ, "PYTHONPATH": str(tmp_path / "src")},
    )
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-3000:]
    assert "PSS-NMF-throwaway" not in (PROJECT / "src/pssnmf/models.py").read_text()
    # Its ct sweep on its base's chosen point, on every fold, and its final fit on the test set.
    specs = [json.loads(spec) for spec in re.findall(r"job --spec '(\{.*?\})'", text)]
    sweep = [spec for spec in specs if spec["model"] == "PSS-NMF-throwaway" and spec["stage"] == "ct"]
    assert len(sweep) == 1 and sweep[0]["folds"] == ["0", "1", "2"], specs
    assert sweep[0]["optimum"] == "results/select/ddrd/grouped/u0.5/base_chosen.tsv"
    assert "results/fits/ddrd/grouped/u0.5/PSS-NMF-throwaway/ct.tsv" in text
    assert re.search(r"rule fit_final:\n(.*\n)*?.*output: results/final/ddrd/grouped/u0.5/PSS-NMF-throwaway.tsv",
                     text), text[-3000:]
