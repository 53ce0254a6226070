"""The models shipped with the package (``pssnmf/shipped/<task>.npz``): the workflow's released
models (:mod:`pssnmf.release`) of a full-scale run, which ``pssnmf predict`` uses when no
``--model`` is given and ``pssnmf models`` lists with their provenance."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_TASK = "ddrd"
"""The shipped model ``pssnmf predict`` applies without ``--model``: the DNA-repair-deficiency one."""


def shipped_models() -> dict[str, Path]:
    """Task name -> path of each shipped model file, sorted by name (empty if none is shipped)."""
    folder = resources.files("pssnmf") / "shipped"
    if not folder.is_dir():
        return {}
    return {entry.name.removesuffix(".npz"): Path(str(entry)) for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".npz")}


def default_model() -> Path:
    """The shipped DDRd model, or a ValueError saying that none is shipped."""
    models = shipped_models()
    if DEFAULT_TASK not in models:
        raise ValueError("no --model given, and this installation ships no DDRd model "
                         f"(pssnmf/shipped/{DEFAULT_TASK}.npz); give --model results/release/ddrd.npz "
                         "or results/models/ddrd.npz from a workflow run")
    return models[DEFAULT_TASK]


def describe(model) -> list[str]:
    """Lines saying what a released model is and where it came from (its ``metadata["release"]``)."""
    metadata = getattr(model, "metadata_", None) or {}
    release = metadata.get("release")
    if not isinstance(release, dict):
        return [f"{metadata.get('model', '?')} ({metadata.get('task', '?')}): not a released model "
                "(no provenance recorded)"]
    h = release.get("hyperparameters", {})
    project = release.get("project", {})
    selected = release.get("selected_on", {})
    lines = [
        f"{release.get('model')} for {release.get('task')}: K={h.get('K')}, lambda_c={h.get('lambda_c')}, "
        f"lambda_l2={h.get('lambda_l2')}, confidence_threshold={h.get('confidence_threshold')}",
        f"  chosen on the {selected.get('split_mode')} split at {selected.get('proportion')} unlabelled; "
        f"retrained on {release.get('n_labelled')} labelled and {release.get('n_unlabelled')} unlabelled rows",
        f"  pssnmf {project.get('version')}, commit {project.get('commit') or 'unknown'}"
        + (" (with uncommitted changes)" if project.get("dirty") else ""),
    ]
    table1 = (release.get("protocol_scores") or {}).get("table1") or []
    if table1:
        row = table1[0]

        def score(name):
            value, low, high = row.get(name), row.get(f"{name}_low"), row.get(f"{name}_high")
            return "–" if value is None else f"{value:.3f} [{low:.3f}, {high:.3f}]"

        lines.append(f"  in the protocol (Table 1): cell-line accuracy {score('cellline_accuracy')}, TCGA macro F1 "
                     f"{score('tcga_f1')}, over {row.get('n_replicates')} seeds")
    cutoffs = (metadata.get("screening") or {}).get("cutoffs", {}).get("probability")
    if cutoffs:
        lines.append("  screening cut-offs (probability; chosen on proficient validation tumours): " + "; ".join(
            f"FPR {tag}: " + ", ".join(f"{p} {c:.4g}" for p, c in by.items()) for tag, by in cutoffs.items()))
    inputs = release.get("inputs", {})
    if inputs:
        lines.append("  inputs: " + ", ".join(f"{name} {entry['sha256'][:12]}" for name, entry in inputs.items()))
    return lines
