"""The model on real data: COSMIC recovery, supervision on Zou 2021, the grid, float32."""

import numpy as np
import pandas as pd

from pssnmf.catalog import read_catalog
from pssnmf.channels import SBS96, normalize_channel
import pytest
from scipy.optimize import linear_sum_assignment

from pssnmf.model import IntegratedNMF

# SPEC "The data": the 46 labelled Zou 2021 knockouts.
PATHWAY = {"MSH6": "MMR", "MSH2": "MMR", "MLH1": "MMR", "PMS2": "MMR", "PMS1": "MMR",
           "UNG": "BER", "OGG1": "BER", "EXO1": "HR", "RNF168": "HR", "ATP2B4": "Control"}


@pytest.fixture(scope="module")
def zou(data_dir):
    """(counts (46, 96), pathway labels (46,)) of the labelled knockout subclones (Table S3)."""
    table = pd.read_excel(data_dir / "zou2021" / "Supplementary_tables.xlsx", sheet_name="TableS3")
    assert table.columns[0] == "MutationType", f"TableS3: first column is {table.columns[0]!r}"
    columns = [c for c in table.columns[2:] if c.split("_")[0] in PATHWAY]
    labels = np.array([PATHWAY[c.split("_")[0]] for c in columns])
    assert len(columns) == 46, f"expected the 46 labelled subclones of SPEC, found {len(columns)}"
    # TableS3 lists the channels alphabetically; the models work in COSMIC order.
    table.index = [normalize_channel(c) for c in table["MutationType"]]
    return table.loc[list(SBS96), columns].to_numpy().T.astype(float), labels


@pytest.fixture(scope="module")
def tumours(data_dir):
    # read_catalog puts the channels in COSMIC order (the file lists them alphabetically).
    profiles = read_catalog(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv").to_numpy(dtype=float)
    return profiles[profiles.sum(axis=1) >= 20]


def _bootstraps(counts, labels, per_class, rng, rows=None):
    """Multinomial resamples of real samples' own counts, balanced over classes (SPEC)."""
    rows = np.arange(len(labels)) if rows is None else rows
    X, y = [], []
    for label in np.unique(labels[rows]):
        members = rows[labels[rows] == label]
        for row in rng.choice(members, per_class):
            X.append(rng.multinomial(int(counts[row].sum()), counts[row] / counts[row].sum()))
            y.append(label)
    return np.array(X, dtype=float), np.array(y, dtype=object)


def _realistic(zou, tumours, per_class=100, n_tumours=400, seed=0):
    rng = np.random.default_rng(seed)
    X, y = _bootstraps(*zou, per_class, rng)
    unlabelled = tumours[rng.choice(len(tumours), n_tumours, replace=False)]
    return np.vstack([X, unlabelled]), np.r_[y, np.full(n_tumours, None, dtype=object)]


def test_recovers_known_cosmic_signatures(data_dir):
    cosmic = pd.read_csv(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt", sep="\t", index_col=0)
    truth = cosmic[["SBS2", "SBS4", "SBS7a", "SBS17b"]].to_numpy().T
    rng = np.random.default_rng(3)
    exposures = rng.dirichlet(np.full(4, 0.5), size=300)
    X = np.array([rng.multinomial(2000, p) for p in exposures @ truth], dtype=float)
    y = np.array(["SBS2", "SBS4", "SBS7a", "SBS17b"], dtype=object)[exposures.argmax(axis=1)]
    y[150:] = None
    model = IntegratedNMF(n_signatures=4, mode="semi_supervised", lambda_c=0.001, n_restarts=4,
                          tol=1e-6, min_epochs=100, max_epochs=1500, random_state=0).fit(X, y)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    cosine = unit(truth) @ unit(model.signatures_).T
    rows, cols = linear_sum_assignment(-cosine)
    matched = cosine[rows, cols]
    assert matched.min() >= 0.95, f"cosine similarity to the true signatures after matching: {matched.round(4)}"
    assert model.stability_ >= 0.9, f"stability {model.stability_:.3f}"


@pytest.mark.slow
def test_supervision_helps_on_zou_knockouts(zou):
    """Cross-validated by real sample: S-NMF against unsupervised NMF + logistic regression."""
    from sklearn.decomposition import NMF
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    counts, labels = zou
    truth, snmf, baseline = [], [], []
    for fold, (train, test) in enumerate(StratifiedKFold(4, shuffle=True, random_state=0).split(counts, labels)):
        rng = np.random.default_rng(fold)
        X, y = _bootstraps(counts, labels, 50, rng, rows=train)
        X_test = counts[test] / counts[test].sum(axis=1, keepdims=True)
        model = IntegratedNMF(n_signatures=6, mode="supervised", lambda_c=0.1, n_restarts=3, tol=1e-4,
                              min_epochs=100, max_epochs=3000, random_state=fold).fit(X, y)
        snmf.extend(model.predict(X_test))
        proportions = X / X.sum(axis=1, keepdims=True)
        nmf = NMF(6, init="nndsvda", max_iter=2000, random_state=fold).fit(proportions)
        classifier = LogisticRegression(max_iter=2000).fit(nmf.transform(proportions), y)
        baseline.extend(classifier.predict(nmf.transform(X_test)))
        truth.extend(labels[test])
    truth = np.array(truth)
    accuracy_snmf = float(np.mean(np.array(snmf) == truth))
    accuracy_nmf = float(np.mean(np.array(baseline) == truth))
    chance = float(pd.Series(labels).value_counts(normalize=True).max())
    message = f"S-NMF accuracy {accuracy_snmf:.3f}, NMF + logistic regression {accuracy_nmf:.3f}, majority {chance:.3f}"
    assert accuracy_snmf > accuracy_nmf, message
    assert accuracy_snmf >= chance + 0.25, message


@pytest.mark.slow
@pytest.mark.parametrize("n_signatures", [2, 10])
@pytest.mark.parametrize("lambda_c", [0.001, 1.0])
@pytest.mark.parametrize("lambda_l2", [1e-4, 1e-2])
def test_grid_corner_trains_to_finite_loss(zou, tumours, n_signatures, lambda_c, lambda_l2):
    X, y = _realistic(zou, tumours)
    model = IntegratedNMF(n_signatures=n_signatures, mode="semi_supervised", lambda_c=lambda_c,
                          lambda_l2=lambda_l2, n_restarts=2, min_epochs=50, max_epochs=800,
                          random_state=1).fit(X, y)
    for history, n_epochs in zip(model.loss_history_, model.n_epochs_):
        assert np.isfinite(history).all()
        change = np.abs(np.diff(history)) / history[:-1]
        # Converging: stopped by the convergence rule, or the loss settles (docs/model.md: the
        # lambda_c = 1 corners need several thousand epochs to meet the default tol).
        settled = change[-10:].mean() < min(0.05, change[:10].mean())
        assert n_epochs < 800 or settled, (
            f"relative change per check: first checks {change[:10].mean():.3g}, last {change[-10:].mean():.3g}"
        )
    _assert_weights_bounded(model, y)
    assert np.isfinite(model.predict_proba(X)).all()


def _assert_weights_bounded(model, y):
    """W is finite and no larger than the refit's optimum can be: W = 0 scores at most
    sum_n l_n log(O + 1) on the refit's loss sum_n l_n CE_n + lambda_l2 ||W||^2 (l_n <= 1; the + 1 is
    U.R.'s null class), so its minimiser has lambda_l2 ||W||^2 <= that (a runaway W, as once seen at
    1e16, breaks it)."""
    assert np.isfinite(model.weights_).all()
    bound = len(y) * np.log(len(model.classes_) + 1)
    assert model.lambda_l2 * float((model.weights_ ** 2).sum()) <= bound


@pytest.mark.slow
@pytest.mark.parametrize("lambda_c", [0.1, 1.0])
def test_unlabeled_regularization_stays_finite_on_real_data(zou, tumours, lambda_c):
    """U.R. (eq. 8) on Zou + TCGA: finite, W bounded (docs/model.md: its loss can rise, see "U.R.")."""
    X, y = _realistic(zou, tumours, seed=3)
    model = IntegratedNMF(n_signatures=6, mode="pseudo_labeling", unlabeled_regularization=True,
                          lambda_c=lambda_c, n_restarts=2, min_epochs=50, max_epochs=800, random_state=0).fit(X, y)
    assert all(np.isfinite(history).all() for history in model.loss_history_)
    _assert_weights_bounded(model, y)
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.slow
def test_float32_predicts_as_float64_on_real_data(zou, tumours):
    """float32 training gives float64's predictions wherever float64's decision is not a near-tie.

    Training is chaotic at the last bit, so the two precisions follow slightly different trajectories
    (docs/model.md, "Reproducibility and precision"): probabilities may differ by a little, and a sample
    whose two best classes float64 separates by less than that may flip. Every other sample must agree.
    """
    X, y = _realistic(zou, tumours, seed=2)
    params = dict(n_signatures=6, mode="pseudo_labeling", confidence_threshold=0.9, n_restarts=3,
                  max_epochs=800, random_state=0, solver="mu")  # float32 is the "mu" solver's option
    double = IntegratedNMF(**params, dtype="float64").fit(X, y)
    single = IntegratedNMF(**params, dtype="float32").fit(X, y)
    p64, p32 = double.predict_proba(X), single.predict_proba(X)
    largest = float(np.abs(p64 - p32).max())
    assert largest < 0.02, f"float32 and float64 probabilities differ by up to {largest:.3g} (allowed < 0.02)"
    top_two = np.sort(p64, axis=1)[:, -2:]
    margin = top_two[:, 1] - top_two[:, 0]
    flipped = np.flatnonzero(double.predict(X) != single.predict(X))
    clear = flipped[margin[flipped] >= 2 * largest]
    assert clear.size == 0, (
        f"float32 changes {flipped.size} of {len(X)} predictions; {clear.size} of them are not near-ties of "
        f"float64 (margins {np.round(margin[clear], 4).tolist()} >= 2 x max |dp| = {2 * largest:.3g})")
    assert flipped.size <= 0.01 * len(X), f"float32 changes {flipped.size} of {len(X)} predictions"
