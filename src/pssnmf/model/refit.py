"""The second training step (section 2.1.3): E and W refitted with the consensus S fixed, lambda_c = 0.

- E: non-negative least squares of X on the consensus signatures (the same solver as at test time,
  so training and test exposures are computed the same way).
- W: the W update of eq. 7 (averaged gradient, the same ``mu_w``, ``lambda_l2``) run on the fixed
  E, from the mean of the restarts' weights matched to the consensus clusters, until the relative
  change of L_c stays under ``tol`` for two consecutive checks (or ``max_epochs``).  Targets and l
  are those the consensus restart ended with (labels, its pseudo-labels, U.R. rows).
"""

from __future__ import annotations

import numpy as np

from . import bcd_kernels
from .kernels import _classification_terms, exp_constants, run_weight_epochs, target_classes
from .training import CHECK_EVERY
from .updates import LOGIT_CLIP


def matched_weights(restart_weights, labels):
    """Mean of the restarts' W with rows put in consensus-cluster order: (K, O).

    restart_weights : (R, K, O); labels : (R, K), the cluster of each restart signature.
    """
    return np.mean([w[np.argsort(labels[r])] for r, w in enumerate(restart_weights)], axis=0)


def refit_weights(exposures, weights, targets, label_mask, *, mu_w, lambda_l2, tol, max_epochs):
    """Run eq. 7 with E fixed, in float64.  exposures : (N, K); weights : (K, O); targets : (N, O) (one-hot
    rows or all zero); label_mask : (N,).  The epochs run compiled (:func:`.kernels.run_weight_epochs`),
    :data:`.training.CHECK_EVERY` at a time; :func:`.updates._weight_step` is their numpy reference."""
    exposures_t = np.ascontiguousarray(np.asarray(exposures, dtype=np.float64).T)  # (K, N)
    weights = np.array(weights, dtype=np.float64)
    targets = np.asarray(targets)
    mask = np.ascontiguousarray(label_mask, dtype=np.float64)
    n_labelled = float(mask.sum())
    if n_labelled == 0:
        raise ValueError("refit_weights: no row has l > 0, so there is nothing to fit W to")
    target_class = target_classes(np.ascontiguousarray(targets.T[None]))[0]
    # U.R. rows (weight > 0, no target) keep their null class (docs/model.md, "U.R.")
    null = ((target_class < 0) & (mask > 0)).astype(np.float64)
    coefficients = exp_constants(np.float64)
    partition, fitted = np.empty(mask.size), np.empty(mask.size)

    def classification_loss():
        """L_c of eq. 3 (eq. 8 under U.R.) of the current W."""
        _classification_terms(exposures_t, weights, target_class, null, LOGIT_CLIP, coefficients, partition, fitted)
        logs = np.log(partition, where=mask > 0, out=np.zeros_like(partition))
        return float((mask * (logs - fitted)).sum() + lambda_l2 * (weights * weights).sum())

    previous, small_changes, n_epoch = None, 0, 0
    while n_epoch < max_epochs:
        n_run = min(CHECK_EVERY, max_epochs - n_epoch)
        run_weight_epochs(n_run, exposures_t, weights, target_class, mask, null, n_labelled, float(lambda_l2),
                          float(mu_w), LOGIT_CLIP, coefficients)
        n_epoch += n_run
        if n_epoch % CHECK_EVERY:
            break
        loss = classification_loss()
        if previous is not None and abs(previous - loss) < tol * abs(previous):
            small_changes += 1
            if small_changes >= 2:
                break
        else:
            small_changes = 0
        previous = loss
    return weights


NEWTON_STEPS = 100
"""Newton steps at most for the ``"bcd"`` solver's W refit (it stops when a step no longer lowers the loss)."""


def refit_weights_newton(exposures, weights, targets, label_mask, *, lambda_l2):
    """The ``"bcd"`` solver's W refit: the same sub-problem (E fixed, lambda_c = 0), minimised by
    Newton's method with a line search (:func:`.bcd_kernels.weight_step`) until a step no longer
    lowers it.  Arguments as :func:`refit_weights`."""
    exposures = np.ascontiguousarray(np.asarray(exposures, dtype=np.float64)[None])
    weights = np.array(weights, dtype=np.float64)[None]
    mask = np.ascontiguousarray(np.asarray(label_mask, dtype=np.float64)[None])
    if float(mask.sum()) == 0:
        raise ValueError("refit_weights: no row has l > 0, so there is nothing to fit W to")
    target_class = target_classes(np.ascontiguousarray(np.asarray(targets).T[None])).astype(np.int64)
    null = ((target_class < 0) & (mask > 0)).astype(np.float64)  # U.R. rows keep their null class
    gradient = np.empty_like(weights)
    bcd_kernels.weight_step(exposures, weights, target_class, mask, null, float(lambda_l2), LOGIT_CLIP, NEWTON_STEPS,
                            gradient)
    return weights[0]
