"""Tables 2–4 builders, checked against counts made by hand from the real label file."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from pssnmf import tables
from pssnmf.data.atomic import write_table

PATHWAYS = ("MMR", "BER", "HR")

# openpyxl warns about an Excel extension of the Volkova workbook it does not read; harmless.
pytestmark = pytest.mark.filterwarnings("ignore:Unknown extension:UserWarning")


def _need(data_dir, relative: str):
    """The data file, or a skip that names it (a download cache may lack the derived files)."""
    path = data_dir / relative
    if not path.is_file():
        pytest.skip(f"{relative} not found under {data_dir}")
    return path


@pytest.fixture(scope="module")
def ddr_labels(data_dir) -> pd.DataFrame:
    """``sample, cancer_type, MMR, BER, HR`` (hom/het/wt) for every TCGA tumour of the catalog.

    Made here from Volkova's table, independently of the data layer: a pathway is ``hom`` when a
    row says ``Total deactivation`` or lists a ``GENE_hom``, ``het`` for any other row, ``wt``
    when the tumour has no row for it; aliquots are matched on their first 15 characters.
    """
    volkova = pd.read_excel(_need(data_dir, "volkova2020/Supplementary_Table_4.xlsx"),
                            sheet_name=0, header=1, dtype=str).dropna(subset=["Sample", "Pathway"])
    samples = pd.read_csv(_need(data_dir, "tcga_mc3/samples.tsv"), sep="\t")
    level = {}
    for barcode, pathway, genes, mode in zip(volkova["Sample"], volkova["Pathway"],
                                             volkova["Mutated_genes"].fillna(""), volkova["Mode"].fillna("")):
        if pathway not in PATHWAYS:
            continue
        hom = mode.strip() == "Total deactivation" or "_hom" in genes
        key = (barcode[:15], pathway)
        level[key] = max(level.get(key, 0), 2 if hom else 1)
    names = {0: "wt", 1: "het", 2: "hom"}
    labels = samples.copy()
    for pathway in PATHWAYS:
        labels[pathway] = [names[level.get((s, pathway), 0)] for s in samples["sample"]]
    return labels


def test_table2_counts_equal_a_hand_count_of_the_label_file(ddr_labels, data_dir):
    table = tables.table2_ddr_counts(ddr_labels)
    assert list(table.columns) == tables.TABLE2_COLUMNS
    body = table[table["cancer_type"] != "All"].set_index("cancer_type")
    # Every catalog tumour is counted once, in its cohort.
    cohorts = pd.read_csv(_need(data_dir, "tcga_mc3/samples.tsv"), sep="\t")["cancer_type"].value_counts()
    assert body["TOT samples"].to_dict() == cohorts.to_dict()
    # Hand count, tumour by tumour.
    hand = Counter()
    for _, row in ddr_labels.iterrows():
        hom = [p for p in ("HR", "MMR", "BER") if row[p] == "hom"]
        het = [p for p in ("HR", "MMR", "BER") if row[p] == "het"]
        if len(hom) == 1:
            column = f"{hom[0]} hom"
        elif hom:
            column = "multiple hom"
        elif het:
            column = " & ".join(het) + " het"
        else:
            column = "control"
        column = {"MMR & BER het": "BER & MMR het"}.get(column, column)
        hand[(row["cancer_type"], column)] += 1
    for cancer_type, row in body.iterrows():
        for column in tables.TABLE2_COLUMNS[1:-4]:
            assert row[column] == hand[(cancer_type, column)], (cancer_type, column)
        assert row["TOT control"] == hand[(cancer_type, "control")]
    het_columns = [c for c in tables.TABLE2_COLUMNS if c.endswith(" het") and c != "TOT het"]
    assert (body["TOT het"] == body[het_columns].sum(axis=1)).all()
    assert (body["TOT hom"] == body[["HR hom", "MMR hom", "BER hom", "multiple hom"]].sum(axis=1)).all()
    total = table[table["cancer_type"] == "All"].iloc[0]
    assert total["TOT samples"] == len(ddr_labels)
    # Uniquely homozygous tumours are those with one hom pathway.
    unique = (ddr_labels[list(PATHWAYS)] == "hom").sum(axis=1) == 1
    assert total[["HR hom", "MMR hom", "BER hom"]].sum() == unique.sum()


def test_table2_rejects_unknown_status_naming_row_and_column(ddr_labels):
    broken = ddr_labels.head(5).copy()
    broken.loc[broken.index[3], "BER"] = "Heterozygous"
    with pytest.raises(ValueError, match=r"row 3 .*column BER.*'Heterozygous'"):
        tables.table2_ddr_counts(broken)
    with pytest.raises(ValueError, match="missing column"):
        tables.table2_ddr_counts(ddr_labels.drop(columns="HR"))


def _pss_metrics() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for proportion in (0.33, 0.5):
        for model in ("SS-NMF", "PSS-NMF", "PSS-NMF-UR"):
            for k in (6, 7):
                for ct in ((np.nan,) if model == "SS-NMF" else (0.3, 0.4, 0.6)):
                    for fold in range(3):
                        n = 0 if np.isnan(ct) else int(rng.integers(0, 40) * (proportion > 0.4) + (ct < 0.5))
                        judged = int(round(n * 0.8))
                        rows.append({
                            "task": "cancer_type", "proportion": proportion, "model": model, "K": k,
                            "lambda_c": 0.5, "lambda_l2": 0.01, "confidence_threshold": ct, "fold": fold,
                            "tcga_mean_max_probability": 0.3 + 0.4 * rng.random(),
                            "n_pseudo_labels": n, "n_pseudo_labels_with_truth": judged,
                            "pseudo_label_precision": (
                                rng.integers(0, judged + 1) / judged if judged else np.nan
                            ),
                        })
    return pd.DataFrame(rows)


def test_table3_sums_pseudo_labels_per_ct_and_proportion():
    metrics = _pss_metrics()
    table = tables.table3_pseudo_label_activity(metrics)
    assert list(table.columns) == ["ct", "pseudo_labelled_33%", "pseudo_labelled_50%", "ratio_50%_over_33%"]
    for _, row in table.iterrows():
        for p, column in ((0.33, "pseudo_labelled_33%"), (0.5, "pseudo_labelled_50%")):
            part = metrics[(metrics["confidence_threshold"] == row["ct"]) & (metrics["proportion"] == p)]
            assert row[column] == part["n_pseudo_labels"].sum()
        low, high = row["pseudo_labelled_33%"], row["pseudo_labelled_50%"]
        if low:
            np.testing.assert_allclose(row["ratio_50%_over_33%"], high / low)
        else:
            assert np.isnan(row["ratio_50%_over_33%"])
    assert table["ratio_50%_over_33%"].isna().any()  # ct = 0.6 at 33 %: nothing pseudo-labelled


def test_table4_pools_precision_over_fits_and_filters_the_selected():
    metrics = _pss_metrics()
    selected = pd.DataFrame({"model": ["SS-NMF", "PSS-NMF", "PSS-NMF-UR"] * 2,
                             "proportion": [0.33] * 3 + [0.5] * 3,
                             "K": [6, 6, 7, 7, 7, 6], "lambda_c": 0.5, "lambda_l2": 0.01})
    table = tables.table4_prediction_probability(metrics, selected)
    assert len(table) == 2 * (1 + 3 + 3)
    assert (table["n_fits"] == 3).all()
    ss = table[table["model"] == "SS-NMF"]
    assert ss["pseudo_labelled_samples"].isna().all() and ss["pseudo_label_precision"].isna().all()
    for _, row in table[table["model"] != "SS-NMF"].iterrows():
        part = metrics[(metrics["model"] == row["model"]) & (metrics["proportion"] == row["proportion"])
                       & (metrics["K"] == row["K"]) & (metrics["confidence_threshold"] == row["ct"])]
        np.testing.assert_allclose(row["mean_tcga_probability"], part["tcga_mean_max_probability"].mean())
        assert row["pseudo_labelled_samples"] == part["n_pseudo_labels"].sum()
        correct = np.nansum(part["pseudo_label_precision"] * part["n_pseudo_labels_with_truth"])
        judged = part.loc[part["pseudo_label_precision"].notna(), "n_pseudo_labels_with_truth"].sum()
        if judged:
            np.testing.assert_allclose(row["pseudo_label_precision"], correct / judged)
        else:
            assert np.isnan(row["pseudo_label_precision"])
    with pytest.raises(ValueError, match="no fit matches"):
        tables.table4_prediction_probability(metrics, selected.assign(K=99))


def test_write_table_is_atomic_and_round_trips(tmp_path):
    table = tables.table3_pseudo_label_activity(_pss_metrics())
    path = write_table(table, tmp_path / "t" / "table3.tsv")
    assert [p.name for p in path.parent.iterdir()] == ["table3.tsv"]
    pd.testing.assert_frame_equal(pd.read_csv(path, sep="\t"), table, check_dtype=False)


# ---- the paper's numbers beside ours (comparison columns only) ----------------------------------

def test_packaged_paper_tables_are_self_consistent():
    """Transcription check: the paper's totals add up, and its Table 3 sums Table 4's PSS rows."""
    t2 = tables.paper_table(2)
    assert list(t2.columns) == [c for c in tables.TABLE2_COLUMNS if c != tables.MULTIPLE_HOM]
    het = [c for c in t2.columns if c.endswith(" het") and not c.startswith("TOT")]
    hom = [c for c in t2.columns if c.endswith(" hom") and not c.startswith("TOT")]
    assert (t2[het].sum(axis=1) == t2["TOT het"]).all()
    assert (t2[hom].sum(axis=1) == t2["TOT hom"]).all()
    assert (t2[["TOT het", "TOT hom", "TOT control"]].sum(axis=1) == t2["TOT samples"]).all()
    t3, t4 = tables.paper_table(3), tables.paper_table(4)
    pss = t4[t4["model"].isin(["PSS-NMF", "PSS-NMF-UR"])]
    for p, column in ((0.33, "n_pseudo_labels_33%"), (0.5, "n_pseudo_labels_50%")):
        sums = pss[pss["proportion"] == p].groupby("ct")["pseudo_labelled_samples"].sum()
        np.testing.assert_array_equal(t3.set_index("ct")[column].reindex(sums.index), sums)


def test_table2_paper_columns_join_on_cancer_type():
    labels = pd.DataFrame({"sample": [f"s{i}" for i in range(6)],
                           "cancer_type": ["ACC", "ACC", "BRCA", "BRCA", "BRCA", "NOTINPAPER"],
                           "MMR": ["hom", "wt", "het", "wt", "wt", "wt"],
                           "BER": ["wt", "wt", "het", "wt", "hom", "wt"],
                           "HR": ["wt", "het", "wt", "wt", "hom", "wt"]})
    ours = tables.table2_ddr_counts(labels)
    joined = tables.with_paper_table2(ours)
    paper = tables.paper_table(2).set_index("cancer_type")
    pd.testing.assert_frame_equal(joined[ours.columns], ours)  # our columns untouched
    assert [c for c in joined.columns if c not in ours.columns] == [f"paper_{c}" for c in paper.columns]
    rows = joined.set_index("cancer_type")
    for cohort in ("ACC", "BRCA"):
        for column in paper.columns:
            assert rows.at[cohort, f"paper_{column}"] == paper.at[cohort, column]
    assert rows.loc[["NOTINPAPER", "All"], [f"paper_{c}" for c in paper.columns]].isna().all().all()


def test_table3_and_table4_paper_columns_join_on_their_keys():
    metrics = _pss_metrics()
    ours3 = tables.table3_pseudo_label_activity(metrics)
    joined3 = tables.with_paper_table3(ours3, "cancer_type")
    pd.testing.assert_frame_equal(joined3[ours3.columns], ours3)
    paper3 = tables.paper_table(3).set_index("ct")
    rows3 = joined3.set_index("ct")
    # Not named pseudo_labelled_*: filter(like="pseudo_labelled_") must still find only our counts.
    assert list(joined3.filter(like="pseudo_labelled_").columns) == list(ours3.filter(like="pseudo_labelled_").columns)
    for column in ("n_pseudo_labels_33%", "n_pseudo_labels_50%", "ratio_50%_over_33%"):
        for ct in rows3.index:  # 0.3, 0.4, 0.6: all in the paper
            np.testing.assert_equal(rows3.at[ct, f"paper_{column}"], paper3.at[ct, column])
    other = tables.with_paper_table3(ours3, "ddrd")  # the paper's Table 3 is the cancer-type task
    pd.testing.assert_frame_equal(other[ours3.columns], ours3)
    assert other.filter(like="paper_").isna().all().all() and other.filter(like="paper_").shape[1] == 3

    ours4 = tables.table4_prediction_probability(metrics)
    joined4 = tables.with_paper_table4(ours4, "cancer_type")
    pd.testing.assert_frame_equal(joined4[ours4.columns], ours4)
    paper4 = tables.paper_table(4)
    for _, row in joined4.iterrows():
        match = paper4[(paper4["model"] == row["model"]) & (paper4["proportion"] == row["proportion"])
                       & ((paper4["ct"] == row["ct"]) | (paper4["ct"].isna() & pd.isna(row["ct"])))]
        assert len(match) == 1
        for column in ("K", "lambda_c", "lambda_l2", "mean_tcga_probability",
                       "pseudo_labelled_samples", "pseudo_label_precision"):
            np.testing.assert_equal(row[f"paper_{column}"], match.iloc[0][column])
    other = tables.with_paper_table4(ours4, "ddrd")
    pd.testing.assert_frame_equal(other[ours4.columns], ours4)
    assert other.filter(like="paper_").isna().all().all()
