"""`snakemake results_doc` on the shared quick-start run: docs/results/ from results/ (issue 20).

The target runs after the run the other workflow tests share (its own job only), then the folder
is checked: every file its README links to is there, its tables are results/tables/ byte for
byte, every claim has a verdict in both split modes, and the header records the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from _workflow import run_snakemake

VERDICTS = {"holds", "does not hold", "within noise", "not tested"}


@pytest.fixture(scope="module")
def doc(workflow_run: Path) -> Path:
    python = workflow_run.parent / "venv" / "bin" / "python"
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    run_snakemake([str(python), "-m", "snakemake", "results_doc", "--cores", "1",
                   "--configfile", "config/test.yaml"],
                  workflow_run.parent / "results_doc.log", cwd=workflow_run, env=env)
    return workflow_run / "docs" / "results"


def test_every_linked_file_is_written(doc: Path) -> None:
    readme = (doc / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert len(links) > 10, links
    missing = [link for link in links if not (doc / link).is_file()]
    assert not missing, f"README links to files the target did not write: {missing}"
    for png in doc.glob("figures/*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    # Small enough to read on GitHub (the full run's folder is a few MB).
    assert sum(p.stat().st_size for p in doc.rglob("*") if p.is_file()) < 20 * 2**20


def test_tables_are_the_runs_tables(doc: Path, workflow_run: Path) -> None:
    tables = sorted((workflow_run / "results" / "tables").glob("*.*"))
    assert any(t.name == "table1.md" for t in tables)
    for table in tables:
        copy = doc / "tables" / table.name
        assert copy.read_bytes() == table.read_bytes(), table.name
    chosen = pd.concat([pd.read_csv(p, sep="\t") for p in
                        sorted((workflow_run / "results" / "select").glob("*/*/*/chosen.tsv"))])
    selection = pd.read_csv(doc / "tables" / "selection.tsv", sep="\t")
    assert len(selection) == len(chosen)
    assert selection["K"].tolist() == chosen["K"].tolist()


def test_every_claim_has_a_verdict_in_both_splits(doc: Path) -> None:
    claims = pd.read_csv(doc / "claims.tsv", sep="\t", keep_default_na=False)
    assert len(claims) >= 20
    for split in ("grouped", "paper"):
        assert set(claims[f"{split}_verdict"]) <= VERDICTS
    # The quick start runs both split modes at 50 % unlabelled: Table 1's claims are tested here.
    tested = claims[claims["rule"].isin(["improves", "near", "K", "stable", "cosmic"])]
    assert (tested[["grouped_verdict", "paper_verdict"]] != "not tested").all().all(), tested
    improves = claims[claims["rule"] == "improves"]
    for split in ("grouped", "paper"):
        low, value, high = (improves[f"{split}_{k}"].astype(float) for k in ("low", "value", "high"))
        assert (low <= value).all() and (value <= high).all()
        verdict = improves[f"{split}_verdict"]
        assert ((verdict == "holds") == (low > 0)).all() and ((verdict == "does not hold") == (high < 0)).all()
    readme = (doc / "README.md").read_text()
    for claim in claims["claim"]:
        assert claim in readme


def test_header_records_the_run(doc: Path, workflow_run: Path) -> None:
    readme = (doc / "README.md").read_text()
    commit = subprocess.run(["git", "-C", str(workflow_run), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    assert f"commit of the run (from its releases, `results/release/`): `{commit}`" in readme
    assert re.search(r"resolved config, SHA-256 of its canonical JSON: `[0-9a-f]{64}`", readme)
    assert re.search(r"wall time: \d+\.\d\d h \(\d+ s\)", readme)
    catalog = workflow_run / "results" / "data" / "ddrd" / "catalog.tsv"
    assert hashlib.sha256(catalog.read_bytes()).hexdigest() in readme


def test_without_a_run_it_is_one_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "results"
    spec = json.dumps({"results": str(tmp_path / "results"), "out": str(out), "config": {},
                       "min_stability": 0.9})
    proc = subprocess.run([sys.executable, "-m", "pssnmf.results_doc", "--spec", spec], capture_output=True,
                          text=True)
    assert proc.returncode == 2, proc.stderr
    assert "table1.tsv" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("docs/.results.*"))


@pytest.mark.parametrize(("counts", "verdict"), [
    ({"33%": [900, 40, 0], "50%": [5000, 700, 12]}, "holds"),
    ({"33%": [900, 40, 0], "50%": [5000, 700, 900]}, "does not hold"),  # rises again at the top ct
    ({"33%": [0, 0, 0], "50%": [10, 5, 1]}, "does not hold"),  # none at any ct: no rise to see
])
def test_table3_claim_reads_every_proportion(tmp_path: Path, counts, verdict) -> None:
    from pssnmf.results_doc import _claim_table3

    (tmp_path / "tables").mkdir()
    table = pd.DataFrame({"ct": [0.9, 0.3, 0.5]})  # unsorted, as a reader must not assume
    for label, values in counts.items():
        table[f"pseudo_labelled_{label}"] = [values[2], values[0], values[1]]
    table.to_csv(tmp_path / "tables" / "table3_ddrd_grouped.tsv", sep="\t", index=False)
    outcome = _claim_table3(tmp_path, "ddrd", "grouped")
    assert outcome["verdict"] == verdict
    assert outcome["ours"].startswith("ct 0.3 → 0.5 → 0.9")
    assert _claim_table3(tmp_path, "ddrd", "paper")["verdict"] == "not tested"
