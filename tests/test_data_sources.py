"""resources/sources.yaml and checksummed fetching, against a real http.server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import pytest

from pssnmf.data.sources import Source, SourceError, fetch, load_manifest, sha256_of, source_url


@pytest.fixture(scope="module")
def manifest(project_root):
    return load_manifest(project_root / "resources" / "sources.yaml")


def test_manifest_entries_are_unique_and_complete(manifest):
    paths = [s.mirror_path for s in manifest.values()]
    assert len(set(paths)) == len(paths)
    for source in manifest.values():
        assert source.licence, f"{source.id}: licence note missing"
        # A source without a public URL can only come from a mirror: its bytes must be pinned.
        if source.url is None:
            assert source.sha256 is not None, source.id
        if source.url and "raw.githubusercontent.com" in source.url:
            assert " " not in source.url
            commit = source.url.split("/")[5]
            assert len(commit) == 40, f"{source.id}: GitHub raw URL not pinned to a commit"


def test_manifest_checksums_match_the_real_files(manifest, data_dir):
    sums = {}
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    checked = 0
    for source in manifest.values():
        if source.mirror_path in sums:
            assert source.sha256 == sums[source.mirror_path], source.id
            assert source.size == (data_dir / source.mirror_path).stat().st_size, source.id
            checked += 1
        else:
            assert source.sha256 is None, f"{source.id}: pinned but its bytes are not in the data folder"
    assert checked == len(sums)


@pytest.fixture
def mirror(tmp_path, public_data_dir):
    """A temp copy of the Zou tables, plus a corrupted and a truncated copy."""
    root = tmp_path / "mirror"
    real = public_data_dir / "zou2021" / "Supplementary_tables.xlsx"
    (root / "zou2021").mkdir(parents=True)
    (root / "bad").mkdir()
    shutil.copyfile(real, root / "zou2021" / "Supplementary_tables.xlsx")
    data = bytearray(real.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    (root / "bad" / "corrupted.xlsx").write_bytes(bytes(data))
    (root / "bad" / "truncated.xlsx").write_bytes(bytes(data[: len(data) // 3]))
    return root


def _zou(manifest, **changes) -> Source:
    return dataclasses.replace(manifest["zou2021_tables"], **changes)


def test_fetch_over_http_verifies_and_writes(manifest, mirror, serve_folder, tmp_path):
    base = serve_folder(mirror)
    out = tmp_path / "dl" / "zou.xlsx"
    fetch(_zou(manifest), out, mirror=base)
    assert sha256_of(out) == manifest["zou2021_tables"].sha256
    assert sorted(p.name for p in out.parent.iterdir()) == ["zou.xlsx"]


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("bad/corrupted.xlsx", r"source 'zou2021_tables': .*corrupted\.xlsx has SHA-256 [0-9a-f]{64}, expected 0e6cc2b9"),
        ("bad/truncated.xlsx", r"source 'zou2021_tables': .*truncated\.xlsx gave \d+ bytes, expected 1381110"),
        ("bad/absent.xlsx", r"source 'zou2021_tables': could not fetch .*absent\.xlsx: HTTP Error 404"),
    ],
    ids=["corrupted", "truncated", "missing"],
)
def test_bad_downloads_fail_naming_the_source_and_leave_nothing(manifest, mirror, serve_folder, tmp_path, path, pattern):
    base = serve_folder(mirror)
    out = tmp_path / "dl" / "zou.xlsx"
    with pytest.raises(SourceError, match=pattern):
        fetch(_zou(manifest, mirror_path=path), out, mirror=base, retries=1)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_local_folder_mirror_is_verified_too(manifest, mirror, tmp_path):
    out = tmp_path / "copy.xlsx"
    fetch(_zou(manifest), out, mirror=str(mirror))
    assert sha256_of(out) == manifest["zou2021_tables"].sha256
    with pytest.raises(SourceError, match="SHA-256"):
        fetch(_zou(manifest, mirror_path="bad/corrupted.xlsx", size=None), tmp_path / "c.xlsx", mirror=str(mirror))
    assert not (tmp_path / "c.xlsx").exists()


def test_unpinned_source_records_first_checksum_and_later_runs_must_match(manifest, mirror, serve_folder, tmp_path, caplog):
    base = serve_folder(mirror)
    unpinned = _zou(manifest, sha256=None, size=None)
    seen = tmp_path / "first_seen"
    with caplog.at_level("WARNING"):
        fetch(unpinned, tmp_path / "a.xlsx", mirror=base, first_seen_dir=seen)
    assert "no checksum known" in caplog.text
    assert (seen / "zou2021_tables.sha256").read_text().split()[0] == manifest["zou2021_tables"].sha256
    # Same bytes again: fine.  Other bytes under the same source: an error.
    fetch(unpinned, tmp_path / "b.xlsx", mirror=base, first_seen_dir=seen)
    changed = dataclasses.replace(unpinned, mirror_path="bad/corrupted.xlsx")
    with pytest.raises(SourceError, match="expected 0e6cc2b9"):
        fetch(changed, tmp_path / "c.xlsx", mirror=base, first_seen_dir=seen)
    assert not (tmp_path / "c.xlsx").exists()


def test_urls(manifest):
    volkova = manifest["volkova2020_table4"]
    assert volkova.url.endswith("Supplementary%20Table%204.xlsx")
    assert source_url(volkova, None) == volkova.url
    spaced = dataclasses.replace(volkova, mirror_path="a dir/file 4.xlsx")
    assert source_url(spaced, "http://127.0.0.1:1/base/") == "http://127.0.0.1:1/base/a%20dir/file%204.xlsx"
    with pytest.raises(SourceError, match="no public URL of its own; set data.mirror or data.local_dir"):
        source_url(manifest["tcga_mc3_catalog"], None)


def test_fetch_command_exit_status(manifest, mirror, tmp_path, project_root):
    out = tmp_path / "cli.xlsx"
    command = [sys.executable, "-m", "pssnmf.data", "fetch", "--manifest", str(project_root / "resources" / "sources.yaml")]
    ok = subprocess.run([*command, "--source", "zou2021_tables", "--mirror", str(mirror), "--out", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*command, "--source", "no_such", "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no source 'no_such'" in bad.stderr


def test_a_config_stops_before_any_job_when_its_local_copies_are_missing_or_differ(tmp_path):
    """``check_local_copies`` (what ``common.smk`` runs at parse time): each way a local folder can
    fail the sources a config needs gives one message saying what to do."""
    import hashlib

    from pssnmf.data.sources import check_local_copies, needed_sources

    data = {"tcga_route": "catalog", "cell_lines": "gdsc", "cosmic_version": "v3.4", "verify_local": True}
    needed = needed_sources(data)
    assert "gdsc_catalog" in needed and "mc3_maf" not in needed
    assert {"mc3_maf", "depmap_mutations"} <= set(needed_sources({**data, "tcga_route": "maf", "cell_lines": "ccle"}))
    folder = tmp_path / "local"
    sources = {}
    for source_id in needed:
        content = f"{source_id}\n".encode()
        (folder / "x").mkdir(parents=True, exist_ok=True)
        (folder / "x" / f"{source_id}.txt").write_bytes(content)
        sources[source_id] = Source(source_id, f"https://example.org/{source_id}", f"x/{source_id}.txt",
                                    hashlib.sha256(content).hexdigest(), len(content))
    check = lambda **kw: check_local_copies(  # noqa: E731
        kw.get("sources", sources), kw.get("data", data), "m.yaml", kw.get("local", str(folder)), kw.get("mirror"))
    check()
    check(local=None, mirror="https://mirror.example.org")  # downloads: fetch checks them
    check(local=None)  # public URLs for all
    with pytest.raises(ValueError, match=r"data.manifest = m.yaml lists no source gdsc_catalog"):
        check(sources={k: v for k, v in sources.items() if k != "gdsc_catalog"})
    with pytest.raises(ValueError, match=r"source gdsc_catalog \(x/gdsc_catalog.txt\) has no public URL"):
        check(local=None, sources={**sources, "gdsc_catalog": dataclasses.replace(sources["gdsc_catalog"], url=None)})
    (folder / "x" / "gdsc_catalog.txt").write_bytes(b"gdsc_catalog!\n")  # a byte more
    with pytest.raises(ValueError, match=r"differ from m.yaml: x/gdsc_catalog.txt \(14 bytes, expected 13\)"):
        check()
    (folder / "x" / "gdsc_catalog.txt").write_bytes(b"gdsc_catalog?")  # same size, other bytes
    with pytest.raises(ValueError, match=r"SHA-256 pinned in m.yaml: x/gdsc_catalog.txt.*data.verify_local: false"):
        check()
    check(data={**data, "verify_local": False})
    (folder / "x" / "gdsc_catalog.txt").unlink()
    with pytest.raises(ValueError, match=r"data.local_dir = .* lacks 1 needed file\(s\): x/gdsc_catalog.txt"):
        check()
    with pytest.raises(ValueError, match=r"data.mirror = .* lacks 1 needed file\(s\)"):
        check(local=None, mirror=str(folder))
