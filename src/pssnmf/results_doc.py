"""The reproduction as run: ``docs/results/`` written from a finished run's ``results/`` (issue 20).

``snakemake results_doc`` (after a run) calls this module, which writes, into one folder:

- ``tables/``: every table of ``results/tables/`` (TSV and Markdown, byte for byte) and
  ``selection.{tsv,md}``, the chosen point of every model (``results/select/*/*/*/chosen.tsv``);
- ``figures/``: the key figures as PNG (confusion matrices, Pareto fronts, signatures against
  COSMIC, exposures, the screening ROC curves);
- ``claims.tsv``: the paper's claims, one row each, with our numbers and a verdict in both split
  modes (:func:`claims`);
- ``README.md``: a header recording the run (commit, resolved config's SHA-256, data checksums,
  machine, wall time), the claims table, how its verdicts are decided, and links to the rest.

Everything here is computed from the run's files; nothing is typed in but the rules that turn
numbers into verdicts (:data:`VERDICT_RULES`), which the README prints.  The paper's numbers
come from the packaged ``paper_table*.tsv`` and the paper's text (Fig. 7, :data:`PAPER_COSINES`),
for comparison only.

The folder is built beside the target and moved into place when complete: a failed run leaves
the previous one (or none), never half of one.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pssnmf.data.atomic import current_umask, write_table, write_text
from pssnmf.folds import proportion_label
from pssnmf.release import sha256
from pssnmf.tables import format_number, markdown_table, paper_table

#: The paper's Table 1 proportion: the claims about Table 1 are read there.
CLAIM_PROPORTION = 0.5
SPLITS = ("grouped", "paper")
#: The paper's reading of "near 0.97" (DDRd cell-line F1 of SS-NMF and PSS-NMF, 0.978).
NEAR_CELLLINE_F1 = (0.97, 0.03)
#: The paper's range of K for the selected points (Table 1: 5-7).
PAPER_K_RANGE = (5, 7)
#: A learned signature "matches" a COSMIC one at this cosine or more (SigProfiler's usual cut).
MATCH_COSINE = 0.8
#: Fig. 7 as the paper's text gives it (section 3.3): the best cosine of the pathway's learned
#: signature with that pathway's COSMIC signatures, and which one.
PAPER_COSINES = {
    ("S-NMF", "MMR"): ("SBS44", 0.93), ("PSS-NMF", "MMR"): ("SBS44", 0.94),
    ("S-NMF", "BER"): ("SBS30", 0.71), ("PSS-NMF", "BER"): ("SBS30", 0.86),
}

VERDICT_RULES = {
    "improves": "the paired difference B - A of the two models' macro F1 on the same test tumours, mean "
                "over the seeds, with a 95 % percentile bootstrap interval over test samples and seeds: "
                "**holds** if the interval is above 0, **does not hold** if it is below 0, **within noise** "
                "if it contains 0.",
    "near": "the 95 % interval (over test samples and seeds) of the cell-line macro F1: **holds** if its "
            f"lower end is at least {NEAR_CELLLINE_F1[0] - NEAR_CELLLINE_F1[1]:g} (0.97 less 0.03), **does "
            "not hold** if its upper end is below that, **within noise** otherwise.",
    "K": f"the K chosen on the validation folds: **holds** if it is in {PAPER_K_RANGE[0]}-{PAPER_K_RANGE[1]} "
         "(the paper's range), **does not hold** otherwise; the λ values are compared in the text (a "
         "choice on validation means, no interval).",
    "stable": "the stability of the final fit over its seeds (its 2.5-97.5 % range): **holds** if the "
              "range's lower end reaches the selection's stability threshold, **does not hold** if its "
              "upper end is below it, **within noise** otherwise.",
    "table3": "pseudo-labels counted at each confidence threshold ct (Table 3, every proportion): **holds** "
              "if the count never rises as ct rises and the lowest ct labels more than the highest, **does "
              "not hold** otherwise; **not tested** with fewer than two ct values.",
    "cosmic": f"the best cosine, over the model's learned signatures, with the pathway's COSMIC signatures "
              f"(Fig. 7's bold rows), per seed of the final fit: **holds** if every seed reaches "
              f"{MATCH_COSINE:g}, **does not hold** if none does, **within noise** otherwise.",
}

#: The log of ``snakemake results_doc`` itself (``results/logs/``), which the run's span leaves out.
DOC_LOG = "results_doc.log"

KEY_FIGURES = ("fig04_confusion", "fig10_14_pareto", "fig07_cosmic_similarity", "fig08_exposures")


# ---- reading the run -------------------------------------------------------------------------

def _tsv(path: Path, **options) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=True, **options)


def _proportion_folder(proportion: float) -> str:
    return f"u{proportion_label(proportion)}"


def _final(results: Path, task: str, split: str, proportion: float, model: str, suffix: str) -> Path:
    return results / "final" / task / split / _proportion_folder(proportion) / f"{model}{suffix}"


def _test_predictions(results: Path, task: str, split: str, proportion: float, model: str,
                      source: str) -> pd.DataFrame | None:
    path = _final(results, task, split, proportion, model, ".predictions.tsv")
    if not path.is_file():
        return None
    frame = _tsv(path, dtype={"truth": str, "predicted": str, "row_id": str})
    frame = frame[(frame["fold"].astype(str) == "test") & (frame["source"] == source)
                  & (frame["truth"].fillna("") != "")]
    return frame.sort_values(["replicate", "row_id"], kind="stable")


def _as_seed_matrix(frame: pd.DataFrame, column: str) -> np.ndarray:
    return np.stack([part[column].astype(str).to_numpy() for _, part in frame.groupby("replicate", sort=True)])


def _table1_row(table1: pd.DataFrame, task: str, split: str, model: str) -> pd.Series | None:
    rows = table1[(table1["task"] == task) & (table1["split_mode"] == split) & (table1["model"] == model)
                  & (table1["proportion"].astype(float) == CLAIM_PROPORTION)]
    return None if rows.empty else rows.iloc[0]


# ---- the claims ------------------------------------------------------------------------------

def _interval_verdict(low: float, high: float, threshold: float) -> str:
    if pd.isna(low) or pd.isna(high):
        return "not tested"
    if low >= threshold:
        return "holds"
    if high < threshold:
        return "does not hold"
    return "within noise"


def _claim_improves(results: Path, task: str, split: str, a: str, b: str, n_boot: int, seed: int) -> dict:
    from pssnmf.metrics import macro_f1, paired_difference_ci

    left = _test_predictions(results, task, split, CLAIM_PROPORTION, a, "tumour")
    right = _test_predictions(results, task, split, CLAIM_PROPORTION, b, "tumour")
    if left is None or right is None or left.empty:
        return {"ours": "not run", "verdict": "not tested"}
    keys = ["replicate", "row_id", "truth"]
    if not left[keys].reset_index(drop=True).equals(right[keys].reset_index(drop=True)):
        raise ValueError(f"{task}/{split}: {a} and {b} were not tested on the same tumours and seeds")
    truth, pa, pb = (_as_seed_matrix(left, "truth"), _as_seed_matrix(left, "predicted"),
                     _as_seed_matrix(right, "predicted"))
    rng_seed = np.random.SeedSequence(seed, spawn_key=tuple(map(ord, f"{task}|{split}|{a}|{b}")))
    change, low, high = paired_difference_ci(truth, pa, pb, "macro_f1", n_boot=n_boot, seed=rng_seed)
    per_seed = [macro_f1(truth[r], pb[r]) - macro_f1(truth[r], pa[r]) for r in range(len(truth))]
    f1a = np.mean([macro_f1(truth[r], pa[r]) for r in range(len(truth))])
    f1b = np.mean([macro_f1(truth[r], pb[r]) for r in range(len(truth))])
    ours = (f"{b} {format_number(f1b)} vs {a} {format_number(f1a)}: Δ {change:+.3f} [{low:+.3f}, {high:+.3f}], "
            f"per seed {min(per_seed):+.3f} to {max(per_seed):+.3f} ({len(truth)} seeds, {truth.shape[1]} tumours)")
    if low > 0:
        verdict = "holds"
    elif high < 0:
        verdict = "does not hold"
    else:
        verdict = "within noise"
    return {"ours": ours, "verdict": verdict, "value": change, "low": low, "high": high}


def _claim_near(table1: pd.DataFrame, split: str, model: str) -> dict:
    row = _table1_row(table1, "ddrd", split, model)
    if row is None or pd.isna(row["cellline_f1"]):
        return {"ours": "not run", "verdict": "not tested"}
    target, tolerance = NEAR_CELLLINE_F1
    ours = f"{format_number(row['cellline_f1'])} [{format_number(row['cellline_f1_low'])}, {format_number(row['cellline_f1_high'])}]"
    return {"ours": ours, "verdict": _interval_verdict(row["cellline_f1_low"], row["cellline_f1_high"],
                                                       target - tolerance),
            "value": row["cellline_f1"], "low": row["cellline_f1_low"], "high": row["cellline_f1_high"]}


def _point(row) -> str:
    ct = "" if pd.isna(row.get("confidence_threshold")) else f", ct {row['confidence_threshold']:g}"
    return f"K {int(row['K'])}, λc {row['lambda_c']:g}, λL2 {row['lambda_l2']:g}{ct}"


def _claim_k(table1: pd.DataFrame, paper: pd.DataFrame, task: str, split: str, model: str) -> dict:
    row = _table1_row(table1, task, split, model)
    if row is None or pd.isna(row["K"]):
        return {"ours": "not run", "verdict": "not tested"}
    ours = _point(row)
    theirs = paper[(paper["task"] == task) & (paper["model"] == model)]
    if len(theirs):
        same = all(np.isclose(float(row[c]), float(theirs.iloc[0][c])) for c in ("lambda_c", "lambda_l2"))
        ours += "; λ as the paper's" if same else "; λ differ from the paper's"
    low, high = PAPER_K_RANGE
    return {"ours": ours, "verdict": "holds" if low <= int(row["K"]) <= high else "does not hold",
            "value": float(row["K"])}


def _claim_stable(table1: pd.DataFrame, task: str, split: str, model: str, threshold: float) -> dict:
    row = _table1_row(table1, task, split, model)
    if row is None or pd.isna(row["stability"]):
        return {"ours": "not run", "verdict": "not tested"}
    ours = f"{format_number(row['stability'])} [{format_number(row['stability_low'])}, {format_number(row['stability_high'])}] at {_point(row)}"
    return {"ours": ours, "verdict": _interval_verdict(row["stability_low"], row["stability_high"], threshold),
            "value": row["stability"], "low": row["stability_low"], "high": row["stability_high"]}


def _claim_table3(results: Path, task: str, split: str) -> dict:
    path = results / "tables" / f"table3_{task}_{split}.tsv"
    if not path.is_file():
        return {"ours": "not run", "verdict": "not tested"}
    table = _tsv(path).sort_values("ct")
    columns = [c for c in table.columns if c.startswith("pseudo_labelled_")]
    if len(table) < 2 or not columns:
        return {"ours": f"{len(table)} ct value(s)", "verdict": "not tested"}
    parts, monotone = [], True
    for column in columns:
        counts = table[column].to_numpy(dtype=float)
        monotone &= bool(np.all(np.diff(counts) <= 0) and counts[0] > counts[-1])
        label = column.removeprefix("pseudo_labelled_")
        parts.append(f"{label}: " + " → ".join(f"{c:g}" for c in counts))
    ct = " → ".join(f"{c:g}" for c in table["ct"])
    return {"ours": f"ct {ct}; " + "; ".join(parts), "verdict": "holds" if monotone else "does not hold"}


def _cosmic_matrix(results: Path) -> pd.DataFrame | None:
    files = sorted(p for p in (results / "data" / "cosmic").glob("COSMIC_*_SBS_GRCh37.txt"))
    if not files:
        return None
    return _tsv(files[0]).set_index("Type").T


@functools.lru_cache(maxsize=None)
def _final_signatures(results: Path, split: str, model: str) -> tuple[np.ndarray, ...]:
    """Unit-norm signatures (K, 96) of each seed's DDRd final model: read once for every pathway."""
    from pssnmf.model import load_model

    folder = _final(results, "ddrd", split, CLAIM_PROPORTION, model, ".models")
    out = []
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        signatures = load_model(path, estimator=False).signatures_
        out.append(signatures / np.linalg.norm(signatures, axis=1, keepdims=True))
    return tuple(out)


def _claim_cosmic(results: Path, cosmic: pd.DataFrame | None, split: str, model: str, pathway: str) -> dict:
    from pssnmf.etiologies import DDR_ETIOLOGIES

    per_seed = _final_signatures(results, split, model)
    if cosmic is None or not per_seed:
        return {"ours": "not run", "verdict": "not tested"}
    names = [n for n in DDR_ETIOLOGIES[pathway] if n in cosmic.index]
    reference = cosmic.loc[names].to_numpy(dtype=float)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    best = []
    for signatures in per_seed:
        cosine = signatures @ reference.T
        k, j = np.unravel_index(np.argmax(cosine), cosine.shape)
        best.append((float(cosine[k, j]), names[j]))
    values = np.array([b[0] for b in best])
    matched = pd.Series([b[1] for b in best]).value_counts()
    ours = (f"{matched.index[0]} (best in {matched.iloc[0]}/{len(best)} seeds), cosine {values.mean():.2f}, "
            f"per seed {values.min():.2f}-{values.max():.2f}")
    reached = values >= MATCH_COSINE
    verdict = "holds" if reached.all() else "does not hold" if not reached.any() else "within noise"
    return {"ours": ours, "verdict": verdict, "value": float(values.mean()), "low": float(values.min()),
            "high": float(values.max())}


def claims(results: str | os.PathLike, min_stability: float, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The paper's claims, one row each, with our numbers and a verdict per split mode.

    Columns: ``claim, paper, rule`` (a key of :data:`VERDICT_RULES`), then for each split mode
    ``<split>_ours, <split>_verdict, <split>_value, <split>_low, <split>_high``, and
    ``leakage_changes_verdict`` (the ``paper`` split, which lets a tumour's bootstrap copies sit
    on both sides, gives another verdict than ``grouped``).
    """
    results = Path(results)
    table1 = _tsv(results / "tables" / "table1.tsv")
    paper = paper_table(1)
    cosmic = _cosmic_matrix(results)

    def paper_value(task, model, column, digits=4):
        row = paper[(paper["task"] == task) & (paper["model"] == model)]
        return "–" if row.empty or pd.isna(row.iloc[0][column]) else f"{row.iloc[0][column]:.{digits}g}"

    rows: list[tuple[str, str, str, callable]] = []
    for task, name in (("cancer_type", "cancer type"), ("ddrd", "DDRd")):
        rows.append((f"PSS-NMF improves TCGA macro F1 over S-NMF ({name}, 50 % unlabelled)",
                     f"{paper_value(task, 'PSS-NMF', 'tcga_f1')} vs {paper_value(task, 'S-NMF', 'tcga_f1')}",
                     "improves",
                     lambda split, task=task: _claim_improves(results, task, split, "S-NMF", "PSS-NMF",
                                                              n_boot, seed)))
    for model in ("SS-NMF", "PSS-NMF"):
        rows.append((f"{model} keeps DDRd cell-line macro F1 near 0.97",
                     paper_value("ddrd", model, "cellline_f1"), "near",
                     lambda split, model=model: _claim_near(table1, split, model)))
    for task, name in (("cancer_type", "cancer type"), ("ddrd", "DDRd")):
        for model in ("S-NMF", "SS-NMF", "PSS-NMF"):
            row = paper[(paper["task"] == task) & (paper["model"] == model)]
            theirs = _point(row.iloc[0]) if len(row) else "–"
            rows.append((f"{model} selects K in {PAPER_K_RANGE[0]}-{PAPER_K_RANGE[1]} ({name})", theirs, "K",
                         lambda split, task=task, model=model: _claim_k(table1, paper, task, split, model)))
    for task, name in (("cancer_type", "cancer type"), ("ddrd", "DDRd")):
        for model in ("S-NMF", "SS-NMF", "PSS-NMF"):
            rows.append((f"{model}'s chosen point is stable, at least {min_stability:g} ({name})",
                         paper_value(task, model, "stability", 3), "stable",
                         lambda split, task=task, model=model: _claim_stable(table1, task, split, model,
                                                                             min_stability)))
    paper3 = paper_table(3)
    for task, name in (("cancer_type", "cancer type"), ("ddrd", "DDRd")):
        part = paper3[paper3["task"] == task].sort_values("ct")
        theirs = ("50 %: " + " → ".join(f"{v:g}" for v in part["n_pseudo_labels_50%"])) if len(part) else "–"
        rows.append((f"pseudo-labelling activity rises as ct falls (Table 3, {name})", theirs, "table3",
                     lambda split, task=task: _claim_table3(results, task, split)))
    for pathway in ("MMR", "BER", "HR"):
        for model in ("S-NMF", "PSS-NMF"):
            known = PAPER_COSINES.get((model, pathway))
            theirs = f"{known[0]}, {known[1]:g}" if known else "– (Fig. 7 bolds SBS3; the text gives no cosine)"
            rows.append((f"a {model} DDRd signature matches a COSMIC {pathway} signature (Fig. 7)", theirs,
                         "cosmic", lambda split, model=model, pathway=pathway: _claim_cosmic(
                             results, cosmic, split, model, pathway)))

    records = []
    for claim, theirs, rule, compute in rows:
        record = {"claim": claim, "paper": theirs, "rule": rule}
        for split in SPLITS:
            outcome = compute(split)
            record[f"{split}_ours"] = outcome["ours"]
            record[f"{split}_verdict"] = outcome["verdict"]
            for key in ("value", "low", "high"):
                record[f"{split}_{key}"] = outcome.get(key, np.nan)
        verdicts = {record[f"{s}_verdict"] for s in SPLITS}
        record["leakage_changes_verdict"] = ("–" if "not tested" in verdicts
                                             else "yes" if len(verdicts) > 1 else "no")
        records.append(record)
    return pd.DataFrame(records)


# ---- the run's record ------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3}) ")


def run_span(results: Path) -> dict:
    """First and last time stamp in the jobs' logs (``results/logs``), the wall time between them
    and how many job logs there are: the run's wall time, not counting the first job's start-up."""
    first = last = None
    n_logs = 0
    for path in sorted((results / "logs").rglob("*.log")):
        if path.name == DOC_LOG:
            continue  # this target's own log, written after the run
        n_logs += 1
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = _STAMP.match(line)
                if match:
                    stamp = datetime.strptime(f"{match[1]}.{match[2]}", "%Y-%m-%d %H:%M:%S.%f")
                    first = stamp if first is None or stamp < first else first
                    last = stamp if last is None or stamp > last else last
    if first is None:
        return {"n_logs": n_logs, "first": None, "last": None, "wall_s": None}
    return {"n_logs": n_logs, "first": first.isoformat(sep=" ", timespec="seconds"),
            "last": last.isoformat(sep=" ", timespec="seconds"), "wall_s": (last - first).total_seconds()}


def config_sha256(config: dict) -> str:
    """SHA-256 of the resolved config as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def machine() -> str:
    """This machine in words: CPU model, cores, memory, OS and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2 ** 30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def _releases(results: Path) -> list[dict]:
    from pssnmf.model import load_model

    out = []
    for path in sorted((results / "release").glob("*.npz")):
        release = load_model(path, estimator=False).metadata_.get("release", {})
        out.append({"file": path.name, **release})
    return out


# ---- writing ---------------------------------------------------------------------------------

def _selection(results: Path) -> pd.DataFrame:
    frames = [_tsv(p) for p in sorted((results / "select").glob("*/*/*/chosen.tsv"))]
    if not frames:
        return pd.DataFrame()
    keep = ["task", "split_mode", "proportion", "model", "K", "lambda_c", "lambda_l2", "confidence_threshold",
            "mean_stability", "mean_cellline_f1", "mean_tcga_f1", "n_folds"]
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in keep if c in table.columns]]


def _figures(results: Path) -> list[tuple[Path, str]]:
    """(source PNG, name in figures/) of the key figures, at the claims' proportion."""
    out = []
    for task_dir in sorted(p for p in (results / "figures").iterdir() if p.is_dir()):
        for split in SPLITS:
            folder = task_dir / split / _proportion_folder(CLAIM_PROPORTION)
            for stem in KEY_FIGURES:
                png = folder / f"{stem}.png"
                if png.is_file():
                    out.append((png, f"{task_dir.name}_{split}_{stem}.png"))
    for png in sorted((results / "figures").glob("screening_roc_*.png")):
        out.append((png, png.name))
    return out


def _header(results: Path, doc_config: dict, span: dict, releases: list[dict], data: list[tuple[str, str]]) -> list[str]:
    from pssnmf.release import project_commit

    lines = ["# The reproduction, as run", "",
             "Written by `snakemake results_doc` from the run's `results/` (`pssnmf.results_doc`); "
             "do not edit by hand: rerun the target.", "", "## The run", ""]
    run_commits = sorted({(r.get("project") or {}).get("commit") or "unknown" for r in releases}) or ["unknown"]
    dirty = any((r.get("project") or {}).get("dirty") for r in releases)
    lines.append(f"- commit of the run (from its releases, `results/release/`): `{', '.join(run_commits)}`"
                 + (" (with uncommitted changes)" if dirty else ""))
    here = project_commit()
    lines.append(f"- commit writing this folder: `{here['commit'] or 'unknown'}`"
                 + (" (with uncommitted changes)" if here.get("dirty") else ""))
    run_configs = sorted({config_sha256(r["config"]) for r in releases if r.get("config")})
    lines.append(f"- resolved config, SHA-256 of its canonical JSON: `{config_sha256(doc_config)}`"
                 + ("" if not run_configs or run_configs == [config_sha256(doc_config)] else
                    f" (the run's releases record `{', '.join(run_configs)}`: another config)"))
    data_cfg = doc_config.get("data", {})
    lines.append(f"- data: `{data_cfg.get('local_dir') or data_cfg.get('mirror') or 'the public URLs'}`, "
                 f"TCGA route `{data_cfg.get('tcga_route')}`, cell lines `{data_cfg.get('cell_lines')}`, "
                 f"COSMIC `{data_cfg.get('cosmic_version')}`, subsample `{data_cfg.get('subsample_tumours')}`")
    if span["wall_s"] is not None:
        lines.append(f"- wall time: {span['wall_s'] / 3600:.2f} h ({span['wall_s']:.0f} s), from the first to "
                     f"the last time stamp in the {span['n_logs']} job logs ({span['first']} to {span['last']})")
    lines.append(f"- machine writing this folder: {machine()}")
    lines += ["", "<details><summary>Data checksums (SHA-256 of the filtered data the run read, "
              "<code>results/data/</code>)</summary>", "", "| file | SHA-256 |", "|---|---|"]
    lines += [f"| `{name}` | `{digest}` |" for name, digest in data]
    lines += ["", "</details>", ""]
    return lines


def write_doc(results: str | os.PathLike, out: str | os.PathLike, config: dict, min_stability: float,
              n_boot: int = 1000, seed: int = 0) -> Path:
    """Write the whole folder ``out`` from ``results``; returns ``out``."""
    results, out = Path(results), Path(out)
    if not (results / "tables" / "table1.tsv").is_file():
        raise FileNotFoundError(f"{results / 'tables' / 'table1.tsv'}: no Table 1; run the workflow first")
    table = claims(results, min_stability, n_boot=n_boot, seed=seed)
    span = run_span(results)
    releases = _releases(results)
    data = [(str(p.relative_to(results)), sha256(p)) for p in sorted((results / "data").rglob("*"))
            if p.is_file()]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it 0700; the files' writers use the umask
        (staging / "tables").mkdir()
        (staging / "figures").mkdir()
        tables = sorted(p for p in (results / "tables").iterdir() if p.suffix in (".tsv", ".md"))
        for path in tables:
            shutil.copyfile(path, staging / "tables" / path.name)
        selection = _selection(results)
        write_table(selection, staging / "tables" / "selection.tsv")
        write_text("**The chosen point of every model (validation folds; `results/select/`)**\n\n"
                   + markdown_table(selection, missing="–"), staging / "tables" / "selection.md")
        figures = _figures(results)
        for source, name in figures:
            shutil.copyfile(source, staging / "figures" / name)
        write_table(table, staging / "claims.tsv")
        write_text(_readme(results, config, span, releases, data, table, tables, figures), staging / "README.md")
        if out.exists():
            # The previous folder is this target's own output (Snakemake removes it first anyway).
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _readme(results: Path, config: dict, span: dict, releases: list[dict], data, table: pd.DataFrame,
            tables: Sequence[Path], figures: Sequence[tuple[Path, str]]) -> str:
    lines = _header(results, config, span, releases, data)
    lines += ["## The paper's claims", "",
              "One row per claim, our numbers in both split modes: `grouped` keeps a cell line's bootstrap "
              "copies and a tumour on one side of every split (this project's default), `paper` splits as "
              "the paper did, which lets copies of one cell line sit in train and test. Every number is "
              f"at {CLAIM_PROPORTION:.0%} unlabelled tumours (the paper's Table 1) unless the claim says "
              "otherwise. Also in [`claims.tsv`](claims.tsv).", "",
              "| claim | paper | grouped: ours | grouped | paper split: ours | paper split | leakage changes the "
              "verdict |", "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['claim']} | {r['paper']} | {r['grouped_ours']} | **{r['grouped_verdict']}** | "
                     f"{r['paper_ours']} | **{r['paper_verdict']}** | {r['leakage_changes_verdict']} |")
    lines += ["", "### How a verdict is decided", ""]
    lines += [f"- {key}: {text}" for key, text in VERDICT_RULES.items()]
    lines += ["", "The paper's numbers are single runs without intervals; they are read, never used as "
              "expected values. Its Fig. 7 numbers are from its text (section 3.3).", "",
              "## Tables", ""]
    for path in [p for p in tables if p.suffix == ".md"] + [Path("selection.md")]:
        lines.append(f"- [`{path.stem}`](tables/{path.name}) ([TSV](tables/{path.stem}.tsv))")
    lines += ["", "## Figures", ""]
    for _, name in figures:
        lines.append(f"- [`{Path(name).stem}`](figures/{name})")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    from pssnmf import commands

    p = argparse.ArgumentParser(prog="python -m pssnmf.results_doc", description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", required=True,
                   help="JSON: results (folder), out (folder), config (the resolved config), min_stability, "
                        "n_boot, seed")
    commands.add_options(p)
    return p


def _run(args) -> None:
    import logging

    from pssnmf.commands import spec_object

    spec = spec_object(args.spec)
    path = write_doc(spec["results"], spec["out"], spec["config"], float(spec["min_stability"]),
                     n_boot=int(spec.get("n_boot", 1000)),
                     seed=int(spec.get("seed", 0)))
    logging.getLogger(__name__).info("wrote %s", path)


def main(argv: Sequence[str] | None = None) -> int:
    from pssnmf import commands

    return commands.run("python -m pssnmf.results_doc", _run, _parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
