"""Config holes (issue 16): each bad config stops ``snakemake`` before any job, naming the key.

Every test runs the real workflow as a user would, as a dry run (``-n``) of config/config.yaml
(no data needed), plus an overlay ``--configfile`` or a ``--config`` override.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def dry_run(workdir: Path, *overlays: str, config: list[str] | None = None, target: str = "data"):
    """``snakemake -n <target>`` on config/config.yaml plus one overlay file per YAML text."""
    workdir.mkdir(parents=True, exist_ok=True)
    files = []
    for i, text in enumerate(overlays):
        files.append(workdir.parent / f"overlay{i}.yaml")
        files[-1].write_text(text + "\n")
    command = [
        sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"), "--directory", str(workdir),
        "-n", target, "--configfile", str(PROJECT / "config" / "config.yaml"), *map(str, files),
    ]
    if config:
        command += ["--config", *config]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return run, run.stdout + run.stderr


def refused(tmp_path: Path, *overlays: str, config: list[str] | None = None) -> str:
    run, text = dry_run(tmp_path / "run", *overlays, config=config)
    assert run.returncode != 0, text
    assert not (tmp_path / "run" / "results").exists() and not (tmp_path / "run" / "logs").exists()
    return text


@pytest.mark.parametrize(
    ("overlay", "key"),
    [
        ("experimnt: {seed: 1}", "'experimnt' was unexpected"),
        ("report: {title: x}", "'report' was unexpected"),
        ("experiment: {fit: {max_epoch: 10}}", "'max_epoch' was unexpected"),
        ("experiment: {grid: {lamda_c: [1]}}", "'lamda_c' was unexpected"),
        ("tasks: {ddrd: {clases: {}}}", "'clases' was unexpected"),
    ],
)
def test_unknown_key_anywhere_is_refused(tmp_path, overlay, key):
    text = refused(tmp_path, overlay)
    assert "Additional properties are not allowed" in text and key in text, text


def test_nan_and_infinite_numbers_are_refused(tmp_path):
    """Every non-finite number is named, all in one run (the check lists them all)."""
    text = refused(tmp_path, "experiment: {grid: {lambda_c: [.nan, 0.1, .inf], lambda_l2: [.nan]}, "
                             "proportions: [.nan], fit: {tol: .inf}}")
    for named in ("experiment.grid.lambda_c[0] = nan", "experiment.grid.lambda_c[2] = inf",
                  "experiment.grid.lambda_l2[0] = nan", "experiment.proportions[0] = nan",
                  "experiment.fit.tol = inf"):
        assert f"{named}: not a finite number" in text, (named, text)
    assert "lambda_c[1]" not in text


@pytest.mark.parametrize(
    ("fit", "effective"),
    [
        ("{min_epochs: 500, max_epochs: 10}", "min_epochs = 500 is more than experiment.fit.max_epochs = 10"),
        # null is the solver's default (pssnmf.solvers.SOLVER_DEFAULTS): bcd 10..2,000, mu 200..5,000
        ("{min_epochs: 2500}", "min_epochs = 2500 is more than experiment.fit.max_epochs = 2000"),
        ("{solver: mu, max_epochs: 100}", "min_epochs = 200 is more than experiment.fit.max_epochs = 100"),
    ],
)
def test_min_epochs_above_max_epochs_is_refused(tmp_path, fit, effective):
    text = refused(tmp_path, f"experiment: {{fit: {fit}}}")
    assert f"experiment.fit.{effective}" in text, text


def test_min_epochs_within_the_solvers_default_is_accepted(tmp_path):
    run, text = dry_run(tmp_path / "run", "experiment: {fit: {solver: mu, min_epochs: 2500}}")
    assert run.returncode == 0, text


@pytest.mark.parametrize("folder", ["", "//", "/tmp/.."])
def test_download_dir_at_the_filesystem_root_is_refused(tmp_path, folder):
    text = refused(tmp_path, f"data: {{download_dir: '{folder}'}}")
    assert f"data.download_dir = {folder!r}: downloads would go to the filesystem root" in text, text


def test_nested_command_line_overrides_are_typed_as_in_a_file(tmp_path):
    # Snakemake passes nested --config values as text ('3'); they are read as YAML where the
    # schema expects no text, so the documented override forms work.
    run, text = dry_run(
        tmp_path / "run",
        config=[
            "experiment={seed: 3, grid: {K: [2], lambda_c: [0.5]}, fit: {max_epochs: 50}, opportunity_comparison: false}",
            "data={subsample_tumours: 5, local_dir: null, cosmic_version: v3.2}",
        ],
        target="all",
    )
    assert run.returncode == 0, text
    # 3 models x K [2] x 2 tasks x 2 split modes x 2 proportions (a job fits every fold); no
    # other-scale refits
    assert re.search(r"^fit_grid\s+24$", text, re.M) and "fit_final_other_scale" not in text, text
    assert "COSMIC_v3.2_SBS_GRCh37" in text


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("experiment={seed: three}", "'three' is not of type 'integer'"),
        ("experiment={grid: {lambda_c: [.nan]}}", "experiment.grid.lambda_c[0] = nan: not a finite number"),
        ("experiment={fit: {min_epochs: 9, max_epochs: 8}}", "min_epochs = 9 is more than"),
        ("experiment={sede: 3}", "'sede' was unexpected"),
    ],
)
def test_bad_command_line_override_is_refused_naming_it(tmp_path, override, message):
    text = refused(tmp_path, config=[override])
    assert message in text, text
