"""Integrated NMF models: S-NMF, SS-NMF, PSS-NMF and U.R. variants (section 2.1 of the paper).

Modules, one per concept: ``updates`` (eqs. 5-7 and the loss), ``pseudo_labeling`` (Algorithm 1),
``training`` (restarts, convergence), ``consensus`` (consensus signatures, stability, eq. 9),
``refit`` (E and W with S fixed), ``nnls`` (test-time exposures), ``reconstruction`` (how well the
signatures explain a profile; the out-of-distribution threshold), ``params`` (the hyperparameters'
checks), ``estimator`` (``IntegratedNMF``), ``fitted`` (a model read for prediction alone),
``persistence`` (``save_model``, ``load_model``).

``IntegratedNMF`` is imported on first use: it brings scikit-learn, which prediction from a model
file does not need (``load_model(path, estimator=False)``).
"""

from .persistence import load_model, save_model

__all__ = ["IntegratedNMF", "load_model", "save_model"]


def __getattr__(name):
    if name == "IntegratedNMF":
        from .estimator import IntegratedNMF

        return IntegratedNMF
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"IntegratedNMF"})
