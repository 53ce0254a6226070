"""The first training step (section 2.1.3): all restarts, advancing together, until each stops.

Stopping rule (docs/model.md, "Convergence and defaults"): the loss is checked every ``CHECK_EVERY`` epochs; a restart
has converged when the relative change of the loss between checks stays under ``tol`` for two
consecutive checks.  PSS-NMF then runs Algorithm 1; if it gives new pseudo-labels, training goes
on (the convergence count restarts).  A restart stops when it has converged with no new
pseudo-labels after at least ``min_epochs`` epochs, or at ``max_epochs``.  A stopped restart
leaves the stacked arrays (they are compacted), so it costs nothing afterwards.

Pseudo-labelling variants (issue "Beyond the paper", the paper's section 4; each off by default,
so the default is Algorithm 1 exactly):

``vote``      a candidate enters restart r's pool only if the class r predicts for it is the
              predicted class of a strict majority of all restarts (active ones now, finished
              ones at their end);
``soft``      a pseudo-labelled row counts in the cross-entropy with weight l_n = its probability
              when labelled, instead of 1;
``revisable`` at each convergence, before Algorithm 1, a pseudo-labelled row whose predicted class
              is no longer its label loses it and returns to the pool (recorded as a revision);
              a revision, like a new label, means training goes on;
``ur_weight`` the weight l_n of U.R. rows (1 in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from . import bcd, kernels
from .pseudo_labeling import class_votes, majority_pool, pseudo_label, revoked
from .updates import probabilities

CHECK_EVERY = 10
"""Epochs of the "mu" solver between two loss checks (convergence and, for PSS-NMF, pseudo-labelling)."""

BCD_CHECK_EVERY = 5
"""Iterations of the "bcd" solver between two checks (each check costs about a third of an iteration)."""

BCD_STALLED = 1e-8
"""A "bcd" restart whose loss changed by less than this, relatively, from one check to the next has
converged too: its steps no longer move the loss in any number of iterations that matters (at 1e-8 per
5 iterations, 0.1 % takes 500,000).  At a kink of the clipped logits (a row's logit at or beyond -50
or +50, the clip of eq. 3, where the row's loss does not fall on either side) the one-sided gradient
the projected gradient norm is made of does not vanish, and W stays where it is while E creeps
(docs/model.md, "Solvers").  On the real grids no restart that reaches ``tol`` meets this rule first
(benchmarks/RESULTS.md)."""

CONVERGED_CHECKS = {"mu": 2, "bcd": 1}
"""Consecutive checks under ``tol`` that make a restart converged: the loss change of "mu" can be
small by chance once; the projected gradient of "bcd" measures the distance from stationarity itself."""


@dataclass
class RestartResult:
    signatures: np.ndarray  # (K, 96) float64
    exposures: np.ndarray  # (N, K) float64
    weights: np.ndarray  # (K, O) float64
    targets: np.ndarray  # (N, O) final Y (labels and pseudo-labels)
    label_mask: np.ndarray  # (N,) final l
    loss_history: np.ndarray  # loss at each check
    n_epochs: int
    pseudo_labels: list = field(default_factory=list)  # (sample row, class column, epoch, probability) held at the end
    revisions: list = field(default_factory=list)  # (sample row, class column, epoch given, epoch revoked)


def initial_state(n_samples, n_signatures, n_features, n_classes, rng):
    """Uniform [0, 1) initialisation of E, S, W (as the S-NMF code), drawn in float64."""
    exposures = rng.random((n_samples, n_signatures))
    signatures = rng.random((n_signatures, n_features))
    weights = rng.random((n_signatures, n_classes))
    return exposures, signatures / signatures.sum(axis=1, keepdims=True), weights


def train_restarts(X, class_codes, n_classes, *, n_signatures, pseudo_labeling, unlabeled_regularization,
                   confidence_threshold, lambda_c, lambda_l2, mu_w, tol, min_epochs, max_epochs, rngs, dtype,
                   ur_weight=1.0, vote=False, soft=False, revisable=False, n_threads=1, solver="mu"):
    """Train ``len(rngs)`` restarts together.  Returns a list of :class:`RestartResult`.

    solver : "mu" (the paper's eqs. 5-7, :mod:`.kernels`; ``tol`` bounds the relative change of the
    loss between checks every ``CHECK_EVERY`` epochs) or "bcd" (:mod:`.bcd`; an epoch is one block
    coordinate descent iteration, and ``tol`` bounds the relative projected gradient norm, checked
    every ``BCD_CHECK_EVERY`` iterations).

    X : (N, 96) proportions; class_codes : (N,) int, -1 for unlabelled rows, else the class column.
    BLAS runs single-threaded here: the products of one epoch are small (K x N x 96), and OpenBLAS
    threads cost more in synchronisation than they gain (benchmarks/RESULTS.md).  The compiled
    kernels run on ``n_threads`` threads (:mod:`.kernels`, "Threads"), which changes no result.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            return _train_restarts(X, class_codes, n_classes, n_signatures=n_signatures,
                                   pseudo_labeling=pseudo_labeling, unlabeled_regularization=unlabeled_regularization,
                                   confidence_threshold=confidence_threshold, lambda_c=lambda_c, lambda_l2=lambda_l2,
                                   mu_w=mu_w, tol=tol, min_epochs=min_epochs, max_epochs=max_epochs, rngs=rngs,
                                   dtype=dtype, ur_weight=ur_weight, vote=vote, soft=soft, revisable=revisable,
                                   solver=solver)
    finally:
        numba.set_num_threads(previous)


def _train_restarts(X, class_codes, n_classes, *, n_signatures, pseudo_labeling, unlabeled_regularization,
                    confidence_threshold, lambda_c, lambda_l2, mu_w, tol, min_epochs, max_epochs, rngs, dtype,
                    ur_weight, vote, soft, revisable, solver):
    dtype = np.dtype(np.float64 if solver == "bcd" else dtype)
    n_restarts = len(rngs)
    n_samples, n_features = X.shape
    labelled = class_codes >= 0
    states = [initial_state(n_samples, n_signatures, n_features, n_classes, rng) for rng in rngs]
    X_work = np.ascontiguousarray(X, dtype=dtype)
    exposures_t = np.ascontiguousarray(np.stack([s[0].T for s in states]), dtype=dtype)  # (R, K, N)
    signatures = np.ascontiguousarray(np.stack([s[1] for s in states]), dtype=dtype)  # (R, K, 96)
    weights = np.ascontiguousarray(np.stack([s[2] for s in states]), dtype=dtype)  # (R, K, O)
    targets_t = np.zeros((n_restarts, n_classes, n_samples), dtype=dtype)
    targets_t[:, class_codes[labelled], np.flatnonzero(labelled)] = 1
    # l (eq. 3); U.R. (eq. 8): unlabelled rows count too, with an all-zero target (the null class).
    unlabelled_weight = float(ur_weight) if unlabeled_regularization else 0.0
    row_weight = np.where(labelled, 1.0, unlabelled_weight)
    label_mask = np.tile(row_weight, (n_restarts, 1)).astype(dtype)  # C order, writable (also for R = 1)
    null_row = (~labelled).astype(float) if unlabeled_regularization else np.zeros(n_samples)
    null = np.tile(null_row, (n_restarts, 1)).astype(dtype)
    n_labelled = label_mask.sum(axis=1)
    candidates = np.tile(~labelled, (n_restarts, 1)) if pseudo_labeling else np.zeros((n_restarts, n_samples), bool)
    target_class = kernels.target_classes(targets_t)  # what the kernels read; follows targets_t
    buffers = kernels.EpochBuffers(n_restarts, n_signatures, n_samples, n_features, n_classes, dtype)
    x_squared = float(np.einsum("nm,nm->", X_work, X_work, dtype=np.float64))

    active = np.arange(n_restarts)  # restart id of each slot of the stacked arrays
    histories = [[] for _ in range(n_restarts)]
    small_changes = np.zeros(n_restarts, dtype=int)
    records = [{} for _ in range(n_restarts)]  # row -> (class, epoch, probability), labels held now
    revisions = [[] for _ in range(n_restarts)]
    final_predictions = [None] * n_restarts  # class of every row at the end (for the vote)
    results = [None] * n_restarts
    n_epoch = 0
    if solver == "bcd":
        state = bcd.State(X_work, exposures_t.transpose(0, 2, 1), signatures, weights, target_class, label_mask,
                          null, lambda_c, lambda_l2)
        exposures_t, signatures, weights = state.E.transpose(0, 2, 1), state.S, state.W  # views of the state
        check_every = BCD_CHECK_EVERY
    else:
        check_every = CHECK_EVERY
    while n_epoch < max_epochs:
        # run to the next check (every check_every epochs, and at max_epochs) in one call
        n_run = min(check_every - n_epoch % check_every, max_epochs - n_epoch)
        if solver == "bcd":
            losses, stationarity = bcd.iterate(state, n_run)
        else:
            losses = kernels.epochs(n_run, X_work, x_squared, exposures_t, signatures, weights, target_class,
                                    label_mask, null, n_labelled, lambda_c, lambda_l2, mu_w, buffers)
        n_epoch += n_run
        finished = np.zeros(active.size, dtype=bool)
        votes = None
        for slot, restart in enumerate(active):
            history = histories[restart]
            if not np.isfinite(losses[slot]):
                raise FloatingPointError(
                    f"restart {restart}: the loss became {losses[slot]} at epoch {n_epoch}; "
                    "lower mu_w or lambda_c"
                )
            if solver == "bcd":
                stalled = bool(history) and abs(history[-1] - losses[slot]) <= BCD_STALLED * abs(history[-1])
                small = stationarity[slot] < tol or stalled
            else:
                small = bool(history) and abs(history[-1] - losses[slot]) < tol * abs(history[-1])
            small_changes[restart] = small_changes[restart] + 1 if small else 0
            history.append(float(losses[slot]))
            converged = small_changes[restart] >= CONVERGED_CHECKS[solver]
            if converged and pseudo_labeling:
                yhat = probabilities(exposures_t[slot].T.astype(np.float64), weights[slot].astype(np.float64))
                changed = False
                if revisable and records[restart]:
                    held = np.fromiter(records[restart], dtype=np.intp)
                    given = np.array([records[restart][row][0] for row in held], dtype=np.intp)
                    lost = held[revoked(held, given, yhat)]
                    for row in lost.tolist():
                        column, given_epoch, _ = records[restart].pop(row)
                        revisions[restart].append((row, column, given_epoch, n_epoch))
                    if lost.size:
                        targets_t[slot][:, lost] = 0
                        label_mask[slot, lost] = unlabelled_weight
                        null[slot, lost] = null_row[lost]
                        candidates[restart, lost] = True
                        changed = True
                pool = candidates[restart]
                if vote:
                    if votes is None:  # every restart's predictions now (finished ones: at their end)
                        now = np.matmul(weights.transpose(0, 2, 1), exposures_t).argmax(axis=1)
                        ended = [p for r, p in enumerate(final_predictions) if p is not None and r not in active]
                        votes = class_votes(np.vstack([now, *ended]), n_classes)
                    pool = majority_pool(pool, yhat.argmax(axis=1), votes, n_restarts)
                rows, classes = pseudo_label(yhat, pool, confidence_threshold, rngs[restart])
                if rows.size:
                    confidence = yhat[rows, classes]
                    targets_t[slot][:, rows] = 0
                    targets_t[slot][classes, rows] = 1
                    label_mask[slot, rows] = confidence if soft else 1
                    null[slot, rows] = 0
                    candidates[restart, rows] = False
                    for row, column, probability in zip(rows.tolist(), classes.tolist(), confidence.tolist()):
                        records[restart][row] = (column, n_epoch, probability)
                    changed = True
                if changed:
                    target_class[slot] = kernels.target_classes(targets_t[slot][None])[0]
                    n_labelled[slot] = label_mask[slot].sum()
                    if solver == "bcd":
                        state.set_targets(target_class, label_mask, null)
                    small_changes[restart] = 0
                    converged = False
            finished[slot] = (converged and n_epoch >= min_epochs) or n_epoch == max_epochs
        for slot in np.flatnonzero(finished):
            restart = active[slot]
            if vote:
                final_predictions[restart] = (weights[slot].T @ exposures_t[slot]).argmax(axis=0)
            results[restart] = RestartResult(
                signatures=signatures[slot].astype(np.float64),
                exposures=exposures_t[slot].T.astype(np.float64),
                weights=weights[slot].astype(np.float64),
                targets=targets_t[slot].T.astype(np.float64),
                label_mask=label_mask[slot].astype(np.float64),
                loss_history=np.array(histories[restart]),
                n_epochs=n_epoch,
                pseudo_labels=[(row, *held) for row, held in records[restart].items()],  # in the order given
                revisions=revisions[restart],
            )
        if finished.any():
            keep = ~finished
            active = active[keep]
            if active.size == 0:
                break
            targets_t, label_mask, null, n_labelled = targets_t[keep], label_mask[keep], null[keep], n_labelled[keep]
            target_class = target_class[keep]
            if solver == "bcd":
                state.keep(keep)
                exposures_t, signatures, weights = state.E.transpose(0, 2, 1), state.S, state.W
            else:
                exposures_t, signatures, weights = exposures_t[keep], signatures[keep], weights[keep]
                buffers.keep(keep)
    return results

