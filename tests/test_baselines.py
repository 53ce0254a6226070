"""Baselines (LR-96, NMF+LR, COSMIC+LR) on real Zou 2021 cell lines and TCGA tumours."""

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import LeaveOneGroupOut

from pssnmf.baselines import BASELINES, make_baseline
from pssnmf.catalog import read_catalog
from pssnmf.data.zou import read_zou

# SPEC "The data": the DDRd classes of the 46 labelled Zou 2021 knockouts.
DDRD_CLASSES = {"MMR": ["MSH6", "MSH2", "MLH1", "PMS2", "PMS1"], "BER": ["UNG", "OGG1"],
                "HR": ["EXO1", "RNF168"], "Control": ["ATP2B4"]}


@pytest.fixture(scope="module")
def zou(data_dir):
    """(counts (46, 96), pathway (46,), parent clone (46,)) of the labelled subclones."""
    counts, samples = read_zou(data_dir / "zou2021" / "Supplementary_tables.xlsx", DDRD_CLASSES)
    labelled = (samples["pathway"] != "").to_numpy()
    assert labelled.sum() == 46, f"expected SPEC's 46 labelled subclones, found {labelled.sum()}"
    return (counts.to_numpy(dtype=float)[labelled], samples["pathway"].to_numpy(dtype=object)[labelled],
            samples["parent_clone"].to_numpy()[labelled])


@pytest.fixture(scope="module")
def tumours(data_dir):
    """300 TCGA exomes with >= 50 mutations, a fixed seeded choice."""
    catalog = read_catalog(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", on_all_zero="drop")
    counts = catalog.to_numpy(dtype=float)
    counts = counts[counts.sum(axis=1) >= 50]
    return counts[np.random.default_rng(0).choice(len(counts), 300, replace=False)]


@pytest.fixture(scope="module")
def cosmic_path(data_dir):
    return data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt"


def test_lr96_cross_validated_by_parent_clone_beats_chance(zou):
    # Leave one parent clone out (SPEC "Leakage"): no near copy of a test subclone is trained on.
    X, y, groups = zou
    predicted = np.empty(len(y), dtype=object)
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        predicted[test] = make_baseline("LR-96", random_state=0).fit(X[train], y[train]).predict(X[test])
    accuracy = float(np.mean(predicted == y))
    macro_f1 = f1_score(y, predicted, average="macro")
    majority = max(np.mean(y == c) for c in np.unique(y))  # always predicting MMR: 23/46
    chance_f1 = 1.0 / len(np.unique(y))  # macro F1 of uniform random guessing, in expectation ~1/O
    assert accuracy >= majority + 0.1 and macro_f1 >= chance_f1 + 0.2, (
        f"LR-96 leave-parent-clone-out: accuracy {accuracy:.3f} (majority class {majority:.3f}), "
        f"macro F1 {macro_f1:.3f} (chance ~{chance_f1:.2f}); predictions {list(zip(y, predicted))}"
    )


@pytest.mark.parametrize("name", BASELINES)
def test_same_seed_same_predictions_bit_for_bit(name, zou, tumours, cosmic_path):
    X, y, _ = zou
    X_train = np.vstack([X, tumours[:150]])
    y_train = np.r_[y, np.full(150, None, dtype=object)]
    runs = [make_baseline(name, n_signatures=5, random_state=7, cosmic_signatures=cosmic_path)
            .fit(X_train, y_train).predict_proba(tumours[150:]) for _ in range(2)]
    assert np.array_equal(runs[0], runs[1]), f"{name}: two fits with one seed differ"


@pytest.mark.parametrize("name", BASELINES)
def test_drop_in_surface(name, zou, tumours, cosmic_path):
    X, y, _ = zou
    model = make_baseline(name, n_signatures=4, cosmic_signatures=cosmic_path).fit(X, y)
    assert list(model.classes_) == ["BER", "Control", "HR", "MMR"]
    assert math.isnan(model.stability_)
    probability = model.predict_proba(tumours)
    assert probability.shape == (len(tumours), 4)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0, atol=1e-12)
    assert set(model.predict(tumours)) <= set(model.classes_)
    # counts and proportions are the same input (rows are normalised, as IntegratedNMF does)
    np.testing.assert_allclose(model.predict_proba(tumours / tumours.sum(axis=1, keepdims=True)), probability,
                               rtol=1e-9, atol=1e-12)
    if name != "LR-96":
        assert model.signatures_.shape[1] == 96
        np.testing.assert_allclose(model.signatures_.sum(axis=1), 1.0, atol=1e-9)
        assert model.transform(tumours).shape == (len(tumours), model.signatures_.shape[0])


def test_classifiers_ignore_unlabelled_rows(zou, tumours):
    # LR-96 trains on the labelled rows only; every spelling of "unlabelled" is the same.
    X, y, _ = zou
    alone = make_baseline("LR-96").fit(X, y).predict_proba(tumours)
    for mark in (None, ""):
        with_tumours = make_baseline("LR-96").fit(np.vstack([X, tumours[:50]]),
                                                  np.r_[y, np.full(50, mark, dtype=object)])
        assert np.array_equal(with_tumours.predict_proba(tumours), alone), f"unlabelled marked {mark!r}"
    codes = np.unique(y, return_inverse=True)[1]
    numeric = make_baseline("LR-96").fit(np.vstack([X, tumours[:50]]), np.r_[codes, np.full(50, -1)])
    assert list(numeric.classes_) == [0, 1, 2, 3]
    assert np.array_equal(numeric.predict_proba(tumours), alone)


def test_nmf_lr_factorisation_uses_unlabelled_rows(zou, tumours):
    # Step one of NMF+LR is unsupervised on all training rows: the tumours must move the signatures.
    X, y, _ = zou
    alone = make_baseline("NMF+LR", n_signatures=5).fit(X, y).signatures_
    with_tumours = make_baseline("NMF+LR", n_signatures=5).fit(
        np.vstack([X, tumours]), np.r_[y, np.full(len(tumours), None, dtype=object)]).signatures_
    assert not np.allclose(alone, with_tumours, atol=1e-3)


def test_cosmic_lr_exposures_find_a_pure_cosmic_signature(zou, cosmic_path):
    # A profile drawn from one COSMIC signature (SBS4, tobacco) gets its largest exposure on it.
    X, y, _ = zou
    model = make_baseline("COSMIC+LR", cosmic_signatures=cosmic_path).fit(X, y)
    sbs4 = model.signatures_[model.signature_names_.index("SBS4")]
    profile = np.random.default_rng(1).multinomial(5000, sbs4)[None, :].astype(float)
    exposures = model.transform(profile)[0]
    assert model.signature_names_[int(np.argmax(exposures))] == "SBS4", (
        f"largest exposure on {model.signature_names_[int(np.argmax(exposures))]}; SBS4 {exposures.max():.3f}")


def test_errors_name_what_was_expected(zou):
    X, y, _ = zou
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("SVM")
    with pytest.raises(ValueError, match="needs cosmic_signatures"):
        make_baseline("COSMIC+LR").fit(X, y)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 96\)"):
        make_baseline("LR-96").fit(X[:, :95], y)
    with pytest.raises(ValueError, match="row 3 is all zero"):
        bad = X.copy()
        bad[3] = 0
        make_baseline("LR-96").fit(bad, y)
    with pytest.raises(ValueError, match="at least 2 labelled classes"):
        make_baseline("LR-96").fit(X, np.where(y == "MMR", "MMR", None))
    with pytest.raises(ValueError, match="n_signatures"):
        make_baseline("NMF+LR", n_signatures=0).fit(X, y)


@pytest.mark.parametrize("name", BASELINES)
def test_saved_baseline_predicts_the_same(name, zou, tumours, cosmic_path, tmp_path):
    from pssnmf.baselines import load_baseline, save_baseline

    X, y, _ = zou
    model = make_baseline(name, n_signatures=4, cosmic_signatures=cosmic_path).fit(X, y)
    save_baseline(model, tmp_path / "model.npz", metadata={"fold": "0"})
    loaded = load_baseline(tmp_path / "model.npz")
    assert list(loaded.classes_) == list(model.classes_)
    assert np.array_equal(loaded.predict_proba(tumours), model.predict_proba(tumours))
    assert list(tmp_path.iterdir()) == [tmp_path / "model.npz"], "no temporary file left behind"
