"""The ``"bcd"`` solver: block coordinate descent on the paper's loss, each block minimised by a
method that converges in few steps (docs/model.md, "Solvers").

The loss is the one the paper's updates descend (eq. 4 with eq. 3, or eq. 8 under U.R.), in the
scale of :mod:`.updates`, over E >= 0, W free and S >= 0 with rows summing to 1 (the scale that
the ``"mu"`` solver fixes by renormalising S):

    L = ||X - E S||_F^2 + lambda_c [ sum_n l_n (log(u_n + sum_o exp z_no) - y_n . z_n) + lambda_l2 ||W||^2 ],
    z = clip(E W, +-50).

One iteration ("epoch") takes the blocks in the order of the ``"mu"`` solver's epoch:

1. **S** (the eq. 5 sub-problem, E fixed): each row s_k of S minimised exactly in turn, on the
   simplex (hierarchical ALS): ``s_k <- proj_simplex(s_k + ((E'X)_k - (E'E S)_k) / (E'E)_kk)``,
   ``SIGNATURE_SWEEPS`` sweeps.
2. **E** (the eq. 6 sub-problem, S and W fixed): separable by row, each a K-variable convex problem
   (a quadratic plus a cross-entropy of a linear function); one projected Newton step per row
   (free variables by the exact Hessian ``2 S S' + lambda_c l_n W (diag p_n - p_n p_n') W'``,
   variables at 0 with a positive gradient held), with a backtracking (Armijo) line search.  A
   row whose line search fails takes a projected gradient step of length 1 / (a bound on the
   Hessian: Boehning's bound on the softmax's curvature), which never raises its loss.
3. **W** (the eq. 7 sub-problem, E fixed): a multinomial logistic regression with K x O <= 40
   weights, by Newton's method with the exact Hessian and a backtracking line search,
   ``WEIGHT_NEWTON_STEPS`` steps.  Like eq. 7, W fits the cross-entropy whatever lambda_c is.

4. **Extrapolation** (Ang & Gillis 2019, "Accelerating nonnegative matrix factorization
   algorithms using extrapolation"): the point ``P(X + beta (X - X_previous))`` beyond the
   iteration's result X, along the iteration's own step, projected on the domain, replaces X where
   its loss is lower.  Each restart keeps its own beta, grown where the point was taken and shrunk
   where not; after a point taken, ``EXTRAPOLATION_PAUSE`` plain iterations follow.  Alternating exact block minimisation converges linearly and slowly here (the S-E
   coupling; the measure below falls ~3 % per iteration near the end), and the extrapolated point
   follows that slow direction: it halves the iterations (benchmarks/RESULTS.md).

Each block step never raises the loss (line searches accept only a decrease), and an extrapolated
point is taken only where it lowers the loss, so the loss never rises between iterations (tested).

**Convergence** (docs/model.md, "Convergence"): after each iteration, the norm of the projected
gradient of L (E and W: the gradient, with the components of E at 0 pushing outwards dropped;
S: the gradient mapping on the simplex, row k scaled by its block's curvature 2 (E'E)_kk),
relative to the same norm at the random start.  At a stationary point of L on its domain it is 0.

Everything runs in float64, all restarts batched in (R, ...) arrays, with only operations whose
result for one restart does not depend on the others in the batch (per-slice matrix products and
solves), so a restart's bits do not depend on which restarts it trains with.
"""

from __future__ import annotations

import numpy as np

from . import bcd_kernels
from .updates import LOGIT_CLIP

SIGNATURE_SWEEPS = 2
"""Passes over the rows of S per iteration (each pass is exact block minimisation, row by row)."""

WEIGHT_NEWTON_STEPS = 2
"""Newton steps on W per iteration (warm-started: one or two suffice once E moves little)."""

EXTRAPOLATION_START, EXTRAPOLATION_GROWTH, EXTRAPOLATION_SHRINK, EXTRAPOLATION_MAX = 0.5, 2.0, 2.0, 64.0
"""Each restart's extrapolation factor beta: its start, its factor up after an accepted extrapolated
point and down after a rejected one, and its cap (chosen by measurement, benchmarks/RESULTS.md)."""

EXTRAPOLATION_PAUSE = 2
"""Plain iterations (no extrapolation tried) after an accepted extrapolated point: the plain steps
that follow a jump realign the step with the slow direction (measured: fewer iterations than
extrapolating at every one, and no trial to pay for)."""


def _transposed(a):
    return np.swapaxes(a, -1, -2)


class State:
    """The arrays of the active restarts (untransposed: E (R, N, K), S (R, K, 96), W (R, K, O)),
    the training set, and what the next iteration reuses from the last (E'X, E'E)."""

    def __init__(self, X, exposures, signatures, weights, target_class, label_mask, null, lambda_c, lambda_l2):
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.x_squared = np.einsum("nm,nm->n", self.X, self.X)  # (N,) per row
        self.E = np.ascontiguousarray(exposures, dtype=np.float64)
        self.S = np.ascontiguousarray(signatures, dtype=np.float64)
        self.W = np.ascontiguousarray(weights, dtype=np.float64)
        self.lambda_c = float(lambda_c)
        self.lambda_l2 = float(lambda_l2)
        self.set_targets(target_class, label_mask, null)
        self.etx = None
        self.gram_e = None
        self.initial_norm = None
        self.beta = None  # (R,) each restart's extrapolation factor
        self.pause = None  # (R,) plain iterations left before the next extrapolation

    def set_targets(self, target_class, label_mask, null):
        """Targets changed (pseudo-labels): (R, N) class columns (-1: none), l, and the null flags."""
        self.target_class = np.ascontiguousarray(target_class, dtype=np.int64)
        self.label_mask = np.ascontiguousarray(label_mask, dtype=np.float64)
        self.null = np.ascontiguousarray(null, dtype=np.float64)
        n_classes = self.W.shape[2]
        onehot = np.zeros(self.target_class.shape + (n_classes,))
        rows = self.target_class >= 0
        onehot[rows, self.target_class[rows]] = 1.0
        self.onehot = onehot

    def keep(self, rows):
        """Drop the restarts that stopped (``rows``: a boolean mask of those that go on)."""
        for name in ("E", "S", "W", "target_class", "label_mask", "null", "onehot", "etx", "gram_e",
                     "initial_norm", "beta", "pause"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[rows])


def _class_terms(E, W, onehot, null):
    """Per row: the cross-entropy bracket (R, N), the probabilities (R, N, O), the clip mask."""
    raw = np.matmul(E, W)
    inside = np.abs(raw) < LOGIT_CLIP
    logits = np.clip(raw, -LOGIT_CLIP, LOGIT_CLIP)
    peak = np.maximum(logits.max(axis=2, keepdims=True), 0.0)
    exponentials = np.exp(logits - peak)
    total = exponentials.sum(axis=2, keepdims=True) + null[..., None] * np.exp(-peak)
    probabilities = exponentials / total
    bracket = (np.log(total) + peak)[..., 0] - (onehot * logits).sum(axis=2)
    return bracket, probabilities, inside


def _row_objective(state, E, xst, gram_s, bracket):
    """Each row's share of L (R, N): ||x_n - e_n S||^2 + lambda_c l_n bracket_n."""
    quadratic = (np.matmul(E, gram_s) * E).sum(axis=2) - 2.0 * (E * xst).sum(axis=2) + state.x_squared
    return quadratic + state.lambda_c * state.label_mask * bracket


def _project_rows_to_simplex(V):
    """Euclidean projection of every row of V (..., M) on the probability simplex (Duchi et al. 2008)."""
    ordered = -np.sort(-V, axis=-1)
    cumulative = np.cumsum(ordered, axis=-1) - 1.0
    index = np.arange(1, V.shape[-1] + 1)
    condition = ordered - cumulative / index > 0
    rho = V.shape[-1] - 1 - np.argmax(condition[..., ::-1], axis=-1)
    theta = np.take_along_axis(cumulative, rho[..., None], axis=-1) / (rho[..., None] + 1.0)
    return np.maximum(V - theta, 0.0)


def _products_of_e(state):
    state.etx = np.matmul(_transposed(state.E), state.X)  # (R, K, 96)
    state.gram_e = np.matmul(_transposed(state.E), state.E)  # (R, K, K)


def signature_step_reference(state):
    """Exact minimisation of ||X - E S||^2 over each row of S on the simplex, in turn (HALS)."""
    S, etx, gram_e = state.S, state.etx, state.gram_e
    n_signatures = S.shape[1]
    for _ in range(SIGNATURE_SWEEPS):
        for k in range(n_signatures):
            curvature = gram_e[:, k, k]  # (R,)
            alive = curvature > 0
            if not alive.any():
                continue
            residual = etx[:, k, :] - np.matmul(gram_e[:, k : k + 1, :], S)[:, 0, :]  # (E'X - E'E S)_k
            moved = _project_rows_to_simplex(S[:, k, :] + residual / np.where(alive, curvature, 1.0)[:, None])
            S[:, k, :] = np.where(alive[:, None], moved, S[:, k, :])


def _signature_step(state, compiled=True):
    if compiled:
        bcd_kernels.signature_step(state.S, state.etx, state.gram_e, SIGNATURE_SWEEPS)
    else:
        signature_step_reference(state)


def _signature_stationarity(state):
    """The gradient mapping of L on S (simplex rows), squared norm per restart (R,)."""
    S, gram_e = state.S, state.gram_e
    curvature = np.maximum(np.diagonal(gram_e, axis1=1, axis2=2), np.finfo(float).tiny)  # (R, K)
    gradient = 2.0 * (np.matmul(gram_e, S) - state.etx)
    moved = _project_rows_to_simplex(S - gradient / (2.0 * curvature[..., None]))
    mapping = (S - moved) * (2.0 * curvature[..., None])
    return (mapping * mapping).sum(axis=(1, 2))


def _exposure_gradient(state, E, xst, gram_s, probabilities, inside):
    residual = state.label_mask[..., None] * (probabilities - state.onehot) * inside
    return 2.0 * (np.matmul(E, gram_s) - xst) + state.lambda_c * np.matmul(residual, _transposed(state.W))


def exposure_step_reference(state):
    """One projected Newton step per row of E, with a backtracking line search; returns the
    quantities of the new E that the W step and the stationarity measure reuse."""
    E, W = state.E, state.W
    xst, gram_s = _signature_products(state)  # X S' (R, N, K), S S' (R, K, K)
    bracket, probabilities, inside = _class_terms(E, W, state.onehot, state.null)
    gradient = _exposure_gradient(state, E, xst, gram_s, probabilities, inside)
    before = _row_objective(state, E, xst, gram_s, bracket)
    # Hessian per row: 2 S S' + lambda_c l_n W (diag p - p p') W'  (the clipped logits' curvature dropped)
    p = probabilities * inside
    weighted = state.lambda_c * state.label_mask[..., None]  # (R, N, 1)
    wp = np.matmul(p, _transposed(W))  # (R, N, K): W p
    diagonal = np.einsum("rno,rko,rjo->rnkj", p, W, W)
    hessian = 2.0 * gram_s[:, None] + weighted[..., None] * (diagonal - wp[..., :, None] * wp[..., None, :])
    n_signatures = E.shape[2]
    held = (E <= 0.0) & (gradient > 0.0)
    free = ~held
    reduced = hessian * (free[..., :, None] & free[..., None, :])
    reduced += held[..., :, None] * np.eye(n_signatures)
    direction = -np.linalg.solve(reduced, (gradient * free)[..., None])[..., 0]
    accepted = np.zeros(before.shape, dtype=bool)
    new_E = E.copy()
    step = 1.0
    for _ in range(bcd_kernels.HALVINGS):
        candidate = np.maximum(E + step * direction, 0.0)
        trial_bracket, _, _ = _class_terms(candidate, W, state.onehot, state.null)
        after = _row_objective(state, candidate, xst, gram_s, trial_bracket)
        decrease = (gradient * (candidate - E)).sum(axis=2)
        ok = ~accepted & (after <= before + bcd_kernels.ARMIJO * decrease) & (decrease < 0)
        new_E[ok] = candidate[ok]
        accepted |= ok
        if accepted.all():
            break
        step *= 0.5
    if not accepted.all():
        # Projected gradient step of length 1 / L_n, L_n >= the largest curvature of the row's
        # loss (Boehning: the softmax's Hessian is below I / 2): never raises the row's loss.
        bound = 2.0 * np.trace(gram_s, axis1=1, axis2=2)[:, None] + 0.5 * weighted[..., 0] * (W * W).sum(axis=(1, 2))[:, None]
        fallback = np.maximum(E - gradient / bound[..., None], 0.0)
        trial_bracket, _, _ = _class_terms(fallback, W, state.onehot, state.null)
        after = _row_objective(state, fallback, xst, gram_s, trial_bracket)
        ok = ~accepted & (after <= before)
        new_E[ok] = fallback[ok]
    state.E[...] = new_E
    return xst, gram_s


def _weight_objective(state, bracket):
    return (state.label_mask * bracket).sum(axis=1) + state.lambda_l2 * (state.W * state.W).sum(axis=(1, 2))


def _weight_gradient(state, probabilities, inside):
    residual = state.label_mask[..., None] * (probabilities - state.onehot) * inside
    return np.matmul(_transposed(state.E), residual) + 2.0 * state.lambda_l2 * state.W  # (R, K, O)


def weight_step_reference(state, n_steps):
    """Newton steps on W (E fixed) with a backtracking line search; returns the gradient at the
    final W, the class terms there."""
    E = state.E
    n_restarts, n_signatures, n_classes = state.W.shape
    size = n_signatures * n_classes
    bracket, probabilities, inside = _class_terms(E, state.W, state.onehot, state.null)
    gradient = _weight_gradient(state, probabilities, inside)
    for _ in range(n_steps):
        before = _weight_objective(state, bracket)
        p = probabilities * inside
        mask = state.label_mask
        # Hessian of sum_n l_n bracket_n + lambda_l2 ||W||^2 in vec(W), index k * O + o
        outer = (E[..., :, None] * p[..., None, :]).reshape(n_restarts, -1, size)  # (R, N, K O)
        hessian = -np.matmul(_transposed(outer * mask[..., None]), outer)
        for o in range(n_classes):
            block = np.matmul(_transposed(E * (mask * p[..., o])[..., None]), E)  # (R, K, K)
            hessian[:, o::n_classes, o::n_classes] += block
        hessian += 2.0 * state.lambda_l2 * np.eye(size)
        # a tiny ridge keeps the system solvable when lambda_l2 = 0 (softmax's shift invariance)
        hessian += 1e-12 * np.eye(size) * np.maximum(np.trace(hessian, axis1=1, axis2=2), 1.0)[:, None, None]
        direction = -np.linalg.solve(hessian, gradient.reshape(n_restarts, size, 1)).reshape(state.W.shape)
        slope = (gradient * direction).sum(axis=(1, 2))
        tried = (slope < 0) & (-slope >= bcd_kernels.NEWTON_DECREMENT * np.abs(before))  # as the kernel
        W0 = state.W.copy()
        accepted = np.zeros(n_restarts, dtype=bool)
        step = 1.0
        for _ in range(bcd_kernels.HALVINGS):
            candidate = W0 + step * direction
            state.W[...] = np.where(accepted[:, None, None], state.W, candidate)
            trial, _, _ = _class_terms(E, state.W, state.onehot, state.null)
            after = _weight_objective(state, trial)
            ok = ~accepted & tried & (after <= before + bcd_kernels.ARMIJO * step * slope)
            accepted |= ok
            if accepted.all():
                break
            step *= 0.5
        state.W[...] = np.where(accepted[:, None, None], state.W, W0)
        bracket, probabilities, inside = _class_terms(E, state.W, state.onehot, state.null)
        gradient = _weight_gradient(state, probabilities, inside)
    return gradient


def _measure(state, xst, gram_s):
    """(L (R,), squared projected-gradient norm (R,)) at the current E, S, W (E'X, E'E computed)."""
    bracket, probabilities, inside = _class_terms(state.E, state.W, state.onehot, state.null)
    w_gradient = _weight_gradient(state, probabilities, inside)
    e_gradient = _exposure_gradient(state, state.E, xst, gram_s, probabilities, inside)
    e_projected = np.where(state.E > 0.0, e_gradient, np.minimum(e_gradient, 0.0))
    squared = (e_projected * e_projected).sum(axis=(1, 2))
    squared += (state.lambda_c * state.lambda_c) * (w_gradient * w_gradient).sum(axis=(1, 2))
    squared += _signature_stationarity(state)
    reconstruction = _reconstruction(state, (state.etx * state.S).sum(axis=(1, 2)), state.gram_e, gram_s)
    loss = reconstruction + state.lambda_c * _weight_objective(state, bracket)
    return loss, squared


def _signature_products(state):
    return np.matmul(state.X, _transposed(state.S)), np.matmul(state.S, _transposed(state.S))


def start(state):
    """The stationarity norm at the start (the denominator of the relative measure)."""
    xst, gram_s = _signature_products(state)
    _products_of_e(state)
    _, squared = _measure(state, xst, gram_s)
    state.initial_norm = np.sqrt(np.maximum(squared, np.finfo(float).tiny))
    state.beta = np.full(len(state.E), EXTRAPOLATION_START)
    state.pause = np.zeros(len(state.E), dtype=np.int64)


def _reconstruction(state, cross, gram_e, gram_s):
    """||X - E S||^2 per restart (R,) from cross = <E, X S'> = <E'X, S> (R,), E'E and S S'."""
    return np.maximum(state.x_squared.sum() - 2.0 * cross + (gram_e * gram_s).sum(axis=(1, 2)), 0.0)


def _class_objective(state, E, W, compiled, rows=slice(None)):
    """sum_n l_n bracket_n + lambda_l2 ||W||^2 per restart at (E, W), for the restarts ``rows``."""
    target_class, label_mask, null = state.target_class[rows], state.label_mask[rows], state.null[rows]
    if compiled:
        return bcd_kernels.class_objective(E, W, target_class, label_mask, null, state.lambda_l2, LOGIT_CLIP)
    bracket, _, _ = _class_terms(E, W, state.onehot[rows], null)
    return (label_mask * bracket).sum(axis=1) + state.lambda_l2 * (W * W).sum(axis=(1, 2))


def _extrapolate(state, previous, loss, gram_s, compiled):
    """Try the point beyond the iteration's result along the iteration's step (Ang & Gillis 2019):
    ``Y = P(X + beta (X - X_previous))`` for X = (E, S, W), P the projection on the domain (E >= 0,
    rows of S on the simplex).  A restart moves to Y only where ``L(Y) < L(X)``; then its beta grows
    and it pauses for ``EXTRAPOLATION_PAUSE`` plain iterations, else beta shrinks.  The loss still
    falls at every iteration.  Sets E'X at the new point (the next S step's) and returns S S' there."""
    E_before, S_before, W_before = previous
    gram_s = gram_s.copy()
    etx = np.empty_like(state.etx)
    rows = np.flatnonzero(state.pause == 0)
    state.pause[state.pause > 0] -= 1
    beta = state.beta[rows, None, None]
    E = np.maximum(state.E[rows] + beta * (state.E[rows] - E_before[rows]), 0.0)
    S = _project_rows_to_simplex(state.S[rows] + beta * (state.S[rows] - S_before[rows]))
    W = state.W[rows] + beta * (state.W[rows] - W_before[rows])
    etx_moved = np.matmul(_transposed(E), state.X)
    gram_e = np.matmul(_transposed(E), E)
    gram_s_moved = np.matmul(S, _transposed(S))
    trial = _reconstruction(state, (etx_moved * S).sum(axis=(1, 2)), gram_e, gram_s_moved) + (
        state.lambda_c * _class_objective(state, E, W, compiled, rows))
    better = trial < loss[rows]
    moved = rows[better]
    state.beta[moved] = np.minimum(state.beta[moved] * EXTRAPOLATION_GROWTH, EXTRAPOLATION_MAX)
    state.beta[rows[~better]] /= EXTRAPOLATION_SHRINK
    state.pause[moved] = EXTRAPOLATION_PAUSE
    for i in np.flatnonzero(better):
        r = rows[i]
        state.E[r], state.S[r], state.W[r] = E[i], S[i], W[i]
        state.gram_e[r], gram_s[r], etx[r] = gram_e[i], gram_s_moved[i], etx_moved[i]
    kept = np.setdiff1d(np.arange(len(state.E)), moved)
    etx[kept] = np.matmul(_transposed(state.E[kept]), state.X)
    state.etx = etx
    return gram_s


def iterate(state, n_iterations, compiled=True):
    """Run ``n_iterations`` iterations of all restarts in place.  Returns (L, relative projected
    gradient norm), each (R,), after the last.  ``compiled=False`` runs the numpy reference of the
    E and W steps (for tests)."""
    if state.initial_norm is None:
        start(state)
    for _ in range(n_iterations):
        previous = (state.E.copy(), state.S.copy(), state.W.copy())
        _signature_step(state, compiled)
        if compiled:
            xst, gram_s = _signature_products(state)
            bcd_kernels.exposure_step(state.E, xst, gram_s, state.x_squared, state.W, state.target_class,
                                      state.label_mask, state.null, state.lambda_c, LOGIT_CLIP)
            # the W gradient is the measure's, at the point after extrapolation: not needed here
            objective = bcd_kernels.weight_step(state.E, state.W, state.target_class, state.label_mask, state.null,
                                                state.lambda_l2, LOGIT_CLIP, WEIGHT_NEWTON_STEPS, state.W[:0], False)
        else:
            xst, gram_s = exposure_step_reference(state)
            weight_step_reference(state, WEIGHT_NEWTON_STEPS)
            objective = _class_objective(state, state.E, state.W, compiled=False)
        state.gram_e = np.matmul(_transposed(state.E), state.E)
        # ||X - E S||^2 from X S' (E'X is computed for the point the extrapolation settles on)
        loss = _reconstruction(state, (state.E * xst).sum(axis=(1, 2)), state.gram_e, gram_s) + (
            state.lambda_c * objective)
        gram_s = _extrapolate(state, previous, loss, gram_s, compiled)
    loss, squared = _measure(state, np.matmul(state.X, _transposed(state.S)), gram_s)
    return loss, np.sqrt(squared) / state.initial_norm
