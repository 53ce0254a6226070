"""The embedded test data (.test/data): small, listed in its manifest, and rebuilt bit for bit
from the full sources by .test/build_data.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pssnmf.data.sources import load_manifest, sha256_of

PROJECT = Path(__file__).resolve().parents[1]
EMBEDDED = PROJECT / ".test" / "data"


def test_embedded_data_are_small_and_every_file_is_in_the_manifest() -> None:
    sources = load_manifest(EMBEDDED / "sources.yaml")
    files = {str(p.relative_to(EMBEDDED)) for p in EMBEDDED.rglob("*") if p.is_file()} - {"sources.yaml"}
    assert files == {source.mirror_path for source in sources.values()}
    for source in sources.values():
        path = EMBEDDED / source.mirror_path
        assert path.stat().st_size == source.size and sha256_of(path) == source.sha256, source.id
    assert sum((EMBEDDED / name).stat().st_size for name in files) <= 3 * 2**20
    # The same ids and layout as the public manifest: the data rules cannot tell them apart.
    public = load_manifest(PROJECT / "resources" / "sources.yaml")
    assert all(public[s.id].mirror_path == s.mirror_path for s in sources.values())


@pytest.mark.filterwarnings("ignore:Unknown extension:UserWarning")
def test_rebuilding_from_the_full_sources_gives_the_committed_bytes(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    run = subprocess.run([sys.executable, "-W", "ignore", str(PROJECT / ".test" / "build_data.py"),
                          "--source", str(data_dir), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    built = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    committed = sorted(str(p.relative_to(EMBEDDED)) for p in EMBEDDED.rglob("*") if p.is_file())
    assert built == committed
    differ = [name for name in built if (out / name).read_bytes() != (EMBEDDED / name).read_bytes()]
    assert not differ, f"rebuilt files differ from .test/data: {differ}"


def test_a_config_needing_a_source_the_manifest_lacks_stops_naming_both(tmp_path: Path) -> None:
    # The embedded manifest holds GDSC cell lines only; CCLE's files are not in it.
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"), "--directory", str(tmp_path), "-n",
         "data", "--configfile", str(PROJECT / "config" / "test.yaml"), "--config", "data={cell_lines: ccle}"],
        capture_output=True, text=True, timeout=300,
    )
    text = run.stdout + run.stderr
    assert run.returncode != 0
    assert "data.manifest = .test/data/sources.yaml lists no source" in text, text[-2000:]
    assert "depmap_mutations" in text and "resources/sources.yaml" in text
    assert not (tmp_path / "results").exists()
