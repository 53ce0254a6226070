"""Shared fixtures: where the real public data for the tests lives.

The tests read the real data from ``$PSSNMF_TEST_DATA`` when it is set, else from
``../shared/data`` beside the project root (the layout of ``../shared/data/MANIFEST.md``).
Where neither exists, data-dependent tests skip with a message that says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    env = os.environ.get("PSSNMF_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(PROJECT_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "MANIFEST.md").is_file():
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding the real data files (zou2021/, tcga_mc3/, cosmic/, ...)."""
    found = _data_dir()
    if found is None:
        pytest.skip(
            "real data not found: set PSSNMF_TEST_DATA to a folder laid out as "
            "shared/data/MANIFEST.md describes (or clone beside ../shared/data)"
        )
    return found
