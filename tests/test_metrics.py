"""Per-fit metrics against hand-computed small cases, and the bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from pssnmf.metrics import (
    accuracy,
    bootstrap_ci,
    evaluation_scores,
    macro_f1,
    macro_f1_truth_classes,
    paired_difference_ci,
    pseudo_label_scores,
    scores_from_codes,
    seeds_ci,
)


def test_accuracy_and_macro_f1_by_hand():
    truth, predicted = ["A", "A", "B", "B"], ["A", "B", "B", "B"]
    assert accuracy(truth, predicted) == pytest.approx(0.75)
    # F1_A: TP 1, FP 0, FN 1 -> 2/3; F1_B: TP 2, FP 1, FN 0 -> 4/5.
    assert macro_f1(truth, predicted) == pytest.approx((2 / 3 + 4 / 5) / 2)


def test_a_tumour_predicted_control_counts_against_macro_f1():
    truth = ["MMR", "MMR", "HR"]
    predicted = ["MMR", "Control", "HR"]
    # Classes in truth or prediction: MMR 2/3, HR 1, Control 0 (no true Control).
    assert macro_f1(truth, predicted) == pytest.approx((2 / 3 + 1 + 0) / 3)
    # The 3-pathway variant averages over the truth classes only: still a miss for MMR.
    assert macro_f1_truth_classes(truth, predicted) == pytest.approx((2 / 3 + 1) / 2)


def test_evaluation_scores_split_cell_lines_and_judged_tumours():
    evaluation = pd.DataFrame({
        "source": ["cell_line", "cell_line", "tumour", "tumour", "tumour"],
        "truth": ["A", "B", "A", "B", ""],
    })
    predicted = ["A", "A", "A", "A", "B"]
    scores = evaluation_scores(evaluation, predicted, [0.9, 0.8, 0.7, 0.6, 0.2])
    assert scores["cellline_accuracy"] == pytest.approx(0.5)
    assert scores["tcga_accuracy"] == pytest.approx(0.5)  # the truth-less tumour is not judged
    assert scores["n_eval_tumours_with_truth"] == 2
    assert scores["tcga_mean_max_probability"] == pytest.approx((0.7 + 0.6 + 0.2) / 3)  # all tumours
    assert scores["tcga_f1"] == pytest.approx((2 / 3 + 0) / 2)


def test_pseudo_label_precision_leaves_out_tumours_without_truth():
    train = pd.DataFrame({"truth": ["A", "B", "", "B", "A"]})
    pseudo = pd.DataFrame({"restart": [0, 0, 1, 1], "sample": [1, 2, 3, 4], "label": ["B", "A", "A", "A"],
                           "epoch": [10, 10, 20, 30], "probability": [0.9, 0.8, 0.95, 0.7]})
    scores = pseudo_label_scores(pseudo, train)
    assert scores["n_pseudo_labels"] == 4
    assert scores["n_pseudo_labels_without_truth"] == 1
    assert scores["pseudo_label_precision"] == pytest.approx(2 / 3)  # rows 1 (B=B), 3 (A!=B), 4 (A=A)
    empty = pseudo_label_scores(pseudo.iloc[:0], train)
    assert empty["n_pseudo_labels"] == 0 and np.isnan(empty["pseudo_label_precision"])


def test_fast_bootstrap_scores_equal_scikit_learn():
    rng = np.random.default_rng(4)
    for _ in range(30):
        n, n_labels = int(rng.integers(5, 60)), int(rng.integers(2, 6))
        truth = rng.integers(0, n_labels, size=(1, n))
        predicted = rng.integers(0, n_labels, size=(1, n))
        t, p = truth[0], predicted[0]
        assert scores_from_codes(truth, predicted, n_labels, "accuracy")[0] == pytest.approx(accuracy_score(t, p))
        assert scores_from_codes(truth, predicted, n_labels, "macro_f1")[0] == pytest.approx(
            f1_score(t, p, average="macro", zero_division=0))
        assert scores_from_codes(truth, predicted, n_labels, "macro_f1_truth_classes")[0] == pytest.approx(
            f1_score(t, p, labels=sorted(set(t.tolist())), average="macro", zero_division=0))


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    truth = rng.choice(["A", "B", "C"], 300)
    predicted = np.where(rng.random(300) < 0.7, truth, rng.choice(["A", "B", "C"], 300))
    a = bootstrap_ci([(truth, predicted)], "macro_f1", n_boot=300, seed=1)
    b = bootstrap_ci([(truth, predicted)], "macro_f1", n_boot=300, seed=1)
    assert a == b
    estimate, low, high = a
    assert estimate == pytest.approx(macro_f1(truth, predicted))
    assert low < estimate < high
    assert bootstrap_ci([(truth, truth)], "accuracy", n_boot=50) == (1.0, 1.0, 1.0)


def test_bootstrap_over_seeds_widens_the_interval():
    rng = np.random.default_rng(2)
    truth = rng.choice(["A", "B"], 400)
    good = np.where(rng.random(400) < 0.9, truth, "A")
    poor = np.where(rng.random(400) < 0.6, truth, "A")
    one = bootstrap_ci([(truth, good)], "accuracy", n_boot=500, seed=3)
    two = bootstrap_ci([(truth, good), (truth, poor)], "accuracy", n_boot=500, seed=3)
    assert two[0] == pytest.approx((accuracy(truth, good) + accuracy(truth, poor)) / 2)
    assert (two[2] - two[1]) > (one[2] - one[1])


def test_paired_difference_is_the_mean_change_and_sees_what_separate_intervals_miss():
    rng = np.random.default_rng(4)
    truth = rng.choice(["A", "B", "C"], (3, 400))
    base = np.where(rng.random((3, 400)) < 0.7, truth, rng.choice(["A", "B", "C"], (3, 400)))
    # b is a with a few more samples right: the same errors elsewhere, so the paired interval is
    # narrow and above 0 while the two models' own intervals overlap.
    better = np.where(rng.random((3, 400)) < 0.1, truth, base)
    change, low, high = paired_difference_ci(truth, base, better, "macro_f1", n_boot=400, seed=5)
    assert change == pytest.approx(np.mean([macro_f1(t, b) - macro_f1(t, a) for t, a, b in zip(truth, base, better)]))
    assert 0 < low < change < high
    alone = [bootstrap_ci(list(zip(truth, p)), "macro_f1", n_boot=400, seed=5) for p in (base, better)]
    assert alone[0][2] > alone[1][1], "the separate intervals overlap"
    swapped = paired_difference_ci(truth, better, base, "macro_f1", n_boot=400, seed=5)
    assert swapped == pytest.approx((-change, -high, -low))
    assert paired_difference_ci(truth, base, base, "accuracy", n_boot=50) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="one shape"):
        paired_difference_ci(truth, base[:2], better, "macro_f1")


def test_seeds_ci():
    mean, low, high = seeds_ci([0.9, 0.95, 1.0])
    assert mean == pytest.approx(0.95) and 0.9 <= low < high <= 1.0
