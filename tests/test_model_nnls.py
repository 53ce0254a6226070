"""Batched NNLS against scipy.optimize.nnls, sample by sample."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

from pssnmf.model.nnls import nnls_exposures


def _check(X, S):
    batched = nnls_exposures(X, S)
    reference = np.array([nnls(S.T, x)[0] for x in X])
    np.testing.assert_allclose(batched, reference, rtol=0, atol=1e-8)
    assert (batched >= 0).all()


@pytest.mark.parametrize("n_signatures", [1, 2, 6, 10, 17])
def test_matches_scipy_on_random_problems(n_signatures):
    rng = np.random.default_rng(n_signatures)
    S = rng.random((n_signatures, 96)) ** 3
    S /= S.sum(axis=1, keepdims=True)
    exposures = rng.random((500, n_signatures)) * (rng.random((500, n_signatures)) < 0.4)
    X = exposures @ S + 0.002 * rng.random((500, 96))
    _check(X / X.sum(axis=1, keepdims=True), S)


def test_matches_scipy_with_cosmic_signatures_on_tumours(data_dir):
    cosmic = pd.read_csv(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", sep="\t", index_col=0)
    S = cosmic[["SBS1", "SBS5", "SBS6", "SBS15", "SBS18", "SBS40a"]].to_numpy().T
    counts = pd.read_csv(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", sep="\t", index_col=0)
    X = counts.to_numpy().T[:1000].astype(float)
    X = X[X.sum(axis=1) > 0]
    _check(X / X.sum(axis=1, keepdims=True), S)


def test_many_signatures_use_the_batched_path_and_still_match_scipy():
    rng = np.random.default_rng(40)
    S = rng.random((40, 96)) ** 3
    X = (rng.random((60, 40)) * (rng.random((60, 40)) < 0.3)) @ S + 1e-3
    _check(X / X.sum(axis=1, keepdims=True), S)


def test_duplicate_signatures_give_an_optimal_answer():
    """A singular Gram matrix (a signature twice): the split between the copies is not unique, the fit is."""
    rng = np.random.default_rng(2)
    S = rng.random((4, 96)) ** 3
    S = np.vstack([S, S[1]])
    X = rng.random((200, 4)) @ S[:4]
    E = nnls_exposures(X, S)
    assert (E >= 0).all() and np.isfinite(E).all()
    ours = np.linalg.norm(X - E @ S, axis=1)
    reference = np.array([nnls(S.T, x)[1] for x in X])
    np.testing.assert_allclose(ours, reference, atol=1e-10)
