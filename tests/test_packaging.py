"""What the repository promises beside the code: the conda env pins what pyproject.toml pins, and
the workflow catalog's metadata file has the template's keys."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name, where they differ
CONDA_NAMES = {}


def _requirement(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*(.*?)\s*", text)
    assert match, text
    return match[1].lower(), match[2].replace(" ", "")


def test_the_conda_env_pins_the_packages_and_ranges_of_pyproject():
    """`--sdm conda` cannot run here, so the env file is checked against the one source of pins."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    wanted = dict(_requirement(r) for r in project["dependencies"])
    env = yaml.safe_load((PROJECT / "envs" / "pssnmf.yaml").read_text())
    pinned = dict(_requirement(d.replace("=", "==", 1) if re.fullmatch(r"[\w.-]+=[^=<>]+", d) else d)
                  for d in env["dependencies"] if isinstance(d, str))
    python = pinned.pop("python")
    assert {CONDA_NAMES.get(name, name): spec for name, spec in wanted.items()} == pinned
    # the env's Python satisfies requires-python
    low = re.search(r">=\s*(\d+)\.(\d+)", project["requires-python"])
    version = tuple(int(x) for x in python.lstrip("=").split(".")[:2])
    assert low and version >= (int(low[1]), int(low[2])), (python, project["requires-python"])
    assert version == sys.version_info[:2], "the env's Python is CI's"


def test_the_workflow_catalog_file_has_the_templates_keys():
    meta = yaml.safe_load((PROJECT / ".snakemake-workflow-catalog.yml").read_text())
    assert set(meta) == {"usage"}
    usage = meta["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert set(usage["mandatory-flags"]) == {"desc", "flags"} and usage["mandatory-flags"]["desc"].strip()
    deployment = usage["software-stack-deployment"]
    assert set(deployment) <= {"conda", "apptainer", "apptainer+conda", "singularity", "singularity+conda"}
    assert deployment["conda"] is True and (PROJECT / "envs" / "pssnmf.yaml").is_file()
    assert usage["report"] is True and (PROJECT / "workflow" / "report").is_dir()
    assert (PROJECT / "config" / "README.md").is_file()


def test_the_workflow_runs_as_a_module_of_another_workflow(tmp_path):
    """README, "Use it as a module": a workflow that imports this one with `module` and
    `use rule * from` plans the whole test config (a dry run), prefixed rule names and all."""
    import subprocess

    outer = tmp_path / "Snakefile"
    outer.write_text(
        "configfile: 'config.yaml'\n\n"
        f"module pssnmf:\n    snakefile:\n        {str(PROJECT / 'Snakefile')!r}\n    config:\n        config\n\n"
        "use rule * from pssnmf as pssnmf_*\n"
    )
    config = yaml.safe_load((PROJECT / "config" / "test.yaml").read_text())
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(outer), "--directory", str(tmp_path), "-n",
                          "--quiet", "rules"], capture_output=True, text=True, timeout=300)
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-3000:]
    for rule in ("pssnmf_fetch", "pssnmf_fit_grid", "pssnmf_fit_ct", "pssnmf_table1", "pssnmf_all"):
        assert re.search(rf"^{rule}\b", text, re.M), (rule, text[-3000:])


def test_profiles_are_named_as_every_pinned_snakemake_reads_them():
    """Snakemake reads a profile's ``profile.yaml`` from 9.19 on and ``config.yaml`` in every
    release: while the pinned range starts below 9.19 the profiles stay ``config.yaml`` (their
    headers say why); once it does not, rename them."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    pins = dict(_requirement(r) for r in project["optional-dependencies"]["workflow"])
    lowest = tuple(int(part) for part in re.search(r">=([\d.]+)", pins["snakemake"])[1].split("."))
    profiles = sorted(p for p in (PROJECT / "workflow" / "profiles").iterdir() if p.is_dir())
    assert {p.name for p in profiles} >= {"default", "slurm"}
    expected = "config.yaml" if lowest < (9, 19) else "profile.yaml"
    for profile in profiles:
        files = sorted(f.name for f in profile.iterdir() if f.suffix == ".yaml")
        assert files == [expected], (profile, files)
        if expected == "config.yaml":
            assert "profile.yaml only from 9.19" in (profile / expected).read_text()
