"""The E and W steps of the ``"bcd"`` solver as compiled loops (numba), row by row.

The numpy functions of :mod:`.bcd` (``exposure_step_reference``, ``weight_step_reference``) are
the reference these are tested against.  Each row of E (and each restart's W) is a small problem
of K (K x O) variables: held in registers and the L1 cache, solved in a few hundred flops, where
the batched numpy version spends its time building (R, N, K, K) arrays and re-evaluating rows that
have already accepted their step.  No ``fastmath``: every sum runs in a fixed order, so a row's bits
depend neither on the threads nor on the other rows or restarts.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_OPTIONS = dict(nogil=True, cache=True, error_model="numpy")
ARMIJO = 1e-4
HALVINGS = 30
NEWTON_DECREMENT = 1e-14
"""A Newton step on W is not tried where it would lower the objective f by at most its Newton decrement
-g'd < NEWTON_DECREMENT |f|: below the rounding of f itself (a sum over the rows), so the line search
could only fail, at the cost of HALVINGS objective evaluations (the W refit took ~100 such steps)."""


@numba.njit(**_OPTIONS)
def _cholesky_solve(A, b, n, out):
    """Solve A x = b for the leading n x n block of a symmetric positive definite A, in place in A
    (only its lower triangle is read).  Returns False where A is not numerically positive definite."""
    for j in range(n):
        total = A[j, j]
        for k in range(j):
            total -= A[j, k] * A[j, k]
        if not total > 1e-300:
            return False
        A[j, j] = math.sqrt(total)
        for i in range(j + 1, n):
            total = A[i, j]
            for k in range(j):
                total -= A[i, k] * A[j, k]
            A[i, j] = total / A[j, j]
    for i in range(n):
        total = b[i]
        for k in range(i):
            total -= A[i, k] * out[k]
        out[i] = total / A[i, i]
    for i in range(n - 1, -1, -1):
        total = out[i]
        for k in range(i + 1, n):
            total -= A[k, i] * out[k]
        out[i] = total / A[i, i]
    return True


@numba.njit(**_OPTIONS)
def _row_terms(e, W, target, null, clip, z, p, inside):
    """Logits, probabilities (null class in the denominator when ``null``), the clip mask, and the
    cross-entropy bracket log(u + sum exp z) - z_target of one row."""
    n_signatures, n_classes = W.shape
    peak = 0.0
    for o in range(n_classes):
        value = 0.0
        for k in range(n_signatures):
            value += e[k] * W[k, o]
        inside[o] = abs(value) < clip
        value = min(max(value, -clip), clip)
        z[o] = value
        peak = max(peak, value)
    total = null * math.exp(-peak)
    for o in range(n_classes):
        p[o] = math.exp(z[o] - peak)
        total += p[o]
    for o in range(n_classes):
        p[o] /= total
    bracket = math.log(total) + peak
    if target >= 0:
        bracket -= z[target]
    return bracket


@numba.njit(**_OPTIONS)
def _row_objective(e, xs, gram_s, x_squared, weight, W, target, null, clip, z, p, inside):
    """||x - e S||^2 + weight * bracket for one row (weight = lambda_c l_n)."""
    n_signatures = e.size
    value = x_squared
    for k in range(n_signatures):
        inner = 0.0
        for j in range(n_signatures):
            inner += gram_s[k, j] * e[j]
        value += e[k] * inner - 2.0 * e[k] * xs[k]
    if weight != 0.0:
        value += weight * _row_terms(e, W, target, null, clip, z, p, inside)
    return value


@numba.njit(parallel=True, **_OPTIONS)
def exposure_step(E, xst, gram_s, x_squared, W, target_class, label_mask, null, lambda_c, clip):
    """One projected Newton step with a backtracking line search for every row of E, in place.

    E : (R, N, K); xst : (R, N, K) = X S'; gram_s : (R, K, K) = S S'; x_squared : (N,);
    W : (R, K, O); target_class, label_mask, null : (R, N).  Returns how many rows fell back to the
    projected gradient step (their Newton step did not decrease the loss).
    """
    n_restarts, n_samples, n_signatures = E.shape
    n_classes = W.shape[2]
    n_blocks = (n_samples + 63) // 64
    fallbacks = np.zeros(n_restarts * n_blocks, dtype=np.int64)
    for task in numba.prange(n_restarts * n_blocks):
        r = task // n_blocks
        first = (task % n_blocks) * 64
        last = min(first + 64, n_samples)
        Wr = W[r]
        gs = gram_s[r]
        z = np.empty(n_classes)
        p = np.empty(n_classes)
        inside = np.empty(n_classes, dtype=np.bool_)
        wp = np.empty(n_signatures)
        g = np.empty(n_signatures)
        rhs = np.empty(n_signatures)
        d = np.empty(n_signatures)
        H = np.empty((n_signatures, n_signatures))
        free = np.empty(n_signatures, dtype=np.intp)
        candidate = np.empty(n_signatures)
        trace_s = 0.0
        for k in range(n_signatures):
            trace_s += gs[k, k]
        w_squared = 0.0
        for k in range(n_signatures):
            for o in range(n_classes):
                w_squared += Wr[k, o] * Wr[k, o]
        for n in range(first, last):
            e = E[r, n]
            xs = xst[r, n]
            weight = lambda_c * label_mask[r, n]
            target = target_class[r, n]
            u = null[r, n]
            # the row's loss (as _row_objective) and its gradient, from one product S S' e
            before = x_squared[n]
            for k in range(n_signatures):
                inner = 0.0
                for j in range(n_signatures):
                    inner += gs[k, j] * e[j]
                before += e[k] * inner - 2.0 * e[k] * xs[k]
                g[k] = 2.0 * (inner - xs[k])
            if weight != 0.0:
                before += weight * _row_terms(e, Wr, target, u, clip, z, p, inside)
            if weight != 0.0:
                for k in range(n_signatures):
                    total = 0.0
                    spread = 0.0
                    for o in range(n_classes):
                        if inside[o]:
                            y = 1.0 if o == target else 0.0
                            total += Wr[k, o] * (p[o] - y)
                            spread += Wr[k, o] * p[o]
                    g[k] += weight * total
                    wp[k] = spread
            n_free = 0
            for k in range(n_signatures):
                if not (e[k] <= 0.0 and g[k] > 0.0):
                    free[n_free] = k
                    n_free += 1
            for a in range(n_free):
                k = free[a]
                rhs[a] = -g[k]
                for b in range(a + 1):  # the lower triangle: all that _cholesky_solve reads
                    j = free[b]
                    value = 2.0 * gs[k, j]
                    if weight != 0.0:
                        curvature = 0.0
                        for o in range(n_classes):
                            if inside[o]:
                                curvature += Wr[k, o] * Wr[j, o] * p[o]
                        value += weight * (curvature - wp[k] * wp[j])
                    H[a, b] = value
            accepted = False
            if n_free > 0 and _cholesky_solve(H, rhs, n_free, d):
                step = 1.0
                for _ in range(HALVINGS):
                    for k in range(n_signatures):
                        candidate[k] = e[k]
                    decrease = 0.0
                    for a in range(n_free):
                        k = free[a]
                        candidate[k] = max(e[k] + step * d[a], 0.0)
                        decrease += g[k] * (candidate[k] - e[k])
                    if decrease < 0.0:
                        after = _row_objective(candidate, xs, gs, x_squared[n], weight, Wr, target, u, clip, z, p,
                                               inside)
                        if after <= before + ARMIJO * decrease:
                            accepted = True
                            break
                    step *= 0.5
            if not accepted:
                # projected gradient step of length 1 / L, L >= the row loss's largest curvature
                # (Boehning: the softmax's Hessian is below I / 2): it never raises the loss
                bound = 2.0 * trace_s + 0.5 * weight * w_squared
                moved = False
                for k in range(n_signatures):
                    candidate[k] = max(e[k] - g[k] / bound, 0.0)
                    moved = moved or candidate[k] != e[k]
                if moved:
                    after = _row_objective(candidate, xs, gs, x_squared[n], weight, Wr, target, u, clip, z, p, inside)
                    accepted = after <= before
                fallbacks[task] += 1
            if accepted:
                for k in range(n_signatures):
                    e[k] = candidate[k]
    return int(fallbacks.sum())


@numba.njit(**_OPTIONS)
def _weight_objective(E, W, target_class, label_mask, null, lambda_l2, clip, z, p, inside):
    n_samples = E.shape[0]
    value = 0.0
    for n in range(n_samples):
        if label_mask[n] != 0.0:
            value += label_mask[n] * _row_terms(E[n], W, target_class[n], null[n], clip, z, p, inside)
    n_signatures, n_classes = W.shape
    penalty = 0.0
    for k in range(n_signatures):
        for o in range(n_classes):
            penalty += W[k, o] * W[k, o]
    return value + lambda_l2 * penalty


@numba.njit(**_OPTIONS)
def _weight_gradient_hessian(E, W, target_class, label_mask, null, lambda_l2, clip, z, p, inside, g, H, curvature,
                             with_hessian):
    """Gradient (K O,) and Hessian (K O, K O) of sum_n l_n bracket_n + lambda_l2 ||W||^2, index k O + o;
    returns the objective itself (the bits of _weight_objective: the same sums in the same order)."""
    n_samples = E.shape[0]
    value = 0.0
    n_signatures, n_classes = W.shape
    size = n_signatures * n_classes
    for a in range(size):
        g[a] = 0.0
        if with_hessian:
            for b in range(size):
                H[a, b] = 0.0
    for n in range(n_samples):
        weight = label_mask[n]
        if weight == 0.0:
            continue
        target = target_class[n]
        value += weight * _row_terms(E[n], W, target, null[n], clip, z, p, inside)
        for o in range(n_classes):
            if not inside[o]:
                p[o] = 0.0
        for k in range(n_signatures):
            ek = weight * E[n, k]
            for o in range(n_classes):
                y = 1.0 if o == target else 0.0
                residual = p[o] - y if inside[o] else 0.0
                g[k * n_classes + o] += ek * residual
        if with_hessian:
            # the softmax's curvature diag(p) - p p' of this row, then its Kronecker product with e e'
            for o in range(n_classes):
                for q in range(n_classes):
                    curvature[o, q] = -p[o] * p[q]
                curvature[o, o] += p[o]
            for k in range(n_signatures):
                ek = weight * E[n, k]
                if ek == 0.0:
                    continue
                for j in range(k + 1):
                    ekj = ek * E[n, j]
                    for o in range(n_classes):
                        row = k * n_classes + o
                        column = j * n_classes
                        for q in range(n_classes):
                            H[row, column + q] += ekj * curvature[o, q]
    penalty = 0.0
    for k in range(n_signatures):
        for o in range(n_classes):
            g[k * n_classes + o] += 2.0 * lambda_l2 * W[k, o]
            penalty += W[k, o] * W[k, o]
    if with_hessian:
        for a in range(size):
            # fill the upper triangle from the lower (the loop above fills j <= k blocks)
            for b in range(a + 1, size):
                H[a, b] = H[b, a]
        trace = 0.0
        for a in range(size):
            H[a, a] += 2.0 * lambda_l2
            trace += H[a, a]
        # a tiny ridge keeps the system solvable when lambda_l2 = 0 (the softmax's shift invariance)
        for a in range(size):
            H[a, a] += 1e-12 * max(trace, 1.0)
    return value + lambda_l2 * penalty


@numba.njit(parallel=True, **_OPTIONS)
def weight_step(E, W, target_class, label_mask, null, lambda_l2, clip, n_steps, gradient, with_gradient=True):
    """``n_steps`` Newton steps with a backtracking line search on each restart's W, in place.

    E : (R, N, K); W : (R, K, O); target_class, label_mask, null : (R, N).  Writes the gradient at the
    final W into ``gradient`` (R, K, O) unless ``with_gradient`` is False (one pass over the rows
    less), and returns each restart's objective there (R,).
    """
    n_restarts, n_signatures, n_classes = W.shape
    size = n_signatures * n_classes
    objective = np.empty(n_restarts)
    for r in numba.prange(n_restarts):
        z = np.empty(n_classes)
        p = np.empty(n_classes)
        inside = np.empty(n_classes, dtype=np.bool_)
        g = np.empty(size)
        H = np.empty((size, size))
        d = np.empty(size)
        rhs = np.empty(size)
        W0 = np.empty((n_signatures, n_classes))
        curvature = np.empty((n_classes, n_classes))
        Wr = W[r]
        if n_steps == 0:
            before = _weight_objective(E[r], Wr, target_class[r], label_mask[r], null[r], lambda_l2, clip, z, p,
                                       inside)
        for _ in range(n_steps):
            # the objective at W comes with its gradient (the same bits as _weight_objective)
            before = _weight_gradient_hessian(E[r], Wr, target_class[r], label_mask[r], null[r], lambda_l2, clip, z,
                                              p, inside, g, H, curvature, True)
            for a in range(size):
                rhs[a] = -g[a]
            if not _cholesky_solve(H, rhs, size, d):
                for a in range(size):
                    d[a] = rhs[a]
            slope = 0.0
            for a in range(size):
                slope += g[a] * d[a]
            if not slope < 0.0 or -slope < NEWTON_DECREMENT * abs(before):
                break
            W0[:, :] = Wr
            step = 1.0
            accepted = False
            for _ in range(HALVINGS):
                for k in range(n_signatures):
                    for o in range(n_classes):
                        Wr[k, o] = W0[k, o] + step * d[k * n_classes + o]
                after = _weight_objective(E[r], Wr, target_class[r], label_mask[r], null[r], lambda_l2, clip, z, p,
                                          inside)
                if after <= before + ARMIJO * step * slope:
                    accepted = True
                    before = after
                    break
                step *= 0.5
            if not accepted:
                Wr[:, :] = W0
                break
        if with_gradient:
            _weight_gradient_hessian(E[r], Wr, target_class[r], label_mask[r], null[r], lambda_l2, clip, z, p,
                                     inside, g, H, curvature, False)
            for k in range(n_signatures):
                for o in range(n_classes):
                    gradient[r, k, o] = g[k * n_classes + o]
        objective[r] = before
    return objective


@numba.njit(parallel=True, **_OPTIONS)
def class_objective(E, W, target_class, label_mask, null, lambda_l2, clip):
    """sum_n l_n bracket_n + lambda_l2 ||W||^2 of each restart (R,), at E (R, N, K), W (R, K, O)."""
    n_restarts = W.shape[0]
    n_classes = W.shape[2]
    objective = np.empty(n_restarts)
    for r in numba.prange(n_restarts):
        z = np.empty(n_classes)
        p = np.empty(n_classes)
        inside = np.empty(n_classes, dtype=np.bool_)
        objective[r] = _weight_objective(E[r], W[r], target_class[r], label_mask[r], null[r], lambda_l2, clip, z, p,
                                         inside)
    return objective


@numba.njit(**_OPTIONS)
def _project_to_simplex(v, ordered):
    """v <- its Euclidean projection on the probability simplex, in place (Duchi et al. 2008; the
    arithmetic of bcd._project_rows_to_simplex)."""
    size = v.size
    ordered[:] = np.sort(v)[::-1]
    cumulative = 0.0
    theta = 0.0
    for j in range(size):
        cumulative += ordered[j]
        if ordered[j] - (cumulative - 1.0) / (j + 1.0) > 0:
            theta = (cumulative - 1.0) / (j + 1.0)
    for m in range(size):
        v[m] = max(v[m] - theta, 0.0)


@numba.njit(parallel=True, **_OPTIONS)
def signature_step(S, etx, gram_e, n_sweeps):
    """Exact minimisation of ||X - E S||^2 over each row of S on the simplex, in turn (HALS), in place.

    S : (R, K, 96); etx : (R, K, 96) = E'X; gram_e : (R, K, K) = E'E.  A row whose exposures are all
    0 (curvature 0) is left as it is.
    """
    n_restarts, n_signatures, n_features = S.shape
    for r in numba.prange(n_restarts):
        v = np.empty(n_features)
        ordered = np.empty(n_features)
        for _ in range(n_sweeps):
            for k in range(n_signatures):
                curvature = gram_e[r, k, k]
                if not curvature > 0:
                    continue
                for m in range(n_features):
                    total = 0.0
                    for j in range(n_signatures):
                        total += gram_e[r, k, j] * S[r, j, m]
                    v[m] = S[r, k, m] + (etx[r, k, m] - total) / curvature
                _project_to_simplex(v, ordered)
                for m in range(n_features):
                    S[r, k, m] = v[m]
