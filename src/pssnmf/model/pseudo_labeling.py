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
