"""pssnmf.predict as a library: a small real model applied to real TCGA tumours.

The model is trained here (once per session, shared with ``test_cli_predict.py``) on the
real data: bootstraps of the 46 labelled Zou 2021 knockout subclones and a few hundred
TCGA tumours, K = 5, 3 restarts, 200 epochs (a few seconds).  The tumours predicted are
other TCGA tumours, never seen in training.
"""

from __future__ import annotations

import functools
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.model import IntegratedNMF, save_model
from pssnmf.predict import (
    MIN_MUTATIONS,
    plot_file_names,
    predict_catalog,
    predict_counts,
    read_model,
    write_prediction,
    write_tsv,
)

# SPEC "The data": the labelled DDRd classes of the Zou 2021 knockouts.
PATHWAY = {"MSH6": "MMR", "MSH2": "MMR", "MLH1": "MMR", "PMS2": "MMR", "PMS1": "MMR",
           "UNG": "BER", "OGG1": "BER", "EXO1": "HR", "RNF168": "HR", "ATP2B4": "Control"}
N_TRAINING_TUMOURS = 300


def tcga_counts(data_dir: Path) -> pd.DataFrame:
    """All TCGA tumours, samples x 96 counts, columns in COSMIC order (the file is not)."""
    table = pd.read_csv(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", sep="\t", index_col=0)
    table.index = [normalize_channel(c) for c in table.index]
    return table.loc[list(SBS96)].T.astype(np.int64)


@functools.lru_cache(maxsize=None)
def trained_model(data_dir: Path, folder: Path) -> tuple[Path, tuple[str, ...]]:
    """Train and save the small real model once per session: (model file, training tumour IDs).

    Cached so that both test modules share one training run.
    """
    zou = pd.read_excel(data_dir / "zou2021" / "Supplementary_tables.xlsx", sheet_name="TableS3")
    zou = zou.set_index("MutationType")
    zou.index = [normalize_channel(c) for c in zou.index]
    columns = [c for c in zou.columns if c.split("_")[0] in PATHWAY]
    assert len(columns) == 46, f"expected the 46 labelled Zou subclones, found {len(columns)}"
    subclones = zou.loc[list(SBS96), columns].T.to_numpy(dtype=float)
    labels = np.array([PATHWAY[c.split("_")[0]] for c in columns])
    rng = np.random.default_rng(0)
    X, y = [], []
    for label in np.unique(labels):
        # SPEC "Splits and bootstrapping": multinomial resamples of a real sample's own count.
        for row in rng.choice(np.flatnonzero(labels == label), 50):
            X.append(rng.multinomial(int(subclones[row].sum()), subclones[row] / subclones[row].sum()))
            y.append(label)
    tumours = tcga_counts(data_dir)
    tumours = tumours[tumours.sum(axis=1) >= 20]
    chosen = sorted(rng.choice(tumours.index.to_numpy(), N_TRAINING_TUMOURS, replace=False))
    X = np.vstack([np.array(X, dtype=float), tumours.loc[chosen].to_numpy(dtype=float)])
    y = np.array(y + [None] * len(chosen), dtype=object)
    model = IntegratedNMF(n_signatures=5, mode="pseudo_labeling", confidence_threshold=0.9, n_restarts=3,
                          tol=1e-4, min_epochs=50, max_epochs=200, random_state=0).fit(X, y)
    path = folder / "ddrd_model.npz"
    save_model(model, path, metadata={"task": "DDRd", "note": "small test model"})
    return path, tuple(chosen)


@pytest.fixture(scope="session")
def model_file(data_dir, tmp_path_factory) -> Path:
    return trained_model(data_dir, tmp_path_factory.getbasetemp())[0]


@pytest.fixture(scope="session")
def new_tumours(data_dir, tmp_path_factory) -> pd.DataFrame:
    """40 TCGA tumours not used in training: 15 under 50 mutations, 25 at or above, among
    them one with exactly 49 and one with exactly 50 (the flag's edge)."""
    training = set(trained_model(data_dir, tmp_path_factory.getbasetemp())[1])
    tumours = tcga_counts(data_dir)
    tumours = tumours[~tumours.index.isin(training) & (tumours.sum(axis=1) > 0)]
    mutations = tumours.sum(axis=1)
    edge = [mutations.index[mutations == MIN_MUTATIONS - 1][0], mutations.index[mutations == MIN_MUTATIONS][0]]
    rng = np.random.default_rng(1)
    rest = mutations.drop(edge)
    low = rng.choice(rest.index[rest < MIN_MUTATIONS].to_numpy(), 14, replace=False)
    high = rng.choice(rest.index[rest >= MIN_MUTATIONS].to_numpy(), 24, replace=False)
    return tumours.loc[rng.permutation(np.r_[low, high, edge])]


def rewrite_model(model_file: Path, path: Path, change) -> Path:
    """A copy of the model file whose JSON metadata went through ``change`` (no pickle)."""
    with np.load(model_file, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    info = json.loads(str(arrays["metadata_json"]))
    change(info)
    arrays["metadata_json"] = np.array(json.dumps(info))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def check_prediction_table(table: pd.DataFrame, counts: pd.DataFrame, model, min_mutations=MIN_MUTATIONS,
                           rtol=0.0, atol=0.0):
    """Every documented property of a predictions table, recomputed independently of pssnmf.predict.

    counts : the samples x 96 counts (COSMIC order) the table was made from.
    rtol/atol : 0 for an in-memory table; about 1e-7 for one read back from text (8 digits).
    """
    classes = [str(c) for c in model.classes_]
    k = model.signatures_.shape[0]
    assert list(table["sample"].astype(str)) == [str(s) for s in counts.index]
    probability = table[[f"probability_{c}" for c in classes]].to_numpy(dtype=float)
    exposure = table[[c for c in table.columns if c.startswith("exposure_")]].to_numpy(dtype=float)
    assert exposure.shape == (len(counts), k)
    np.testing.assert_allclose(probability.sum(axis=1), 1.0, rtol=0, atol=max(atol, 1e-12) * len(classes))
    assert list(table["predicted"]) == [classes[j] for j in probability.argmax(axis=1)]
    np.testing.assert_allclose(table["max_probability"], probability.max(axis=1), rtol=rtol, atol=atol)
    # The model's own answer on the same counts.
    np.testing.assert_allclose(probability, model.predict_proba(counts.to_numpy(dtype=float)), rtol=rtol,
                               atol=max(atol, 1e-12))
    values = counts.to_numpy(dtype=float)
    proportions = values / values.sum(axis=1, keepdims=True)
    # Exposures are the NNLS optimum with the signatures fixed (section 2.1, "Testing"): scipy's.
    reference = np.array([nnls(model.signatures_.T, p)[0] for p in proportions])
    np.testing.assert_allclose(exposure, reference, rtol=1e-6, atol=max(atol, 1e-9))
    # ... and reconstruct the profile to the reported cosine.
    reconstruction = exposure @ model.signatures_
    cosine = (reconstruction * proportions).sum(axis=1) / (
        np.linalg.norm(reconstruction, axis=1) * np.linalg.norm(proportions, axis=1))
    np.testing.assert_allclose(table["reconstruction_cosine"], cosine, rtol=0, atol=max(atol, 1e-12) * 10)
    assert (table["reconstruction_cosine"] > 0).all() and (table["reconstruction_cosine"] <= 1 + 1e-9).all()
    assert list(table["mutations"]) == [int(v) for v in values.sum(axis=1)]
    flags = table["low_count"].astype(str).str.lower().map({"true": True, "false": False})
    assert list(flags) == [int(v) < min_mutations for v in values.sum(axis=1)]
    # Out of distribution: the table's cosine below the model's threshold, said with both numbers.
    ood = table["reconstruction_cosine"].to_numpy(dtype=float) < model.ood_threshold_
    assert list(table["ood"].astype(str).str.lower().map({"true": True, "false": False})) == list(ood)
    said = ["" if pd.isna(v) else v for v in table["ood_reason"]]
    assert [bool(r) for r in said] == list(ood)
    assert all(f"< {model.ood_threshold_:.3f}, the 5th percentile of the model's" in r for r in said if r)
    # The documented "undetermined" rule (default thresholds), from the table's own intervals.
    if "call" in table.columns:
        width = table["interval_upper"] - table["interval_lower"]
        np.testing.assert_allclose(table["interval_width"], width, rtol=0, atol=max(atol, 1e-12) * 10)
        first = np.where(values.sum(axis=1) < min_mutations, "few mutations",
                         np.where(width > 0.5, "wide interval", ""))
        reason = ["; ".join([r] * bool(r) + ["out of distribution"] * bool(o)) for r, o in zip(first, ood)]
        assert ["" if pd.isna(v) else v for v in table["undetermined_reason"]] == reason
        assert list(table["call"]) == [c if r == "" else "undetermined" for c, r in zip(table["predicted"], reason)]
        assert ((table["agreement"] >= 0) & (table["agreement"] <= 1)).all()


def test_predict_counts_on_new_tcga_tumours(model_file, new_tumours):
    model = read_model(model_file)
    prediction = predict_counts(model, new_tumours)
    table = prediction.table
    check_prediction_table(table, new_tumours, model)
    assert prediction.classes == ["BER", "Control", "HR", "MMR"]
    # Signature names come from the model file's metadata.
    assert prediction.signature_names == [f"Signature {c}" for c in "ABCDE"]
    assert list(table.columns) == (
        ["sample", "predicted", "max_probability"] + [f"probability_{c}" for c in prediction.classes]
        + [f"exposure_Signature_{c}" for c in "ABCDE"] + [f"contribution_Signature_{c}" for c in "ABCDE"]
        + ["reconstruction_cosine", "mutations", "low_count", "ood", "ood_reason", "call", "undetermined_reason",
           "agreement", "interval_lower", "interval_upper", "interval_width"]
        + [f"{side}_{c}" for c in prediction.classes for side in ("lower", "upper")])
    # Both sides of the threshold, and its edge, are present, so the flag check above can fail.
    assert table["low_count"].any() and not table["low_count"].all()
    assert set(table.loc[table["mutations"].isin([49, 50]), "low_count"]) == {True, False}


def test_predict_counts_reads_any_channel_order_and_spelling(model_file, new_tumours):
    model = read_model(model_file)
    expected = predict_counts(model, new_tumours.iloc[:5]).table
    shuffled = new_tumours.iloc[:5, np.random.default_rng(0).permutation(96)]
    shuffled.columns = [c[0] + c[2] + c[6] + ">" + c[4] for c in shuffled.columns]  # A[C>A]A -> ACA>A
    pd.testing.assert_frame_equal(predict_counts(model, shuffled).table, expected)


def test_min_mutations_moves_the_flag_only(model_file, new_tumours):
    model = read_model(model_file)
    default = predict_counts(model, new_tumours).table
    strict = predict_counts(model, new_tumours, min_mutations=200).table
    assert list(strict["low_count"]) == list(new_tumours.sum(axis=1) < 200)
    assert strict["low_count"].sum() > default["low_count"].sum()
    # The count threshold moves the flag and the call, nothing else.
    moved = ["low_count", "call", "undetermined_reason"]
    pd.testing.assert_frame_equal(strict.drop(columns=moved), default.drop(columns=moved))
    assert not predict_counts(model, new_tumours, min_mutations=0).table["low_count"].any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.set_axis([c.index[0]] * len(c)), "appear more than once"),
        (lambda c: c.iloc[:, :95], "expected each of the 96 once"),
        (lambda c: c.rename(columns={"A[C>A]A": "A[C>A]N"}), "not an SBS96 channel"),
        (lambda c: c.astype(float).mul(-1), "non-negative whole number"),
        (lambda c: c / 7, "non-negative whole number"),
        (lambda c: c.astype(float) * 0 + 2.0**63, "non-negative whole number of mutations below 2\\^53"),
        (lambda c: c * 0, "has no mutations"),
        (lambda c: c.iloc[:0], "no samples"),
    ],
    ids=["duplicate_ids", "missing_channel", "misnamed_channel", "negative", "fractional", "too_large", "all_zero",
         "empty"],
)
def test_predict_counts_rejects_bad_counts(model_file, new_tumours, change, message):
    with pytest.raises(ValueError, match=message):
        predict_counts(read_model(model_file), change(new_tumours.iloc[:4]), source="table")


def test_predict_counts_rejects_bad_threshold(model_file, new_tumours):
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="min_mutations"):
            predict_counts(read_model(model_file), new_tumours.iloc[:2], min_mutations=bad)


def test_predict_catalog_without_out_dir_writes_nothing(model_file, new_tumours, tmp_path):
    catalog = tmp_path / "catalog.tsv"
    new_tumours.iloc[:6].T.rename_axis("MutationType").to_csv(catalog, sep="\t")
    before = sorted(tmp_path.iterdir())
    prediction = predict_catalog(model_file, catalog, None)
    assert sorted(tmp_path.iterdir()) == before
    check_prediction_table(prediction.table, new_tumours.iloc[:6], read_model(model_file))


def test_a_failed_figure_never_costs_the_table(model_file, new_tumours, tmp_path, caplog):
    """The tables are written even where no figure can be drawn; the failures are a warning."""
    model = read_model(model_file)
    prediction = predict_counts(model, new_tumours.iloc[:3])
    out = tmp_path / "out"
    # 95 counts per sample: every figure refuses them.
    with caplog.at_level("WARNING", logger="pssnmf.predict"):
        write_prediction(prediction, new_tumours.iloc[:3, :95], out, plots=True)
    assert "3 of 3 figure(s) could not be drawn" in caplog.text and "expected 96 SBS96 counts" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["contributions.tsv", "plots", "predictions.tsv"]
    assert list((out / "plots").iterdir()) == []
    check_prediction_table(pd.read_csv(out / "predictions.tsv", sep="\t", dtype={"sample": str}),
                           new_tumours.iloc[:3], model, rtol=1e-7, atol=1e-8)


def test_a_failure_takes_back_every_file_and_restores_what_it_replaced(model_file, new_tumours, tmp_path,
                                                                      monkeypatch):
    """All or nothing: a failure after some files were moved into place undoes the moves."""
    import pssnmf.predict as predict_module

    model = read_model(model_file)
    out = tmp_path / "out"
    write_prediction(predict_counts(model, new_tumours.iloc[:2]), new_tumours.iloc[:2], out, plots=True)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_replace = os.replace

    def fail_on_the_table(source, target):  # the new table's move into place; not the restoring one
        if Path(source).name == "predictions.tsv" and Path(source).parent.name.startswith(".pssnmf-predict."):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(predict_module.os, "replace", fail_on_the_table)
    with pytest.raises(OSError, match="No space left"):
        write_prediction(predict_counts(model, new_tumours.iloc[1:4]), new_tumours.iloc[1:4], out, plots=True,
                         overwrite=True)
    monkeypatch.undo()
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the replaced figure and contributions.tsv are back, the new ones gone
    assert sorted(p.name for p in out.iterdir()) == ["contributions.tsv", "plots", "predictions.tsv"]
    # Into a new folder: the folder goes too.
    monkeypatch.setattr(predict_module.os, "replace", fail_on_the_table)
    with pytest.raises(OSError):
        write_prediction(predict_counts(model, new_tumours.iloc[:2]), new_tumours.iloc[:2], tmp_path / "new",
                         plots=True)
    assert not (tmp_path / "new").exists()


def test_rerun_needs_overwrite_and_never_removes_foreign_files(model_file, new_tumours, tmp_path, caplog):
    model = read_model(model_file)
    out = tmp_path / "out"
    first, second = new_tumours.iloc[:2], new_tumours.iloc[2:3]
    write_prediction(predict_counts(model, first), first, out, plots=True)
    (out / "plots" / "notes.txt").write_text("mine")
    (out / "mine.tsv").write_text("mine")
    table = (out / "predictions.tsv").read_bytes()
    with pytest.raises(ValueError, match=r"out: the output folder is not empty .*--overwrite"):
        write_prediction(predict_counts(model, second), second, out, plots=True)
    assert (out / "predictions.tsv").read_bytes() == table
    with caplog.at_level("WARNING", logger="pssnmf.predict"):
        write_prediction(predict_counts(model, second), second, out, plots=True, overwrite=True)
    assert (out / "predictions.tsv").read_bytes() != table
    assert (out / "plots" / "notes.txt").read_text() == "mine" and (out / "mine.tsv").read_text() == "mine"
    # The figures of the first run's samples are not this run's: left, and said.
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(
        [f"{s}.png" for s in new_tumours.index[:3]] + ["notes.txt"])
    assert "holds 3 file(s) this run did not write (left as they are)" in caplog.text


def test_out_dir_must_be_a_name_and_a_folder(model_file, new_tumours, tmp_path, monkeypatch):
    prediction = predict_counts(read_model(model_file), new_tumours.iloc[:1])
    monkeypatch.chdir(tmp_path)  # where "" would write
    with pytest.raises(ValueError, match="empty name"):
        write_prediction(prediction, new_tumours.iloc[:1], "")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="file: not a folder"):
        write_prediction(prediction, new_tumours.iloc[:1], tmp_path / "file")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "plots").write_text("x")
    with pytest.raises(ValueError, match="plots: not a folder"):
        write_prediction(prediction, new_tumours.iloc[:1], tmp_path / "out", plots=True, overwrite=True)
    assert (tmp_path / "out" / "plots").read_text() == "x"


def test_plot_file_names_are_distinct_and_safe():
    names = plot_file_names(["a/b", "a_b", "A_B", "..", "TCGA-AB-1234-01", "", "é"])
    assert len({n.lower() for n in names}) == len(names)
    assert all("/" not in n and not n.startswith(".") and n.isascii() for n in names)
    assert names[0] == "a_b.png" and names[4] == "TCGA-AB-1234-01.png"


def test_plot_file_names_of_long_ids_are_bounded_and_distinct():
    long = "T" * 300
    names = plot_file_names([long, long + "x", long.lower(), "é" * 200])
    assert len({n.lower() for n in names}) == 4
    assert all(len(n.encode()) <= 110 for n in names)
    assert names == plot_file_names([long, long + "x", long.lower(), "é" * 200])  # the same every run


def test_read_model_refuses_a_flipped_byte(model_file, tmp_path):
    """A model file damaged inside an array (not only truncated) is refused, never used."""
    data = bytearray(model_file.read_bytes())
    with zipfile.ZipFile(model_file) as archive:
        member = archive.getinfo("signatures.npy")
    # Past the member's local header (30 bytes + name + extra) and the .npy header.
    data[member.header_offset + 30 + len(member.filename) + len(member.extra) + 200] ^= 0xFF
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged.npz: not a readable pssnmf model file"):
        read_model(damaged)


def test_read_model_names_missing_metadata(model_file, tmp_path):
    path = rewrite_model(model_file, tmp_path / "m.npz", lambda info: info.pop("params"))
    with pytest.raises(ValueError, match=r"m.npz: corrupt model metadata \(entries \['params'\] missing"):
        read_model(path)


def test_contributions_sum_to_the_predicted_logit(model_file, new_tumours):
    """contribution_<sig> = exposure x weight for the predicted class; they add up to its logit."""
    from pssnmf.predict import predict_counts, read_model, signature_names

    trained_model = read_model(model_file)
    tumour_counts = new_tumours
    table = predict_counts(trained_model, tumour_counts).table
    names = signature_names(trained_model)
    exposures = trained_model.transform(tumour_counts.to_numpy(dtype=float))
    logits = exposures @ trained_model.weights_
    classes = [str(c) for c in trained_model.classes_]
    predicted = [classes.index(c) for c in table["predicted"]]
    contributions = table[[f"contribution_{n.replace(' ', '_')}" for n in names]].to_numpy()
    np.testing.assert_allclose(contributions.sum(axis=1), logits[np.arange(len(table)), predicted],
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("odd", [False, True], ids=["plain", "quoted_and_missing"])
def test_write_tsv_writes_what_pandas_writes(model_file, new_tumours, tmp_path, odd):
    """The tables' writer gives the bytes of ``to_csv(sep="\\t", float_format="%.8g")``."""
    prediction = predict_counts(read_model(model_file), new_tumours.iloc[:8], n_resamples=20)
    for table in (prediction.table.copy(), prediction.contributions.copy(),
                  predict_counts(read_model(model_file), new_tumours.iloc[:3], n_resamples=0).table):
        if odd:  # fields the csv writer quotes, empty booleans, missing text, -0.0 and infinity
            table.iloc[:3, 0] = ['a"b', "c\td", "e\nf"]
            table["flag"] = pd.array([pd.NA, True] + [False] * (len(table) - 2), dtype="boolean")
            table["note"] = [None] + ["x"] * (len(table) - 1)
            table["number"] = [-0.0, np.inf, np.nan] + [0.1] * (len(table) - 3)
        expected, written = tmp_path / "expected.tsv", tmp_path / "written.tsv"
        table.to_csv(expected, sep="\t", index=False, float_format="%.8g", lineterminator="\n")
        write_tsv(table, written)
        assert written.read_bytes() == expected.read_bytes()


def test_screening_columns_apply_the_models_cutoffs(model_file, new_tumours, tmp_path):
    """A model with the workflow's screening cut-offs gets one screen_<pathway>_fpr<rate> column each:
    the class's probability above the cut-off; a model without them gets none."""
    cutoffs = {"0.1": {"MMR": 0.5, "HR": 0.2}, "0.05": {"MMR": 0.9}}
    path = rewrite_model(model_file, tmp_path / "screened.npz",
                         lambda info: info["metadata"].update(screening={"cutoffs": {"probability": cutoffs}}))
    table = predict_counts(read_model(path), new_tumours, n_resamples=0).table
    for tag, by_class in cutoffs.items():
        for pathway, cut in by_class.items():
            assert table[f"screen_{pathway}_fpr{tag}"].tolist() == (table[f"probability_{pathway}"] > cut).tolist()
    assert not any(c.startswith("screen_") for c in predict_counts(read_model(model_file), new_tumours,
                                                                   n_resamples=0).table.columns)
    broken = rewrite_model(model_file, tmp_path / "broken.npz",
                           lambda info: info["metadata"].update(screening={"cutoffs": {"probability": {"0.1": {"XYZ": 1}}}}))
    with pytest.raises(ValueError, match="XYZ"):
        predict_counts(read_model(broken), new_tumours, n_resamples=0)
