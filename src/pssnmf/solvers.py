"""The solvers of ``IntegratedNMF`` and their stopping defaults (docs/model.md, "Solvers").

Kept apart from :mod:`pssnmf.model` (which imports scikit-learn and numba) so that the workflow's
config validation can read them at every start without paying those imports.
"""

SOLVERS = ("bcd", "mu")

SOLVER_DEFAULTS = {
    # tol is the projected gradient norm relative to its value at the random start
    "bcd": {"tol": 1e-4, "min_epochs": 10, "max_epochs": 2000},
    # tol is the relative loss change between checks 10 epochs apart (the paper's rule)
    "mu": {"tol": 1e-3, "min_epochs": 200, "max_epochs": 5000},
}
