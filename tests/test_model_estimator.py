"""IntegratedNMF: validation, hard inputs, determinism, threads, persistence, scikit-learn API."""

import json
import zipfile

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from pssnmf.model import IntegratedNMF, load_model, save_model


def _data(seed=0, n_labelled=60, n_unlabelled=60, n_classes=3, k=4):
    """Counts from k random sparse signatures; the class decides which signature dominates."""
    rng = np.random.default_rng(seed)
    signatures = rng.random((k, 96)) ** 4
    signatures /= signatures.sum(axis=1, keepdims=True)
    n = n_labelled + n_unlabelled
    classes = rng.integers(0, n_classes, n)
    exposures = rng.random((n, k)) * 0.3
    exposures[np.arange(n), classes] += 1.0
    X = np.array([rng.multinomial(300, p / p.sum()) for p in exposures @ signatures])
    y = np.array(["abc"[c] for c in classes], dtype=object)
    y[n_labelled:] = None
    return X, y, classes


FAST = dict(n_signatures=4, n_restarts=3, max_epochs=150, min_epochs=20, tol=1e-4, mu_w=0.2)


@pytest.mark.parametrize("name, value, message", [
    ("n_signatures", 0, "n_signatures must be an integer in [1, 96]"),
    ("n_signatures", 97, "n_signatures must be an integer in [1, 96]"),
    ("mode", "fancy", "mode must be one of"),
    ("confidence_threshold", 1.5, "confidence_threshold must be a finite number >= 0.0 and <= 1.0"),
    ("lambda_c", -1, "lambda_c must be a finite number >= 0"),
    ("lambda_c", float("nan"), "lambda_c must be a finite number"),
    ("mu_w", 0, "mu_w must be a finite number > 0"),
    ("n_restarts", 0, "n_restarts must be an integer >= 1"),
    ("max_epochs", 2.5, "max_epochs must be an integer"),
    ("dtype", "float16", "dtype must be 'float64' or 'float32'"),
    ("unlabeled_regularization", "yes", "unlabeled_regularization must be True or False"),
    ("soft_pseudo_labels", 1, "soft_pseudo_labels must be True or False"),
    ("n_jobs", 0, "n_jobs must be an integer >= 1"),
])
def test_parameter_validation_names_the_parameter(name, value, message):
    X, y, _ = _data()
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        IntegratedNMF(**{**FAST, name: value}).fit(X, y)


def test_hard_inputs_give_clear_errors():
    X, y, _ = _data()
    zero = X.copy()
    zero[7] = 0
    with pytest.raises(ValueError, match="X row 7 is all zero"):
        IntegratedNMF(**FAST).fit(zero, y)
    one_class = y.copy()
    one_class[one_class != None] = "a"  # noqa: E711
    with pytest.raises(ValueError, match="at least 2 labelled classes"):
        IntegratedNMF(**FAST).fit(X, one_class)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 96\)"):
        IntegratedNMF(**FAST).fit(X[:, :95], y)
    with pytest.raises(ValueError, match="n_signatures \\(10\\) must be smaller than the number of training rows"):
        IntegratedNMF(**{**FAST, "n_signatures": 10, "mode": "supervised"}).fit(X[:10], y[:10])
    negative = X.astype(float)
    negative[3, 5] = -1
    with pytest.raises(ValueError, match="X row 3 holds a negative value"):
        IntegratedNMF(**FAST).fit(negative, y)
    with pytest.raises(ValueError, match="X holds complex values"):
        IntegratedNMF(**FAST).fit(X + 1j, y)


def test_huge_lambda_c_stays_finite():
    X, y, _ = _data()
    model = IntegratedNMF(**{**FAST, "lambda_c": 1e8, "mode": "semi_supervised"}).fit(X, y)
    assert all(np.isfinite(h).all() for h in model.loss_history_)
    assert np.isfinite(model.signatures_).all() and np.isfinite(model.weights_).all()
    assert np.isfinite(model.predict_proba(X)).all()


def test_integer_labels_with_minus_one_unlabelled_and_supervised_ignores_them():
    X, y, classes = _data()
    y_int = np.where(y == None, -1, classes)  # noqa: E711
    model = IntegratedNMF(**{**FAST, "mode": "supervised"}).fit(X, y_int)
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.training_exposures_.shape == (len(X), 4)
    assert set(model.predict(X).tolist()) <= {0, 1, 2}


@pytest.mark.parametrize("solver, dtype", [("bcd", "float64"), ("mu", "float64"), ("mu", "float32")])
def test_same_seed_same_model_bit_for_bit(solver, dtype):
    X, y, _ = _data()
    params = {**FAST, "solver": solver, "dtype": dtype, "confidence_threshold": 0.4}
    first = IntegratedNMF(**params).fit(X, y)
    second = IntegratedNMF(**params).fit(X, y)
    assert np.array_equal(first.restart_signatures_, second.restart_signatures_)
    assert np.array_equal(first.signatures_, second.signatures_)
    assert np.array_equal(first.training_exposures_, second.training_exposures_)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.pseudo_labels_.equals(second.pseudo_labels_)
    other = IntegratedNMF(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first.restart_signatures_, other.restart_signatures_)
    # restarts differ from each other within one fit
    assert not np.array_equal(first.restart_signatures_[0], first.restart_signatures_[1])


@pytest.mark.parametrize("solver, dtype", [("bcd", "float64"), ("mu", "float32")])
def test_one_or_two_threads_give_identical_results(solver, dtype):
    X, y, _ = _data(n_labelled=300, n_unlabelled=300)
    params = {**FAST, "solver": solver, "dtype": dtype}
    with threadpool_limits(1):
        single = IntegratedNMF(**params).fit(X, y)
    with threadpool_limits(2):
        double = IntegratedNMF(**params).fit(X, y)
    assert np.array_equal(single.restart_signatures_, double.restart_signatures_)
    assert np.array_equal(single.predict_proba(X), double.predict_proba(X))
    # the compiled kernels' own threads (restarts in parallel) change nothing either
    threaded = IntegratedNMF(**params, n_jobs=2).fit(X, y)
    assert np.array_equal(single.restart_signatures_, threaded.restart_signatures_)
    assert np.array_equal(single.predict_proba(X), threaded.predict_proba(X))


def test_pseudo_labeling_records_who_when_and_what():
    X, y, classes = _data(n_labelled=90, n_unlabelled=150)
    model = IntegratedNMF(**{**FAST, "confidence_threshold": 0.5, "max_epochs": 600, "tol": 1e-2}).fit(X, y)
    table = model.pseudo_labels_
    assert list(table.columns) == ["restart", "sample", "label", "epoch", "probability"]
    assert len(table) > 0, "no pseudo-labels were given on an easy problem"
    assert (table["sample"] >= 90).all()  # only unlabelled rows
    assert (table["probability"] >= 0.5).all()
    assert not table.duplicated(["restart", "sample"]).any()  # a pseudo-label stays, is not given twice
    for _, group in table.groupby(["restart", "epoch"]):  # balance: the same count per class
        assert group["label"].value_counts().nunique() == 1
    assert set(model.consensus_pseudo_labels_["restart"]) <= {model.consensus_restart_}


def test_loss_decreases_with_classification():
    """lambda_c > 0: the loss history ends lower than it starts, and nothing is NaN or infinite."""
    X, y, _ = _data(n_labelled=150, n_unlabelled=150)
    for lambda_c in (0.01, 0.1):
        model = IntegratedNMF(**{**FAST, "lambda_c": lambda_c, "tol": 0.0, "max_epochs": 300}).fit(X, y)
        for history in model.loss_history_:
            assert np.isfinite(history).all()
            assert history[-1] < history[0], f"lambda_c={lambda_c}: {history[0]:.4g} -> {history[-1]:.4g}"


@pytest.mark.parametrize("solver", ["bcd", "mu"])
def test_n_restarts_one_has_undefined_stability_and_pseudo_labels(solver):
    """One restart: stability is undefined, and pseudo-labelling works (its label arrays were once a
    read-only view for a single restart, so the first pseudo-label crashed the fit)."""
    X, y, _ = _data(n_labelled=120, n_unlabelled=120)
    model = IntegratedNMF(n_signatures=4, n_restarts=1, random_state=5, lambda_c=0.2, confidence_threshold=0.5,
                          solver=solver).fit(X, y)
    assert np.isnan(model.stability_)
    assert model.restart_signatures_.shape == (1, 4, 96)
    assert len(model.pseudo_labels_) > 0


def test_save_load_round_trip_and_clear_errors(tmp_path):
    X, y, _ = _data()
    model = IntegratedNMF(**{**FAST, "confidence_threshold": 0.4}).fit(X, y)
    path = tmp_path / "model.npz"
    save_model(model, path, metadata={"fold": 2})
    loaded = load_model(path)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_params() == model.get_params()
    assert loaded.metadata_ == {"fold": 2}
    assert loaded.signature_names_ == model.signature_names_ == ["Signature A", "Signature B", "Signature C", "Signature D"]
    assert loaded.pseudo_labels_[["restart", "sample", "epoch"]].equals(model.pseudo_labels_[["restart", "sample", "epoch"]])
    np.load(path, allow_pickle=False).close()

    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupt.npz"):
        load_model(corrupt)

    def rewrite(name, change):
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        info = json.loads(str(arrays["metadata_json"]))
        change(info)
        arrays["metadata_json"] = np.array(json.dumps(info))
        target = tmp_path / name
        np.savez(target, **arrays)
        return target

    with pytest.raises(ValueError, match="format version 99"):
        load_model(rewrite("version.npz", lambda info: info.update(format_version=99)))
    with pytest.raises(ValueError, match="channel labels"):
        load_model(rewrite("channels.npz", lambda info: info.update(channels=info["channels"][::-1])))
    assert zipfile.is_zipfile(path)


def test_sklearn_api_get_set_params_and_clone():
    from sklearn.base import clone

    model = IntegratedNMF(n_signatures=5, lambda_c=0.25)
    assert model.get_params()["lambda_c"] == 0.25
    model.set_params(lambda_c=0.5, confidence_threshold=0.9)
    assert clone(model).get_params() == model.get_params()


# Most generic checks cannot apply: they fit on 2-20 features, and a profile has exactly 96 SBS
# channels (docs/model.md lists them).  The API checks below do not depend on the data and must pass.
def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(IntegratedNMF(n_signatures=2, n_restarts=2, max_epochs=30, min_epochs=0),
                              on_fail=None)
    by_name = {}
    for result in results:
        by_name.setdefault(result["check_name"], []).append(result["status"])
    failed = {name for name, statuses in by_name.items() if "failed" in statuses}
    passed = {name for name, statuses in by_name.items() if "passed" in statuses and name not in failed}
    # The API checks that do not depend on the feature count must pass.
    for name in ("check_no_attributes_set_in_init", "check_get_params_invariance", "check_set_params",
                 "check_parameters_default_constructible", "check_estimator_repr", "check_estimator_cloneable",
                 "check_do_not_raise_errors_in_init_or_set_params", "check_estimators_unfitted",
                 "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_complex_data"):
        assert name in passed, f"{name}: {by_name.get(name)}"


# The generic checks that fit cannot run on their 1-20-feature data; what they verify is checked here on
# 96-channel profiles (docs/model.md, "scikit-learn compatibility").
def test_what_the_generic_fitting_checks_verify_holds_on_sbs96_data():
    import copy
    import pickle

    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y, classes = _data(n_labelled=90, n_unlabelled=30)
    model = IntegratedNMF(**FAST, mode="semi_supervised")
    params = copy.deepcopy(model.get_params())
    model.fit(X, y)
    # check_dont_overwrite_parameters / check_estimators_overwrite_params: fit leaves the parameters alone
    assert model.get_params() == params
    # check_n_features_in, check_n_features_in_after_fitting: set by fit, checked at predict
    assert model.n_features_in_ == 96
    with pytest.raises(ValueError, match="96"):
        model.predict(X[:, :95])
    # check_dict_unchanged: predicting changes no state
    state = pickle.dumps(model.__dict__)
    proba = model.predict_proba(X)
    model.predict(X), model.transform(X)
    assert pickle.dumps(model.__dict__) == state
    # check_classifiers_train: probabilities are a distribution over classes_, predict is their argmax
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert proba.shape == (len(X), len(model.classes_))
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    # check_methods_subset_invariance / check_methods_sample_order_invariance: rows do not interact
    order = np.random.default_rng(0).permutation(len(X))
    for method in (model.transform, model.predict_proba):
        whole = method(X)
        np.testing.assert_allclose(np.vstack([method(X[:7]), method(X[7:])]), whole, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(method(X[order]), whole[order], rtol=1e-12, atol=1e-15)
    # check_estimators_dtypes: integer and float32 counts give the float64 model
    for dtype in (np.int64, np.float32):
        other = clone(model).fit(X.astype(dtype), y)
        np.testing.assert_array_equal(other.signatures_, model.signatures_)
    # check_fit_idempotent: fitting the same estimator again gives the same model
    again = model.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(again, proba)
    # check_estimators_pickle: a pickled model predicts the same (our own files use save_model, not pickle)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), proba)
    # check_pipeline_consistency: in a Pipeline, and through cross-validation with labelled rows only
    labelled = y != None  # noqa: E711 (object array)
    pipeline = make_pipeline(FunctionTransformer(), IntegratedNMF(**FAST, mode="supervised"))
    scores = cross_val_score(pipeline, X[labelled], y[labelled].astype(str), cv=3)
    chance = np.bincount(classes[labelled]).max() / labelled.sum()
    assert np.all(scores > chance), f"cross-validated accuracy {scores} is not above the majority class {chance:.2f}"


def test_transform_can_return_a_dataframe_named_by_signature():
    import pandas as pd

    from pssnmf.channels import SBS96

    X, y, _ = _data()
    frame = pd.DataFrame(X, columns=list(SBS96), index=[f"tumour{i}" for i in range(len(X))])
    model = IntegratedNMF(**FAST).fit(frame, y)
    plain = model.transform(frame)
    exposures = model.set_output(transform="pandas").transform(frame)
    assert list(exposures.columns) == model.signature_names_ == ["Signature A", "Signature B", "Signature C", "Signature D"]
    assert list(exposures.index) == list(frame.index)
    np.testing.assert_array_equal(exposures.to_numpy(), plain)


def together_and_alone(**stopping):
    """Three PSS-NMF U.R. restarts trained together, and each alone: (together, alone) results."""
    from pssnmf.model.training import train_restarts

    X, y, classes = _data(n_labelled=80, n_unlabelled=80)
    profiles = X / X.sum(axis=1, keepdims=True)
    codes = np.where(y == None, -1, classes)  # noqa: E711
    settings = dict(n_signatures=4, pseudo_labeling=True, unlabeled_regularization=True, confidence_threshold=0.5,
                    lambda_c=0.1, lambda_l2=1e-4, mu_w=0.2, max_epochs=400, dtype="float64", **stopping)
    seeds = np.random.SeedSequence(11).spawn(3)
    together = train_restarts(profiles, codes, 3, rngs=[np.random.default_rng(s) for s in seeds], **settings)
    alone = [train_restarts(profiles, codes, 3, rngs=[np.random.default_rng(s)], **settings)[0] for s in seeds]
    return together, alone


def test_restarts_trained_together_equal_restarts_trained_alone():
    """Batching and compaction do not mix restarts: each equals its own run alone (float64)."""
    together, alone = together_and_alone(tol=1e-2, min_epochs=20)
    assert len({r.n_epochs for r in together}) > 1, "restarts should stop at different epochs here"
    for joint, single in zip(together, alone):
        assert joint.n_epochs == single.n_epochs
        assert joint.pseudo_labels == single.pseudo_labels
        # Equal up to rounding: a stacked matrix product may round differently from a single one,
        # and hundreds of multiplicative epochs amplify that in the tiniest entries.
        np.testing.assert_allclose(joint.signatures, single.signatures, rtol=0, atol=1e-4)
        np.testing.assert_allclose(joint.weights, single.weights, rtol=0, atol=1e-3)


def test_counts_and_proportions_give_the_same_model_and_labels_from_pandas():
    import pandas as pd

    from pssnmf.channels import SBS96

    from pssnmf.model.fitted import as_profiles

    X, y, _ = _data()
    proportions = X / X.sum(axis=1, keepdims=True)
    labels = pd.Series(y).where(pd.Series(y).notna(), np.nan)  # unlabelled as NaN, as pandas gives them
    from_counts = IntegratedNMF(**FAST).fit(pd.DataFrame(X, columns=list(SBS96)), labels)
    # The model sees proportions only: counts scaled by 4 (exact in floating point) give the same
    # bits.  Given proportions are re-normalised, which can move the last bit, and training is
    # chaotic at the last bit (it depends on the CPU's rounding), so they are compared as profiles.
    from_scaled = IntegratedNMF(**FAST).fit(4.0 * X, y)
    assert np.array_equal(from_counts.signatures_, from_scaled.signatures_)
    np.testing.assert_allclose(as_profiles(proportions), as_profiles(X), rtol=0, atol=1e-15)
    np.testing.assert_allclose(from_counts.predict_proba(X), from_counts.predict_proba(proportions), atol=1e-12)
    shuffled = pd.DataFrame(X, columns=list(SBS96)[::-1])
    with pytest.raises(ValueError, match="SBS96 channels in COSMIC order"):
        from_counts.transform(shuffled)


@pytest.mark.parametrize("variant", ["soft_pseudo_labels", "revisable_pseudo_labels", "pseudo_label_vote"])
def test_pseudo_label_variants_follow_their_rule(variant):
    """Each variant on a fit: its bookkeeping agrees with its rule; the default stays Algorithm 1."""
    from pssnmf.model.training import train_restarts

    X, y, classes = _data(n_labelled=90, n_unlabelled=150)
    profiles = X / X.sum(axis=1, keepdims=True)
    codes = np.where(y == None, -1, classes)  # noqa: E711
    flags = {"soft_pseudo_labels": "soft", "revisable_pseudo_labels": "revisable", "pseudo_label_vote": "vote"}
    settings = dict(n_signatures=4, pseudo_labeling=True, unlabeled_regularization=False, confidence_threshold=0.5,
                    lambda_c=0.1, lambda_l2=1e-4, mu_w=0.2, tol=1e-2, min_epochs=20, max_epochs=600, dtype="float64")
    seeds = np.random.SeedSequence(3).spawn(3)
    results = train_restarts(profiles, codes, 3, rngs=[np.random.default_rng(s) for s in seeds],
                             **settings, **{flags[variant]: True})
    given = sum(len(r.pseudo_labels) for r in results)
    assert given > 0, "no pseudo-labels on an easy problem"
    for result in results:
        rows = np.array([row for row, *_ in result.pseudo_labels], dtype=int)
        labels = np.array([label for _, label, _, _ in result.pseudo_labels], dtype=int)
        probability = np.array([p for *_, p in result.pseudo_labels])
        assert (rows >= 90).all() and len(set(rows.tolist())) == rows.size
        np.testing.assert_array_equal(result.targets[rows].argmax(axis=1), labels)
        expected_weight = probability if variant == "soft_pseudo_labels" else np.ones(rows.size)
        np.testing.assert_allclose(result.label_mask[rows], expected_weight, rtol=1e-12)
        unlabelled_free = np.setdiff1d(np.arange(90, 240), rows)
        assert (result.label_mask[unlabelled_free] == 0).all() and (result.targets[unlabelled_free] == 0).all()
        if variant != "revisable_pseudo_labels":
            assert result.revisions == []
        for row, label, epoch, revoked_epoch in result.revisions:
            assert revoked_epoch > epoch  # withdrawn after it was given
            later = [g for r, c, g, _ in result.pseudo_labels if r == row]
            assert not later or later[0] >= revoked_epoch  # held again only if given again later
    if variant == "soft_pseudo_labels":
        assert any(p < 1 for r in results for *_, p in r.pseudo_labels)
    # same seed, same result
    again = train_restarts(profiles, codes, 3, rngs=[np.random.default_rng(s) for s in seeds],
                           **settings, **{flags[variant]: True})
    assert [r.pseudo_labels for r in again] == [r.pseudo_labels for r in results]
    assert all(np.array_equal(a.weights, b.weights) for a, b in zip(again, results))


def test_unlabeled_regularization_weight_scales_the_ur_rows():
    X, y, _ = _data()
    params = {**FAST, "mode": "semi_supervised", "unlabeled_regularization": True}
    zero = IntegratedNMF(**params, ur_weight=0.0).fit(X, y)
    plain = IntegratedNMF(**{**params, "unlabeled_regularization": False}).fit(X, y)
    half = IntegratedNMF(**params, ur_weight=0.5).fit(X, y)
    # weight 0 is SS-NMF exactly; weight 0.5 is not
    np.testing.assert_array_equal(zero.restart_signatures_, plain.restart_signatures_)
    assert not np.array_equal(half.restart_signatures_, plain.restart_signatures_)
    with pytest.raises(ValueError, match="ur_weight must be a finite number >= 0.0 and <= 1.0"):
        IntegratedNMF(ur_weight=1.5).fit(X, y)
