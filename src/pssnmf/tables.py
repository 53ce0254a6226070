"""Builders of the paper's Tables 1–4 from tidy data.

* Table 1 (section 3): the final fits' test scores per task, split mode, proportion and model,
  with bootstrap intervals and the spread over seeds (:func:`table1`, :func:`table1_markdown`;
  ``python -m pssnmf.experiment table1`` reads and writes the files).
* Table 2 (Appendix B.2): TCGA samples per cancer type by DNA-repair status (homozygous,
  heterozygous, wild type) of the MMR, BER and HR pathways.
* Table 3 (Appendix C.3): pseudo-labelled samples per confidence threshold (ct) at each
  proportion of unlabelled data, and their ratio.
* Table 4 (Appendix C.3): mean TCGA prediction probability, pseudo-label count and precision per
  model, proportion and ct.

Each builder returns a DataFrame ready to be written as TSV; column names say what a column holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pssnmf import metrics as metrics_lib
from pssnmf import models as models_lib
from pssnmf.folds import seed_sequence
from pssnmf.planning import BASELINES


PATHWAYS = ("HR", "MMR", "BER")
STATUSES = ("hom", "het", "wt")

#: The column of Table 2 for each heterozygous combination, in the paper's order.
_HET_COLUMNS = [
    " & ".join(combo) + " het"
    for size in (1, 2, 3)
    for combo in ([("HR",), ("MMR",), ("BER",)] if size == 1 else
                  [("HR", "MMR"), ("HR", "BER"), ("BER", "MMR")] if size == 2 else
                  [("HR", "MMR", "BER")])
]
_HOM_COLUMNS = [f"{p} hom" for p in PATHWAYS]
#: Tumours homozygous in more than one pathway: no indicative label (docs/protocol.md, "Labels": a tumour "uniquely
#: homozygous" in one pathway carries it); the paper's Table 2 has no column for them.
MULTIPLE_HOM = "multiple hom"
TABLE2_COLUMNS = [
    "cancer_type", *_HET_COLUMNS, *_HOM_COLUMNS, MULTIPLE_HOM,
    "TOT het", "TOT hom", "TOT control", "TOT samples",
]


def markdown_table(table: pd.DataFrame, missing: str = "N.A.") -> str:
    """``table`` as a Markdown table: floats to 4 significant digits, NaN as ``missing``, ``|``
    in a cell escaped."""
    def cell(value) -> str:
        if isinstance(value, float):
            return missing if np.isnan(value) else f"{value:.4g}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; got {list(frame.columns)}")


def ddr_status_category(mmr: str, ber: str, hr: str) -> str:
    """The Table 2 column of one tumour from its MMR, BER and HR status (``hom``/``het``/``wt``).

    Homozygous in exactly one pathway → ``<pathway> hom`` (its indicative label, whatever the other
    pathways' heterozygous status); homozygous in several → :data:`MULTIPLE_HOM`; otherwise
    heterozygous in a set of pathways → that set's ``het`` column; wild type in all → control.
    """
    status = {"MMR": mmr, "BER": ber, "HR": hr}
    hom = [p for p in PATHWAYS if status[p] == "hom"]
    if len(hom) == 1:
        return f"{hom[0]} hom"
    if len(hom) > 1:
        return MULTIPLE_HOM
    het = tuple(p for p in PATHWAYS if status[p] == "het")
    if not het:
        return "control"
    for column in _HET_COLUMNS:
        if set(column.removesuffix(" het").split(" & ")) == set(het):
            return column
    raise AssertionError(het)  # every non-empty subset of the 3 pathways has a column


def table2_ddr_counts(labels: pd.DataFrame, *, total_row: bool = True) -> pd.DataFrame:
    """Table 2: TCGA samples per cancer type by DDR status.

    Parameters
    ----------
    labels : DataFrame
        One row per TCGA sample: ``sample, cancer_type, MMR, BER, HR`` with each pathway's status
        ``hom``, ``het`` or ``wt`` (case-insensitive).
    total_row : bool
        Append an ``All`` row summing the cancer types.

    Returns
    -------
    DataFrame with :data:`TABLE2_COLUMNS`: the heterozygous combinations, the uniquely homozygous
    pathways, ``multiple hom``, and ``TOT het`` (sum of the het columns), ``TOT hom`` (the hom
    columns and ``multiple hom``), ``TOT control`` (wild type in all three), ``TOT samples``.
    """
    _require(labels, ("sample", "cancer_type", *PATHWAYS), "DDR labels")
    if labels["sample"].duplicated().any():
        raise ValueError(f"DDR labels: sample {labels.loc[labels['sample'].duplicated(), 'sample'].iat[0]!r} "
                         "appears twice")
    frame = labels[["sample", "cancer_type", *PATHWAYS]].copy()
    for pathway in PATHWAYS:
        values = frame[pathway].astype(str).str.strip().str.lower()
        bad = ~values.isin(STATUSES)
        if bad.any():
            row = frame.index[bad][0]
            raise ValueError(
                f"DDR labels: row {row} (sample {frame.at[row, 'sample']!r}), column {pathway}: "
                f"{frame.at[row, pathway]!r} is not one of {list(STATUSES)}"
            )
        frame[pathway] = values
    frame["category"] = [
        ddr_status_category(m, b, h) for m, b, h in zip(frame["MMR"], frame["BER"], frame["HR"])
    ]
    counts = pd.crosstab(frame["cancer_type"], frame["category"])
    table = counts.reindex(columns=[*_HET_COLUMNS, *_HOM_COLUMNS, MULTIPLE_HOM, "control"], fill_value=0)
    table["TOT het"] = table[_HET_COLUMNS].sum(axis=1)
    table["TOT hom"] = table[[*_HOM_COLUMNS, MULTIPLE_HOM]].sum(axis=1)
    table["TOT control"] = table.pop("control")
    table["TOT samples"] = table[["TOT het", "TOT hom", "TOT control"]].sum(axis=1)
    table = table.reset_index().rename_axis(columns=None)
    table = table.sort_values("cancer_type", ignore_index=True)
    if total_row:
        total = table.drop(columns="cancer_type").sum().to_frame().T
        total.insert(0, "cancer_type", "All")
        table = pd.concat([table, total], ignore_index=True)
    return table[TABLE2_COLUMNS].astype({c: int for c in TABLE2_COLUMNS[1:]})


def _canonical(metrics: pd.DataFrame) -> pd.DataFrame:
    # The experiment writes confidence_threshold; the paper (and our figures) say ct.
    if "ct" not in metrics.columns and "confidence_threshold" in metrics.columns:
        metrics = metrics.rename(columns={"confidence_threshold": "ct"})
    return metrics


def _proportion_label(proportion: float) -> str:
    return f"{round(100 * float(proportion))}%"


def table3_pseudo_label_activity(metrics: pd.DataFrame) -> pd.DataFrame:
    """Table 3: pseudo-labelled samples per ct, summed over the PSS models, folds and restarts.

    Parameters
    ----------
    metrics : DataFrame
        Per-fit validation metrics of the pseudo-labelling models: ``proportion, model, ct,
        n_pseudo_labels`` (``confidence_threshold`` accepted for ``ct``); rows without a ct are
        ignored.  Pass one task (the paper's Table 3 is the cancer-type task).

    Returns
    -------
    DataFrame ``ct``, one ``pseudo_labelled_<p>`` column per proportion (e.g.
    ``pseudo_labelled_33%``), and with two proportions ``ratio_<high>_over_<low>`` (NaN where the
    lower count is 0, the paper's "N.A.").
    """
    metrics = _canonical(metrics)
    _require(metrics, ("proportion", "model", "ct", "n_pseudo_labels"), "per-fit metrics")
    if "task" in metrics.columns and metrics["task"].nunique() > 1:
        raise ValueError(f"per-fit metrics: one task expected, got {sorted(metrics['task'].unique())}")
    frame = metrics[metrics["ct"].notna()]
    if frame.empty:
        raise ValueError("per-fit metrics: no row with a ct (no pseudo-labelling model)")
    counts = frame.pivot_table(index="ct", columns="proportion", values="n_pseudo_labels",
                               aggfunc="sum", fill_value=0).sort_index()
    proportions = sorted(counts.columns)
    table = pd.DataFrame({"ct": counts.index.astype(float)})
    for p in proportions:
        table[f"pseudo_labelled_{_proportion_label(p)}"] = counts[p].to_numpy().astype(int)
    if len(proportions) == 2:
        low, high = proportions
        lo = counts[low].to_numpy(dtype=float)
        hi = counts[high].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(lo > 0, hi / np.where(lo > 0, lo, 1), np.nan)
        table[f"ratio_{_proportion_label(high)}_over_{_proportion_label(low)}"] = ratio
    return table


def table4_prediction_probability(
    metrics: pd.DataFrame, selected: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Table 4: mean TCGA prediction probability, pseudo-labels and their precision.

    Parameters
    ----------
    metrics : DataFrame
        Per-fit validation metrics: ``proportion, model, K, lambda_c, lambda_l2, ct,
        tcga_mean_max_probability, n_pseudo_labels, pseudo_label_precision`` and, where the
        experiment gives it, ``n_pseudo_labels_with_truth`` (pseudo-labels of tumours with a
        known class: the precision's denominator).  ``ct`` NaN for models without pseudo-labels.
    selected : DataFrame, optional
        ``model, proportion, K, lambda_c, lambda_l2``: the optimal configuration of each model
        (PSS-NMF rows carry the SS-NMF optimum they reuse); only those fits are kept, every ct.

    Returns
    -------
    DataFrame ``model, proportion, K, lambda_c, lambda_l2, ct, n_fits,
    mean_tcga_probability, pseudo_labelled_samples, pseudo_label_precision``: the probability is
    the mean over fits, the count the sum, the precision pooled over fits (correct / judged);
    precision NaN where nothing was pseudo-labelled (the paper's N.A.).
    """
    metrics = _canonical(metrics)
    keys = ["model", "proportion", "K", "lambda_c", "lambda_l2", "ct"]
    _require(metrics, (*keys, "tcga_mean_max_probability", "n_pseudo_labels", "pseudo_label_precision"),
             "per-fit metrics")
    frame = metrics.copy()
    if selected is not None:
        _require(selected, keys[:5], "selected configurations")
        chosen = selected[keys[:5]].drop_duplicates()
        frame = frame.merge(chosen, on=keys[:5], how="inner")
        if frame.empty:
            raise ValueError("per-fit metrics: no fit matches the selected configurations")
    judged = (frame["n_pseudo_labels_with_truth"] if "n_pseudo_labels_with_truth" in frame.columns
              else frame["n_pseudo_labels"]).fillna(0).astype(float)
    precision = frame["pseudo_label_precision"].astype(float)
    frame = frame.assign(
        _judged=judged.where(precision.notna(), 0.0),
        _correct=(precision.fillna(0.0) * judged).where(precision.notna(), 0.0),
    )
    grouped = frame.groupby(keys, dropna=False, sort=False)
    table = grouped.agg(
        n_fits=("model", "size"),
        mean_tcga_probability=("tcga_mean_max_probability", "mean"),
        pseudo_labelled_samples=("n_pseudo_labels", "sum"),
        _correct=("_correct", "sum"),
        _judged=("_judged", "sum"),
    ).reset_index()
    has_ct = table["ct"].notna()
    table["pseudo_labelled_samples"] = table["pseudo_labelled_samples"].where(has_ct)
    judged = table["_judged"].where(table["_judged"] > 0)
    table["pseudo_label_precision"] = (table["_correct"] / judged).where(has_ct)
    table = table.drop(columns=["_correct", "_judged"])
    return table.sort_values(["model", "proportion", "ct"], na_position="first", ignore_index=True)


# ---- Table 1 ---------------------------------------------------------------------------------

TABLE1_SCORES = (
    ("cellline_accuracy", "cell_line", "accuracy"),
    ("cellline_f1", "cell_line", "macro_f1"),
    ("tcga_accuracy", "tumour", "accuracy"),
    ("tcga_f1", "tumour", "macro_f1"),
    ("tcga_f1_truth_classes", "tumour", "macro_f1_truth_classes"),
)


def seed_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(sd, min, max) of one score over the seeds (replicates) of a final fit.

    sd is the sample standard deviation (ddof 1), NaN with a single seed; NaN values (a score
    a model does not have, e.g. a baseline's stability) are left out.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.nan, np.nan, np.nan
    sd = float(np.std(values, ddof=1)) if values.size > 1 else np.nan
    return sd, float(values.min()), float(values.max())


def table1(final_metrics: pd.DataFrame, predictions: pd.DataFrame, paper: pd.DataFrame | None = None,
           n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per (task, split mode, proportion, model) of the final fits (fold ``test``).

    Every score is the mean over the replicates (seeds) of the score on the whole test set, with
    a percentile bootstrap interval over test samples and, where several seeds were run, over
    seeds (:func:`pssnmf.metrics.bootstrap_ci`); ``<score>_seed_sd``, ``_seed_min`` and
    ``_seed_max`` give the spread of the per-seed scores (:func:`seed_spread`).  Stability has
    the range over seeds.  Baselines (no lambdas, K for NMF+LR only) have NaN where they have no
    value.  The paper's numbers sit in ``paper_*`` columns.
    """
    final_metrics = final_metrics[final_metrics["fold"].astype(str) == "test"]
    predictions = predictions[predictions["fold"].astype(str) == "test"]
    keys = ["task", "split_mode", "proportion", "model"]
    rows = []
    for key, fits in final_metrics.groupby(keys, sort=True):
        row = dict(zip(keys, key))
        first = fits.iloc[0]
        row.update(K=first["K"], lambda_c=first["lambda_c"], lambda_l2=first["lambda_l2"],
                   confidence_threshold=first["confidence_threshold"], n_replicates=len(fits))
        row["stability"], row["stability_low"], row["stability_high"] = metrics_lib.seeds_ci(fits["stability"], level)
        spreads = {"stability": seed_spread(fits["stability"])}
        preds = predictions
        for k, v in zip(keys, key):
            preds = preds[preds[k] == v] if k != "proportion" else preds[preds[k].map(float) == float(v)]
        for name, source, metric in TABLE1_SCORES:
            part = preds[(preds["source"] == source) & (preds["truth"].fillna("") != "")]
            pairs = [(r["truth"].astype(str).to_numpy(), r["predicted"].astype(str).to_numpy())
                     for _, r in part.sort_values(["replicate", "row_id"]).groupby("replicate", sort=True)]
            ci_seed = seed_sequence(seed, "table1", *key, name)
            if pairs:
                row[name], row[f"{name}_low"], row[f"{name}_high"] = metrics_lib.bootstrap_ci(
                    pairs, metric, n_boot=n_boot, level=level, seed=ci_seed)
            else:
                row[name] = row[f"{name}_low"] = row[f"{name}_high"] = np.nan
            spreads[name] = seed_spread([metrics_lib.METRICS[metric](t, p) for t, p in pairs])
        for name, (sd, low, high) in spreads.items():
            row[f"{name}_seed_sd"], row[f"{name}_seed_min"], row[f"{name}_seed_max"] = sd, low, high
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["K"] = table["K"].astype("Int64")  # "4", not "4.0", beside the baselines' blank K
    if paper is not None and len(table):
        paper = paper.rename(columns={c: f"paper_{c}" for c in paper.columns if c not in ("task", "model",
                                                                                          "proportion")})
        table = table.merge(paper, on=["task", "model", "proportion"], how="left")
    return table


def format_number(value: float, digits: int = 3) -> str:
    """A score to ``digits`` decimals, ``–`` where there is none (NaN or None)."""
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _fmt_g(value: float) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:g}"


def table1_markdown(table: pd.DataFrame) -> str:
    """Markdown: our scores with intervals, the paper's beside them (– where it gives none)."""
    lines = []
    for (task, split_mode), part in table.groupby(["task", "split_mode"], sort=True):
        lines += [f"### {task}, split mode `{split_mode}`", "",
                  "| unlabelled | model | K | λc | λL2 | ct | stability | F1 cell line | F1 TCGA | "
                  "acc. cell line | acc. TCGA | paper: K, λc, λL2, ct | paper stability | paper F1 cell line | "
                  "paper F1 TCGA |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        order = {m: i for i, m in enumerate(models_lib.names())}
        part = part.sort_values(["proportion", "model"], key=lambda c: c.map(order) if c.name == "model" else c)
        for _, r in part.iterrows():
            def ci(name: str) -> str:
                if pd.isna(r[name]):
                    return "–"
                text = f"{format_number(r[name])} [{format_number(r[name + '_low'])}, {format_number(r[name + '_high'])}]"
                if r["n_replicates"] > 1 and f"{name}_seed_sd" in r:
                    text += f" ±{format_number(r[name + '_seed_sd'])}"
                return text
            ct = "–" if pd.isna(r["confidence_threshold"]) else f"{r['confidence_threshold']:g}"
            paper_point = "–"
            if "paper_K" in r and not pd.isna(r.get("paper_K")):
                pct = "–" if pd.isna(r.get("paper_confidence_threshold")) else f"{r['paper_confidence_threshold']:g}"
                paper_point = f"{int(r['paper_K'])}, {r['paper_lambda_c']:g}, {r['paper_lambda_l2']:g}, {pct}"
            lines.append(
                f"| {float(r['proportion']):.0%} | {r['model']} | {_fmt_g(r['K'])} | {_fmt_g(r['lambda_c'])} | "
                f"{_fmt_g(r['lambda_l2'])} | {ct} | {ci('stability')} | {ci('cellline_f1')} | {ci('tcga_f1')} | "
                f"{ci('cellline_accuracy')} | {ci('tcga_accuracy')} | {paper_point} | "
                f"{format_number(r.get('paper_stability', np.nan))} | {format_number(r.get('paper_cellline_f1', np.nan), 4)} | "
                f"{format_number(r.get('paper_tcga_f1', np.nan), 4)} |")
        lines.append("")
    lines.append("Intervals: 95 % percentile bootstrap over test samples (and over seeds where several were "
                 "run); stability: range over seeds. Paper: Table 1 of the PSS-NMF paper (50 % unlabelled, "
                 "single runs).")
    replicates = sorted(set(int(n) for n in table["n_replicates"])) if len(table) else []
    if replicates and max(replicates) > 1:
        lines.append(f"Seeds: every score is the mean over {'/'.join(map(str, replicates))} seeds; ±: standard "
                     "deviation of the per-seed scores (the TSV also has their min and max).")
    if len(table) and table["model"].isin(BASELINES).any():
        lines.append(f"Baselines ({', '.join(BASELINES)}, docs/beyond.md): no λc, λL2 or restarts, so no "
                     f"stability; in the workflow NMF+LR's K is the chosen {models_lib.spec('NMF+LR').k_from} point's.")
    return "\n".join(lines) + "\n"



# ---- the paper's numbers, as comparison columns ----------------------------------------------
#
# Packaged transcriptions of the paper's Tables 2–4 (``paper_table{2,3,4}.tsv``).  They are joined
# beside our tables as ``paper_*`` columns for reading only: no computation or test expectation
# uses them.  Tables 3 and 4 of the paper are for the cancer-type task (their ``task`` column);
# any other task gets empty (NaN) paper columns.

def paper_table(number: int) -> pd.DataFrame:
    """The paper's Table ``number`` (1 to 4) as packaged in ``paper_table<number>.tsv``: comparison
    columns, never expected values."""
    if number not in (1, 2, 3, 4):
        raise ValueError(f"paper table: 1, 2, 3 or 4 expected, got {number!r}")
    from importlib import resources
    with resources.files("pssnmf").joinpath(f"paper_table{number}.tsv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, sep="\t")


def _paper_columns(paper: pd.DataFrame, keys) -> pd.DataFrame:
    return paper.rename(columns={c: f"paper_{c}" for c in paper.columns if c not in keys})


def _proportion_key(values) -> pd.Series:
    return pd.Series(values).map(lambda p: np.nan if pd.isna(p) else float(round(100 * float(p))))


def _ct_key(values) -> pd.Series:
    return pd.Series(values).map(lambda c: -1.0 if pd.isna(c) else round(float(c), 6))


def with_paper_table2(table: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """``table`` (from :func:`table2_ddr_counts`) with the paper's counts as ``paper_<column>``.

    Joined on ``cancer_type`` (left join: our rows and columns unchanged, NaN where the paper has
    no such cohort, e.g. our ``All`` row).
    """
    paper = paper_table(2) if paper is None else paper
    joined = table.merge(_paper_columns(paper, ("cancer_type",)), on="cancer_type", how="left")
    assert len(joined) == len(table)
    return joined


def with_paper_table3(table: pd.DataFrame, task: str | None, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """``table`` (from :func:`table3_pseudo_label_activity`) with the paper's Table 3 beside it.

    Joined on ``ct`` for the paper's task (cancer type); every ``paper_*`` column is NaN for
    another task and where the paper has no such ct.  The paper's counts are named
    ``paper_n_pseudo_labels_<p>``, not ``*pseudo_labelled_*``, so that selecting our count columns
    by that substring still finds only ours.
    """
    paper = paper_table(3) if paper is None else paper
    paper = paper[paper["task"] == task].drop(columns="task")
    paper = _paper_columns(paper, ("ct",)).assign(_ct=lambda f: _ct_key(f["ct"]).to_numpy()).drop(columns="ct")
    left = table.assign(_ct=_ct_key(table["ct"]).to_numpy())
    joined = left.merge(paper, on="_ct", how="left").drop(columns="_ct")
    assert len(joined) == len(table)
    return joined


def with_paper_table4(table: pd.DataFrame, task: str | None, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """``table`` (from :func:`table4_prediction_probability`) with the paper's Table 4 beside it.

    Joined on ``model``, ``proportion`` and ``ct`` (no ct for SS-NMF models), for the paper's task
    (cancer type); the paper's own (K, λc, λL2) come as ``paper_K``, ``paper_lambda_c``,
    ``paper_lambda_l2``.  NaN where the paper has no such row.
    """
    paper = paper_table(4) if paper is None else paper
    paper = paper[paper["task"] == task].drop(columns="task")
    paper = _paper_columns(paper, ("model", "proportion", "ct"))
    paper = paper.assign(_p=_proportion_key(paper["proportion"]).to_numpy(),
                         _ct=_ct_key(paper["ct"]).to_numpy()).drop(columns=["proportion", "ct"])
    left = table.assign(_p=_proportion_key(table["proportion"]).to_numpy(), _ct=_ct_key(table["ct"]).to_numpy())
    joined = left.merge(paper, on=["model", "_p", "_ct"], how="left").drop(columns=["_p", "_ct"])
    assert len(joined) == len(table)
    return joined


# ---- beyond the paper: genome/exome opportunity, calibration ---------------------------------

OPPORTUNITY_SCALES = ("none", "exome")
SOURCES = {"cell_line": "cell lines", "tumour": "TCGA"}
_KEYS = ["task", "split_mode", "proportion", "model"]


def _paired(frames: dict[str, pd.DataFrame], source: str) -> dict[tuple, dict]:
    """Per (task, split, proportion, model): truth and each scale's predictions, aligned by
    (replicate, row_id), of the test rows of ``source`` that have a truth."""
    out: dict[tuple, dict] = {}
    aligned = None
    for scale, frame in frames.items():
        _require(frame, [*_KEYS, "row_id", "source", "truth", "predicted", "replicate", "fold"], f"{scale} predictions")
        part = frame[(frame["fold"].astype(str) == "test") & (frame["source"] == source)
                     & (frame["truth"].fillna("").astype(str) != "")]
        part = part.assign(proportion=part["proportion"].map(float), replicate=part["replicate"].map(int))
        part = part[[*_KEYS, "replicate", "row_id", "truth", "predicted"]].rename(columns={"predicted": scale})
        aligned = part if aligned is None else aligned.merge(part, on=[*_KEYS, "replicate", "row_id", "truth"],
                                                             how="outer", indicator=True)
        if "_merge" in aligned.columns:
            unmatched = aligned[aligned["_merge"] != "both"]
            if len(unmatched):
                r = unmatched.iloc[0]
                raise ValueError(f"{source} test row {r['row_id']!r} ({r['model']}, replicate {r['replicate']}) is "
                                 f"not predicted at both scales: the two runs must share folds and seeds")
            aligned = aligned.drop(columns="_merge")
    for key, part in aligned.groupby(_KEYS, sort=True):
        part = part.sort_values(["replicate", "row_id"])
        replicates = sorted(part["replicate"].unique())
        rows = [part[part["replicate"] == r] for r in replicates]
        out[key] = {"truth": np.stack([r["truth"].astype(str).to_numpy() for r in rows]),
                    **{scale: np.stack([r[scale].astype(str).to_numpy() for r in rows]) for scale in frames}}
    return out


def opportunity_comparison(predictions: dict[str, pd.DataFrame], n_boot: int = 1000, level: float = 0.95,
                           seed: int = 0) -> pd.DataFrame:
    """Test-set scores of the same final fits with and without genome/exome conversion.

    predictions : ``{"none": frame, "exome": frame}``, the final fits' test predictions at each
    scale (:func:`pssnmf.experiment.run_fit_batch` output: ``task, split_mode, proportion, model,
    replicate, row_id, source, truth, predicted``), made with the same folds, hyperparameters and
    seeds, so every test sample is predicted at both scales.  One row per (task, split mode,
    proportion, model, source): macro F1 and accuracy at each scale (mean over seeds), the change
    ``exome - none`` of macro F1 with a paired percentile bootstrap interval (the same resampled
    test samples scored at both scales), and how many predictions the conversion changed.
    """
    from pssnmf.metrics import accuracy, macro_f1, scores_from_codes

    missing = [s for s in OPPORTUNITY_SCALES if s not in predictions]
    if missing:
        raise ValueError(f"predictions at scale(s) {missing} are missing; give both {OPPORTUNITY_SCALES}")
    rows = []
    for source, source_name in SOURCES.items():
        for key, data in _paired({s: predictions[s] for s in OPPORTUNITY_SCALES}, source).items():
            truth, none, exome = data["truth"], data["none"], data["exome"]
            n_rep, n = truth.shape
            labels = sorted(set(np.unique(truth)) | set(np.unique(none)) | set(np.unique(exome)))
            code = {label: i for i, label in enumerate(labels)}
            encode = np.vectorize(code.__getitem__, otypes=[np.int64])
            t, a, b = encode(truth), encode(none), encode(exome)
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n_rep, n, len(rows))))
            idx = rng.integers(0, n, size=(n_boot, n))
            change = np.mean([scores_from_codes(t[r][idx], b[r][idx], len(labels), "macro_f1")
                              - scores_from_codes(t[r][idx], a[r][idx], len(labels), "macro_f1")
                              for r in range(n_rep)], axis=0)
            alpha = (1 - level) / 2
            f1 = {s: float(np.mean([macro_f1(truth[r], p[r]) for r in range(n_rep)])) for s, p in
                  (("none", none), ("exome", exome))}
            acc = {s: float(np.mean([accuracy(truth[r], p[r]) for r in range(n_rep)])) for s, p in
                   (("none", none), ("exome", exome))}
            rows.append({**dict(zip(_KEYS, key)), "source": source_name, "n_samples": n, "n_replicates": n_rep,
                         "f1_none": f1["none"], "f1_exome": f1["exome"], "f1_change": f1["exome"] - f1["none"],
                         "f1_change_low": float(np.quantile(change, alpha)),
                         "f1_change_high": float(np.quantile(change, 1 - alpha)),
                         "accuracy_none": acc["none"], "accuracy_exome": acc["exome"],
                         "predictions_changed": float((none != exome).sum(axis=1).mean())})
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values([*_KEYS, "source"], kind="stable").reset_index(drop=True)
    return table


def calibration_table(test: pd.DataFrame, temperatures: dict[str, float], n_bins: int = 10
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ECE of the final models' test predictions, per model and source, raw and temperature-scaled.

    test : final test predictions (``model, source, truth, predicted, probability_<class>``, one
    replicate or several: all rows are pooled).  temperatures : model -> T fitted on the
    validation folds (NaN: none could be fitted; the scaled columns are then NaN).
    Returns (table, curves): one row per (model, source) with ``n_predictions`` (all replicates), ``accuracy``,
    ``mean_confidence``, ``ece``, ``temperature``, ``ece_scaled``; and the reliability curves
    (:func:`pssnmf.calibration.reliability_curve`) with ``model``, ``source``, ``scaling``
    (``raw`` / ``temperature``).
    """
    from pssnmf.calibration import apply_temperature, expected_calibration_error, reliability_curve

    _require(test, ["model", "source", "truth", "predicted"], "test predictions")
    classes = [c.removeprefix("probability_") for c in test.columns if c.startswith("probability_")]
    if len(classes) < 2:
        raise ValueError("test predictions: expected probability_<class> columns for at least two classes")
    rows, curves = [], []
    for (model, source), part in test.groupby(["model", "source"], sort=True):
        part = part[part["truth"].fillna("").astype(str) != ""]
        if part.empty:
            continue
        probability = part[[f"probability_{c}" for c in classes]].to_numpy(dtype=float)
        truth = part["truth"].astype(str).to_numpy()
        temperature = float(temperatures.get(model, np.nan))
        versions = {"raw": probability}
        if np.isfinite(temperature):
            versions["temperature"] = apply_temperature(probability, temperature)
        for scaling, p in versions.items():
            curve = reliability_curve(p, truth, classes, n_bins)
            curves.append(curve.assign(model=model, source=SOURCES.get(source, source), scaling=scaling))
        rows.append({"model": model, "source": SOURCES.get(source, source), "n_predictions": len(part),
                     "accuracy": float(np.mean(np.asarray(classes)[probability.argmax(axis=1)] == truth)),
                     "mean_confidence": float(probability.max(axis=1).mean()),
                     "ece": expected_calibration_error(probability, truth, classes, n_bins),
                     "temperature": temperature,
                     "ece_scaled": (expected_calibration_error(versions["temperature"], truth, classes, n_bins)
                                    if "temperature" in versions else np.nan)})
    curve_frame = (pd.concat(curves, ignore_index=True)[["model", "source", "scaling", "bin", "lower", "upper",
                                                          "mean_predicted", "observed_frequency", "count"]]
                   if curves else pd.DataFrame())
    return pd.DataFrame(rows), curve_frame


def undetermined_table(intervals: pd.DataFrame) -> pd.DataFrame:
    """How many test samples get a class and how good those classes are, per model and source.

    intervals : :func:`pssnmf.uncertainty.prediction_intervals` tables, concatenated, with ``model``,
    ``source`` and ``truth`` columns added.  One row per (model, source): ``n_samples``,
    ``n_determined``, ``n_few_mutations``, ``n_wide_interval``, and accuracy and macro F1 on all
    samples (``predicted``: never forced to "undetermined"), on the determined and on the
    undetermined ones (NaN where there are none).
    """
    from pssnmf.metrics import accuracy, macro_f1

    _require(intervals, ["model", "source", "truth", "predicted", "determined", "reason"], "intervals")
    rows = []
    for (model, source), part in intervals.groupby(["model", "source"], sort=True):
        part = part[part["truth"].fillna("").astype(str) != ""]
        if part.empty:
            continue
        truth = part["truth"].astype(str).to_numpy()
        predicted = part["predicted"].astype(str).to_numpy()
        determined = part["determined"].astype(bool).to_numpy()
        row = {"model": model, "source": SOURCES.get(source, source), "n_samples": len(part),
               "n_determined": int(determined.sum()),
               "n_few_mutations": int((part["reason"] == "few mutations").sum()),
               "n_wide_interval": int((part["reason"] == "wide interval").sum())}
        for name, keep in (("all", np.ones(len(part), dtype=bool)), ("determined", determined),
                           ("undetermined", ~determined)):
            row[f"accuracy_{name}"] = accuracy(truth[keep], predicted[keep]) if keep.any() else np.nan
            row[f"f1_{name}"] = macro_f1(truth[keep], predicted[keep]) if keep.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "opportunity_comparison",
    "calibration_table",
    "undetermined_table",
    "table2_ddr_counts",
    "table3_pseudo_label_activity",
    "table4_prediction_probability",
    "ddr_status_category",
    "paper_table",
    "with_paper_table2",
    "with_paper_table3",
    "with_paper_table4",
    "TABLE2_COLUMNS",
    "MULTIPLE_HOM",
]

