"""Private test helper: task inputs (catalog.tsv + samples.tsv) built from the real data files.

Written here, independently of the data layer's modules, in the data layer's contract format, so the
experiment tests run on real profiles whatever state the data layer is in.  Tumours are subsampled
(deterministically) to keep the tests fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pssnmf.channels import SBS96, normalize_channel

DDR_GENES = {
    "MSH6": "MMR", "MSH2": "MMR", "MLH1": "MMR", "PMS2": "MMR", "PMS1": "MMR",
    "UNG": "BER", "OGG1": "BER", "EXO1": "HR", "RNF168": "HR", "ATP2B4": "Control",
}
CANCER_TYPES = ("BLCA", "LUAD", "SKCM", "UCEC")


def _write(out: Path, counts: pd.DataFrame, samples: pd.DataFrame) -> tuple[Path, Path]:
    """counts: samples x 96 (SBS96 order)."""
    out.mkdir(parents=True, exist_ok=True)
    samples = samples.copy()
    samples["mutations"] = counts.sum(axis=1).astype(int).to_numpy()
    catalog = counts.T.copy()
    catalog.insert(0, "MutationType", list(SBS96))
    catalog.to_csv(out / "catalog.tsv", sep="\t", index=False)
    samples.to_csv(out / "samples.tsv", sep="\t", index=False)
    return out / "catalog.tsv", out / "samples.tsv"


def _tcga(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = pd.read_csv(data_dir / "tcga_mc3" / "TCGA_MC3_SBS96_counts.tsv", sep="\t", index_col=0)
    counts.index = [normalize_channel(c) for c in counts.index]
    counts = counts.loc[list(SBS96)].T
    info = pd.read_csv(data_dir / "tcga_mc3" / "samples.tsv", sep="\t").set_index("sample")
    return counts, info.loc[counts.index]


def ddrd_inputs(data_dir: Path, out: Path, n_other_tumours: int = 400) -> tuple[Path, Path]:
    """DDRd task: the 46 Zou subclones + uniquely-homozygous TCGA tumours + a few others."""
    zou = pd.read_excel(data_dir / "zou2021" / "Supplementary_tables.xlsx", sheet_name="TableS3")
    zou = zou.set_index("MutationType").drop(columns="Mutation")
    zou.index = [normalize_channel(c) for c in zou.index]
    cols = [c for c in zou.columns if c.split("_")[0] in DDR_GENES]
    cell_counts = zou.loc[list(SBS96), cols].T.astype(np.int64)
    cell = pd.DataFrame({
        "sample": cols, "source": "cell_line",
        "label": [DDR_GENES[c.split("_")[0]] for c in cols],
        "group": ["_".join(c.split("_")[:2]) for c in cols],
        "cancer_type": "", "gene": [c.split("_")[0] for c in cols],
    })
    cell["truth"] = cell["label"]

    volkova = pd.read_excel(data_dir / "volkova2020" / "Supplementary_Table_4.xlsx", sheet_name=0, header=1)
    volkova["sample"] = volkova["Sample"].str[:15]
    volkova = volkova[volkova["Pathway"].isin(["MMR", "BER", "HR"])]
    hom = volkova["Mode"].eq("Total deactivation") | volkova["Mutated_genes"].str.contains("_hom")
    status = (volkova.assign(hom=hom).groupby(["sample", "Pathway"])["hom"].max()
              .map({True: "hom", False: "het"}).unstack(fill_value="wt"))
    tcga_counts, tcga_info = _tcga(data_dir)
    status = status.reindex(tcga_counts.index).fillna("wt")
    n_hom = (status == "hom").sum(axis=1)
    truth = pd.Series("", index=status.index)
    for pathway in ("MMR", "BER", "HR"):
        truth[(n_hom == 1) & (status[pathway] == "hom")] = pathway
    with_truth = sorted(truth.index[truth != ""])
    others = sorted(truth.index[truth == ""])
    picked = [others[i] for i in np.random.default_rng(0).choice(len(others), n_other_tumours, replace=False)]
    tumour_ids = sorted(with_truth + picked)
    tum = pd.DataFrame({
        "sample": tumour_ids, "source": "tumour", "label": "", "truth": truth[tumour_ids].to_numpy(),
        "group": tumour_ids, "cancer_type": tcga_info.loc[tumour_ids, "cancer_type"].to_numpy(), "gene": "",
    })
    for pathway in ("MMR", "BER", "HR"):
        cell[pathway] = ""
        tum[pathway] = status.loc[tumour_ids, pathway].to_numpy()
    samples = pd.concat([cell, tum], ignore_index=True)
    counts = pd.concat([cell_counts, tcga_counts.loc[tumour_ids]])
    samples = samples[["sample", "source", "label", "truth", "group", "cancer_type", "MMR", "BER", "HR", "gene"]]
    return _write(out, counts, samples)


def cancer_type_inputs(data_dir: Path, out: Path, tumours_per_type: int = 80) -> tuple[Path, Path]:
    """Cancer-type task: GDSC cell lines of the 4 types + a subsample of their TCGA tumours."""
    gdsc = pd.read_csv(data_dir / "cell_lines_gdsc" / "cellLines_contexts.csv")
    gdsc = gdsc[gdsc["cancer_type"].isin(CANCER_TYPES)]
    channel_cols = [c for c in gdsc.columns if ">" in c and "[" not in c and len(c) == 5]
    cell_counts = gdsc[channel_cols].copy()
    cell_counts.columns = [normalize_channel(c) for c in channel_cols]
    cell_ids = [f"COSMIC_{i}" for i in gdsc["COSMIC_ID"]]
    cell_counts = cell_counts[list(SBS96)].astype(np.int64)
    cell_counts.index = cell_ids
    cell_counts = cell_counts[cell_counts.sum(axis=1) > 0]
    types = gdsc.set_index(pd.Index(cell_ids))["cancer_type"].loc[cell_counts.index]
    cell = pd.DataFrame({"sample": cell_counts.index, "source": "cell_line", "label": types.to_numpy(),
                         "truth": types.to_numpy(), "group": cell_counts.index, "cancer_type": types.to_numpy()})
    tcga_counts, tcga_info = _tcga(data_dir)
    rng = np.random.default_rng(1)
    tumour_ids: list[str] = []
    for ct in CANCER_TYPES:
        ids = sorted(tcga_info.index[tcga_info["cancer_type"] == ct])
        ids = [i for i in ids if tcga_counts.loc[i].sum() > 0]
        tumour_ids += [ids[i] for i in sorted(rng.choice(len(ids), tumours_per_type, replace=False))]
    ctypes = tcga_info.loc[tumour_ids, "cancer_type"].to_numpy()
    tum = pd.DataFrame({"sample": tumour_ids, "source": "tumour", "label": "", "truth": ctypes,
                        "group": tumour_ids, "cancer_type": ctypes})
    samples = pd.concat([cell, tum], ignore_index=True)
    counts = pd.concat([cell_counts, tcga_counts.loc[tumour_ids]])
    return _write(out, counts, samples)
