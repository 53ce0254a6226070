"""Running the real workflow from the tests: one home for the helpers the workflow test modules share."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SNAKEFILE = PROJECT / "Snakefile"
TEST_CONFIG = PROJECT / "config" / "test.yaml"


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """``snakemake`` on config/test.yaml (the embedded test data) in ``workdir``.

    Targets and options go in ``args``; they come before ``--configfile``, which takes
    several files.
    """
    return [
        sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
        *args, "--configfile", str(TEST_CONFIG),
    ]


def run_snakemake(cmd: list[str], log: Path, timeout: int = 1500, **options) -> None:
    """Run a Snakemake command, its output to ``log``; fail with the log's tail."""
    with open(log, "w") as handle:
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout, **options)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-60:])
        raise AssertionError(f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def fresh_clone(folder: Path) -> Path:
    """What a clone of this checkout holds, copied to ``folder/pssnmf`` (no ``../shared`` beside it).

    The files git tracks and the untracked ones it does not ignore: a clean clone of
    ``main`` in CI, the working tree here.
    """
    listed = subprocess.run(
        ["git", "-C", str(PROJECT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    clone = folder / "pssnmf"
    for name in listed:
        source = PROJECT / name
        if name and source.is_file():  # a tracked file deleted in the working tree is not there
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def install_in_venv(clone: Path, venv: Path) -> Path:
    """``pip install -e`` the clone into a new virtual environment; returns its python.

    The environment sees this one's packages (``--system-site-packages``) and pip is
    told ``--no-deps``: the tests need no network beyond the build backend, which pip
    gets from the package index as it does for a user.
    """
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "-e", str(clone)], check=True, capture_output=True)
    where = subprocess.run([str(python), "-c", "import pssnmf; print(pssnmf.__file__)"],
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(clone), f"the environment imports pssnmf from {where}, not the clone"
    return python


def readme_quick_start() -> list[str]:
    """The README's quick-start commands, one per line of its first code block."""
    readme = (PROJECT / "README.md").read_text()
    section = readme[readme.index("## Quick start"):]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "README's Quick start has no bash code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def run_quick_start(folder: Path) -> Path:
    """From a fresh clone in ``folder``: the README's install line, then its run, as a user types them.

    Returns the clone, which holds the run's ``results/``.
    """
    install, run = readme_quick_start()
    assert shlex.split(install)[:3] == ["pip", "install", "-e"], f"unexpected install line: {install}"
    clone = fresh_clone(folder)
    python = install_in_venv(clone, folder / "venv")
    words = shlex.split(run)
    assert words[0] == "snakemake", f"unexpected run line: {run}"
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    run_snakemake([str(python), "-m", "snakemake", *words[1:]], folder / "snakemake.log", cwd=clone, env=env)
    return clone
