"""Cancer cell lines for the cancer-type task: CCLE (full scale) or GDSC (offline stand-in).

* GDSC (Levatić et al. 2022, ``cellLines_contexts.csv``): samples as rows,
  ``COSMIC_ID``, ``cancer_type`` (TCGA codes), 96 ``ACA>A``-style channels, then 4
  indel columns, which are dropped.  Sample IDs become ``GDSC_<COSMIC_ID>``.
* CCLE (DepMap 21Q3): ``CCLE_mutations.csv`` lacks trinucleotide context, so its
  substitutions are placed in SBS96 with the GRCh37 reference
  (:func:`pssnmf.data.maf.convert_maf`); the cancer type comes from
  ``sample_info.csv`` (``lineage``, ``lineage_subtype``) through the mapping table
  ``resources/ccle_tcga_types.tsv``.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

from pssnmf.catalog import CatalogError, read_catalog
from pssnmf.data.maf import convert_maf

log = logging.getLogger(__name__)

GDSC_EXTRA_COLUMNS = ("cancer_type", "MH", "MS", "Insertion", "Other")


def read_gdsc(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GDSC cell lines: ``(counts, samples)``, samples with ``sample, cancer_type, mutations``."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("COSMIC_ID", "cancer_type"):
        if column not in table.columns:
            raise CatalogError(f"{path}: no column {column!r}; expected Levatić et al.'s GDSC table")
    counts = read_catalog(path, on_all_zero="drop", ignore_columns=GDSC_EXTRA_COLUMNS)
    cancer = dict(zip(table["COSMIC_ID"].str.strip(), table["cancer_type"].str.strip(), strict=True))
    samples = pd.DataFrame(
        {
            "sample": ["GDSC_" + s for s in counts.index],
            "cancer_type": [cancer[s] for s in counts.index],
            "mutations": counts.sum(axis=1).to_numpy(),
        }
    )
    counts.index = pd.Index(samples["sample"], name="sample")
    return counts, samples


def read_ccle(
    mutations: str | os.PathLike,
    sample_info: str | os.PathLike,
    fasta: str | os.PathLike,
    type_map: str | os.PathLike,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """CCLE cell lines from DepMap mutation calls + GRCh37: ``(counts, samples, skipped)``.

    Cell lines whose (lineage, lineage_subtype) has no row in ``type_map`` get no
    cancer type and are left out (counted in the log).
    """
    conversion = convert_maf(mutations, fasta, sample_column="DepMap_ID", alt_column="Tumor_Seq_Allele1")
    info = pd.read_csv(sample_info, dtype=str, keep_default_na=False)
    for column in ("DepMap_ID", "lineage", "lineage_subtype"):
        if column not in info.columns:
            raise CatalogError(f"{sample_info}: no column {column!r}; expected DepMap's sample_info.csv")
    mapping = pd.read_csv(type_map, sep="\t", dtype=str, keep_default_na=False, comment="#")
    exact = {(r.lineage, r.lineage_subtype): r.cancer_type for r in mapping.itertuples() if r.lineage_subtype != "*"}
    lineage_only = {r.lineage: r.cancer_type for r in mapping.itertuples() if r.lineage_subtype == "*"}
    lookup = {}
    for r in info.itertuples():
        code = exact.get((r.lineage, r.lineage_subtype)) or lineage_only.get(r.lineage, "")
        lookup[r.DepMap_ID] = (code, getattr(r, "CCLE_Name", ""))
    counts = conversion.counts
    codes = [lookup.get(s, ("", ""))[0] for s in counts.index]
    keep = [bool(c) for c in codes]
    log.info("CCLE: %d cell lines with substitutions, %d with a TCGA cancer type", len(codes), sum(keep))
    counts = counts.loc[keep]
    samples = pd.DataFrame(
        {
            "sample": counts.index,
            "cancer_type": [c for c, k in zip(codes, keep, strict=True) if k],
            "ccle_name": [lookup.get(s, ("", ""))[1] for s in counts.index],
        }
    )
    samples["mutations"] = counts.sum(axis=1).to_numpy()
    return counts, samples, conversion.skipped
