"""Zou et al. 2021 knockout subclones: SBS96 counts (TableS3) and annotation (TableS2).

TableS3 names a subclone ``<gene>_<clone>_<subclone>`` (``MSH6_3_s4``); TableS2
names the same subclone ``MSK0.<clone>_<subclone>`` (``MSK0.3_s4``) with its
knocked-out gene in ``Ko_gene``.  Subclones of one parent clone (``MSH6_3``) are
near copies of each other, so the parent clone is their leakage ``group``
(docs/protocol.md, "Splits and bootstrapping").
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence

import pandas as pd

from pssnmf.catalog import CatalogError, catalog_from_table

log = logging.getLogger(__name__)

_S3_NAME = re.compile(r"^(?P<gene>.+)_(?P<clone>\d+)_(?P<sub>s\d+)$")
_S2_NAME = re.compile(r"^MSK0\.(?P<clone>\d+)_(?P<sub>s\d+)$")


def read_zou(tables: str | os.PathLike, classes: Mapping[str, Sequence[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All 173 subclones: ``(counts, samples)``.

    ``counts``: samples x 96 int64.  ``samples``: one row per subclone, same order,
    columns ``sample`` (TableS3 name), ``zou_sample`` (TableS2 name), ``gene``,
    ``subpathway`` (Zou's ``Subpathway_KO``), ``pathway`` (the class of ``classes``
    whose gene list holds ``gene``, else empty), ``parent_clone``, ``clonality``,
    ``mutations``.
    """
    source_s3 = f"{tables}, sheet TableS3"
    with warnings.catch_warnings():
        # openpyxl: "Unknown extension is not supported" (Excel data validation); harmless.
        warnings.filterwarnings("ignore", message="Unknown extension", category=UserWarning)
        table_s3 = pd.read_excel(tables, sheet_name="TableS3")
        annotation = pd.read_excel(tables, sheet_name="TableS2")
    counts = catalog_from_table(table_s3, source_s3, ignore_columns=["Mutation"])
    for column in ("Sample", "Ko_gene", "Subpathway_KO"):
        if column not in annotation.columns:
            raise CatalogError(f"{tables}, sheet TableS2: no column {column!r}; expected Zou's annotation table")

    by_key = {}
    for row, record in enumerate(annotation.itertuples(index=False), start=2):
        match = _S2_NAME.match(str(record.Sample))
        if not match:
            raise CatalogError(
                f"{tables}, sheet TableS2, line {row}: sample {record.Sample!r}; expected a name like 'MSK0.3_s4'"
            )
        by_key[(record.Ko_gene, match["clone"], match["sub"])] = record

    gene_class = {gene: cls for cls, genes in classes.items() for gene in genes}
    rows = []
    for column, name in enumerate(counts.index, start=3):
        match = _S3_NAME.match(name)
        if not match:
            raise CatalogError(f"{source_s3}: column {column}: {name!r}; expected a name like 'MSH6_3_s4'")
        key = (match["gene"], match["clone"], match["sub"])
        if key not in by_key:
            raise CatalogError(
                f"{source_s3}: column {column}: {name!r} has no row in TableS2 "
                f"(looked for MSK0.{key[1]}_{key[2]} with Ko_gene {key[0]})"
            )
        record = by_key[key]
        rows.append(
            {
                "sample": name,
                "zou_sample": record.Sample,
                "gene": record.Ko_gene,
                "subpathway": record.Subpathway_KO,
                "pathway": gene_class.get(record.Ko_gene, ""),
                "parent_clone": f"{match['gene']}_{match['clone']}",
                "clonality": getattr(record, "Clonality", ""),
                "mutations": int(counts.loc[name].sum()),
            }
        )
    samples = pd.DataFrame(rows)
    unknown = sorted(set(gene_class) - set(samples["gene"]))
    if unknown:
        raise CatalogError(f"{tables}: genes {unknown} of the configured classes have no subclone in TableS3")
    for cls in classes:
        if not (samples["pathway"] == cls).any():
            raise CatalogError(f"{tables}: class {cls!r} has no subclone; expected at least one")
    log.info(
        "Zou 2021: %d subclones, labelled by class: %s",
        len(samples),
        samples.loc[samples["pathway"] != "", "pathway"].value_counts().to_dict(),
    )
    return counts, samples
