"""Genome/exome opportunity ratio derived from COSMIC's two signature files, and the conversions."""

import numpy as np
import pandas as pd
import pytest

from pssnmf.catalog import read_catalog
from pssnmf.channels import SBS96
from pssnmf.opportunity import (
    convert_scale,
    harmonise,
    opportunity_ratio,
    opportunity_ratio_from_counts,
    read_signatures,
    to_exome,
    to_genome,
    trinucleotide_opportunity,
)


@pytest.fixture(scope="module")
def cosmic(data_dir):
    folder = data_dir / "cosmic"
    genome = read_signatures(folder / "COSMIC_v3.4_SBS_GRCh37.txt")
    exome = read_signatures(folder / "COSMIC_v3.4_SBS_GRCh37_exome.txt")
    assert list(genome.index) == list(exome.index), "the two COSMIC files list different signatures"
    return genome, exome


def _cosine(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_ratio_is_positive_finite_and_consistent_across_signatures(cosmic):
    genome, exome = cosmic
    ratio, residuals = opportunity_ratio(genome, exome, return_residuals=True)
    assert list(ratio.index) == list(SBS96)
    assert np.isfinite(ratio).all() and (ratio > 0).all()
    # How consistent the per-channel ratio is across the 86 signatures: each signature's own
    # log ratio departs from the common one by at most this much (reported in docs/beyond.md).
    worst = float(np.nanmax(np.abs(residuals.to_numpy())))
    assert worst < 1e-6, f"a signature's ratio departs from the common one by {worst:.3g} in log"
    # Nothing told the estimate that the 3 substitutions of one trinucleotide share an opportunity;
    # it must find that out from the data.
    by_context = ratio.groupby([label[0] + label[2] + label[6] for label in SBS96]).agg(["min", "max"])
    spread = float((np.log(by_context["max"]) - np.log(by_context["min"])).max())
    assert spread < 1e-6, f"channels of one trinucleotide context differ by {spread:.3g} in log ratio"
    # Exomes are CpG rich: the genome/exome ratio is lowest for the CpG contexts (xCG).
    cpg = [label for label in SBS96 if label[2] == "C" and label[6] == "G"]
    assert ratio[cpg].max() < ratio.drop(cpg).min(), "CpG channels should have the lowest genome/exome ratio"


def test_genome_signatures_converted_to_exome_match_the_published_exome_versions(cosmic):
    # Fit the ratio on half the signatures; check the conversion on the other half (held out).
    genome, exome = cosmic
    fit, held_out = genome.index[::2], genome.index[1::2]
    ratio = opportunity_ratio(genome.loc[fit], exome.loc[fit])
    converted = to_exome(genome.loc[held_out], ratio)
    after = _cosine(converted, exome.loc[held_out])
    before = _cosine(genome.loc[held_out], exome.loc[held_out])
    assert after.min() >= 0.99, f"cosine after conversion {after.min():.4f} for {held_out[np.argmin(after)]}"
    assert before.min() < 0.95, "the test is only meaningful where the raw genome and exome profiles differ"
    back = to_genome(exome.loc[held_out], ratio)
    assert _cosine(back, genome.loc[held_out]).min() >= 0.99


def test_round_trip_keeps_counts_and_totals(data_dir, cosmic):
    genome, exome = cosmic
    ratio = opportunity_ratio(genome, exome)
    counts = read_catalog(data_dir / "example_wgs" / "Samples_SBS96_21_breast.txt").astype(float)
    as_exome = to_exome(counts, ratio)
    assert isinstance(as_exome, pd.DataFrame) and list(as_exome.index) == list(counts.index)
    np.testing.assert_allclose(as_exome.sum(axis=1), counts.sum(axis=1), rtol=1e-12)
    assert not np.allclose(as_exome.to_numpy(), counts.to_numpy()), "conversion changed nothing"
    np.testing.assert_allclose(to_genome(as_exome, ratio).to_numpy(), counts.to_numpy(), rtol=1e-10, atol=1e-9)
    # proportions stay proportions; one row works as a vector
    proportions = counts.to_numpy()[0] / counts.to_numpy()[0].sum()
    np.testing.assert_allclose(to_exome(proportions, ratio).sum(), 1.0)
    np.testing.assert_allclose(convert_scale(proportions, "genome", "genome", ratio), proportions)


def test_harmonise_converts_only_the_rows_of_the_other_scale(cosmic):
    genome, exome = cosmic
    ratio = opportunity_ratio(genome, exome)
    rows = np.vstack([genome.loc["SBS1"], exome.loc["SBS1"]])
    out = harmonise(rows, ["genome", "exome"], "exome", ratio)
    np.testing.assert_allclose(out[1], rows[1])
    np.testing.assert_allclose(out[0], exome.loc["SBS1"], atol=1e-7)
    with pytest.raises(ValueError, match="unknown scales"):
        harmonise(rows, ["genome", "panel"], "exome", ratio)


def test_bad_ratio_and_disjoint_signatures_are_errors(cosmic):
    genome, exome = cosmic
    ratio = opportunity_ratio(genome, exome)
    with pytest.raises(ValueError, match="96 positive finite"):
        to_exome(genome, ratio.iloc[:95].to_numpy())
    with pytest.raises(ValueError, match="share no signature"):
        opportunity_ratio(genome.iloc[:3], exome.iloc[3:6])


def test_trinucleotide_counts_from_a_fasta_and_bed(tmp_path):
    # Full-scale path: opportunities counted in a reference and in BED intervals.
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\nACGTTGCA\nNNACG\n>chr2\nCCA\n")
    genome = trinucleotide_opportunity(fasta)
    # chr1 ACGTTGCANNACG: ACG CGT GTT TTG TGC GCA ACG (CAN ANN NNA NAC hold N: skipped); chr2: CCA.
    # A purine centre counts as its reverse complement: CGT -> ACG, TGC -> GCA.
    expected = {"ACG": 3, "GTT": 1, "TTG": 1, "GCA": 2, "CCA": 1}
    for context, n in expected.items():
        channel = next(label for label in SBS96 if label[0] + label[2] + label[6] == context)
        assert genome[channel] == n, f"{context}: counted {genome[channel]}, expected {n}"
    assert genome.sum() == 3 * 8, "every counted trinucleotide appears in its 3 channels"
    bed = tmp_path / "exome.bed"
    bed.write_text("chr1\t1\t3\nchr1\t2\t4\n")  # merged: centres at 1, 2, 3 -> ACG, CGT, GTT
    exome = trinucleotide_opportunity(fasta, bed)
    assert exome.sum() == 3 * 3
    channel = next(label for label in SBS96 if label[0] + label[2] + label[6] == "ACG")
    assert exome[channel] == 2
    with pytest.raises(ValueError, match="positive and finite"):
        opportunity_ratio_from_counts(genome, exome)  # most contexts are absent from the exome


# ---- the protocol's option (experiment.opportunity) -------------------------------------------

def test_opportunity_option_converts_by_source_and_round_trips_through_a_file(cosmic, tmp_path):
    from pssnmf.opportunity import Opportunity, main, read_ratio

    genome, exome = cosmic
    folder = tmp_path / "cosmic"
    folder.mkdir()
    for name, frame in (("g.txt", genome), ("e.txt", exome)):
        frame.T.rename_axis("Type").to_csv(folder / name, sep="\t")
    assert main(["--genome", str(folder / "g.txt"), "--exome", str(folder / "e.txt"),
                 "--out", str(tmp_path / "ratio.tsv")]) == 0
    ratio = read_ratio(tmp_path / "ratio.tsv")
    np.testing.assert_allclose(ratio, opportunity_ratio(genome, exome), rtol=1e-15)
    option = Opportunity("exome", tuple(ratio), (("cell_line", "genome"), ("tumour", "exome")))
    # The published genome signatures, as "cell lines", become the published exome ones;
    # the exome signatures, as "tumours", stay as they are.
    rows = np.vstack([genome.to_numpy(), exome.to_numpy()])
    out = option.apply(rows, ["cell_line"] * len(genome) + ["tumour"] * len(exome))
    assert _cosine(out[: len(genome)], exome.to_numpy()).min() > 0.99999
    np.testing.assert_array_equal(out[len(genome):], exome.to_numpy())
    with pytest.raises(ValueError, match="no scale given for source"):
        option.apply(rows[:1], ["organoid"])
    assert option.metadata()["source_scales"] == {"cell_line": "genome", "tumour": "exome"}


def test_ratio_file_errors_name_the_file(tmp_path):
    from pssnmf.opportunity import read_ratio

    bad = tmp_path / "ratio.tsv"
    bad.write_text("channel\tgenome_over_exome\n" + "".join(f"{c}\t1\n" for c in SBS96[:95]))
    with pytest.raises(ValueError, match="ratio.tsv: column channel must list the 96"):
        read_ratio(bad)
    bad.write_text("channel\tgenome_over_exome\n" + "".join(f"{c}\t{-1 if i == 3 else 1}\n"
                                                             for i, c in enumerate(SBS96)))
    with pytest.raises(ValueError, match="ratio.tsv: ratio must hold 96 positive"):
        read_ratio(bad)


def test_opportunity_comparison_by_hand():
    """Two replicates of four test tumours and two cell lines, predicted at both scales."""
    from pssnmf.metrics import macro_f1
    from pssnmf.tables import opportunity_comparison

    truth = ["MMR", "HR", "BER", "MMR"]
    none = {0: ["MMR", "MMR", "BER", "HR"], 1: ["MMR", "HR", "HR", "HR"]}
    exome = {0: ["MMR", "HR", "BER", "HR"], 1: ["MMR", "HR", "HR", "HR"]}

    def frame(predicted):
        rows = []
        for r, labels in predicted.items():
            rows += [{"task": "ddrd", "split_mode": "grouped", "proportion": 0.5, "model": "S-NMF", "fold": "test",
                      "replicate": r, "row_id": f"t{i}", "source": "tumour", "truth": t, "predicted": p}
                     for i, (t, p) in enumerate(zip(truth, labels))]
            rows += [{"task": "ddrd", "split_mode": "grouped", "proportion": 0.5, "model": "S-NMF", "fold": "test",
                      "replicate": r, "row_id": f"c{i}", "source": "cell_line", "truth": "HR", "predicted": "HR"}
                     for i in range(2)]
        return pd.DataFrame(rows)

    table = opportunity_comparison({"none": frame(none), "exome": frame(exome)}, n_boot=200, seed=1)
    tcga = table[table["source"] == "TCGA"].iloc[0]
    f1_none = np.mean([macro_f1(truth, none[r]) for r in (0, 1)])
    f1_exome = np.mean([macro_f1(truth, exome[r]) for r in (0, 1)])
    assert tcga["f1_none"] == pytest.approx(f1_none) and tcga["f1_exome"] == pytest.approx(f1_exome)
    assert tcga["f1_change"] == pytest.approx(f1_exome - f1_none) and f1_exome > f1_none
    assert tcga["predictions_changed"] == 0.5  # one sample changed in replicate 0, none in 1
    assert tcga["f1_change_low"] <= tcga["f1_change"] <= tcga["f1_change_high"]
    cells = table[table["source"] == "cell lines"].iloc[0]
    assert cells["f1_change"] == 0 and cells["f1_change_low"] == 0 == cells["f1_change_high"]
    # A test sample predicted at one scale only means the runs do not match.
    with pytest.raises(ValueError, match="not predicted at both scales"):
        opportunity_comparison({"none": frame(none), "exome": frame(exome).iloc[1:]}, n_boot=10)


def test_the_conversion_a_model_records_is_read_back_and_applied_by_one_wrapper(cosmic):
    """``Opportunity.metadata`` / ``from_metadata`` round-trip, and ``AtModelScale`` (predict and the
    figures' one wrapper) converts rows as the fits did before the model sees them."""
    from pssnmf.opportunity import AtModelScale, Opportunity

    genome, exome = cosmic
    option = Opportunity("exome", tuple(opportunity_ratio(genome, exome)), (("cell_line", "genome"),
                                                                             ("tumour", "exome")))
    assert Opportunity.from_metadata(option.metadata()) == option
    assert Opportunity.from_metadata(None) is None and Opportunity.from_metadata({"target_scale": None}) is None
    with pytest.raises(ValueError, match="opportunity target_scale 'panel'"):
        Opportunity.from_metadata({"target_scale": "panel", "ratio": list(option.ratio)})
    with pytest.raises(ValueError, match="ratio must hold 96 positive numbers"):
        Opportunity.from_metadata({"target_scale": "exome", "ratio": [1.0] * 95})

    class Echo:  # a "model" whose probabilities are the rows it is given
        classes_ = np.array([1, 2])

        def predict_proba(self, X):
            return X

    rows = genome.to_numpy()
    cells = AtModelScale.for_source(Echo(), option, "cell_line")
    np.testing.assert_array_equal(cells.predict_proba(rows), option.apply(rows, ["cell_line"] * len(rows)))
    # harmonise (per source) and convert_scale (one scale for all rows) round differently, by 1e-15
    np.testing.assert_allclose(cells.predict_proba(rows), option.from_scale(rows, "genome"), rtol=1e-12)
    np.testing.assert_array_equal(AtModelScale.for_source(Echo(), option, "tumour").predict_proba(rows), rows)
    np.testing.assert_array_equal(AtModelScale.for_source(Echo(), None, "cell_line").predict_proba(rows), rows)
    assert cells.classes_.tolist() == ["1", "2"]
