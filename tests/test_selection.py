"""Pareto selection (paper 2.2.5): fold means, non-dominated points, threshold fallback, choice rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pssnmf.selection import choose, fold_summary, non_dominated, pareto_front, select


def _summary(points, model="SS-NMF"):
    """points: (K, lambda_c, stability, accuracy)."""
    return pd.DataFrame([{"task": "ddrd", "split_mode": "grouped", "proportion": 0.5, "model": model,
                          "K": k, "lambda_c": lc, "lambda_l2": 1e-3, "confidence_threshold": np.nan,
                          "mean_stability": s, "mean_cellline_accuracy": a} for k, lc, s, a in points])


@pytest.mark.parametrize("seed", range(20))
def test_front_points_are_non_dominated_and_every_other_point_is_dominated(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    # Coarse values make ties common, the hard case for dominance.
    s = rng.integers(0, 8, n) / 8
    a = rng.integers(0, 8, n) / 8
    front = non_dominated(s, a)

    def dominates(i, j):
        return s[i] >= s[j] and a[i] >= a[j] and (s[i] > s[j] or a[i] > a[j])

    for j in range(n):
        dominated = any(dominates(i, j) for i in range(n))
        assert front[j] == (not dominated)
    assert front.any()


def test_threshold_restricts_the_front_and_fallback_is_flagged():
    summary = _summary([(2, 0.1, 0.95, 0.70), (3, 0.1, 0.92, 0.80), (4, 0.1, 0.85, 0.95), (5, 0.1, 0.91, 0.75)])
    front = pareto_front(summary, min_stability=0.9)
    assert front["stability_threshold_met"].all()
    assert list(front.loc[front["on_front"], "K"]) == [2, 3]  # K=4 too unstable, K=5 dominated by K=3
    assert choose(front)["K"].tolist() == [3]  # highest accuracy among front points

    unstable = _summary([(2, 0.1, 0.5, 0.7), (3, 0.1, 0.6, 0.6), (4, 0.1, 0.4, 0.9)])
    fallback = pareto_front(unstable, min_stability=0.9)
    assert not fallback["stability_threshold_met"].any()
    assert list(fallback.loc[fallback["on_front"], "K"]) == [2, 3, 4]
    assert choose(fallback)["K"].tolist() == [4]


def test_ties_go_to_higher_stability_then_smaller_k():
    summary = _summary([(6, 0.1, 0.95, 0.9), (3, 0.1, 0.95, 0.9), (4, 0.1, 0.93, 0.9)])
    assert choose(pareto_front(summary))["K"].tolist() == [3]
    same_k = _summary([(3, 0.5, 0.95, 0.9), (3, 0.01, 0.95, 0.9)])
    assert choose(pareto_front(same_k))["lambda_c"].tolist() == [0.01]


def test_each_model_gets_its_own_choice():
    summary = pd.concat([_summary([(2, 0.1, 0.95, 0.7)], "S-NMF"), _summary([(5, 0.1, 0.99, 0.8)], "SS-NMF")])
    chosen = choose(pareto_front(summary))
    assert dict(zip(chosen["model"], chosen["K"])) == {"S-NMF": 2, "SS-NMF": 5}


def test_fold_summary_means_and_select_end_to_end():
    rows = []
    for fold, (s, a, t) in enumerate([(0.9, 0.8, 0.1), (1.0, 0.6, 0.9), (0.95, 0.7, 0.5)]):
        for k, shift in ((2, 0.0), (3, 0.05)):
            rows.append({"task": "ddrd", "split_mode": "grouped", "proportion": 0.5, "model": "SS-NMF",
                         "K": k, "lambda_c": 0.1, "lambda_l2": 1e-3, "confidence_threshold": np.nan,
                         "fold": str(fold), "stability": s, "cellline_accuracy": a + shift, "tcga_accuracy": t})
    rows.append(dict(rows[0], fold="test", cellline_accuracy=0.0))  # the final fit is never summarised
    summary = fold_summary(pd.DataFrame(rows))
    k2 = summary[summary["K"] == 2].iloc[0]
    assert k2["mean_stability"] == pytest.approx(0.95)
    assert k2["mean_cellline_accuracy"] == pytest.approx(0.7)
    assert k2["sd_cellline_accuracy"] == pytest.approx(0.1)
    assert k2["n_folds"] == 3
    assert np.isnan(k2["confidence_threshold"])
    front, chosen = select(pd.DataFrame(rows), n_folds=3)
    assert chosen["K"].tolist() == [3]
    # Dropping a fold drops the point when complete folds are required.
    partial = pd.DataFrame(rows[:-2])
    front, chosen = select(partial, n_folds=3)
    assert chosen["K"].tolist() == [2]


def test_tcga_scores_never_change_the_choice():
    base = _summary([(2, 0.1, 0.95, 0.70), (3, 0.1, 0.92, 0.80)])
    with_tcga = base.assign(mean_tcga_accuracy=[0.99, 0.01])
    assert choose(pareto_front(base))["K"].tolist() == choose(pareto_front(with_tcga))["K"].tolist()
