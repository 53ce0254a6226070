"""One portable file per trained model: an ``.npz`` of plain arrays plus a JSON metadata string.

Written with ``np.savez`` and read with ``np.load(allow_pickle=False)``: nothing is ever unpickled.
Read as an :class:`~pssnmf.model.IntegratedNMF` (``load_model(path)``) or, for prediction alone
and without importing scikit-learn, as a :class:`~pssnmf.model.fitted.FittedModel`
(``load_model(path, estimator=False)``): the same checks, the same attributes.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

import pssnmf

from ..channels import SBS96
from ..data.atomic import atomic_path
from .fitted import FittedModel
from .params import check_params

FORMAT = "pssnmf-integrated-nmf"
FORMAT_VERSION = 2
"""Version 2 adds the ``ood`` entry (the out-of-distribution threshold, ``ood_threshold_``).
Version 1 files still load, with no threshold: ``ood_threshold_`` is NaN."""
READ_VERSIONS = (1, 2)

_PARAMS = ("n_signatures", "mode", "unlabeled_regularization", "ur_weight", "confidence_threshold",
           "pseudo_label_vote", "soft_pseudo_labels", "revisable_pseudo_labels", "lambda_c", "lambda_l2",
           "mu_w", "n_restarts", "solver", "tol", "min_epochs", "max_epochs", "random_state", "dtype")

_EARLIER_VALUES = {"ur_weight": 1.0, "pseudo_label_vote": False, "soft_pseudo_labels": False,
                   "revisable_pseudo_labels": False, "solver": "mu"}
"""Parameters that files of the first format-1 version lack, and what that version did: they load
with these values (the estimator's defaults, except ``solver``: "mu" was the only one)."""

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
        "signature_names": [str(name) for name in _signature_names(model, n_signatures)],
        "channels": list(SBS96),
        "stability": None if np.isnan(model.stability_) else float(model.stability_),
        "consensus_restart": int(model.consensus_restart_),
        "pseudo_label_labels": [_plain(v) for v in pseudo["label"].tolist()],
        "pseudo_label_revisions": [[_plain(v) for v in row] for row in revisions.itertuples(index=False)],
        "ood": _ood_entry(model),
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
    with atomic_path(path) as temporary:
        temporary.write_bytes(buffer.getvalue())


def _signature_names(model, n_signatures: int) -> list:
    if hasattr(model, "signature_names_"):
        return model.signature_names_
    from .estimator import signature_names  # the default names; scikit-learn is loaded by then

    return signature_names(n_signatures)


def _ood_entry(model) -> dict | None:
    """``{"threshold", "percentile", "samples", "n"}``, or None for a model without a threshold
    (one loaded from a version-1 file)."""
    threshold = getattr(model, "ood_threshold_", float("nan"))
    if np.isnan(threshold):
        return None
    return {"threshold": float(threshold), **model.ood_reference_}


MAX_MODEL_BYTES = 256 * 2**20
"""Most bytes the arrays of one model file may inflate to.  The largest real model (K = 20,
10 restarts, 10,000 training rows, 5,000 epochs) holds about 6 MB; the limit stops a damaged or
crafted file from filling the memory before anything was checked."""

_ARRAYS = {  # name -> (dtype kinds, ndim) of what save_model writes
    "metadata_json": ("U", 0), "signatures": ("f", 2), "weights": ("f", 2), "restart_signatures": ("f", 3),
    "restart_clusters": ("iu", 2), "training_exposures": ("f", 2), "loss_history": ("f", 2),
    "n_epochs": ("iu", 1), "pseudo_restart": ("iu", 1), "pseudo_sample": ("iu", 1), "pseudo_epoch": ("iu", 1),
    "pseudo_probability": ("f", 1),
}
_ENTRIES = ("format", "format_version", "library_version", "params", "classes", "signature_names", "channels",
            "stability", "consensus_restart", "pseudo_label_labels", "pseudo_label_revisions", "ood", "metadata")
_ENTRIES_ADDED_LATER = {1: ("pseudo_label_revisions",), 2: ()}
"""Per format version, the entries its files may lack (the first version-1 files had no revisions)."""
_ENTRIES_ADDED_IN = {"ood": 2}
"""The format version that added an entry: files of earlier versions do not hold it."""
_OOD_SAMPLES = ("unlabelled", "labelled")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a model file, each checked against what :func:`save_model` writes before
    it is inflated or parsed.  Any damage is a ValueError naming the file and the entry."""

    def refuse(problem: str) -> ValueError:
        return ValueError(f"{path}: not a readable pssnmf model file ({problem})")

    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a damaged zip raises, the file is refused
        raise refuse(f"{type(error).__name__}: {error}") from None
    with archive:
        members = archive.infolist()
        names = [member.filename for member in members]
        expected = sorted(f"{name}.npy" for name in _ARRAYS)
        if sorted(names) != expected:
            unexpected = sorted(set(names) - set(expected)) or [n for n in names if names.count(n) > 1]
            raise refuse(f"entries {sorted(set(expected) - set(names))} missing, {unexpected} unexpected; "
                         "expected exactly the arrays save_model writes")
        total = sum(member.file_size for member in members)
        if total > MAX_MODEL_BYTES:
            raise refuse(f"its entries would inflate to {total:,} bytes; a model file holds at most "
                         f"{MAX_MODEL_BYTES:,}")
        arrays = {}
        for member in members:
            name = member.filename[: -len(".npy")]
            try:
                if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or member.flag_bits & 1:
                    raise ValueError(f"compression method {member.compress_type} or encryption")
                buffer = io.BytesIO(archive.read(member))
                version = np.lib.format.read_magic(buffer)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f".npy format version {version}")
                shape, fortran, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                         else np.lib.format.read_array_header_2_0)(buffer)
                kinds, ndim = _ARRAYS[name]
                if dtype.hasobject or dtype.kind not in kinds or len(shape) != ndim:
                    raise ValueError(f"dtype {dtype} with {len(shape)} dimensions, expected kind {kinds!r} "
                                     f"with {ndim}")
                if int(np.prod(shape, dtype=object)) * dtype.itemsize != member.file_size - buffer.tell():
                    raise ValueError(f"shape {shape} does not fit its {member.file_size} bytes")
                buffer.seek(0)
                arrays[name] = np.load(buffer, allow_pickle=False)
            except Exception as error:  # noqa: BLE001 - zlib, tokenize, NotImplementedError ...: all damage
                raise refuse(f"entry {member.filename}: {type(error).__name__}: {error}") from None
    return arrays


def _metadata(path: Path, text: str) -> dict:
    """The JSON metadata entry as a dict of the entries :func:`save_model` writes."""
    try:
        info = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{path}: corrupt metadata ({type(error).__name__}: {str(error)[:200]})") from None
    if not isinstance(info, dict):
        raise ValueError(f"{path}: corrupt metadata (a JSON {type(info).__name__}, expected an object)")
    if info.get("format") != FORMAT:
        raise ValueError(f"{path}: not a pssnmf model file (format {repr(info.get('format'))[:80]})")
    version = info.get("format_version")
    if isinstance(version, bool) or version not in READ_VERSIONS:
        raise ValueError(
            f"{path}: model file format version {repr(version)[:80]}; this library "
            f"(pssnmf {pssnmf.__version__}) reads versions {', '.join(map(str, READ_VERSIONS))}"
        )
    if info.get("channels") != list(SBS96):
        raise ValueError(f"{path}: the model's channel labels are not the SBS96 channels in COSMIC order")
    entries = [name for name in _ENTRIES if _ENTRIES_ADDED_IN.get(name, 1) <= version]
    missing = [name for name in entries if name not in info and name not in _ENTRIES_ADDED_LATER[version]]
    unknown = sorted(set(info) - set(entries))
    if missing or unknown:
        raise ValueError(f"{path}: corrupt model metadata (entries {missing} missing, {unknown} unknown)")
    info.setdefault("pseudo_label_revisions", [])
    info.setdefault("ood", None)
    return info


def _check(path: Path, ok: bool, field: str, expected: str) -> None:
    if not ok:
        raise ValueError(f"{path}: corrupt model file: {field}: expected {expected}")


def _is_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and math.isfinite(value)


def _checked_model(path: Path, info: dict, arrays: dict[str, np.ndarray], estimator: bool):
    """An :class:`~pssnmf.model.IntegratedNMF` (``estimator``) or a :class:`FittedModel` of what the
    file holds, every field checked first."""
    params = info["params"]
    _check(path, isinstance(params, dict) and set(params) <= set(_PARAMS)
           and set(_PARAMS) - set(params) <= set(_EARLIER_VALUES), "params",
           f"an object of {', '.join(_PARAMS)}")
    model = _new_model({**{k: v for k, v in _EARLIER_VALUES.items() if k not in params}, **params}, estimator)
    try:
        check_params(model)
    except ValueError as error:
        raise ValueError(f"{path}: corrupt model file: params: {error}") from None
    classes = info["classes"]
    kinds = {type(c) for c in classes} if isinstance(classes, list) else set()
    _check(path, isinstance(classes, list) and len(classes) >= 2 and (kinds <= {str} or kinds <= {bool}
           or (kinds <= {int, float} and all(_is_number(c) for c in classes))), "classes",
           "a list of at least 2 class names, all text or all numbers")
    _check(path, len({str(c) for c in classes}) == len(classes) == len(set(classes)), "classes",
           f"distinct class names; got {[str(c)[:40] for c in classes][:10]}")
    k, o, r = params["n_signatures"], len(classes), params["n_restarts"]
    names = info["signature_names"]
    _check(path, isinstance(names, list) and len(names) == k and all(isinstance(n, str) for n in names)
           and len(set(names)) == k, "signature_names", f"{k} distinct names")
    n_train = arrays["training_exposures"].shape[0]
    n_pseudo = arrays["pseudo_probability"].shape[0]
    shapes = {"signatures": (k, 96), "weights": (k, o), "restart_signatures": (r, k, 96), "restart_clusters": (r, k),
              "training_exposures": (n_train, k), "loss_history": (r, arrays["loss_history"].shape[1]),
              "n_epochs": (r,), "pseudo_restart": (n_pseudo,), "pseudo_sample": (n_pseudo,),
              "pseudo_epoch": (n_pseudo,)}
    for name, shape in shapes.items():
        _check(path, arrays[name].shape == shape, f"array {name}",
               f"shape {shape} (from n_signatures, n_restarts and the classes); got {arrays[name].shape}")
    signatures = arrays["signatures"]
    _check(path, bool(np.isfinite(signatures).all() and (signatures >= 0).all()
                      and np.allclose(signatures.sum(axis=1), 1.0, rtol=0, atol=1e-4)), "array signatures",
           "finite, non-negative rows that each sum to 1")
    for name in ("restart_signatures", "training_exposures"):
        _check(path, bool(np.isfinite(arrays[name]).all() and (arrays[name] >= 0).all()), f"array {name}",
               "finite non-negative values")
    _check(path, bool(np.isfinite(arrays["weights"]).all()), "array weights", "finite values")
    _check(path, not np.isinf(arrays["loss_history"]).any(), "array loss_history", "finite values (NaN padding)")
    _check(path, bool(((arrays["restart_clusters"] >= 0) & (arrays["restart_clusters"] < k)).all()),
           "array restart_clusters", f"signature indices in [0, {k})")
    for name, high in (("n_epochs", None), ("pseudo_epoch", None), ("pseudo_restart", r), ("pseudo_sample", n_train)):
        _check(path, bool((arrays[name] >= 0).all() and (high is None or (arrays[name] < high).all())),
               f"array {name}", "non-negative indices" + ("" if high is None else f" below {high}"))
    probability = arrays["pseudo_probability"]
    _check(path, bool(((probability >= 0) & (probability <= 1)).all()), "array pseudo_probability",
           "probabilities in [0, 1]")
    labels, revisions = info["pseudo_label_labels"], info["pseudo_label_revisions"]
    _check(path, isinstance(labels, list) and len(labels) == n_pseudo, "pseudo_label_labels",
           f"a list of {n_pseudo} labels")
    _check(path, isinstance(revisions, list) and all(isinstance(row, list) and len(row) == len(_REVISION_COLUMNS)
                                                     for row in revisions), "pseudo_label_revisions",
           f"a list of [{', '.join(_REVISION_COLUMNS)}] rows")
    stability = info["stability"]
    _check(path, stability is None or _is_number(stability), "stability", "a finite number or null")
    restart = info["consensus_restart"]
    _check(path, isinstance(restart, int) and not isinstance(restart, bool) and 0 <= restart < r,
           "consensus_restart", f"a restart index in [0, {r})")
    _check(path, isinstance(info["metadata"], dict), "metadata", "an object")
    ood = info["ood"]
    _check(path, ood is None or (isinstance(ood, dict) and set(ood) == {"threshold", "percentile", "samples", "n"}
                                 and _is_number(ood["threshold"]) and -1 <= ood["threshold"] <= 1
                                 and _is_number(ood["percentile"]) and 0 <= ood["percentile"] <= 100
                                 and ood["samples"] in _OOD_SAMPLES and _is_number(ood["n"])
                                 and isinstance(ood["n"], int) and ood["n"] >= 1),
           "ood", "null or {threshold: a cosine in [-1, 1], percentile in [0, 100], samples: "
           f"{' or '.join(_OOD_SAMPLES)}, n: a count >= 1}}")
    _check(path, isinstance(info["library_version"], str), "library_version", "text")

    model.classes_ = np.asarray(classes)
    model.n_features_in_ = len(SBS96)
    model.signatures_ = signatures
    model.signature_names_ = list(names)
    model.weights_ = arrays["weights"]
    model.restart_signatures_ = arrays["restart_signatures"]
    model.restart_clusters_ = arrays["restart_clusters"]
    model.training_exposures_ = arrays["training_exposures"]
    model.stability_ = float("nan") if stability is None else float(stability)
    model.consensus_restart_ = restart
    model.loss_history_ = [row[~np.isnan(row)] for row in arrays["loss_history"]]
    model.n_epochs_ = arrays["n_epochs"]
    model.pseudo_labels_ = pd.DataFrame({
        "restart": arrays["pseudo_restart"].astype(int),
        "sample": arrays["pseudo_sample"].astype(int),
        "label": pd.Series(labels, dtype=object if not labels else None),
        "epoch": arrays["pseudo_epoch"].astype(int),
        "probability": probability,
    })
    model.pseudo_label_revisions_ = pd.DataFrame(revisions, columns=_REVISION_COLUMNS)
    model.ood_threshold_ = float("nan") if ood is None else float(ood["threshold"])
    model.ood_reference_ = None if ood is None else {key: ood[key] for key in ("percentile", "samples", "n")}
    model.metadata_ = info["metadata"]
    model.library_version_ = info["library_version"]
    return model


def _new_model(params: dict, estimator: bool):
    if not estimator:
        return FittedModel(**params)
    from .estimator import IntegratedNMF  # scikit-learn: only where the estimator is asked for

    return IntegratedNMF(**params)


def load_model(path, *, estimator: bool = True):
    """Read a model written by :func:`save_model`: an :class:`~pssnmf.model.IntegratedNMF`, or with
    ``estimator=False`` a :class:`~pssnmf.model.fitted.FittedModel` (prediction only, no
    scikit-learn imported; the same attributes and predictions).

    Anything but what :func:`save_model` writes is refused with a ValueError naming the file
    and the entry or field that is wrong (FileNotFoundError when there is no file): a damaged
    zip or ``.npy`` entry, an entry that would inflate past :data:`MAX_MODEL_BYTES`, metadata
    that is not the expected JSON object, unknown or invalid parameters, classes that are not
    distinct, non-finite weights, signatures that are negative or do not sum to 1, shapes that
    do not agree.
    """
    path = Path(path)
    arrays = _read_arrays(path)
    info = _metadata(path, str(arrays["metadata_json"]))
    return _checked_model(path, info, arrays, estimator)
