"""ROC curves of the screening scores (docs/protocol.md, "Screening"): one panel per DNA-repair
pathway, one curve per model (its probability of the pathway) and the COSMIC-share baseline;
positives are the test tumours deficient in the pathway, negatives the proficient test pool."""

from __future__ import annotations

from pssnmf.plots.common import model_colors, new_figure, require_columns, require_rows, styled

ROC_COLUMNS = ("model", "score", "pathway", "fpr", "tpr")


@styled
def roc_figure(points, title: str | None = None):
    """The figure of :func:`pssnmf.screening.roc_points`' curves."""
    require_columns(points, ROC_COLUMNS, "ROC curves")
    require_rows(points, "ROC curves")
    pathways = list(dict.fromkeys(points["pathway"]))
    models = list(dict.fromkeys(points["model"]))
    colors = model_colors(models)
    fig = new_figure(3.2 * len(pathways) + 1.4, 3.4)
    axes = fig.subplots(1, len(pathways), squeeze=False, sharey=True)[0]
    for ax, pathway in zip(axes, pathways):
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--")
        for fpr in (0.05, 0.1):
            ax.axvline(fpr, color="0.85", linewidth=0.8, zorder=0)
        for model in models:
            part = points[(points["model"] == model) & (points["pathway"] == pathway)]
            if part.empty:
                continue
            ax.step(part["fpr"], part["tpr"], where="post", linewidth=1.1, color=colors[model],
                    linestyle=":" if (part["score"] == "share").all() else "-", label=model)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_title(pathway)
        ax.set_xlabel("False-positive rate (proficient tumours)")
    axes[0].set_ylabel("Sensitivity (deficient tumours)")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=6, loc="outside right center", frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
