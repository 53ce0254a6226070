"""Running the real workflow from the tests: one helper, shared by the workflow test modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SNAKEFILE = PROJECT / "Snakefile"
TEST_CONFIG = PROJECT / "config" / "test.yaml"


def snakemake_command(workdir: Path, *args: str, data_dir: Path) -> list[str]:
    """``snakemake`` on config/test.yaml in ``workdir``, fetching from ``data_dir`` as a mirror.

    Targets and options go in ``args``; they come before ``--configfile``, which takes
    several files.
    """
    override = workdir / "local.yaml"
    # The test config fetches through the real download rules from a folder mirror.
    override.write_text(f"data:\n  mirror: {data_dir}\n")
    return [
        sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
        *args, "--configfile", str(TEST_CONFIG), str(override),
    ]


def run_snakemake(cmd: list[str], log: Path, timeout: int = 1500) -> None:
    """Run a Snakemake command, its output to ``log``; fail with the log's tail."""
    with open(log, "w") as handle:
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-60:])
        raise AssertionError(f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
