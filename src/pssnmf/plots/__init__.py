"""Figures of the paper, one module per figure family.

Every figure function takes tidy pandas data (the columns are documented in its docstring) and
returns ``(figure, data)``: a :class:`matplotlib.figure.Figure` and the exact data it shows, for the
TSV written beside it by :func:`save_figure` (``stem.png``, ``stem.svg``, ``stem.tsv``).

=====================  =======================================================================
paper                  function
=====================  =======================================================================
SBS96 signature plots  :func:`pssnmf.plots.sbs96.sbs96_figure`
Fig. 2                 :func:`pssnmf.plots.validation.validation_figure`
Fig. 3                 :func:`pssnmf.plots.pseudolabels.pseudo_label_figure`
Fig. 4                 :func:`pssnmf.plots.confusion.confusion_figure`
Fig. 5                 :func:`pssnmf.plots.pca.pca_figure`
Fig. 6                 :func:`pssnmf.plots.similarity.matched_similarity_figure`
Fig. 7                 :func:`pssnmf.plots.similarity.cosmic_similarity_figure`
                       (names: :func:`pssnmf.plots.similarity.name_signatures`)
Fig. 8                 :func:`pssnmf.plots.exposures.exposures_figure`
Fig. 9 (a, b)          :func:`pssnmf.plots.exploration.samples_per_cancer_type_figure`
Fig. 9 (c, d)          :func:`pssnmf.plots.exploration.mean_profile_clustermap`
Fig. 9 (e)             :func:`pssnmf.plots.exploration.cross_source_similarity_figure`
Figs. 10–14            :func:`pssnmf.plots.pareto.pareto_figure`
Figs. 15–18            the functions above with the U.R. models in ``models=``
Reliability curves     :func:`pssnmf.plots.calibration.reliability_figure` (beyond the paper)
``predict --plots``    :func:`pssnmf.plots.sample.sample_figure`
=====================  =======================================================================
"""

from pssnmf.plots.common import save_figure

__all__ = ["save_figure"]
