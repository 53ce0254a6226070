"""The real Snakemake workflow's data stage, run on the full real data through an http mirror.

The main test runs ``snakemake data --configfile config/test.yaml`` in a temp folder, with
the full sources in place of the embedded test data (:func:`full_sources`: the public
manifest, ``data.mirror`` pointing at an ``http.server`` on 127.0.0.1 that serves the real
data folder, tumours subsampled to 60 per cohort, the paper's 400-tumour threshold), so the
download rules fetch and checksum every file; it then checks the content of the outputs
against numbers computed here independently of the library.
"""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from pssnmf.channels import SBS96

# openpyxl warns about an Excel extension of the supplementary tables; harmless.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Unknown extension:UserWarning")]


def full_sources(mirror: str) -> list[str]:
    """``--config`` values that point config/test.yaml at the full sources served from ``mirror``."""
    return [
        f"data={{manifest: resources/sources.yaml, mirror: '{mirror}', subsample_tumours: 60}}",
        "tasks={cancer_type: {min_tumours: 400}}",
    ]


def snakemake(project_root: Path, workdir: Path, *args: str, config: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(workdir),
        *args,
    ]
    if config:
        command += ["--config", *config]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory, project_root, data_mirror_url):
    workdir = tmp_path_factory.mktemp("workflow")
    run = snakemake(
        project_root, workdir, "--cores", "2", "data", "--configfile", str(project_root / "config" / "test.yaml"),
        config=full_sources(data_mirror_url),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return workdir


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _catalog_columns(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    with open(path) as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    return rows[0], [r[0] for r in rows[1:]], [r[1:] for r in rows[1:]]


def test_downloads_went_through_the_mirror_with_checksums(built, data_dir, data_mirror_url):
    sums = dict(reversed(line.split()) for line in (data_dir / "SHA256SUMS").read_text().splitlines())
    downloads = built / "results" / "downloads"
    fetched = [p for p in downloads.rglob("*") if p.is_file() and "first_seen" not in p.parts]
    assert fetched, "no file was downloaded"
    for path in fetched:
        name = path.relative_to(downloads).as_posix()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[name], name
        log = (built / "results" / "logs" / "fetch" / f"{name}.log").read_text()
        assert f"from {data_mirror_url}/" in log and "SHA-256" in log


@pytest.mark.parametrize("task", ["ddrd", "cancer_type"])
def test_task_tables_follow_the_contract(built, task):
    header, channels, values = _catalog_columns(built / "results" / "data" / task / "catalog.tsv")
    samples = _read_tsv(built / "results" / "data" / task / "samples.tsv")
    assert header[0] == "MutationType" and channels == list(SBS96)
    assert header[1:] == [row["sample"] for row in samples]
    assert len(set(header[1:])) == len(header) - 1
    assert all(re.fullmatch(r"\d+", v) for row in values for v in row)
    totals = [sum(int(row[j]) for row in values) for j in range(len(header) - 1)]
    assert totals == [int(row["mutations"]) for row in samples]
    expected = ["sample", "source", "label", "truth", "group", "cancer_type", "mutations"]
    if task == "ddrd":
        expected += ["MMR", "BER", "HR", "gene"]
    assert list(samples[0]) == expected
    for row in samples:
        assert row["source"] in ("cell_line", "tumour")
        if row["source"] == "tumour":
            assert row["label"] == ""
        else:
            assert row["label"] != "" and row["truth"] == row["label"]


def test_zou_labelled_subclones(built, data_dir):
    samples = _read_tsv(built / "results" / "data" / "ddrd" / "samples.tsv")
    cells = [r for r in samples if r["source"] == "cell_line"]
    assert Counter(r["label"] for r in cells) == {"MMR": 23, "BER": 8, "HR": 7, "Control": 8}
    groups = {r["sample"]: r["group"] for r in cells}
    assert groups["MSH6_3_s6"] == groups["MSH6_3_s8"] == "MSH6_3"
    assert len(_read_tsv(built / "results" / "data" / "zou2021" / "samples.tsv")) == 173
    # Counts are the published ones: compare one column with TableS3 read here directly.
    sheet = openpyxl.load_workbook(data_dir / "zou2021" / "Supplementary_tables.xlsx", read_only=True)["TableS3"]
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("MSH6_3_s6")
    published = {r[0]: int(r[column]) for r in rows[1:]}
    header, channels, values = _catalog_columns(built / "results" / "data" / "ddrd" / "catalog.tsv")
    j = header.index("MSH6_3_s6") - 1
    assert {c: int(v[j]) for c, v in zip(channels, values, strict=True)} == published


def _manifest_cohorts(data_dir: Path) -> tuple[int, int, dict[str, int]]:
    text = (data_dir / "MANIFEST.md").read_text()
    line = next(li for li in text.splitlines() if li.startswith("| `tcga_mc3/samples.tsv`"))
    cohorts = int(re.search(r"(\d+) cohorts", line)[1])
    total = int(re.search(r"\| ([\d,]+) rows \|", line)[1].replace(",", ""))
    named = {code: int(n) for code, n in re.findall(r"\b([A-Z]{3,4}) (\d+)\b", line)}
    return cohorts, total, named


def test_tcga_cohorts_as_in_manifest(built, data_dir):
    cohorts, total, named = _manifest_cohorts(data_dir)
    assert len(named) >= 4
    tcga = Counter(r["cancer_type"] for r in _read_tsv(built / "results" / "data" / "tcga" / "samples.tsv"))
    source = Counter(r["cancer_type"] for r in _read_tsv(data_dir / "tcga_mc3" / "samples.tsv"))
    assert len(tcga) == cohorts and sum(tcga.values()) == total
    assert tcga == source
    for code, n in named.items():
        assert tcga[code] == n, code


def _unique_homozygous_from_xlsx(data_dir: Path, catalog_samples: set[str]) -> Counter:
    """Independent of pssnmf.data.tcga: openpyxl, the header found by name, aliquot -> 15 chars."""
    sheet = openpyxl.load_workbook(data_dir / "volkova2020" / "Supplementary_Table_4.xlsx", read_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    for header in rows:
        if header and "Sample" in header:
            break
    col = {name: i for i, name in enumerate(header)}
    hom: dict[str, set[str]] = {}
    for row in rows:
        sample, pathway, mode = row[col["Sample"]], row[col["Pathway"]], row[col["Mode"]]
        if sample and sample[:15] in catalog_samples and pathway in ("MMR", "BER", "HR") and mode == "Total deactivation":
            hom.setdefault(sample[:15], set()).add(pathway)
    return Counter(next(iter(p)) for p in hom.values() if len(p) == 1)


def test_uniquely_homozygous_tumours(built, data_dir):
    catalog_samples = {r["sample"] for r in _read_tsv(data_dir / "tcga_mc3" / "samples.tsv")}
    expected = _unique_homozygous_from_xlsx(data_dir, catalog_samples)
    status = _read_tsv(built / "results" / "data" / "tcga" / "ddr_status.tsv")
    assert Counter(r["unique_hom"] for r in status if r["unique_hom"]) == expected
    # The subsampled DDRd task keeps every homozygous tumour.
    samples = _read_tsv(built / "results" / "data" / "ddrd" / "samples.tsv")
    tumours = [r for r in samples if r["source"] == "tumour"]
    assert Counter(r["truth"] for r in tumours if r["truth"]) == expected
    for r in tumours:
        homs = [p for p in ("MMR", "BER", "HR") if r[p] == "hom"]
        assert r["truth"] == (homs[0] if len(homs) == 1 else "")
    # full_sources() caps the other tumours at 60 per cohort.
    others = Counter(r["cancer_type"] for r in tumours if "hom" not in (r["MMR"], r["BER"], r["HR"]))
    assert max(others.values()) == 60
    print("uniquely homozygous TCGA tumours:", dict(expected), "(paper: 105 MMR, 36 BER, 96 HR over 30 cohorts)")


def test_cancer_type_selection_and_task(built):
    out = built / "results" / "data" / "cancer_type"
    selection = _read_tsv(out / "selection.tsv")
    used = [r["cancer_type"] for r in selection if r["used"] == "True"]
    types = (out / "types.txt").read_text().split()
    assert sorted(used) == sorted(types) and len(types) == 4
    for r in selection:
        if r["candidate"] == "True":
            assert int(r["cell_lines"]) >= 15 and int(r["tumours"]) >= 400
    assert len({r["cluster"] for r in selection if r["cancer_type"] in types}) == 4
    samples = _read_tsv(out / "samples.tsv")
    cells = Counter(r["label"] for r in samples if r["source"] == "cell_line")
    tumours = Counter(r["truth"] for r in samples if r["source"] == "tumour")
    assert set(cells) == set(types) == set(tumours)
    assert all(n <= 60 for n in tumours.values())  # full_sources(): subsample_tumours 60
    matrix = _read_tsv(out / "cosine_cross.tsv")
    assert len(matrix) == sum(r["candidate"] == "True" for r in selection)
    print("cancer types selected on the offline data:", types)


def test_cosmic_and_idempotence(built, project_root, data_mirror_url):
    header, channels, _ = _catalog_columns(built / "results" / "data" / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt")
    assert header[0] == "Type" and channels == list(SBS96) and len(header) == 87
    again = snakemake(
        project_root, built, "-n", "data", "--configfile", str(project_root / "config" / "test.yaml"),
        config=full_sources(data_mirror_url),
    )
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_corrupted_mirror_file_fails_naming_the_source_and_leaves_no_output(tmp_path, project_root, data_dir, serve_folder):
    mirror = tmp_path / "mirror"
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        name = line.split()[1]
        (mirror / name).parent.mkdir(parents=True, exist_ok=True)
        if name != "zou2021/Supplementary_tables.xlsx":
            (mirror / name).symlink_to(data_dir / name)
    data = bytearray((data_dir / "zou2021" / "Supplementary_tables.xlsx").read_bytes())
    data[1000] ^= 0xFF
    (mirror / "zou2021" / "Supplementary_tables.xlsx").write_bytes(bytes(data))
    workdir = tmp_path / "run"
    run = snakemake(
        project_root, workdir, "--cores", "1", "results/data/zou2021/catalog.tsv",
        "--configfile", str(project_root / "config" / "test.yaml"), config=full_sources(serve_folder(mirror)),
    )
    assert run.returncode != 0
    log = (workdir / "results" / "logs" / "fetch" / "zou2021" / "Supplementary_tables.xlsx.log").read_text()
    assert "source 'zou2021_tables'" in log and "SHA-256" in log
    leftovers = [p for p in (workdir / "results").rglob("*") if p.is_file() and "logs" not in p.relative_to(workdir / "results").parts[:1]] \
        if (workdir / "results").exists() else []
    assert leftovers == []


def test_full_scale_dry_run_lists_downloads_and_conversions(tmp_path, project_root):
    run = snakemake(project_root, tmp_path, "-n", "--configfile", str(project_root / "config" / "config.yaml"))
    assert run.returncode == 0, run.stderr[-3000:]
    text = run.stdout + run.stderr
    for rule in ("fetch", "unpack_reference", "tcga_catalog_from_maf", "ccle_catalog", "select_cancer_types"):
        assert re.search(rf"^{rule}\s+\d+", text, re.M), rule
    for path in (
        "tcga_mc3/mc3.v0.2.8.PUBLIC.maf.gz",
        "tcga_mc3/TCGA-CDR-SupplementalTableS1.xlsx",
        "ccle/CCLE_mutations.csv",
        "ccle/sample_info.csv",
        "reference/Homo_sapiens.GRCh37.dna.primary_assembly.fa.gz",
        "volkova2020/Supplementary_Table_4.xlsx",
    ):
        assert f"results/downloads/{path}" in text, path


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("data: {cosmic_version: v9}", "cosmic_version", "is not one of"),
        ("tasks: {cancer_type: {min_tumours: 0}}", "min_tumours", "less than the minimum of 1"),
        ("data: {tcga_route: published}", "tcga_route", "is not one of"),
        ("data: {subsample_tumours: many}", "subsample_tumours", "is not of type"),
        ("data: {no_such_key: 1}", "no_such_key", "Additional properties are not allowed"),
    ],
)
def test_bad_config_value_stops_before_any_job(tmp_path, project_root, override, key, expected):
    # An overlay config file; tests/test_config.py has the --config forms.
    bad = tmp_path / "bad.yaml"
    bad.write_text(override + "\n")
    workdir = tmp_path / "run"
    run = snakemake(
        project_root, workdir, "--cores", "1", "data",
        "--configfile", str(project_root / "config" / "test.yaml"), str(bad),
    )
    assert run.returncode != 0
    text = run.stdout + run.stderr
    assert key in text and expected in text and "ValidationError" in text, text
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def test_local_dir_missing_files_named_before_any_job(tmp_path, project_root):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = snakemake(
        project_root, tmp_path / "run", "-n", "data", "--configfile", str(project_root / "config" / "offline.yaml"),
        config=[f"data={{local_dir: '{empty}'}}"],
    )
    assert run.returncode != 0
    text = run.stdout + run.stderr
    assert "data.local_dir" in text and "zou2021/Supplementary_tables.xlsx" in text, text


@pytest.mark.parametrize("configfile", ["config.yaml", "offline.yaml", "test.yaml"])
def test_lint_is_clean(tmp_path, project_root, configfile, request):
    if configfile == "offline.yaml":
        request.getfixturevalue("data_dir")  # it reads ../shared/data at start: skip without it
    # Each config defines other conditional rules (tcga_route, cell_lines): lint them all.
    run = snakemake(project_root, tmp_path, "--lint", "--configfile", str(project_root / "config" / configfile))
    assert run.returncode == 0 and "Congratulations" in run.stdout + run.stderr, run.stdout + run.stderr


def test_snakefmt_is_clean(project_root):
    run = subprocess.run(
        ["snakefmt", "--check", "Snakefile", "workflow"], cwd=project_root, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_unreachable_mirror_stops_before_any_job(tmp_path, project_root, serve_folder):
    # A live server holding nothing: every download answers 404, named at once, no job started.
    empty = tmp_path / "empty"
    empty.mkdir()
    workdir = tmp_path / "run"
    run = snakemake(
        project_root, workdir, "--cores", "1", "data", "--configfile", str(project_root / "config" / "test.yaml"),
        config=full_sources(serve_folder(empty)),
    )
    assert run.returncode != 0
    text = run.stdout + run.stderr
    assert "7 source(s) cannot be fetched from data.mirror" in text and "No job was started" in text, text
    assert "zou2021/Supplementary_tables.xlsx" in text and "HTTP 404" in text
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def _local_copy_with(tmp_path, data_dir, name: str, edit) -> Path:
    """A local data folder: symlinks to the real files, except ``name``, edited."""
    folder = tmp_path / "local"
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        other = line.split()[1]
        (folder / other).parent.mkdir(parents=True, exist_ok=True)
        if other != name:
            (folder / other).symlink_to(data_dir / other)
    (folder / name).write_text(edit((data_dir / name).read_text()))
    return folder


def test_bad_catalog_in_local_folder_fails_naming_place_and_leaves_no_output(tmp_path, project_root, data_dir):
    name = "tcga_mc3/TCGA_MC3_SBS96_counts.tsv"

    def corrupt(text: str) -> str:
        lines = text.split("\n")
        fields = lines[5].split("\t")
        fields[3] = "x" * len(fields[3])  # same size: passes the start-up size check
        lines[5] = "\t".join(fields)
        return "\n".join(lines)

    folder = _local_copy_with(tmp_path, data_dir, name, corrupt)
    workdir = tmp_path / "run"
    # Without the start-up checksum, the catalog reader itself must name the place.
    run = snakemake(
        project_root, workdir, "--cores", "1", "results/data/tcga/catalog.tsv",
        "--configfile", str(project_root / "config" / "offline.yaml"),
        config=[f"data={{local_dir: '{folder}', verify_local: false}}"],
    )
    assert run.returncode != 0
    log = (workdir / "results" / "logs" / "data" / "tcga_catalog.log").read_text()
    lines = (data_dir / name).read_text().split("\n")
    sample, channel = lines[0].split("\t")[3], lines[5].split("\t")[0]
    assert f"TCGA_MC3_SBS96_counts.tsv: sample '{sample}' (column 4), channel '{channel}' (line 6): not a number" in log
    assert not (workdir / "results" / "data" / "tcga").exists() or not any((workdir / "results" / "data" / "tcga").iterdir())


def test_local_folder_file_of_wrong_size_is_named_at_start(tmp_path, project_root, data_dir):
    folder = _local_copy_with(tmp_path, data_dir, "tcga_mc3/samples.tsv", lambda text: text + "TCGA-XX-0000-01\tBLCA\n")
    run = snakemake(
        project_root, tmp_path / "run", "-n", "data", "--configfile", str(project_root / "config" / "offline.yaml"),
        config=[f"data={{local_dir: '{folder}'}}"],
    )
    assert run.returncode != 0
    real = (data_dir / "tcga_mc3" / "samples.tsv").stat().st_size
    edited = (folder / "tcga_mc3" / "samples.tsv").stat().st_size
    assert f"tcga_mc3/samples.tsv ({edited} bytes, expected {real})" in run.stdout + run.stderr, run.stdout


def test_local_folder_file_edited_at_the_same_size_is_named_at_start(tmp_path, project_root, data_dir):
    name = "tcga_mc3/TCGA_MC3_SBS96_counts.tsv"
    # One count's digits swapped: same size, still a valid catalog, different numbers.
    folder = _local_copy_with(tmp_path, data_dir, name, lambda text: re.sub(r"\t(\d)(\d)\t", r"\t\2\1\t", text, count=1))
    assert (folder / name).stat().st_size == (data_dir / name).stat().st_size
    assert (folder / name).read_bytes() != (data_dir / name).read_bytes()
    offline = ["--configfile", str(project_root / "config" / "offline.yaml")]
    run = snakemake(project_root, tmp_path / "run", "-n", "data", *offline, config=[f"data={{local_dir: '{folder}'}}"])
    assert run.returncode != 0
    text = run.stdout + run.stderr
    expected = hashlib.sha256((data_dir / name).read_bytes()).hexdigest()
    assert f"{name} (SHA-256 " in text and f"expected {expected})" in text and "data.verify_local: false" in text, text
    assert not (tmp_path / "run" / "results").exists() and not (tmp_path / "run" / "logs").exists()
    # data.verify_local: false checks sizes only; the real folder passes the checksums.
    unchecked = snakemake(
        project_root, tmp_path / "run", "-n", "data", *offline,
        config=[f"data={{local_dir: '{folder}', verify_local: false}}"],
    )
    assert unchecked.returncode == 0, unchecked.stdout + unchecked.stderr
    real = snakemake(project_root, tmp_path / "real", "-n", "data", *offline, config=[f"data={{local_dir: '{data_dir}'}}"])
    assert real.returncode == 0, real.stdout + real.stderr
