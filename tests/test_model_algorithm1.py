"""Algorithm 1 (pseudo-labelling) on constructed probability tables."""

import numpy as np

from pssnmf.model.pseudo_labeling import pseudo_label


def _table():
    # rows 0-3 class 0, rows 4-7 class 1, rows 8-9 class 2; row 3 and row 9 are below ct = 0.6.
    return np.array([
        [0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.5, 0.3, 0.2],
        [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.85, 0.05], [0.05, 0.9, 0.05],
        [0.1, 0.1, 0.8], [0.3, 0.2, 0.5],
    ])


def test_threshold_every_class_and_half_of_the_smallest_pool():
    table = _table()
    candidates = np.ones(10, dtype=bool)
    # pools at ct 0.6: class 0 {0,1,2}, class 1 {4,5,6,7}, class 2 {8}: NPmin = 1 -> 1 // 2 = 0.
    rows, classes = pseudo_label(table, candidates, 0.6, np.random.default_rng(0))
    assert rows.size == 0 and classes.size == 0
    # ct 0.5 adds rows 3 and 9: pools 4, 4, 2 -> NPmin // 2 = 1 per class.
    rows, classes = pseudo_label(table, candidates, 0.5, np.random.default_rng(0))
    assert classes.tolist() == [0, 1, 2]
    assert rows[0] in {0, 1, 2, 3} and rows[1] in {4, 5, 6, 7} and rows[2] in {8, 9}
    assert (table[rows].argmax(axis=1) == classes).all()


def test_no_pseudo_labels_when_a_class_has_no_candidate():
    table = _table()
    candidates = np.ones(10, dtype=bool)
    candidates[[8, 9]] = False  # class 2 pool empty (lines 2-3)
    rows, _ = pseudo_label(table, candidates, 0.0, np.random.default_rng(0))
    assert rows.size == 0


def test_only_candidates_are_chosen_and_counts_are_halved():
    rng = np.random.default_rng(5)
    table = rng.dirichlet(np.ones(4), size=400)
    candidates = rng.random(400) < 0.7
    rows, classes = pseudo_label(table, candidates, 0.4, np.random.default_rng(1))
    pool = candidates & (table.max(axis=1) >= 0.4)
    counts = np.bincount(table[pool].argmax(axis=1), minlength=4)
    assert rows.size == 4 * (counts.min() // 2) > 0
    assert candidates[rows].all() and (table[rows].max(axis=1) >= 0.4).all()
    assert len(set(rows.tolist())) == rows.size
    assert (np.bincount(classes, minlength=4) == counts.min() // 2).all()


def test_deterministic_under_seed_and_varies_with_seed():
    rng = np.random.default_rng(5)
    table = rng.dirichlet(np.ones(3), size=300)
    candidates = np.ones(300, dtype=bool)
    first = pseudo_label(table, candidates, 0.4, np.random.default_rng(7))
    again = pseudo_label(table, candidates, 0.4, np.random.default_rng(7))
    other = pseudo_label(table, candidates, 0.4, np.random.default_rng(8))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_vote_keeps_only_rows_whose_class_has_a_strict_majority():
    from pssnmf.model.pseudo_labeling import class_votes, majority_pool

    # 5 restarts x 4 rows, 3 classes
    predicted = np.array([[0, 1, 2, 0], [0, 1, 1, 1], [0, 2, 1, 2], [1, 2, 0, 1], [0, 1, 2, 2]])
    votes = class_votes(predicted, 3)
    assert votes[:, 0].tolist() == [4, 1, 0] and votes.sum(axis=0).tolist() == [5, 5, 5, 5]
    candidates = np.array([True, True, True, False])
    # this restart predicts row 0 as 0 (4 of 5), row 1 as 1 (3 of 5), row 2 as 2 (2 of 5: no majority)
    pool = majority_pool(candidates, np.array([0, 1, 2, 1]), votes, 5)
    assert pool.tolist() == [True, True, False, False]
    # a class predicted by exactly half is not a majority
    assert not majority_pool([True], np.array([0]), class_votes([[0], [0], [1], [1]], 2), 4)[0]


def test_revisable_withdraws_labels_whose_prediction_changed():
    from pssnmf.model.pseudo_labeling import revoked

    table = _table()
    assert revoked([0, 4, 8, 9], [0, 1, 1, 2], table).tolist() == [False, False, True, False]
    assert revoked([], [], table).size == 0
