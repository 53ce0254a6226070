"""Out of distribution: a sample the model's signatures explain worse than they explain its
training tumours is flagged ``ood``, and its call is ``undetermined``.

The model is the small real model of ``test_predict.py`` (Zou subclones + 300 TCGA tumours); the
foreign samples are COSMIC signatures it was never trained on, drawn as mutation counts.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

from pssnmf.catalog import read_catalog
from pssnmf.channels import SBS96
from pssnmf.model import IntegratedNMF, load_model, save_model
from pssnmf.predict import NO_OOD_THRESHOLD, predict_counts, read_model
from test_cli_predict import _read_output, run_predict
from test_model_persistence import zou_subclones
from test_predict import model_file, new_tumours, rewrite_model, tcga_counts, trained_model  # noqa: F401


def _cosines(model, counts: np.ndarray) -> np.ndarray:
    """Reconstruction cosines recomputed with scipy's NNLS (section 2.1, "Testing")."""
    proportions = counts / counts.sum(axis=1, keepdims=True)
    reconstruction = np.array([nnls(model.signatures_.T, p)[0] for p in proportions]) @ model.signatures_
    return (proportions * reconstruction).sum(axis=1) / (
        np.linalg.norm(proportions, axis=1) * np.linalg.norm(reconstruction, axis=1))


@pytest.fixture(scope="module")
def training_tumours(data_dir, tmp_path_factory) -> pd.DataFrame:
    """The 300 TCGA tumours the model was trained on (its unlabelled rows)."""
    chosen = trained_model(data_dir, tmp_path_factory.getbasetemp())[1]
    return tcga_counts(data_dir).loc[list(chosen)]


@pytest.fixture(scope="module")
def foreign_samples(model_file, data_dir) -> pd.DataFrame:  # noqa: F811
    """The 5 COSMIC v3.4 signatures the model explains worst, each drawn as 500 mutations."""
    cosmic = read_catalog(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", integer=False)
    worst = cosmic.index[np.argsort(_cosines(load_model(model_file), cosmic.to_numpy(float)))[:5]]
    rng = np.random.default_rng(0)
    draws = [rng.multinomial(500, row / row.sum()) for row in cosmic.loc[worst].to_numpy(float)]
    return pd.DataFrame(draws, index=[f"{s}_500" for s in worst], columns=list(SBS96))


def test_the_threshold_is_the_5th_percentile_of_the_training_tumours(model_file, training_tumours):  # noqa: F811
    model = load_model(model_file)
    expected = np.percentile(_cosines(model, training_tumours.to_numpy(float)), 5)
    assert model.ood_threshold_ == pytest.approx(expected, abs=1e-9)
    assert model.ood_reference_ == {"percentile": 5.0, "samples": "unlabelled", "n": len(training_tumours)}


def test_signatures_the_model_never_saw_are_flagged_and_not_called(model_file, foreign_samples):  # noqa: F811
    model = read_model(model_file)
    table = predict_counts(model, foreign_samples).table
    assert table["ood"].all(), table[["sample", "reconstruction_cosine"]]
    assert (table["call"] == "undetermined").all()
    assert all("out of distribution" in r for r in table["undetermined_reason"])
    for cosine, reason in zip(table["reconstruction_cosine"], table["ood_reason"]):
        assert reason == (f"reconstruction cosine {cosine:.3f} < {model.ood_threshold_:.3f}, the 5th percentile "
                          "of the model's 300 unlabelled training samples")
    # The flag never changes the prediction itself.
    proba = model.predict_proba(foreign_samples.to_numpy(float))
    assert list(table["predicted"]) == [str(c) for c in model.classes_[proba.argmax(axis=1)]]


def test_training_like_samples_are_not_flagged(model_file, training_tumours, new_tumours, data_dir):  # noqa: F811
    model = read_model(model_file)
    # The training tumours: the 5 % below their own 5th percentile, by construction.
    assert predict_counts(model, training_tumours, n_resamples=0).table["ood"].mean() <= 0.05
    # The 46 real Zou knockout subclones (the labelled profiles) and unseen tumours with 50 or more mutations.
    subclones, _ = zou_subclones(data_dir)
    assert not predict_counts(model, pd.DataFrame(subclones, columns=list(SBS96)), n_resamples=0).table["ood"].any()
    rich = new_tumours[new_tumours.sum(axis=1) >= 50]
    assert predict_counts(model, rich, n_resamples=0).table["ood"].mean() <= 0.1


def test_ood_joins_the_other_reasons_of_the_call(model_file, foreign_samples):  # noqa: F811
    """One mechanism: ``call`` and ``undetermined_reason``, with or without resampling."""
    model = read_model(model_file)
    few = foreign_samples.iloc[:2] // 20  # 25 mutations or so: few, and still foreign
    assert (few.sum(axis=1) < 50).all()
    for n_resamples in (0, 50):
        table = predict_counts(model, pd.concat([foreign_samples, few.set_axis(["a", "b"])]),
                               n_resamples=n_resamples).table
        assert table["ood"].all() and (table["call"] == "undetermined").all()
        assert list(table["undetermined_reason"].iloc[-2:]) == ["few mutations; out of distribution"] * 2
        assert set(table["undetermined_reason"].iloc[:-2]) <= {"out of distribution",
                                                               "wide interval; out of distribution"}


def test_the_threshold_travels_in_the_model_file(model_file, tmp_path):  # noqa: F811
    model = load_model(model_file)
    save_model(model, tmp_path / "again.npz")
    again = load_model(tmp_path / "again.npz")
    assert again.ood_threshold_ == model.ood_threshold_ and again.ood_reference_ == model.ood_reference_
    assert read_model(tmp_path / "again.npz").ood_threshold_ == model.ood_threshold_


def test_a_supervised_model_takes_its_threshold_from_the_labelled_samples(data_dir, tmp_path):
    X, labels = zou_subclones(data_dir)
    model = IntegratedNMF(n_signatures=3, mode="supervised", n_restarts=1, min_epochs=10, max_epochs=50,
                          random_state=0).fit(X, np.array(labels))
    assert model.ood_reference_ == {"percentile": 5.0, "samples": "labelled", "n": len(X)}
    assert model.ood_threshold_ == pytest.approx(np.percentile(_cosines(model, X), 5), abs=1e-9)


def _version_1(info: dict) -> None:
    info["format_version"] = 1
    info.pop("ood")


def test_a_version_1_file_loads_without_a_threshold_and_says_so(model_file, new_tumours, tmp_path,  # noqa: F811
                                                                caplog):
    old = rewrite_model(model_file, tmp_path / "old.npz", _version_1)
    model = read_model(old)
    assert np.isnan(model.ood_threshold_) and model.ood_reference_ is None
    with caplog.at_level(logging.WARNING, logger="pssnmf.predict"):
        table = predict_counts(model, new_tumours).table
    assert caplog.text.count("no out-of-distribution threshold") == 1
    assert table["ood"].isna().all() and (table["ood_reason"] == NO_OOD_THRESHOLD).all()
    assert not table["undetermined_reason"].str.contains("out of distribution").any()
    # Saved again, it stays without one (format 2, "ood": null), and the command writes an empty column.
    save_model(model, tmp_path / "resaved.npz")
    assert np.isnan(load_model(tmp_path / "resaved.npz").ood_threshold_)
    catalog = tmp_path / "c.tsv"
    new_tumours.iloc[:3].T.rename_axis("MutationType").to_csv(catalog, sep="\t")
    result = run_predict("--model", old, "--catalog", catalog, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("no out-of-distribution threshold") == 1
    assert _read_output(tmp_path / "out")["ood"].isna().all()


@pytest.mark.parametrize(("change", "words"), [
    (lambda info: info.pop("ood"), "entries ['ood'] missing"),
    (lambda info: info.update(format_version=1), "['ood'] unknown"),
    (lambda info: info.update(ood=0.8), "ood: expected null or {threshold"),
    (lambda info: info["ood"].update(threshold=1.5), "ood: expected null or {threshold"),
    (lambda info: info["ood"].update(samples="tumours"), "ood: expected null or {threshold"),
    (lambda info: info["ood"].update(n=0), "ood: expected null or {threshold"),
], ids=["missing", "in_version_1", "a_number", "not_a_cosine", "unknown_samples", "no_samples"])
def test_a_damaged_threshold_is_refused(model_file, tmp_path, change, words):  # noqa: F811
    damaged = rewrite_model(model_file, tmp_path / "damaged.npz", change)
    with pytest.raises(ValueError) as caught:
        load_model(damaged)
    assert "damaged.npz" in str(caught.value) and words in str(caught.value), str(caught.value)


def test_the_command_counts_the_samples_out_of_distribution(model_file, foreign_samples, new_tumours,  # noqa: F811
                                                            tmp_path):
    counts = pd.concat([foreign_samples, new_tumours.iloc[:5]])
    catalog = tmp_path / "c.tsv"
    counts.T.rename_axis("MutationType").to_csv(catalog, sep="\t")
    result = run_predict("--model", model_file, "--catalog", catalog, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    table = _read_output(tmp_path / "out")
    n_ood = int(table["ood"].sum())
    assert n_ood >= len(foreign_samples)
    assert f"{n_ood} of {len(counts)} samples out of distribution (reconstruction cosine below" in result.stderr
    assert f"{n_ood} out of distribution)" in result.stderr
