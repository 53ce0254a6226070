"""Assemble each task's catalog and samples table (the contract later stages read).

``samples.tsv`` has one row per catalog column, in the same order:

* ``sample``, ``source`` (``cell_line`` / ``tumour``);
* ``label``: the training class of a labelled cell line; empty for tumours, whose
  labels are never used for training;
* ``truth``: the evaluation class (cell lines: their label; cancer-type tumours:
  their TCGA type; DDRd tumours: the pathway in which they are uniquely homozygous,
  else empty);
* ``group``: the leakage group (Zou's parent clone, else the sample itself);
* ``cancer_type``, ``mutations``; DDRd only: ``MMR``, ``BER``, ``HR`` (tumours:
  ``hom``/``het``/``wt``) and ``gene`` (Zou subclones).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pssnmf.catalog import CatalogError

log = logging.getLogger(__name__)

TASK_COLUMNS = ("sample", "source", "label", "truth", "group", "cancer_type", "mutations")


def subsample_per_cohort(
    samples: pd.DataFrame, cap: int | None, seed: int, always_keep: pd.Series | None = None
) -> pd.Series:
    """Boolean mask keeping at most ``cap`` tumours per ``cancer_type`` (seeded), plus ``always_keep``.

    ``cap=None`` keeps all.  Sampling is done per cohort in alphabetical order from
    one ``numpy`` generator, so the same seed gives the same subset.
    """
    keep = pd.Series(True, index=samples.index)
    if cap is None:
        return keep
    forced = always_keep if always_keep is not None else pd.Series(False, index=samples.index)
    rng = np.random.default_rng(seed)
    keep[:] = forced
    for cohort in sorted(samples["cancer_type"].unique()):
        pool = samples.index[(samples["cancer_type"] == cohort) & ~forced]
        take = min(cap, len(pool))
        chosen = rng.choice(np.asarray(pool), size=take, replace=False) if take else []
        keep[chosen] = True
    return keep


def _check(counts: pd.DataFrame, samples: pd.DataFrame, classes: Sequence[str], task: str) -> None:
    if list(counts.index) != list(samples["sample"]):
        raise CatalogError(f"{task}: samples table and catalog disagree on the samples or their order")
    duplicated = samples["sample"][samples["sample"].duplicated()].tolist()
    if duplicated:
        raise CatalogError(f"{task}: duplicate sample IDs across sources: {duplicated[:5]}")
    present = samples.loc[samples["label"] != "", "label"].value_counts()
    empty = [c for c in classes if present.get(c, 0) == 0]
    if empty:
        raise CatalogError(f"{task}: class(es) {empty} have no labelled sample; expected at least one each")
    unknown = sorted(set(present.index) - set(classes))
    if unknown:
        raise CatalogError(f"{task}: labels {unknown} are not among the classes {list(classes)}")


def build_ddrd(
    zou_counts: pd.DataFrame,
    zou_samples: pd.DataFrame,
    tumour_counts: pd.DataFrame,
    tumour_samples: pd.DataFrame,
    status: pd.DataFrame,
    classes: Sequence[str],
    *,
    subsample_tumours: int | None = None,
    seed: int = 0,
    pathways: Sequence[str] = ("MMR", "BER", "HR"),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DDRd task: the labelled Zou subclones plus the TCGA tumours (section 2.2.2)."""
    labelled = zou_samples.loc[zou_samples["pathway"].isin(classes)].reset_index(drop=True)
    cells = pd.DataFrame(
        {
            "sample": labelled["sample"],
            "source": "cell_line",
            "label": labelled["pathway"],
            "truth": labelled["pathway"],
            "group": labelled["parent_clone"],
            "cancer_type": "",
            "mutations": labelled["mutations"],
        }
    )
    for pathway in pathways:
        cells[pathway] = ""
    cells["gene"] = labelled["gene"]

    if list(status["sample"]) != list(tumour_samples["sample"]):
        status = status.set_index("sample").reindex(tumour_samples["sample"]).reset_index()
        if status[list(pathways)].isna().any().any():
            missing = status.loc[status[list(pathways)].isna().any(axis=1), "sample"].tolist()
            raise CatalogError(f"DDR status table lacks {len(missing)} catalog tumour(s), e.g. {missing[:5]}")
    any_hom = (status[list(pathways)] == "hom").any(axis=1)
    keep = subsample_per_cohort(tumour_samples, subsample_tumours, seed, always_keep=any_hom).to_numpy()
    kept = tumour_samples.loc[keep].reset_index(drop=True)
    kept_status = status.loc[keep].reset_index(drop=True)
    tumours = pd.DataFrame(
        {
            "sample": kept["sample"],
            "source": "tumour",
            "label": "",
            "truth": kept_status["unique_hom"],
            "group": kept["sample"],
            "cancer_type": kept["cancer_type"],
            "mutations": kept["mutations"],
        }
    )
    for pathway in pathways:
        tumours[pathway] = kept_status[pathway]
    tumours["gene"] = ""
    samples = pd.concat([cells, tumours], ignore_index=True)
    counts = pd.concat([zou_counts.loc[labelled["sample"]], tumour_counts.loc[kept["sample"]]])
    _check(counts, samples, classes, "DDRd task")
    log.info(
        "DDRd task: %d cell lines %s, %d tumours (%s truth: %s)",
        len(cells),
        cells["label"].value_counts().to_dict(),
        len(tumours),
        "uniquely homozygous",
        tumours.loc[tumours["truth"] != "", "truth"].value_counts().to_dict(),
    )
    return counts, samples


def build_cancer_type(
    cell_counts: pd.DataFrame,
    cell_samples: pd.DataFrame,
    tumour_counts: pd.DataFrame,
    tumour_samples: pd.DataFrame,
    types: Sequence[str],
    *,
    subsample_tumours: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cancer-type task: cell lines (labelled) and tumours of ``types`` (section 2.2.1)."""
    cells = cell_samples.loc[cell_samples["cancer_type"].isin(types)].reset_index(drop=True)
    chosen = tumour_samples.loc[tumour_samples["cancer_type"].isin(types)].reset_index(drop=True)
    keep = subsample_per_cohort(chosen, subsample_tumours, seed).to_numpy()
    tumours = chosen.loc[keep].reset_index(drop=True)
    samples = pd.concat(
        [
            pd.DataFrame(
                {
                    "sample": cells["sample"],
                    "source": "cell_line",
                    "label": cells["cancer_type"],
                    "truth": cells["cancer_type"],
                    "group": cells["sample"],
                    "cancer_type": cells["cancer_type"],
                    "mutations": cells["mutations"],
                }
            ),
            pd.DataFrame(
                {
                    "sample": tumours["sample"],
                    "source": "tumour",
                    "label": "",
                    "truth": tumours["cancer_type"],
                    "group": tumours["sample"],
                    "cancer_type": tumours["cancer_type"],
                    "mutations": tumours["mutations"],
                }
            ),
        ],
        ignore_index=True,
    )
    counts = pd.concat([cell_counts.loc[cells["sample"]], tumour_counts.loc[tumours["sample"]]])
    _check(counts, samples, list(types), "cancer-type task")
    log.info(
        "cancer-type task: cell lines %s, tumours %s",
        cells["cancer_type"].value_counts().to_dict(),
        tumours["cancer_type"].value_counts().to_dict(),
    )
    return counts, samples


def read_samples_table(path, counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read a ``samples.tsv`` (strings kept as written; ``mutations`` as int)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if "sample" not in table.columns:
        raise CatalogError(f"{path}: no 'sample' column")
    if "mutations" in table.columns:
        table["mutations"] = table["mutations"].astype(int)
    if counts is not None:
        unknown = [(i + 2, s) for i, s in enumerate(table["sample"]) if s not in counts.index]
        if unknown:
            line, name = unknown[0]
            raise CatalogError(
                f"{path}: line {line}: sample {name!r} is not in the catalog ({len(unknown)} such row(s)); "
                "expected every labelled sample to have a catalog column"
            )
    return table


def class_mapping(classes: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {gene: cls for cls, genes in classes.items() for gene in genes}
