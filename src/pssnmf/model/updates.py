"""The training updates of integrated NMF (eqs. 5-7), batched over restarts, and the loss.

Layout: all restarts advance together.  The arrays of the ``R`` active restarts are stacked,
and the exposures are stored transposed so that the large products are single matrix products
over all restarts at once:

- ``X``            (N, 96)      profiles, rows sum to 1 (shared by all restarts)
- ``exposures_t``  (R, K, N)    E transposed, per restart
- ``signatures``   (R, K, 96)   S, rows sum to 1
- ``weights``      (R, K, O)    W
- ``targets_t``    (R, O, N)    Y transposed: one-hot rows for (pseudo-)labelled samples, zero rows else
- ``label_mask``   (R, 1, N)    l: 1 where a row counts in the cross-entropy, else 0

The scale of the library (see docs/model.md): ``lambda_c`` and ``lambda_l2`` are the paper's, the
E update (eq. 6) is the paper's row by row, and the W update (eq. 7) uses the cross-entropy gradient
averaged over the rows with l = 1 (docs/model.md, "Loss, updates and their scale").  With ``n_l`` such rows that is the paper's
eq. 7 with ``mu_W_paper = mu_w / n_l``.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-10
"""Floor of the E numerator (eq. 6) and the term added to every denominator (docs/model.md)."""

LOGIT_CLIP = 50.0
"""Logits ``E W`` are clipped to +-50 before the softmax, as the S-NMF code does."""


def _class_residual(exposures_t, weights, targets_t, label_mask, null_t=None):
    """``l (Yhat - Y)`` transposed, (R, O, N), with ``Yhat = softmax(E W)`` (eq. 2).

    exposures_t : (R, K, N); weights : (R, K, O); targets_t : (R, O, N); label_mask : (R, 1, N).
    null_t : (R, 1, N) or None: 1 for U.R. rows, whose softmax has an extra class of logit 0
    (their target; docs/model.md "U.R."), else 0.
    """
    logits_t = np.matmul(weights.transpose(0, 2, 1), exposures_t)  # (R, O, N)
    # A clipped logit has zero derivative: without this, U.R. rows (whose loss term falls without
    # bound as all their logits fall) keep pushing E and W after every logit sits at -50, and W runs
    # away (seen: W ~ -1e16).  This is the exact gradient of the clipped loss.
    inside = np.abs(logits_t) < LOGIT_CLIP
    np.clip(logits_t, -LOGIT_CLIP, LOGIT_CLIP, out=logits_t)
    # Clipped logits lie within 100 of each other, so exp() of them cannot overflow even in float32.
    np.exp(logits_t, out=logits_t)
    total = logits_t.sum(axis=1, keepdims=True)
    if null_t is not None:
        total += null_t
    logits_t /= total
    logits_t -= targets_t
    logits_t *= label_mask
    logits_t *= inside
    return logits_t


def _signature_step(signatures, exposures_t, X):
    """Eq. 5 in place: S <- S * (E'X) / (E'E S + eps).

    signatures : (R, K, 96); exposures_t : (R, K, N); X : (N, 96).
    """
    n_samples = exposures_t.shape[2]
    numerator = (exposures_t.reshape(-1, n_samples) @ X).reshape(signatures.shape)  # E'X
    gram = np.matmul(exposures_t, exposures_t.transpose(0, 2, 1))  # E'E, (R, K, K)
    denominator = np.matmul(gram, signatures)
    denominator += EPSILON
    numerator /= denominator
    signatures *= numerator


def _renormalise_signatures(signatures):
    """Rows of S to sum 1, in place; E is not rescaled (as the S-NMF code does).

    Rescaling E to keep E S unchanged was tried: with lambda_c > 0 it lets the classification term
    inflate E epoch after epoch and the loss grows (docs/model.md, "Update order and scale").
    """
    totals = signatures.sum(axis=2, keepdims=True)  # (R, K, 1)
    np.maximum(totals, np.finfo(signatures.dtype).tiny, out=totals)
    signatures /= totals


def _exposure_step(exposures_t, signatures, X, weights, class_residual_t, lambda_c, X_t=None):
    """Eq. 6 in place: E <- E * max(X S' - (lambda_c/2) l(Yhat - Y) W', eps) / (E S S' + eps).

    Everything transposed: (R, K, N).  lambda_c is the paper's (per row, not averaged).
    X_t : optional contiguous copy of X' (96, N); the product with it is ~25 % faster than with X.T.
    """
    n_restarts, n_signatures, n_features = signatures.shape
    X_t = X.T if X_t is None else X_t
    numerator = (signatures.reshape(-1, n_features) @ X_t).reshape(exposures_t.shape)  # (X S')'
    if lambda_c:
        # (lambda_c/2) (l(Yhat-Y) W')', scaling the small W rather than the (R, K, N) product
        numerator -= np.matmul((0.5 * lambda_c) * weights, class_residual_t)
    np.maximum(numerator, EPSILON, out=numerator)
    denominator = np.matmul(np.matmul(signatures, signatures.transpose(0, 2, 1)), exposures_t)
    denominator += EPSILON
    numerator /= denominator
    exposures_t *= numerator


def _weight_change(weights, exposures_t, class_residual_t, mu_w, lambda_l2, n_labelled):
    """The step of eq. 7 with the gradient averaged over the n_l rows with l = 1: (R, K, O).

    mu_w [E' l(Yhat - Y) + 2 lambda_l2 W] / n_l   (= eq. 7's step with mu_W_paper = mu_w / n_l)
    weights : (R, K, O); n_labelled : (R, 1, 1).
    """
    change = np.matmul(exposures_t, class_residual_t.transpose(0, 2, 1))  # E' l(Yhat-Y)
    change += (2.0 * lambda_l2) * weights
    change *= mu_w / n_labelled
    return change


def _weight_step(weights, exposures_t, class_residual_t, mu_w, lambda_l2, n_labelled):
    """Eq. 7 in place: W <- W - mu_w [E' l(Yhat - Y) + 2 lambda_l2 W] / n_l."""
    weights -= _weight_change(weights, exposures_t, class_residual_t, mu_w, lambda_l2, n_labelled)


def epoch(X, exposures_t, signatures, weights, targets_t, label_mask, n_labelled, lambda_c, lambda_l2, mu_w,
          X_t=None, null_t=None):
    """One training epoch for all active restarts, in place (docs/model.md, "Loss, updates and their scale").

    S first (eq. 5, renormalised), then E (eq. 6) and W (eq. 7) both from the new S and the
    current E and W.  The reference for :func:`pssnmf.model.kernels.epoch`, which training runs.
    """
    _signature_step(signatures, exposures_t, X)
    _renormalise_signatures(signatures)
    # Multiplicative updates drive unused entries towards 0 through subnormal numbers, and
    # arithmetic on subnormals is ~50x slower on x86; entries are kept >= eps instead (an entry of
    # 1e-10 is zero for every purpose here, and unlike 0 it can still grow back).
    np.maximum(signatures, EPSILON, out=signatures)
    class_residual_t = _class_residual(exposures_t, weights, targets_t, label_mask, null_t)
    # W's step uses E_t and E's uses W_t: take W's step before E moves, apply it after.
    weight_change = _weight_change(weights, exposures_t, class_residual_t, mu_w, lambda_l2, n_labelled)
    _exposure_step(exposures_t, signatures, X, weights, class_residual_t, lambda_c, X_t)
    np.maximum(exposures_t, EPSILON, out=exposures_t)
    weights -= weight_change


def total_loss(X, exposures_t, signatures, weights, targets_t, label_mask, lambda_c, lambda_l2, null_t=None):
    """The loss L_Tot (eq. 4, with eq. 3 or eq. 8), per restart, in float64: (R,).

    L = ||X - E S||_F^2 + lambda_c [sum_n l_n (log(u_n + sum_o exp z_no) - y_n . z_n) + lambda_l2 ||W||^2],
    z = clip(E W, +-50), u_n = ``null_t`` (1 for U.R. rows, else 0).  For a one-hot y_n (u_n = 0)
    the bracket is the cross-entropy -sum_o y log yhat (eq. 3); for a U.R. row (all-zero target,
    eq. 8) it is log(1 + sum_o exp z_no) = -log P(null class), bounded below by 0, whose gradient
    is the ``Yhat - 0`` of eqs. 6-7 (docs/model.md, "U.R.").
    """
    X = np.asarray(X, dtype=np.float64)
    exposures_t = np.asarray(exposures_t, dtype=np.float64)
    signatures = np.asarray(signatures, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    # ||X - ES||^2 = ||X||^2 - 2 <E'X, S> + <E'E, S S'>: no (R, N, 96) residual to build.
    n_samples = exposures_t.shape[2]
    cross = (exposures_t.reshape(-1, n_samples) @ X).reshape(signatures.shape)  # E'X
    gram_e = np.matmul(exposures_t, exposures_t.transpose(0, 2, 1))
    gram_s = np.matmul(signatures, signatures.transpose(0, 2, 1))
    loss = np.einsum("nm,nm->", X, X) - 2 * np.einsum("rkm,rkm->r", cross, signatures) + np.einsum(
        "rkj,rkj->r", gram_e, gram_s
    )
    loss = np.maximum(loss, 0.0)
    if lambda_c:
        loss = loss + lambda_c * classification_loss(exposures_t, weights, targets_t, label_mask, lambda_l2, null_t)
    return loss


def classification_loss(exposures_t, weights, targets_t, label_mask, lambda_l2, null_t=None):
    """L_c of eq. 3 (eq. 8 under U.R.) per restart, float64: (R,).  Shapes as in the module doc."""
    logits_t = np.matmul(np.asarray(weights, np.float64).transpose(0, 2, 1), np.asarray(exposures_t, np.float64))
    np.clip(logits_t, -LOGIT_CLIP, LOGIT_CLIP, out=logits_t)
    peak = logits_t.max(axis=1, keepdims=True)
    if null_t is not None:
        peak = np.maximum(peak, 0.0)  # the null class's logit is 0
    partition = np.exp(logits_t - peak).sum(axis=1, keepdims=True)
    if null_t is not None:
        partition += np.asarray(null_t, np.float64) * np.exp(-peak)
    log_partition = np.log(partition) + peak  # (R, 1, N)
    targets_t = np.asarray(targets_t, np.float64)
    per_row = log_partition[:, 0, :] - (targets_t * logits_t).sum(axis=1)  # (R, N)
    cross_entropy = (per_row * np.asarray(label_mask, np.float64)[:, 0, :]).sum(axis=1)
    return cross_entropy + lambda_l2 * np.einsum("rko,rko->r", weights, weights)


def loss_gradients(X, exposures, signatures, weights, targets, label_mask, lambda_c, lambda_l2, null=None):
    """Exact gradients of :func:`total_loss` for one restart (untransposed), for tests.

    X : (N, 96); exposures : (N, K); signatures : (K, 96); weights : (K, O); targets : (N, O);
    label_mask : (N,); null : (N,) or None.  Returns (dL/dE (N, K), dL/dW (K, O)) -- Appendix A
    eqs. 19, 29, 33 (with eq. 32's bracket corrected: lambda_c l(Yhat - Y) W').
    """
    raw = exposures @ weights
    logits = np.clip(raw, -LOGIT_CLIP, LOGIT_CLIP)
    probabilities = np.exp(logits)
    total = probabilities.sum(axis=1, keepdims=True)
    if null is not None:
        total += np.asarray(null, dtype=float)[:, None]
    probabilities /= total
    residual = label_mask[:, None] * (probabilities - targets) * (np.abs(raw) < LOGIT_CLIP)
    d_exposures = -2 * X @ signatures.T + 2 * exposures @ signatures @ signatures.T + lambda_c * residual @ weights.T
    d_weights = lambda_c * (exposures.T @ residual + 2 * lambda_l2 * weights)
    return d_exposures, d_weights


def probabilities(exposures, weights):
    """Yhat = softmax(clip(E W)) (eq. 2).  exposures : (N, K); weights : (K, O).  Returns (N, O)."""
    logits = np.clip(exposures @ weights, -LOGIT_CLIP, LOGIT_CLIP)
    logits = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits / logits.sum(axis=1, keepdims=True)
