"""Apply a trained model to new tumours: DDRd (or cancer type) probabilities and exposures.

The library entry points are :func:`predict_catalog` (an SBS96 catalog file),
:func:`predict_maf` (a MAF, through :func:`pssnmf.data.maf.convert_maf`), :func:`predict_vcf`
(VCFs, through :func:`pssnmf.data.vcf.convert_vcf`) and :func:`predict_counts` (an in-memory
count table); ``pssnmf predict`` is the first three on the command line.  A model is one
portable ``.npz`` file written by :func:`pssnmf.model.save_model` (arrays plus JSON metadata,
never a pickle).

What a prediction is (section 2.1, "Testing"): the sample's exposures are found by
non-negative least squares with the model's consensus signatures fixed, on the sample's
mutation proportions; its class probabilities are softmax(E W) (eq. 2); the predicted
class is the most probable one.

Output, ``OUT/predictions.tsv`` (one row per sample, in the catalog's order):

``sample``
    the sample ID from the catalog.
``predicted``
    the class of highest probability (for the DDRd model: MMR, BER, HR or Control).
``max_probability``
    that class's probability.
``probability_<class>``
    softmax(E W) for each class of the model; they sum to 1.
``exposure_<signature>``
    the sample's exposure to each learned signature, on the scale of its proportions:
    every signature sums to 1 over the 96 channels, so an exposure is about the share of
    the sample's mutations that signature explains (times ``mutations`` for a count).
``contribution_<signature>``
    exposure × weight of that signature for the predicted class: its share of the predicted
    class's logit (eq. 2, ``E W``), so a reader sees which signatures carry the prediction.
``reconstruction_cosine``
    cosine similarity between the sample's SBS96 proportions and the reconstruction
    ``sum_k exposure_k * signature_k``: how well the model's signatures explain the sample.
    A low value means the sample carries a process the model never saw (``ood``).
``mutations``
    the sample's number of single-base substitutions (the sum of its 96 counts).
``low_count``
    ``True`` when ``mutations < min_mutations`` (:data:`MIN_MUTATIONS`, 50 by default).
``ood``
    ``True`` when the sample is out of distribution: its ``reconstruction_cosine`` is below the
    model's threshold, the 5th percentile of that cosine over the model's unlabelled training
    samples (its tumours; all its training samples where it has none), recorded in the model
    file at training (:mod:`pssnmf.model.reconstruction`).  Empty for a model file that holds no
    threshold (format version 1), with a warning.
``ood_reason``
    for an ``ood`` sample, its cosine, the threshold and what it is the percentile of, e.g.
    ``reconstruction cosine 0.412 < 0.588, the 5th percentile of the model's 400 unlabelled
    training samples``; empty otherwise (or why there is no threshold).
``call``
    the predicted class, or ``undetermined`` when the prediction cannot be trusted: fewer than
    ``min_mutations`` substitutions, a 90 % interval of the predicted class's probability wider
    than ``max_interval_width`` (:data:`MAX_INTERVAL_WIDTH`, 0.5), or out of distribution.
    ``predicted`` is never changed.
``undetermined_reason``
    ``few mutations`` or ``wide interval``, and ``out of distribution``, joined by ``; `` where
    both hold (``few mutations; out of distribution``); empty for a sample that got its class.
``agreement``
    the fraction of the multinomial resamples of the sample's own counts
    (:func:`pssnmf.uncertainty.prediction_intervals`, ``n_resamples``, 200 by default, through the
    fixed model) whose predicted class is ``predicted``.
``interval_lower``, ``interval_upper``, ``interval_width``
    the percentile interval (``level``, 90 % by default) of the predicted class's probability over
    those resamples: how far the sampling noise of this many mutations moves it.
``lower_<class>``, ``upper_<class>``
    the same interval for every class.

With ``n_resamples=0`` no resampling is done: the interval columns and ``agreement`` are empty
and ``call`` follows the count alone.

A second table, ``OUT/contributions.tsv``, holds every signature's contribution to every class:
one row per (sample, class, signature) with ``exposure``, ``weight`` (W of eq. 2) and
``contribution = exposure x weight``; a class's contributions add up to its logit (softmax of
the logits gives the ``probability_<class>`` columns); ``predicted`` marks the predicted class.

From a MAF or VCF, ``per_mutation=True`` (``--per-mutation``) adds ``OUT/per_mutation.tsv``: one
row per single-base substitution placed in an SBS96 channel, ``sample, chromosome, position,
ref, alt`` (as the file gives them: ``ref``/``alt`` on the plus strand, 1-based position),
``channel`` (COSMIC's pyrimidine orientation), then one column per signature: the probability
that the signature generated it (:func:`per_mutation_table`).

Genome or exome: a model trained with ``experiment.opportunity: exome`` saw every profile at
exome scale (whole-genome cell lines converted by the COSMIC genome/exome opportunity ratio,
:mod:`pssnmf.opportunity`); its file records that scale and the ratio.  The user then says what
the catalog is (``scale="genome"`` or ``"exome"``): whole genomes are converted the same way
before anything else.  A model trained without conversion (the paper's protocol, the default)
takes catalogs as they are.

Nothing is written unless every step succeeded (see :func:`write_prediction`).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pssnmf import uncertainty as uncertainty_lib
from pssnmf.catalog import MAX_COUNT
from pssnmf.channels import CHANNEL_INDEX, SBS96, normalize_channel
from pssnmf.data.atomic import write_table
from pssnmf.model.reconstruction import reconstruction_cosine
from pssnmf.opportunity import SCALES, AtModelScale, Opportunity

log = logging.getLogger(__name__)

N_RESAMPLES = uncertainty_lib.DEFAULT_RESAMPLES
LEVEL = uncertainty_lib.DEFAULT_LEVEL
MAX_INTERVAL_WIDTH = uncertainty_lib.DEFAULT_MAX_INTERVAL_WIDTH
OUT_OF_DISTRIBUTION = "out of distribution"
"""The ``undetermined_reason`` of a sample that is ``ood``."""
NO_OOD_THRESHOLD = ("no out-of-distribution threshold in the model file (trained before pssnmf recorded one, "
                    "format version 1); retrain the model to get one")

MIN_MUTATIONS = 50
"""Default count below which a sample is flagged ``low_count``.

Fifty substitutions spread over 96 channels leave most channels at zero or one
mutation: the multinomial noise of such a profile is of the size of the differences
between signatures, so neither its exposures nor its class are to be trusted.  (Zou's
knockout subclones, the labelled DDRd samples, carry hundreds; many TCGA exomes carry
fewer than 50.)  The threshold is a parameter (``--min-mutations``); the flag never
changes the predicted class, it tells the reader how far to trust it.
"""


@dataclass
class Prediction:
    """What the ``predict_*`` functions return: one row per sample in ``table``."""

    table: pd.DataFrame
    classes: list[str]
    signature_names: list[str]
    contributions: pd.DataFrame | None = None
    mutations: pd.DataFrame | None = None
    """``per_mutation.tsv``: one row per substitution (:func:`per_mutation_table`), or None."""


# ---------------------------------------------------------------------------- the model
def read_model(path: str | os.PathLike):
    """Load a model file for prediction (:func:`pssnmf.model.load_model` with ``estimator=False``:
    a :class:`pssnmf.model.fitted.FittedModel`, without importing scikit-learn), after checking the path.

    Every problem (missing, truncated or corrupt file, another format version, another
    channel set) is a ValueError (FileNotFoundError when absent) naming the file.
    """
    from pssnmf.model import load_model

    path = _check_model_path(path)
    try:
        model = load_model(path, estimator=False)
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        # load_model checks format, version and channels; a metadata dict that passes those
        # checks but lacks an entry would otherwise surface as a bare KeyError.
        raise ValueError(f"{path}: corrupt model metadata ({type(err).__name__}: {err})") from None
    return model


def _check_model_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a model file" if path.is_dir() else "no such model file"
        raise FileNotFoundError(f"{path}: {what}; expected a .npz written by the workflow "
                                "or pssnmf.model.save_model")
    return path


def signature_names(model) -> list[str]:
    """The names of the model's signatures (``S1`` ... when the model has none)."""
    names = getattr(model, "signature_names_", None)
    k = model.signatures_.shape[0]
    if names is None or len(names) != k:
        return [f"S{i + 1}" for i in range(k)]
    return [str(n) for n in names]


def _column_name(name: str) -> str:
    """A signature or class name as part of a column header: no whitespace."""
    return "_".join(str(name).split())


# ---------------------------------------------------------------------------- predicting
def _checked_counts(counts: pd.DataFrame, source: str) -> pd.DataFrame:
    """``counts`` with its columns in COSMIC order, or a ValueError naming sample and channel."""
    try:
        channels = [normalize_channel(c) for c in counts.columns]
    except ValueError as err:
        raise ValueError(f"{source}: a column is not an SBS96 channel ({err}); expected the 96 "
                         "channels as columns") from None
    if sorted(channels) != sorted(SBS96) or len(channels) != len(SBS96):
        raise ValueError(f"{source}: {len(set(channels))} distinct SBS96 channels as columns; expected each of "
                         "the 96 once")
    counts = counts.set_axis(channels, axis=1)[list(SBS96)]
    if len(counts) == 0:
        raise ValueError(f"{source}: no samples; expected at least one")
    if counts.index.duplicated().any():
        duplicated = [str(s) for s in counts.index[counts.index.duplicated()]]
        raise ValueError(f"{source}: sample ID(s) {', '.join(duplicated[:5])} appear more than once; "
                         "expected unique sample IDs")
    try:
        values = counts.to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: counts must be numbers ({err})") from None
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values)) | (values >= MAX_COUNT)
    if bad.any():
        i, j = (int(v[0]) for v in np.nonzero(bad))
        raise ValueError(f"{source}: sample {counts.index[i]!r}, channel {SBS96[j]}: {values[i, j]!r}; "
                         "expected a non-negative whole number of mutations below 2^53")
    empty = values.sum(axis=1) == 0
    if empty.any():
        raise ValueError(f"{source}: sample {counts.index[np.flatnonzero(empty)[0]]!r} has no mutations; "
                         "its profile is undefined")
    return counts


def _check_scale(model, scale: str | None, source: str) -> AtModelScale:
    if scale is not None and scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES} (what the catalog's samples are); got {scale!r}")
    opportunity = Opportunity.from_metadata((getattr(model, "metadata_", None) or {}).get("opportunity"))
    if opportunity is None:
        if scale is not None:
            log.info("the model was trained without genome/exome conversion (experiment.opportunity: none); "
                     "%s is used as it is (scale %s changes nothing)", source, scale)
        return AtModelScale(model)
    target = opportunity.target_scale
    if scale is None:
        raise ValueError(f"the model was trained on {target}-scale profiles (experiment.opportunity: {target}); "
                         f"say what {source} holds: scale 'genome' (whole genomes, converted to {target} "
                         "scale first) or 'exome' (--scale genome|exome)")
    if scale == target:
        return AtModelScale(model)
    log.info("%s: %s-scale profiles converted to %s scale by the model's opportunity ratio", source, scale, target)
    return AtModelScale(model, lambda values: opportunity.from_scale(values, scale))


def predict_counts(model, counts: pd.DataFrame, min_mutations: int = MIN_MUTATIONS,
                   source: str = "counts", *, scale: str | None = None, n_resamples: int = N_RESAMPLES,
                   level: float = LEVEL, max_interval_width: float = MAX_INTERVAL_WIDTH,
                   random_state: int = 0) -> Prediction:
    """Predict every sample of an SBS96 count table.

    counts : (n_samples, 96) whole-number mutation counts, samples as rows (index = sample
        IDs), one column per SBS96 channel (any spelling ``normalize_channel`` accepts).
    model : a fitted :class:`pssnmf.model.IntegratedNMF` (e.g. from :func:`read_model`).
    min_mutations : samples with fewer substitutions are flagged ``low_count`` and called
        ``undetermined``.
    scale : ``"genome"`` or ``"exome"``, what the samples are; needed only for a model trained
        at exome scale (see the module docstring), ignored (logged) otherwise.
    n_resamples, level, max_interval_width, random_state : the per-sample intervals and the
        ``undetermined`` rule (:func:`pssnmf.uncertainty.prediction_intervals`); the same
        ``random_state`` gives the same table bit for bit.  ``n_resamples=0``: no intervals.

    All samples are solved together (batched NNLS), so 10,000 take well under a second (the
    resampling multiplies that by about ``n_resamples``).
    """
    if isinstance(min_mutations, bool) or not isinstance(min_mutations, (int, np.integer)) or min_mutations < 0:
        raise ValueError(f"min_mutations must be a whole number >= 0; got {min_mutations!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0 \
            or n_resamples == 1:
        raise ValueError(f"n_resamples must be 0 (no intervals) or a whole number >= 2; got {n_resamples!r}")
    counts = _checked_counts(counts, source)
    scaled_model = _check_scale(model, scale, source)
    values = counts.to_numpy(dtype=float)
    mutations = values.sum(axis=1)
    # On the model's scale: whole genomes converted for an exome-scale model, else unchanged.
    on_scale = scaled_model.convert(values)
    proportions = on_scale / on_scale.sum(axis=1, keepdims=True)
    # The model works on proportions (it divides each row by its sum, as here).
    exposures = np.asarray(model.transform(on_scale), dtype=float)  # (n, K), NNLS with S fixed
    proba = np.asarray(model.predict_proba(on_scale), dtype=float)  # (n, O), softmax(E W), eq. 2
    classes = [str(c) for c in model.classes_]
    names = signature_names(model)
    top = proba.argmax(axis=1)

    columns: dict[str, object] = {
        "sample": counts.index.astype(str),
        "predicted": np.asarray(classes, dtype=object)[top],
        "max_probability": proba.max(axis=1),
    }
    for j, c in enumerate(classes):
        columns[f"probability_{_column_name(c)}"] = proba[:, j]
    for k, n in enumerate(names):
        columns[f"exposure_{_column_name(n)}"] = exposures[:, k]
    # Per-signature contributions to the predicted class's logit (E W, eq. 2).
    weights = np.asarray(model.weights_, dtype=float)  # (K, O)
    predicted_weights = weights[:, top].T  # (n, K)
    for k, n in enumerate(names):
        columns[f"contribution_{_column_name(n)}"] = exposures[:, k] * predicted_weights[:, k]
    cosines = reconstruction_cosine(proportions, exposures, np.asarray(model.signatures_, dtype=float))
    columns["reconstruction_cosine"] = cosines
    columns["mutations"] = mutations.astype(np.int64)
    columns["low_count"] = mutations < min_mutations
    columns["ood"], columns["ood_reason"] = out_of_distribution(model, cosines)
    columns.update(screening_calls(model, proba, classes))
    columns.update(_uncertainty_columns(scaled_model, counts, classes, top, mutations, min_mutations, n_resamples,
                                        level, max_interval_width, random_state))
    # An empty ood (a model without a threshold) calls nothing undetermined.
    ood = pd.array(columns["ood"], dtype="boolean").fillna(False).to_numpy(dtype=bool)
    _undetermined_where(columns, ood, OUT_OF_DISTRIBUTION)
    table = pd.DataFrame(columns)
    if len(set(table.columns)) != len(table.columns):
        raise ValueError("the model's class or signature names collide as column names: "
                         f"classes {classes}, signatures {names}")
    return Prediction(table=table, classes=classes, signature_names=names,
                      contributions=contribution_table(table["sample"], exposures, weights, classes, names, top))


def screening_calls(model, proba: np.ndarray, classes: list[str]) -> dict[str, np.ndarray]:
    """``screen_<pathway>_fpr<target>`` columns: is the class's probability above the cut-off the
    workflow chose for that false-positive rate on proficient validation tumours
    (``metadata["screening"]``, docs/protocol.md, "Screening")?  None for a model without cut-offs."""
    screening = (getattr(model, "metadata_", None) or {}).get("screening")
    if screening is None:
        return {}
    try:
        cutoffs = {str(tag): {str(k): float(v) for k, v in by_class.items()}
                   for tag, by_class in screening["cutoffs"]["probability"].items()}
    except (KeyError, TypeError, AttributeError, ValueError):
        raise ValueError("the model's metadata 'screening' is not the workflow's (cutoffs -> probability -> "
                         "FPR -> pathway -> number)") from None
    out = {}
    for tag, by_class in cutoffs.items():
        for pathway, cut in by_class.items():
            if pathway not in classes:
                raise ValueError(f"the model's screening cut-off names class {pathway!r}, not one of {classes}")
            out[f"screen_{_column_name(pathway)}_fpr{tag}"] = proba[:, classes.index(pathway)] > cut
    return out


def out_of_distribution(model, cosines: np.ndarray) -> tuple[object, np.ndarray]:
    """``ood`` and ``ood_reason`` of each sample (module docstring): is its reconstruction cosine
    below the model's ``ood_threshold_``?

    cosines : (n,) the samples' reconstruction cosines.  Returns a (n,) bool array and (n,) texts;
    for a model without a threshold, (n,) empty booleans (``pd.NA``) and :data:`NO_OOD_THRESHOLD`,
    with one warning.
    """
    n = len(cosines)
    threshold = float(getattr(model, "ood_threshold_", float("nan")))
    if np.isnan(threshold):
        log.warning("%s: the ood column is empty and no sample is called undetermined for being out of "
                    "distribution", NO_OOD_THRESHOLD)
        return pd.array([pd.NA] * n, dtype="boolean"), np.full(n, NO_OOD_THRESHOLD, dtype=object)
    reference = model.ood_reference_
    what = (f"the {_ordinal(reference['percentile'])} percentile of the model's {reference['n']} "
            f"{reference['samples']} training samples")
    ood = cosines < threshold
    reasons = np.full(n, "", dtype=object)
    reasons[ood] = [f"reconstruction cosine {c:.3f} < {threshold:.3f}, {what}" for c in cosines[ood]]
    log.info("%d of %d samples out of distribution (reconstruction cosine below %.3f, %s)", int(ood.sum()), n,
             threshold, what)
    return ood, reasons


def _ordinal(percentile: float) -> str:
    """5 -> "5th", 1 -> "1st", 2.5 -> "2.5th"."""
    if float(percentile) != int(percentile):
        return f"{percentile:g}th"
    number = int(percentile)
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _undetermined_where(columns: dict, flagged: np.ndarray, reason: str) -> None:
    """``call`` becomes ``undetermined`` where ``flagged``, and ``reason`` joins its
    ``undetermined_reason`` (after the reason it may already have, with ``; ``)."""
    current = np.asarray(columns["undetermined_reason"], dtype=object)
    joined = np.where(current == "", reason, current + "; " + reason)
    columns["undetermined_reason"] = np.where(flagged, joined, current)
    columns["call"] = np.where(flagged, uncertainty_lib.UNDETERMINED, np.asarray(columns["call"], dtype=object))


def _uncertainty_columns(scaled_model, counts, classes, top, mutations, min_mutations, n_resamples, level,
                         max_interval_width, random_state) -> dict[str, object]:
    """``call``, ``undetermined_reason``, ``agreement`` and the intervals (module docstring)."""
    n = len(counts)
    few = mutations < min_mutations
    if n_resamples == 0:
        reason = np.where(few, "few mutations", "").astype(object)
        out = {"call": np.where(few, uncertainty_lib.UNDETERMINED, np.asarray(classes, dtype=object)[top]),
               "undetermined_reason": reason, "agreement": np.full(n, np.nan)}
        for name in ("interval_lower", "interval_upper", "interval_width"):
            out[name] = np.full(n, np.nan)
        for c in classes:
            out[f"lower_{_column_name(c)}"] = np.full(n, np.nan)
            out[f"upper_{_column_name(c)}"] = np.full(n, np.nan)
        return out
    # Every sample has >= 1 mutation (checked), so the library's "no mutations" never occurs and
    # a threshold of 0 is the same as 1.
    intervals = uncertainty_lib.prediction_intervals(
        scaled_model, counts.to_numpy(dtype=np.int64), n_resamples=int(n_resamples), level=level,
        min_mutations=max(1, int(min_mutations)), max_interval_width=max_interval_width,
        random_state=random_state)
    if not np.array_equal(intervals["predicted"].to_numpy(dtype=object), np.asarray(classes, dtype=object)[top]):
        raise RuntimeError("the resampling's point prediction differs from the table's")  # pragma: no cover
    out = {"call": intervals["call"].to_numpy(dtype=object),
           "undetermined_reason": intervals["reason"].to_numpy(dtype=object),
           "agreement": intervals["agreement"].to_numpy(dtype=float),
           "interval_lower": intervals["top_lower"].to_numpy(dtype=float),
           "interval_upper": intervals["top_upper"].to_numpy(dtype=float),
           "interval_width": intervals["top_interval_width"].to_numpy(dtype=float)}
    for c in classes:
        out[f"lower_{_column_name(c)}"] = intervals[f"lower_{c}"].to_numpy(dtype=float)
        out[f"upper_{_column_name(c)}"] = intervals[f"upper_{c}"].to_numpy(dtype=float)
    return out


def contribution_table(samples, exposures: np.ndarray, weights: np.ndarray, classes: list[str],
                       names: list[str], top: np.ndarray) -> pd.DataFrame:
    """Tidy (sample, class, signature) rows: exposure, weight, contribution = exposure x weight.

    exposures : (n, K); weights : (K, O) (W of eq. 2); top : (n,) index of the predicted class.
    Sample-major, then class, then signature, in the model's orders.
    """
    n, k = exposures.shape
    o = len(classes)
    sample_index = np.repeat(np.arange(n), o * k)
    class_index = np.tile(np.repeat(np.arange(o), k), n)
    signature_index = np.tile(np.arange(k), n * o)
    exposure = exposures[sample_index, signature_index]
    weight = weights[signature_index, class_index]
    return pd.DataFrame({
        "sample": np.asarray(samples, dtype=object)[sample_index],
        "class": np.asarray(classes, dtype=object)[class_index],
        "signature": np.asarray(names, dtype=object)[signature_index],
        "exposure": exposure, "weight": weight, "contribution": exposure * weight,
        "predicted": class_index == np.asarray(top)[sample_index],
    })


# ---------------------------------------------------------------------------- files
def catalog_layout(path: str | os.PathLike, samples: pd.Index) -> str:
    """How :func:`pssnmf.catalog.read_catalog` read ``path``: orientation and separator, in words.

    Decided from what was read: in the SigProfiler layout the header line holds the
    sample IDs, otherwise the samples are the rows.
    """
    with open(path, encoding="utf-8-sig") as handle:
        first = next((line.rstrip("\r\n") for line in handle if line.strip()), "")
    sep = "\t" if "\t" in first else ","
    header = [field.strip().strip('"') for field in first.split(sep)]
    names = [str(s) for s in samples]
    as_columns = header[1 : 1 + len(names)] == names
    layout = ("SigProfiler layout: 96 channel rows x samples as columns" if as_columns
              else "transposed: samples as rows x 96 channel columns")
    return f"{layout}, {'tab' if sep == chr(9) else 'comma'}-separated"


def predict_catalog(
    model_path: str | os.PathLike,
    catalog_path: str | os.PathLike,
    out_dir: str | os.PathLike | None,
    *,
    min_mutations: int = MIN_MUTATIONS,
    plots: bool = False,
    overwrite: bool = False,
    **options,
) -> Prediction:
    """Read a model and an SBS96 catalog; write ``predictions.tsv``, ``contributions.tsv`` (and
    plots) into ``out_dir``.

    The catalog is read by :func:`pssnmf.catalog.read_catalog` (SigProfiler layout or
    samples as rows, tab or comma separated; the layout found is logged).  ``out_dir=None``
    writes nothing and only returns the prediction; ``out_dir`` must be new or empty unless
    ``overwrite`` (:func:`check_out_dir`, checked before anything is read).  ``options``:
    ``scale``, ``n_resamples``, ``level``, ``max_interval_width``, ``random_state`` of
    :func:`predict_counts`.
    """
    from pssnmf.catalog import read_catalog

    if out_dir is not None:
        check_out_dir(out_dir, overwrite=overwrite)
    _check_model_path(model_path)
    # The catalog before the model: reading a catalog of thousands of samples takes about
    # as long as importing the model library, and a bad catalog is the likelier mistake.
    counts = read_catalog(catalog_path)
    log.info("catalog %s: %d samples (%s)", catalog_path, len(counts), catalog_layout(catalog_path, counts.index))
    model = read_model(model_path)
    _log_model(model_path, model)
    prediction = predict_counts(model, counts, min_mutations=min_mutations, source=str(catalog_path), **options)
    if out_dir is not None:
        write_prediction(prediction, counts, out_dir, plots=plots, overwrite=overwrite)
    return prediction


def predict_maf(
    model_path: str | os.PathLike,
    maf_path: str | os.PathLike,
    out_dir: str | os.PathLike | None,
    *,
    fasta: str | os.PathLike | None = None,
    min_mutations: int = MIN_MUTATIONS,
    plots: bool = False,
    overwrite: bool = False,
    per_mutation: bool = False,
    **options,
) -> Prediction:
    """As :func:`predict_catalog`, from a MAF: each sample's SBS96 counts by
    :func:`pssnmf.data.maf.convert_maf` (context from the MAF's ``CONTEXT`` column or
    from ``fasta``); samples are the ``Tumor_Sample_Barcode`` values.  ``per_mutation``:
    also ``per_mutation.tsv`` (:func:`per_mutation_table`)."""
    from pssnmf.data.maf import convert_maf

    return _predict_calls(
        model_path, out_dir, lambda: convert_maf(maf_path, fasta, mutations=per_mutation), source=str(maf_path),
        what="MAF", unit="rows",
        expected="expected a MAF of SNPs with a CONTEXT column or --fasta",
        min_mutations=min_mutations, plots=plots, overwrite=overwrite, per_mutation=per_mutation, **options)


def predict_vcf(
    model_path: str | os.PathLike,
    vcf_paths: str | os.PathLike | list[str | os.PathLike],
    out_dir: str | os.PathLike | None,
    *,
    fasta: str | os.PathLike,
    sample: str | None = None,
    all_filters: bool = False,
    min_mutations: int = MIN_MUTATIONS,
    plots: bool = False,
    overwrite: bool = False,
    per_mutation: bool = False,
    **options,
) -> Prediction:
    """As :func:`predict_catalog`, from one or more VCFs and the reference they were called on:
    each sample's SBS96 counts by :func:`pssnmf.data.vcf.convert_vcf`, whose docstring says which
    sample a variant counts for (``sample``: the one column to count, ``--vcf-sample``) and which
    lines count (FILTER ``PASS`` or ``.``, every line with ``all_filters``).  ``per_mutation``:
    also ``per_mutation.tsv`` (:func:`per_mutation_table`)."""
    from pssnmf.data.vcf import convert_vcf

    paths = [vcf_paths] if isinstance(vcf_paths, (str, os.PathLike)) else list(vcf_paths)
    return _predict_calls(
        model_path, out_dir,
        lambda: convert_vcf(paths, fasta, sample=sample, all_filters=all_filters, mutations=per_mutation),
        source=str(paths[0]) if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more", what="VCF",
        unit="ALT alleles",
        expected="expected single-base substitutions that pass the filters (--all-filters to count every line)"
                 + ("" if sample is None else f" in sample {sample}"),
        min_mutations=min_mutations, plots=plots, overwrite=overwrite, per_mutation=per_mutation, **options)


def _predict_calls(model_path, out_dir, convert, *, source: str, what: str, unit: str, expected: str,
                   min_mutations: int, plots: bool, overwrite: bool, per_mutation: bool, **options) -> Prediction:
    """What :func:`predict_maf` and :func:`predict_vcf` share: ``convert()`` (a
    :class:`pssnmf.data.substitutions.Conversion`) to counts, then predict and write."""
    if out_dir is not None:
        check_out_dir(out_dir, overwrite=overwrite)
    # The model first: converting a large file of calls takes minutes, loading a model seconds.
    model = read_model(model_path)
    _log_model(model_path, model)
    conversion = convert()
    counts = conversion.counts
    skipped = ", ".join(f"{n} {reason}" for reason, n in conversion.skipped.items() if n) or "none"
    log.info("%s %s: %d rows, %d samples with single-base substitutions (%s skipped: %s)",
             what, source, conversion.rows, len(counts), unit, skipped)
    if len(counts) == 0:
        raise ValueError(f"{source}: no single-base substitution could be placed in an SBS96 channel "
                         f"({unit} skipped: {skipped}); {expected}")
    prediction = predict_counts(model, counts, min_mutations=min_mutations, source=source, **options)
    if per_mutation:
        prediction.mutations = per_mutation_table(model, prediction, conversion.mutations)
    if out_dir is not None:
        write_prediction(prediction, counts, out_dir, plots=plots, overwrite=overwrite)
    return prediction


def per_mutation_table(model, prediction: Prediction, mutations: pd.DataFrame) -> pd.DataFrame:
    """``mutations`` (one row per substitution: sample, chromosome, position, ref, alt, channel)
    with one column per signature: the probability that the signature generated the mutation.

    For a mutation m of sample i in channel c (SigProfilerAssignment's per-mutation probability)::

        P(k | m) = E_ik W_kc / sum_j E_ij W_jc

    E : (n, K) the sample's exposures, those of ``predictions.tsv`` (NNLS on its proportions);
    W : (K, 96) ``model.signatures_``, the signatures those exposures multiply.  For a model
    trained at exome scale and whole-genome input, E and W are on the model's (exome) scale:
    the conversion multiplies channel c by one factor for every signature, which cancels in the
    ratio, so P(k | m) is the same on either scale (signatures converted to genome scale and
    renormalised would need their own exposures, not those of the table).

    So, for each sample i and signature k, summed over the sample's mutations::

        sum_m P(k | m) = sum_c n_ic E_ik W_kc / sum_j E_ij W_jc

    (n_ic the sample's counts): the sample's mutations shared among the signatures by how much
    of each channel each explains; summed over k it is the sample's ``mutations``.  A channel
    that no signature of non-zero exposure explains (sum_j E_ij W_jc = 0) has no such share:
    its mutations get empty probabilities, with a warning.
    """
    names = prediction.signature_names
    table = prediction.table
    exposures = table[[f"exposure_{_column_name(n)}" for n in names]].to_numpy(dtype=float)  # (n, K)
    signatures = np.asarray(model.signatures_, dtype=float)  # (K, 96)
    sample_row = pd.Index(table["sample"].astype(str)).get_indexer(mutations["sample"].astype(str))
    if (sample_row < 0).any():
        raise RuntimeError("a mutation's sample is not in the predictions")  # pragma: no cover - one conversion
    channel = np.array([CHANNEL_INDEX[c] for c in mutations["channel"]], dtype=np.intp)
    share = exposures[sample_row] * signatures[:, channel].T  # (M, K): E_ik W_kc of each mutation
    total = share.sum(axis=1, keepdims=True)
    probability = np.full_like(share, np.nan)
    np.divide(share, total, out=probability, where=total > 0)
    unexplained = int((total[:, 0] <= 0).sum())
    if unexplained:
        log.warning("%d of %d mutations are in a channel that no signature with a non-zero exposure explains; "
                    "their per-mutation probabilities are empty", unexplained, len(mutations))
    out = mutations.reset_index(drop=True).copy()
    columns = [_column_name(n) for n in names]
    if set(columns) & set(out.columns) or len(set(columns)) != len(columns):
        raise ValueError(f"the model's signature names collide as column names of per_mutation.tsv: {names}")
    for k, column in enumerate(columns):
        out[column] = probability[:, k]
    return out


def _log_model(path, model) -> None:
    log.info("model %s: %d signatures, classes %s (mode %s, trained with pssnmf %s)", path,
             model.signatures_.shape[0], ", ".join(str(c) for c in model.classes_), model.mode,
             getattr(model, "library_version_", "?"))
    screening = (getattr(model, "metadata_", None) or {}).get("screening")
    if isinstance(screening, dict) and isinstance(screening.get("cutoffs"), dict):
        log.info("model %s: screening cut-offs for false-positive rates %s, chosen on %s proficient validation "
                 "tumours (screen_* columns)", path, ", ".join(screening["cutoffs"].get("probability", {})),
                 screening.get("n_validation", "?"))


OUTPUT_NAMES = ("predictions.tsv", "contributions.tsv", "per_mutation.tsv", "plots")
"""What :func:`write_prediction` writes into ``out_dir`` (``per_mutation.tsv`` only with
per-mutation probabilities, ``plots`` only with ``plots=True``)."""

MAX_PLOT_NAME = 100
"""Longest plot file stem: sample IDs can be any length, file names cannot (255 bytes)."""


def check_out_dir(out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """``out_dir`` as a Path, or a ValueError saying why predictions may not be written there.

    A new or empty folder is always fine.  A folder holding anything (the user's files, or the
    outputs of an earlier run) is refused unless ``overwrite``: then the files named in
    :data:`OUTPUT_NAMES`, and in ``plots/`` the figures of this run's samples, are replaced,
    and nothing else is touched.
    """
    if str(out_dir).strip() == "":
        raise ValueError("the output folder is an empty name (--out ''); expected a folder to write "
                         "predictions.tsv into, e.g. --out predictions")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: not a folder; expected a new or empty folder for the predictions (--out)")
    if out.is_dir():
        if not overwrite:
            present = sorted(p.name for p in out.iterdir())
            if present:
                listed = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
                raise ValueError(
                    f"{out}: the output folder is not empty ({listed}); expected a new or empty folder, or "
                    "--overwrite (overwrite=True) to replace predictions.tsv, contributions.tsv, per_mutation.tsv "
                    "and this run's figures in plots/ there (nothing else is touched)")
        plots_dir = out / "plots"
        if (plots_dir.exists() or plots_dir.is_symlink()) and not plots_dir.is_dir():
            raise ValueError(f"{plots_dir}: not a folder; pssnmf writes its figures there")
    return out


def write_prediction(prediction: Prediction, counts: pd.DataFrame, out_dir: str | os.PathLike,
                     *, plots: bool = False, overwrite: bool = False) -> None:
    """Write ``OUT/predictions.tsv``, ``OUT/contributions.tsv``, ``OUT/per_mutation.tsv`` (when
    ``prediction.mutations`` is set) and, with ``plots``, ``OUT/plots/<sample>.png`` (names from
    :func:`plot_file_names`), all or nothing.

    ``out_dir`` must be new or empty unless ``overwrite`` (:func:`check_out_dir`); no file
    pssnmf did not write is ever removed.  Everything is made in a staging folder inside
    ``out_dir`` first, then moved into place, the table last; on any failure (a signal
    included, where the caller turns it into an exception as ``pssnmf predict`` does) every
    file moved is taken back, every file replaced is restored, the staging folder is
    removed, and so is ``out_dir`` where this call created it.  A figure that cannot be
    drawn is a warning: the table and the other figures are written.
    """
    out = check_out_dir(out_dir, overwrite=overwrite)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pssnmf-predict.", dir=out))
    moved: list[tuple[Path, Path | None]] = []  # (target, where the file it replaced waits)
    plots_dir = out / "plots"
    plots_created = plots and not plots_dir.is_dir()

    def put(source: Path, target: Path) -> None:
        backup = None
        if target.exists():
            backup = staging / "replaced" / str(len(moved))
            backup.parent.mkdir(exist_ok=True)
            os.replace(target, backup)
        moved.append((target, backup))
        os.replace(source, target)

    failed: list[str] = []
    try:
        table_tmp = staging / "predictions.tsv"
        write_tsv(prediction.table, table_tmp)
        contributions_tmp = staging / "contributions.tsv"
        if prediction.contributions is not None:
            write_tsv(prediction.contributions, contributions_tmp)
        if plots:
            failed = _render_plots(prediction, counts, staging / "plots")
            plots_dir.mkdir(exist_ok=True)
            for figure in sorted((staging / "plots").iterdir()):
                put(figure, plots_dir / figure.name)
        if prediction.mutations is not None:
            put(write_table(prediction.mutations, staging / "per_mutation.tsv", float_format="%.8g"),
                out / "per_mutation.tsv")
        if prediction.contributions is not None:
            put(contributions_tmp, out / "contributions.tsv")
        put(table_tmp, out / "predictions.tsv")
    except BaseException:
        for target, backup in reversed(moved):
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(backup, target)
        shutil.rmtree(staging, ignore_errors=True)
        for folder, made in ((plots_dir, plots_created), (out, created)):
            if made:
                try:
                    folder.rmdir()
                except OSError:
                    pass
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if failed:
        log.warning("%d of %d figure(s) could not be drawn (%s); the tables are complete", len(failed),
                    len(prediction.table), "; ".join(failed[:3]) + (" ..." if len(failed) > 3 else ""))
    if prediction.mutations is None and (out / "per_mutation.tsv").exists():
        log.warning("%s is from an earlier run (left as it is); this run wrote no per-mutation probabilities "
                    "(--per-mutation)", out / "per_mutation.tsv")
    if plots_dir.is_dir():
        written = set(plot_file_names(prediction.table["sample"])) if plots else set()
        others = [p.name for p in plots_dir.iterdir() if p.name not in written]
        if others:
            log.warning("%s holds %d file(s) this run did not write (left as they are), e.g. %s", plots_dir,
                        len(others), ", ".join(sorted(others)[:3]))
    n_low = int(prediction.table["low_count"].sum())
    reasons = prediction.table.get("undetermined_reason", pd.Series(dtype=object))
    counted = reasons.fillna("").astype(str).str.split("; ").explode().value_counts()
    log.info("wrote %s: %d samples (%d flagged low_count; undetermined: %d for few mutations, %d for a wide "
             "interval, %d out of distribution)%s", out / "predictions.tsv", len(prediction.table), n_low,
             int(counted.get("few mutations", 0)), int(counted.get("wide interval", 0)),
             int(counted.get(OUT_OF_DISTRIBUTION, 0)), f"; one figure per sample in {plots_dir}" if plots else "")


def write_tsv(table: pd.DataFrame, path: Path, float_format: str = "%.8g") -> None:
    """``table.to_csv(path, sep="\\t", index=False, float_format=float_format, lineterminator="\\n")``:
    the same bytes, several times faster.

    pandas formats every float through Python calls of its own: 2.3 s of the 240,000 rows of
    ``contributions.tsv`` for 10,000 samples (benchmarks/RESULTS.md, "Predict").  Here each
    column becomes text with one ``%`` per float; the rows are joined with tabs where no field
    needs quoting, else written by :mod:`csv` (the writer pandas uses, with its defaults).
    """
    header = [str(name) for name in table.columns]
    columns = [_column_text(table[name], float_format) for name in table.columns]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if len(columns) > 1 and not any(_needs_quotes(column) for column in [header, *columns]):
            handle.write("\n".join(map("\t".join, [header, *zip(*columns)])) + "\n")
        else:  # csv quotes those fields (and a row of one empty field) as pandas would
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(header)
            writer.writerows(zip(*columns))


def _needs_quotes(fields: list[str]) -> bool:
    """Whether a field holds what the csv writer quotes: a tab, a quote or a line end."""
    joined = "".join(fields)
    return any(character in joined for character in '\t"\n\r')


def _column_text(column: pd.Series, float_format: str) -> list[str]:
    """One column as pandas' ``to_csv`` writes it: floats by ``float_format``, the rest by ``str``,
    missing values (NaN, None, pd.NA) empty."""
    if column.dtype.kind == "f":
        # Each distinct value formatted once (contributions.tsv repeats every weight once per
        # sample, every exposure once per class); distinct by bits, so that -0.0 stays "-0".
        bits, inverse = np.unique(np.ascontiguousarray(column.to_numpy(dtype=np.float64)).view(np.uint64),
                                  return_inverse=True)
        text = np.array([float_format % v if v == v else "" for v in bits.view(np.float64).tolist()], dtype=object)
        return text[inverse.reshape(-1)].tolist()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biu":  # never missing
        return column.to_numpy().astype(str).tolist()
    text = list(map(str, column.to_numpy(dtype=object).tolist()))
    for i in np.flatnonzero(column.isna().to_numpy()):
        text[i] = ""
    return text


def plot_file_names(samples) -> list[str]:
    """One distinct, file-system-safe PNG name per sample ID (case-insensitively distinct).

    Characters other than ASCII letters, digits, ``-``, ``_`` and ``.`` become ``_``; a stem
    longer than :data:`MAX_PLOT_NAME` is cut and ends in a hash of the whole ID, so two long
    IDs that share their beginning still get two files.
    """
    names, taken = [], set()
    for sample in samples:
        text = str(sample)
        stem = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "_" for ch in text).lstrip(".")
        stem = stem or "sample"
        if len(stem) > MAX_PLOT_NAME:
            stem = f"{stem[:MAX_PLOT_NAME - 17]}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        candidate, n = stem, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}_{n}"
        taken.add(candidate.lower())
        names.append(f"{candidate}.png")
    return names


def _render_plots(prediction: Prediction, counts: pd.DataFrame, folder: Path) -> list[str]:
    """One figure per sample (:func:`pssnmf.plots.sample.sample_figure`) into ``folder``.

    Returns ``"sample: reason"`` for each figure that could not be drawn or saved.
    """
    import matplotlib

    matplotlib.use("Agg")
    from pssnmf.plots.sample import sample_figure

    folder.mkdir()
    table = prediction.table
    probability_columns = [f"probability_{_column_name(c)}" for c in prediction.classes]
    exposure_columns = [f"exposure_{_column_name(n)}" for n in prediction.signature_names]
    values = counts.to_numpy(dtype=float)
    failed = []
    for i, file_name in enumerate(plot_file_names(table["sample"])):
        row = table.iloc[i]
        try:
            _draw_sample(sample_figure, prediction, row, values[i], probability_columns, exposure_columns,
                         folder / file_name)
        except Exception as err:  # noqa: BLE001 - one figure never costs the table (write_prediction)
            (folder / file_name).unlink(missing_ok=True)
            failed.append(f"{str(row['sample'])[:60]!r}: {err}")
    return failed


def _draw_sample(sample_figure, prediction: Prediction, row: pd.Series, counts: np.ndarray,
                 probability_columns: list[str], exposure_columns: list[str], path: Path) -> None:
    fig = sample_figure(
        sample=str(row["sample"]),
        counts=counts,
        exposures=row[exposure_columns].to_numpy(dtype=float),
        signature_names=prediction.signature_names,
        probabilities={c: float(row[p]) for c, p in zip(prediction.classes, probability_columns)},
        note=(f"predicted {row['predicted']} (p {row['max_probability']:.2f}), reconstruction cosine "
              f"{row['reconstruction_cosine']:.2f}" + (", LOW COUNT" if row["low_count"] else "")
              + ("" if row.get("call", row["predicted"]) == row["predicted"]
                 else f"; call: UNDETERMINED ({row['undetermined_reason']})")),
        contributions=row[[f"contribution_{_column_name(n)}" for n in prediction.signature_names]].to_numpy(
            dtype=float),
        intervals=({c: (float(row[f"lower_{_column_name(c)}"]), float(row[f"upper_{_column_name(c)}"]))
                    for c in prediction.classes} if f"lower_{_column_name(prediction.classes[0])}" in row
                   else None),
    )
    fig.savefig(path, dpi=100)
