"""Zou subclones, TCGA DNA-repair status, the cancer-type selection and the task tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pssnmf.catalog import CatalogError
from pssnmf.channels import SBS96
from pssnmf.data.selection import SelectionError, select_cancer_types
from pssnmf.data.tasks import build_cancer_type, build_ddrd, read_samples_table, subsample_per_cohort
from pssnmf.data.tcga import ddr_status, read_published_catalog
from pssnmf.data.zou import read_zou

CLASSES = {
    "MMR": ["MSH6", "MSH2", "MLH1", "PMS2", "PMS1"],
    "BER": ["UNG", "OGG1"],
    "HR": ["EXO1", "RNF168"],
    "Control": ["ATP2B4"],
}


@pytest.fixture(scope="module")
def zou(public_data_dir):
    return read_zou(public_data_dir / "zou2021" / "Supplementary_tables.xlsx", CLASSES)


def test_zou_subclones_classes_and_parent_clones(zou):
    counts, samples = zou
    assert counts.shape == (173, 96)
    assert samples["sample"].tolist() == counts.index.tolist()
    labelled = samples[samples["pathway"] != ""]
    assert labelled["pathway"].value_counts().to_dict() == {"MMR": 23, "BER": 8, "HR": 7, "Control": 8}
    row = samples.set_index("sample").loc["MSH6_3_s6"]
    assert (row["zou_sample"], row["gene"], row["parent_clone"]) == ("MSK0.3_s6", "MSH6", "MSH6_3")
    # Every subclone's parent clone is its name without the subclone suffix.
    assert (samples["parent_clone"] + "_" + samples["sample"].str.split("_").str[-1] == samples["sample"]).all()
    assert (samples["mutations"] == counts.sum(axis=1).to_numpy()).all()


def test_zou_unknown_gene_in_config_is_an_error(public_data_dir):
    with pytest.raises(CatalogError, match=r"genes \['NOPE1'\] of the configured classes have no subclone"):
        read_zou(public_data_dir / "zou2021" / "Supplementary_tables.xlsx", {**CLASSES, "X": ["NOPE1"]})


def _volkova(rows):
    return pd.DataFrame(rows, columns=["Sample", "Pathway", "Mutated_genes", "Mode", "Cancer"])


def test_ddr_status_rules():
    samples = pd.DataFrame(
        {"sample": ["TCGA-AA-0001-01", "TCGA-AA-0002-01", "TCGA-AA-0003-01", "TCGA-AA-0004-01"], "cancer_type": "BLCA"}
    )
    volkova = _volkova(
        [
            # 0001: hom in MMR only (by Mode), het in HR -> unique MMR
            ["TCGA-AA-0001-01A-11D-A1", "MMR", "MLH1_hom", "Total deactivation", "BLCA"],
            ["TCGA-AA-0001-01A-11D-A1", "HR", "BRCA2_het", "Heterozygous", "BLCA"],
            # 0002: het in BER on aliquot A, hom (by the _hom gene token) on aliquot B; hom in HR -> not unique
            ["TCGA-AA-0002-01A-11D-A1", "BER", "UNG_het", "Heterozygous", "BLCA"],
            ["TCGA-AA-0002-01B-11D-A1", "BER", "MUTYH_hom,UNG_het", "Heterozygous", "BLCA"],
            ["TCGA-AA-0002-01A-11D-A1", "HR", "BRCA1_hom", "Total deactivation", "BLCA"],
            # 0003: only a pathway outside MMR/BER/HR -> wt in all three, but present in the table
            ["TCGA-AA-0003-01A-11D-A1", "NER", "ERCC2_hom", "Total deactivation", "BLCA"],
            # not in the catalog: counted as unmatched
            ["TCGA-ZZ-9999-01A-11D-A1", "MMR", "MSH2_hom", "Total deactivation", "UCEC"],
            ["TCGA-LUSC-4587-TP-11D-2122-08", "HR", "ATM_het", "Heterozygous", "LUSC"],
        ]
    )
    status, unmatched = ddr_status(volkova, samples)
    table = status.set_index("sample")
    assert table.loc["TCGA-AA-0001-01", ["MMR", "BER", "HR", "unique_hom"]].tolist() == ["hom", "wt", "het", "MMR"]
    assert table.loc["TCGA-AA-0002-01", ["MMR", "BER", "HR", "unique_hom"]].tolist() == ["wt", "hom", "hom", ""]
    assert table.loc["TCGA-AA-0003-01", ["MMR", "BER", "HR", "in_volkova"]].tolist() == ["wt", "wt", "wt", "yes"]
    # absent from the table: wild type, flagged
    assert table.loc["TCGA-AA-0004-01", ["MMR", "BER", "HR", "in_volkova"]].tolist() == ["wt", "wt", "wt", "no"]
    assert sorted(unmatched["barcode"]) == ["TCGA-LUSC-4587-TP-11D-2122-08", "TCGA-ZZ-9999-01A-11D-A1"]
    assert status["sample"].tolist() == samples["sample"].tolist()


def test_published_catalog_labels_naming_unknown_samples(tmp_path, public_data_dir):
    counts = pd.DataFrame(np.ones((2, 96), dtype=int), index=["TCGA-AA-0001-01", "TCGA-AA-0002-01"], columns=list(SBS96))
    catalog = tmp_path / "c.tsv"
    counts.T.rename_axis("MutationType").to_csv(catalog, sep="\t")
    labels = tmp_path / "samples.tsv"
    labels.write_text("sample\tcancer_type\nTCGA-AA-0001-01\tBLCA\n")
    with pytest.raises(CatalogError, match=r"samples\.tsv: 1 catalog sample\(s\) have no cancer type"):
        read_published_catalog(catalog, labels)
    labels.write_text("sample\tcancer_type\nTCGA-AA-0001-01\tBLCA\nTCGA-AA-0002-01\t\n")
    with pytest.raises(CatalogError, match=r"samples\.tsv: line 3: empty cancer_type"):
        read_published_catalog(catalog, labels)
    table = tmp_path / "task_samples.tsv"
    table.write_text("sample\tlabel\nTCGA-AA-0001-01\tMMR\nGHOST\tHR\n")
    with pytest.raises(CatalogError, match=r"task_samples\.tsv: line 3: sample 'GHOST' is not in the catalog"):
        read_samples_table(table, counts)


def _profiles(rng, base, n, total=200):
    return rng.multinomial(total, base, size=n)


def test_selection_picks_one_type_per_cluster_and_respects_thresholds():
    rng = np.random.default_rng(0)
    # Four well-separated "families" of profiles, two types each, plus one type too small.
    families = [rng.dirichlet(np.full(96, 0.3)) for _ in range(4)]
    types = {}
    for f, base in enumerate(families):
        for variant in range(2):
            near = 0.9 * base + 0.1 * rng.dirichlet(np.ones(96))
            types[f"T{f}{variant}"] = near
    types["SMALL"] = families[0]
    cell_rows, cell_types, tumour_rows, tumour_types = [], [], [], []
    for name, profile in types.items():
        n_cells = 5 if name == "SMALL" else 20
        cell_rows.append(_profiles(rng, profile, n_cells))
        cell_types += [name] * n_cells
        tumour_rows.append(_profiles(rng, profile, 50))
        tumour_types += [name] * 50
    cells = pd.DataFrame(np.vstack(cell_rows), columns=list(SBS96))
    tumours = pd.DataFrame(np.vstack(tumour_rows), columns=list(SBS96))
    result = select_cancer_types(
        cells, pd.Series(cell_types), tumours, pd.Series(tumour_types), min_cell_lines=15, min_tumours=40
    )
    table = result.table.set_index("cancer_type")
    assert not table.loc["SMALL", "candidate"] and not table.loc["SMALL", "passes_min_cell_lines"]
    # the two variants of each family share a cluster, and the pick has one per cluster
    for f in range(4):
        assert table.loc[f"T{f}0", "cluster"] == table.loc[f"T{f}1", "cluster"]
    assert sorted(table.loc[list(result.selected), "cluster"]) == [1, 2, 3, 4]
    assert result.tuples.loc[0, "types"] == ",".join(sorted(result.selected))
    assert result.tuples["score"].is_monotonic_decreasing and len(result.tuples) == 2**4
    # fixing the types overrides the pick but not the record of it
    fixed = select_cancer_types(
        cells, pd.Series(cell_types), tumours, pd.Series(tumour_types), min_cell_lines=15, min_tumours=40,
        fixed_types=["T00", "T10", "T20", "T30"],
    )
    assert fixed.used == ("T00", "T10", "T20", "T30") and fixed.selected == result.selected
    with pytest.raises(SelectionError, match=r"only 0 cancer type\(s\)"):
        select_cancer_types(cells, pd.Series(cell_types), tumours, pd.Series(tumour_types), min_tumours=1000)
    with pytest.raises(SelectionError, match=r"names \['NOPE'\]"):
        select_cancer_types(
            cells, pd.Series(cell_types), tumours, pd.Series(tumour_types), min_tumours=40, fixed_types=["NOPE", "T00"]
        )


def test_subsample_is_seeded_and_keeps_forced():
    samples = pd.DataFrame({"sample": [f"s{i}" for i in range(30)], "cancer_type": ["A"] * 20 + ["B"] * 10})
    forced = pd.Series([i in (0, 1, 2) for i in range(30)])
    a = subsample_per_cohort(samples, 5, 7, forced)
    b = subsample_per_cohort(samples, 5, 7, forced)
    assert a.equals(b)
    assert a[:3].all() and int(a[:20].sum()) == 8 and int(a[20:].sum()) == 5
    assert not subsample_per_cohort(samples, 5, 8, forced).equals(a)
    assert subsample_per_cohort(samples, None, 7).all()


def test_tasks_reject_an_empty_class(zou):
    counts, samples = zou
    tumour_counts = pd.DataFrame(np.ones((1, 96), dtype=int), index=["TCGA-AA-0001-01"], columns=list(SBS96))
    tumours = pd.DataFrame({"sample": ["TCGA-AA-0001-01"], "cancer_type": ["BLCA"], "mutations": [96]})
    status = pd.DataFrame({"sample": ["TCGA-AA-0001-01"], "MMR": ["wt"], "BER": ["wt"], "HR": ["wt"], "unique_hom": [""]})
    task_counts, task_samples = build_ddrd(counts, samples, tumour_counts, tumours, status, list(CLASSES))
    assert task_samples["label"].value_counts().to_dict() == {"MMR": 23, "BER": 8, "HR": 7, "Control": 8, "": 1}
    no_ber = samples.assign(pathway=samples["pathway"].replace("BER", ""))
    with pytest.raises(CatalogError, match=r"class\(es\) \['BER'\] have no labelled sample"):
        build_ddrd(counts, no_ber, tumour_counts, tumours, status, list(CLASSES))
    cells = pd.DataFrame({"sample": ["c1"], "cancer_type": ["BLCA"], "mutations": [96]})
    cell_counts = tumour_counts.rename(index={"TCGA-AA-0001-01": "c1"})
    with pytest.raises(CatalogError, match=r"class\(es\) \['LUAD'\] have no labelled sample"):
        build_cancer_type(cell_counts, cells, tumour_counts, tumours, ["BLCA", "LUAD"])
