"""Per-sample intervals from multinomial resampling, through a fixed model fitted on real data."""

import numpy as np
import pandas as pd
import pytest

from pssnmf.baselines import make_baseline
from pssnmf.catalog import read_catalog
from pssnmf.data.zou import read_zou
from pssnmf.uncertainty import (
    DEFAULT_MAX_INTERVAL_WIDTH,
    DEFAULT_MIN_MUTATIONS,
    UNDETERMINED,
    prediction_intervals,
    resampled_probabilities,
    undetermined_summary,
)

DDRD_CLASSES = {"MMR": ["MSH6", "MSH2", "MLH1", "PMS2", "PMS1"], "BER": ["UNG", "OGG1"],
                "HR": ["EXO1", "RNF168"], "Control": ["ATP2B4"]}


@pytest.fixture(scope="module")
def model(data_dir):
    """LR-96 fitted on the 46 labelled Zou 2021 subclones (a simple, real, fixed model)."""
    counts, samples = read_zou(data_dir / "zou2021" / "Supplementary_tables.xlsx", DDRD_CLASSES)
    labelled = (samples["pathway"] != "").to_numpy()
    return make_baseline("LR-96").fit(counts.to_numpy()[labelled], samples["pathway"].to_numpy()[labelled])


@pytest.fixture(scope="module")
def tcga(data_dir):
    return read_catalog(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", on_all_zero="drop")


def test_interval_widens_as_the_mutation_count_falls(model, tcga):
    # Real high-count tumours (>= 5,000 mutations), each subsampled (without replacement) to 20
    # and to 2,000 of its own mutations; the same fixed model scores both.
    high = tcga[tcga.sum(axis=1) >= 5000].sort_index().iloc[:12]
    rng = np.random.default_rng(0)
    widths, agreement = {}, {}
    for n in (20, 2000):
        subsampled = pd.DataFrame([rng.multivariate_hypergeometric(row, n) for row in high.to_numpy()],
                                  index=high.index)
        table = prediction_intervals(model, subsampled, min_mutations=1, max_interval_width=1.0)
        assert (table["mutations"] == n).all()
        widths[n], agreement[n] = table["top_interval_width"].to_numpy(), table["agreement"].to_numpy()
    message = (f"top-class 90% interval widths at 20 mutations {np.round(widths[20], 2).tolist()}, "
               f"at 2000 {np.round(widths[2000], 2).tolist()}")
    assert widths[20].mean() > widths[2000].mean() + 0.2, message
    assert (widths[20] >= widths[2000] - 0.05).all(), message
    assert agreement[20].mean() < agreement[2000].mean(), f"agreement {agreement}"


def test_same_seed_same_intervals_and_rows_do_not_depend_on_each_other(model, tcga):
    counts = tcga[(tcga.sum(axis=1) >= 20) & (tcga.sum(axis=1) <= 200)].iloc[:30]
    first = prediction_intervals(model, counts, n_resamples=100, random_state=3)
    second = prediction_intervals(model, counts, n_resamples=100, random_state=3)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert list(first["sample"]) == list(counts.index)
    other = prediction_intervals(model, counts, n_resamples=100, random_state=4)
    assert not other["top_interval_width"].equals(first["top_interval_width"]), "the seed changed nothing"
    # sample i's resamples come from the i-th child seed: a prefix of the batch draws the same
    # resamples (equal to rounding only: BLAS may sum a different-sized batch in another order)
    head = prediction_intervals(model, counts.iloc[:5], n_resamples=100, random_state=3)
    pd.testing.assert_frame_equal(head, first.iloc[:5], check_exact=False, rtol=1e-9, atol=1e-12)


def test_undetermined_rule(model, tcga):
    totals = tcga.sum(axis=1)
    few = tcga[totals < DEFAULT_MIN_MUTATIONS].iloc[:3]
    many = tcga[totals >= 1000].iloc[:3]
    zero = pd.DataFrame(np.zeros((1, 96), dtype=np.int64), index=["empty"], columns=tcga.columns)
    counts = pd.concat([few, many, zero])
    table = prediction_intervals(model, counts, n_resamples=100)
    assert (table["reason"].iloc[:3] == "few mutations").all()
    assert (table["call"].iloc[:3] == UNDETERMINED).all()
    assert table["predicted"].iloc[:3].isin(model.classes_).all(), "the point prediction is still reported"
    assert table["reason"].iloc[6] == "no mutations" and table["call"].iloc[6] == UNDETERMINED
    wide = table["top_interval_width"].iloc[3:6] > DEFAULT_MAX_INTERVAL_WIDTH
    assert (table["determined"].iloc[3:6] == ~wide).all()
    assert (table["call"].iloc[3:6][~wide] == table["predicted"].iloc[3:6][~wide]).all()

    # a maximum width below every observed width leaves all high-count samples undetermined
    strict = prediction_intervals(model, many, n_resamples=100, max_interval_width=1e-12)
    positive = strict["top_interval_width"] > 1e-12
    assert (strict.loc[positive, "reason"] == "wide interval").all()
    assert (strict.loc[~positive, "determined"]).all()
    summary = undetermined_summary(table)
    assert summary["n_samples"] == 7 and summary["n_few_mutations"] == 3 and summary["n_no_mutations"] == 1
    assert summary["n_determined"] + summary["n_undetermined"] == 7


def test_intervals_contain_the_resampled_probabilities(model, tcga):
    counts = tcga[tcga.sum(axis=1) >= 100].iloc[:5]
    draws = resampled_probabilities(model, counts, n_resamples=200, random_state=0)
    assert draws.shape == (5, 200, 4)
    table = prediction_intervals(model, counts, n_resamples=200, level=0.9, random_state=0)
    for j, cls in enumerate(model.classes_):
        inside = (draws[:, :, j] >= table[f"lower_{cls}"].to_numpy()[:, None] - 1e-12) & (
            draws[:, :, j] <= table[f"upper_{cls}"].to_numpy()[:, None] + 1e-12)
        assert inside.mean() >= 0.89, f"{cls}: {inside.mean():.3f} of resamples inside the 90% interval"


def test_errors(model, tcga):
    counts = tcga.iloc[:2]
    with pytest.raises(ValueError, match="non-integer"):
        prediction_intervals(model, counts / counts.sum(axis=1).to_numpy()[:, None])
    with pytest.raises(ValueError, match="level"):
        prediction_intervals(model, counts, level=1.5)
    with pytest.raises(ValueError, match="96"):
        prediction_intervals(model, counts.iloc[:, :90])
