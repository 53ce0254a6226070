"""The "bcd" solver: its compiled steps against the numpy reference, descent, stationarity, batching."""

import copy

import numpy as np
import pytest

from pssnmf.model import IntegratedNMF, bcd, bcd_kernels
from pssnmf.solvers import SOLVER_DEFAULTS
from pssnmf.model.training import initial_state
from pssnmf.model.updates import LOGIT_CLIP, total_loss

from test_model_estimator import _data, together_and_alone


def _state(unlabeled_regularization, n_restarts=3, k=4, seed=0, lambda_c=0.5, lambda_l2=1e-3):
    X, y, classes = _data(seed=seed, n_labelled=70, n_unlabelled=50)
    profiles = X / X.sum(axis=1, keepdims=True)
    codes = np.where(y == None, -1, classes)  # noqa: E711
    rngs = [np.random.default_rng(seed + r) for r in range(n_restarts)]
    starts = [initial_state(len(profiles), k, 96, 3, rng) for rng in rngs]
    labelled = codes >= 0
    mask = np.tile(np.where(labelled, 1.0, 0.7 if unlabeled_regularization else 0.0), (n_restarts, 1))
    null = np.tile((~labelled & unlabeled_regularization).astype(float), (n_restarts, 1))
    return bcd.State(profiles, np.stack([s[0] for s in starts]), np.stack([s[1] for s in starts]),
                     np.stack([s[2] for s in starts]), np.tile(codes, (n_restarts, 1)), mask, null, lambda_c, lambda_l2)


@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_compiled_steps_equal_the_numpy_reference(unlabeled_regularization):
    state = _state(unlabeled_regularization)
    bcd.start(state)
    for _ in range(3):  # a few iterations in, where some exposures sit at 0 and rows are held
        bcd.iterate(state, 1)
    reference = copy.deepcopy(state)
    bcd.signature_step_reference(reference)
    bcd_kernels.signature_step(state.S, state.etx, state.gram_e, bcd.SIGNATURE_SWEEPS)
    np.testing.assert_allclose(state.S, reference.S, rtol=0, atol=1e-13)
    assert (reference.S == 0).any(), "the test should reach signature entries at 0 (the simplex's faces)"
    reference, compiled = copy.deepcopy(state), copy.deepcopy(state)
    xst, gram_s = bcd.exposure_step_reference(reference)
    bcd_kernels.exposure_step(compiled.E, xst, gram_s, compiled.x_squared, compiled.W, compiled.target_class,
                              compiled.label_mask, compiled.null, compiled.lambda_c, LOGIT_CLIP)
    np.testing.assert_allclose(compiled.E, reference.E, rtol=0, atol=1e-10 * np.abs(reference.E).max())
    assert (reference.E == 0).any(), "the test should reach exposures held at 0"
    gradient = np.empty_like(compiled.W)
    bcd_kernels.weight_step(compiled.E, compiled.W, compiled.target_class, compiled.label_mask, compiled.null,
                            compiled.lambda_l2, LOGIT_CLIP, 2, gradient)
    reference_gradient = bcd.weight_step_reference(reference, 2)
    np.testing.assert_allclose(compiled.W, reference.W, rtol=0, atol=1e-9 * np.abs(reference.W).max())
    np.testing.assert_allclose(gradient, reference_gradient, rtol=0, atol=1e-9)
    compiled_objective = bcd._class_objective(compiled, compiled.E, compiled.W, compiled=True)
    reference_objective = bcd._class_objective(compiled, compiled.E, compiled.W, compiled=False)
    np.testing.assert_allclose(compiled_objective, reference_objective, rtol=1e-12)


@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_extrapolation_moves_a_restart_only_where_it_lowers_the_loss(unlabeled_regularization):
    """The extrapolated point is taken exactly where its loss is below the plain iteration's, and
    beta follows (up where taken, down where not); a restart that took one pauses for
    EXTRAPOLATION_PAUSE iterations (no trial, beta kept).  All three occur here."""
    state = _state(unlabeled_regularization, n_restarts=6, lambda_c=1.0)
    bcd.start(state)
    seen = {"taken": False, "rejected": False, "paused": False}
    for _ in range(40):
        bcd.iterate(state, 1)  # a state with history: some betas grown, some shrunk, some paused
        previous = (state.E.copy(), state.S.copy(), state.W.copy())
        bcd._signature_step(state)
        xst, gram_s = bcd.exposure_step_reference(state)
        bcd.weight_step_reference(state, bcd.WEIGHT_NEWTON_STEPS)
        bcd._products_of_e(state)
        plain = copy.deepcopy(state)
        loss = bcd._reconstruction(state, (state.etx * state.S).sum(axis=(1, 2)), state.gram_e, gram_s) + (
            state.lambda_c * bcd._class_objective(state, state.E, state.W, compiled=False))
        beta, pause = state.beta.copy(), state.pause.copy()
        gram_s = bcd._extrapolate(state, previous, loss, gram_s, compiled=True)
        after = bcd._reconstruction(state, (state.etx * state.S).sum(axis=(1, 2)), state.gram_e, gram_s) + (
            state.lambda_c * bcd._class_objective(state, state.E, state.W, compiled=True))  # as _extrapolate
        taken, paused = state.beta > beta, pause > 0
        rejected = ~taken & ~paused
        assert not (taken & paused).any()
        np.testing.assert_array_equal(state.beta[paused], beta[paused])
        np.testing.assert_array_equal(state.pause[paused], pause[paused] - 1)
        assert (state.beta[rejected] < beta[rejected]).all()
        assert (state.pause[taken] == bcd.EXTRAPOLATION_PAUSE).all()
        np.testing.assert_allclose(after[~taken], loss[~taken], rtol=1e-14)
        np.testing.assert_array_equal(state.E[~taken], plain.E[~taken])
        assert (after[taken] < loss[taken]).all()
        np.testing.assert_allclose(state.etx, np.matmul(np.swapaxes(state.E, 1, 2), state.X), rtol=1e-12)
        np.testing.assert_allclose(state.S.sum(axis=2), 1.0, rtol=1e-12)
        assert (state.E >= 0).all() and (state.S >= 0).all()
        for name, where in (("taken", taken), ("rejected", rejected), ("paused", paused)):
            seen[name] |= bool(where.any())
    assert all(seen.values()), seen


@pytest.mark.parametrize("unlabeled_regularization", [False, True])
def test_every_iteration_lowers_the_paper_loss_and_reaches_a_stationary_point(unlabeled_regularization):
    """The loss the solver reports is updates.total_loss (eq. 4), it never rises, and the relative
    projected gradient falls by orders of magnitude (a stationary point, not a stall)."""
    state = _state(unlabeled_regularization, lambda_c=1.0, lambda_l2=1e-4)
    losses, measures = [], []
    for _ in range(150):
        loss, measure = bcd.iterate(state, 1)
        losses.append(loss)
        measures.append(measure)
    losses, measures = np.array(losses), np.array(measures)
    rises = np.diff(losses, axis=0)
    assert (rises <= 1e-12 * np.abs(losses[:-1])).all(), f"the loss rose by up to {rises.max():.3g}"
    expected = total_loss(state.X, state.E.transpose(0, 2, 1), state.S, state.W, state.onehot.transpose(0, 2, 1),
                          state.label_mask[:, None], state.lambda_c, state.lambda_l2, state.null[:, None])
    np.testing.assert_allclose(losses[-1], expected, rtol=1e-12)
    assert (measures[-1] < 1e-4).all(), f"relative projected gradient after 150 iterations: {measures[-1]}"
    np.testing.assert_allclose(state.S.sum(axis=2), 1.0, rtol=1e-12)  # signatures stay on the simplex
    assert (state.E >= 0).all() and (state.S >= 0).all()


def test_lower_loss_than_the_paper_updates_from_the_same_start():
    """From the same seeded starts, bcd at its default tolerance ends at a loss no higher than "mu"
    run 10x longer than its own default stop allows (both descend the same loss)."""
    X, y, _ = _data(n_labelled=150, n_unlabelled=150)
    params = dict(n_signatures=4, mode="semi_supervised", lambda_c=0.5, lambda_l2=1e-4, n_restarts=3, random_state=3)
    fast = IntegratedNMF(**params).fit(X, y)
    slow = IntegratedNMF(**params, solver="mu", tol=1e-5, max_epochs=20000).fit(X, y)
    for a, b in zip(fast.loss_history_, slow.loss_history_):
        assert a[-1] <= b[-1] * (1 + 1e-6), f"bcd {a[-1]:.6g} vs mu {b[-1]:.6g}"
    assert fast.n_epochs_.max() < SOLVER_DEFAULTS["bcd"]["max_epochs"], "a restart was stopped by the cap"


def test_restarts_trained_together_equal_restarts_trained_alone_bit_for_bit():
    together, alone = together_and_alone(tol=1e-4, min_epochs=10, solver="bcd")
    assert len({r.n_epochs for r in together}) > 1, "restarts should stop at different iterations here"
    assert any(r.pseudo_labels for r in together), "the test should pseudo-label"
    for joint, single in zip(together, alone):
        assert joint.n_epochs == single.n_epochs
        assert joint.pseudo_labels == single.pseudo_labels
        for name in ("signatures", "exposures", "weights"):
            np.testing.assert_array_equal(getattr(joint, name), getattr(single, name), err_msg=name)


@pytest.mark.parametrize("change, expected", [(0.0, 10), (1e-9, 10), (1e-7, 50)])
def test_a_restart_whose_loss_stopped_changing_has_converged(monkeypatch, change, expected):
    """At a kink of the clipped logits no step lowers the loss while the projected gradient stays
    above tol: a loss unchanged (to BCD_STALLED, 1e-8) from one check to the next stops the restart; a
    loss still falling faster does not."""
    losses = {}

    def stuck(state, n_iterations):
        n = len(state.E)
        losses[n] = losses.get(n, 10.0) * (1 - change)
        return np.full(n, losses[n]), np.full(n, 1.0)

    monkeypatch.setattr(bcd, "iterate", stuck)
    X, y, _ = _data()
    model = IntegratedNMF(n_signatures=3, mode="semi_supervised", n_restarts=2, random_state=0,
                          max_epochs=50).fit(X, y)
    assert (model.n_epochs_ == expected).all()


def test_solver_options_are_validated():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="solver must be one of bcd, mu"):
        IntegratedNMF(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="float32.*needs solver='mu'"):
        IntegratedNMF(dtype="float32").fit(X, y)
    with pytest.raises(ValueError, match=r"min_epochs \(3000\) must not exceed max_epochs \(2000\)"):
        IntegratedNMF(min_epochs=3000).fit(X, y)
