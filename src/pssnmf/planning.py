"""Planning the fits: points, their seeds and settings, and one workflow job's fits from its spec.

A *point* is one fit: model name, K, lambda_c, lambda_l2, confidence_threshold (PSS models only),
fold (0..n-1 or ``test``) and replicate (0 unless several seeds of a final fit are run).  The
baselines of :mod:`pssnmf.baselines` are points too, with no lambda_c, lambda_l2 or ct; only
NMF+LR has a K, which the final test takes from the chosen S-NMF point (``k_from`` in
:mod:`pssnmf.models`).  A fit's ``random_state`` comes from the config seed and the point through
:func:`fit_seed` (SeedSequence on stable encodings), so a fit gives the same result whichever job,
batch, core count or cluster runs it.

:func:`plan` turns one workflow job's typed spec (the rules' ``--spec``) into its points and
settings; :mod:`pssnmf.experiment` fits them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd

from pssnmf import models as models_lib
from pssnmf import opportunity as opportunity_lib
from pssnmf.folds import CROSSFIT_PREFIX, seed_sequence

# The models, their kinds, options, seeds and K sources: pssnmf.models.REGISTRY.
BASELINES = models_lib.names("baseline")
POINT_COLUMNS = ["model", "K", "lambda_c", "lambda_l2", "confidence_threshold", "fold", "replicate"]


@dataclass(frozen=True)
class Point:
    model: str
    K: int | None = None
    lambda_c: float | None = None
    lambda_l2: float | None = None
    confidence_threshold: float | None = None
    fold: str = "0"
    replicate: int = 0

    def __post_init__(self) -> None:
        if self.model in BASELINES:
            given = [k for k in ("lambda_c", "lambda_l2", "confidence_threshold") if getattr(self, k) is not None]
            if models_lib.spec(self.model).k_from is None and self.K is not None:
                given.insert(0, "K")
            if given:
                raise ValueError(f"baseline {self.model} takes no {', '.join(given)}")
            return
        is_pss = models_lib.spec(self.model).kind == "pseudo_label"  # a ValueError for an unknown model
        if not is_pss and self.confidence_threshold is not None:
            raise ValueError(f"{self.model} takes no confidence_threshold (got {self.confidence_threshold})")

    @property
    def is_baseline(self) -> bool:
        return self.model in BASELINES

    @property
    def complete(self) -> bool:
        if self.is_baseline:
            return self.K is not None or models_lib.spec(self.model).k_from is None
        needs_ct = models_lib.spec(self.model).kind == "pseudo_label"
        return None not in (self.K, self.lambda_c, self.lambda_l2) and (self.confidence_threshold is not None
                                                                       or not needs_ct)

    @property
    def point_id(self) -> str:
        """A file-name-safe, stable name of the point, e.g. ``SS-NMF_K5_lc0.1_l20.001_ctNA_fold0``
        (baselines: ``LR-96_foldtest``, ``NMF+LR_K4_foldtest``)."""
        if self.is_baseline:
            text = self.model + (f"_K{self.K}" if self.K is not None else "") + f"_fold{self.fold}"
            return text + (f"_r{self.replicate}" if self.replicate else "")
        ct = "NA" if self.confidence_threshold is None else repr(float(self.confidence_threshold))
        text = (f"{self.model}_K{self.K}_lc{float(self.lambda_c)!r}_l2{float(self.lambda_l2)!r}_ct{ct}"
                f"_fold{self.fold}")
        return text + (f"_r{self.replicate}" if self.replicate else "")


_POINT_TYPES = {"model": str, "K": int, "lambda_c": float, "lambda_l2": float, "confidence_threshold": float,
                "fold": str, "replicate": int}


def parse_point(text: str) -> Point:
    """``model=SS-NMF,K=5,lambda_c=0.1,lambda_l2=0.001,fold=0`` -> :class:`Point`.

    Keys may be left out where ``--optimum`` fills them (K, lambda_c, lambda_l2, and for PSS
    models confidence_threshold); ``ct`` is short for ``confidence_threshold``.
    """
    fields: dict[str, object] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"point {text!r}: {item!r} is not key=value")
        key, value = (x.strip() for x in item.split("=", 1))
        key = "confidence_threshold" if key == "ct" else key
        if key not in _POINT_TYPES:
            raise ValueError(f"point {text!r}: unknown key {key!r}; expected {sorted(_POINT_TYPES)}")
        fields[key] = None if value in ("", "NA", "None") else _POINT_TYPES[key](value)
    if "model" not in fields:
        raise ValueError(f"point {text!r}: needs model=...")
    return Point(**fields)  # type: ignore[arg-type]


def read_points(path: str | os.PathLike) -> list[Point]:
    """A TSV of points, one per line, columns named as :data:`POINT_COLUMNS` (blank = not given)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if "model" not in table.columns:
        raise ValueError(f"{path}: needs a 'model' column")
    points = []
    for i, row in table.iterrows():
        text = ",".join(f"{k}={row[k]}" for k in table.columns if k in _POINT_TYPES)
        try:
            points.append(parse_point(text))
        except ValueError as err:
            raise ValueError(f"{path}, line {i + 2}: {err}") from err
    return points


def fill_from_optimum(points: Sequence[Point], optimum: pd.DataFrame, task: str, split_mode: str,
                      proportion: float) -> list[Point]:
    """Fill missing hyperparameters from chosen points (the ``select`` command's output).

    A point takes the row of its own model where there is one (the final test); a PSS model
    without one takes (K, lambda_c, lambda_l2) from its SS-NMF(-UR) base (the ct sweep); NMF+LR
    takes K from the chosen S-NMF point (``k_from`` in :mod:`pssnmf.models`).
    """
    here = optimum[(optimum["task"] == task) & (optimum["split_mode"] == split_mode)
                   & (optimum["proportion"].map(float) == float(proportion))]
    out = []
    for p in points:
        if p.complete:
            out.append(p)
            continue
        if p.is_baseline:
            k_from = models_lib.spec(p.model).k_from
            source = here[here["model"] == k_from]
            if len(source) != 1:
                raise ValueError(f"{p.model} takes K from the chosen {k_from} point, and the "
                                 f"optimum table has {len(source)} for {task}/{split_mode}/proportion {proportion}")
            out.append(replace(p, K=int(source.iloc[0]["K"])))
            continue
        own = here[here["model"] == p.model]
        base = here[here["model"] == (models_lib.spec(p.model).base or "")]
        row = own if len(own) else base
        if len(row) != 1:
            raise ValueError(f"no single chosen point for {p.model} (or its base) of {task}/{split_mode}/"
                             f"proportion {proportion} in the optimum table")
        r = row.iloc[0]
        ct = p.confidence_threshold
        if ct is None and len(own) and not pd.isna(r.get("confidence_threshold", np.nan)):
            ct = float(r["confidence_threshold"])
        filled = replace(p, K=p.K if p.K is not None else int(r["K"]),
                         lambda_c=p.lambda_c if p.lambda_c is not None else float(r["lambda_c"]),
                         lambda_l2=p.lambda_l2 if p.lambda_l2 is not None else float(r["lambda_l2"]),
                         confidence_threshold=ct)
        if not filled.complete:
            raise ValueError(f"point {filled} still lacks a hyperparameter after filling from the optimum")
        out.append(filled)
    return out


def fit_seed(seed: int, task: str, split_mode: str, proportion: float, point: Point) -> int:
    """The random_state of one fit: a 32-bit integer from SeedSequence(seed, stable key of the fit).

    A pseudo-labelling variant takes the key of the model it modifies (``seeds_from`` in
    :mod:`pssnmf.models`).
    """
    def number(value, kind):
        return "NA" if value is None else kind(value)  # baselines have no lambdas (NMF+LR alone a K)

    model = models_lib.spec(point.model).seed_name
    ss = seed_sequence(seed, "fit", task, split_mode, float(proportion), model, number(point.K, int),
                       number(point.lambda_c, float), number(point.lambda_l2, float),
                       "NA" if point.confidence_threshold is None else float(point.confidence_threshold),
                       str(point.fold), int(point.replicate))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class FitSettings:
    """Model settings shared by every fit of a run (None: the model's default)."""

    n_restarts: int = 10
    solver: str | None = None
    tol: float | None = None
    min_epochs: int | None = None
    max_epochs: int | None = None
    mu_w: float | None = None
    dtype: str = "float64"
    # COSMIC SBS file (COSMIC layout) the COSMIC+LR baseline takes its fixed signatures from.
    cosmic_signatures: str | None = None

    def kwargs(self) -> dict:
        """IntegratedNMF's keyword arguments (the baselines take none of these)."""
        out = {"n_restarts": self.n_restarts, "dtype": self.dtype}
        for key in ("solver", "tol", "min_epochs", "max_epochs", "mu_w"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


# ---- one workflow job: typed values in, the fits it runs out -------------------------------------

#: The stages of the fit rules (workflow/rules/fit.smk, evaluate.smk): the grid of one model and K,
#: the ct sweep of one PSS model on its base's chosen point, the final test of one model, and its
#: cross-fits (the final fit again per validation fold, scoring that fold's tumours with truth).
JOB_STAGES = ("grid", "ct", "final", "crossfit")
_JOB_KEYS = {"stage", "task", "split_mode", "proportion", "model", "K", "folds", "grid", "fit", "seed",
             "fold_dir", "optimum", "replicates", "opportunity", "cosmic_signatures"}


@dataclass(frozen=True)
class FitJob:
    """What one workflow job fits (:func:`plan`): the points, their settings and the fold rows' scale."""

    fold_dir: str
    task: str
    split_mode: str
    proportion: float
    seed: int
    points: tuple[Point, ...]
    settings: FitSettings
    opportunity: object = None  # pssnmf.opportunity.Opportunity, or None


def complete_points(points: Sequence[Point], optimum_path, task: str, split_mode: str, proportion: float,
                    replicates: int = 1) -> list[Point]:
    """``points`` with what an optimum table (select's ``chosen.tsv``, where given) fills in, each run
    with replicates 0..replicates-1 (seeds)."""
    points = list(points)
    if optimum_path:
        optimum = pd.read_csv(optimum_path, sep="\t", dtype={"task": str, "split_mode": str, "model": str})
        points = fill_from_optimum(points, optimum, task, split_mode, proportion)
    if replicates > 1:
        points = [replace(p, replicate=r) for p in points for r in range(replicates)]
    return points


def plan(spec: dict) -> FitJob:
    """The fits of one workflow job from the config's values and the job's wildcards.

    ``spec`` is one JSON object (the rules hand it over as ``--spec``; no flag strings):
    ``stage`` (:data:`JOB_STAGES`), ``task``, ``split_mode``, ``proportion``, ``model``, ``seed``
    (``experiment.seed``), ``fold_dir``, ``fit`` (``experiment.fit``: n_restarts, solver, tol,
    min_epochs, max_epochs), ``optimum`` (a chosen-points TSV, where the stage reads one),
    ``opportunity`` (:func:`pssnmf.opportunity.from_spec`) and ``cosmic_signatures`` (COSMIC+LR); a
    grid job also ``K``, ``folds`` and ``grid`` (``experiment.grid``: lambda_c, lambda_l2), a ct job
    ``folds`` and ``grid`` (confidence_threshold), a final job ``replicates``, a crossfit job ``folds``
    and ``replicates``.

    The grid is expanded here, fold first, then lambda_c, then lambda_L2 (or ct): the order of the
    fits in the job's metrics file.
    """
    unknown = sorted(set(spec) - _JOB_KEYS)
    if unknown:
        raise ValueError(f"job spec: unknown key(s) {unknown}; expected some of {sorted(_JOB_KEYS)}")
    missing = sorted({"stage", "task", "split_mode", "proportion", "model", "seed", "fold_dir", "fit"} - set(spec))
    if missing:
        raise ValueError(f"job spec: missing {missing}")
    stage, model = spec["stage"], spec["model"]
    if stage not in JOB_STAGES:
        raise ValueError(f"job spec: stage must be one of {', '.join(JOB_STAGES)}, got {stage!r}")
    kind = models_lib.spec(model).kind
    if kind not in {"grid": ("grid",), "ct": ("pseudo_label",), "final": models_lib.KINDS,
                    "crossfit": models_lib.KINDS}[stage]:
        raise ValueError(f"job spec: a {stage} job cannot fit {model} (a {kind} model)")
    cast = _POINT_TYPES
    grid = spec.get("grid") or {}
    if stage == "grid":
        points = [Point(model, cast["K"](spec["K"]), cast["lambda_c"](lc), cast["lambda_l2"](l2), None, str(fold))
                  for fold in spec["folds"] for lc in grid["lambda_c"] for l2 in grid["lambda_l2"]]
    elif stage == "ct":
        points = [Point(model, confidence_threshold=cast["confidence_threshold"](ct), fold=str(fold))
                  for fold in spec["folds"] for ct in grid["confidence_threshold"]]
    elif stage == "crossfit":
        points = [Point(model, fold=f"{CROSSFIT_PREFIX}{fold}") for fold in spec["folds"]]
    else:
        points = [Point(model, fold="test")]
    points = complete_points(points, spec.get("optimum"), spec["task"], spec["split_mode"], spec["proportion"],
                             int(spec.get("replicates") or 1))
    fit = dict(spec["fit"])
    unknown = sorted(set(fit) - {"n_restarts", "solver", "tol", "min_epochs", "max_epochs"})
    if unknown:
        raise ValueError(f"job spec: fit has unknown key(s) {unknown}")
    settings = FitSettings(**{k: v for k, v in fit.items() if v is not None},
                           cosmic_signatures=spec.get("cosmic_signatures"))
    return FitJob(str(spec["fold_dir"]), str(spec["task"]), str(spec["split_mode"]), float(spec["proportion"]),
                  int(spec["seed"]), tuple(points), settings, opportunity_lib.from_spec(spec.get("opportunity")))
