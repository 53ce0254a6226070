"""One portable file per trained model: an ``.npz`` of plain arrays plus a JSON metadata string.

Written with ``np.savez`` and read with ``np.load(allow_pickle=False)``: nothing is ever unpickled.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

import pssnmf

from ..channels import SBS96
from .estimator import IntegratedNMF, signature_names

FORMAT = "pssnmf-integrated-nmf"
FORMAT_VERSION = 1

_PARAMS = ("n_signatures", "mode", "unlabeled_regularization", "ur_weight", "confidence_threshold",
           "pseudo_label_vote", "soft_pseudo_labels", "revisable_pseudo_labels", "lambda_c", "lambda_l2",
           "mu_w", "n_restarts", "tol", "min_epochs", "max_epochs", "random_state", "dtype")

_REVISION_COLUMNS = ["restart", "sample", "label", "epoch", "revoked_epoch"]


def _plain(value):
    """JSON-ready Python value of a numpy scalar/array."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def save_model(model, path, metadata=None):
    """Write a fitted :class:`IntegratedNMF` to ``path`` (one ``.npz`` file), atomically.

    metadata : optional dict of JSON-serialisable values kept beside the model (e.g. the config).
    """
    if not hasattr(model, "signatures_"):
        raise ValueError("save_model: the model is not fitted")
    path = Path(path)
    n_signatures = model.signatures_.shape[0]
    histories = model.loss_history_
    padded = np.full((len(histories), max(len(h) for h in histories)), np.nan)
    for r, history in enumerate(histories):
        padded[r, : len(history)] = history
    pseudo = model.pseudo_labels_
    revisions = getattr(model, "pseudo_label_revisions_", pd.DataFrame(columns=_REVISION_COLUMNS))
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": pssnmf.__version__,
        "params": {name: _plain(getattr(model, name)) for name in _PARAMS},
        "classes": _plain(model.classes_),
        "signature_names": [str(name) for name in getattr(model, "signature_names_", signature_names(n_signatures))],
        "channels": list(SBS96),
        "stability": None if np.isnan(model.stability_) else float(model.stability_),
        "consensus_restart": int(model.consensus_restart_),
        "pseudo_label_labels": [_plain(v) for v in pseudo["label"].tolist()],
        "pseudo_label_revisions": [[_plain(v) for v in row] for row in revisions.itertuples(index=False)],
        "metadata": metadata if metadata is not None else {},
    }
    arrays = {
        "metadata_json": np.array(json.dumps(info)),
        "signatures": model.signatures_,
        "weights": model.weights_,
        "restart_signatures": model.restart_signatures_,
        "restart_clusters": model.restart_clusters_,
        "training_exposures": model.training_exposures_,
        "loss_history": padded,
        "n_epochs": np.asarray(model.n_epochs_),
        "pseudo_restart": pseudo["restart"].to_numpy(dtype=np.int64),
        "pseudo_sample": pseudo["sample"].to_numpy(dtype=np.int64),
        "pseudo_epoch": pseudo["epoch"].to_numpy(dtype=np.int64),
        "pseudo_probability": pseudo["probability"].to_numpy(dtype=np.float64),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(buffer.getvalue())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_model(path):
    """Read a model written by :func:`save_model`.  Raises ValueError naming the file and the problem."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path}: not a readable pssnmf model file ({error})") from None
    if "metadata_json" not in arrays:
        raise ValueError(f"{path}: not a pssnmf model file (no metadata_json entry)")
    try:
        info = json.loads(str(arrays["metadata_json"]))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: corrupt metadata ({error})") from None
    if info.get("format") != FORMAT:
        raise ValueError(f"{path}: not a pssnmf model file (format {info.get('format')!r})")
    if info.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: model file format version {info.get('format_version')!r}; this library "
            f"(pssnmf {pssnmf.__version__}) reads version {FORMAT_VERSION}"
        )
    if info.get("channels") != list(SBS96):
        raise ValueError(f"{path}: the model's channel labels are not the SBS96 channels in COSMIC order")
    required = ("signatures", "weights", "restart_signatures", "restart_clusters", "training_exposures",
                "loss_history", "n_epochs", "pseudo_restart", "pseudo_sample", "pseudo_epoch", "pseudo_probability")
    missing = [name for name in required if name not in arrays]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing}")
    params = info["params"]
    n_signatures, n_classes = params["n_signatures"], len(info["classes"])
    expected = {
        "signatures": (n_signatures, len(SBS96)),
        "weights": (n_signatures, n_classes),
        "restart_signatures": (params["n_restarts"], n_signatures, len(SBS96)),
        "restart_clusters": (params["n_restarts"], n_signatures),
        "n_epochs": (params["n_restarts"],),
    }
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{path}: array {name} has shape {arrays[name].shape}, expected {shape}")
    if arrays["training_exposures"].ndim != 2 or arrays["training_exposures"].shape[1] != n_signatures:
        raise ValueError(f"{path}: array training_exposures has shape {arrays['training_exposures'].shape}, "
                         f"expected (n_samples, {n_signatures})")

    model = IntegratedNMF(**params)
    model.classes_ = np.asarray(info["classes"])
    model.n_features_in_ = len(SBS96)
    model.signatures_ = arrays["signatures"]
    names = info.get("signature_names")
    if not isinstance(names, list) or len(names) != n_signatures:
        raise ValueError(f"{path}: signature_names must list {n_signatures} names")
    model.signature_names_ = [str(name) for name in names]
    model.weights_ = arrays["weights"]
    model.restart_signatures_ = arrays["restart_signatures"]
    model.restart_clusters_ = arrays["restart_clusters"]
    model.training_exposures_ = arrays["training_exposures"]
    model.stability_ = float("nan") if info["stability"] is None else info["stability"]
    model.consensus_restart_ = info["consensus_restart"]
    model.loss_history_ = [row[~np.isnan(row)] for row in arrays["loss_history"]]
    model.n_epochs_ = arrays["n_epochs"]
    labels = info["pseudo_label_labels"]
    model.pseudo_labels_ = pd.DataFrame({
        "restart": arrays["pseudo_restart"].astype(int),
        "sample": arrays["pseudo_sample"].astype(int),
        "label": pd.Series(labels, dtype=object if not labels else None),
        "epoch": arrays["pseudo_epoch"].astype(int),
        "probability": arrays["pseudo_probability"],
    })
    model.pseudo_label_revisions_ = pd.DataFrame(info.get("pseudo_label_revisions", []), columns=_REVISION_COLUMNS)
    model.metadata_ = info["metadata"]
    model.library_version_ = info["library_version"]
    return model
