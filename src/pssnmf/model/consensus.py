"""Consensus signatures of the restarts and their stability (section 2.1.3, eq. 9).

A K-means variant in which every cluster holds exactly one signature of each restart, as
SigProfilerExtractor does: each restart's K signatures are matched one-to-one to the K centroids
by the Hungarian algorithm on cosine distance, the centroids are recomputed, and this repeats
until the matching no longer changes.  The best of several seeded starts (smallest total cosine
distance) is kept.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import silhouette_score

_MAX_ITER = 100


def _cosine_distance(a, b):
    """(P, M) x (Q, M) -> (P, Q) cosine distances."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return 1.0 - a @ b.T


def _match(restart_signatures, centroids):
    """Cluster of each signature: (R, K) ints, one signature of each restart per cluster."""
    labels = np.empty(restart_signatures.shape[:2], dtype=np.intp)
    for r, signatures in enumerate(restart_signatures):
        rows, cols = linear_sum_assignment(_cosine_distance(signatures, centroids))
        labels[r, rows] = cols
    return labels


def _centroids(restart_signatures, labels, n_signatures):
    """Mean of each cluster's members, renormalised to sum 1: (K, 96)."""
    centroids = np.zeros((n_signatures, restart_signatures.shape[2]))
    for r, signatures in enumerate(restart_signatures):
        centroids[labels[r]] += signatures
    return centroids / centroids.sum(axis=1, keepdims=True)


def consensus_signatures(restart_signatures, n_starts=10, random_state=0):
    """Cluster the restarts' signatures; return (centroids (K, 96), labels (R, K), distance (R,)).

    restart_signatures : (R, K, 96), rows sum to 1.  ``distance[r]`` is the mean cosine distance
    of restart r's signatures to their centroids.  Each start takes a different restart's
    signatures as the initial centroids (in a seeded random order).
    """
    restart_signatures = np.asarray(restart_signatures, dtype=np.float64)
    n_restarts, n_signatures, _ = restart_signatures.shape
    order = np.random.default_rng(random_state).permutation(n_restarts)[: max(1, min(n_starts, n_restarts))]
    best = None
    for start in order:
        centroids = restart_signatures[start] / restart_signatures[start].sum(axis=1, keepdims=True)
        labels = _match(restart_signatures, centroids)
        for _ in range(_MAX_ITER):
            centroids = _centroids(restart_signatures, labels, n_signatures)
            new_labels = _match(restart_signatures, centroids)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
        distance = np.array(
            [_cosine_distance(restart_signatures[r], centroids)[np.arange(n_signatures), labels[r]].mean()
             for r in range(n_restarts)]
        )
        if best is None or distance.sum() < best[2].sum():
            best = (centroids, labels, distance)
    return best


def stability(restart_signatures, labels):
    """Mean cosine silhouette of the consensus clusters (eq. 9).

    Undefined with a single restart or a single signature (a silhouette needs 2 <= clusters <
    samples): NaN then.
    """
    n_restarts, n_signatures, n_features = np.shape(restart_signatures)
    if n_restarts < 2 or n_signatures < 2:
        return float("nan")
    return float(
        silhouette_score(
            np.reshape(restart_signatures, (-1, n_features)), np.reshape(labels, -1), metric="cosine"
        )
    )
