"""Algorithm 1 of the paper: the pseudo-labelling procedure of PSS-NMF (section 2.1.2)."""

from __future__ import annotations

import numpy as np


def pseudo_label(probabilities, candidates, confidence_threshold, rng):
    """Choose the unlabelled samples to pseudo-label, per Algorithm 1.

    probabilities : (N, O) class probabilities Yhat of one restart.
    candidates : (N,) bool, True for rows that are unlabelled and not yet pseudo-labelled
        (the ``l_n = 0`` of Algorithm 1 line 1; under U.R. l_n is 1 for them, so the mask is kept
        apart from l).
    confidence_threshold : ct.
    rng : numpy Generator of this restart (the random choice of line 7).

    Returns ``(rows, classes)``: int arrays of the chosen sample rows and their class columns,
    class by class in column order.  Both are empty when nothing is pseudo-labelled.

    Rounding (line 5): NPmin is halved by floor division, ``NPmin // 2``.  When the smallest
    class pool holds a single candidate this gives 0 and nothing is pseudo-labelled this time,
    as when a class has no candidate at all (lines 2-3).
    """
    probabilities = np.asarray(probabilities)
    candidates = np.asarray(candidates, dtype=bool)
    confidence = probabilities.max(axis=1)
    predicted = probabilities.argmax(axis=1)
    in_pool = candidates & (confidence >= confidence_threshold)  # line 1
    n_classes = probabilities.shape[1]
    pools = [np.flatnonzero(in_pool & (predicted == o)) for o in range(n_classes)]
    n_min = min(pool.size for pool in pools)  # lines 2-4
    n_per_class = n_min // 2  # line 5
    if n_per_class == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    rows = [rng.choice(pool, size=n_per_class, replace=False) for pool in pools]  # lines 6-9
    classes = [np.full(n_per_class, o, dtype=np.intp) for o in range(n_classes)]
    return np.concatenate(rows).astype(np.intp), np.concatenate(classes)


def class_votes(predicted, n_classes):
    """(O, N): how many restarts predict each class for each row.  predicted : (R, N) class columns."""
    predicted = np.asarray(predicted, dtype=np.intp)
    votes = np.zeros((n_classes, predicted.shape[1]), dtype=np.intp)
    for row in predicted:
        votes[row, np.arange(predicted.shape[1])] += 1
    return votes


def majority_pool(candidates, predicted, votes, n_restarts):
    """The ``pseudo_label_vote`` variant: candidates whose predicted class has a strict majority.

    candidates : (N,) bool; predicted : (N,) this restart's class per row; votes : (O, N) from
    :func:`class_votes` over all ``n_restarts`` restarts.  A row stays a candidate only if more than
    half of the restarts predict the class this restart predicts for it.
    """
    agreeing = np.asarray(votes)[np.asarray(predicted, dtype=np.intp), np.arange(len(predicted))]
    return np.asarray(candidates, dtype=bool) & (2 * agreeing > n_restarts)


def revoked(rows, classes, probabilities):
    """The ``revisable_pseudo_labels`` variant: which held pseudo-labels to withdraw.

    rows, classes : the pseudo-labelled rows and their labels; probabilities : (N, O) current Yhat.
    Returns a bool array over ``rows``: True where the row's predicted class is no longer its label.
    """
    rows = np.asarray(rows, dtype=np.intp)
    return np.asarray(probabilities)[rows].argmax(axis=1) != np.asarray(classes, dtype=np.intp)
