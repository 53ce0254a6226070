"""The figure library: the data behind each figure is checked for content, on real data.

Inputs are built here from the real files in ``data_dir`` (COSMIC signatures, Zou knockout
profiles, GDSC cell lines, TCGA exomes), independently of the data, model and experiment modules.
Learned signatures are stood in for by scikit-learn NMF of the Zou profiles: real-looking
signatures and exposures, made without the project's model.
"""

from __future__ import annotations

import io
import itertools
from collections import Counter

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from scipy.optimize import nnls

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.plots import (
    confusion,
    exploration,
    exposures,
    pareto,
    pca,
    pseudolabels,
    sbs96,
    similarity,
    validation,
)
from pssnmf.plots.common import cosine_similarity, save_figure

CANCER_TYPES = ("BLCA", "LUAD", "SKCM", "UCEC")
DDR_GENES = {
    "MSH6": "MMR", "MSH2": "MMR", "MLH1": "MMR", "PMS2": "MMR", "PMS1": "MMR",
    "UNG": "BER", "OGG1": "BER", "EXO1": "HR", "RNF168": "HR", "ATP2B4": "Control",
}


# --------------------------------------------------------------------------- real inputs
def _need(data_dir, relative: str):
    """The data file, or a skip that names it (a download cache may lack the derived files)."""
    path = data_dir / relative
    if not path.is_file():
        pytest.skip(f"{relative} not found under {data_dir}")
    return path


def _cosmic_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns renamed to COSMIC spelling and put in COSMIC order (the files use other orders)."""
    renamed = frame.rename(columns=normalize_channel)
    assert set(renamed.columns) == set(SBS96)
    return renamed[list(SBS96)]


@pytest.fixture(scope="module")
def cosmic(data_dir) -> pd.DataFrame:
    """COSMIC v3.4 SBS signatures as rows (signature × 96)."""
    table = pd.read_csv(_need(data_dir, "cosmic/COSMIC_v3.4_SBS_GRCh37.txt"), sep="\t", index_col=0)
    return _cosmic_order(table.T)


@pytest.fixture(scope="module")
def zou(data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts (subclone × 96) and ``sample, source, class`` of the 46 DDRd-task subclones."""
    s3 = pd.read_excel(_need(data_dir, "zou2021/Supplementary_tables.xlsx"), sheet_name="TableS3")
    s3 = s3.set_index("MutationType").drop(columns="Mutation")
    columns = [c for c in s3.columns if c.split("_")[0] in DDR_GENES]
    counts = _cosmic_order(s3[columns].T.astype(float))
    labels = pd.DataFrame({"sample": columns, "source": "cell_line",
                           "class": [DDR_GENES[c.split("_")[0]] for c in columns]})
    return counts, labels


@pytest.fixture(scope="module")
def tcga(data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """TCGA counts (tumour × 96, tumours with ≥ 1 substitution) and ``sample, cancer_type``."""
    counts = pd.read_csv(_need(data_dir, "tcga_mc3/TCGA_MC3_SBS96_counts.tsv"), sep="\t", index_col=0).T
    counts = _cosmic_order(counts)
    samples = pd.read_csv(_need(data_dir, "tcga_mc3/samples.tsv"), sep="\t")
    return counts, samples


@pytest.fixture(scope="module")
def gdsc(data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GDSC cell-line counts (cell line × 96, ``ACA>A`` channel spelling kept) and their types."""
    table = pd.read_csv(_need(data_dir, "cell_lines_gdsc/cellLines_contexts.csv"))
    table.index = "COSMIC_" + table["COSMIC_ID"].astype(str)
    counts = table.iloc[:, 2:98]
    return counts, pd.DataFrame({"sample": table.index, "cancer_type": table["cancer_type"].to_numpy()})


def _render(fig) -> None:
    """Draw the figure to PNG in memory: errors that only happen at draw time surface here."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    assert buffer.getvalue()[:4] == b"\x89PNG"


def _nmf_signatures(counts: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    from sklearn.decomposition import NMF

    proportions = counts.div(counts.sum(axis=1), axis=0).to_numpy()
    model = NMF(k, init="nndsvda", random_state=seed, max_iter=4000, tol=1e-4).fit(proportions)
    weights = model.components_ / model.components_.sum(axis=1, keepdims=True)
    return pd.DataFrame(weights, index=[f"S{i + 1}" for i in range(k)], columns=list(SBS96))


def _nnls_exposures(signatures: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    proportions = counts.div(counts.sum(axis=1), axis=0).to_numpy()
    values = np.array([nnls(signatures.to_numpy().T, x)[0] for x in proportions])
    return pd.DataFrame(values, index=counts.index, columns=signatures.index)


@pytest.fixture(scope="module")
def learned(zou):
    """Two 'models' of the DDRd task: K = 5 and K = 6 signatures with their exposures."""
    counts, _ = zou
    signatures = {"S-NMF": _nmf_signatures(counts, 5, 0), "PSS-NMF": _nmf_signatures(counts, 6, 1)}
    return signatures, {m: _nnls_exposures(s, counts) for m, s in signatures.items()}


def _grid_metrics(seed: int = 0) -> pd.DataFrame:
    """Per-fit validation metrics over a paper-like grid (3 folds), with trends and noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in ("SS-NMF", "SS-NMF-UR", "PSS-NMF"):
        for k in range(3, 8):
            grid = ([(0.5, 0.001, ct) for ct in (0.3, 0.4, 0.5, 0.6, 0.9)] if model == "PSS-NMF" else
                    [(lc, l2, np.nan) for lc in (0.001, 0.1, 0.5) for l2 in (1e-4, 1e-3, 1e-2)])
            for lambda_c, lambda_l2, ct in grid:
                base_s = 1.0 - 0.025 * (k - 3) - 0.04 * rng.random()
                base_a = 0.55 + 0.03 * k + 0.1 * lambda_c
                for fold in range(3):
                    rows.append({
                        "task": "cancer_type", "split": "clone", "proportion": 0.5, "model": model,
                        "K": k, "lambda_c": lambda_c, "lambda_l2": lambda_l2, "ct": ct,
                        "fold": fold, "stability": min(1.0, base_s + 0.01 * rng.normal()),
                        "cell_line_accuracy": base_a + 0.02 * rng.normal(),
                        "tcga_accuracy": 0.3 + 0.1 * rng.random(),
                    })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- save_figure
def test_save_figure_writes_png_svg_tsv_reproducibly(tmp_path, cosmic):
    fig, data = sbs96.sbs96_figure(cosmic.loc[["SBS1"]])
    first = save_figure(fig, data, tmp_path / "a" / "sbs1")
    assert sorted(p.name for p in first) == ["sbs1.png", "sbs1.svg", "sbs1.tsv"]
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in first[1].read_bytes()[:500]
    back = pd.read_csv(first[2], sep="\t")
    pd.testing.assert_frame_equal(back, data.reset_index(drop=True), check_dtype=False)
    # Same figure, same bytes: no date stamps or random ids (bit-for-bit reruns).
    again = save_figure(*sbs96.sbs96_figure(cosmic.loc[["SBS1"]]), tmp_path / "b" / "sbs1")
    for one, two in zip(first, again):
        assert one.read_bytes() == two.read_bytes(), one.name
    # No temporary file left beside the outputs.
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["sbs1.png", "sbs1.svg", "sbs1.tsv"]
    with pytest.raises(ValueError, match="without extension"):
        save_figure(fig, data, tmp_path / "x.png")


def test_a_clip_path_figure_drawn_twice_gives_the_same_svg(tmp_path):
    """matplotlib names SVG clip paths after the id() of their Path object (Fig. 9c's dendrograms
    differed between runs); save_figure numbers them in order instead."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    def draw(keep):
        fig = Figure()
        ax = fig.add_subplot()
        for shift in range(3):
            line, = ax.plot([0, 1, 2], [shift, 1 + shift, shift])
            clip = Circle((1, 1), 1 + shift, transform=ax.transData)
            line.set_clip_path(clip)
            keep.append(clip)  # two live figures: their Path objects cannot share addresses
        return fig

    kept = []
    first = save_figure(draw(kept), pd.DataFrame({"x": [1]}), tmp_path / "a" / "clip")[1].read_bytes()
    again = save_figure(draw(kept), pd.DataFrame({"x": [1]}), tmp_path / "b" / "clip")[1].read_bytes()
    assert b'clip-path="url(#p0000000000)"' in first and b'id="p0000000002"' in first
    assert first == again


# --------------------------------------------------------------------------- SBS96
def test_sbs96_bars_in_cosmic_order_with_class_colours(cosmic):
    chosen = cosmic.loc[["SBS3", "SBS44"]]
    # Columns shuffled: the plot must put them back in COSMIC order.
    shuffled = chosen[list(np.random.default_rng(0).permutation(chosen.columns))]
    fig, data = sbs96.sbs96_figure(shuffled)
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ["SBS3", "SBS44"]):
        bars = ax.containers[0]
        assert len(bars) == 96
        heights = np.array([b.get_height() for b in bars])
        expected = chosen.loc[name].to_numpy() / chosen.loc[name].sum()
        np.testing.assert_allclose(heights, expected)
        colours = [to_hex(b.get_facecolor()).upper() for b in bars]
        for i, channel in enumerate(SBS96):
            assert colours[i] == sbs96.SUBSTITUTION_COLORS[channel[2:5]].upper(), channel
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels[:4] == ["ACA", "ACC", "ACG", "ACT"] and labels[-1] == "TTT"
        assert {t.get_text() for t in ax.texts} >= set(sbs96.SUBSTITUTION_COLORS)
    part = data[data["signature"] == "SBS44"]
    assert list(part["channel"]) == list(SBS96)
    assert list(part["position"]) == list(range(96))
    assert Counter(part["color"]) == Counter({c: 16 for c in sbs96.SUBSTITUTION_COLORS.values()})
    np.testing.assert_allclose(part["weight"].sum(), 1.0)


def test_sbs96_accepts_gdsc_channel_spelling_and_rejects_wrong_columns(gdsc):
    counts, _ = gdsc
    assert counts.columns[0] == "ACA>A"
    fig, data = sbs96.sbs96_figure(counts.iloc[:1])
    row = counts.iloc[0].rename(lambda c: c[0] + "[" + c[1] + ">" + c[4] + "]" + c[2])
    np.testing.assert_allclose(data["weight"], row[list(SBS96)] / row.sum())
    with pytest.raises(ValueError, match="96 SBS96 channels"):
        sbs96.sbs96_figure(counts.iloc[:1, :95])


# --------------------------------------------------------------------------- Fig. 4
@pytest.fixture(scope="module")
def predictions(gdsc, tcga):
    """Test predictions of 3 models on real cell lines and tumours of the 4 cancer types.

    Predictions follow a deterministic rule from each sample's real profile (the class whose
    mean profile is nearest), so they are neither random nor all correct.
    """
    cl_counts, cl_samples = gdsc
    tc_counts, tc_samples = tcga
    cl_samples = cl_samples[cl_samples["cancer_type"].isin(CANCER_TYPES)]
    tc_samples = tc_samples[tc_samples["cancer_type"].isin(CANCER_TYPES)].iloc[::7]
    tc_samples = tc_samples[tc_counts.loc[tc_samples["sample"]].sum(axis=1).to_numpy() > 0]
    rows = []
    cl = cl_counts.loc[cl_samples["sample"]].to_numpy(dtype=float)
    tc = tc_counts.loc[tc_samples["sample"]].to_numpy(dtype=float)
    centroids = np.array([cl[cl_samples["cancer_type"].to_numpy() == c].sum(axis=0) for c in CANCER_TYPES])
    for m, model in enumerate(("S-NMF", "SS-NMF", "PSS-NMF")):
        for source, profiles, table in (("cell_line", cl, cl_samples), ("tumour", tc, tc_samples)):
            sims = cosine_similarity(profiles, np.roll(centroids, m, axis=1) + centroids)
            predicted = np.array(CANCER_TYPES)[sims.argmax(axis=1)]
            rows.append(pd.DataFrame({"model": model, "sample": table["sample"].to_numpy(),
                                      "source": source, "truth": table["cancer_type"].to_numpy(),
                                      "predicted": predicted}))
    return pd.concat(rows, ignore_index=True)


def test_confusion_counts_sum_to_samples_and_match_hand_count(predictions):
    extra = pd.DataFrame({"model": "S-NMF", "sample": ["no-truth"], "source": "tumour",
                          "truth": [""], "predicted": ["LUAD"]})
    fig, counts = confusion.confusion_figure(pd.concat([predictions, extra]),
                                             models=["S-NMF", "SS-NMF", "PSS-NMF"])
    _render(fig)
    assert len(fig.axes) == 3 * 2 + 1  # 3 models × 2 sources + colour bar
    for (model, source), part in counts.groupby(["model", "source"]):
        truth_rows = predictions[(predictions["model"] == model) & (predictions["source"] == source)]
        assert part["count"].sum() == len(truth_rows)  # the tumour without truth is left out
        hand = Counter(zip(truth_rows["truth"], truth_rows["predicted"]))
        for _, row in part.iterrows():
            assert row["count"] == hand.get((row["truth"], row["predicted"]), 0)
        per_row = part.groupby("truth")["row_percent"].sum()
        np.testing.assert_allclose(per_row, 100.0)
    # The cell texts show the percentage and the count of the data.
    ax = fig.axes[0]
    first = counts[(counts["model"] == "S-NMF") & (counts["source"] == "cell_line")].iloc[0]
    assert f"{first['row_percent']:.0f}%\n{first['count']}" in {t.get_text() for t in ax.texts}


def test_confusion_rejects_duplicates_and_unknown_models(predictions):
    doubled = pd.concat([predictions, predictions.iloc[:1]])
    with pytest.raises(ValueError, match="appears twice"):
        confusion.confusion_counts(doubled)
    with pytest.raises(ValueError, match="no rows for model"):
        confusion.confusion_figure(predictions, models=["PSS-NMF-UR"])


# --------------------------------------------------------------------------- Figs. 10–14
def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.integers(0, 6, 25) / 5.0  # coarse values: ties happen
        y = rng.integers(0, 6, 25) / 5.0
        mask = pareto.pareto_front(x, y)
        for i in range(len(x)):
            dominated = any(x[j] >= x[i] and y[j] >= y[i] and (x[j] > x[i] or y[j] > y[i])
                            for j in range(len(x)))
            assert mask[i] == (not dominated)


def test_pareto_points_front_is_non_dominated_and_covers_eligible_points():
    metrics = _grid_metrics()
    chosen = {"SS-NMF": {"K": 4, "lambda_c": 0.5, "lambda_l2": 0.01, "ct": None}}
    points = pareto.pareto_points(metrics, chosen=chosen)
    # Fold means by hand for one configuration.
    one = metrics[(metrics["model"] == "SS-NMF") & (metrics["K"] == 5) & (metrics["lambda_c"] == 0.1)
                  & (metrics["lambda_l2"] == 0.001)]
    row = points[(points["model"] == "SS-NMF") & (points["K"] == 5) & (points["lambda_c"] == 0.1)
                 & (points["lambda_l2"] == 0.001)].iloc[0]
    assert row["n_folds"] == 3
    np.testing.assert_allclose(row["stability"], one["stability"].mean())
    for model, part in points.groupby("model"):
        eligible = part[part["stability"] >= pareto.MIN_STABILITY]
        front = eligible[eligible["on_front"]]
        assert len(front) >= 1 and not part.loc[~part["eligible"], "on_front"].any()
        for _, a in front.iterrows():
            assert not ((eligible["stability"] >= a["stability"])
                        & (eligible["cell_line_accuracy"] >= a["cell_line_accuracy"])
                        & ((eligible["stability"] > a["stability"])
                           | (eligible["cell_line_accuracy"] > a["cell_line_accuracy"]))).any()
        for _, b in eligible[~eligible["on_front"]].iterrows():
            assert ((front["stability"] >= b["stability"])
                    & (front["cell_line_accuracy"] >= b["cell_line_accuracy"])).any()
    assert points["chosen"].sum() == 1
    picked = points[points["chosen"]].iloc[0]
    assert (picked["model"], picked["K"], picked["lambda_c"]) == ("SS-NMF", 4, 0.5)
    # PSS-NMF labels name ct (the only hyperparameter that varies besides K).
    assert points.loc[points["model"] == "PSS-NMF", "label"].str.startswith("ct=").all()


def test_pareto_figure_accepts_experiment_columns_and_labels_do_not_overlap():
    metrics = _grid_metrics().rename(columns={"ct": "confidence_threshold",
                                              "cell_line_accuracy": "cellline_accuracy"})
    fig, points = pareto.pareto_figure(metrics, models=["SS-NMF", "PSS-NMF"],
                                       chosen={"PSS-NMF": {"K": 3, "ct": 0.9}})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax, model in zip(fig.axes, ["SS-NMF", "PSS-NMF"]):
        texts = [t for t in ax.texts if t.get_text()]
        assert len(texts) == int(points.loc[points["model"] == model, "on_front"].sum())
        # The text boxes themselves (an Annotation's extent would include its leader line).
        boxes = [matplotlib.text.Text.get_window_extent(t, renderer) for t in texts]
        for a, b in itertools.combinations(boxes, 2):
            assert min(a.x1, b.x1) <= max(a.x0, b.x0) or min(a.y1, b.y1) <= max(a.y0, b.y0), (a, b)
    with pytest.raises(ValueError, match="matches no configuration"):
        pareto.pareto_points(metrics, chosen={"PSS-NMF": {"K": 99}})
    with pytest.raises(ValueError, match="one split per figure"):
        pareto.pareto_points(pd.concat([metrics, metrics.assign(split="paper")]))


# --------------------------------------------------------------------------- Fig. 2
def test_validation_summary_rows_follow_the_paper_caption():
    metrics = _grid_metrics()
    data = validation.validation_summary(metrics, optimal_k={"SS-NMF": 5, "SS-NMF-UR": 4})
    k_rows = data[(data["hyperparameter"] == "K") & (data["metric"] == "stability")]
    assert len(k_rows) == int(metrics["ct"].isna().sum())  # every fit without ct
    lc = data[(data["hyperparameter"] == "lambda_c") & (data["metric"] == "tcga_accuracy")]
    expected = metrics[((metrics["model"] == "SS-NMF") & (metrics["K"] == 5))
                       | ((metrics["model"] == "SS-NMF-UR") & (metrics["K"] == 4))]
    assert len(lc) == len(expected)
    ct = data[data["hyperparameter"] == "ct"]
    assert set(ct["model"]) == {"PSS-NMF"}
    # Box statistics are those of the scores in the box.
    box = data[(data["hyperparameter"] == "ct") & (data["value"] == 0.4)
               & (data["metric"] == "cell_line_accuracy")]
    scores = metrics.loc[metrics["ct"] == 0.4, "cell_line_accuracy"]
    np.testing.assert_allclose(box["median"].iat[0], np.median(scores))
    np.testing.assert_allclose(box["q3"].iat[0] - box["q1"].iat[0],
                               np.subtract(*np.percentile(scores, [75, 25])))
    fig, _ = validation.validation_figure(metrics, optimal_k={"SS-NMF": 5, "SS-NMF-UR": 4})
    _render(fig)
    assert len(fig.axes) == 4 * 3
    with pytest.raises(ValueError, match="one proportion"):
        validation.validation_summary(pd.concat([metrics, metrics.assign(proportion=0.33)]))


# --------------------------------------------------------------------------- Fig. 3
def test_pseudo_label_counts_from_raw_rows_match_hand_count(tcga):
    _, samples = tcga
    tumours = samples[samples["cancer_type"].isin(CANCER_TYPES)].iloc[:400]
    rng = np.random.default_rng(5)
    rows = []
    for model, n in (("PSS-NMF", 300), ("PSS-NMF-UR", 120)):
        for ct in (0.3, 0.5):
            pick = tumours.sample(n if ct == 0.3 else n // 3, random_state=int(ct * 10))
            guess = np.where(rng.random(len(pick)) < 0.5, pick["cancer_type"],
                             rng.choice(CANCER_TYPES, len(pick)))
            rows.append(pd.DataFrame({"model": model, "ct": ct, "label": guess,
                                      "truth": pick["cancer_type"].to_numpy()}))
    raw = pd.concat(rows, ignore_index=True)
    raw.loc[raw.index[::25], "truth"] = ""  # tumours without an indicative label
    fig, counts = pseudolabels.pseudo_label_figure(raw)
    _render(fig)
    for _, row in counts.iterrows():
        part = raw[(raw["model"] == row["model"]) & (raw["ct"] == row["ct"]) & (raw["label"] == row["class"])]
        judged = part[part["truth"] != ""]
        assert row["n_true"] == int((judged["label"] == judged["truth"]).sum())
        assert row["n_false"] == int((judged["label"] != judged["truth"]).sum())
        assert row["n_unknown"] == int((part["truth"] == "").sum())
    assert counts["n"].sum() == len(raw) and counts["n_unknown"].sum() == len(raw.index[::25])
    # The stacked bars of the true-positive panel add up to the true positives.
    heights = sum(b.get_height() for c in fig.axes[0].containers for b in c)
    assert heights == counts["n_true"].sum()
    # Counted input passes through unchanged.
    counted = counts[["model", "ct", "class", "n_true", "n_false", "n_unknown"]]
    again = pseudolabels.pseudo_label_counts(counted)
    pd.testing.assert_frame_equal(again, counts)


# --------------------------------------------------------------------------- Fig. 5
def test_pca_coordinates_match_svd_of_proportions(gdsc, tcga):
    cl_counts, cl_samples = gdsc
    tc_counts, tc_samples = tcga
    cl_samples = cl_samples[cl_samples["cancer_type"].isin(CANCER_TYPES)]
    tc_samples = tc_samples[tc_samples["cancer_type"].isin(CANCER_TYPES)].iloc[::10]
    tc_samples = tc_samples[tc_counts.loc[tc_samples["sample"]].sum(axis=1).to_numpy() > 0]
    profiles = pd.concat([_cosmic_order(cl_counts.loc[cl_samples["sample"]]),
                          tc_counts.loc[tc_samples["sample"]]])
    samples = pd.concat([cl_samples.assign(source="cell_line"), tc_samples.assign(source="tcga")])
    samples = samples.rename(columns={"cancer_type": "class"})
    fig, data = pca.pca_figure(profiles, samples)
    _render(fig)
    x = profiles.div(profiles.sum(axis=1), axis=0).to_numpy()
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    for k in range(2):
        ours = data[f"PC{k + 1}"].to_numpy()
        ref = u[:, k] * s[k]
        assert np.allclose(ours, ref, atol=1e-9) or np.allclose(ours, -ref, atol=1e-9)
    np.testing.assert_allclose(data["PC1_variance_ratio"].iat[0], s[0] ** 2 / (s ** 2).sum())
    assert list(data["sample"]) == list(profiles.index)
    assert Counter(data["class"]) == Counter(samples["class"])
    with pytest.raises(ValueError, match="no row for profile"):
        pca.pca_coordinates(profiles, samples.iloc[1:])


# --------------------------------------------------------------------------- Figs. 6, 7
def test_hungarian_matching_maximises_total_similarity_like_brute_force(cosmic):
    rng = np.random.default_rng(11)
    for k_a, k_b in ((4, 4), (3, 5), (5, 4)):
        a = cosmic.sample(k_a, random_state=int(rng.integers(1000)))
        b = cosmic.sample(k_b, random_state=int(rng.integers(1000)))
        pairs = similarity.match_signatures(a, b)
        assert len(pairs) == min(k_a, k_b)
        assert pairs["signature_a"].is_unique and pairs["signature_b"].is_unique
        sim = cosine_similarity(a.to_numpy(), b.to_numpy())
        if k_a <= k_b:
            best = max(sum(sim[i, p[i]] for i in range(k_a)) for p in itertools.permutations(range(k_b), k_a))
        else:
            best = max(sum(sim[p[j], j] for j in range(k_b)) for p in itertools.permutations(range(k_a), k_b))
        np.testing.assert_allclose(pairs["cosine"].sum(), best)


def test_matched_similarity_figure_frames_a_permutation(learned):
    signatures, _ = learned
    a, b = signatures["S-NMF"], signatures["PSS-NMF"]
    fig, data = similarity.matched_similarity_figure(a, b)
    _render(fig)
    matched = data[data["matched"]]
    assert len(matched) == 5 and matched["signature_a"].is_unique and matched["signature_b"].is_unique
    assert len(data) == 5 * 6
    hand = cosine_similarity(a.to_numpy(), b.to_numpy())
    for _, row in data.iterrows():
        np.testing.assert_allclose(row["cosine"], hand[a.index.get_loc(row["signature_a"]),
                                                       b.index.get_loc(row["signature_b"])])
    # Matched pairs lie on the diagonal of the heatmap.
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.diag(image)[:5], matched["cosine"].to_numpy())


def test_signature_names_and_cosmic_heatmap(learned, zou, cosmic):
    signatures, exposure = learned
    _, labels = zou
    names = {m: similarity.name_signatures(signatures[m], cosmic, exposure[m], labels) for m in signatures}
    table = names["PSS-NMF"]
    relative = exposure["PSS-NMF"].div(exposure["PSS-NMF"].sum(axis=1), axis=0)
    by_class = relative.groupby(labels.set_index("sample").loc[relative.index, "class"]).mean()
    for _, row in table.iterrows():
        assert row["top_class"] == by_class[row["signature"]].idxmax()
        learned_row = signatures["PSS-NMF"].loc[[row["signature"]]].to_numpy()
        sims = cosine_similarity(learned_row, cosmic.to_numpy())[0]
        assert row["best_cosmic"] == cosmic.index[sims.argmax()]
        assert row["name"].endswith(f"({row['best_cosmic']})")
    assert table["name"].is_unique
    for group, members in similarity.DDR_ETIOLOGIES.items():
        assert set(members) <= set(cosmic.index), group
    fig, data = similarity.cosmic_similarity_figure(signatures, cosmic, names=names)
    _render(fig)
    ax = fig.axes[0]
    bold = {t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"}
    assert bold == {s for members in similarity.DDR_ETIOLOGIES.values() for s in members}
    assert set(table["best_cosmic"]) <= {t.get_text() for t in ax.get_yticklabels()}
    assert len(data) == data["cosmic"].nunique() * (5 + 6)
    sbs44 = data[(data["cosmic"] == "SBS44") & (data["model"] == "S-NMF") & (data["signature"] == "S1")]
    np.testing.assert_allclose(sbs44["cosine"].iat[0], cosine_similarity(
        signatures["S-NMF"].loc[["S1"]].to_numpy(), cosmic.loc[["SBS44"]].to_numpy())[0, 0])


# --------------------------------------------------------------------------- Fig. 8
def test_exposures_grouped_by_label_with_matched_colours(learned, zou, tcga):
    signatures, exposure = learned
    counts, labels = zou
    tc_counts, tc_samples = tcga
    tumours = tc_samples.iloc[:40]
    tumours = tumours[tc_counts.loc[tumours["sample"]].sum(axis=1).to_numpy() > 20]
    tumour_labels = pd.DataFrame({"sample": tumours["sample"], "source": "tumour",
                                  "class": np.resize(["MMR", "HR", "BER"], len(tumours))})
    both = {m: pd.concat([exposure[m], _nnls_exposures(signatures[m], tc_counts.loc[tumours["sample"]])])
            for m in signatures}
    samples = pd.concat([tumour_labels, labels], ignore_index=True)  # tumours first on purpose
    fig, data = exposures.exposures_figure(both, samples, signatures=signatures)
    _render(fig)
    assert len(data) == len(samples) * (5 + 6)
    per_sample = data.groupby(["model", "sample"])["shown"].sum()
    np.testing.assert_allclose(per_sample, 1.0)
    order = data[(data["model"] == "S-NMF") & (data["signature"] == "S1")].sort_values("position")
    classes = list(dict.fromkeys(order["class"]))
    assert classes == ["MMR", "BER", "HR", "Control"]
    for cls in classes:
        sources = list(dict.fromkeys(order.loc[order["class"] == cls, "source"]))
        assert sources == (["cell_line", "tumour"] if cls != "Control" else ["cell_line"])
    # Dashed separators: one per class that has both sources.
    dashed = [l for l in fig.axes[0].lines if l.get_linestyle() == "--"]
    assert len(dashed) == 3
    # A model whose signatures are a permutation of the first gets the same colours.
    permuted = signatures["S-NMF"].iloc[[2, 0, 4, 1, 3]].rename(lambda s: "P" + s)
    colours = exposures.matched_signature_colors({"S-NMF": signatures["S-NMF"], "copy": permuted})
    for s in signatures["S-NMF"].index:
        assert colours["copy"]["P" + s] == colours["S-NMF"][s]


# --------------------------------------------------------------------------- Fig. 9
@pytest.fixture(scope="module")
def exploration_inputs(gdsc, tcga):
    cl_counts, cl_samples = gdsc
    tc_counts, tc_samples = tcga
    tc_counts = tc_counts[tc_counts.sum(axis=1) > 0]
    profiles = pd.concat([_cosmic_order(cl_counts), tc_counts])
    samples = pd.concat([cl_samples.assign(source="cell_line"), tc_samples.assign(source="tcga")])
    return profiles, samples


def test_samples_per_cancer_type_counts_and_thresholds(exploration_inputs, tcga, gdsc):
    _, samples = exploration_inputs
    fig, counts = exploration.samples_per_cancer_type_figure(samples)
    _render(fig)
    shared = set(tcga[1]["cancer_type"]) & set(gdsc[1]["cancer_type"])
    assert set(counts["cancer_type"]) == shared
    hand = tcga[1]["cancer_type"].value_counts()
    for _, row in counts[counts["source"] == "tcga"].iterrows():
        assert row["n_samples"] == hand[row["cancer_type"]]
        assert row["passes"] == (row["n_samples"] >= 400)
    for _, row in counts[counts["source"] == "cell_line"].iterrows():
        assert row["passes"] == (row["n_samples"] >= 15)
    kept = counts.groupby("cancer_type")["passes"].all()
    assert set(CANCER_TYPES) <= set(kept[kept].index)  # the paper's four pass both thresholds
    red = [l for ax in fig.axes for l in ax.lines if l.get_linestyle() == ":"]
    assert sorted(l.get_ydata()[0] for l in red) == [15, 400]


def test_clustermap_and_cross_similarity_of_mean_profiles(exploration_inputs):
    profiles, samples = exploration_inputs
    fig, data = exploration.mean_profile_clustermap(profiles, samples, "tcga", cancer_types=CANCER_TYPES)
    _render(fig)
    matrix = data.pivot(index="cancer_type_a", columns="cancer_type_b", values="cosine")
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    order = data.drop_duplicates("row_order").sort_values("row_order")["cancer_type_a"]
    assert sorted(order) == sorted(CANCER_TYPES)
    fig, cross = exploration.cross_source_similarity_figure(profiles, samples, CANCER_TYPES)
    _render(fig)
    tumours = samples[(samples["source"] == "tcga") & (samples["cancer_type"] == "SKCM")]["sample"]
    lines = samples[(samples["source"] == "cell_line") & (samples["cancer_type"] == "LUAD")]["sample"]
    mean_t = profiles.loc[tumours].div(profiles.loc[tumours].sum(axis=1), axis=0).mean()
    mean_c = profiles.loc[lines].div(profiles.loc[lines].sum(axis=1), axis=0).mean()
    hand = mean_t @ mean_c / np.linalg.norm(mean_t) / np.linalg.norm(mean_c)
    value = cross[(cross["cell_line_type"] == "LUAD") & (cross["tcga_type"] == "SKCM")]["cosine"].iat[0]
    np.testing.assert_allclose(value, hand)
    assert len(cross) == 16


# --------------------------------------------------------------------------- predict --plots
def test_sample_figure_shows_profile_exposures_and_probabilities(tmp_path, tcga):
    from pssnmf.plots.sample import sample_figure

    counts, samples = tcga
    sample = samples["sample"].iat[5]
    fig = sample_figure(sample=sample, counts=counts.loc[sample].to_numpy(), exposures=[0.2, 0.0, 0.6],
                        signature_names=["S1", "S2", "S3"],
                        probabilities={"MMR": 0.7, "BER": 0.1, "HR": 0.1, "Control": 0.1})
    profile, signatures, prediction = fig.axes
    heights = np.array([b.get_height() for b in profile.containers[0]])
    np.testing.assert_allclose(heights, counts.loc[sample] / counts.loc[sample].sum())
    np.testing.assert_allclose([b.get_width() for b in signatures.containers[0]], [0.25, 0.0, 0.75])
    np.testing.assert_allclose([b.get_width() for b in prediction.containers[0]], [0.7, 0.1, 0.1, 0.1])
    fig.savefig(tmp_path / "s.png")
    with pytest.raises(ValueError, match="3 signature names"):
        sample_figure(sample="x", counts=np.ones(96), exposures=[1, 2], signature_names=["a", "b", "c"],
                      probabilities={})


def test_reliability_figure_draws_each_model_and_source_from_its_curve():
    """Real-shaped data: the ECE table's curves of two models on two sources, raw and scaled."""
    from pssnmf.plots.calibration import reliability_figure
    from pssnmf.tables import calibration_table

    rng = np.random.default_rng(7)
    classes = ["MMR", "BER", "HR"]
    frames = []
    for model, sharpness in (("S-NMF", 1.0), ("PSS-NMF", 3.0)):
        logits = rng.normal(size=(400, 3)) * sharpness
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        frame = pd.DataFrame(p, columns=[f"probability_{c}" for c in classes])
        frame["truth"] = [rng.choice(classes, p=row) for row in np.exp(logits / sharpness)
                          / np.exp(logits / sharpness).sum(axis=1, keepdims=True)]
        frame["model"], frame["predicted"] = model, np.asarray(classes)[p.argmax(axis=1)]
        frame["source"] = np.where(np.arange(400) < 200, "cell_line", "tumour")
        frames.append(frame)
    table, curves = calibration_table(pd.concat(frames), {"S-NMF": 1.0, "PSS-NMF": 3.0})
    fig, data = reliability_figure(curves, table, models=["S-NMF", "PSS-NMF"])
    assert len(fig.axes) == 4  # (raw, scaled) x (cell lines, TCGA)
    assert data.equals(curves.reset_index(drop=True))
    for ax in fig.axes:
        lines = [line for line in ax.get_lines() if line.get_label().startswith(("S-NMF", "PSS-NMF"))]
        assert len(lines) == 2
        source, scaling = ax.get_title().split(": ")
        for line in lines:
            model = line.get_label().split(" (")[0]
            part = curves[(curves["model"] == model) & (curves["source"] == source) & (curves["count"] > 0)
                          & (curves["scaling"] == ("raw" if scaling.startswith("raw") else "temperature"))]
            np.testing.assert_allclose(line.get_xdata(), part["mean_predicted"])
            np.testing.assert_allclose(line.get_ydata(), part["observed_frequency"])
    # The overconfident model's raw ECE falls once scaled by its T.
    pss = table[(table["model"] == "PSS-NMF")]
    assert (pss["ece_scaled"] < pss["ece"]).all()
