"""The first training step (section 2.1.3): all restarts, advancing together, until each stops.

Stopping rule (SPEC "The models"): the loss is checked every ``CHECK_EVERY`` epochs; a restart
has converged when the relative change of the loss between checks stays under ``tol`` for two
consecutive checks.  PSS-NMF then runs Algorithm 1; if it gives new pseudo-labels, training goes
on (the convergence count restarts).  A restart stops when it has converged with no new
pseudo-labels after at least ``min_epochs`` epochs, or at ``max_epochs``.  A stopped restart
leaves the stacked arrays (they are compacted), so it costs nothing afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .pseudo_labeling import pseudo_label
from .updates import epoch, probabilities, total_loss

CHECK_EVERY = 10
"""Epochs between two loss checks (convergence and, for PSS-NMF, pseudo-labelling)."""


@dataclass
class RestartResult:
    signatures: np.ndarray  # (K, 96) float64
    exposures: np.ndarray  # (N, K) float64
    weights: np.ndarray  # (K, O) float64
    targets: np.ndarray  # (N, O) final Y (labels and pseudo-labels)
    label_mask: np.ndarray  # (N,) final l
    loss_history: np.ndarray  # loss at each check
    n_epochs: int
    pseudo_labels: list = field(default_factory=list)  # (sample row, class column, epoch, probability)


def initial_state(n_samples, n_signatures, n_features, n_classes, rng):
    """Uniform [0, 1) initialisation of E, S, W (as the S-NMF code), drawn in float64."""
    exposures = rng.random((n_samples, n_signatures))
    signatures = rng.random((n_signatures, n_features))
    weights = rng.random((n_signatures, n_classes))
    return exposures, signatures / signatures.sum(axis=1, keepdims=True), weights


def train_restarts(X, class_codes, n_classes, *, n_signatures, pseudo_labeling, unlabeled_regularization,
                   confidence_threshold, lambda_c, lambda_l2, mu_w, tol, min_epochs, max_epochs, rngs, dtype):
    """Train ``len(rngs)`` restarts together.  Returns a list of :class:`RestartResult`.

    X : (N, 96) proportions; class_codes : (N,) int, -1 for unlabelled rows, else the class column.
    BLAS runs single-threaded here: the products of one epoch are small (K x N x 96), and OpenBLAS
    threads cost more in synchronisation than they gain (benchmarks/RESULTS.md: 2 threads made an
    epoch ~6x slower in wall time).  Parallelism belongs one level up: one fit per core.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _train_restarts(X, class_codes, n_classes, n_signatures=n_signatures, pseudo_labeling=pseudo_labeling,
                               unlabeled_regularization=unlabeled_regularization,
                               confidence_threshold=confidence_threshold, lambda_c=lambda_c, lambda_l2=lambda_l2,
                               mu_w=mu_w, tol=tol, min_epochs=min_epochs, max_epochs=max_epochs, rngs=rngs,
                               dtype=dtype)


def _train_restarts(X, class_codes, n_classes, *, n_signatures, pseudo_labeling, unlabeled_regularization,
                    confidence_threshold, lambda_c, lambda_l2, mu_w, tol, min_epochs, max_epochs, rngs, dtype):
    dtype = np.dtype(dtype)
    n_restarts = len(rngs)
    n_samples, n_features = X.shape
    labelled = class_codes >= 0
    states = [initial_state(n_samples, n_signatures, n_features, n_classes, rng) for rng in rngs]
    X_work = np.ascontiguousarray(X, dtype=dtype)
    X_work_t = np.ascontiguousarray(X_work.T)
    exposures_t = np.ascontiguousarray(np.stack([s[0].T for s in states]), dtype=dtype)  # (R, K, N)
    signatures = np.ascontiguousarray(np.stack([s[1] for s in states]), dtype=dtype)  # (R, K, 96)
    weights = np.ascontiguousarray(np.stack([s[2] for s in states]), dtype=dtype)  # (R, K, O)
    targets_t = np.zeros((n_restarts, n_classes, n_samples), dtype=dtype)
    targets_t[:, class_codes[labelled], np.flatnonzero(labelled)] = 1
    # l (eq. 3); U.R. (eq. 8): unlabelled rows count too, with their all-zero target.
    row_weight = np.ones(n_samples) if unlabeled_regularization else labelled.astype(float)
    label_mask = np.ascontiguousarray(np.broadcast_to(row_weight, (n_restarts, 1, n_samples)), dtype=dtype)
    n_labelled = label_mask.sum(axis=2, keepdims=True)
    candidates = np.tile(~labelled, (n_restarts, 1)) if pseudo_labeling else np.zeros((n_restarts, n_samples), bool)

    active = np.arange(n_restarts)  # restart id of each slot of the stacked arrays
    histories = [[] for _ in range(n_restarts)]
    small_changes = np.zeros(n_restarts, dtype=int)
    records = [[] for _ in range(n_restarts)]
    results = [None] * n_restarts
    for n_epoch in range(1, max_epochs + 1):
        epoch(X_work, exposures_t, signatures, weights, targets_t, label_mask, n_labelled, lambda_c, lambda_l2, mu_w,
              X_work_t)
        if n_epoch % CHECK_EVERY and n_epoch != max_epochs:
            continue
        losses = total_loss(X_work, exposures_t, signatures, weights, targets_t, label_mask, lambda_c, lambda_l2)
        finished = np.zeros(active.size, dtype=bool)
        for slot, restart in enumerate(active):
            history = histories[restart]
            if not np.isfinite(losses[slot]):
                raise FloatingPointError(
                    f"restart {restart}: the loss became {losses[slot]} at epoch {n_epoch}; "
                    "lower mu_w or lambda_c"
                )
            if history and abs(history[-1] - losses[slot]) < tol * abs(history[-1]):
                small_changes[restart] += 1
            else:
                small_changes[restart] = 0
            history.append(float(losses[slot]))
            converged = small_changes[restart] >= 2
            if converged and pseudo_labeling:
                yhat = probabilities(exposures_t[slot].T.astype(np.float64), weights[slot].astype(np.float64))
                rows, classes = pseudo_label(yhat, candidates[restart], confidence_threshold, rngs[restart])
                if rows.size:
                    targets_t[slot][:, rows] = 0
                    targets_t[slot][classes, rows] = 1
                    label_mask[slot, 0, rows] = 1
                    n_labelled[slot] = label_mask[slot].sum()
                    candidates[restart, rows] = False
                    records[restart].extend(zip(rows.tolist(), classes.tolist(), [n_epoch] * rows.size,
                                                yhat[rows, classes].tolist()))
                    small_changes[restart] = 0
                    converged = False
            finished[slot] = (converged and n_epoch >= min_epochs) or n_epoch == max_epochs
        for slot in np.flatnonzero(finished):
            restart = active[slot]
            results[restart] = RestartResult(
                signatures=signatures[slot].astype(np.float64),
                exposures=exposures_t[slot].T.astype(np.float64),
                weights=weights[slot].astype(np.float64),
                targets=targets_t[slot].T.astype(np.float64),
                label_mask=label_mask[slot, 0].astype(np.float64),
                loss_history=np.array(histories[restart]),
                n_epochs=n_epoch,
                pseudo_labels=records[restart],
            )
        if finished.any():
            keep = ~finished
            active = active[keep]
            if active.size == 0:
                break
            exposures_t, signatures, weights = exposures_t[keep], signatures[keep], weights[keep]
            targets_t, label_mask, n_labelled = targets_t[keep], label_mask[keep], n_labelled[keep]
    return results
