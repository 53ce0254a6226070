"""The training epochs as one compiled call (numba), the path :mod:`.training` runs.

:mod:`.updates` holds the same equations in plain numpy, one array operation per term: it is
the readable reference, and the tests check these kernels against it.  :func:`run_epochs` runs
several epochs of all restarts without returning to Python.  The samples are cut into
``SAMPLE_PARTS`` (2) fixed parts; each part of E lives in its own contiguous block for the call.
One epoch is

1. the S step of eq. 5 per restart, from ``E'X`` and ``E'E`` of the current E (both left by the
   previous epoch), renormalised and floored, and ``G = S S'``;
2. per part: ``S X'`` of its samples, one BLAS product over all restarts, (R K, 96) @ (96, n);
3. per part, one pass over its samples per restart, in blocks that stay in the L1 cache: the
   clipped logits ``z = W'E``, their exp, the softmax with ``l (Yhat - Y)``, the part's share of
   the W gradient ``E' l(Yhat - Y)``, the E step of eq. 6 (in place), and the part's share of
   ``E'E`` of the new E;
4. per part: its share of ``E'X`` of the new E, one BLAS product over all restarts,
   (R K, n) @ (n, 96);
5. per restart: the parts' shares added in part order, and the W step of eq. 7.

so every (K, N) array is read once per epoch instead of once per numpy call, and no (O, N) array
exists at all (targets are one class per row).  The two products are ~3.7 MFLOP of the ~4.2 per
restart-epoch; BLAS is single-threaded (:mod:`.training`).

Threads: steps 2-4 of each part are a task, and the tasks of an epoch run in parallel (numba
``prange``): two threads share every product, each on its half of the samples, which stays in
its core's caches from epoch to epoch.  With more threads the restarts are also cut into
groups, a task per (group, part).  Splitting the restarts alone into one group per thread was
slower (each thread's products had half the rows: 43-46 against 31-37 us per restart-epoch in
float32 on two cores).  Steps 1 and 5 are tiny and run on one thread.  The parts are fixed and
their shares are added in a fixed order, and BLAS computes each row of a product the same way
whatever the number of rows, so a restart's result depends neither on the threads, nor on the
groups, nor on what is batched with it (tested).

The exponential is :func:`_exp`, a polynomial that vectorises with the loops around it (numba's
call to libm does not, and was 5x slower than numpy's): within 1 unit in the last place (ulp)
of the exact value in float32 and float64 over the clipped range, as numpy's (tested).  Reductions
over samples are vectorised (``fastmath`` reassociation), which fixes their rounding for one
compiled kernel on one CPU type: results are identical run to run, thread count to thread
count, and restart to restart whatever else is batched with it, but may differ in the last bits
on another CPU (as BLAS results do).

U.R. (docs/model.md, "U.R."): rows with ``null = 1`` have an extra class of fixed logit 0 in the
softmax denominator, their target being that class (the all-zero target of eq. 8).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

# scipy.linalg.cython_blas is the BLAS numba's np.dot calls: imported here, it is loaded before the
# threadpool limits of :mod:`.training` are entered, so they apply to it from the first call.

_FASTMATH = {"reassoc", "contract", "nsz"}
_PLAIN = dict(nogil=True, fastmath=_FASTMATH, cache=True, error_model="numpy")

BLOCK = 256
"""Samples per block of the sample pass: its (K + O, BLOCK) scratch stays in the L1 cache."""

_LN2_HIGH = 0.693359375  # 710 / 1024: n * _LN2_HIGH is exact for |n| < 2**14
_LN2_LOW = -2.121944400546905827678785418234319245e-4  # ln 2 - _LN2_HIGH
_EXP_DEGREE = {4: 7, 8: 13}  # Taylor degree by itemsize: truncation error < 1e-8 (float32), 5e-18 (float64)


def exp_constants(dtype):
    """The constants of :func:`_exp` as a tuple of ``dtype`` scalars: log2(e), 1/2, ln 2 in two parts, then
    the Taylor coefficients 1/k!, highest degree first (degree 7 in float32, 13 in float64)."""
    dtype = np.dtype(dtype)
    values = [1.0 / math.log(2.0), 0.5, _LN2_HIGH, _LN2_LOW]
    values += [1.0 / math.factorial(k) for k in range(_EXP_DEGREE[dtype.itemsize], -1, -1)]
    return tuple(dtype.type(v) for v in values)


@intrinsic
def _pow2(typingctx, n):
    """2**n for a float ``n`` holding an integer within the normal exponent range, built from its bits."""
    if not isinstance(n, types.Float):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        width, bias, shift = (32, 127, 23) if value.type == ir.FloatType() else (64, 1023, 52)
        integer = ir.IntType(width)
        biased = builder.add(builder.fptosi(value, integer), ir.Constant(integer, bias))
        return builder.bitcast(builder.shl(biased, ir.Constant(integer, shift)), value.type)

    return n(n), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma): unlike ``a * b + c`` it is immune to the fastmath
    reassociation numba applies to callees of fastmath kernels, which would merge the two parts of
    ln 2 in :func:`_exp` (seen: 8 ulp instead of 1 in float64)."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        kind = args[0].type
        function = builder.module.declare_intrinsic("llvm.fma", [kind], ir.FunctionType(kind, [kind] * 3))
        return builder.call(function, args)

    return a(a, b, c), codegen


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _exp(x, c):
    """exp(x) for |x| <= 60 in x's precision; ``c``: the tuple of :func:`exp_constants`.

    x = n ln 2 + r with |r| <= ln(2)/2 (ln 2 in two parts, so n ln 2 is exact), e**r by its Taylor
    polynomial (Horner), times 2**n from the exponent bits.  No branch and no libm call, so the
    loops that call it vectorise.
    """
    n = np.floor(x * c[0] + c[1])
    r = _fma(-n, c[3], _fma(-n, c[2], x))
    p = c[4]
    for coefficient in c[5:]:  # a tuple of constant length: unrolled
        p = p * r + coefficient
    return p * _pow2(n)


@numba.njit(**_PLAIN)
def exp_array(x, out, c):
    """out = :func:`_exp` (x), elementwise over 1-D arrays (for the tests of its accuracy)."""
    for i in range(x.size):
        out[i] = _exp(x[i], c)


@numba.njit(inline="always", **_PLAIN)
def _gram(A, out):
    """out = A A' for A (K, M), both triangles, summed over M in A's precision."""
    n_rows, n_columns = A.shape
    for a in range(n_rows):
        for b in range(a, n_rows):
            acc = A[a, 0] - A[a, 0]
            for m in range(n_columns):
                acc += A[a, m] * A[b, m]
            out[a, b] = acc
            out[b, a] = acc


@numba.njit(**_PLAIN)
def _signature_step(S, etx, gram_e, gram_s, eps, tiny, scratch):
    """Eq. 5 in place on one restart's S (K, 96): S <- S * (E'X) / (E'E S + eps), rows renormalised, floored."""
    n_signatures, n_features = S.shape
    updated = scratch[:n_signatures * n_features].reshape((n_signatures, n_features))
    denominator = scratch[n_signatures * n_features:(n_signatures + 1) * n_features]
    for k in range(n_signatures):
        denominator[:] = eps
        for j in range(n_signatures):
            g = gram_e[k, j]
            row = S[j]
            for m in range(n_features):
                denominator[m] += g * row[m]
        for m in range(n_features):
            updated[k, m] = S[k, m] * (etx[k, m] / denominator[m])
    for k in range(n_signatures):
        total = eps - eps
        for m in range(n_features):
            total += updated[k, m]
        total = max(total, tiny)
        for m in range(n_features):
            S[k, m] = max(updated[k, m] / total, eps)
    _gram(S, gram_s)


@numba.njit(**_PLAIN)
def _block_logits(E, W, start, stop, clip, z, inside):
    """For samples start:stop of one restart: z (O, B) = clip(W'E), inside = 1 where the clip did not bind."""
    n_signatures = E.shape[0]
    n_classes = W.shape[1]
    width = stop - start
    zero = clip - clip
    one = clip / clip
    # Samples are indexed through row slices: an index like E[k, start + i] may be negative for
    # all numba knows, and its wraparound check turns the vector loads into gathers (4x slower).
    for o in range(n_classes):
        row = z[o]
        w = W[0, o]
        e = E[0, start:stop]
        for i in range(width):
            row[i] = w * e[i]
        for k in range(1, n_signatures):
            w = W[k, o]
            e = E[k, start:stop]
            for i in range(width):
                row[i] += w * e[i]
        flag = inside[o]
        for i in range(width):
            value = row[i]
            flag[i] = one if abs(value) < clip else zero
            row[i] = min(max(value, -clip), clip)


@numba.njit(**_PLAIN)
def _sample_pass(E, sxt, W, gram_s, gram_e, gradient, target_class, label_mask, null, half_lambda_c, eps, clip, c,
                 scratch):
    """Step 3 of an epoch for one restart on one part of the samples: E (eq. 6, in place), and the part's
    sums gradient = E' l(Yhat - Y) of the old E (K, O) and gram_e = E'E of the new E (K, K).

    E, sxt = S X' (K, n) of the part; W (K, O); gram_s = S S' (K, K); target_class, label_mask, null (n,)
    of the part (see :func:`target_classes`); scratch: 1-D, at least :func:`scratch_size` long.
    """
    n_signatures, n_samples = E.shape
    n_classes = W.shape[1]
    zero = eps - eps
    # scratch carved from one preallocated row (allocating it here cost ~1.5 us per restart-epoch)
    at = 0
    residual = scratch[at:at + n_classes * BLOCK].reshape((n_classes, BLOCK))  # exp(z), then l (Yhat - Y)
    at += n_classes * BLOCK
    inside = scratch[at:at + n_classes * BLOCK].reshape((n_classes, BLOCK))
    at += n_classes * BLOCK
    updated = scratch[at:at + n_signatures * BLOCK].reshape((n_signatures, BLOCK))
    at += n_signatures * BLOCK
    total = scratch[at:at + BLOCK]
    numerator = scratch[at + BLOCK:at + 2 * BLOCK]
    denominator = scratch[at + 2 * BLOCK:at + 3 * BLOCK]
    at += 3 * BLOCK
    shifted = scratch[at:at + n_signatures * n_classes].reshape((n_signatures, n_classes))  # (lambda_c/2) W
    gradient[:, :] = zero
    gram_e[:, :] = zero
    for k in range(n_signatures):
        for o in range(n_classes):
            shifted[k, o] = half_lambda_c * W[k, o]
    for start in range(0, n_samples, BLOCK):
        stop = min(start + BLOCK, n_samples)
        width = stop - start
        _block_residual(E, W, start, stop, target_class, label_mask, null, clip, c, residual, inside, total)
        # eq. 7's gradient E' l(Yhat - Y) from the current E (applied after E moves)
        _add_gradient(E, residual, start, stop, gradient)
        # eq. 6: E <- E * max(X S' - (lambda_c/2) l(Yhat - Y) W', eps) / (E S S' + eps), floored
        for k in range(n_signatures):
            projected = sxt[k, start:stop]
            w = shifted[k, 0]
            row = residual[0]
            g = gram_s[k, 0]
            e = E[0, start:stop]
            for i in range(width):
                numerator[i] = projected[i] - w * row[i]
                denominator[i] = eps + g * e[i]
            for o in range(1, n_classes):
                w = shifted[k, o]
                row = residual[o]
                for i in range(width):
                    numerator[i] -= w * row[i]
            for j in range(1, n_signatures):
                g = gram_s[k, j]
                e = E[j, start:stop]
                for i in range(width):
                    denominator[i] += g * e[i]
            e = E[k, start:stop]
            out = updated[k]
            for i in range(width):
                out[i] = max(e[i] * (max(numerator[i], eps) / denominator[i]), eps)
        for k in range(n_signatures):
            out = updated[k]
            e = E[k, start:stop]
            for i in range(width):
                e[i] = out[i]
        # E'E of the new E, for the next S step
        for a in range(n_signatures):
            for b in range(a, n_signatures):
                acc = zero
                for i in range(width):
                    acc += updated[a, i] * updated[b, i]
                gram_e[a, b] += acc
    for a in range(n_signatures):
        for b in range(a):
            gram_e[a, b] = gram_e[b, a]


@numba.njit(**_PLAIN)
def _block_residual(E, W, start, stop, target_class, label_mask, null, clip, c, residual, inside, total):
    """For samples start:stop of one restart: residual (O, B) = l (Yhat - Y) with the clip's zero derivative.

    Yhat = softmax of the clipped logits W'E, with the U.R. null class (logit 0) where null = 1;
    inside (O, B) and total (B,): scratch.
    """
    n_classes = W.shape[1]
    width = stop - start
    zero = clip - clip
    _block_logits(E, W, start, stop, clip, residual, inside)
    weight = label_mask[start:stop]
    u = null[start:stop]
    for i in range(width):
        total[i] = u[i]
    for o in range(n_classes):
        row = residual[o]
        for i in range(width):
            value = _exp(row[i], c)
            row[i] = value
            total[i] += value
    for i in range(width):
        total[i] = weight[i] / total[i]
    target = target_class[start:stop]
    for o in range(n_classes):
        row = residual[o]
        flag = inside[o]
        for i in range(width):
            row[i] = (row[i] * total[i] - (weight[i] if target[i] == o else zero)) * flag[i]


@numba.njit(**_PLAIN)
def _add_gradient(E, residual, start, stop, gradient):
    """gradient (K, O) += E' l(Yhat - Y) over samples start:stop (residual: :func:`_block_residual`)."""
    n_signatures = E.shape[0]
    n_classes = gradient.shape[1]
    width = stop - start
    for k in range(n_signatures):
        e = E[k, start:stop]
        for o in range(n_classes):
            row = residual[o]
            acc = e[0] - e[0]
            for i in range(width):
                acc += e[i] * row[i]
            gradient[k, o] += acc


@numba.njit(**_PLAIN)
def _weight_step(W, gradient, step, lambda_l2):
    """Eq. 7 in place: W <- W - step [E' l(Yhat - Y) + 2 lambda_l2 W], step = mu_w / n_l."""
    n_signatures, n_classes = W.shape
    for k in range(n_signatures):
        for o in range(n_classes):
            W[k, o] -= step * (gradient[k, o] + (lambda_l2 + lambda_l2) * W[k, o])


@numba.njit(**_PLAIN)
def run_weight_epochs(n_epochs, E, W, target_class, label_mask, null, n_labelled, lambda_l2, mu_w, clip, c):
    """``n_epochs`` of eq. 7 alone, E (K, N) fixed, in place on W (K, O): the W refit of section 2.1.3.

    target_class, label_mask, null (N,) as in :func:`run_epochs`; one restart, its dtype's scalars.
    """
    n_signatures, n_samples = E.shape
    n_classes = W.shape[1]
    residual = np.empty((n_classes, BLOCK), dtype=E.dtype)
    inside = np.empty((n_classes, BLOCK), dtype=E.dtype)
    total = np.empty(BLOCK, dtype=E.dtype)
    gradient = np.empty((n_signatures, n_classes), dtype=E.dtype)
    step = mu_w / n_labelled
    for _ in range(n_epochs):
        gradient[:, :] = clip - clip
        for start in range(0, n_samples, BLOCK):
            stop = min(start + BLOCK, n_samples)
            _block_residual(E, W, start, stop, target_class, label_mask, null, clip, c, residual, inside, total)
            _add_gradient(E, residual, start, stop, gradient)
        _weight_step(W, gradient, step, lambda_l2)


@numba.njit(**_PLAIN)
def _classification_terms(E, W, target_class, null, clip, c, partition, fitted):
    """For the loss, per sample of one restart: partition = u + sum_o exp(z_o), fitted = y . z (float64, (N,))."""
    n_samples = E.shape[1]
    n_classes = W.shape[1]
    z = np.empty((n_classes, BLOCK), dtype=E.dtype)
    inside = np.empty((n_classes, BLOCK), dtype=E.dtype)
    for start in range(0, n_samples, BLOCK):
        stop = min(start + BLOCK, n_samples)
        width = stop - start
        _block_logits(E, W, start, stop, clip, z, inside)
        total = partition[start:stop]
        dot = fitted[start:stop]
        u = null[start:stop]
        target = target_class[start:stop]
        for i in range(width):
            total[i] = float(u[i])
            dot[i] = 0.0
        for o in range(n_classes):
            row = z[o]
            for i in range(width):
                total[i] += float(_exp(row[i], c))
                dot[i] += float(row[i]) if target[i] == o else 0.0


@numba.njit(parallel=True, **_PLAIN)
def run_epochs(n_epochs, X, x_t_parts, bounds, exposures_t, signatures, weights, target_class, label_mask, null,
               n_labelled, etx, gram_e, gram_s, e_parts, sxt_parts, etx_parts, gram_parts, gradient_parts, scratch,
               ready, half_lambda_c, lambda_l2, mu_w, eps, clip, tiny, c, x_squared, with_loss, reconstruction,
               penalty, partition, fitted, n_groups):
    """``n_epochs`` epochs of all restarts, in place on exposures_t, signatures, weights.

    exposures_t (R, K, N); signatures (R, K, 96); weights (R, K, O); target_class (R, N) int32;
    label_mask, null (R, N); n_labelled (R,); etx (R, K, 96) and gram_e (R, K, K): E'X and E'E of the
    current E, already there when ``ready`` (they are after every call); gram_s (R, K, K); X (N, 96)
    and the rest of the scratch as :class:`EpochBuffers` makes them; ``bounds``: :func:`part_bounds`;
    ``c``: :func:`exp_constants` of the dtype; ``n_groups``: groups of restarts (threads / parts).
    Scalars are of the arrays' dtype, except x_squared = ||X||^2 (float64).

    The samples are cut into the parts of ``bounds``, the restarts into ``n_groups`` groups, and
    every (group, part) is a task: its products, its sample pass, its share of E'X, E'E and of
    the W gradient.  The shares are added in part order per restart, the same whatever thread ran
    which task, so the result depends neither on the threads nor on the groups.

    With ``with_loss``, also the parts of L_Tot (eq. 4; eq. 8 under U.R.) of the final state, all
    float64: reconstruction (R,) = ||X - E S||^2, penalty (R,) = ||W||^2, and per sample
    partition, fitted (R, N) (see :func:`_classification_terms`; :func:`loss_from_terms` adds them).
    """
    n_restarts, n_signatures, n_samples = exposures_t.shape
    n_features = X.shape[1]
    n_groups = max(1, min(n_groups, n_restarts))
    n_tasks = n_groups * (bounds.size - 1)
    for task in numba.prange(n_tasks):
        _part_copy(task, n_groups, True, not ready, X, bounds, exposures_t, e_parts, etx_parts, gram_parts)
    # the sums of the parts, the W and S steps: per restart, on this thread (tiny; a parallel loop here
    # cost more than it saved: the restarts' small arrays move between the cores)
    for r in range(n_restarts):
        if not ready:
            _add_parts(etx_parts, r, etx[r])
            _add_parts(gram_parts, r, gram_e[r])
        if n_epochs > 0:
            _signature_step(signatures[r], etx[r], gram_e[r], gram_s[r], eps, tiny, scratch[r])
    for epoch in range(n_epochs):
        for task in numba.prange(n_tasks):
            _part_epoch(task, n_groups, X, x_t_parts, bounds, signatures, weights, target_class, label_mask, null,
                        gram_s, e_parts, sxt_parts, etx_parts, gram_parts, gradient_parts, scratch[task], half_lambda_c,
                        eps, clip, c)
        for r in range(n_restarts):
            _add_parts(gradient_parts, r, gradient_parts[0, r])
            _weight_step(weights[r], gradient_parts[0, r], mu_w / n_labelled[r], lambda_l2)
            _add_parts(etx_parts, r, etx[r])
            _add_parts(gram_parts, r, gram_e[r])
            if epoch + 1 < n_epochs:  # the S step of the next epoch
                _signature_step(signatures[r], etx[r], gram_e[r], gram_s[r], eps, tiny, scratch[r])
    for task in numba.prange(n_tasks):
        _part_copy(task, n_groups, False, False, X, bounds, exposures_t, e_parts, etx_parts, gram_parts)
    if with_loss:
        for r in numba.prange(n_restarts):
            S = signatures[r]
            cross = 0.0
            for k in range(n_signatures):
                for m in range(n_features):
                    cross += float(etx[r, k, m]) * float(S[k, m])
            quadratic = 0.0
            for a in range(n_signatures):
                for b in range(n_signatures):
                    quadratic += float(gram_e[r, a, b]) * float(gram_s[r, a, b])
            reconstruction[r] = max(x_squared - 2.0 * cross + quadratic, 0.0)
            squares = 0.0
            for k in range(n_signatures):
                for o in range(weights.shape[2]):
                    squares += float(weights[r, k, o]) ** 2
            penalty[r] = squares
            _classification_terms(exposures_t[r], weights[r], target_class[r], null[r], clip, c, partition[r],
                                  fitted[r])


@numba.njit(**_PLAIN)
def _add_parts(parts, r, out):
    """out = parts[0, r] + parts[1, r] + ..., in part order (out may be parts[0, r] itself)."""
    first = parts[0, r]
    for a in range(out.shape[0]):
        for b in range(out.shape[1]):
            total = first[a, b]
            for p in range(1, parts.shape[0]):
                total += parts[p, r, a, b]
            out[a, b] = total


@numba.njit(**_PLAIN)
def _task_part(task, n_groups, n_restarts, n_signatures, bounds, e_parts):
    """The restarts first:last and samples lo:hi of a task, and its block of ``e_parts`` (or ``sxt_parts``),
    (last - first, K, hi - lo): the part's blocks are (R, K, width) each, restart after restart."""
    n_parts = bounds.size - 1
    group = task // n_parts
    part = task - group * n_parts
    first = group * n_restarts // n_groups
    last = (group + 1) * n_restarts // n_groups
    lo = bounds[part]
    hi = bounds[part + 1]
    width = hi - lo
    offset = n_restarts * n_signatures * lo + first * n_signatures * width
    block = e_parts[offset:offset + (last - first) * n_signatures * width]
    return part, first, last, lo, hi, block.reshape((last - first, n_signatures, width))


@numba.njit(**_PLAIN)
def _part_copy(task, n_groups, into_parts, with_products, X, bounds, exposures_t, e_parts, etx_parts, gram_parts):
    """Copy a task's part of E into its own contiguous block (``into_parts``: so that it stays in the cache
    of the core that works on it; ``with_products``: then the task's shares of E'X and E'E) or back."""
    n_restarts, n_signatures, _ = exposures_t.shape
    part, first, last, lo, hi, E = _task_part(task, n_groups, n_restarts, n_signatures, bounds, e_parts)
    for i in range(last - first):
        for k in range(n_signatures):
            if into_parts:
                E[i, k, :] = exposures_t[first + i, k, lo:hi]
            else:
                exposures_t[first + i, k, lo:hi] = E[i, k, :]
    if with_products:
        _part_products_of_e(E, X[lo:hi], etx_parts[part, first:last], gram_parts[part, first:last], True)


@numba.njit(**_PLAIN)
def _part_epoch(task, n_groups, X, x_t_parts, bounds, signatures, weights, target_class, label_mask, null, gram_s,
                e_parts, sxt_parts, etx_parts, gram_parts, gradient_parts, scratch, half_lambda_c, eps, clip, c):
    """One epoch of a task: ``S X'`` (one BLAS product over its restarts), the sample pass per restart, then
    ``E'X`` of the new E (one BLAS product)."""
    n_restarts, n_signatures, n_features = signatures.shape
    part, first, last, lo, hi, E = _task_part(task, n_groups, n_restarts, n_signatures, bounds, e_parts)
    sxt = _task_part(task, n_groups, n_restarts, n_signatures, bounds, sxt_parts)[5]
    width = hi - lo
    rows = (last - first) * n_signatures
    if width > 0:
        x_t = x_t_parts[n_features * lo:n_features * hi].reshape((n_features, width))
        np.dot(signatures[first:last].reshape((rows, n_features)), x_t, sxt.reshape((rows, width)))
    for i in range(last - first):
        r = first + i
        _sample_pass(E[i], sxt[i], weights[r], gram_s[r], gram_parts[part, r], gradient_parts[part, r],
                     target_class[r, lo:hi], label_mask[r, lo:hi], null[r, lo:hi], half_lambda_c, eps, clip, c,
                     scratch)
    _part_products_of_e(E, X[lo:hi], etx_parts[part, first:last], gram_parts[part, first:last], False)


@numba.njit(**_PLAIN)
def _part_products_of_e(E, X, etx, gram, with_gram):
    """etx (g, K, 96) = E'X of a part, E (g, K, width), X (width, 96): one BLAS product; with ``with_gram``
    also gram (g, K, K) = E'E (the sample pass makes it otherwise)."""
    n_group, n_signatures, width = E.shape
    if width > 0:
        np.dot(E.reshape((n_group * n_signatures, width)), X, etx.reshape((n_group * n_signatures, X.shape[1])))
    else:
        etx[:, :, :] = 0
    if with_gram:
        for i in range(n_group):
            _gram(E[i], gram[i])


SAMPLE_PARTS = 2
"""Parts the samples are cut into (:func:`run_epochs`): a fixed number, so results do not depend on the
threads; two parts let two cores share every product."""


def part_bounds(n_samples):
    """Where the parts of the samples start and end: (SAMPLE_PARTS + 1,) int64, nearly equal parts."""
    return np.array([n_samples * p // SAMPLE_PARTS for p in range(SAMPLE_PARTS + 1)], dtype=np.int64)


def transposed_parts(X, bounds):
    """X' of each part of the samples, one contiguous (96, width) block after the other, as one 1-D array."""
    return np.concatenate([np.ascontiguousarray(X[lo:hi].T).ravel() for lo, hi in zip(bounds[:-1], bounds[1:])])


def scratch_size(n_signatures, n_features, n_classes):
    """Length of the scratch row of :func:`_sample_pass` and :func:`_signature_step`."""
    sample_pass = (2 * n_classes + n_signatures + 3) * BLOCK + n_signatures * n_classes
    return max(sample_pass, (n_signatures + 1) * n_features)


class EpochBuffers:
    """The scratch arrays of :func:`epochs` for R restarts of one X, allocated once per fit."""

    def __init__(self, n_restarts, n_signatures, n_samples, n_features, n_classes, dtype):
        parts = SAMPLE_PARTS
        self.bounds = part_bounds(n_samples)
        self.x_t_parts = None  # transposed_parts of X, made at the first call
        self.etx = np.empty((n_restarts, n_signatures, n_features), dtype)
        self.gram_e = np.empty((n_restarts, n_signatures, n_signatures), dtype)
        self.gram_s = np.empty((n_restarts, n_signatures, n_signatures), dtype)
        # per call and epoch; sized for the first R (a run only drops restarts)
        self.e_parts = np.empty(n_restarts * n_signatures * n_samples, dtype)
        self.sxt_parts = np.empty(n_restarts * n_signatures * n_samples, dtype)
        self.etx_parts = np.empty((parts, n_restarts, n_signatures, n_features), dtype)
        self.gram_parts = np.empty((parts, n_restarts, n_signatures, n_signatures), dtype)
        self.gradient_parts = np.empty((parts, n_restarts, n_signatures, n_classes), dtype)
        self.scratch = np.empty((parts * n_restarts, scratch_size(n_signatures, n_features, n_classes)), dtype)
        self.reconstruction = np.empty(n_restarts)
        self.penalty = np.empty(n_restarts)
        self.partition = np.empty((n_restarts, n_samples))
        self.fitted = np.empty((n_restarts, n_samples))
        self.coefficients = exp_constants(dtype)
        self.ready = False  # etx and gram_e hold E'X and E'E of the current E

    def keep(self, rows):
        """Drop the slots of finished restarts (``rows``: the slots kept)."""
        for name in ("etx", "gram_e", "gram_s", "reconstruction", "penalty", "partition", "fitted"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[rows]))
        for name in ("etx_parts", "gram_parts", "gradient_parts"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[:, rows]))


def target_classes(targets_t):
    """The class column of each row's target, (R, N) int32, -1 for rows with none, from Y' (R, O, N)."""
    return np.where(targets_t.any(axis=1), targets_t.argmax(axis=1), -1).astype(np.int32)


def epochs(n_epochs, X, x_squared, exposures_t, signatures, weights, target_class, label_mask, null, n_labelled,
           lambda_c, lambda_l2, mu_w, buffers, with_loss=True, n_groups=None):
    """Run ``n_epochs`` epochs of all restarts in place; return L_Tot per restart after them (float64,
    (R,)), or None without ``with_loss``.  Shapes as in :mod:`.updates`, except ``target_class``
    (R, N) (:func:`target_classes`), ``label_mask``, ``null`` (R, N) and ``n_labelled`` (R,).
    ``n_groups``: groups of restarts; by default numba's current number of threads divided by the
    parts, at least 1 (it changes no result).
    """
    from .updates import EPSILON, LOGIT_CLIP

    dtype = exposures_t.dtype.type
    if buffers.x_t_parts is None:
        # contiguous blocks of X': the product with a transposed view of X rounds differently with the
        # number of rows, so a restart's result would depend on its batch
        buffers.x_t_parts = transposed_parts(X, buffers.bounds)
    if n_groups is None:
        n_groups = max(1, numba.get_num_threads() // SAMPLE_PARTS)
    run_epochs(int(n_epochs), X, buffers.x_t_parts, buffers.bounds, exposures_t, signatures, weights, target_class,
               label_mask, null, n_labelled, buffers.etx, buffers.gram_e, buffers.gram_s, buffers.e_parts,
               buffers.sxt_parts, buffers.etx_parts, buffers.gram_parts, buffers.gradient_parts, buffers.scratch,
               buffers.ready, dtype(0.5 * lambda_c), dtype(lambda_l2), dtype(mu_w), dtype(EPSILON), dtype(LOGIT_CLIP),
               np.finfo(dtype).tiny, buffers.coefficients, float(x_squared), bool(with_loss), buffers.reconstruction,
               buffers.penalty, buffers.partition, buffers.fitted, int(n_groups))
    buffers.ready = True
    if not with_loss:
        return None
    return loss_from_terms(buffers, label_mask, lambda_c, lambda_l2)


def loss_from_terms(buffers, label_mask, lambda_c, lambda_l2):
    """L_Tot = ||X - E S||^2 + lambda_c [sum_n l_n (log partition_n - fitted_n) + lambda_l2 ||W||^2], (R,)."""
    loss = buffers.reconstruction.copy()
    if lambda_c != 0.0:
        weight = label_mask.astype(np.float64)
        # rows with l = 0 hold partition = u >= 0 and fitted = 0; log is only taken where l > 0
        logs = np.log(buffers.partition, where=weight > 0, out=np.zeros_like(buffers.partition))
        entropy = (weight * (logs - buffers.fitted)).sum(axis=1)
        loss += lambda_c * (entropy + lambda_l2 * buffers.penalty)
    return loss
