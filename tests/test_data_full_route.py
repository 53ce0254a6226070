"""The full-scale routes (MC3 MAF, CCLE + GRCh37) through the real workflow, on small fixtures.

The real MC3 MAF, DepMap files and genome cannot be downloaded here, so this test
builds files in their formats (a gzip FASTA, an MC3-style MAF with a CONTEXT column
and real TCGA barcodes from the Volkova table, a TCGA-CDR-style clinical table, a
DepMap-style CCLE_mutations.csv and sample_info.csv), serves them with the real
Zou/Volkova/COSMIC files from an http.server on 127.0.0.1, and runs
``snakemake data`` with config/config.yaml (tcga_route maf, cell_lines ccle): the
fetch, unpack_reference, tcga_catalog_from_maf and ccle_catalog rules all run.
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from collections import Counter

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pssnmf.data.maf import sbs96_channel

# openpyxl warns about an Excel extension of the supplementary tables; harmless.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Unknown extension:UserWarning")]

TYPES = {"BLCA": ("bladder", "bladder_carcinoma"), "LUAD": ("lung", "NSCLC_adenocarcinoma"),
         "SKCM": ("skin", "melanoma"), "UCEC": ("uterus", "endometrial_adenocarcinoma")}


def _volkova_barcodes(path, per_type=3):
    """Real aliquot barcodes of primary tumours ('01') of the four types, homozygous ones first."""
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    next(rows)
    header = next(rows)
    col = {name: i for i, name in enumerate(header)}
    chosen: dict[str, list[str]] = {t: [] for t in TYPES}
    records = sorted(
        (r for r in rows if r[col["Sample"]] and r[col["Cancer"]] in TYPES and r[col["Sample"]][13:15] == "01"),
        key=lambda r: r[col["Mode"]] != "Total deactivation",
    )
    for r in records:
        bucket = chosen[r[col["Cancer"]]]
        if len(bucket) < per_type and r[col["Sample"]][:15] not in {b[:15] for b in bucket}:
            bucket.append(r[col["Sample"]])
    return chosen


@pytest.fixture(scope="module")
def fixture_mirror(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("mirror")
    rng = np.random.default_rng(3)
    genome = "".join(rng.choice(list("ACGT"), size=3000))
    (root / "reference").mkdir()
    with gzip.open(root / "reference" / "Homo_sapiens.GRCh37.dna.primary_assembly.fa.gz", "wt") as handle:
        handle.write(">1 dna:chromosome\n" + "\n".join(genome[i : i + 60] for i in range(0, len(genome), 60)) + "\n")

    def mutation(used: set[int]):
        # A distinct position per sample: the converter counts a repeated variant once.
        pos = int(rng.integers(6, len(genome) - 6))  # 1-based position
        while pos in used:
            pos = int(rng.integers(6, len(genome) - 6))
        used.add(pos)
        ref = genome[pos - 1]
        alt = rng.choice([b for b in "ACGT" if b != ref])
        return pos, ref, alt

    expected: dict[str, Counter] = {}
    barcodes = _volkova_barcodes(data_dir / "volkova2020" / "Supplementary_Table_4.xlsx")
    (root / "tcga_mc3").mkdir()
    lines = ["#version 2.4", "Hugo_Symbol\tChromosome\tStart_Position\tVariant_Type\tReference_Allele\t"
             "Tumor_Seq_Allele1\tTumor_Seq_Allele2\tTumor_Sample_Barcode\tCONTEXT"]
    clinical = []
    for cancer, aliquots in barcodes.items():
        for aliquot in aliquots:
            clinical.append({"bcr_patient_barcode": aliquot[:12], "type": cancer})
            counts = expected.setdefault(aliquot[:15], Counter())
            used: set[int] = set()
            for _ in range(30):
                pos, ref, alt = mutation(used)
                context = genome[pos - 6 : pos + 5]
                lines.append(f"G\t1\t{pos}\tSNP\t{ref}\t{ref}\t{alt}\t{aliquot}\t{context}")
                counts[sbs96_channel(genome[pos - 2], ref, alt, genome[pos])] += 1
            lines.append(f"G\t1\t100\tDEL\tA\tA\t-\t{aliquot}\t{genome[94:105]}")  # not an SBS
    normal = barcodes["BLCA"][0][:13] + "11A-01D-0000-08"  # a normal sample: not a '01' tumour
    lines.append(f"G\t1\t200\tSNP\t{genome[199]}\t{genome[199]}\t{'A' if genome[199] != 'A' else 'C'}\t{normal}\t{genome[194:205]}")
    with gzip.open(root / "tcga_mc3" / "mc3.v0.2.8.PUBLIC.maf.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    pd.DataFrame(clinical).to_excel(root / "tcga_mc3" / "TCGA-CDR-SupplementalTableS1.xlsx", index=False)

    (root / "ccle").mkdir()
    info, ccle_lines = [], ["Hugo_Symbol,Chromosome,Start_position,Variant_Type,Reference_Allele,Tumor_Seq_Allele1,DepMap_ID"]
    for k, (cancer, (lineage, subtype)) in enumerate(sorted(TYPES.items())):
        for j in range(2):
            depmap = f"ACH-{k:03d}{j}"
            info.append({"DepMap_ID": depmap, "CCLE_Name": f"LINE{k}{j}_X", "lineage": lineage, "lineage_subtype": subtype})
            counts = expected.setdefault(depmap, Counter())
            used = set()
            for _ in range(25):
                pos, ref, alt = mutation(used)
                ccle_lines.append(f"G,1,{pos},SNP,{ref},{alt},{depmap}")
                counts[sbs96_channel(genome[pos - 2], ref, alt, genome[pos])] += 1
    info.append({"DepMap_ID": "ACH-9999", "CCLE_Name": "BONE_X", "lineage": "bone", "lineage_subtype": "osteosarcoma"})
    ccle_lines.append(f"G,1,50,SNP,{genome[49]},{'A' if genome[49] != 'A' else 'C'},ACH-9999")
    (root / "ccle" / "CCLE_mutations.csv").write_text("\n".join(ccle_lines) + "\n")
    pd.DataFrame(info).to_csv(root / "ccle" / "sample_info.csv", index=False)

    for name in ("zou2021/Supplementary_tables.xlsx", "volkova2020/Supplementary_Table_4.xlsx",
                 "cosmic/COSMIC_v3.4_SBS_GRCh37.txt", "cosmic/COSMIC_v3.4_SBS_GRCh37_exome.txt"):
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).symlink_to(data_dir / name)
    return root, expected, barcodes


def test_maf_and_ccle_routes_through_the_workflow(tmp_path, project_root, fixture_mirror, serve_folder):
    root, expected, barcodes = fixture_mirror
    small = tmp_path / "small.yaml"
    small.write_text("tasks:\n  cancer_type:\n    min_cell_lines: 1\n    min_tumours: 1\n    n_clusters: 2\n")
    workdir = tmp_path / "run"
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(workdir),
         "--cores", "2", "data", "--configfile", str(project_root / "config" / "config.yaml"), str(small),
         "--config", f"data={{mirror: '{serve_folder(root)}'}}"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = workdir / "results"
    for rule in ("unpack_reference", "tcga_catalog_from_maf", "ccle_catalog"):
        assert f"rule {rule}" in run.stdout + run.stderr
    # Unpinned sources: the first download's checksum is recorded beside the results.
    assert (results / "downloads" / "first_seen" / "mc3_maf.sha256").is_file()
    assert (results / "downloads" / "first_seen" / "grch37_fasta.sha256").is_file()

    def catalog(path):
        table = pd.read_csv(path, sep="\t", index_col=0)
        return {s: Counter({c: int(v) for c, v in table[s].items() if v}) for s in table.columns}

    tcga = catalog(results / "data" / "tcga" / "catalog.tsv")
    tumours = {a[:15] for aliquots in barcodes.values() for a in aliquots}
    assert set(tcga) == tumours  # the normal sample is left out
    for sample in tumours:
        assert tcga[sample] == expected[sample], sample
    with open(results / "data" / "tcga" / "samples.tsv") as handle:
        types = {r["sample"]: r["cancer_type"] for r in csv.DictReader(handle, delimiter="\t")}
    assert types == {a[:15]: cancer for cancer, aliquots in barcodes.items() for a in aliquots}

    cells = catalog(results / "data" / "cell_lines" / "catalog.tsv")
    assert sorted(cells) == sorted(s for s in expected if s.startswith("ACH-")) and "ACH-9999" not in cells
    for sample, counts in cells.items():
        assert counts == expected[sample], sample

    with open(results / "data" / "ddrd" / "samples.tsv") as handle:
        ddrd = list(csv.DictReader(handle, delimiter="\t"))
    assert Counter(r["label"] for r in ddrd if r["source"] == "cell_line") == {"MMR": 23, "BER": 8, "HR": 7, "Control": 8}
    assert {r["sample"] for r in ddrd if r["source"] == "tumour"} == tumours
    assert any(r["truth"] for r in ddrd if r["source"] == "tumour")  # homozygous tumours were chosen first
