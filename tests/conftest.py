"""Shared fixtures: where the real public data for the tests lives.

The workflow tests run on the embedded test data (``.test/data``, committed), so they need
nothing but a clone.  The tests of the full sources read them from ``$PSSNMF_TEST_DATA`` when
it is set, else from ``../shared/data`` beside the project root (the layout of
``../shared/data/MANIFEST.md``); where neither exists, they skip with a message that says so.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
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


def _public_data_cache() -> tuple[Path | None, str]:
    """Where no ../shared/data exists: download the small public files into a cache.

    Fetches (checksummed) every source of resources/sources.yaml that has a public URL
    and a pinned SHA-256 into ``$PSSNMF_TEST_CACHE`` (default ``~/.cache/pssnmf-test-data``),
    in the ../shared/data layout.  Sources without a public URL (the derived TCGA
    catalog) cannot be fetched; tests that need them skip, saying so.  Returns the
    cache folder (or ``None``) and a message for the skip.
    """
    from pssnmf.data.sources import SourceError, fetch, load_manifest

    cache = Path(os.environ.get("PSSNMF_TEST_CACHE", Path.home() / ".cache" / "pssnmf-test-data"))
    sources = load_manifest(PROJECT_ROOT / "resources" / "sources.yaml")
    try:
        for source in sources.values():
            target = cache / source.mirror_path
            if source.url and source.sha256 and not target.is_file():
                fetch(source, target, retries=1)
    except SourceError as err:
        return None, f"real data not found and not downloadable (offline?): {err}"
    return cache, "downloaded public files only"


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


@pytest.fixture(scope="session")
def public_data_dir() -> Path:
    """The real data for tests that need only files with a public URL.

    ``../shared/data`` (or ``$PSSNMF_TEST_DATA``) where present; else the public files
    are downloaded into a cache first, and the test skips with a message when offline.
    """
    found = _data_dir()
    if found is not None:
        return found
    cache, message = _public_data_cache()
    if cache is None:
        pytest.skip(message)
    return cache


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def start_http_server(folder: Path) -> tuple[str, object]:
    """Serve ``folder`` over http on 127.0.0.1 at a free port; returns (base URL, stop function).

    A real ``http.server``, as CI's mirror: the download code is tested against the
    real protocol, not a mock.
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_address[1]}", stop


@pytest.fixture
def serve_folder():
    """A function folder -> base URL serving it over http; servers stop after the test."""
    stops = []

    def serve(folder: Path) -> str:
        url, stop = start_http_server(folder)
        stops.append(stop)
        return url

    yield serve
    for stop in stops:
        stop()


@pytest.fixture(scope="module")
def data_mirror_url(data_dir):
    """The real data folder served over http on 127.0.0.1 (as CI serves ../shared/data)."""
    url, stop = start_http_server(data_dir)
    yield url
    stop()


@pytest.fixture(scope="session")
def workflow_run(tmp_path_factory) -> Path:
    """One real run of the whole workflow, shared by the workflow tests: the README's quick start
    (``pip install -e``, then config/test.yaml on the embedded test data, ``--cores 2``) in a fresh
    clone with no ../shared beside it: data through the download rules, folds, fits, selection,
    Table 1, figures.  Returns the clone, which holds ``results/``."""
    from _workflow import run_quick_start

    return run_quick_start(tmp_path_factory.mktemp("workflow_run"))
