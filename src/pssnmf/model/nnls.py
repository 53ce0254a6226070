"""Non-negative least squares with fixed signatures, batched over samples.

Test-time exposures (section 2.1.3, "Testing") are ``argmin_{e >= 0} ||x - e S||`` for every
sample ``x`` with the signatures ``S`` fixed.  All samples share one matrix, so the products with
it are made once for all samples, and each sample is solved with the block principal pivoting
method of Kim and Park (2011, SIAM J. Sci. Comput. 33:3261) on the ``K x K`` Gram matrix, starting
from the signs of the unconstrained solution: compiled (numba), row by row, with a Cholesky
factorisation of the passive block, for K <= 32; in numpy above that, samples whose passive sets
agree being solved together from one inverse.  Every solution is checked against the
Karush-Kuhn-Tucker conditions; the rare sample that the pivoting does not settle is handed to
``scipy.optimize.nnls``, so the answer always equals scipy's to rounding.
"""

from __future__ import annotations

import numba
import numpy as np

_MAX_ITER_FACTOR = 10
_COMPILED_MAX_K = 32
"""Up to this K the compiled per-sample solver runs; above it, the batched numpy one."""


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _cholesky_solve(gram, rhs, passive, out, factor, work):
    """out[F] = gram[F, F]^-1 rhs[F], 0 elsewhere, by Cholesky; returns False if not positive definite."""
    n_signatures = gram.shape[0]
    index = np.empty(n_signatures, dtype=np.intp)
    p = 0
    for k in range(n_signatures):
        out[k] = 0.0
        if passive[k]:
            index[p] = k
            p += 1
    for a in range(p):
        for b in range(a + 1):
            value = gram[index[a], index[b]]
            for c in range(b):
                value -= factor[a, c] * factor[b, c]
            if a == b:
                if value <= 0.0:
                    return False
                factor[a, a] = np.sqrt(value)
            else:
                factor[a, b] = value / factor[b, b]
    for a in range(p):  # forward: L w = rhs_F
        value = rhs[index[a]]
        for c in range(a):
            value -= factor[a, c] * work[c]
        work[a] = value / factor[a, a]
    for a in range(p - 1, -1, -1):  # backward: L' x = w
        value = work[a]
        for c in range(a + 1, p):
            value -= factor[c, a] * work[c]
        work[a] = value / factor[a, a]
    for a in range(p):
        out[index[a]] = work[a]
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pivoting_rows(gram, rhs, start, tolerance, max_iter, solution, unsettled):
    """Block principal pivoting (Kim & Park 2011, Algorithm 2) for each row, compiled.

    gram (K, K); rhs (n, K); start (n, K) bool, the initial passive sets; tolerance (n,).
    Writes ``solution`` (n, K) and ``unsettled`` (n,) bool (rows to hand to scipy).
    """
    n_rows, n_signatures = rhs.shape
    passive = np.empty(n_signatures, dtype=np.bool_)
    infeasible = np.empty(n_signatures, dtype=np.bool_)
    x = np.empty(n_signatures)
    factor = np.empty((n_signatures, n_signatures))
    work = np.empty(n_signatures)
    for i in range(n_rows):
        b = rhs[i]
        for k in range(n_signatures):
            passive[k] = start[i, k]
        best = n_signatures + 1
        backup = 3
        settled = False
        for _ in range(max_iter):
            if not _cholesky_solve(gram, b, passive, x, factor, work):
                break
            count = 0
            last = -1
            for k in range(n_signatures):
                if passive[k]:
                    bad = x[k] < -tolerance[i]
                else:
                    dual = -b[k]
                    for j in range(n_signatures):
                        dual += gram[k, j] * x[j]
                    bad = dual < -tolerance[i]
                infeasible[k] = bad
                if bad:
                    count += 1
                    last = k
            if count == 0:
                settled = True
                break
            if count < best:  # exchange all infeasible variables while their number falls,
                best = count
                backup = 3
                full = True
            elif backup > 0:  # else up to 3 more tries,
                backup -= 1
                full = True
            else:  # then only the last one
                full = False
            if full:
                for k in range(n_signatures):
                    if infeasible[k]:
                        passive[k] = not passive[k]
            else:
                passive[last] = not passive[last]
        for k in range(n_signatures):
            solution[i, k] = max(x[k], 0.0)
        unsettled[i] = not settled


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


def _scipy_nnls(A: np.ndarray, b: np.ndarray):
    """``scipy.optimize.nnls``, imported only for a sample the pivoting did not settle: importing
    scipy.optimize costs more than solving 10,000 samples."""
    from scipy.optimize import nnls

    return nnls(A, b)


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
    if n_signatures <= _COMPILED_MAX_K:
        passive = rhs @ np.linalg.pinv(gram).T > 0  # the signs only: where pivoting starts
        solution = np.empty((n_samples, n_signatures))
        unsettled = np.empty(n_samples, dtype=np.bool_)
        _pivoting_rows(gram, np.ascontiguousarray(rhs), np.ascontiguousarray(passive), tolerance[:, 0],
                       _MAX_ITER_FACTOR * n_signatures + 10, solution, unsettled)
        for row in np.flatnonzero(unsettled):  # pivoting did not settle these: the reference solver decides
            solution[row] = _scipy_nnls(S.T, X[row])[0]
        return solution
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
