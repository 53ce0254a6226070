"""The paper's choice of cancer types for the cancer-type task (section 2.2.1, Appendix B.1).

1. keep the cancer types present in both the cell-line and the tumour set;
2. keep those with at least ``min_cell_lines`` cell lines and ``min_tumours`` tumours
   (15 and 400 in the paper);
3. compare the types' mean mutational profiles by cosine similarity (Fig. 9c-e);
4. group the types into ``n_clusters`` clusters (4 in the paper);
5. take one type per cluster: the tuple with the highest total cosine
   cross-dissimilarity between the two sets.

The paper does not say how it clustered or what "total cross-dissimilarity" sums;
here:

* the profile of a sample is its proportions (counts / total); a type's mean
  profile is the mean of its samples' proportions;
* clustering is average-linkage hierarchical clustering on the mean of the two
  within-set cosine distances (``1 - cosine``), so that a cluster groups types
  similar in both sets ("4 clusters ... emerged for both the CCLE and TCGA datasets");
* a tuple's score is ``sum over ordered pairs a != b of (1 - cos(cell_line_mean[a],
  tumour_mean[b]))``: how far each type's cell lines are from every other chosen
  type's tumours, which is what a classifier trained on cell lines and applied to
  tumours needs.  Ties go to the alphabetically first tuple.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

log = logging.getLogger(__name__)


class SelectionError(ValueError):
    """The selection cannot be made (too few candidate types, unknown fixed types)."""


@dataclass
class CancerTypeSelection:
    table: pd.DataFrame
    """one row per cancer type seen in either set: counts, thresholds passed, cluster, chosen."""
    tuples: pd.DataFrame
    """every candidate tuple (one type per cluster) with its score, best first."""
    cosine_cell_lines: pd.DataFrame
    cosine_tumours: pd.DataFrame
    cosine_cross: pd.DataFrame
    """rows: cell-line mean profiles; columns: tumour mean profiles."""
    selected: tuple[str, ...]
    """the tuple the rule picks."""
    used: tuple[str, ...]
    """the types the task uses: ``selected``, or the config's fixed types."""


def mean_profiles(counts: pd.DataFrame, types: pd.Series) -> pd.DataFrame:
    """types x 96 mean of per-sample proportions."""
    proportions = counts.div(counts.sum(axis=1), axis=0)
    return proportions.groupby(types.to_numpy()).mean()


def cosine_matrix(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    an = a.to_numpy() / np.linalg.norm(a.to_numpy(), axis=1, keepdims=True)
    bn = b.to_numpy() / np.linalg.norm(b.to_numpy(), axis=1, keepdims=True)
    return pd.DataFrame(an @ bn.T, index=a.index, columns=b.index)


def select_cancer_types(
    cell_counts: pd.DataFrame,
    cell_types: pd.Series,
    tumour_counts: pd.DataFrame,
    tumour_types: pd.Series,
    *,
    min_cell_lines: int = 15,
    min_tumours: int = 400,
    n_clusters: int = 4,
    fixed_types: Sequence[str] | None = None,
) -> CancerTypeSelection:
    """Run the selection; ``cell_types``/``tumour_types`` align with the counts' rows."""
    n_cell = cell_types.value_counts()
    n_tumour = tumour_types.value_counts()
    all_types = sorted(set(n_cell.index) | set(n_tumour.index))
    table = pd.DataFrame({"cancer_type": all_types})
    table["cell_lines"] = [int(n_cell.get(t, 0)) for t in all_types]
    table["tumours"] = [int(n_tumour.get(t, 0)) for t in all_types]
    table["in_both"] = (table["cell_lines"] > 0) & (table["tumours"] > 0)
    table["passes_min_cell_lines"] = table["cell_lines"] >= min_cell_lines
    table["passes_min_tumours"] = table["tumours"] >= min_tumours
    table["candidate"] = table["in_both"] & table["passes_min_cell_lines"] & table["passes_min_tumours"]
    candidates = table.loc[table["candidate"], "cancer_type"].tolist()
    log.info("candidate cancer types (>= %d cell lines, >= %d tumours): %s", min_cell_lines, min_tumours, candidates)
    if len(candidates) < n_clusters:
        raise SelectionError(
            f"only {len(candidates)} cancer type(s) ({', '.join(candidates) or 'none'}) have at least "
            f"{min_cell_lines} cell lines and {min_tumours} tumours; expected at least n_clusters = {n_clusters} "
            "(lower tasks.cancer_type.min_cell_lines / min_tumours, or fix tasks.cancer_type.types)"
        )

    cell_mean = mean_profiles(cell_counts, cell_types).loc[candidates]
    tumour_mean = mean_profiles(tumour_counts, tumour_types).loc[candidates]
    cos_cell = cosine_matrix(cell_mean, cell_mean)
    cos_tumour = cosine_matrix(tumour_mean, tumour_mean)
    cos_cross = cosine_matrix(cell_mean, tumour_mean)

    distance = ((1 - cos_cell.to_numpy()) + (1 - cos_tumour.to_numpy())) / 2
    distance = np.clip((distance + distance.T) / 2, 0, None)
    np.fill_diagonal(distance, 0)
    raw_clusters = fcluster(linkage(squareform(distance, checks=False), method="average"), n_clusters, "maxclust")
    # Number clusters 1..n by their first member in alphabetical order: stable output.
    renumber: dict[int, int] = {}
    for c in raw_clusters:
        renumber.setdefault(int(c), len(renumber) + 1)
    clusters = {t: renumber[int(c)] for t, c in zip(candidates, raw_clusters, strict=True)}
    table["cluster"] = [clusters.get(t, pd.NA) for t in all_types]
    table["cluster"] = table["cluster"].astype("Int64")

    members = [[t for t in candidates if clusters[t] == k] for k in range(1, len(renumber) + 1)]
    dissimilarity = 1 - cos_cross
    rows = []
    for combo in itertools.product(*members):
        score = sum(dissimilarity.loc[a, b] for a in combo for b in combo if a != b)
        rows.append({"types": ",".join(sorted(combo)), "score": float(score)})
    tuples = pd.DataFrame(rows).sort_values(["score", "types"], ascending=[False, True], kind="mergesort")
    tuples = tuples.reset_index(drop=True)
    selected = tuple(tuples.loc[0, "types"].split(","))
    log.info("the selection rule picks %s (score %.4f)", selected, tuples.loc[0, "score"])

    if fixed_types:
        unknown = [t for t in fixed_types if t not in all_types or not table.set_index("cancer_type").loc[t, "in_both"]]
        if unknown:
            raise SelectionError(
                f"tasks.cancer_type.types names {unknown}, which are not in both the cell-line and tumour sets"
            )
        used = tuple(fixed_types)
        log.info("the config fixes the cancer types: %s (the rule would pick %s)", used, selected)
    else:
        used = selected
    table["selected_by_rule"] = table["cancer_type"].isin(selected)
    table["used"] = table["cancer_type"].isin(used)
    return CancerTypeSelection(table, tuples, cos_cell, cos_tumour, cos_cross, selected, used)
