"""Non-negative least squares with fixed signatures, batched over samples.

Test-time exposures (section 2.1.3, "Testing") are ``argmin_{e >= 0} ||x - e S||`` for every
sample ``x`` with the signatures ``S`` fixed.  All samples share one matrix, so the problem is
solved for all of them at once with the block principal pivoting method of Kim and Park (2011,
SIAM J. Sci. Comput. 33:3261): samples whose passive sets agree are solved together from one
factorisation of the ``K x K`` Gram matrix.  Every solution is checked against the
Karush-Kuhn-Tucker conditions; the rare sample that the pivoting does not settle is handed to
``scipy.optimize.nnls``, so the answer always equals scipy's to rounding.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls as _scipy_nnls

_MAX_ITER_FACTOR = 10


def _solve_passive(gram: np.ndarray, rhs: np.ndarray, passive: np.ndarray) -> np.ndarray:
    """Solve ``gram[F, F] e_F = rhs_F`` for every sample, ``F`` its passive set; zero outside F.

    gram : (K, K); rhs : (n, K); passive : (n, K) bool.  Returns (n, K).
    Samples sharing a passive set share one inverse: the distinct sets are inverted in one
    batched call and gathered back, so the cost does not grow with a Python loop over sets.
    """
    n_signatures = gram.shape[0]
    if n_signatures <= 16:
        codes = passive @ (1 << np.arange(n_signatures, dtype=np.int64))
        present = np.flatnonzero(np.bincount(codes, minlength=1 << n_signatures))
        lookup = np.zeros(1 << n_signatures, dtype=np.intp)
        lookup[present] = np.arange(present.size)
        inverse = lookup[codes]
        patterns = ((present[:, None] >> np.arange(n_signatures)) & 1).astype(bool)
    else:
        patterns, inverse = np.unique(passive, axis=0, return_inverse=True)  # (P, K), (n,)
        inverse = inverse.reshape(-1)
    both = patterns[:, :, None] & patterns[:, None, :]
    # Identity on the active (zero) variables keeps each masked block invertible.
    blocks = np.where(both, gram, 0.0) + np.eye(n_signatures) * ~patterns[:, None, :]
    inverses = np.linalg.inv(blocks) * both  # (P, K, K), zero rows/columns off F
    return np.einsum("nk,nkj->nj", rhs, inverses[inverse])


def nnls_exposures(X: np.ndarray, signatures: np.ndarray) -> np.ndarray:
    """Exposures ``E >= 0`` minimising ``||X - E S||_F`` row by row, ``S`` fixed.

    X : (n_samples, 96) float64; signatures : (K, 96).  Returns (n_samples, K) float64.
    Matches ``scipy.optimize.nnls(signatures.T, x)`` for every row to rounding.
    """
    X = np.asarray(X, dtype=np.float64)
    S = np.asarray(signatures, dtype=np.float64)
    n_samples = X.shape[0]
    n_signatures = S.shape[0]
    gram = S @ S.T  # (K, K)
    rhs = X @ S.T  # (n, K)
    scale = np.sqrt(np.maximum(np.diag(gram), np.finfo(np.float64).tiny))
    # KKT tolerance relative to the size of each row's gradient terms.
    tolerance = 1e-12 * (np.abs(rhs).max(axis=1, keepdims=True) + 1.0) * scale.max()

    # Start from the signs of the unconstrained solution: most samples are then settled at once.
    # Block principal pivoting converges from any start (Kim & Park 2011, section 3).
    passive = np.linalg.solve(gram, rhs.T).T > 0
    solution = _solve_passive(gram, rhs, passive)
    dual = np.where(passive, 0.0, solution @ gram - rhs)  # gradient of 1/2 e'Ge - b'e
    backup_budget = np.full(n_samples, 3)
    best_infeasible = np.full(n_samples, n_signatures + 1)
    todo = np.arange(n_samples)
    for _ in range(_MAX_ITER_FACTOR * n_signatures + 10):
        infeasible = (passive[todo] & (solution[todo] < -tolerance[todo])) | (
            ~passive[todo] & (dual[todo] < -tolerance[todo])
        )
        count = infeasible.sum(axis=1)
        settled = count == 0
        todo, infeasible, count = todo[~settled], infeasible[~settled], count[~settled]
        if todo.size == 0:
            break
        # Block principal pivoting rules (Kim & Park 2011, Algorithm 2): exchange all infeasible
        # variables while their number falls; otherwise up to 3 more tries, then only the last one.
        improved = count < best_infeasible[todo]
        best_infeasible[todo[improved]] = count[improved]
        backup_budget[todo[improved]] = 3
        full_exchange = improved | (backup_budget[todo] > 0)
        backup_budget[todo[~improved & full_exchange]] -= 1
        exchange = infeasible.copy()
        single = ~full_exchange
        if single.any():
            last = n_signatures - 1 - np.argmax(infeasible[single][:, ::-1], axis=1)
            exchange[single] = False
            exchange[np.flatnonzero(single), last] = True
        passive[todo] ^= exchange
        sub_solution = _solve_passive(gram, rhs[todo], passive[todo])
        solution[todo] = sub_solution
        dual[todo] = np.where(passive[todo], 0.0, sub_solution @ gram - rhs[todo])
    else:
        todo = np.asarray(todo)
    solution = np.maximum(solution, 0.0)
    if todo.size:  # pivoting did not settle these: the reference solver decides
        for row in todo:
            solution[row] = _scipy_nnls(S.T, X[row])[0]
    return solution
