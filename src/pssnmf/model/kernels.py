"""The training epoch as fused, compiled kernels (numba), the path :mod:`.training` runs.

:mod:`.updates` holds the same equations in plain numpy, one array operation per term: it is
the readable reference, and the tests check these kernels against it.  Here one epoch of all
restarts is

1. ``E'X``        one BLAS product over all restarts: (R K, N) @ (N, 96)
2. kernel 1       per restart: ``E'E``, the S step of eq. 5 with renormalisation and floor,
                  ``G = S S'``, the clipped logits ``z = W'E`` and their clip mask
3. ``exp(z)``     numpy's vectorised exp (numba's scalar exp is ~5x slower here)
4. ``S X'``       one BLAS product over all restarts: (R K, 96) @ (96, N), with the new S
5. kernel 2       per restart: softmax and ``l (Yhat - Y)``, the W step of eq. 7, the E step of
                  eq. 6 (written to a second buffer, so no copy), floors

so each (K, N) or (O, N) array is read a few times per epoch instead of once per numpy call.
Loops over samples are innermost and contiguous, so they vectorise; reductions over samples are
vectorised too (``fastmath`` reassociation), which fixes their rounding for one compiled kernel
on one CPU type: results are identical run to run, thread count to thread count, and restart
to restart whatever else is batched with it, but may differ in the last bits on another CPU
(as BLAS results do).  Every restart is independent, so kernels run their restarts in parallel
threads (``prange``) when numba is allowed more than one; the result does not depend on it.

U.R. (docs/model.md, "U.R."): rows with ``null = 1`` have an extra class of fixed logit 0 in the
softmax denominator, their target being that class (the all-zero target of eq. 8).
"""

from __future__ import annotations

import numba
import numpy as np

_FASTMATH = {"reassoc", "contract", "nsz"}
_OPTIONS = dict(nogil=True, fastmath=_FASTMATH, cache=True, parallel=True, error_model="numpy")


@numba.njit(nogil=True, fastmath=_FASTMATH, cache=True, error_model="numpy", inline="always")
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


@numba.njit(nogil=True, fastmath=_FASTMATH, cache=True, error_model="numpy", inline="always")
def _logits(E, W, out):
    """out (O, N) = W'E for E (K, N), W (K, O), one vectorised pass over samples per term."""
    n_signatures, n_samples = E.shape
    for o in range(W.shape[1]):
        row = out[o]
        w = W[0, o]
        for n in range(n_samples):
            row[n] = w * E[0, n]
        for k in range(1, n_signatures):
            w = W[k, o]
            for n in range(n_samples):
                row[n] += w * E[k, n]


@numba.njit(**_OPTIONS)
def signature_step_and_logits(exposures_t, etx, signatures, weights, gram_s, logits, inside, eps, clip, tiny):
    """Kernel 1, in place on ``signatures``; writes ``gram_s`` (R, K, K), ``logits`` and ``inside`` (R, O, N).

    eps, clip, tiny: scalars of the arrays' dtype (floor, logit clip, smallest normal number).

    exposures_t (R, K, N); etx = E'X (R, K, 96); signatures (R, K, 96); weights (R, K, O).
    """
    n_restarts, n_signatures, n_samples = exposures_t.shape
    n_features = signatures.shape[2]
    n_classes = weights.shape[2]
    for r in numba.prange(n_restarts):
        E = exposures_t[r]
        S = signatures[r]
        zero = eps - eps
        one = clip / clip
        gram_e = np.empty((n_signatures, n_signatures), dtype=signatures.dtype)
        _gram(E, gram_e)
        # eq. 5: S <- S * (E'X) / (E'E S + eps), all rows from the old S
        updated = np.empty((n_signatures, n_features), dtype=signatures.dtype)
        for k in range(n_signatures):
            for m in range(n_features):
                denominator = zero
                for j in range(n_signatures):
                    denominator += gram_e[k, j] * S[j, m]
                updated[k, m] = S[k, m] * (etx[r, k, m] / (denominator + eps))
        for k in range(n_signatures):
            total = zero
            for m in range(n_features):
                total += updated[k, m]
            total = max(total, tiny)
            for m in range(n_features):
                S[k, m] = max(updated[k, m] / total, eps)
        _gram(S, gram_s[r])
        # z = W'E, clipped at +-clip; inside = 1 where the clip did not bind (its derivative)
        _logits(E, weights[r], logits[r])
        for o in range(n_classes):
            row = logits[r, o]
            flag = inside[r, o]
            for n in range(n_samples):
                value = row[n]
                flag[n] = one if abs(value) < clip else zero
                row[n] = min(max(value, -clip), clip)


@numba.njit(**_OPTIONS)
def exposure_and_weight_step(exposures_t, exposures_out, sxt, gram_s, expz, inside, targets_t, label_mask, null,
                             weights, n_labelled, half_lambda_c, lambda_l2, mu_w, eps):
    """Kernel 2: E of eq. 6 into ``exposures_out`` (may be ``sxt``), W of eq. 7 in place.

    exposures_t (R, K, N) current E'; sxt = S X' (R, K, N) with the new S; gram_s (R, K, K);
    expz = exp(z) (R, O, N), overwritten with ``l (Yhat - Y)``; inside (R, O, N); targets_t (R, O, N);
    label_mask, null (R, N); weights (R, K, O); n_labelled (R,).
    """
    n_restarts, n_signatures, n_samples = exposures_t.shape
    n_classes = weights.shape[2]
    for r in numba.prange(n_restarts):
        E = exposures_t[r]
        G = expz[r]
        zero = eps - eps
        # softmax with the U.R. null class, then l (Yhat - Y) with the clip's zero derivative
        total = null[r].copy()
        for o in range(n_classes):
            row = G[o]
            for n in range(n_samples):
                total[n] += row[n]
        weight = label_mask[r]
        for n in range(n_samples):
            total[n] = weight[n] / total[n]
        for o in range(n_classes):
            row = G[o]
            target = targets_t[r, o]
            flag = inside[r, o]
            for n in range(n_samples):
                row[n] = (row[n] * total[n] - target[n] * weight[n]) * flag[n]
        # eq. 7's gradient E' l(Yhat - Y) from the current E (applied after E moves)
        change = np.empty((n_signatures, n_classes), dtype=E.dtype)
        for k in range(n_signatures):
            e_row = E[k]
            for o in range(n_classes):
                row = G[o]
                acc = zero
                for n in range(n_samples):
                    acc += e_row[n] * row[n]
                change[k, o] = acc
        # eq. 6: E <- E * max(X S' - (lambda_c/2) l(Yhat - Y) W', eps) / (E S S' + eps)
        out = exposures_out[r]
        numerator = np.empty(n_samples, dtype=E.dtype)
        denominator = np.empty(n_samples, dtype=E.dtype)
        for k in range(n_signatures):
            numerator[:] = sxt[r, k]
            for o in range(n_classes):
                w = half_lambda_c * weights[r, k, o]
                row = G[o]
                for n in range(n_samples):
                    numerator[n] -= w * row[n]
            denominator[:] = eps
            for j in range(n_signatures):
                g = gram_s[r, k, j]
                e_row = E[j]
                for n in range(n_samples):
                    denominator[n] += g * e_row[n]
            e_row = E[k]
            out_row = out[k]
            for n in range(n_samples):
                out_row[n] = max(e_row[n] * (max(numerator[n], eps) / denominator[n]), eps)
        step = mu_w / n_labelled[r]
        for k in range(n_signatures):
            for o in range(n_classes):
                weights[r, k, o] -= step * (change[k, o] + (lambda_l2 + lambda_l2) * weights[r, k, o])


@numba.njit(**_OPTIONS)
def loss_terms(x_squared, exposures_t, etx, signatures, weights, targets_t, label_mask, null, lambda_c, lambda_l2,
               clip, out):
    """L_Tot (eq. 4; eq. 8 under U.R.) per restart into ``out`` (R,), float64.

    etx = E'X of the current E (R, K, 96); x_squared = ||X||^2; clip of the arrays' dtype.  The same
    loss as :func:`pssnmf.model.updates.total_loss`: ||X||^2 - 2 <E'X, S> + <E'E, S S'> plus
    lambda_c [sum_n l_n (log(u_n + sum_o exp z_no) - y_n . z_n) + lambda_l2 ||W||^2], z = clip(E W).
    Sums over samples run in the arrays' precision, vectorised; the totals in float64.
    """
    n_restarts, n_signatures, n_samples = exposures_t.shape
    n_features = signatures.shape[2]
    n_classes = weights.shape[2]
    for r in numba.prange(n_restarts):
        E = exposures_t[r]
        S = signatures[r]
        cross = 0.0
        for k in range(n_signatures):
            for m in range(n_features):
                cross += float(etx[r, k, m]) * float(S[k, m])
        gram_e = np.empty((n_signatures, n_signatures), dtype=E.dtype)
        gram_s = np.empty((n_signatures, n_signatures), dtype=E.dtype)
        _gram(E, gram_e)
        _gram(S, gram_s)
        quadratic = 0.0
        for a in range(n_signatures):
            for b in range(n_signatures):
                quadratic += float(gram_e[a, b]) * float(gram_s[a, b])
        loss = max(x_squared - 2.0 * cross + quadratic, 0.0)
        if lambda_c != 0.0:
            logits = np.empty((n_classes, n_samples), dtype=E.dtype)
            _logits(E, weights[r], logits)
            for o in range(n_classes):
                row = logits[o]
                for n in range(n_samples):
                    row[n] = min(max(row[n], -clip), clip)
            entropy = 0.0
            for n in range(n_samples):
                weight = float(label_mask[r, n])
                if weight == 0.0:
                    continue
                peak = 0.0 if null[r, n] != 0 else float(logits[0, n])
                for o in range(n_classes):
                    peak = max(peak, float(logits[o, n]))
                partition = float(null[r, n]) * np.exp(-peak)
                fitted = 0.0
                for o in range(n_classes):
                    z = float(logits[o, n])
                    partition += np.exp(z - peak)
                    fitted += float(targets_t[r, o, n]) * z
                entropy += weight * (np.log(partition) + peak - fitted)
            penalty = 0.0
            for k in range(n_signatures):
                for o in range(n_classes):
                    penalty += float(weights[r, k, o]) ** 2
            loss += lambda_c * (entropy + lambda_l2 * penalty)
        out[r] = loss


class EpochBuffers:
    """The scratch arrays of :func:`epoch` for R restarts, allocated once per fit."""

    def __init__(self, n_restarts, n_signatures, n_samples, n_features, n_classes, dtype):
        self.etx = np.empty((n_restarts, n_signatures, n_features), dtype)
        self.spare = np.empty((n_restarts, n_signatures, n_samples), dtype)
        self.gram_s = np.empty((n_restarts, n_signatures, n_signatures), dtype)
        self.logits = np.empty((n_restarts, n_classes, n_samples), dtype)
        self.inside = np.empty((n_restarts, n_classes, n_samples), dtype)  # 1.0 where the clip did not bind
        self.etx_ready = False  # etx holds E'X of the current E (computed by :func:`loss`)

    def keep(self, rows):
        """Drop the slots of finished restarts (``rows``: the slots kept)."""
        for name in ("etx", "spare", "gram_s", "logits", "inside"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[rows]))


def epoch(X, X_t, exposures_t, signatures, weights, targets_t, label_mask, null, n_labelled, lambda_c, lambda_l2,
          mu_w, eps, clip, buffers):
    """One epoch of all restarts; returns the new ``exposures_t`` (a swapped buffer; the old one
    becomes ``buffers.spare``).  Scalars must be of the arrays' dtype.  Shapes as in :mod:`.updates`,
    except ``label_mask``, ``null`` (R, N) and ``n_labelled`` (R,).
    """
    n_restarts, n_signatures, n_samples = exposures_t.shape
    if not buffers.etx_ready:
        np.matmul(exposures_t.reshape(-1, n_samples), X, out=buffers.etx.reshape(-1, X.shape[1]))
    buffers.etx_ready = False
    signature_step_and_logits(exposures_t, buffers.etx, signatures, weights, buffers.gram_s, buffers.logits,
                              buffers.inside, eps, clip, np.finfo(exposures_t.dtype).tiny)
    np.exp(buffers.logits, out=buffers.logits)
    sxt = buffers.spare
    np.matmul(signatures.reshape(-1, X.shape[1]), X_t, out=sxt.reshape(-1, n_samples))
    dtype = exposures_t.dtype.type
    exposure_and_weight_step(exposures_t, sxt, sxt, buffers.gram_s, buffers.logits, buffers.inside, targets_t,
                             label_mask, null, weights, n_labelled, dtype(0.5 * lambda_c), dtype(lambda_l2),
                             dtype(mu_w), eps)
    buffers.spare = exposures_t
    return sxt


def loss(X, x_squared, exposures_t, signatures, weights, targets_t, label_mask, null, lambda_c, lambda_l2, clip,
         buffers):
    """L_Tot per restart (float64, (R,)) of the current state; leaves E'X in ``buffers`` for the next epoch."""
    n_samples = exposures_t.shape[2]
    np.matmul(exposures_t.reshape(-1, n_samples), X, out=buffers.etx.reshape(-1, X.shape[1]))
    buffers.etx_ready = True
    out = np.empty(exposures_t.shape[0])
    loss_terms(float(x_squared), exposures_t, buffers.etx, signatures, weights, targets_t, label_mask, null,
               float(lambda_c), float(lambda_l2), exposures_t.dtype.type(clip), out)
    return out
