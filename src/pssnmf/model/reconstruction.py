"""How well the signatures explain a profile, and where a sample is out of distribution.

The reconstruction cosine of a sample is the cosine similarity between its SBS96 proportions
``x`` and their reconstruction ``e S`` from the signatures ``S`` with its NNLS exposures ``e``
(section 2.1.3, "Testing"): 1 when the signatures explain the profile exactly, lower when the
sample carries a process they do not hold.

At ``fit`` a model records the :data:`OOD_PERCENTILE`-th percentile of that cosine over its
reference samples: the unlabelled training samples (the tumours), or every training sample
where it has none (``mode="supervised"``, or no unlabelled rows given).  A new sample whose
cosine is below it is out of distribution: the model's signatures explain it worse than they
explain 95 % of the tumours it was trained on, so its class is not to be trusted.

Why the 5th percentile and not the 1st: the reference's tail is estimated from its lowest
values, 20 of 400 tumours at the 5th percentile but 4 at the 1st; and a training tumour is
explained better than an unseen one (the signatures were learned on it), so the share of
unseen tumours below the threshold is larger than the percentile.  benchmarks/RESULTS.md,
"Out-of-distribution rates", has what it flags on real data.
"""

from __future__ import annotations

import numpy as np

OOD_PERCENTILE = 5.0
"""The percentile of the reference samples' reconstruction cosines that a model keeps as its
out-of-distribution threshold (the module docstring says why 5)."""


def reconstruction_cosine(proportions: np.ndarray, exposures: np.ndarray, signatures: np.ndarray) -> np.ndarray:
    """Cosine similarity of each profile and its reconstruction.

    proportions : (n, 96), each row summing to 1; exposures : (n, K); signatures : (K, 96).
    Returns (n,): 0 for a row whose reconstruction is all zero (every exposure 0).
    """
    reconstruction = exposures @ signatures  # (n, 96)
    num = np.einsum("ij,ij->i", proportions, reconstruction)
    den = np.linalg.norm(proportions, axis=1) * np.linalg.norm(reconstruction, axis=1)
    out = np.zeros(len(proportions))
    np.divide(num, den, out=out, where=den > 0)
    return out


def ood_reference(cosines: np.ndarray, unlabelled: np.ndarray) -> tuple[float, dict]:
    """The out-of-distribution threshold of a model and what it was taken over.

    cosines : (n,) reconstruction cosines of the training samples; unlabelled : (n,) bool.
    Returns ``(threshold, reference)``: the :data:`OOD_PERCENTILE`-th percentile of the cosines
    of the unlabelled samples (of all of them where none is unlabelled), and
    ``{"percentile", "samples" ("unlabelled" or "labelled"), "n"}``.
    """
    samples = "unlabelled" if unlabelled.any() else "labelled"
    chosen = cosines[unlabelled] if unlabelled.any() else cosines
    threshold = float(np.percentile(chosen, OOD_PERCENTILE))
    return threshold, {"percentile": OOD_PERCENTILE, "samples": samples, "n": int(chosen.size)}
