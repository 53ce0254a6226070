"""The numerical core: gradients, descent, the U.R. loss (eqs. 3-8, Appendix A)."""

import numpy as np
import pytest

from pssnmf.model import updates
from pssnmf.model.updates import (
    _class_residual,
    _exposure_step,
    _signature_step,
    _weight_step,
    loss_gradients,
    total_loss,
)


def _problem(seed=0, n=12, k=3, o=3, n_labelled=8):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 96))
    X /= X.sum(axis=1, keepdims=True)
    E = rng.random((n, k)) * 0.5
    S = rng.random((k, 96))
    S /= S.sum(axis=1, keepdims=True)
    W = rng.normal(size=(k, o))
    Y = np.zeros((n, o))
    Y[np.arange(n_labelled), rng.integers(0, o, n_labelled)] = 1
    mask = np.r_[np.ones(n_labelled), np.zeros(n - n_labelled)]
    return X, E, S, W, Y, mask


def _loss(X, E, S, W, Y, mask, lambda_c, lambda_l2):
    return total_loss(X, E.T[None], S[None], W[None], Y.T[None], mask[None, None], lambda_c, lambda_l2)[0]


@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_gradients_match_finite_differences(unlabeled_regularization):
    X, E, S, W, Y, mask = _problem()
    if unlabeled_regularization:
        mask = np.ones_like(mask)  # eq. 8: unlabelled rows count, with an all-zero target
    lambda_c, lambda_l2 = 0.7, 0.05
    d_exposures, d_weights = loss_gradients(X, E, S, W, Y, mask, lambda_c, lambda_l2)
    step = 1e-6
    for array, analytic in ((E, d_exposures), (W, d_weights)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + step
            up = _loss(X, E, S, W, Y, mask, lambda_c, lambda_l2)
            array[index] = saved - step
            down = _loss(X, E, S, W, Y, mask, lambda_c, lambda_l2)
            array[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_updates_are_steps_along_the_gradient():
    """Eq. 6 is E - E/(2 E S S') * dL/dE and eq. 7 is W - mu_w/(lambda_c n_l) * dL/dW (averaged scale)."""
    X, E, S, W, Y, mask = _problem(seed=1)
    lambda_c, lambda_l2, mu_w = 0.01, 0.1, 0.3  # small lambda_c: no numerator reaches the floor
    d_exposures, d_weights = loss_gradients(X, E, S, W, Y, mask, lambda_c, lambda_l2)
    residual = _class_residual(E.T[None].copy(), W[None], Y.T[None], mask[None, None])

    exposures_t = E.T[None].copy()
    _exposure_step(exposures_t, S[None], X, W[None], residual, lambda_c)
    denominator = E @ S @ S.T + updates.EPSILON
    # The eps in the denominator shifts the step by E eps / denominator.
    expected = E - E / (2 * denominator) * d_exposures - E * updates.EPSILON / denominator
    np.testing.assert_allclose(exposures_t[0].T, expected, rtol=1e-7, atol=1e-12)

    weights = W[None].copy()
    _weight_step(weights, E.T[None], residual, mu_w, lambda_l2, mask.sum())
    np.testing.assert_allclose(weights[0], W - mu_w / (lambda_c * mask.sum()) * d_weights, rtol=1e-10)


def test_multiplicative_steps_never_increase_reconstruction_loss():
    """lambda_c = 0: eq. 5 and eq. 6 are the Lee-Seung updates and cannot increase ||X - ES||^2."""
    X, E, S, W, Y, mask = _problem(seed=2, n=40, k=4)
    exposures_t, signatures = E.T[None].copy(), S[None].copy()
    residual = np.zeros((1, W.shape[1], X.shape[0]))
    previous = total_loss(X, exposures_t, signatures, W[None], Y.T[None], mask[None, None], 0.0, 0.0)[0]
    for _ in range(200):
        _signature_step(signatures, exposures_t, X)
        after_s = total_loss(X, exposures_t, signatures, W[None], Y.T[None], mask[None, None], 0.0, 0.0)[0]
        _exposure_step(exposures_t, signatures, X, W[None], residual, 0.0)
        after_e = total_loss(X, exposures_t, signatures, W[None], Y.T[None], mask[None, None], 0.0, 0.0)[0]
        assert after_s <= previous * (1 + 1e-12)
        assert after_e <= after_s * (1 + 1e-12)
        previous = after_e


def test_unlabeled_regularization_loss_by_hand():
    """Eq. 8 on a hand-sized problem: 2 labelled rows, 1 unlabelled row, K = 1, O = 2."""
    X = np.zeros((3, 96))
    X[:, 0] = 1.0
    E = np.array([[1.0], [2.0], [0.5]])
    S = np.zeros((1, 96))
    S[0, 0] = 1.0
    W = np.array([[1.0, -1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    lambda_c, lambda_l2 = 0.5, 0.1
    reconstruction = 0.0 + 1.0 + 0.25  # rows: (1-1)^2, (1-2)^2, (1-0.5)^2
    # z = E W: (1, -1), (2, -2), (0.5, -0.5)
    ce_labelled = -np.log(np.exp(1) / (np.exp(1) + np.exp(-1))) - np.log(np.exp(-2) / (np.exp(2) + np.exp(-2)))
    l2 = lambda_l2 * 2.0
    plain = _loss(X, E, S, W, Y, np.array([1.0, 1.0, 0.0]), lambda_c, lambda_l2)
    assert plain == pytest.approx(reconstruction + lambda_c * (ce_labelled + l2), rel=1e-12)
    # U.R.: the unlabelled row's all-zero target adds log(sum_o exp z_o), whose gradient is Yhat - 0.
    regularised = _loss(X, E, S, W, Y, np.ones(3), lambda_c, lambda_l2)
    extra = np.log(np.exp(0.5) + np.exp(-0.5))
    assert regularised == pytest.approx(plain + lambda_c * extra, rel=1e-12)


def test_logits_are_clipped():
    X, E, S, W, Y, mask = _problem(seed=3)
    huge = W * 1e6
    residual = _class_residual(E.T[None].copy(), huge[None], Y.T[None], mask[None, None])
    assert np.isfinite(residual).all()
    assert np.isfinite(_loss(X, E, S, huge, Y, mask, 1.0, 0.0))
