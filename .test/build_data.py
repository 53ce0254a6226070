"""Rebuild the embedded test data (.test/data) from the full public sources.

    python .test/build_data.py --source ../shared/data [--out .test/data]

``--source`` is a folder laid out as resources/sources.yaml's ``mirror_path`` (as
``../shared/data``, or a ``results/downloads`` folder of a real run).  Every source
file read is checked against its SHA-256 in resources/sources.yaml first, so the
subset is derived from exactly the published bytes.  The output is the same bytes on
every run (fixed zip timestamps in the .xlsx files), and ``.test/data/sources.yaml``
(the manifest the test config reads) gets each output file's size and SHA-256.

What is kept (.test/README.md says why):

* Zou 2021: sheets TableS2 and TableS3 only (all 173 subclones); the other 12 sheets
  are not read by the workflow.
* TCGA MC3 catalog: per cohort ``--per-cohort`` tumours drawn with ``--seed``, plus
  every tumour homozygous in MMR, BER or HR by the Volkova table (the DDRd task's
  labelled test tumours); columns in the source order.
* Volkova 2020, sheet 1: the rows of the kept tumours, plus the rows of
  ``--unmatched`` samples that match no catalog tumour (so the workflow's unmatched
  table is exercised); its title row stays, the header is on the 2nd row as in the source.
* GDSC cell lines: the lines of the cancer types the TCGA catalog has.
* COSMIC v3.4 genome and exome signatures: the 22 columns of ``COSMIC_KEPT``, values unchanged.
"""

from __future__ import annotations

import argparse
import datetime
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT / "src"))

from pssnmf.data.sources import load_manifest, sha256_of  # noqa: E402
from pssnmf.data.tcga import ddr_status, read_published_catalog, read_volkova, sample_barcode  # noqa: E402
from pssnmf.plots.similarity import DDR_ETIOLOGIES  # noqa: E402

# The sources the test config reads, in the order the manifest lists them.
SOURCE_IDS = (
    "zou2021_tables",
    "volkova2020_table4",
    "gdsc_catalog",
    "tcga_mc3_catalog",
    "tcga_mc3_samples",
    "cosmic_v3.4_SBS_GRCh37",
    "cosmic_v3.4_SBS_GRCh37_exome",
)
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
# COSMIC signatures kept: the DNA-repair ones the figures name (DDR_ETIOLOGIES), and the
# clock-like, APOBEC, tobacco, UV, POLE and unknown-aetiology ones common in TCGA exomes.
COSMIC_KEPT = tuple(sorted(
    {name for names in DDR_ETIOLOGIES.values() for name in names}
    | {"SBS1", "SBS2", "SBS4", "SBS5", "SBS7a", "SBS7b", "SBS10a", "SBS10b", "SBS13", "SBS17b", "SBS40a"},
    key=lambda name: (int(re.match(r"SBS(\d+)", name)[1]), name),
))


def _verified(sources, source_dir: Path) -> dict[str, Path]:
    paths = {}
    for source_id in SOURCE_IDS:
        source = sources[source_id]
        path = source_dir / source.mirror_path
        if not path.is_file():
            raise SystemExit(f"{path}: missing; --source must be laid out as resources/sources.yaml's mirror_path")
        if source.sha256 and sha256_of(path) != source.sha256:
            raise SystemExit(f"{path}: SHA-256 differs from resources/sources.yaml ({source.sha256})")
        paths[source_id] = path
    return paths


def _save_workbook(sheets: dict[str, list[tuple]], out: Path) -> None:
    """Write ``{sheet: rows}`` as .xlsx with fixed timestamps, so a rebuild gives the same bytes."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    workbook.properties.created = datetime.datetime(2000, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as raw, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as clean:
        for info in raw.infolist():
            data = raw.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", data)
            entry = zipfile.ZipInfo(info.filename, date_time=_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            clean.writestr(entry, data)


def _sheet_rows(path: Path, sheet) -> list[tuple]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        worksheet = workbook[sheet] if isinstance(sheet, str) else workbook.worksheets[sheet]
        return [tuple(row) for row in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _kept_tumours(paths, per_cohort: int, seed: int) -> tuple[list[str], set[str]]:
    """Catalog sample IDs to keep (source order) and the Volkova samples that match none."""
    counts, samples = read_published_catalog(paths["tcga_mc3_catalog"], paths["tcga_mc3_samples"])
    volkova = read_volkova(paths["volkova2020_table4"])
    status, unmatched = ddr_status(volkova, samples)
    homozygous = (status[["MMR", "BER", "HR"]] == "hom").any(axis=1).to_numpy()
    keep = homozygous.copy()
    rng = np.random.default_rng(seed)
    for cohort in sorted(samples["cancer_type"].unique()):
        pool = np.flatnonzero((samples["cancer_type"] == cohort).to_numpy() & ~homozygous)
        keep[rng.choice(pool, size=min(per_cohort, len(pool)), replace=False)] = True
    return samples.loc[keep, "sample"].tolist(), set(unmatched["sample"])


def build(source_dir: Path, out: Path, per_cohort: int, seed: int, n_unmatched: int) -> None:
    sources = load_manifest(PROJECT / "resources" / "sources.yaml")
    paths = _verified(sources, source_dir)
    kept, unmatched = _kept_tumours(paths, per_cohort, seed)
    kept_set = set(kept)
    for source_id in SOURCE_IDS:
        (out / sources[source_id].mirror_path).parent.mkdir(parents=True, exist_ok=True)

    zou = paths["zou2021_tables"]
    _save_workbook({name: _sheet_rows(zou, name) for name in ("TableS2", "TableS3")},
                   out / sources["zou2021_tables"].mirror_path)

    volkova_rows = _sheet_rows(paths["volkova2020_table4"], 0)
    title, header, body = volkova_rows[0], volkova_rows[1], volkova_rows[2:]
    sample_column = header.index("Sample")
    chosen_unmatched = set(sorted(unmatched)[:n_unmatched])

    def keep_row(row) -> bool:
        barcode = row[sample_column]
        return barcode is not None and sample_barcode(str(barcode)) in kept_set | chosen_unmatched

    _save_workbook({"DNA repair across TCGA": [title, header, *filter(keep_row, body)]},
                   out / sources["volkova2020_table4"].mirror_path)

    catalog_lines = paths["tcga_mc3_catalog"].read_text().splitlines()
    columns = catalog_lines[0].split("\t")
    indices = [0] + [i for i, name in enumerate(columns) if name in kept_set]
    (out / sources["tcga_mc3_catalog"].mirror_path).write_text(
        "".join("\t".join(line.split("\t")[i] for i in indices) + "\n" for line in catalog_lines)
    )
    sample_lines = paths["tcga_mc3_samples"].read_text().splitlines()
    kept_lines = [line for line in sample_lines[1:] if line.split("\t")[0] in kept_set]
    (out / sources["tcga_mc3_samples"].mirror_path).write_text("\n".join([sample_lines[0], *kept_lines]) + "\n")
    cohorts = {line.split("\t")[1] for line in kept_lines}

    gdsc_lines = paths["gdsc_catalog"].read_text().splitlines(keepends=True)
    (out / sources["gdsc_catalog"].mirror_path).write_text(
        gdsc_lines[0] + "".join(line for line in gdsc_lines[1:] if line.split(",")[1] in cohorts)
    )
    for source_id in ("cosmic_v3.4_SBS_GRCh37", "cosmic_v3.4_SBS_GRCh37_exome"):
        lines = paths[source_id].read_text().splitlines()
        header = lines[0].split("\t")
        missing = sorted(set(COSMIC_KEPT) - set(header))
        if missing:
            raise SystemExit(f"{paths[source_id]}: no signature(s) {missing}")
        columns = [0] + [header.index(name) for name in COSMIC_KEPT]
        (out / sources[source_id].mirror_path).write_text(
            "".join("\t".join(line.split("\t")[i] for i in columns) + "\n" for line in lines)
        )

    _write_manifest(sources, out, per_cohort, seed, n_unmatched)
    total = sum((out / sources[s].mirror_path).stat().st_size for s in SOURCE_IDS)
    print(f"{out}: {len(kept)} tumours ({len(cohorts)} cohorts), {total} bytes")


def _write_manifest(sources, out: Path, per_cohort: int, seed: int, n_unmatched: int) -> None:
    entries = []
    for source_id in SOURCE_IDS:
        source = sources[source_id]
        path = out / source.mirror_path
        entries.append({
            "id": source.id,
            "url": None,
            "mirror_path": source.mirror_path,
            "sha256": sha256_of(path),
            "size": path.stat().st_size,
            "licence": source.licence,
            "note": f"subset of {source.mirror_path} (SHA-256 {source.sha256}); .test/README.md",
        })
    header = (
        "# The embedded test data: a subset of the public sources, written by .test/build_data.py\n"
        f"# (--per-cohort {per_cohort} --seed {seed} --unmatched {n_unmatched}); do not edit by hand.\n"
        "# Same layout as resources/sources.yaml; config/test.yaml reads it (data.manifest).\n"
    )
    (out / "sources.yaml").write_text(header + yaml.safe_dump({"sources": entries}, sort_keys=False, width=200))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="folder with the full sources (../shared/data layout)")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument("--per-cohort", type=int, default=30, help="tumours drawn per TCGA cohort (default: 30)")
    parser.add_argument("--seed", type=int, default=2,
                        help="seed of the draw (default: 2; .test/README.md says why)")
    parser.add_argument("--unmatched", type=int, default=20,
                        help="Volkova samples without a catalog tumour to keep (default: 20)")
    args = parser.parse_args(argv)
    build(args.source, args.out, args.per_cohort, args.seed, args.unmatched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
