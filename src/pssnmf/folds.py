"""Validation folds and test sets with bootstrapped cell lines (paper section 2.2.3; docs/protocol.md, "Splits and bootstrapping").

A task's samples (``catalog.tsv`` + ``samples.tsv`` from the data layer) are split 75 % / 25 %
into a validation set (``n_folds`` folds for cross-validation) and a test set, stratified by
class and source, with no sample in two places.  What goes where:

Cell lines (``source == "cell_line"``, with a training ``label``)
    Bootstrapped to balanced classes: ``per_class`` rows per class in every validation fold and
    ``test_per_class`` rows per class in the test set.  A bootstrap is a multinomial resample of
    one real sample's own mutation count from its profile (as S-NMF does); the real samples of a
    place are used round-robin in a shuffled order, so each contributes equally.  Row ids are
    ``<sample>#b0001``, numbered per real sample.

    ``split_mode="grouped"`` (default): every leakage group (a Zou parent clone, e.g. ``MSH6_3``
    for ``MSH6_3_s6``; otherwise the sample itself) and every bootstrap of its members sits on one
    side of the validation/test split; the test groups of a class are picked greedily (shuffled
    order, a group is taken when it brings the test share closer to ``test_fraction``; at least one
    group on each side).  Inside the validation set a class's groups are dealt to
    the folds too, but where a class has fewer validation groups than folds (DDRd: Control has
    two parent clones, BER and HR three) that class is dealt by real sample instead; such rows
    carry ``split_unit == "sample"`` so the cross-validation leak is visible, never silent.  The
    test set is always group-clean.

    ``split_mode="paper"``: all bootstraps of a class are drawn first from all its real samples,
    then dealt at random to the folds and the test set, as the paper appears to do; bootstraps of
    one real sample (and subclones of one parent) then sit on both sides, which inflates
    cell-line scores.  Offered so the size of that effect can be shown.

Tumours (``source == "tumour"``, never with a training label)
    Split 75 % / 25 % stratified by ``truth`` (tumours without truth are their own stratum), the
    validation part dealt to the folds the same way.  Identical in both split modes (their random
    stream does not depend on the mode), so the two modes differ only in the cell lines.
    Per fold and unlabelled proportion p, U = L * p / (1 - p) tumours join the fold as unlabelled
    training data, L being the fold's labelled count (p = 0.33 is read as 1/3, i.e. 1 : 2; 0.5 as
    1 : 1).  They are taken round-robin across truth classes from a shuffled order, so the classes
    are balanced as far as each allows, then filled from tumours without truth; a smaller
    proportion takes a prefix of a larger one's order, so the 33 % tumours are a subset of the 50 %
    ones.  ``truth`` is used only for this balancing and for evaluation, never as a training label;
    this mirrors the paper, which balanced the TCGA samples by their cancer type and dealt the
    homozygous DDR tumours by pathway.  For DDRd every uniquely-homozygous tumour therefore goes
    either to the test set (about 25 % of each pathway, like the paper's 27/21/9 of 105/96/36) or
    to one validation fold, where it is both unlabelled training data of the other folds' fits and
    the TCGA evaluation data of its own fold.
    The test set's tumours are those of the test split that have truth, taken the same
    round-robin way up to U_test = (test cell lines) * p / (1 - p): 100 per cancer type at 50 % with
    400 cell lines, as the paper; all homozygous test tumours for DDRd (imbalanced, as the paper).

Written files (one directory per task and split mode):
    ``catalog.tsv``     ``MutationType`` then one integer column per row id used anywhere.
    ``membership.tsv``  tidy, one line per (row id, proportion): ``row_id, sample, source, label,
                        truth, group, cancer_type, mutations, set, fold, proportion, role,
                        split_unit``.  ``label`` is the training label (empty for tumours);
                        ``role`` is ``labelled`` or ``unlabelled``; ``set`` is ``validation`` or
                        ``test``; ``fold`` is 0..n_folds-1 or ``test``.
    ``settings.json``   the settings that made them.

Everything is seeded from one integer through :class:`numpy.random.SeedSequence` with spawn keys
built from stable encodings of names (:func:`seed_sequence`; never Python's ``hash``), so the files
are identical, byte for byte, on every rerun.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from pssnmf.channels import SBS96
from pssnmf.data.atomic import write_table, write_text

log = logging.getLogger(__name__)

SPLIT_MODES = ("grouped", "paper")
REQUIRED_SAMPLE_COLUMNS = ("sample", "source", "label", "truth", "group", "cancer_type", "mutations")
MEMBERSHIP_COLUMNS = (
    "row_id", "sample", "source", "label", "truth", "group", "cancer_type", "mutations",
    "set", "fold", "proportion", "role", "split_unit", "heterozygous",
)
DDR_PATHWAYS = ("MMR", "BER", "HR")
"""The DDR status columns of a DDRd ``samples.tsv`` (``hom``/``het``/``wt`` per tumour)."""
SCREENING_ROLES = ("proficient", "heterozygous")


# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------
def stable_key(part: object) -> int:
    """A stable 32-bit integer for a name or number (SHA-256 of its canonical text).

    Floats are written with ``repr`` of the float (``0.1`` -> ``'0.1'``), so ``0.1`` and ``0.10``
    give the same key; ints as decimal; ``None`` as ``'None'``.  Python's ``hash`` is salted per
    process and must never be used for seeds.
    """
    if isinstance(part, (bool, np.bool_)):
        text = str(bool(part))
    elif isinstance(part, (int, np.integer)):
        text = str(int(part))
    elif isinstance(part, (float, np.floating)):
        text = repr(float(part))
    else:
        text = str(part)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def seed_sequence(seed: int, *parts: object) -> np.random.SeedSequence:
    """The SeedSequence of one random stream, named by ``parts`` below the config ``seed``."""
    return np.random.SeedSequence(int(seed), spawn_key=tuple(stable_key(p) for p in parts))


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng(seed_sequence(seed, *parts))


# --------------------------------------------------------------------------------------------
# Settings and inputs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldSettings:
    """How a task's folds are built; every size is a config value.

    per_class           cell-line bootstraps per class in each validation fold (paper: 100).
    test_per_class      cell-line bootstraps per class in the test set (paper: 100 cancer type,
                        1,000 DDRd).
    proportions         unlabelled shares of the training data (paper: 0.33 and 0.5).
    """

    seed: int
    split_mode: str = "grouped"
    n_folds: int = 3
    test_fraction: float = 0.25
    per_class: int = 100
    test_per_class: int = 100
    proportions: tuple[float, ...] = (0.33, 0.5)
    min_mutations: int = 1

    def __post_init__(self) -> None:
        if self.split_mode not in SPLIT_MODES:
            raise ValueError(f"split_mode must be one of {SPLIT_MODES}, got {self.split_mode!r}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.per_class < 1 or self.test_per_class < 1:
            raise ValueError("per_class and test_per_class must be positive")
        for p in self.proportions:
            if not 0 <= p < 1:
                raise ValueError(f"every unlabelled proportion must lie in [0, 1), got {p}")


def unlabelled_ratio(proportion: float) -> Fraction:
    """Unlabelled rows per labelled row for an unlabelled share ``proportion`` of the training data.

    The share is read as the nearest fraction with a denominator up to 10, so the paper's 33 %
    means 1/3 (1 : 2, ratio 1/2) and 50 % means 1 : 1.
    """
    share = Fraction(proportion).limit_denominator(10)
    return share / (1 - share)


def unlabelled_count(n_labelled: int, proportion: float) -> int:
    return int(round(n_labelled * unlabelled_ratio(proportion)))


def proportion_label(proportion: float) -> str:
    """``0.33`` -> ``'0.33'``: the text used in files and file names for a proportion."""
    return repr(float(proportion))


def read_task(catalog_path: str | os.PathLike, samples_path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and check a task's ``catalog.tsv`` (96 x samples) and ``samples.tsv``.

    Returns (counts, samples): counts is samples x 96 (int64, columns = SBS96), samples is the
    sample table indexed like counts.
    """
    catalog_path, samples_path = Path(catalog_path), Path(samples_path)
    catalog = pd.read_csv(catalog_path, sep="\t", dtype={"MutationType": str})
    if catalog.columns[0] != "MutationType":
        raise ValueError(f"{catalog_path}: first column must be 'MutationType', got {catalog.columns[0]!r}")
    if tuple(catalog["MutationType"]) != SBS96:
        bad = [i for i, (a, b) in enumerate(zip(catalog["MutationType"], SBS96)) if a != b]
        where = f"row {bad[0] + 2} is {catalog['MutationType'].iloc[bad[0]]!r}, expected {SBS96[bad[0]]!r}" if bad else (
            f"{len(catalog)} rows, expected 96")
        raise ValueError(f"{catalog_path}: MutationType must list the 96 SBS96 channels in COSMIC order; {where}")
    counts = catalog.set_index("MutationType").T
    counts.columns = list(SBS96)
    if not all(np.issubdtype(t, np.integer) for t in counts.dtypes):
        raise ValueError(f"{catalog_path}: counts must be integers")
    counts = counts.astype(np.int64)
    if (counts.to_numpy() < 0).any():
        raise ValueError(f"{catalog_path}: negative counts")

    samples = pd.read_csv(samples_path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_SAMPLE_COLUMNS if c not in samples.columns]
    if missing:
        raise ValueError(f"{samples_path}: missing columns {missing}; expected at least {list(REQUIRED_SAMPLE_COLUMNS)}")
    if list(samples["sample"]) != list(counts.index):
        mismatch = next(i for i, (a, b) in enumerate(zip(samples["sample"], counts.index)) if a != b) \
            if len(samples) == len(counts) else None
        detail = (f"row {mismatch + 2} is {samples['sample'].iloc[mismatch]!r}, catalog column is "
                  f"{counts.index[mismatch]!r}") if mismatch is not None else (
            f"{len(samples)} rows vs {len(counts)} catalog columns")
        raise ValueError(f"{samples_path}: samples must list the catalog's columns in the same order; {detail}")
    bad_source = sorted(set(samples["source"]) - {"cell_line", "tumour"})
    if bad_source:
        raise ValueError(f"{samples_path}: column 'source' must be 'cell_line' or 'tumour', found {bad_source}")
    labelled_tumours = samples[(samples["source"] == "tumour") & (samples["label"] != "")]
    if len(labelled_tumours):
        raise ValueError(f"{samples_path}: tumours must not carry a training label (row of "
                         f"{labelled_tumours['sample'].iloc[0]!r}); their class belongs in 'truth'")
    totals = counts.sum(axis=1).to_numpy()
    stated = pd.to_numeric(samples["mutations"], errors="coerce").to_numpy()
    if not np.array_equal(totals, stated):
        i = int(np.flatnonzero(totals != stated)[0])
        raise ValueError(f"{samples_path}: 'mutations' of {samples['sample'].iloc[i]!r} is {samples['mutations'].iloc[i]!r}, "
                         f"but its catalog column sums to {totals[i]}")
    samples = samples.set_index(pd.Index(counts.index, name=None))
    return counts, samples


# --------------------------------------------------------------------------------------------
# Placement helpers
# --------------------------------------------------------------------------------------------
def _choose_test_units(sizes: dict[str, int], fraction: float, rng: np.random.Generator) -> list[str]:
    """Units (groups or tumours) for the test side, bringing its share of samples closest to ``fraction``.

    Units are visited in a shuffled order and taken when they move the test count closer to the
    target; at least one unit goes to each side when there are two or more.
    """
    units = sorted(sizes)
    if len(units) < 2:
        return []
    order = [units[i] for i in rng.permutation(len(units))]
    target = fraction * sum(sizes.values())
    chosen: list[str] = []
    count = 0
    for unit in order:
        if len(chosen) == len(units) - 1:
            break
        if abs(count + sizes[unit] - target) < abs(count - target):
            chosen.append(unit)
            count += sizes[unit]
    if not chosen:
        chosen.append(min(order, key=lambda u: sizes[u]))
    return sorted(chosen)


def _deal_to_folds(sizes: dict[str, int], n_folds: int, rng: np.random.Generator) -> dict[str, int]:
    """Deal units to folds, largest first (shuffled ties), each to the fold with fewest samples."""
    units = sorted(sizes)
    order = [units[i] for i in rng.permutation(len(units))]
    order.sort(key=lambda u: -sizes[u])  # stable: ties keep the shuffled order
    load = [0] * n_folds
    fold_of: dict[str, int] = {}
    for unit in order:
        fold = int(np.argmin(load))
        fold_of[unit] = fold
        load[fold] += sizes[unit]
    return fold_of


def bootstrap_profile(counts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` multinomial resamples of one real profile with its own total count."""
    total = int(counts.sum())
    return rng.multinomial(total, counts / total, size=n).astype(np.int64)


def round_robin(sample_names: Sequence[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` origins taken round-robin over the samples in a shuffled order (equal shares)."""
    order = [sample_names[i] for i in rng.permutation(len(sample_names))]
    return [order[i % len(order)] for i in range(n)]


def interleave_by_class(pools: dict[str, list[str]]) -> list[str]:
    """One list taking one from each class in turn (sorted class order) until all run out."""
    classes = sorted(pools)
    out: list[str] = []
    depth = max((len(v) for v in pools.values()), default=0)
    for i in range(depth):
        for c in classes:
            if i < len(pools[c]):
                out.append(pools[c][i])
    return out


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------
@dataclass
class _CellLineRows:
    row_ids: list[str]
    origins: list[str]
    places: list[object]  # fold index or "test"
    split_units: list[str]
    counts: list[np.ndarray]


def _place_cell_lines(counts: pd.DataFrame, samples: pd.DataFrame, task: str, s: FoldSettings) -> _CellLineRows:
    cells = samples[(samples["source"] == "cell_line") & (samples["label"] != "")]
    dropped = samples[(samples["source"] == "cell_line") & (samples["label"] == "")]
    if len(dropped):
        log.info("%s: %d cell lines without a training label are not used", task, len(dropped))
    if cells.empty:
        raise ValueError(f"{task}: no labelled cell lines (source == 'cell_line' with a label)")
    zero = cells[counts.loc[cells.index].sum(axis=1) < max(1, s.min_mutations)]
    if len(zero):
        raise ValueError(f"{task}: cell line {zero.index[0]!r} has fewer than {max(1, s.min_mutations)} mutations; "
                         "it cannot be bootstrapped")
    places: list[object] = list(range(s.n_folds)) + ["test"]
    wanted = {p: (s.test_per_class if p == "test" else s.per_class) for p in places}
    plan: list[tuple[str, object, str]] = []  # (origin sample, place, split unit)

    for cls in sorted(cells["label"].unique()):
        members = cells[cells["label"] == cls]
        names = list(members.index)
        if s.split_mode == "paper":
            rng = rng_for(s.seed, "folds", task, "paper", "cell_lines", cls)
            total = sum(wanted.values())
            origins = round_robin(names, total, rng)
            shuffled = [origins[i] for i in rng.permutation(total)]
            start = 0
            for place in ["test"] + list(range(s.n_folds)):
                for origin in shuffled[start:start + wanted[place]]:
                    plan.append((origin, place, "bootstrap"))
                start += wanted[place]
            continue

        rng = rng_for(s.seed, "folds", task, "grouped", "cell_lines", cls)
        group_sizes = members.groupby("group").size().to_dict()
        if len(group_sizes) < 2:
            raise ValueError(f"{task}: class {cls!r} has a single leakage group ({next(iter(group_sizes))!r}); "
                             "the grouped split needs at least two (one for the test set, one for validation)")
        test_groups = set(_choose_test_units(group_sizes, s.test_fraction, rng))
        val = members[~members["group"].isin(test_groups)]
        val_groups = val.groupby("group").size().to_dict()
        if len(val_groups) >= s.n_folds:
            fold_of_group = _deal_to_folds(val_groups, s.n_folds, rng)
            fold_of = {name: fold_of_group[g] for name, g in zip(val.index, val["group"])}
            unit = "group"
        else:
            if len(val) < s.n_folds:
                raise ValueError(f"{task}: class {cls!r} has only {len(val)} real samples in the validation set; "
                                 f"{s.n_folds} folds need at least one each")
            log.warning("%s: class %r has %d leakage groups in the validation set, fewer than %d folds; "
                        "its validation samples are dealt to folds by sample (split_unit = 'sample')",
                        task, cls, len(val_groups), s.n_folds)
            fold_of = _deal_to_folds({n: 1 for n in val.index}, s.n_folds, rng)
            unit = "sample"
        for place in places:
            if place == "test":
                here = sorted(members.index[members["group"].isin(test_groups)])
                place_unit = "group"
            else:
                here = sorted(n for n, f in fold_of.items() if f == place)
                place_unit = unit
            for origin in round_robin(here, wanted[place], rng):
                plan.append((origin, place, place_unit))

    # Bootstrap in plan order; one stream per task and split mode keeps the draws reproducible.
    rng = rng_for(s.seed, "folds", task, s.split_mode, "bootstrap")
    n_by_origin: dict[str, int] = {}
    for origin, _, _ in plan:
        n_by_origin[origin] = n_by_origin.get(origin, 0) + 1
    width = max(4, len(str(max(n_by_origin.values()))))
    seen: dict[str, int] = {}
    rows = _CellLineRows([], [], [], [], [])
    order = sorted(range(len(plan)), key=lambda i: (_place_rank(plan[i][1]), i))
    for i in order:
        origin, place, unit = plan[i]
        seen[origin] = seen.get(origin, 0) + 1
        rows.row_ids.append(f"{origin}#b{seen[origin]:0{width}d}")
        rows.origins.append(origin)
        rows.places.append(place)
        rows.split_units.append(unit)
        rows.counts.append(bootstrap_profile(counts.loc[origin].to_numpy(), 1, rng)[0])
    return rows


def _place_rank(place: object) -> int:
    return 10**6 if place == "test" else int(place)


def _place_tumours(counts: pd.DataFrame, samples: pd.DataFrame, task: str, s: FoldSettings
                   ) -> tuple[dict[object, list[str]], dict[object, list[str]]]:
    """Tumours of each place in their selection order: (with truth interleaved by class, without truth)."""
    tumours = samples[samples["source"] == "tumour"]
    low = counts.loc[tumours.index].sum(axis=1) < max(1, s.min_mutations)
    if low.any():
        log.info("%s: %d tumours with fewer than %d mutations are not used", task, int(low.sum()), max(1, s.min_mutations))
        tumours = tumours[~low.to_numpy()]
    # Not keyed by split mode: both modes get the same tumours in the same places.
    rng = rng_for(s.seed, "folds", task, "tumours")
    with_truth: dict[object, dict[str, list[str]]] = {p: {} for p in list(range(s.n_folds)) + ["test"]}
    without: dict[object, list[str]] = {p: [] for p in with_truth}
    for truth in sorted(tumours["truth"].unique()):
        names = sorted(tumours.index[tumours["truth"] == truth])
        names = [names[i] for i in rng.permutation(len(names))]
        n_test = int(round(s.test_fraction * len(names)))
        groups = {"test": names[:n_test]}
        for j, name in enumerate(names[n_test:]):
            groups.setdefault(j % s.n_folds, []).append(name)
        for place, members in groups.items():
            if truth == "":
                without[place].extend(members)
            else:
                with_truth[place].setdefault(truth, []).extend(members)
    ordered_truth = {}
    for place in with_truth:
        ordered_truth[place] = interleave_by_class(with_truth[place])
        names = without[place]
        without[place] = [names[i] for i in rng.permutation(len(names))]
    return ordered_truth, without


def build_folds(catalog_path: str | os.PathLike, samples_path: str | os.PathLike, out_dir: str | os.PathLike,
                task: str, settings: FoldSettings) -> Path:
    """Build one task's folds and test set for one split mode and write them to ``out_dir``.

    Returns ``out_dir``.  The three files are written atomically; rerunning with the same inputs
    and settings rewrites identical bytes.
    """
    s = settings
    counts, samples = read_task(catalog_path, samples_path)
    cells = _place_cell_lines(counts, samples, task, s)
    truth_order, fill_order = _place_tumours(counts, samples, task, s)

    labelled_per_fold = s.per_class * samples.loc[
        (samples["source"] == "cell_line") & (samples["label"] != ""), "label"].nunique()
    labelled_test = s.test_per_class * samples.loc[
        (samples["source"] == "cell_line") & (samples["label"] != ""), "label"].nunique()

    def need_per_place(place: object, proportion: float) -> int:
        return unlabelled_count(labelled_test if place == "test" else labelled_per_fold, proportion)

    records: list[dict] = []
    meta = samples
    boot_totals = [str(int(c.sum())) for c in cells.counts]
    for proportion in s.proportions:
        ptext = proportion_label(proportion)
        for row_id, origin, place, unit, total in zip(cells.row_ids, cells.origins, cells.places,
                                                      cells.split_units, boot_totals):
            m = meta.loc[origin]
            records.append(_record(row_id, origin, m, place, ptext, "labelled", unit, label=m["label"],
                                   mutations=total))
        for place in list(range(s.n_folds)) + ["test"]:
            need = need_per_place(place, proportion)
            if place == "test":
                chosen = truth_order[place][:need]
            else:
                chosen = (truth_order[place] + fill_order[place])[:need]
                if len(chosen) < need:
                    raise ValueError(f"{task}: fold {place} needs {need} unlabelled tumours for proportion {ptext} "
                                     f"but only {len(chosen)} are available; lower per_class or the proportion")
            for name in chosen:
                m = meta.loc[name]
                records.append(_record(name, name, m, place, ptext, "unlabelled", "sample", label="",
                                       mutations=m["mutations"]))

    fill_used = {place: max(0, max(need_per_place(place, p) for p in s.proportions) - len(truth_order[place]))
                 for place in range(s.n_folds)}
    for side, role, names, het in _screening_pools(samples, fill_order, fill_used, s.n_folds):
        for proportion in s.proportions:
            ptext = proportion_label(proportion)
            for name, pathways in zip(names, het):
                m = meta.loc[name]
                record = _record(name, name, m, side, ptext, role, "sample", label="", mutations=m["mutations"])
                record.update(set="screening", fold=side, heterozygous=pathways)
                records.append(record)

    membership = pd.DataFrame.from_records(records, columns=list(MEMBERSHIP_COLUMNS))
    boot_counts = pd.DataFrame(np.vstack(cells.counts), index=cells.row_ids, columns=list(SBS96))
    tumour_ids = list(dict.fromkeys(membership.loc[membership["role"] != "labelled", "row_id"]))
    catalog = pd.concat([boot_counts, counts.loc[tumour_ids]])
    catalog_out = catalog.T
    catalog_out.insert(0, "MutationType", list(SBS96))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_table(catalog_out, out / "catalog.tsv")
    write_table(membership, out / "membership.tsv")
    settings_doc = dict(dataclasses.asdict(s), task=task, proportions=[float(p) for p in s.proportions])
    write_text(json.dumps(settings_doc, indent=2, sort_keys=True) + "\n", out / "settings.json")
    log.info("%s/%s: %d cell-line bootstraps, %d tumours written to %s", task, s.split_mode,
             len(cells.row_ids), len(tumour_ids), out)
    return out


def _record(row_id: str, origin: str, m: pd.Series, place: object, ptext: str, role: str, unit: str,
            label: str, mutations: str) -> dict:
    return {
        "row_id": row_id, "sample": origin, "source": m["source"], "label": label, "truth": m["truth"],
        "group": m["group"], "cancer_type": m["cancer_type"],
        "mutations": mutations,
        "set": "test" if place == "test" else "validation", "fold": str(place), "proportion": ptext,
        "role": role, "split_unit": unit, "heterozygous": "",
    }


def _screening_pools(samples: pd.DataFrame, fill_order: dict[object, list[str]], fill_used: dict[int, int],
                     n_folds: int) -> list[tuple[str, str, list[str], list[str]]]:
    """The tumours of the screening pools (docs/protocol.md, "Screening"): ``(side, role, names,
    heterozygous pathways)`` for side ``validation``/``test`` and role ``proficient`` (wild type in
    every one of :data:`DDR_PATHWAYS`) or ``heterozygous`` (no homozygous pathway, heterozygous in
    at least one).

    Only tumours no fit ever trains on: on the validation side those the unlabelled draws of every
    fold and proportion leave over (the draws take a prefix of each fold's order, so the leftover
    is the rest of it); on the test side every test-split tumour without truth (the test set takes
    tumours with truth only).  A task without the DDR status columns has no pools.
    """
    if not set(DDR_PATHWAYS) <= set(samples.columns):
        return []
    status = samples.loc[:, list(DDR_PATHWAYS)]
    pools = []
    for side, places in (("validation", list(range(n_folds))), ("test", ["test"])):
        left = [name for place in places for name in fill_order[place][fill_used.get(place, 0):]]
        rows = status.loc[left]
        proficient = (rows == "wt").all(axis=1).to_numpy()
        heterozygous = ((rows == "het").any(axis=1) & ~(rows == "hom").any(axis=1)).to_numpy()
        pools.append((side, "proficient", [n for n, keep in zip(left, proficient) if keep],
                      [""] * int(proficient.sum())))
        het_names = [n for n, keep in zip(left, heterozygous) if keep]
        pools.append((side, "heterozygous", het_names,
                      ["+".join(p for p in DDR_PATHWAYS if status.at[n, p] == "het") for n in het_names]))
    return pools


# --------------------------------------------------------------------------------------------
# Loading one fold
# --------------------------------------------------------------------------------------------
@dataclass
class FoldData:
    """The data of one fit: training rows and evaluation rows.

    X_train, X_eval : (n, 96) float64 per-sample proportions (rows sum to 1; docs/protocol.md, "Profiles").
    y_train : (n,) object, the class label of a labelled row, ``None`` for an unlabelled tumour.
    train, eval : the membership rows (row_id, sample, source, label, truth, ...) in X's order.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    train: pd.DataFrame
    X_eval: np.ndarray
    eval: pd.DataFrame


def read_membership(fold_dir: str | os.PathLike) -> pd.DataFrame:
    path = Path(fold_dir) / "membership.tsv"
    membership = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in MEMBERSHIP_COLUMNS if c not in membership.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; folds written by an older version are rebuilt "
                         "with `snakemake --forcerun folds ...`")
    return membership


def load_fold(fold_dir: str | os.PathLike, proportion: float, fold: int | str, opportunity=None) -> FoldData:
    """Training and evaluation data of one fit.

    ``fold`` in 0..n_folds-1: train on the other validation folds, evaluate on this one.
    ``fold == "test"``: train on the whole validation set, evaluate on the test set.
    ``fold == "outer<k>"``: the cross-fit of the final fit that scores fold k's tumours with truth
    (:func:`_crossfit_rows`).
    ``opportunity``: a :class:`pssnmf.opportunity.Opportunity` (config ``experiment.opportunity``)
    bringing every row, training and evaluation alike, from its ``source``'s scale to one scale.
    """
    fold_dir = Path(fold_dir)
    membership = read_membership(fold_dir)
    ptext = proportion_label(proportion)
    rows = membership[membership["proportion"] == ptext]
    if rows.empty:
        known = sorted(membership["proportion"].unique())
        raise ValueError(f"{fold_dir / 'membership.tsv'}: no rows for proportion {ptext}; it has {known}")
    fold = str(fold)
    validation = rows[rows["set"] == "validation"]
    if fold == "test":
        train, evaluation = validation, rows[rows["set"] == "test"]
    elif fold.startswith(CROSSFIT_PREFIX):
        train, evaluation = _crossfit_rows(fold_dir, rows, fold.removeprefix(CROSSFIT_PREFIX))
    else:
        folds = sorted(validation["fold"].unique())
        if fold not in folds:
            raise ValueError(f"{fold_dir}: fold {fold!r} not found; folds are {folds} and 'test'")
        train, evaluation = validation[validation["fold"] != fold], validation[validation["fold"] == fold]
    catalog = read_catalog_rows(fold_dir / "catalog.tsv")
    X_train = _proportions(catalog, train["row_id"])
    X_eval = _proportions(catalog, evaluation["row_id"])
    if opportunity is not None:
        X_train = opportunity.apply(X_train, train["source"])
        X_eval = opportunity.apply(X_eval, evaluation["source"])
    y_train = np.array([lab if lab != "" else None for lab in train["label"]], dtype=object)
    return FoldData(X_train, y_train, train.reset_index(drop=True), X_eval, evaluation.reset_index(drop=True))


CROSSFIT_PREFIX = "outer"
"""A cross-fit's fold name: ``outer<k>`` scores validation fold k's tumours with truth."""


def _crossfit_rows(fold_dir: Path, rows: pd.DataFrame, fold: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-fitting the final fit (docs/protocol.md, "Screening"): the tumours with truth of
    validation fold ``fold`` are scored by a model trained like the final fit (every validation row)
    but with those tumours swapped for the test set's tumours with truth, so that every tumour with
    truth gets a prediction from a model that never saw it, in any role.  The cell-line rows are the
    final fit's; the test set's cell lines are not used.
    """
    validation = rows[rows["set"] == "validation"]
    folds = sorted(validation["fold"].unique())
    if fold not in folds:
        raise ValueError(f"{fold_dir}: cross-fit fold {CROSSFIT_PREFIX}{fold!r} not found; folds are {folds}")
    held = (validation["fold"] == fold) & (validation["role"] == "unlabelled") & (validation["truth"] != "")
    test_tumours = rows[(rows["set"] == "test") & (rows["role"] == "unlabelled")]
    return pd.concat([validation[~held], test_tumours]), validation[held]


def read_catalog_rows(path: str | os.PathLike) -> pd.DataFrame:
    """A catalog TSV (96 channel rows x samples) as samples x 96 counts."""
    catalog = pd.read_csv(path, sep="\t", index_col=0)
    return catalog.T


def _proportions(catalog: pd.DataFrame, row_ids: Iterable[str]) -> np.ndarray:
    counts = catalog.loc[list(row_ids)].to_numpy(dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return counts / totals


def load_pools(fold_dir: str | os.PathLike, proportion: float, opportunity=None) -> tuple[np.ndarray, pd.DataFrame]:
    """The screening pools' rows (``set == "screening"``) as proportions, and their membership rows.

    Empty for a task without pools.  ``opportunity`` as in :func:`load_fold`.
    """
    membership = read_membership(fold_dir)
    rows = membership[(membership["set"] == "screening")
                      & (membership["proportion"] == proportion_label(proportion))].reset_index(drop=True)
    if rows.empty:
        return np.zeros((0, len(SBS96))), rows
    X = _proportions(read_catalog_rows(Path(fold_dir) / "catalog.tsv"), rows["row_id"])
    if opportunity is not None:
        X = opportunity.apply(X, rows["source"])
    return X, rows
