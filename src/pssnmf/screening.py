"""Screening: is a tumour repair-deficient, and in which pathway? (docs/protocol.md, "Screening")

The paper scores the DDRd models on tumours already known to be deficient and asks which pathway.
Screening asks what a user with mostly proficient tumours needs: how well each pathway's score
separates the tumours deficient in it from proficient ones, and how often a call lands on a
proficient tumour.

* **Positives** of pathway P: the test set's tumours uniquely homozygous in P (the final fits'
  ``.predictions.tsv``).  **Negatives**: the test pool of proficient tumours (wild type in MMR, BER
  and HR; ``pssnmf.folds``: never used in training, in any role).  Tumours deficient in another
  pathway are neither.  Heterozygous tumours are scored separately (their call rate), never as
  negatives.
* **Scores** of P, per model: ``probability`` (the class's probability) and ``margin`` (its log
  odds over Control: log p_P - log p_Control); the **COSMIC-share** baseline's ``share``: the
  fraction of the tumour's profile that COSMIC's signatures of P explain (NNLS on the COSMIC set,
  :data:`pssnmf.etiologies.SHARE_SIGNATURES`).
* **Scores of a score**: ROC AUC; sensitivity at a false-positive rate (the largest TPR of the test
  ROC with FPR <= the target); a **cut-off** per target FPR chosen on the *validation* pool (the
  final model never trained on it either), with the test set's realised sensitivity and FPR at it;
  the argmax call's own rates (the paper's rule: predicted class == P).
* **Uncertainty**: every score is the mean over the final fits' seeds, with a percentile bootstrap
  interval that draws a seed, then resamples positives and negatives separately (cut-offs held
  fixed), and the sd over seeds.
* **Negatives that look deficient**: wild type by gene status is not proficient (MLH1 promoter
  silencing).  A proficient tumour with at least ``hypermutated_min`` mutations and a COSMIC MMR
  share of at least ``min_mmr_share`` is counted as *suspect*; AUC is reported with and without
  them.  Nothing is ever dropped by a model's own output.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from pssnmf.data.atomic import write_table, write_text
from pssnmf.etiologies import SHARE_SIGNATURES
from pssnmf.folds import CROSSFIT_PREFIX, DDR_PATHWAYS, read_catalog_rows, read_membership, seed_sequence

log = logging.getLogger(__name__)

CONTROL = "Control"
COSMIC_SHARE = "COSMIC-share"
DEFAULT_FPR = (0.1, 0.05)
DEFAULT_HYPERMUTATED_MIN = 500
DEFAULT_MIN_MMR_SHARE = 0.3
KEYS = ("split_mode", "proportion", "positives", "model", "score", "pathway")
POSITIVES = ("test", "cross-fit")
"""Which tumours with truth are the positives: the test set's (as Table 1), or every one, each
scored out of fold (the final fit for the test set, its cross-fits for the validation folds)."""
_TINY = np.finfo(np.float64).tiny


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------
def pathway_score(frame: pd.DataFrame, pathway: str, kind: str) -> np.ndarray:
    """Pathway ``pathway``'s score of every row of a predictions or pools frame.

    kind ``probability``: the column ``probability_<pathway>``; ``margin``: log p_pathway -
    log p_Control (probabilities floored at the smallest positive float); ``share``: the column
    ``share_<pathway>`` (the COSMIC-share baseline).
    """
    if kind == "share":
        return frame[f"share_{pathway}"].to_numpy(dtype=np.float64)
    probability = frame[f"probability_{pathway}"].to_numpy(dtype=np.float64)
    if kind == "probability":
        return probability
    if kind == "margin":
        control = frame[f"probability_{CONTROL}"].to_numpy(dtype=np.float64)
        return np.log(np.maximum(probability, _TINY)) - np.log(np.maximum(control, _TINY))
    raise ValueError(f"unknown score {kind!r}; expected probability, margin or share")


def cosmic_shares(profiles: np.ndarray, signatures: np.ndarray, names: Sequence[str],
                  pathways: Sequence[str] = DDR_PATHWAYS) -> np.ndarray:
    """(n, len(pathways)): per row, the share of its NNLS exposures on the COSMIC set that the
    pathway's :data:`SHARE_SIGNATURES` carry (0 for a row with no exposure).

    profiles (n, 96) rows summing to 1; signatures (K, 96) rows summing to 1, named ``names``.
    A pathway none of whose signatures is in the set is an error (naming them).
    """
    from pssnmf.model.nnls import nnls_exposures

    exposures = nnls_exposures(np.asarray(profiles, dtype=np.float64), np.asarray(signatures, dtype=np.float64))
    totals = exposures.sum(axis=1)
    shares = np.zeros((exposures.shape[0], len(pathways)))
    for j, pathway in enumerate(pathways):
        columns = [i for i, name in enumerate(names) if name in SHARE_SIGNATURES[pathway]]
        if not columns:
            raise ValueError(f"the COSMIC signature set has none of {pathway}'s signatures "
                             f"{list(SHARE_SIGNATURES[pathway])}")
        shares[:, j] = np.divide(exposures[:, columns].sum(axis=1), totals, out=np.zeros_like(totals),
                                 where=totals > 0)
    return shares


# --------------------------------------------------------------------------------------------
# Scores of a score (vectorised over bootstrap draws: the last axis holds the samples)
# --------------------------------------------------------------------------------------------
def roc_auc(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count a half) of positives against negatives, over the last axis."""
    n_pos, n_neg = positive.shape[-1], negative.shape[-1]
    ranks = rankdata(np.concatenate([positive, negative], axis=-1), axis=-1)
    return (ranks[..., :n_pos].sum(axis=-1) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def cutoff(negative: np.ndarray, fpr: float) -> np.ndarray:
    """The cut-off with false-positive rate at most ``fpr`` on ``negative`` (a call: score > it):
    the (floor(fpr n) + 1)-th largest negative score; -inf when floor(fpr n) >= n."""
    n = negative.shape[-1]
    k = int(np.floor(fpr * n + 1e-9))
    if k >= n:
        return np.full(negative.shape[:-1], -np.inf)
    return -np.partition(-negative, k, axis=-1)[..., k]


def sensitivity_at_fpr(positive: np.ndarray, negative: np.ndarray, fpr: float) -> np.ndarray:
    """The largest true-positive rate of the ROC with false-positive rate <= ``fpr``."""
    return (positive > cutoff(negative, fpr)[..., None]).mean(axis=-1)


def rate_above(scores: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Share of ``scores`` above ``threshold`` (broadcast over the leading axes)."""
    if scores.shape[-1] == 0:
        return np.full(np.shape(threshold), np.nan)
    return (scores > np.asarray(threshold)[..., None]).mean(axis=-1)


def _interval(per_seed: list, draws: np.ndarray, level: float) -> tuple[float, float, float, float]:
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha]) if draws.size else (np.nan, np.nan)
    values = np.asarray(per_seed, dtype=np.float64)
    sd = float(np.std(values, ddof=1)) if values.size > 1 else np.nan
    return float(values.mean()), float(low), float(high), sd


def score_rows(groups: Sequence[dict], fpr_targets: Sequence[float], n_boot: int, level: float,
               seed: np.random.SeedSequence) -> dict:
    """Every screening score of one (model, score kind, pathway), over its seeds.

    groups : one dict per seed: ``positive``, ``negative`` (test pool), ``validation`` (validation
    pool), ``heterozygous`` (test tumours heterozygous in the pathway), ``suspect`` (bool, per
    negative) arrays of scores, and ``argmax_positive`` / ``argmax_negative`` (bool arrays: the
    argmax call is the pathway; absent for a score without a class call).
    """
    rng = np.random.default_rng(seed)
    n_pos, n_neg = len(groups[0]["positive"]), len(groups[0]["negative"])
    row = {"n_seeds": len(groups), "n_positive": n_pos, "n_negative": n_neg,
           "n_suspect": int(groups[0]["suspect"].sum()), "n_heterozygous": len(groups[0]["heterozygous"]),
           "n_validation_negative": len(groups[0]["validation"])}
    if n_pos == 0 or n_neg == 0:
        return row
    pos = np.stack([g["positive"] for g in groups])  # (R, n_pos)
    neg = np.stack([g["negative"] for g in groups])
    which = rng.integers(len(groups), size=n_boot)
    pos_draws = pos[which[:, None], rng.integers(0, n_pos, size=(n_boot, n_pos))]
    neg_index = rng.integers(0, n_neg, size=(n_boot, n_neg))
    neg_draws = neg[which[:, None], neg_index]

    def put(name, per_seed, draws):
        row[name], row[f"{name}_low"], row[f"{name}_high"], row[f"{name}_seed_sd"] = _interval(per_seed, draws, level)

    put("auc", [roc_auc(p, n) for p, n in zip(pos, neg)], roc_auc(pos_draws, neg_draws))
    kept = ~groups[0]["suspect"]
    if kept.all() or not kept.any():
        row["auc_without_suspect"] = row["auc"] if kept.all() else np.nan
    else:
        row["auc_without_suspect"] = float(np.mean([roc_auc(p, n[kept]) for p, n in zip(pos, neg)]))
    for fpr in fpr_targets:
        tag = f"{fpr:g}"
        put(f"sensitivity_at_fpr_{tag}", [sensitivity_at_fpr(p, n, fpr) for p, n in zip(pos, neg)],
            sensitivity_at_fpr(pos_draws, neg_draws, fpr))
        cuts = np.array([cutoff(g["validation"], fpr) if len(g["validation"]) else np.nan for g in groups])
        row[f"cutoff_fpr_{tag}"] = float(np.mean(cuts))
        put(f"test_sensitivity_at_cutoff_{tag}", [rate_above(p, c) for p, c in zip(pos, cuts)],
            rate_above(pos_draws, cuts[which]))
        put(f"test_fpr_at_cutoff_{tag}", [rate_above(n, c) for n, c in zip(neg, cuts)],
            rate_above(neg_draws, cuts[which]))
        row[f"heterozygous_call_rate_at_cutoff_{tag}"] = float(np.nanmean(
            [rate_above(g["heterozygous"], c) for g, c in zip(groups, cuts)]))
    if "argmax_positive" in groups[0]:
        call_pos = np.stack([g["argmax_positive"] for g in groups]).astype(np.float64)
        call_neg = np.stack([g["argmax_negative"] for g in groups]).astype(np.float64)
        put("argmax_sensitivity", call_pos.mean(axis=1),
            call_pos[which[:, None], rng.integers(0, n_pos, size=(n_boot, n_pos))].mean(axis=1))
        put("argmax_fpr", call_neg.mean(axis=1), call_neg[which[:, None], neg_index].mean(axis=1))
    return row


# --------------------------------------------------------------------------------------------
# The table from the workflow's files
# --------------------------------------------------------------------------------------------
def share_frames(fold_dir: str | os.PathLike, signatures_path: str | os.PathLike, split_mode: str,
                 proportion: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The COSMIC-share baseline's (predictions, pools) frames for one fold directory: the tumours
    with truth (``fold`` test, or outer<k> for validation fold k's, as the cross-fits label them)
    and the screening pools, each with ``share_<pathway>`` columns."""
    from pssnmf.baselines import as_signatures
    from pssnmf.folds import proportion_label

    membership = read_membership(fold_dir)
    rows = membership[(membership["proportion"] == proportion_label(proportion)) & (membership["source"] == "tumour")
                      & (((membership["set"] != "screening") & (membership["truth"] != ""))
                         | (membership["set"] == "screening"))].reset_index(drop=True)
    # the fold a model prediction of each tumour with truth comes from: test, or the cross-fit outer<k>
    rows["fold"] = np.where(rows["set"] == "validation", CROSSFIT_PREFIX + rows["fold"], rows["fold"])
    catalog = read_catalog_rows(Path(fold_dir) / "catalog.tsv")
    counts = catalog.loc[list(rows["row_id"])].to_numpy(dtype=np.float64)
    signatures, names = as_signatures(signatures_path)
    shares = cosmic_shares(counts / counts.sum(axis=1, keepdims=True), signatures, names)
    frame = rows.assign(split_mode=split_mode, proportion=float(proportion), model=COSMIC_SHARE, replicate=0)
    for j, pathway in enumerate(DDR_PATHWAYS):
        frame[f"share_{pathway}"] = shares[:, j]
    test = frame[frame["set"] != "screening"].reset_index(drop=True)
    pools = frame[frame["set"] == "screening"].rename(columns={"fold": "pool"}).reset_index(drop=True)
    return test, pools


def screening_table(predictions: pd.DataFrame, pools: pd.DataFrame, shares: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
                    fpr_targets: Sequence[float] = DEFAULT_FPR, n_boot: int = 1000, level: float = 0.95,
                    seed: int = 0, hypermutated_min: int = DEFAULT_HYPERMUTATED_MIN,
                    min_mmr_share: float = DEFAULT_MIN_MMR_SHARE) -> pd.DataFrame:
    """One row per (split mode, proportion, model, score, pathway); see the module docstring.

    predictions, pools : the DDRd final fits' ``.predictions.tsv`` (fold ``test``) and their
    cross-fits' (folds ``outer<k>``), and the final fits' ``.pools.tsv`` rows; shares :
    :func:`share_frames` per (split mode, proportion), which also gives every tumour's COSMIC MMR
    share for the suspect flag.  Each model is scored twice (``positives``): on the test set's
    positives only, and on every tumour with truth (cross-fit).
    """
    predictions = predictions[(predictions["source"] == "tumour") & predictions["truth"].isin(DDR_PATHWAYS)]
    share_test = pd.concat([t for t, _ in shares], ignore_index=True) if shares else pd.DataFrame()
    share_pools = pd.concat([p for _, p in shares], ignore_index=True) if shares else pd.DataFrame()
    mmr_share = {} if share_pools.empty else dict(zip(zip(share_pools["split_mode"], share_pools["proportion"],
                                                          share_pools["row_id"]), share_pools["share_MMR"]))
    entries = [(predictions, pools, ("probability", "margin"))]
    if not share_test.empty:
        entries.append((share_test, share_pools, ("share",)))
    rows = []
    for test_rows, pool_rows, kinds in entries:
        for (split_mode, proportion, model), test_part in test_rows.groupby(["split_mode", "proportion", "model"],
                                                                            sort=True):
            pool_part = pool_rows[(pool_rows["split_mode"] == split_mode)
                                  & (pool_rows["proportion"].astype(float) == float(proportion))
                                  & (pool_rows["model"] == model)]
            replicates = sorted(test_part["replicate"].unique())
            for positives, kind in ((positives, kind) for positives in POSITIVES for kind in kinds):
                scored = test_part if positives == "cross-fit" else test_part[test_part["fold"].astype(str) == "test"]
                for pathway in DDR_PATHWAYS:
                    groups = []
                    for replicate in replicates:
                        t = scored[scored["replicate"] == replicate].sort_values("row_id")
                        p = pool_part[pool_part["replicate"] == replicate].sort_values("row_id")
                        positive = t[t["truth"] == pathway]
                        negative = p[(p["pool"] == "test") & (p["role"] == "proficient")]
                        het = p[(p["pool"] == "test") & (p["role"] == "heterozygous")
                                & p["heterozygous"].fillna("").str.split("+").map(lambda s, q=pathway: q in s)]
                        share = np.array([mmr_share.get((split_mode, float(proportion), r), np.nan)
                                          for r in negative["row_id"]])
                        group = {
                            "positive": pathway_score(positive, pathway, kind),
                            "negative": pathway_score(negative, pathway, kind),
                            "validation": pathway_score(p[(p["pool"] == "validation") & (p["role"] == "proficient")],
                                                        pathway, kind),
                            "heterozygous": pathway_score(het, pathway, kind),
                            "suspect": (pd.to_numeric(negative["mutations"]).to_numpy() >= hypermutated_min)
                            & (np.nan_to_num(share, nan=0.0) >= min_mmr_share),
                        }
                        if kind != "share":
                            group["argmax_positive"] = (positive["predicted"] == pathway).to_numpy()
                            group["argmax_negative"] = (negative["predicted"] == pathway).to_numpy()
                        groups.append(group)
                    key = (split_mode, float(proportion), positives, model, kind, pathway)
                    row = dict(zip(KEYS, key))
                    row.update(score_rows(groups, fpr_targets, n_boot, level,
                                          seed_sequence(seed, "screening", *key)))
                    rows.append(row)
    return pd.DataFrame(rows)


def any_call_rates(pools: pd.DataFrame) -> pd.DataFrame:
    """Per (split mode, proportion, model): the share of the test pool's proficient tumours whose
    argmax call is a deficiency (any class but Control), mean and sd over seeds."""
    part = pools[(pools["pool"] == "test") & (pools["role"] == "proficient")]
    per_seed = (part.assign(called=part["predicted"] != CONTROL)
                .groupby(["split_mode", "proportion", "model", "replicate"])["called"].mean().reset_index())
    return (per_seed.groupby(["split_mode", "proportion", "model"])["called"]
            .agg(argmax_any_deficiency_fpr="mean", argmax_any_deficiency_fpr_seed_sd="std").reset_index())


def _fmt(value, digits=3) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def screening_markdown(table: pd.DataFrame, fpr_targets: Sequence[float], any_rates: pd.DataFrame,
                       tcga: pd.DataFrame | None = None) -> str:
    """The screening table as markdown: per split mode and proportion, one line per model and score."""
    lines = ["# Screening: per-pathway scores against proficient tumours", "",
             "AUC and sensitivity at a false-positive rate on the test set (positives: tumours uniquely "
             "homozygous in the pathway; negatives: the test pool of proficient tumours), mean over seeds "
             "[95 % bootstrap interval over tumours and seeds]; at the cut-off chosen on the validation pool "
             "for each FPR target, the test set's realised sensitivity / FPR; the argmax call's own "
             "sensitivity / FPR (predicted class == pathway). docs/protocol.md, \"Screening\".", ""]
    tag = f"{fpr_targets[0]:g}"
    for (split_mode, proportion), both in table.groupby(["split_mode", "proportion"], sort=True):
        first = both.iloc[0]
        lines += [f"## {split_mode} split, {float(proportion):g} unlabelled", "",
                  f"{int(first['n_negative'])} proficient test tumours "
                  f"({int(first['n_suspect'])} hypermutated with a strong COSMIC MMR share), "
                  f"{int(first['n_validation_negative'])} proficient validation tumours (the cut-offs).", ""]
        for positives in POSITIVES:
            part = both[both["positives"] == positives]
            if part.empty:
                continue
            lines += [f"### Positives: {POSITIVE_TEXT[positives]}", ""]
            header = ["model", "score"]
            for pathway in DDR_PATHWAYS:
                n = int(part.loc[part["pathway"] == pathway, "n_positive"].iloc[0])
                header += [f"{pathway} (n={n}) AUC", f"sens @ FPR {tag}", "at cut-off: sens / FPR", "argmax: sens / FPR"]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for (model, kind), rows in part.groupby(["model", "score"], sort=False):
                cells = [model, kind]
                for pathway in DDR_PATHWAYS:
                    r = rows[rows["pathway"] == pathway].iloc[0]

                    def ci(name, r=r):
                        return f"{_fmt(r.get(name))} [{_fmt(r.get(name + '_low'))}, {_fmt(r.get(name + '_high'))}]"

                    cells += [ci("auc"), ci(f"sensitivity_at_fpr_{tag}"),
                              f"{_fmt(r.get(f'test_sensitivity_at_cutoff_{tag}'))} / "
                              f"{_fmt(r.get(f'test_fpr_at_cutoff_{tag}'))}",
                              (f"{_fmt(r.get('argmax_sensitivity'))} / {_fmt(r.get('argmax_fpr'))}"
                               if kind == "probability" else "–")]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        rates = any_rates[(any_rates["split_mode"] == split_mode)
                          & (any_rates["proportion"].astype(float) == float(proportion))]
        if len(rates):
            lines += ["Share of proficient test tumours the argmax rule calls deficient (any pathway): "
                      + "; ".join(f"{r.model} {_fmt(r.argmax_any_deficiency_fpr)}" for r in rates.itertuples()) + ".",
                      ""]
        if tcga is not None and len(tcga):
            here = tcga[(tcga["split_mode"] == split_mode) & (tcga["proportion"].astype(float) == float(proportion))]
            lines += ["### TCGA macro F1 over the three pathways (Table 1's `tcga_f1_truth_classes`): "
                      "test set only against every tumour with truth, out of fold", "",
                      "| model | test set: F1 [95 % interval] (width) | cross-fit: F1 [95 % interval] (width) |",
                      "|---|---|---|"]
            for model, rows in here.groupby("model", sort=False):
                cells = [model]
                for positives in POSITIVES:
                    r = rows[rows["positives"] == positives]
                    if r.empty:
                        cells.append("–")
                        continue
                    r = r.iloc[0]
                    cells.append(f"{_fmt(r['tcga_f1_truth_classes'])} [{_fmt(r['tcga_f1_truth_classes_low'])}, "
                                 f"{_fmt(r['tcga_f1_truth_classes_high'])}] ({_fmt(r['tcga_f1_truth_classes_width'])}; "
                                 f"n={int(r['n_tumours'])})")
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


POSITIVE_TEXT = {"test": "the test set's tumours with truth (as Table 1)",
                 "cross-fit": "every tumour with truth, each scored by a model that never saw it (cross-fit)"}


def tcga_table(predictions: pd.DataFrame, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Table 1's TCGA scores of the DDRd models on the test set's tumours and on every tumour with
    truth out of fold (``positives``), with bootstrap intervals over tumours and seeds and their widths."""
    from pssnmf.tables import TABLE1_SCORES
    from pssnmf.metrics import bootstrap_ci

    tumours = predictions[(predictions["source"] == "tumour") & (predictions["truth"] != "")]
    rows = []
    for (split_mode, proportion, model), part in tumours.groupby(["split_mode", "proportion", "model"], sort=True):
        for positives in POSITIVES:
            scored = part if positives == "cross-fit" else part[part["fold"].astype(str) == "test"]
            pairs = [(r["truth"].astype(str).to_numpy(), r["predicted"].astype(str).to_numpy())
                     for _, r in scored.sort_values(["replicate", "row_id"]).groupby("replicate", sort=True)]
            key = (split_mode, float(proportion), positives, model)
            row = dict(zip(("split_mode", "proportion", "positives", "model"), key), n_tumours=len(pairs[0][0]),
                       n_seeds=len(pairs))
            for name, source, metric in TABLE1_SCORES:
                if source != "tumour":
                    continue
                value, low, high = bootstrap_ci(pairs, metric, n_boot=n_boot, level=level,
                                                seed=seed_sequence(seed, "screening-tcga", *key, name))
                row.update({name: value, f"{name}_low": low, f"{name}_high": high, f"{name}_width": high - low})
            rows.append(row)
    return pd.DataFrame(rows)


def _read_predictions(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    frame = _read_all(paths)
    frame["truth"] = frame["truth"].fillna("")
    return frame


def write_screening(predictions_paths: Sequence[str | os.PathLike], pools_paths: Sequence[str | os.PathLike],
                    fold_dirs: Sequence[str], cosmic: str | os.PathLike, out_tsv: str | os.PathLike,
                    out_md: str | os.PathLike, crossfit_paths: Sequence[str | os.PathLike] = (),
                    out_tcga: str | os.PathLike | None = None, fpr_targets: Sequence[float] = DEFAULT_FPR,
                    n_boot: int = 1000, seed: int = 0, hypermutated_min: int = DEFAULT_HYPERMUTATED_MIN,
                    min_mmr_share: float = DEFAULT_MIN_MMR_SHARE) -> pd.DataFrame:
    """Read the DDRd final fits' files (and their cross-fits'), write the screening table (TSV and
    markdown) and the TCGA scores on the test set and out of fold (``out_tcga``)."""
    predictions = _read_predictions(predictions_paths)
    predictions = predictions[predictions["fold"].astype(str) == "test"]
    if crossfit_paths:
        crossfit = _read_predictions(crossfit_paths)
        outer = crossfit["fold"].astype(str).str.startswith(CROSSFIT_PREFIX)
        if not outer.all():
            raise ValueError(f"{crossfit_paths[0]}: cross-fit predictions must come from folds "
                             f"{CROSSFIT_PREFIX}<k>; found {sorted(crossfit.loc[~outer, 'fold'].astype(str).unique())}")
        predictions = pd.concat([predictions, crossfit], ignore_index=True)
    pools = _read_all(pools_paths, dtype={"heterozygous": str})
    if pools.empty:
        raise ValueError(f"{pools_paths[0]}: the screening pools are empty; screening needs the DDRd task's "
                         "proficient tumours (folds built with the DDR status columns)")
    pools["heterozygous"] = pools["heterozygous"].fillna("")
    combos = predictions[["split_mode", "proportion"]].drop_duplicates().itertuples(index=False)
    by_split = {Path(d).name: d for d in fold_dirs}
    shares = []
    for split_mode, proportion in combos:
        if split_mode not in by_split:
            raise ValueError(f"no fold directory for split mode {split_mode!r} among {list(fold_dirs)}")
        shares.append(share_frames(by_split[split_mode], cosmic, split_mode, float(proportion)))
    table = screening_table(predictions, pools, shares, fpr_targets=fpr_targets, n_boot=n_boot, seed=seed,
                            hypermutated_min=hypermutated_min, min_mmr_share=min_mmr_share)
    tcga = tcga_table(predictions, n_boot=n_boot, seed=seed)
    write_table(table, out_tsv)
    if out_tcga is not None:
        write_table(tcga, out_tcga)
    write_text(screening_markdown(table, fpr_targets, any_call_rates(pools), tcga), out_md)
    log.info("screening: %d rows (%d models) written to %s", len(table), table["model"].nunique(), out_tsv)
    return table


def roc_points(predictions: pd.DataFrame, pools: pd.DataFrame, share: tuple[pd.DataFrame, pd.DataFrame] | None,
               replicate: int = 0) -> pd.DataFrame:
    """ROC curves (scikit-learn's ``roc_curve``) per model and pathway for one split mode and
    proportion: the models' probability score at seed ``replicate`` and the COSMIC share."""
    from sklearn.metrics import roc_curve

    entries = [(predictions[predictions["replicate"] == replicate], pools[pools["replicate"] == replicate],
                "probability")]
    if share is not None:
        entries.append((share[0], share[1], "share"))
    frames = []
    for test_rows, pool_rows, kind in entries:
        test_rows = test_rows[(test_rows["source"] == "tumour") & test_rows["truth"].isin(DDR_PATHWAYS)]
        for model, t in test_rows.groupby("model", sort=False):
            p = pool_rows[(pool_rows["model"] == model) & (pool_rows["pool"] == "test")
                          & (pool_rows["role"] == "proficient")]
            for pathway in DDR_PATHWAYS:
                positive = t[t["truth"] == pathway]
                if positive.empty or p.empty:
                    continue
                scores = np.concatenate([pathway_score(positive, pathway, kind), pathway_score(p, pathway, kind)])
                truth = np.r_[np.ones(len(positive)), np.zeros(len(p))]
                fpr, tpr, thresholds = roc_curve(truth, scores)
                frames.append(pd.DataFrame({"model": model, "score": kind, "pathway": pathway, "fpr": fpr,
                                            "tpr": tpr, "threshold": thresholds}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["model", "score", "pathway", "fpr", "tpr", "threshold"])


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from pssnmf import commands

    parser = argparse.ArgumentParser(prog="python -m pssnmf.screening", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("table", "the screening table (TSV and markdown)"), ("roc", "the ROC figure")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--predictions", nargs="+", required=True, help="DDRd final fits' .predictions.tsv")
        p.add_argument("--pools", nargs="+", required=True, help="the same fits' .pools.tsv")
        p.add_argument("--folds", nargs="+", required=True, help="the DDRd fold directories (one per split mode)")
        p.add_argument("--cosmic", required=True, help="COSMIC SBS signature file (the COSMIC-share baseline)")
        p.add_argument("--crossfit", nargs="+", default=[], help="the cross-fits' .predictions.tsv (results/crossfit)")
    table = sub.choices["table"]
    table.add_argument("--out-tsv", required=True)
    table.add_argument("--out-md", required=True)
    table.add_argument("--out-tcga", help="TSV: Table 1's TCGA scores on the test set and on every tumour with truth")
    table.add_argument("--fpr", nargs="+", type=float, default=list(DEFAULT_FPR), help="false-positive-rate targets")
    table.add_argument("--n-boot", type=int, default=1000)
    table.add_argument("--seed", type=int, default=0)
    table.add_argument("--hypermutated-min", type=int, default=DEFAULT_HYPERMUTATED_MIN)
    table.add_argument("--min-mmr-share", type=float, default=DEFAULT_MIN_MMR_SHARE)
    roc = sub.choices["roc"]
    roc.add_argument("--split-mode", required=True)
    roc.add_argument("--proportion", type=float, required=True)
    roc.add_argument("--out", required=True, help="figure stem: writes .png, .svg and .tsv")
    commands.add_options(parser)
    return parser


def _read_all(paths, **kwargs) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, sep="\t", keep_default_na=False, na_values=[""], **kwargs) for p in paths],
                     ignore_index=True)


def _run(args: argparse.Namespace) -> None:
    for value in getattr(args, "fpr", []):
        if not 0 < value < 1:
            raise ValueError(f"--fpr: every target must lie in (0, 1); got {value}")
    if args.command == "table":
        write_screening(args.predictions, args.pools, args.folds, args.cosmic, args.out_tsv, args.out_md,
                        crossfit_paths=args.crossfit, out_tcga=args.out_tcga, fpr_targets=args.fpr, n_boot=args.n_boot, seed=args.seed,
                        hypermutated_min=args.hypermutated_min, min_mmr_share=args.min_mmr_share)
        return
    from pssnmf.plots.common import save_figure
    from pssnmf.plots.screening import roc_figure

    predictions = pd.concat([_read_predictions(args.predictions)] +
                            ([_read_predictions(args.crossfit)] if args.crossfit else []), ignore_index=True)
    pools = _read_all(args.pools, dtype={"heterozygous": str})

    def here(frame):
        return frame[(frame["split_mode"] == args.split_mode) & (frame["proportion"].astype(float) == args.proportion)]

    predictions, pools = here(predictions), here(pools)
    fold_dir = {Path(d).name: d for d in args.folds}.get(args.split_mode)
    if fold_dir is None:
        raise ValueError(f"--folds: none is the {args.split_mode!r} split's directory: {args.folds}")
    share = share_frames(fold_dir, args.cosmic, args.split_mode, args.proportion)
    if not args.crossfit:  # the test set's positives only, for the share too
        share = (share[0][share[0]["fold"] == "test"], share[1])
    points = roc_points(predictions, pools, share)
    positives = "every tumour with truth, out of fold" if args.crossfit else "the test set's tumours"
    fig = roc_figure(points, f"{args.split_mode} split, {args.proportion:g} unlabelled; positives: {positives}")
    save_figure(fig, points, args.out)


def main(argv: Sequence[str] | None = None) -> int:
    from pssnmf import commands

    args = _parser().parse_args(argv)
    return commands.run("python -m pssnmf.screening", _run, args)


if __name__ == "__main__":
    sys.exit(main())


def exported_cutoffs(predictions_path: str | os.PathLike, pools_path: str | os.PathLike,
                     fpr_targets: Sequence[float] = DEFAULT_FPR, replicate: int = 0) -> dict | None:
    """The exported model's screening cut-offs (its ``metadata["screening"]``): for seed
    ``replicate`` of one final fit, per FPR target and pathway, the cut-off of the probability
    chosen on the validation pool, and the test set's sensitivity and FPR at it.  None when the
    pools file has no rows (a task without pools)."""
    predictions = _read_predictions([predictions_path])
    predictions = predictions[(predictions["replicate"] == replicate) & (predictions["source"] == "tumour")]
    pools = _read_all([pools_path], dtype={"heterozygous": str})
    if pools.empty:
        return None
    pools = pools[(pools["replicate"] == replicate) & (pools["role"] == "proficient")]
    validation, test = pools[pools["pool"] == "validation"], pools[pools["pool"] == "test"]
    if validation.empty:
        raise ValueError(f"{pools_path}: no proficient validation tumours for seed {replicate}: no cut-off to store")
    out = pool_cutoffs(validation, fpr_targets)
    out.update(n_test_negative=int(len(test)), test={})
    for kind, by_rate in out["cutoffs"].items():
        out["test"][kind] = {}
        for tag, by_pathway in by_rate.items():
            out["test"][kind][tag] = {}
            for pathway, cut in by_pathway.items():
                positive = pathway_score(predictions[predictions["truth"] == pathway], pathway, kind)
                out["test"][kind][tag][pathway] = {
                    "sensitivity": float(rate_above(positive, np.asarray(cut))), "n_positive": int(positive.size),
                    "fpr": float(rate_above(pathway_score(test, pathway, kind), np.asarray(cut)))}
    return out


def pool_cutoffs(validation: pd.DataFrame, fpr_targets: Sequence[float] = DEFAULT_FPR) -> dict:
    """A model's screening cut-offs from its predictions of the proficient validation pool
    (``probability_<class>`` columns): per score kind, FPR target and pathway (:func:`cutoff`)."""
    out = {"rule": "call a pathway when its score is above the cut-off; scores: probability (the class's "
                   "probability) and margin (log p_pathway - log p_Control)",
           "chosen_on": "validation pool (proficient tumours no fit trained on)",
           "n_validation": int(len(validation)), "cutoffs": {}}
    for kind in ("probability", "margin"):
        out["cutoffs"][kind] = {f"{fpr:g}": {pathway: float(cutoff(pathway_score(validation, pathway, kind), fpr))
                                            for pathway in DDR_PATHWAYS} for fpr in fpr_targets}
    return out
