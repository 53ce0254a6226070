"""Integrated NMF models: S-NMF, SS-NMF, PSS-NMF and U.R. variants (section 2.1 of the paper).

Modules, one per concept: ``updates`` (eqs. 5-7 and the loss), ``pseudo_labeling`` (Algorithm 1),
``training`` (restarts, convergence), ``consensus`` (consensus signatures, stability, eq. 9),
``refit`` (E and W with S fixed), ``nnls`` (test-time exposures), ``estimator`` (``IntegratedNMF``),
``persistence`` (``save_model``, ``load_model``).
"""

from .estimator import IntegratedNMF
from .persistence import load_model, save_model

__all__ = ["IntegratedNMF", "load_model", "save_model"]
