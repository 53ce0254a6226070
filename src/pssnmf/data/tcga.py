"""TCGA tumours: SBS96 catalogs (two routes) and DNA-repair status per pathway.

Routes to the catalog:

* published catalog (``tcga_mc3/TCGA_MC3_SBS96_counts.tsv`` + ``samples.tsv``):
  :func:`read_published_catalog`;
* the MC3 public MAF converted to SBS96 with its ``CONTEXT`` column, cancer types
  from the TCGA Clinical Data Resource: :func:`catalog_from_mc3`.

DNA-repair status (section 2.2.2): Volkova et al.'s Supplementary Table 4 lists, per
TCGA aliquot and pathway, the mutated repair genes and a ``Mode``: ``Total
deactivation`` (a ``GENE_hom`` entry, homozygous) or ``Heterozygous``.
:func:`ddr_status` turns it into ``hom`` / ``het`` / ``wt`` per tumour and pathway.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Sequence

import pandas as pd

from pssnmf.catalog import CatalogError, read_catalog
from pssnmf.data.maf import convert_maf

log = logging.getLogger(__name__)

SAMPLE_BARCODE = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}-\d{2}$")
HOMOZYGOUS_MODE = "Total deactivation"


def sample_barcode(aliquot: str) -> str:
    """``TCGA-02-0003-01A-01D-1490-08`` → ``TCGA-02-0003-01`` (aliquot → sample: 15 characters)."""
    return str(aliquot).strip()[:15]


def read_published_catalog(catalog: str | os.PathLike, samples: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published-catalog route: ``(counts, samples)`` with ``sample, cancer_type, mutations``."""
    counts = read_catalog(catalog, on_all_zero="drop")
    table = pd.read_csv(samples, sep="\t", dtype=str, keep_default_na=False)
    for column in ("sample", "cancer_type"):
        if column not in table.columns:
            raise CatalogError(f"{samples}: no column {column!r}; expected 'sample' and 'cancer_type'")
    duplicated = table["sample"][table["sample"].duplicated()].tolist()
    if duplicated:
        raise CatalogError(f"{samples}: sample IDs listed twice: {duplicated[:5]}")
    unknown = sorted(set(table["sample"]) - set(counts.index))
    missing = sorted(set(counts.index) - set(table["sample"]))
    if missing:
        raise CatalogError(f"{samples}: {len(missing)} catalog sample(s) have no cancer type, e.g. {missing[:5]}")
    if unknown:
        log.warning("%s: %d sample(s) not in the catalog (dropped or all-zero): %s", samples, len(unknown), unknown[:5])
    table = table.set_index("sample").loc[counts.index].reset_index()
    empty = table.index[table["cancer_type"].str.strip() == ""].tolist()
    if empty:
        raise CatalogError(f"{samples}: line {empty[0] + 2}: empty cancer_type; expected a TCGA project code")
    table["mutations"] = counts.sum(axis=1).to_numpy()
    return counts, table[["sample", "cancer_type", "mutations"]]


def catalog_from_mc3(
    maf: str | os.PathLike, clinical: str | os.PathLike, *, sample_types: Sequence[str] = ("01",)
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The MAF route: SBS96 per tumour sample from the MC3 MAF, cancer type from the CDR.

    Only samples whose sample-type code (characters 14-15 of the barcode) is in
    ``sample_types`` are kept (``01`` = primary solid tumour, as in the published catalog).
    Returns ``(counts, samples, skipped)``.
    """
    types = set(sample_types)
    conversion = convert_maf(
        maf, None, sample_id=sample_barcode, keep_sample=lambda s: s[13:15] in types, context_column="CONTEXT"
    )
    clinical_table = pd.read_excel(clinical, sheet_name=0, dtype=str)
    for column in ("bcr_patient_barcode", "type"):
        if column not in clinical_table.columns:
            raise CatalogError(f"{clinical}: no column {column!r}; expected the TCGA-CDR clinical table")
    cancer = dict(zip(clinical_table["bcr_patient_barcode"], clinical_table["type"], strict=True))
    counts = conversion.counts
    samples = pd.DataFrame({"sample": counts.index, "cancer_type": [cancer.get(s[:12], "") for s in counts.index]})
    no_type = samples["cancer_type"] == ""
    if no_type.any():
        log.warning("%d MAF sample(s) have no cancer type in %s; left out", int(no_type.sum()), clinical)
    counts = counts.loc[~no_type.to_numpy()]
    samples = samples.loc[~no_type].reset_index(drop=True)
    zero = counts.sum(axis=1).to_numpy() == 0
    counts, samples = counts.loc[~zero], samples.loc[~zero].reset_index(drop=True)
    samples["mutations"] = counts.sum(axis=1).to_numpy()
    return counts, samples, conversion.skipped


def read_volkova(path: str | os.PathLike) -> pd.DataFrame:
    """Sheet 1 of Volkova's Supplementary Table 4 (the header is on its 2nd row)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unknown extension", category=UserWarning)
        table = pd.read_excel(path, sheet_name=0, header=1, dtype=str)
    expected = {"Sample", "Pathway", "Mutated_genes", "Mode"}
    if not expected <= set(table.columns):
        raise CatalogError(
            f"{path}, sheet 1: columns {sorted(table.columns)}; expected {sorted(expected)} on the 2nd row"
        )
    return table.dropna(subset=["Sample", "Pathway"])


def ddr_status(
    volkova: pd.DataFrame, samples: pd.DataFrame, pathways: Sequence[str] = ("MMR", "BER", "HR")
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``hom`` / ``het`` / ``wt`` per catalog tumour and pathway, and the unmatched Volkova rows.

    * A pathway entry is homozygous when its ``Mode`` is ``Total deactivation`` or a
      gene is listed as ``GENE_hom``; otherwise heterozygous.
    * Aliquot barcodes are matched to catalog samples by their first 15 characters;
      where one sample has several aliquots, the strongest status wins (hom > het).
    * A catalog tumour with no entry for a pathway is wild type (``wt``) for it: the
      table lists every sample with a mutated repair gene (Knijnenburg et al.), so
      absence means no such mutation.  ``in_volkova`` says whether the tumour appears
      in the table at all, for whoever wants to treat absent tumours differently.
    * ``unique_hom`` is the pathway in which the tumour is homozygous when it is
      homozygous in exactly one of ``pathways`` (its indicative label, section 2.2.2),
      else empty.

    Returns ``(status, unmatched)``: ``status`` has one row per catalog sample, in
    catalog order; ``unmatched`` lists the Volkova samples that match no catalog tumour.
    """
    table = volkova.copy()
    table["sample"] = table["Sample"].map(sample_barcode)
    homozygous = (table["Mode"].str.strip() == HOMOZYGOUS_MODE) | table["Mutated_genes"].fillna("").str.contains(
        r"_hom\b", regex=True
    )
    table["status"] = homozygous.map({True: 2, False: 1})
    catalog_samples = pd.Index(samples["sample"])
    matched = table["sample"].isin(catalog_samples)
    unmatched = (
        table.loc[~matched, ["Sample", "sample"] + (["Cancer"] if "Cancer" in table.columns else [])]
        .drop_duplicates("Sample")
        .rename(columns={"Sample": "barcode"})
        .reset_index(drop=True)
    )
    aliquots = table.loc[matched].groupby("sample")["Sample"].nunique()
    if (aliquots > 1).any():
        log.info("%d tumour(s) have several aliquots in the Volkova table; the strongest status is kept", int((aliquots > 1).sum()))
    log.info(
        "Volkova table: %d of %d samples match a catalog tumour; %d unmatched",
        table.loc[matched, "sample"].nunique(),
        table["sample"].nunique(),
        unmatched["sample"].nunique(),
    )
    relevant = table.loc[matched & table["Pathway"].isin(pathways)]
    strongest = relevant.groupby(["sample", "Pathway"])["status"].max().unstack("Pathway")
    strongest = strongest.reindex(index=catalog_samples, columns=list(pathways)).fillna(0).astype(int)
    names = {0: "wt", 1: "het", 2: "hom"}
    status = pd.DataFrame({"sample": catalog_samples})
    for pathway in pathways:
        status[pathway] = strongest[pathway].map(names).to_numpy()
    hom = strongest.to_numpy() == 2
    unique = hom.sum(axis=1) == 1
    status["unique_hom"] = [pathways[row.argmax()] if ok else "" for row, ok in zip(hom, unique, strict=True)]
    status["in_volkova"] = pd.Series(catalog_samples.isin(table["sample"])).map({True: "yes", False: "no"}).to_numpy()
    if "cancer_type" in samples.columns:
        status.insert(1, "cancer_type", samples["cancer_type"].to_numpy())
    log.info(
        "tumours homozygous in exactly one of %s: %s",
        "/".join(pathways),
        status.loc[status["unique_hom"] != "", "unique_hom"].value_counts().to_dict(),
    )
    return status, unmatched
