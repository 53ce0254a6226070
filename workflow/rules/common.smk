"""Config validation, the source manifest, input functions and the list of final targets."""

import json
import os
import re
import shlex
from math import isfinite
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, update_config, validate

min_version("8.20")

# This file is workflow/rules/common.smk: the project root is two folders up, also when the
# workflow runs as a module of another one (whose basedir is not ours).
PROJECT_ROOT = Path(workflow.current_basedir).parents[1]

# Rules run `python -m pssnmf...`. In a --sdm conda environment (envs/pssnmf.yaml) the
# project's package is not installed, so its source goes on the path; where
# `pip install -e .` was done this changes nothing (same folder).
# (Set, not read from the user, so no `envvars:` assertion applies.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [str(PROJECT_ROOT / "src")]
        + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
)


# The full-scale config is the base; --configfile files (offline.yaml, test.yaml)
# override its keys. Absolute, so that --directory elsewhere still finds it.
configfile: str(PROJECT_ROOT / "config" / "config.yaml")


SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"
_YAML_NULLS = {"null", "Null", "NULL", "~", ""}


def _typed_overrides(value, schema):
    """A --config value as a config file would give it, where the schema expects no text.

    Snakemake reads nested --config values as text (`experiment={seed: 3}` gives seed
    '3'); each text is read as YAML unless the schema takes text there.
    """
    if isinstance(value, dict):
        fields, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            key: _typed_overrides(
                item, fields.get(key, extra if isinstance(extra, dict) else {})
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_typed_overrides(item, schema.get("items", {})) for item in value]
    if not isinstance(value, str) or not schema:
        return value
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "string" in types or (not types and "enum" in schema):
        return None if "null" in types and value in _YAML_NULLS else value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value  # the schema says what was expected


def _non_finite(value, key):
    """Dotted keys of the NaN and infinite numbers under `value` (JSON schema lets them pass)."""
    if isinstance(value, dict):
        return [bad for k, v in value.items() for bad in _non_finite(v, f"{key}.{k}")]
    if isinstance(value, list):
        return [
            bad for i, v in enumerate(value) for bad in _non_finite(v, f"{key}[{i}]")
        ]
    return (
        [f"{key} = {value}"] if isinstance(value, float) and not isfinite(value) else []
    )


def _config_problems(config):
    """What the schema cannot say: finite numbers, min_epochs <= max_epochs, download_dir."""
    problems = [
        f"{bad}: not a finite number"
        for key, value in config.items()
        for bad in _non_finite(value, key)
    ]
    fit = config["experiment"]["fit"]
    epochs = {key: fit[key] for key in ("min_epochs", "max_epochs")}
    if any(value is not None for value in epochs.values()):
        effective = dict(epochs)
        if None in epochs.values():
            # The solver's default stands in for the null (imported only here: it takes seconds).
            from pssnmf.solvers import SOLVER_DEFAULTS

            defaults = SOLVER_DEFAULTS[fit["solver"]]
            effective = {k: defaults[k] if v is None else v for k, v in epochs.items()}
        if effective["min_epochs"] > effective["max_epochs"]:
            problems.append(
                "experiment.fit.min_epochs = {min_epochs} is more than "
                "experiment.fit.max_epochs = {max_epochs}".format(**effective)
                + f" (solver {fit['solver']}; a null is the solver's default)"
            )
    folder = config["data"]["download_dir"]
    if not folder.strip() or Path(folder).resolve() == Path(folder).resolve().parent:
        problems.append(
            f"data.download_dir = {folder!r}: downloads would go to the filesystem root; "
            "give a folder such as results/downloads"
        )
    return problems


update_config(
    config,
    _typed_overrides(
        dict(workflow.config_settings.config), yaml.safe_load(SCHEMA.read_text())
    ),
)
validate(config, str(SCHEMA))
if _problems := _config_problems(config):
    raise WorkflowError("Invalid config:\n  " + "\n  ".join(_problems))
ENV = "../../envs/pssnmf.yaml"
CCLE_TYPE_MAP = str(PROJECT_ROOT / "resources" / "ccle_tcga_types.tsv")

DATA = config["data"]
TASKS = config["tasks"]
DOWNLOAD_DIR = DATA["download_dir"].rstrip("/")


def _project_path(path):
    """A config path: absolute, a URL, or relative to the project root."""
    if path is None or re.match(r"^https?://", path):
        return path
    return (
        str((PROJECT_ROOT / path).resolve()) if not Path(path).is_absolute() else path
    )


MANIFEST = _project_path(DATA["manifest"])
MANIFEST_NAME = DATA["manifest"]  # as the user wrote it, for messages
from pssnmf.data.sources import check_local_copies as _check_local_copies
from pssnmf.data.sources import load_manifest as _load_manifest
from pssnmf.data.sources import needed_sources as _needed_sources

try:
    _MANIFEST_SOURCES = _load_manifest(MANIFEST)
    SOURCES = {source.id: vars(source) for source in _MANIFEST_SOURCES.values()}
except (OSError, ValueError) as _error:
    raise WorkflowError(f"data.manifest = {MANIFEST_NAME}: {_error}") from None
SOURCE_BY_PATH = {entry["mirror_path"]: entry for entry in SOURCES.values()}


LOCAL_DIR = _project_path(DATA["local_dir"])
MIRROR = _project_path(DATA["mirror"]) or ""

DDRD_CLASSES = TASKS["ddrd"]["classes"]
# The tumours' DNA-repair pathways are the DDRd classes other than the control class.
DDR_PATHWAYS = [name for name in DDRD_CLASSES if name != "Control"]
COSMIC_VERSION = DATA["cosmic_version"]
TASK_NAMES = ["ddrd", "cancer_type"]


def source_path(source_id):
    """Where the workflow reads a source: in place under data.local_dir, else its download."""
    entry = SOURCES.get(source_id)
    if entry is None:
        # Not in data.manifest (the embedded test data lists only what it holds): no rule
        # makes this path, and check_local_copies stops a config that needs the source.
        return f"{DOWNLOAD_DIR}/not-in-manifest/{source_id}"
    if LOCAL_DIR:
        return f"{LOCAL_DIR}/{entry['mirror_path']}"
    return f"{DOWNLOAD_DIR}/{entry['mirror_path']}"


def needed_sources():
    """Source ids the data rules read under this config (pssnmf.data.sources)."""
    return _needed_sources(DATA)


# Offline: stop before any job when a local folder lacks a needed file (pssnmf.data.sources).
try:
    _check_local_copies(
        _MANIFEST_SOURCES, DATA, MANIFEST_NAME, LOCAL_DIR, MIRROR or None
    )
except ValueError as _error:
    raise WorkflowError(str(_error)) from None


def check_downloads_reachable():
    """Before any job: every download still to do must be reachable (offline -> one clear stop)."""
    if LOCAL_DIR:
        return
    from pssnmf.data.sources import Source, unreachable

    todo = [
        Source(**SOURCES[s])
        for s in needed_sources()
        if not Path(source_path(s)).is_file()
    ]
    problems = unreachable(todo, MIRROR or None)
    if problems:
        raise WorkflowError(
            f"{len(problems)} source(s) cannot be fetched"
            + (f" from data.mirror = {MIRROR}" if MIRROR else " from their public URLs")
            + ":\n  "
            + "\n  ".join(problems)
            + "\nNo job was started. Point data.mirror (folder or URL) or data.local_dir "
            f"at a copy laid out as {MANIFEST_NAME}'s mirror_path (e.g. ../shared/data)."
        )


def cosmic_outputs():
    return [
        f"results/data/cosmic/COSMIC_{COSMIC_VERSION}_SBS_GRCh37.txt",
        f"results/data/cosmic/COSMIC_{COSMIC_VERSION}_SBS_GRCh37_exome.txt",
    ]


# The data layer's contract (see tests/test_workflow_data.py); later stages read these.
DATA_TARGETS = (
    expand(
        "results/data/{task}/{table}.tsv", task=TASK_NAMES, table=["catalog", "samples"]
    )
    + [
        "results/data/zou2021/catalog.tsv",
        "results/data/zou2021/samples.tsv",
        "results/data/tcga/ddr_status.tsv",
        "results/data/cancer_type/selection.tsv",
    ]
    + cosmic_outputs()
)

# Final targets of `rule all`; each later stage's rule file appends its own.
FINAL_TARGETS = list(DATA_TARGETS)


# ---- The experiment (folds, fits, selection, final test) --------------------------------

EXPERIMENT = config["experiment"]
GRID = EXPERIMENT["grid"]
FIT = EXPERIMENT["fit"]
GRID_MODELS = EXPERIMENT["models"]
PSS_MODELS = EXPERIMENT["pseudo_label_models"]
# The models (pssnmf.models.REGISTRY: one entry each): the config's lists hold names of the
# registry's kinds grid, pseudo_label and baseline. Each PSS model sweeps ct on its base's
# chosen point; NMF+LR takes the K of the chosen S-NMF point (k_from).
from pssnmf.models import names as model_names, spec as model_spec

for _key, _kind in (
    ("models", "grid"),
    ("pseudo_label_models", "pseudo_label"),
    ("baselines", "baseline"),
):
    _unknown = [m for m in EXPERIMENT[_key] if m not in model_names(_kind)]
    if _unknown:
        raise WorkflowError(
            f"experiment.{_key}: unknown model(s) {_unknown}; expected some of "
            f"{list(model_names(_kind))} (pssnmf.models)"
        )
PSS_BASE = {m: model_spec(m).base for m in PSS_MODELS}
PSS_BASES = sorted(set(PSS_BASE.values()))
ALL_MODELS = GRID_MODELS + PSS_MODELS
BASELINE_MODELS = EXPERIMENT["baselines"]
BASELINE_K_FROM = {
    m: model_spec(m).k_from for m in BASELINE_MODELS if model_spec(m).k_from
}
EXPERIMENT_TASKS = EXPERIMENT["tasks"]
SPLITS = EXPERIMENT["split_modes"]
PROPORTIONS = [repr(float(p)) for p in EXPERIMENT["proportions"]]
FOLDS = [str(i) for i in range(EXPERIMENT["folds"]["n_folds"])]

missing_k = [
    m
    for m in BASELINE_MODELS
    if m in BASELINE_K_FROM and BASELINE_K_FROM[m] not in GRID_MODELS
]
if missing_k:
    raise WorkflowError(
        f"experiment.baselines has {missing_k}, which takes K from the chosen point of "
        f"{[BASELINE_K_FROM[m] for m in missing_k]}, not in experiment.models."
    )

missing_bases = [m for m in PSS_MODELS if PSS_BASE[m] not in GRID_MODELS]
if missing_bases:
    raise WorkflowError(
        f"experiment.pseudo_label_models has {missing_bases}, whose SS-NMF base "
        f"({[PSS_BASE[m] for m in missing_bases]}) is not in experiment.models: "
        "PSS models sweep ct on their base model's chosen point."
    )


wildcard_constraints:
    task="|".join(TASK_NAMES),
    split="grouped|paper",
    prop=r"[0-9.]+",
    k=r"\d+",
    fold=r"\d+",


def fold_files(wildcards):
    base = f"results/folds/{wildcards.task}/{wildcards.split}"
    return {
        "fold_catalog": f"{base}/catalog.tsv",
        "fold_membership": f"{base}/membership.tsv",
        # experiment.opportunity: the fits read the ratio
        **opportunity_files(wildcards),
    }


def fit_job(stage):
    """The `--spec` of a fit job: one JSON object of the job's wildcards and config values,
    which the library plans into fits (pssnmf.planning.plan; no flag strings). A `scale`
    wildcard overrides experiment.opportunity (the other-scale comparison)."""

    def spec(wildcards, input):
        job = {
            "stage": stage,
            "task": wildcards.task,
            "split_mode": wildcards.split,
            "proportion": float(wildcards.prop),
            "model": wildcards.model,
            "seed": EXPERIMENT["seed"],
            "fold_dir": f"results/folds/{wildcards.task}/{wildcards.split}",
            # the baselines take none of the NMF settings
            "fit": {} if wildcards.model in BASELINE_MODELS else FIT_SETTINGS,
            "opportunity": opportunity_spec(
                wildcards.task, wildcards.get("scale", OPPORTUNITY)
            ),
        }
        if stage == "grid":
            job.update(K=int(wildcards.k), folds=FOLDS, grid=GRID_LAMBDAS)
        if stage == "ct":
            job.update(folds=FOLDS, grid=GRID_CTS)
        if stage in ("final", "crossfit"):
            job["replicates"] = EXPERIMENT["evaluation"]["replicates"]
        if stage == "crossfit":
            job["folds"] = FOLDS
        for key, name in (("optimum", "optimum"), ("cosmic", "cosmic_signatures")):
            if key in input.keys():
                job[name] = getattr(input, key)
        return json.dumps(job, sort_keys=True)

    return spec


# What of experiment.fit and experiment.grid the fit jobs take.
FIT_SETTINGS = {
    key: FIT[key]
    for key in ("n_restarts", "solver", "tol", "min_epochs", "max_epochs")
    if FIT.get(key) is not None
}
GRID_LAMBDAS = {key: GRID[key] for key in ("lambda_c", "lambda_l2")}
GRID_CTS = {"confidence_threshold": GRID["confidence_threshold"]}


def grid_metrics(task, split, prop, models):
    return expand(
        "results/fits/{task}/{split}/u{prop}/{model}/K{k}.tsv",
        task=task,
        split=split,
        prop=prop,
        model=models,
        k=GRID["K"],
    )


def ct_metrics(task, split, prop):
    return expand(
        "results/fits/{task}/{split}/u{prop}/{model}/ct.tsv",
        task=task,
        split=split,
        prop=prop,
        model=PSS_MODELS,
    )


def expand_final(pattern):
    return expand(
        pattern,
        task=EXPERIMENT_TASKS,
        split=SPLITS,
        prop=PROPORTIONS,
        model=ALL_MODELS + BASELINE_MODELS,
    )


def baseline_inputs(wildcards):
    """A baseline's final fit reads the fold; NMF+LR the chosen points, COSMIC+LR the COSMIC set."""
    files = {**fold_files(wildcards), **opportunity_files(wildcards)}
    if wildcards.model in BASELINE_K_FROM:
        files["optimum"] = (
            f"results/select/{wildcards.task}/{wildcards.split}/u{wildcards.prop}/chosen.tsv"
        )
    if wildcards.model == "COSMIC+LR":
        # The COSMIC set at the profiles' scale: genome unless experiment.opportunity is exome.
        files["cosmic"] = cosmic_outputs()[1 if OPPORTUNITY == "exome" else 0]
    return files


def final_inputs(wildcards):
    """What a final fit (or its cross-fits) reads: the fold and the chosen points; a baseline's own."""
    if wildcards.model in BASELINE_MODELS:
        return baseline_inputs(wildcards)
    return {
        **fold_files(wildcards),
        "optimum": f"results/select/{wildcards.task}/{wildcards.split}/u{wildcards.prop}/chosen.tsv",
    }


def release_inputs(wildcards):
    """What the release reads: the task's data, the export's fold, chosen points, protocol scores."""
    task, split, prop = wildcards.task, EXPORT["split_mode"], EXPORT_PROPORTION
    files = {
        "catalog": f"results/data/{task}/catalog.tsv",
        "samples": f"results/data/{task}/samples.tsv",
        "fold_catalog": f"results/folds/{task}/{split}/catalog.tsv",
        "fold_membership": f"results/folds/{task}/{split}/membership.tsv",
        "optimum": f"results/select/{task}/{split}/u{prop}/chosen.tsv",
        "table1": "results/tables/table1.tsv",
        "exported": f"results/models/{task}.npz",
        **opportunity_files(wildcards),
    }
    if task == "ddrd":
        files["screening"] = "results/tables/screening.tsv"
    return files


def release_job(wildcards, input):
    """The release's `--spec` (pssnmf.release): the export's final-fit spec, the protocol's
    score tables, the exported model, the FPR targets and the resolved config."""
    job = {
        "stage": "final",
        "task": wildcards.task,
        "split_mode": EXPORT["split_mode"],
        "proportion": float(EXPORT["proportion"]),
        "model": EXPORT["model"],
        "seed": EXPERIMENT["seed"],
        "fold_dir": str(Path(input.fold_membership).parent),
        "fit": FIT_SETTINGS,
        "opportunity": opportunity_spec(wildcards.task),
        "optimum": input.optimum,
    }
    return json.dumps(
        {
            "job": job,
            "table1": input.table1,
            "screening": input.get("screening"),
            "exported": input.exported,
            "fpr": SCREENING["fpr"],
            "config": config,
        },
        sort_keys=True,
    )


EXPORT = EXPERIMENT["export"]
EXPORT_PROPORTION = repr(float(EXPORT["proportion"]))
if (
    EXPORT["model"] not in ALL_MODELS
    or EXPORT["split_mode"] not in SPLITS
    or (EXPORT_PROPORTION not in PROPORTIONS)
):
    raise WorkflowError(
        f"experiment.export = {EXPORT} names a model, split mode or proportion that "
        f"experiment does not run (models {ALL_MODELS}, split_modes {SPLITS}, "
        f"proportions {PROPORTIONS})"
    )

# Genome/exome opportunity (experiment.opportunity; pssnmf.opportunity): the scale every fold
# row is brought to, each source's own scale, and the ratio derived from the COSMIC files.
OPPORTUNITY = EXPERIMENT["opportunity"]
CELL_LINE_SCALE = EXPERIMENT["cell_line_scale"]
OPPORTUNITY_RATIO = "results/data/cosmic/opportunity_ratio.tsv"


def opportunity_spec(task, scale=OPPORTUNITY):
    """A fit job's `opportunity` (pssnmf.opportunity.from_spec); None for no conversion."""
    if scale == "none":
        return None
    return {
        "ratio": OPPORTUNITY_RATIO,
        "target_scale": scale,
        "source_scales": {"cell_line": CELL_LINE_SCALE[task], "tumour": "exome"},
    }


def opportunity_options(task, scale=OPPORTUNITY):
    """`--opportunity-ratio ...` bringing a task's fold rows to `scale`; '' for none."""
    if scale == "none":
        return ""
    return (
        f"--opportunity-ratio {shlex.quote(OPPORTUNITY_RATIO)} --target-scale {shlex.quote(scale)}"
        f" --source-scale {shlex.quote(f'cell_line={CELL_LINE_SCALE[task]}')}"
        " --source-scale tumour=exome"
    )


def opportunity_files(wildcards):
    """The ratio file, where the configured scale needs it."""
    return {"opportunity_ratio": OPPORTUNITY_RATIO} if OPPORTUNITY != "none" else {}


SCREENING = EXPERIMENT["screening"]


def export_inputs(wildcards):
    """The exported final fit's models, pools and predictions (the screening cut-offs)."""
    base = f"results/final/{wildcards.task}/{EXPORT['split_mode']}/u{EXPORT_PROPORTION}/{EXPORT['model']}"
    return {
        "models": f"{base}.models",
        "pools": f"{base}.pools.tsv",
        "predictions": f"{base}.predictions.tsv",
    }


EXPERIMENT_TARGETS = ["results/tables/table1.tsv", "results/tables/table1.md"] + expand(
    "results/models/{task}.npz", task=EXPERIMENT_TASKS
)
EXPERIMENT_TARGETS += expand("results/release/{task}.npz", task=EXPERIMENT_TASKS)
if "ddrd" in EXPERIMENT_TASKS:
    EXPERIMENT_TARGETS += [
        "results/tables/screening.tsv",
        "results/tables/screening.md",
        "results/tables/screening_tcga.tsv",
    ]
    EXPERIMENT_TARGETS += expand(
        "results/figures/screening_roc_{split}_u{prop}.{ext}",
        split=EXPORT["split_mode"],
        prop=EXPORT_PROPORTION,
        ext=["png", "svg", "tsv"],
    )
FINAL_TARGETS += EXPERIMENT_TARGETS
