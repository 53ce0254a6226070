"""What ``pssnmf predict`` adds so a user can judge a prediction: per-class signature
contributions, resampling intervals with an explicit "undetermined" call, and the genome/exome
scale of the model.

The model is the small real model of ``test_predict.py`` (Zou subclones + TCGA tumours); the
samples are real TCGA exomes it never saw and the 21 real breast cancer whole genomes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from pssnmf.channels import SBS96
from pssnmf.opportunity import opportunity_ratio, read_signatures, to_exome
from pssnmf.predict import predict_catalog, predict_counts, read_model, write_prediction
from test_predict import model_file, new_tumours, rewrite_model, tcga_counts  # noqa: F401 - shared fixtures


def test_contributions_table_adds_up_to_every_class_probability(model_file, new_tumours):  # noqa: F811
    model = read_model(model_file)
    prediction = predict_counts(model, new_tumours)
    contributions, table = prediction.contributions, prediction.table
    k, classes = model.signatures_.shape[0], prediction.classes
    assert len(contributions) == len(new_tumours) * len(classes) * k
    assert list(contributions.columns) == ["sample", "class", "signature", "exposure", "weight", "contribution",
                                           "predicted"]
    np.testing.assert_array_equal(contributions["contribution"],
                                  contributions["exposure"] * contributions["weight"])
    # Summed over signatures, a class's contributions are its logit: their softmax is the
    # table's probabilities (eq. 2), for every class, not only the predicted one.
    logits = contributions.pivot_table(index="sample", columns="class", values="contribution", aggfunc="sum",
                                       sort=False).loc[table["sample"], classes].to_numpy()
    probability = table[[f"probability_{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(softmax(logits, axis=1), probability, rtol=1e-10, atol=1e-12)
    # The weights are the model's W, the exposures the table's.
    first = contributions[contributions["sample"] == table["sample"].iloc[0]]
    np.testing.assert_allclose(first["weight"].to_numpy().reshape(len(classes), k), model.weights_.T)
    np.testing.assert_allclose(first["exposure"].to_numpy()[:k],
                               table.iloc[0][[c for c in table.columns if c.startswith("exposure_")]].to_numpy(float))
    # "predicted" marks the predicted class's rows, whose contributions are the table's contribution_ columns.
    marked = contributions[contributions["predicted"]]
    assert len(marked) == len(table) * k
    assert list(marked.groupby("sample", sort=False)["class"].first()) == list(table["predicted"])
    np.testing.assert_allclose(marked["contribution"].to_numpy().reshape(len(table), k),
                               table[[c for c in table.columns if c.startswith("contribution_")]].to_numpy(float))


def test_intervals_are_wider_with_fewer_mutations_and_the_call_follows_the_rule(model_file, data_dir):  # noqa: F811
    """The same real tumours, subsampled to 20 and to 2,000 mutations: the few-mutation versions
    get wider intervals, lower agreement, and are all undetermined; the rich ones mostly not."""
    model = read_model(model_file)
    tumours = tcga_counts(data_dir)
    rich = tumours[tumours.sum(axis=1) >= 5000].iloc[:30]
    rng = np.random.default_rng(3)
    thin = {n: pd.DataFrame([rng.multinomial(n, row / row.sum()) for row in rich.to_numpy(float)],
                            index=rich.index, columns=list(SBS96)) for n in (20, 2000)}
    few = predict_counts(model, thin[20]).table
    many = predict_counts(model, thin[2000]).table
    # 20 mutations are too few, and their noise can also put a profile out of distribution.
    assert (few["call"] == "undetermined").all()
    assert set(few["undetermined_reason"]) <= {"few mutations", "few mutations; out of distribution"}
    assert few["interval_width"].mean() > many["interval_width"].mean() + 0.2
    assert (few["interval_width"] >= many["interval_width"] - 0.05).all()
    assert few["agreement"].mean() < many["agreement"].mean()
    assert (many["call"] != "undetermined").sum() >= len(many) // 2
    # A looser width threshold can only determine more samples; the class never changes.
    loose = predict_counts(model, thin[2000], max_interval_width=1.0).table
    assert (loose["call"] == loose["predicted"].where(~loose["ood"], "undetermined")).all()
    assert list(loose["predicted"]) == list(many["predicted"])


def test_intervals_are_seeded_and_can_be_switched_off(model_file, new_tumours):  # noqa: F811
    model = read_model(model_file)
    few = new_tumours.iloc[:8]
    a = predict_counts(model, few, random_state=5).table
    pd.testing.assert_frame_equal(a, predict_counts(model, few, random_state=5).table)
    b = predict_counts(model, few, random_state=6).table
    assert not np.array_equal(a["interval_lower"], b["interval_lower"])
    off = predict_counts(model, few, n_resamples=0).table
    assert off[["agreement", "interval_lower", "interval_upper", "interval_width"]].isna().all().all()
    low = few.sum(axis=1).to_numpy() < 50
    assert list(off["call"]) == ["undetermined" if x else c for x, c in zip(low, off["predicted"])]
    for bad in (1, -2, 2.5):
        with pytest.raises(ValueError, match="n_resamples"):
            predict_counts(model, few, n_resamples=bad)
    with pytest.raises(ValueError, match="max_interval_width"):
        predict_counts(model, few, max_interval_width=0)


@pytest.fixture(scope="module")
def cosmic_ratio(data_dir) -> pd.Series:
    return opportunity_ratio(read_signatures(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37.txt"),
                             read_signatures(data_dir / "cosmic" / "COSMIC_v3.4_SBS_GRCh37_exome.txt"))


@pytest.fixture(scope="module")
def exome_model_file(model_file, cosmic_ratio, tmp_path_factory):  # noqa: F811
    """The same model, its file saying it was trained at exome scale (as the workflow writes it)."""
    opportunity = {"target_scale": "exome", "ratio": cosmic_ratio.tolist(),
                   "source_scales": {"cell_line": "genome", "tumour": "exome"}}
    return rewrite_model(model_file, tmp_path_factory.mktemp("exome") / "exome.npz",
                         lambda info: info["metadata"].update(opportunity=opportunity))


def test_an_exome_scale_model_converts_whole_genomes(exome_model_file, model_file, cosmic_ratio,  # noqa: F811
                                                     data_dir):
    genomes_file = data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt"
    genomes = pd.read_csv(genomes_file, sep="\t", index_col=0).T[list(SBS96)]
    exome_model = read_model(exome_model_file)
    # The scale must be said.
    with pytest.raises(ValueError, match="trained on exome-scale profiles.*--scale genome"):
        predict_counts(exome_model, genomes)
    as_genomes = predict_counts(exome_model, genomes, scale="genome", n_resamples=20).table
    as_exomes = predict_counts(exome_model, genomes, scale="exome", n_resamples=20).table
    # Genomes go through the ratio first: the same numbers as the model on converted profiles.
    converted = to_exome(genomes.to_numpy(float), cosmic_ratio)
    probability = as_genomes[[c for c in as_genomes.columns if c.startswith("probability_")]].to_numpy()
    np.testing.assert_allclose(probability, exome_model.predict_proba(converted), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(as_exomes[[c for c in as_exomes.columns if c.startswith("probability_")]],
                               exome_model.predict_proba(genomes.to_numpy(float)), rtol=1e-10, atol=1e-12)
    # ... and the conversion matters on real genomes (CpG channels weigh ~3x more in exomes).
    assert np.abs(probability - as_exomes[[c for c in as_exomes.columns
                                           if c.startswith("probability_")]].to_numpy()).max() > 0.01
    assert list(as_genomes["mutations"]) == list(genomes.sum(axis=1))  # the real counts, not converted
    # A model trained without conversion ignores the scale.
    plain = read_model(model_file)
    pd.testing.assert_frame_equal(predict_counts(plain, genomes, scale="genome", n_resamples=20).table,
                                  predict_counts(plain, genomes, n_resamples=20).table)


def test_command_scale_and_interval_options(exome_model_file, data_dir, tmp_path):
    from test_cli_predict import run_predict

    catalog = data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt"
    refused = run_predict("--model", exome_model_file, "--catalog", catalog, "--out", tmp_path / "no")
    assert refused.returncode == 2 and "--scale genome|exome" in refused.stderr
    assert not (tmp_path / "no").exists()
    out = tmp_path / "out"
    result = run_predict("--model", exome_model_file, "--catalog", catalog, "--out", out, "--scale", "genome",
                         "--resamples", "30", "--max-interval-width", "0.3", "--seed", "2")
    assert result.returncode == 0, result.stderr
    assert "genome-scale profiles converted to exome scale" in result.stderr
    table = pd.read_csv(out / "predictions.tsv", sep="\t", keep_default_na=False)
    library = predict_catalog(exome_model_file, catalog, None, scale="genome", n_resamples=30,
                              max_interval_width=0.3, random_state=2).table
    assert list(table["call"]) == list(library["call"])
    np.testing.assert_allclose(table["interval_width"], library["interval_width"], rtol=1e-7, atol=1e-8)
    contributions = pd.read_csv(out / "contributions.tsv", sep="\t")
    assert len(contributions) == len(library) * len(read_model(exome_model_file).classes_) * 5
    bad = run_predict("--model", exome_model_file, "--catalog", catalog, "--out", tmp_path / "bad",
                      "--scale", "genome", "--level", "1.5")
    assert bad.returncode == 2 and "level must be in (0, 1)" in bad.stderr


def test_plots_show_contributions(model_file, new_tumours, tmp_path):  # noqa: F811
    import matplotlib.image

    model = read_model(model_file)
    few = new_tumours.iloc[:2]
    write_prediction(predict_counts(model, few, n_resamples=20), few, tmp_path / "out", plots=True)
    image = matplotlib.image.imread(tmp_path / "out" / "plots" / f"{few.index[0]}.png")
    # Four panels (profile, exposures, contributions, probabilities): wider than the three-panel figure.
    assert image.shape[1] >= 1250, image.shape
