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

from .training import CHECK_EVERY
from .updates import _class_residual, _weight_step, classification_loss


def matched_weights(restart_weights, labels):
    """Mean of the restarts' W with rows put in consensus-cluster order: (K, O).

    restart_weights : (R, K, O); labels : (R, K), the cluster of each restart signature.
    """
    return np.mean([w[np.argsort(labels[r])] for r, w in enumerate(restart_weights)], axis=0)


def refit_weights(exposures, weights, targets, label_mask, *, mu_w, lambda_l2, tol, max_epochs):
    """Run eq. 7 with E fixed.  exposures : (N, K); weights : (K, O); targets : (N, O); label_mask : (N,)."""
    exposures_t = np.ascontiguousarray(exposures.T[None], dtype=np.float64)  # (1, K, N)
    weights = np.array(weights, dtype=np.float64)[None]
    targets_t = np.ascontiguousarray(targets.T[None], dtype=np.float64)
    mask = np.asarray(label_mask, dtype=np.float64)[None, None, :]
    # U.R. rows (weight > 0, no target) keep their null class (docs/model.md, "U.R.")
    null_t = ((targets_t.sum(axis=1, keepdims=True) == 0) & (mask > 0)).astype(np.float64)
    n_labelled = mask.sum(axis=2, keepdims=True)
    previous, small_changes = None, 0
    for n_epoch in range(1, max_epochs + 1):
        residual = _class_residual(exposures_t, weights, targets_t, mask, null_t)
        _weight_step(weights, exposures_t, residual, mu_w, lambda_l2, n_labelled)
        if n_epoch % CHECK_EVERY:
            continue
        loss = float(classification_loss(exposures_t, weights, targets_t, mask, lambda_l2, null_t)[0])
        if previous is not None and abs(previous - loss) < tol * abs(previous):
            small_changes += 1
            if small_changes >= 2:
                break
        else:
            small_changes = 0
        previous = loss
    return weights[0]
