"""Folds and test sets (paper 2.2.3, SPEC "Splits and bootstrapping") on the real data."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from _task_inputs import cancer_type_inputs, ddrd_inputs
from pssnmf.folds import (
    FoldSettings,
    build_folds,
    load_fold,
    read_task,
    seed_sequence,
    stable_key,
    unlabelled_count,
    unlabelled_ratio,
)

PER_CLASS, TEST_PER_CLASS = 12, 30


@pytest.fixture(scope="module")
def inputs(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("task_inputs")
    return {"ddrd": ddrd_inputs(data_dir, root / "ddrd"),
            "cancer_type": cancer_type_inputs(data_dir, root / "cancer_type")}


def _settings(mode, seed=11, **kw):
    return FoldSettings(seed=seed, split_mode=mode, per_class=PER_CLASS, test_per_class=TEST_PER_CLASS, **kw)


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory):
    root = tmp_path_factory.mktemp("folds")
    out = {}
    for task, (catalog, samples) in inputs.items():
        for mode in ("grouped", "paper"):
            out[task, mode] = build_folds(catalog, samples, root / task / mode, task, _settings(mode))
    return out


def _membership(fold_dir):
    return pd.read_csv(fold_dir / "membership.tsv", sep="\t", dtype=str, keep_default_na=False)


def _places(rows):
    return rows["set"] + ":" + rows["fold"]


@pytest.mark.parametrize("task", ["ddrd", "cancer_type"])
def test_grouped_mode_keeps_samples_and_groups_on_one_side(built, task):
    m = _membership(built[task, "grouped"])
    cells = m[m["role"] == "labelled"]
    # No real sample, and no leakage group, on both sides of the validation/test split.
    assert (cells.groupby("sample")["set"].nunique() == 1).all()
    assert (cells.groupby("group")["set"].nunique() == 1).all()
    # Every bootstrap of a real sample sits in one place (fold or test).
    assert (cells.assign(place=_places(cells)).groupby("sample")["place"].nunique() == 1).all()
    # Classes dealt by group keep each group inside one fold.
    by_group = cells[cells["split_unit"] == "group"]
    assert (by_group.assign(place=_places(by_group)).groupby("group")["place"].nunique() == 1).all()
    # Tumours: one place each, for every proportion together.
    tumours = m[m["role"] == "unlabelled"]
    assert (tumours.assign(place=_places(tumours)).groupby("row_id")["place"].nunique() == 1).all()


def test_ddrd_small_classes_are_dealt_by_sample_and_flagged(built):
    # Zou's Control has two parent clones, BER and HR three: after one goes to the test set
    # the validation set cannot hold a whole clone per fold; the rows say so.
    m = _membership(built["ddrd", "grouped"])
    cells = m[(m["role"] == "labelled") & (m["set"] == "validation")]
    units = cells.groupby("label")["split_unit"].agg(set)
    assert units["Control"] == {"sample"}
    assert units["MMR"] == {"group"}


def test_paper_mode_leaks_real_samples_and_groups_across_the_split(built):
    m = _membership(built["ddrd", "paper"])
    cells = m[m["role"] == "labelled"]
    crossing_samples = (cells.groupby("sample")["set"].nunique() > 1).sum()
    crossing_groups = (cells.groupby("group")["set"].nunique() > 1).sum()
    assert crossing_samples > 0 and crossing_groups > 0
    grouped = _membership(built["ddrd", "grouped"])
    grouped_cells = grouped[grouped["role"] == "labelled"]
    assert (grouped_cells.groupby("group")["set"].nunique() > 1).sum() == 0


@pytest.mark.parametrize("task,mode", [("ddrd", "grouped"), ("cancer_type", "paper")])
def test_class_balance_and_counts_are_as_configured(built, inputs, task, mode):
    m = _membership(built[task, mode])
    classes = sorted(pd.read_csv(inputs[task][1], sep="\t", keep_default_na=False)
                     .query("source == 'cell_line' and label != ''")["label"].unique())
    for proportion, rows in m.groupby("proportion"):
        cells = rows[rows["role"] == "labelled"]
        counts = cells.groupby(["fold", "label"]).size().unstack()
        assert list(counts.columns) == classes
        assert (counts.loc[["0", "1", "2"]] == PER_CLASS).all().all()
        assert (counts.loc["test"] == TEST_PER_CLASS).all()
        tumours = rows[rows["role"] == "unlabelled"]
        per_fold = tumours.groupby("fold").size()
        L = PER_CLASS * len(classes)
        for fold in ("0", "1", "2"):
            assert per_fold[fold] == unlabelled_count(L, float(proportion))
            # Unlabelled share of the fold as configured (1/3 or 1/2).
            share = Fraction(int(per_fold[fold]), int(per_fold[fold]) + L)
            assert share == Fraction(float(proportion)).limit_denominator(10)
        assert (tumours["label"] == "").all()


def test_cancer_type_tumours_are_balanced_across_classes(built):
    m = _membership(built["cancer_type", "grouped"])
    tumours = m[m["role"] == "unlabelled"]
    for (_, fold), rows in tumours.groupby(["proportion", "fold"]):
        sizes = rows.groupby("truth").size()
        assert len(sizes) == 4 and sizes.max() - sizes.min() <= 1


def test_smaller_proportion_takes_a_subset_of_the_larger(built):
    m = _membership(built["cancer_type", "grouped"])
    t = m[(m["role"] == "unlabelled") & (m["set"] == "validation")]
    small = set(t.loc[t["proportion"] == "0.33", "row_id"])
    large = set(t.loc[t["proportion"] == "0.5", "row_id"])
    assert small < large


def test_ddrd_homozygous_tumours_are_divided_between_folds_and_test(inputs, tmp_path):
    samples = pd.read_csv(inputs["ddrd"][1], sep="\t", keep_default_na=False)
    homozygous = samples[(samples["source"] == "tumour") & (samples["truth"] != "")]
    # Folds large enough (120 unlabelled rows each at 50 %) to take every homozygous tumour.
    fold_dir = build_folds(*inputs["ddrd"], tmp_path, "ddrd", FoldSettings(seed=5, per_class=30, test_per_class=30))
    m = _membership(fold_dir)
    used = m[(m["role"] == "unlabelled") & (m["truth"] != "") & (m["proportion"] == "0.5")]
    # Every homozygous tumour is used, in one place; a quarter of each pathway in the test set.
    assert sorted(used["row_id"]) == sorted(homozygous["sample"])
    n_test = used[used["set"] == "test"].groupby("truth").size()
    n_all = homozygous.groupby("truth").size()
    assert (n_test == (0.25 * n_all).round().astype(int)).all()
    # The rest of each fold is filled with tumours without truth (heterozygous / wild type).
    folds = m[(m["role"] == "unlabelled") & (m["set"] == "validation") & (m["proportion"] == "0.5")]
    assert (folds.groupby("fold").size() == 120).all()
    assert (folds.groupby("fold")["truth"].apply(lambda t: (t == "").sum()) > 0).all()


def test_bootstrap_totals_equal_their_origin_count(built, inputs):
    counts, samples = read_task(*inputs["ddrd"])
    fold_dir = built["ddrd", "grouped"]
    catalog = pd.read_csv(fold_dir / "catalog.tsv", sep="\t", index_col=0)
    m = _membership(fold_dir).drop_duplicates("row_id")
    cells = m[m["role"] == "labelled"]
    totals = catalog[cells["row_id"]].sum(axis=0).to_numpy()
    origin = counts.loc[cells["sample"]].sum(axis=1).to_numpy()
    assert np.array_equal(totals, origin)
    assert np.array_equal(cells["mutations"].astype(int).to_numpy(), origin)
    assert cells["row_id"].str.fullmatch(r".+#b\d{4,}").all()
    # Bootstraps are resamples, not copies of the origin profile.
    first = cells.iloc[0]
    assert not np.array_equal(catalog[first["row_id"]].to_numpy(), counts.loc[first["sample"]].to_numpy())


def test_same_seed_gives_identical_files_and_another_seed_does_not(inputs, built, tmp_path):
    catalog, samples = inputs["ddrd"]
    again = build_folds(catalog, samples, tmp_path / "again", "ddrd", _settings("grouped"))
    for name in ("catalog.tsv", "membership.tsv", "settings.json"):
        assert (again / name).read_bytes() == (built["ddrd", "grouped"] / name).read_bytes()
    other = build_folds(catalog, samples, tmp_path / "other", "ddrd", _settings("grouped", seed=12))
    assert (other / "catalog.tsv").read_bytes() != (again / "catalog.tsv").read_bytes()
    assert (other / "membership.tsv").read_bytes() != (again / "membership.tsv").read_bytes()


def test_tumour_placement_does_not_depend_on_the_split_mode(built):
    a, b = (_membership(built["cancer_type", mode]) for mode in ("grouped", "paper"))
    cols = ["row_id", "set", "fold", "proportion"]
    assert a.loc[a["role"] == "unlabelled", cols].reset_index(drop=True).equals(
        b.loc[b["role"] == "unlabelled", cols].reset_index(drop=True))


def test_load_fold_trains_on_other_folds_and_tests_on_the_test_set(built):
    fold_dir = built["cancer_type", "grouped"]
    m = _membership(fold_dir)
    for fold in ("0", "1", "2", "test"):
        d = load_fold(fold_dir, 0.5, fold)
        assert set(d.train["row_id"]).isdisjoint(d.eval["row_id"])
        assert np.allclose(d.X_train.sum(axis=1), 1) and np.allclose(d.X_eval.sum(axis=1), 1)
        assert d.X_train.shape == (len(d.train), 96) and d.X_eval.shape == (len(d.eval), 96)
        unlabelled = d.train["role"] == "unlabelled"
        assert all(y is None for y in d.y_train[unlabelled.to_numpy()])
        assert list(d.y_train[~unlabelled.to_numpy()]) == list(d.train.loc[~unlabelled, "label"])
    d = load_fold(fold_dir, 0.5, "test")
    validation = m[(m["set"] == "validation") & (m["proportion"] == "0.5")]
    assert sorted(d.train["row_id"]) == sorted(validation["row_id"])
    assert (d.eval["set"] == "test").all()
    d0 = load_fold(fold_dir, 0.5, 0)
    assert (d0.eval["fold"] == "0").all() and (d0.train["fold"] != "0").all()
    with pytest.raises(ValueError, match="proportion"):
        load_fold(fold_dir, 0.25, 0)


def test_read_task_names_the_file_and_the_problem(inputs, tmp_path):
    catalog, samples = inputs["cancer_type"]
    table = pd.read_csv(samples, sep="\t", keep_default_na=False)
    table.iloc[[0, 1]] = table.iloc[[1, 0]].to_numpy()
    bad = tmp_path / "samples.tsv"
    table.to_csv(bad, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"samples\.tsv.*same order"):
        read_task(catalog, bad)


def test_seeds_use_stable_keys_not_python_hash():
    assert stable_key("ddrd") == stable_key("ddrd") != stable_key("cancer_type")
    assert stable_key(0.1) == stable_key(float("0.10"))
    a = seed_sequence(3, "folds", "ddrd").generate_state(2)
    b = seed_sequence(3, "folds", "ddrd").generate_state(2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, seed_sequence(3, "folds", "cancer_type").generate_state(2))
    assert unlabelled_ratio(0.33) == Fraction(1, 2) and unlabelled_ratio(0.5) == 1
