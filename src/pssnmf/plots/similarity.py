"""Figs. 6 and 7: learned signatures compared with each other and with COSMIC.

* Fig. 6: cosine similarity between the signatures of two models (S-NMF vs PSS-NMF), matched one
  to one by the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on cosine
  similarity.
* Fig. 7: every learned signature against the COSMIC SBS signatures, the COSMIC rows grouped by
  DNA-repair pathway with the signatures of known DDR etiology in bold; each learned signature
  named by the class whose samples carry it most and by its best COSMIC match
  (:func:`name_signatures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from scipy.optimize import linear_sum_assignment

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.etiologies import DDR_ETIOLOGIES
from pssnmf.plots.common import (
    cosine_similarity,
    new_figure,
    require_columns,
    styled,
)

#: Group of COSMIC rows that are best matches of learned signatures outside MMR/BER/HR.
OTHER_GROUP = "Other"


def _signature_matrix(signatures: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(signatures, pd.DataFrame):
        raise TypeError(f"{what}: expected a DataFrame (signatures × 96 channels)")
    try:
        frame = signatures.rename(columns={c: normalize_channel(c) for c in signatures.columns})
    except ValueError as err:
        raise ValueError(f"{what}: columns must be the 96 SBS96 channels: {err}") from None
    missing = [c for c in SBS96 if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: expected the 96 SBS96 channels as columns (one row per signature), "
            f"missing e.g. {missing[:3]}"
        )
    if len(frame) == 0:
        raise ValueError(f"{what}: no signatures")
    return frame[list(SBS96)].astype(float)


def cosine_matrix(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Cosine similarity of each signature (row) of ``a`` with each of ``b``."""
    a = _signature_matrix(a, "signatures")
    b = _signature_matrix(b, "signatures")
    return pd.DataFrame(cosine_similarity(a.to_numpy(), b.to_numpy()), index=a.index, columns=b.index)


def match_signatures(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One-to-one matching of the signatures of ``a`` and ``b`` maximising total cosine similarity.

    With different numbers of signatures, ``min(K_a, K_b)`` pairs are made and the rest stay
    unmatched.  Returns ``signature_a, signature_b, cosine`` in the order of ``a``.
    """
    similarity = cosine_matrix(a, b)
    rows, cols = linear_sum_assignment(similarity.to_numpy(), maximize=True)
    return pd.DataFrame(
        {
            "signature_a": similarity.index[rows],
            "signature_b": similarity.columns[cols],
            "cosine": similarity.to_numpy()[rows, cols],
        }
    )


@styled
def matched_similarity_figure(
    signatures_a: pd.DataFrame,
    signatures_b: pd.DataFrame,
    *,
    model_a: str = "S-NMF",
    model_b: str = "PSS-NMF",
    labels_a: Mapping[str, str] | None = None,
    labels_b: Mapping[str, str] | None = None,
    title: str | None = None,
):
    """Fig. 6: cosine similarity of every pair of signatures of two models, matched pairs framed.

    ``signatures_a`` and ``signatures_b``: DataFrames, index = signature names, columns = SBS96.
    The columns (``b``) are reordered so that each matched pair lies on the diagonal.
    ``labels_a`` / ``labels_b`` map signature names to the names shown (e.g. the ``name`` column
    of :func:`name_signatures`).

    Returns ``(fig, data)``; ``data`` holds one row per pair: ``model_a, signature_a, model_b,
    signature_b, cosine, matched``.
    """
    similarity = cosine_matrix(signatures_a, signatures_b)
    pairs = match_signatures(signatures_a, signatures_b)
    matched_b = list(pairs["signature_b"])
    order_b = matched_b + [s for s in similarity.columns if s not in matched_b]
    order_a = list(pairs["signature_a"]) + [s for s in similarity.index if s not in set(pairs["signature_a"])]
    shown = similarity.loc[order_a, order_b]
    ka, kb = shown.shape
    fig = new_figure(1.2 + 0.75 * kb + 1.6, 1.0 + 0.55 * ka + 0.8)
    ax = fig.subplots()
    image = ax.imshow(shown.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    pair_set = set(zip(pairs["signature_a"], pairs["signature_b"]))
    for i, name_a in enumerate(order_a):
        for j, name_b in enumerate(order_b):
            value = shown.iat[i, j]
            matched = (name_a, name_b) in pair_set
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    fontweight="bold" if matched else "normal",
                    color="white" if value > 0.6 else "black")
            if matched:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                       edgecolor="#d62728", linewidth=1.6))
    labels_a = labels_a or {}
    labels_b = labels_b or {}
    ax.set_xticks(range(kb), [labels_b.get(s, s) for s in order_b], rotation=35, ha="right")
    ax.set_yticks(range(ka), [labels_a.get(s, s) for s in order_a])
    ax.set_xlabel(f"{model_b} signatures")
    ax.set_ylabel(f"{model_a} signatures")
    ax.spines[:].set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("Cosine similarity")
    ax.set_title(title or f"{model_a} vs {model_b}: matched signatures (framed)")
    data = shown.stack().rename("cosine").reset_index()
    data.columns = ["signature_a", "signature_b", "cosine"]
    data["matched"] = [(a, b) in pair_set for a, b in zip(data["signature_a"], data["signature_b"])]
    data.insert(0, "model_a", model_a)
    data.insert(2, "model_b", model_b)
    return fig, data


def name_signatures(
    signatures: pd.DataFrame,
    cosmic: pd.DataFrame,
    exposures: pd.DataFrame,
    labels: pd.DataFrame,
) -> pd.DataFrame:
    """Name each learned signature by the class that carries it most and its best COSMIC match.

    Parameters
    ----------
    signatures : DataFrame (K, 96)
        Index = signature names, columns = SBS96 channels.
    cosmic : DataFrame (n_cosmic, 96)
        COSMIC signatures as rows (transpose the COSMIC file, whose columns are signatures).
    exposures : DataFrame (n_samples, K)
        Index = sample, columns = the signature names of ``signatures``.
    labels : DataFrame
        ``sample, class`` of the labelled samples (cell lines, the classes of the task).

    Exposures are made relative (each sample's exposures sum 1) so that samples with many
    mutations do not outweigh the others; the class with the highest mean relative exposure
    carries the signature.  Signatures sharing a class are numbered by decreasing mean exposure
    (``MMR-1``, ``MMR-2``), as the paper names S^Pseudo_MMR-1 and S^Pseudo_MMR-2.

    Returns
    -------
    DataFrame ``signature, top_class, mean_exposure, best_cosmic, best_cosine, name`` with
    ``name`` like ``MMR-2 (SBS6)``.
    """
    require_columns(labels, ("sample", "class"), "labels")
    sig = _signature_matrix(signatures, "signatures")
    missing = [s for s in sig.index if s not in exposures.columns]
    if missing:
        raise ValueError(
            f"exposures: no column for signature(s) {missing}; columns {list(exposures.columns)}"
        )
    labelled = labels.dropna(subset=["class"]).drop_duplicates("sample").set_index("sample")["class"]
    common = exposures.index.intersection(labelled.index)
    if len(common) == 0:
        raise ValueError("exposures and labels share no sample: cannot tell which class carries a signature")
    relative = exposures.loc[common, list(sig.index)].astype(float)
    totals = relative.sum(axis=1).where(lambda t: t > 0)
    relative = relative.div(totals, axis=0).fillna(0.0)
    by_class = relative.groupby(labelled.loc[common].astype(str)).mean()
    similarity = cosine_matrix(sig, cosmic)
    table = pd.DataFrame(
        {
            "signature": sig.index,
            "top_class": [by_class[s].idxmax() for s in sig.index],
            "mean_exposure": [by_class[s].max() for s in sig.index],
            "best_cosmic": [similarity.loc[s].idxmax() for s in sig.index],
            "best_cosine": [similarity.loc[s].max() for s in sig.index],
        }
    )
    names = []
    for _, row in table.iterrows():
        same = table[table["top_class"] == row["top_class"]].sort_values(
            "mean_exposure", ascending=False, kind="stable"
        )
        tag = row["top_class"]
        if len(same) > 1:
            tag += f"-{list(same['signature']).index(row['signature']) + 1}"
        names.append(f"{tag} ({row['best_cosmic']})")
    table["name"] = names
    return table


def cosmic_rows(
    names: pd.DataFrame | None,
    cosmic_names: Sequence[str],
    *,
    etiologies: Mapping[str, Sequence[str]] = DDR_ETIOLOGIES,
) -> pd.DataFrame:
    """COSMIC signatures shown in Fig. 7 and their group: the known etiologies of each pathway,
    then each learned signature's best match in the group of the class that carries it."""
    rows = []
    for group, members in etiologies.items():
        for name in members:
            if name in cosmic_names:
                rows.append({"group": group, "cosmic": name, "known_etiology": True})
    shown = {r["cosmic"] for r in rows}
    if names is not None:
        for _, row in names.iterrows():
            if row["best_cosmic"] in shown:
                continue
            group = row["top_class"] if row["top_class"] in etiologies else OTHER_GROUP
            rows.append({"group": group, "cosmic": row["best_cosmic"], "known_etiology": False})
            shown.add(row["best_cosmic"])
    groups = list(etiologies) + [OTHER_GROUP]
    table = pd.DataFrame(rows)
    table["order"] = table["group"].map({g: i for i, g in enumerate(groups)})
    return table.sort_values(["order"], kind="stable").drop(columns="order").reset_index(drop=True)


@styled
def cosmic_similarity_figure(
    signatures: Mapping[str, pd.DataFrame],
    cosmic: pd.DataFrame,
    *,
    names: Mapping[str, pd.DataFrame] | None = None,
    etiologies: Mapping[str, Sequence[str]] = DDR_ETIOLOGIES,
    title: str | None = None,
):
    """Fig. 7: cosine similarity of learned signatures (columns) with COSMIC signatures (rows).

    Parameters
    ----------
    signatures : mapping model → DataFrame (K, 96)
        Learned signatures of each model (e.g. ``{"S-NMF": ..., "PSS-NMF": ...}``).
    cosmic : DataFrame (n_cosmic, 96)
        COSMIC signatures as rows.
    names : mapping model → DataFrame, optional
        :func:`name_signatures` of each model: labels the columns (``PSS-NMF: MMR-2 (SBS6)``) and
        puts each best match in its class's group.

    Returns ``(fig, data)``: one row per (COSMIC, learned) pair shown: ``group, cosmic,
    known_etiology, model, signature, column_label, cosine``.
    """
    cosmic_matrix = _signature_matrix(cosmic, "COSMIC signatures")
    all_names = pd.concat(list(names.values())) if names else None
    rows = cosmic_rows(all_names, list(cosmic_matrix.index), etiologies=etiologies)
    columns, blocks = [], []
    for model, frame in signatures.items():
        similarity = cosine_matrix(frame, cosmic_matrix.loc[rows["cosmic"]])
        labels = {}
        if names and model in names:
            labels = dict(zip(names[model]["signature"], names[model]["name"]))
        for signature in similarity.index:
            label = f"{model}: {labels.get(signature, signature)}"
            columns.append(label)
            blocks.append(
                rows.assign(model=model, signature=signature, column_label=label,
                            cosine=similarity.loc[signature].to_numpy())
            )
    data = pd.concat(blocks, ignore_index=True)
    matrix = data.pivot_table(index="cosmic", columns="column_label", values="cosine", sort=False)
    matrix = matrix.loc[list(rows["cosmic"]), columns]
    n_rows, n_cols = matrix.shape
    fig = new_figure(2.4 + 0.62 * n_cols + 1.0, 1.6 + 0.3 * n_rows)
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(n_rows):
        for j in range(n_cols):
            value = matrix.iat[i, j]
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if value > 0.6 else "black")
    ax.set_xticks(range(n_cols), columns, rotation=40, ha="right")
    ax.set_yticks(range(n_rows), list(rows["cosmic"]))
    for tick, known in zip(ax.get_yticklabels(), rows["known_etiology"]):
        tick.set_fontweight("bold" if known else "normal")
    # Group separators and names (right-hand side), as the paper groups rows per DDRd.
    starts = rows.groupby("group", sort=False).head(1).index.tolist()
    for start, group in zip(starts, rows.loc[starts, "group"]):
        if start:
            ax.axhline(start - 0.5, color="black", linewidth=1.2)
        end = rows.index[rows["group"] == group].max()
        ax.text(n_cols - 0.4, (start + end) / 2, group, ha="left", va="center", fontsize=8,
                fontweight="bold", rotation=90, transform=ax.transData, clip_on=False)
    # Separate the models' columns.
    model_sizes = [len(frame) for frame in signatures.values()]
    for edge in np.cumsum(model_sizes)[:-1]:
        ax.axvline(edge - 0.5, color="black", linewidth=1.2)
    ax.spines[:].set_visible(False)
    ax.set_ylabel("COSMIC SBS signature (bold: known DDR etiology)")
    bar = fig.colorbar(image, ax=ax, shrink=0.6, pad=0.06)
    bar.set_label("Cosine similarity")
    if title:
        ax.set_title(title)
    return fig, data
