"""The numerical core: gradients, descent, the U.R. loss (eqs. 3-8, Appendix A)."""

import numba
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


def _loss(X, E, S, W, Y, mask, lambda_c, lambda_l2, null=None):
    null_t = None if null is None else null[None, None]
    return total_loss(X, E.T[None], S[None], W[None], Y.T[None], mask[None, None], lambda_c, lambda_l2, null_t)[0]


@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_gradients_match_finite_differences(unlabeled_regularization):
    X, E, S, W, Y, mask = _problem()
    null = None
    if unlabeled_regularization:
        null = 1.0 - mask  # eq. 8: unlabelled rows count, their target the null class
        mask = np.ones_like(mask)
    lambda_c, lambda_l2 = 0.7, 0.05
    d_exposures, d_weights = loss_gradients(X, E, S, W, Y, mask, lambda_c, lambda_l2, null)
    step = 1e-6
    for array, analytic in ((E, d_exposures), (W, d_weights)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + step
            up = _loss(X, E, S, W, Y, mask, lambda_c, lambda_l2, null)
            array[index] = saved - step
            down = _loss(X, E, S, W, Y, mask, lambda_c, lambda_l2, null)
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
    # U.R.: the unlabelled row's all-zero target is a null class of logit 0, so the row adds
    # -log P(null) = log(1 + sum_o exp z_o) >= 0, whose gradient in z is the Yhat - 0 of eqs. 6-7.
    regularised = _loss(X, E, S, W, Y, np.ones(3), lambda_c, lambda_l2, null=np.array([0.0, 0.0, 1.0]))
    extra = np.log(1 + np.exp(0.5) + np.exp(-0.5))
    assert regularised == pytest.approx(plain + lambda_c * extra, rel=1e-12)
    # Bounded below: driving the row's logits down lowers its term towards 0, never below.
    for scale in (10.0, 1e3, 1e6):
        far = _loss(X, E, S, np.array([[-scale, -scale]]), Y, np.array([0.0, 0.0, 1.0]),
                    lambda_c, 0.0, null=np.array([0.0, 0.0, 1.0]))
        assert 0.0 <= far - reconstruction < lambda_c * extra
    # Its residual is softmax over (z, 0) without the null column: Yhat - 0 with the null class in the denominator.
    residual = _class_residual(E.T[None].copy(), W[None], Y.T[None], np.ones((1, 1, 3)), np.array([[[0.0, 0.0, 1.0]]]))
    z = np.array([0.5, -0.5])
    np.testing.assert_allclose(residual[0][:, 2], np.exp(z) / (1 + np.exp(z).sum()), rtol=1e-12)


def test_logits_are_clipped():
    X, E, S, W, Y, mask = _problem(seed=3)
    huge = W * 1e6
    residual = _class_residual(E.T[None].copy(), huge[None], Y.T[None], mask[None, None])
    assert np.isfinite(residual).all()
    assert np.isfinite(_loss(X, E, S, huge, Y, mask, 1.0, 0.0))


# 30 multiplicative epochs amplify the rounding differences of a different summation order (float32:
# seen 1e-3 of the largest entry; float64: 1.3e-11 in a few entries of one U.R. restart, from
# 1e-16 after one epoch, which the first check bounds tightly).
@pytest.mark.parametrize("dtype, tolerance, loss_tolerance, one_epoch",
                         [("float64", 1e-10, 1e-12, 1e-14), ("float32", 5e-3, 1e-5, 1e-5)])
@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_compiled_epoch_and_loss_equal_the_numpy_reference(dtype, tolerance, loss_tolerance, one_epoch,
                                                             unlabeled_regularization):
    """kernels.epochs (what training runs) against updates.epoch (the equations, one numpy call per term)."""
    from pssnmf.model import kernels

    n_restarts, n, k, o, n_labelled = 3, 60, 4, 3, 30
    rng = np.random.default_rng(5)
    X = rng.random((n, 96)) ** 4
    X = (X / X.sum(axis=1, keepdims=True)).astype(dtype)
    exposures_t = rng.random((n_restarts, k, n)).astype(dtype)
    signatures = rng.random((n_restarts, k, 96))
    signatures = (signatures / signatures.sum(axis=2, keepdims=True)).astype(dtype)
    weights = rng.normal(size=(n_restarts, k, o)).astype(dtype)
    targets_t = np.zeros((n_restarts, o, n), dtype)
    targets_t[:, rng.integers(0, o, n_labelled), np.arange(n_labelled)] = 1
    labelled = np.arange(n) < n_labelled
    mask = np.tile(np.where(labelled, 1.0, 0.5 if unlabeled_regularization else 0.0), (n_restarts, 1)).astype(dtype)
    null = np.tile((~labelled & unlabeled_regularization).astype(float), (n_restarts, 1)).astype(dtype)
    n_l = mask.sum(axis=1)
    lambda_c, lambda_l2, mu_w = 0.5, 1e-3, 0.2
    reference = [a.copy() for a in (exposures_t, signatures, weights)]
    fast = [a.copy() for a in (exposures_t, signatures, weights)]
    split = [a.copy() for a in (exposures_t, signatures, weights)]
    target_class = kernels.target_classes(targets_t)
    x_squared = float(np.einsum("nm,nm->", X, X, dtype=np.float64))
    first = [a.copy() for a in (exposures_t, signatures, weights)]
    updates.epoch(X, *first, targets_t, mask[:, None], n_l[:, None, None], lambda_c, lambda_l2, mu_w,
                  null_t=null[:, None])
    one = [a.copy() for a in (exposures_t, signatures, weights)]
    kernels.epochs(1, X, x_squared, *one, target_class, mask, null, n_l, lambda_c, lambda_l2, mu_w,
                   kernels.EpochBuffers(n_restarts, k, n, 96, o, np.dtype(dtype)), with_loss=False)
    for name, a, b in zip(("E", "S", "W"), first, one):
        np.testing.assert_allclose(b, a, rtol=0, atol=one_epoch * np.abs(a).max(), err_msg=f"{name} after one epoch")
    for _ in range(30):
        updates.epoch(X, *reference, targets_t, mask[:, None], n_l[:, None, None], lambda_c, lambda_l2, mu_w,
                      null_t=null[:, None])
    buffers = kernels.EpochBuffers(n_restarts, k, n, 96, o, np.dtype(dtype))
    losses = kernels.epochs(30, X, x_squared, *fast, target_class, mask, null, n_l, lambda_c, lambda_l2, mu_w,
                            buffers)
    for name, a, b in zip(("E", "S", "W"), reference, fast):
        assert b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(b, a, rtol=0, atol=tolerance * np.abs(a).max(), err_msg=name)
    # the same 30 epochs in three calls (E'X and E'E carried between calls) give the same bits
    split_buffers = kernels.EpochBuffers(n_restarts, k, n, 96, o, np.dtype(dtype))
    for n_run in (7, 3, 20):
        kernels.epochs(n_run, X, x_squared, *split, target_class, mask, null, n_l, lambda_c, lambda_l2, mu_w,
                       split_buffers, with_loss=False)
    for name, a, b in zip(("E", "S", "W"), fast, split):
        np.testing.assert_array_equal(b, a, err_msg=name)
    # a restart's result does not depend on what is batched with it, nor on the threads or groups: each
    # restart alone, and the three in three groups on two threads, give the same bits as the batch --
    # where the BLAS itself gives a row block of a product the same bits whatever the rows around it
    # (OpenBLAS's float32 kernels on some CPUs do not: docs/model.md, "Reproducibility and precision")
    batch_invariant = _blas_row_blocks_are_batch_invariant(np.dtype(dtype), n)
    for r in range(n_restarts if batch_invariant else 0):
        alone = [a[r:r + 1].copy() for a in (exposures_t, signatures, weights)]
        kernels.epochs(30, X, x_squared, *alone, target_class[r:r + 1], mask[r:r + 1], null[r:r + 1],
                       n_l[r:r + 1], lambda_c, lambda_l2, mu_w, kernels.EpochBuffers(1, k, n, 96, o, np.dtype(dtype)),
                       with_loss=False)
        for name, a, b in zip(("E", "S", "W"), fast, alone):
            np.testing.assert_array_equal(b[0], a[r], err_msg=f"{name} of restart {r} trained alone")
    previous = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        grouped = [a.copy() for a in (exposures_t, signatures, weights)]
        kernels.epochs(30, X, x_squared, *grouped, target_class, mask, null, n_l, lambda_c, lambda_l2, mu_w,
                       kernels.EpochBuffers(n_restarts, k, n, 96, o, np.dtype(dtype)), with_loss=False, n_groups=3)
    finally:
        numba.set_num_threads(previous)
    for name, a, b in zip(("E", "S", "W"), fast, grouped):
        if batch_invariant:
            np.testing.assert_array_equal(b, a, err_msg=f"{name} with the restarts in groups on two threads")
    expected = total_loss(X, *fast, targets_t, mask[:, None], lambda_c, lambda_l2, null[:, None])
    np.testing.assert_allclose(losses, expected, rtol=loss_tolerance)
    if not batch_invariant:
        pytest.skip(f"this BLAS gives {dtype} row blocks of a product other bits than the whole product, so a "
                    "restart's bits depend on its batch here; everything else was checked")


def _blas_row_blocks_are_batch_invariant(dtype, n_inner):
    """Whether (A B)[rows] == A[rows] B bit for bit, for the shapes the training products have."""
    rng = np.random.default_rng(0)
    A, B = rng.random((12, n_inner)).astype(dtype), rng.random((n_inner, 96)).astype(dtype)
    whole = A @ B
    return all(np.array_equal(whole[i:i + 4], A[i:i + 4] @ B) for i in range(0, 12, 4))


@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_weight_refit_equals_the_numpy_reference_and_lowers_the_classification_loss(unlabeled_regularization):
    """refit_weights (compiled eq. 7 with E fixed) against updates._weight_step run epoch by epoch."""
    from pssnmf.model.refit import refit_weights
    from pssnmf.model.training import CHECK_EVERY

    n, k, o, n_labelled, lambda_l2, mu_w = 700, 5, 4, 400, 1e-3, 0.2  # 700 rows: a partial last block
    rng = np.random.default_rng(11)
    exposures = rng.random((n, k)) * 3
    weights = rng.normal(size=(k, o))
    targets = np.zeros((n, o))
    targets[np.arange(n_labelled), rng.integers(0, o, n_labelled)] = 1
    labelled = np.arange(n) < n_labelled
    mask = np.where(labelled, 1.0, 0.5 if unlabeled_regularization else 0.0)
    null = (~labelled & unlabeled_regularization).astype(float)
    n_epochs = 5 * CHECK_EVERY
    fitted = refit_weights(exposures, weights, targets, mask, mu_w=mu_w, lambda_l2=lambda_l2, tol=0.0,
                           max_epochs=n_epochs)  # tol 0: runs all n_epochs
    exposures_t, reference = exposures.T[None].copy(), weights[None].copy()
    targets_t, mask_t, null_t = targets.T[None], mask[None, None], null[None, None]
    for _ in range(n_epochs):
        residual = updates._class_residual(exposures_t, reference, targets_t, mask_t, null_t)
        updates._weight_step(reference, exposures_t, residual, mu_w, lambda_l2, mask.sum())
    np.testing.assert_allclose(fitted, reference[0], rtol=0, atol=1e-12 * np.abs(reference).max())
    before, after = (updates.classification_loss(exposures_t, w[None], targets_t, mask_t, lambda_l2, null_t)[0]
                     for w in (weights, fitted))
    assert np.isfinite(after) and after < before, (before, after)
    with pytest.raises(ValueError, match="no row has l > 0"):
        refit_weights(exposures, weights, targets, np.zeros(n), mu_w=mu_w, lambda_l2=lambda_l2, tol=1e-6,
                      max_epochs=10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_exp_is_within_one_ulp_over_the_clipped_logits(dtype):
    """kernels._exp (inside the training kernels) against exp computed in extended precision."""
    from pssnmf.model import kernels

    dtype = np.dtype(dtype)
    if np.finfo(np.longdouble).precision <= np.finfo(dtype).precision:
        pytest.skip("no extended precision on this platform to check float64 against")
    x = np.concatenate([np.linspace(-updates.LOGIT_CLIP, updates.LOGIT_CLIP, 20001),
                        np.random.default_rng(0).uniform(-updates.LOGIT_CLIP, updates.LOGIT_CLIP, 20000)])
    x = x.astype(dtype)
    out = np.empty_like(x)
    kernels.exp_array(x, out, kernels.exp_constants(dtype))
    exact = np.exp(x.astype(np.longdouble))
    ulps = np.abs(out.astype(np.longdouble) - exact) / (exact * np.finfo(dtype).eps)
    assert out.dtype == dtype
    assert float(ulps.max()) <= 1.0, f"{dtype}: worst error {float(ulps.max()):.2f} ulp at x = {x[ulps.argmax()]}"
