"""Screening (docs/protocol.md, "Screening"): the proficient pools of the folds, the scores of a
score against scikit-learn, and the COSMIC-share baseline against a direct NNLS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls
from sklearn.metrics import roc_auc_score, roc_curve

from _task_inputs import ddrd_inputs
from pssnmf import screening
from pssnmf.baselines import as_signatures
from pssnmf.etiologies import SHARE_SIGNATURES
from pssnmf.folds import FoldSettings, build_folds, load_fold, load_pools, read_task

PROPORTIONS = (0.33, 0.5)


@pytest.fixture(scope="module")
def ddrd_folds(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("screening")
    catalog, samples = ddrd_inputs(data_dir, root / "inputs")
    out = build_folds(catalog, samples, root / "folds", "ddrd",
                      FoldSettings(seed=3, per_class=12, test_per_class=30, proportions=PROPORTIONS))
    return out, read_task(catalog, samples)[1]


def test_pools_hold_only_tumours_no_fit_trains_on(ddrd_folds):
    fold_dir, samples = ddrd_folds
    membership = pd.read_csv(fold_dir / "membership.tsv", sep="\t", dtype=str, keep_default_na=False)
    pools = membership[membership["set"] == "screening"]
    assert set(pools["role"]) == {"proficient", "heterozygous"}
    assert set(pools["fold"]) == {"validation", "test"}
    for proportion in PROPORTIONS:
        _, rows = load_pools(fold_dir, proportion)
        assert len(rows) and rows["row_id"].is_unique
        in_pools = set(rows["row_id"])
        for fold in ("0", "1", "2", "test"):
            data = load_fold(fold_dir, proportion, fold)
            # no pool tumour trains any fit or is scored as one of the protocol's evaluation rows
            assert not in_pools & set(data.train["row_id"]), (proportion, fold)
            assert not in_pools & set(data.eval["row_id"]), (proportion, fold)
    # the pools' members are the status they claim, and the two sides are disjoint
    status = samples.set_index("sample")[["MMR", "BER", "HR"]]
    proficient = pools[pools["role"] == "proficient"]["sample"].unique()
    assert (status.loc[proficient] == "wt").all().all()
    het = pools[pools["role"] == "heterozygous"].drop_duplicates("sample")
    for sample, pathways in zip(het["sample"], het["heterozygous"]):
        row = status.loc[sample]
        assert (row != "hom").all() and pathways.split("+") == [p for p in ("MMR", "BER", "HR") if row[p] == "het"]
    sides = pools.groupby("sample")["fold"].nunique()
    assert (sides == 1).all()
    # a test-side pool tumour comes from the test split: never an unlabelled row of a validation fold
    validation_unlabelled = set(membership[(membership["set"] == "validation")
                                           & (membership["role"] == "unlabelled")]["sample"])
    assert not validation_unlabelled & set(pools["sample"])


def test_pools_do_not_change_the_protocols_rows(ddrd_folds, tmp_path):
    """Setting the pools aside takes only tumours the draws left over: without the DDR status
    columns (no pools) the protocol's rows are the same."""
    fold_dir, samples = ddrd_folds
    catalog = pd.read_csv(fold_dir.parent / "inputs" / "catalog.tsv", sep="\t")
    plain = samples.drop(columns=["MMR", "BER", "HR"]).reset_index(drop=True)
    plain.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    catalog.to_csv(tmp_path / "catalog.tsv", sep="\t", index=False)
    other = build_folds(tmp_path / "catalog.tsv", tmp_path / "samples.tsv", tmp_path / "folds", "ddrd",
                        FoldSettings(seed=3, per_class=12, test_per_class=30, proportions=PROPORTIONS))
    with_pools = pd.read_csv(fold_dir / "membership.tsv", sep="\t", dtype=str, keep_default_na=False)
    without = pd.read_csv(other / "membership.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert (without["set"] != "screening").all()
    pd.testing.assert_frame_equal(with_pools[with_pools["set"] != "screening"].reset_index(drop=True), without)


scores = st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1), min_size=1,
                  max_size=40)


@settings(max_examples=200, deadline=None)
@given(positive=scores, negative=scores, fpr=st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.5]))
def test_auc_and_sensitivity_at_fpr_are_scikit_learns(positive, negative, fpr):
    pos, neg = np.array(positive), np.array(negative)
    truth = np.r_[np.ones(pos.size), np.zeros(neg.size)]
    values = np.r_[pos, neg]
    assert screening.roc_auc(pos, neg) == pytest.approx(roc_auc_score(truth, values), abs=1e-12)
    false_positive, true_positive, _ = roc_curve(truth, values, drop_intermediate=False)
    expected = true_positive[false_positive <= fpr + 1e-12].max()
    assert screening.sensitivity_at_fpr(pos, neg, fpr) == pytest.approx(expected, abs=1e-12)
    # the cut-off keeps the negatives' FPR at or under the target, and no lower cut-off does
    cut = screening.cutoff(neg, fpr)
    assert (neg > cut).mean() <= fpr + 1e-12
    lower = neg[neg < cut]
    if lower.size:
        assert (neg > lower.max()).mean() > fpr


def test_vectorised_scores_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    pos, neg = rng.random((7, 30)), rng.random((7, 200))
    assert np.allclose(screening.roc_auc(pos, neg), [roc_auc_score(np.r_[np.ones(30), np.zeros(200)], np.r_[p, n])
                                                     for p, n in zip(pos, neg)])
    assert np.array_equal(screening.sensitivity_at_fpr(pos, neg, 0.1),
                          [screening.sensitivity_at_fpr(p, n, 0.1) for p, n in zip(pos, neg)])


def test_cosmic_share_is_a_direct_nnls(data_dir):
    signatures, names = as_signatures(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37_exome.txt")
    from pssnmf.catalog import read_catalog

    counts = read_catalog(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv")
    profiles = counts[counts.sum(axis=1) >= 50].iloc[:25].to_numpy(dtype=float)
    profiles = profiles / profiles.sum(axis=1, keepdims=True)
    shares = screening.cosmic_shares(profiles, signatures, names)
    for i in range(0, 25, 6):
        exposure = nnls(signatures.T, profiles[i])[0]
        for j, pathway in enumerate(("MMR", "BER", "HR")):
            members = [k for k, n in enumerate(names) if n in SHARE_SIGNATURES[pathway]]
            assert shares[i, j] == pytest.approx(exposure[members].sum() / exposure.sum(), abs=1e-8)
    assert ((shares >= 0) & (shares <= 1)).all()


def test_score_rows_on_a_known_case():
    """Two seeds; the validation pool sets the cut-off, the test rows only the realised rates."""
    positive = np.array([0.9, 0.8, 0.7, 0.2])
    negative = np.linspace(0.0, 0.5, 20)
    validation = np.linspace(0.0, 0.6, 10)  # 10 % FPR: the second largest, 0.5333
    group = dict(positive=positive, negative=negative, validation=validation, heterozygous=np.array([0.55, 0.1]),
                 suspect=np.zeros(20, bool), argmax_positive=np.array([1, 1, 0, 0], bool),
                 argmax_negative=np.zeros(20, bool))
    row = screening.score_rows([group, group], [0.1], n_boot=50, level=0.95, seed=np.random.SeedSequence(1))
    assert row["auc"] == pytest.approx(roc_auc_score(np.r_[np.ones(4), np.zeros(20)], np.r_[positive, negative]))
    assert row["cutoff_fpr_0.1"] == pytest.approx(validation[-2])
    assert row["test_sensitivity_at_cutoff_0.1"] == pytest.approx(0.75)
    assert row["test_fpr_at_cutoff_0.1"] == 0.0
    assert row["heterozygous_call_rate_at_cutoff_0.1"] == pytest.approx(0.5)
    assert row["argmax_sensitivity"] == 0.5 and row["argmax_fpr"] == 0.0
    assert row["auc_seed_sd"] == 0.0 and row["auc_low"] <= row["auc"] <= row["auc_high"]


def test_crossfit_folds_leave_out_the_tumours_they_score(ddrd_folds):
    """outer<k> trains like the final fit with fold k's tumours with truth swapped for the test
    set's; its evaluation rows are exactly those tumours; the cell-line rows are the final fit's."""
    fold_dir, _ = ddrd_folds
    final = load_fold(fold_dir, 0.5, "test")
    test_tumours = set(final.eval.loc[final.eval["source"] == "tumour", "row_id"])
    scored = []
    for fold in ("0", "1", "2"):
        data = load_fold(fold_dir, 0.5, f"outer{fold}")
        held = set(data.eval["row_id"])
        assert held and (data.eval["truth"] != "").all() and (data.eval["source"] == "tumour").all()
        assert not held & set(data.train["row_id"])
        assert test_tumours <= set(data.train["row_id"])
        cells = data.train[data.train["source"] == "cell_line"]
        assert list(cells["row_id"]) == list(final.train.loc[final.train["source"] == "cell_line", "row_id"])
        assert set(final.train["row_id"]) - held == set(data.train["row_id"]) - test_tumours
        scored += sorted(held)
    assert len(scored) == len(set(scored))
    with pytest.raises(ValueError, match="cross-fit fold"):
        load_fold(fold_dir, 0.5, "outer7")


def test_release_trains_on_every_cell_line_and_no_pool_tumour(ddrd_folds, data_dir, tmp_path):
    """The release's rows (pssnmf.release): the final fit's labelled count, balanced, drawn from every
    cell line; the proportion's unlabelled count; no tumour of the screening pools; the same rows on
    every call."""
    from pssnmf.release import release_fold

    fold_dir, samples = ddrd_folds
    inputs = fold_dir.parent / "inputs"
    settings = FoldSettings(seed=3, per_class=12, test_per_class=30, proportions=PROPORTIONS)
    data = release_fold(inputs / "catalog.tsv", inputs / "samples.tsv", fold_dir, "ddrd", settings, 0.5)
    labelled = data.train[data.train["label"] != ""]
    assert labelled["label"].value_counts().to_dict() == {c: 3 * 12 for c in ("BER", "Control", "HR", "MMR")}
    cells = samples[(samples["source"] == "cell_line") & (samples["label"] != "")]
    assert set(labelled["sample"]) == set(cells.index)  # every subclone, test-set ones too
    unlabelled = data.train[data.train["label"] == ""]
    assert len(unlabelled) == len(labelled) and unlabelled["sample"].is_unique
    membership = pd.read_csv(fold_dir / "membership.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert not set(unlabelled["sample"]) & set(membership.loc[membership["set"] == "screening", "sample"])
    np.testing.assert_allclose(data.X_train.sum(axis=1), 1.0)
    again = release_fold(inputs / "catalog.tsv", inputs / "samples.tsv", fold_dir, "ddrd", settings, 0.5)
    assert np.array_equal(again.X_train, data.X_train) and again.train.equals(data.train)
