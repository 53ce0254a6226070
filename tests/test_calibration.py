"""Reliability curves, top-label ECE and temperature scaling on constructed cases."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

from pssnmf.calibration import (
    TemperatureScaledClassifier,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_curve,
)

CLASSES = np.array(["BER", "HR", "MMR"], dtype=object)
N = 20_000


def _calibrated(seed=0):
    """Probabilities and labels drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, size=(N, 3))
    probabilities = softmax(logits, axis=1)
    labels = CLASSES[(rng.random(N)[:, None] > probabilities.cumsum(axis=1)).sum(axis=1)]
    return logits, probabilities, labels


def _sampling_bound(curve):
    """3 standard errors of the count-weighted |accuracy - confidence| when the truth is calibrated."""
    used = curve[curve["count"] > 0]
    p = used["mean_predicted"].to_numpy()
    n = used["count"].to_numpy()
    return float((n / n.sum() * 3 * np.sqrt(p * (1 - p) / n)).sum())


def test_reliability_curve_and_ece_by_hand():
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.45, 0.55]])
    truth = ["a", "b", "a", "b"]
    curve = reliability_curve(probabilities, truth, ["a", "b"], n_bins=5)
    assert curve["count"].tolist() == [0, 0, 2, 1, 1]  # bins (0.4, 0.6], (0.6, 0.8], (0.8, 1]
    np.testing.assert_allclose(curve["mean_predicted"].to_numpy()[2:], [0.575, 0.8, 0.9])
    np.testing.assert_allclose(curve["observed_frequency"].to_numpy()[2:], [1.0, 0.0, 1.0])
    # ECE = 2/4 |1 - 0.575| + 1/4 |0 - 0.8| + 1/4 |1 - 0.9|
    assert expected_calibration_error(probabilities, truth, ["a", "b"], n_bins=5) == pytest.approx(0.4375)


def test_calibrated_set_has_ece_within_sampling_error():
    _, probabilities, labels = _calibrated()
    for n_bins in (5, 10, 20):
        curve = reliability_curve(probabilities, labels, CLASSES, n_bins=n_bins)
        assert curve["count"].sum() == N
        ece = expected_calibration_error(probabilities, labels, CLASSES, n_bins=n_bins)
        bound = _sampling_bound(curve)
        assert ece < bound, f"{n_bins} bins: ECE {ece:.4f} above the sampling bound {bound:.4f}"


def test_overconfident_set_has_higher_ece_and_temperature_scaling_lowers_it():
    logits, probabilities, labels = _calibrated(seed=1)
    overconfident = softmax(3.0 * logits, axis=1)  # true temperature 3
    ece_calibrated = expected_calibration_error(probabilities, labels, CLASSES)
    ece_over = expected_calibration_error(overconfident, labels, CLASSES)
    assert ece_over > ece_calibrated + 0.05, f"overconfident ECE {ece_over:.3f} vs calibrated {ece_calibrated:.3f}"

    temperature = fit_temperature(overconfident, labels, CLASSES)
    assert temperature == pytest.approx(3.0, rel=0.05), f"fitted T = {temperature:.3f}, constructed 3"
    rescaled = apply_temperature(overconfident, temperature)
    ece_after = expected_calibration_error(rescaled, labels, CLASSES)
    assert ece_after < ece_over / 3, f"ECE {ece_over:.3f} -> {ece_after:.3f} after T = {temperature:.3f}"
    assert np.array_equal(rescaled.argmax(axis=1), overconfident.argmax(axis=1)), "T must not change the argmax"
    # the same T from logits
    assert fit_temperature(logits=3.0 * logits, truth=labels, classes=CLASSES) == pytest.approx(temperature, rel=1e-4)


def test_underconfident_set_gets_temperature_below_one():
    logits, _, labels = _calibrated(seed=2)
    assert fit_temperature(softmax(logits / 2.0, axis=1), labels, CLASSES) == pytest.approx(0.5, rel=0.05)


def test_temperature_one_is_identity():
    logits, probabilities, _ = _calibrated(seed=3)
    assert np.array_equal(apply_temperature(probabilities, 1.0), probabilities)
    np.testing.assert_allclose(apply_temperature(logits=logits, temperature=1.0), probabilities, rtol=1e-12)
    np.testing.assert_allclose(apply_temperature(probabilities[:100], 1.0 + 1e-12), probabilities[:100], atol=1e-9)


def test_temperature_scaled_classifier_wraps_a_fitted_model():
    logits, _, labels = _calibrated(seed=4)
    features = logits + np.random.default_rng(5).normal(0, 0.5, logits.shape)
    model = LogisticRegression(C=1e4, max_iter=2000).fit(features[:5000], labels[:5000])
    scaled = TemperatureScaledClassifier(model).fit(features[5000:10000], labels[5000:10000])
    assert scaled.temperature_ > 0
    np.testing.assert_allclose(scaled.predict_proba(features[10000:]),
                               apply_temperature(model.predict_proba(features[10000:]), scaled.temperature_))
    assert np.array_equal(scaled.predict(features[10000:]), model.predict(features[10000:]))


def test_errors():
    _, probabilities, labels = _calibrated()
    with pytest.raises(ValueError, match="not one of the classes"):
        fit_temperature(probabilities[:10], np.r_[labels[:9], ["Control"]], CLASSES)
    with pytest.raises(ValueError, match="sums to"):
        expected_calibration_error(probabilities * 2, labels, CLASSES)
    with pytest.raises(ValueError, match="temperature must be"):
        apply_temperature(probabilities, 0.0)
    with pytest.raises(ValueError, match="columns but there are"):
        reliability_curve(probabilities, labels, CLASSES[:2])


def test_calibration_table_by_source_and_model():
    """calibration_table pools the rows of each (model, source) and applies each model's T."""
    from pssnmf.calibration import apply_temperature, expected_calibration_error
    from pssnmf.tables import calibration_table

    rng = np.random.default_rng(4)
    classes = ["A", "B", "C"]
    n = 3000
    logits = rng.normal(size=(n, 3)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(classes, p=row) for row in p])
    sharp = apply_temperature(p, 1 / 3)  # overconfident copy
    rows = []
    for model, probs in (("m1", p), ("m2", sharp)):
        frame = pd.DataFrame(probs, columns=[f"probability_{c}" for c in classes])
        frame["model"], frame["truth"] = model, truth
        frame["predicted"] = np.asarray(classes)[probs.argmax(axis=1)]
        frame["source"] = np.where(np.arange(n) % 2 == 0, "cell_line", "tumour")
        rows.append(frame)
    table, curves = calibration_table(pd.concat(rows, ignore_index=True), {"m1": np.nan, "m2": 3.0})
    assert list(zip(table["model"], table["source"])) == [("m1", "cell lines"), ("m1", "TCGA"),
                                                           ("m2", "cell lines"), ("m2", "TCGA")]
    m2 = table[(table["model"] == "m2") & (table["source"] == "cell lines")].iloc[0]
    even = np.arange(n) % 2 == 0
    assert m2["ece"] == pytest.approx(expected_calibration_error(sharp[even], truth[even], classes))
    assert m2["ece_scaled"] < m2["ece"] / 2  # T = 3 undoes the sharpening
    assert np.isnan(table[table["model"] == "m1"]["ece_scaled"]).all()
    assert set(curves["scaling"]) == {"raw", "temperature"}
    assert set(curves.loc[curves["model"] == "m1", "scaling"]) == {"raw"}
