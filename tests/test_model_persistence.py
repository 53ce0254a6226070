"""Model files (pssnmf.model.persistence): any label type round-trips, and anything but what
``save_model`` writes is refused by ``load_model`` with a ValueError naming the file and field.

The model is the small real model of ``test_predict.py``; the damaged files are made from it,
each spoiling one thing, with valid zip checksums (so the loader's own checks are what refuses them).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.model import IntegratedNMF, load_model, save_model
MAX_MODEL_BYTES = 256 * 2**20  # pssnmf.model.persistence.MAX_MODEL_BYTES (checked below)
from pssnmf.predict import read_model
from test_cli_predict import _catalog_text, _read_output, _save_grid, run_predict
from test_predict import PATHWAY, model_file, new_tumours  # noqa: F401 - shared fixtures


def zou_subclones(data_dir: Path) -> tuple[np.ndarray, list[str]]:
    """The 46 labelled Zou 2021 knockout subclones (samples x 96 counts) and their DDRd class."""
    zou = pd.read_excel(data_dir / "zou2021" / "Supplementary_tables.xlsx", sheet_name="TableS3")
    zou = zou.set_index("MutationType")
    zou.index = [normalize_channel(c) for c in zou.index]
    columns = [c for c in zou.columns if c.split("_")[0] in PATHWAY]
    return zou.loc[list(SBS96), columns].T.to_numpy(dtype=float), [PATHWAY[c.split("_")[0]] for c in columns]


LABEL_KINDS = {
    "int": lambda names, label: names.index(label),
    "float": lambda names, label: names.index(label) + 0.5,
    "text": lambda names, label: label,
}


@pytest.mark.parametrize("kind", list(LABEL_KINDS))
def test_any_label_type_round_trips_through_save_model_and_predict(kind, data_dir, new_tumours,  # noqa: F811
                                                                   tmp_path):
    X, labels = zou_subclones(data_dir)
    names = sorted(set(labels))
    y = np.array([LABEL_KINDS[kind](names, label) for label in labels])
    model = IntegratedNMF(n_signatures=3, mode="supervised", n_restarts=1, min_epochs=10, max_epochs=50,
                          random_state=0).fit(X, y)
    path = tmp_path / "model.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert list(loaded.classes_) == list(model.classes_) and loaded.classes_.dtype == model.classes_.dtype
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:5]), tmp_path / "c.tsv")
    result = run_predict("--model", path, "--catalog", catalog, "--out", tmp_path / "out")  # with resampling
    assert result.returncode == 0, result.stderr
    table = _read_output(tmp_path / "out")
    expected = np.asarray(model.classes_)[model.predict_proba(new_tumours.iloc[:5].to_numpy(float)).argmax(axis=1)]
    assert list(table["predicted"].astype(str)) == [str(c) for c in expected]
    assert set(table["call"].astype(str)) <= {str(c) for c in model.classes_} | {"undetermined"}


# ---------------------------------------------------------------------------- damaged files
def _arrays(model_file: Path) -> dict[str, np.ndarray]:
    with np.load(model_file, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _write(arrays: dict, path: Path) -> Path:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def spoil_arrays(change):
    """A maker of a copy of the model whose arrays went through ``change``."""
    def make(model_file: Path, path: Path) -> Path:
        arrays = _arrays(model_file)
        change(arrays)
        return _write(arrays, path)
    return make


def spoil_metadata(change):
    """A maker of a copy whose metadata (a dict) went through ``change`` (or is its result)."""
    def make(model_file: Path, path: Path) -> Path:
        arrays = _arrays(model_file)
        info = json.loads(str(arrays["metadata_json"]))
        changed = change(info)
        arrays["metadata_json"] = np.array(changed if isinstance(changed, str) else json.dumps(info))
        return _write(arrays, path)
    return make


def spoil_entry(name: str, data: bytes, compress: int = zipfile.ZIP_STORED):
    """A maker of a copy whose entry ``name`` holds ``data`` (a valid zip, checksums right)."""
    def make(model_file: Path, path: Path) -> Path:
        with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(path, "w") as target:
            for member in source.infolist():
                if member.filename != name:
                    target.writestr(member.filename, source.read(member))
            target.writestr(name, data, compress_type=compress)
        return path
    return make


def _npy(header: str, body: bytes = b"") -> bytes:
    text = header.encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body


def _inflating(model_file: Path, path: Path) -> Path:
    """A small file whose training_exposures entry inflates to more than MAX_MODEL_BYTES."""
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(path, "w") as target:
        for member in source.infolist():
            if member.filename != "training_exposures.npy":
                target.writestr(member.filename, source.read(member))
        n = MAX_MODEL_BYTES // (8 * 5) + 1000
        with target.open(zipfile.ZipInfo("training_exposures.npy"), "w", force_zip64=True) as handle:
            handle._compress_type = zipfile.ZIP_DEFLATED
            header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({n}, 5), }}"
            handle.write(_npy(header + " " * (118 - len(header)) + "\n"))
            chunk = bytes(2**20)
            for _ in range(n * 40 // len(chunk) + 1):
                handle.write(chunk)
    return path


def _unknown_compression(model_file: Path, path: Path) -> Path:
    """The compression method of one entry changed to one zipfile cannot read (99)."""
    data = bytearray(model_file.read_bytes())
    name = b"signatures.npy"
    for signature, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                data[at + method_at:at + method_at + 2] = (99).to_bytes(2, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


def _change(arrays, name, function):
    arrays[name] = function(arrays[name].copy())


def _nan_first(a):
    a.flat[0] = np.nan
    return a


def _negative_signature(a):
    a[0, :2] = [-0.5, a[0, 0] + a[0, 1] + 0.5]
    return a


DAMAGED = {
    "truncated": (lambda m, p: p.write_bytes(m.read_bytes()[:-300]) and p, "not a readable pssnmf model file"),
    "random_bytes": (lambda m, p: p.write_bytes(np.random.default_rng(0).bytes(5000)) and p,
                     "not a readable pssnmf model file"),
    "bad_npy_header": (spoil_entry("weights.npy", _npy("{'descr': '<f8, 'fortran_order': False, 'shape': (5, 4), }\n",
                                                        bytes(160))), "entry weights.npy"),
    "header_shape_lies": (spoil_entry("weights.npy", _npy("{'descr': '<f8', 'fortran_order': False, "
                                                         "'shape': (500000000, 4), }\n", bytes(160))),
                          "does not fit its"),
    "object_array": (spoil_entry("weights.npy", _npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n",
                                                      bytes(16))), "entry weights.npy"),
    "unknown_compression": (_unknown_compression, "entry signatures.npy"),
    "inflates_too_far": (_inflating, "would inflate to"),
    "extra_entry": (spoil_entry("extra.npy", _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n",
                                                   bytes(8))), "'extra.npy'] unexpected"),
    "metadata_is_a_list": (spoil_metadata(lambda info: "[1, 2, 3]"), "a JSON list, expected an object"),
    "metadata_nested_deep": (spoil_metadata(lambda info: "[" * 100_000 + "]" * 100_000), "corrupt metadata"),
    "metadata_not_json": (spoil_metadata(lambda info: "{'format': 1"), "corrupt metadata"),
    "nan_weights": (spoil_arrays(lambda a: _change(a, "weights", _nan_first)), "weights: expected finite"),
    "negative_signature": (spoil_arrays(lambda a: _change(a, "signatures", _negative_signature)),
                           "signatures: expected finite, non-negative rows that each sum to 1"),
    "zero_signature": (spoil_arrays(lambda a: _change(a, "signatures", lambda s: s * 0)),
                       "signatures: expected finite, non-negative rows"),
    "signature_not_summing_to_one": (spoil_arrays(lambda a: _change(a, "signatures", lambda s: s * 2)),
                                     "rows that each sum to 1"),
    "signatures_wrong_shape": (spoil_arrays(lambda a: _change(a, "signatures", lambda s: s[:, :95])),
                               "signatures: expected shape (5, 96)"),
    "duplicate_classes": (spoil_metadata(lambda info: info.update(classes=["BER", "BER", "HR", "MMR"])),
                          "classes: expected distinct class names"),
    "mixed_class_types": (spoil_metadata(lambda info: info.update(classes=["BER", 1, "HR", "MMR"])),
                          "classes: expected a list of at least 2 class names"),
    "unknown_mode": (spoil_metadata(lambda info: info["params"].update(mode="fancy")), "params: mode must be one of"),
    "unknown_option": (spoil_metadata(lambda info: info["params"].update(shiny=True)), "params: expected an object"),
    "string_signatures": (spoil_metadata(lambda info: info["params"].update(n_signatures="5")),
                          "n_signatures must be an integer"),
    "params_a_list": (spoil_metadata(lambda info: info.update(params=[5])), "params: expected an object"),
    "missing_entry": (spoil_metadata(lambda info: info.pop("classes")), "entries ['classes'] missing"),
    "infinite_stability": (spoil_metadata(lambda info: info.update(stability=float("inf"))), "stability"),
    "consensus_out_of_range": (spoil_metadata(lambda info: info.update(consensus_restart=7)), "consensus_restart"),
    "duplicate_signature_names": (spoil_metadata(lambda info: info.update(signature_names=["A"] * 5)),
                                  "signature_names: expected 5 distinct names"),
    "pseudo_sample_out_of_range": (spoil_arrays(lambda a: a.update(
        pseudo_restart=np.array([0]), pseudo_sample=np.array([10**6]), pseudo_epoch=np.array([1]),
        pseudo_probability=np.array([0.9]))), "pseudo_sample"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_load_model_refuses_what_save_model_does_not_write(case, model_file, tmp_path):  # noqa: F811
    make, words = DAMAGED[case]
    path = make(model_file, tmp_path / "damaged.npz")
    with pytest.raises(ValueError) as caught:
        load_model(path)
    assert str(path) in str(caught.value) and words in str(caught.value), str(caught.value)
    with pytest.raises(ValueError, match="damaged.npz"):  # the path predict takes too
        read_model(path)


def test_the_unspoilt_rewrites_load(model_file, tmp_path):  # noqa: F811
    """Each damaged file spoils one thing: unspoilt, the same rewriting gives a loadable model."""
    for make in (spoil_arrays(lambda a: None), spoil_metadata(lambda info: None)):
        assert list(load_model(make(model_file, tmp_path / "m.npz")).classes_) == ["BER", "Control", "HR", "MMR"]
    name, data = "weights.npy", zipfile.ZipFile(model_file).read("weights.npy")
    assert load_model(spoil_entry(name, data, zipfile.ZIP_DEFLATED)(model_file, tmp_path / "z.npz")) is not None
    # _npy writes what numpy writes.
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((5, 4)))
    header = buffer.getvalue()[10:10 + int.from_bytes(buffer.getvalue()[8:10], "little")].decode("latin1")
    assert _npy(header, bytes(160)) == buffer.getvalue()


def test_command_refuses_a_crafted_model(model_file, new_tumours, tmp_path):  # noqa: F811
    """NaN weights used to give NaN probabilities with a class still called, exit 0."""
    path = DAMAGED["nan_weights"][0](model_file, tmp_path / "nan.npz")
    catalog = _save_grid(_catalog_text(new_tumours.iloc[:2]), tmp_path / "c.tsv")
    result = run_predict("--model", path, "--catalog", catalog, "--out", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}: corrupt model file: array weights: expected finite values" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_inflation_limit_is_the_loaders():
    from pssnmf.model import persistence

    assert persistence.MAX_MODEL_BYTES == MAX_MODEL_BYTES


def test_the_solver_travels_with_the_model_and_older_files_load_as_mu(model_file, tmp_path):  # noqa: F811
    """A model file records its solver; a file written before the solver option existed was trained
    by the paper's updates, and loads as solver='mu' (not as today's default)."""
    model = load_model(model_file)
    for solver in ("mu", "bcd"):
        model.set_params(solver=solver)
        save_model(model, tmp_path / f"{solver}.npz")
        assert load_model(tmp_path / f"{solver}.npz").get_params()["solver"] == solver
    older = spoil_metadata(lambda info: info["params"].pop("solver") and None)(tmp_path / "bcd.npz", tmp_path / "older.npz")
    assert load_model(older).get_params()["solver"] == "mu"


def test_a_model_read_for_prediction_is_the_estimator_without_scikit_learn(model_file, new_tumours):  # noqa: F811
    """``load_model(path, estimator=False)``: the same checks, attributes and numbers, bit for bit."""
    estimator, fitted = load_model(model_file), load_model(model_file, estimator=False)
    assert not isinstance(fitted, IntegratedNMF)
    X = new_tumours.to_numpy(dtype=float)
    assert np.array_equal(fitted.transform(X), estimator.transform(X))
    assert np.array_equal(fitted.predict_proba(X), estimator.predict_proba(X))
    assert np.array_equal(fitted.predict(X), estimator.predict(X))
    assert fitted.get_params() == {k: v for k, v in estimator.get_params().items() if k != "n_jobs"}
    for name in ("classes_", "signatures_", "weights_", "training_exposures_", "restart_signatures_", "n_epochs_"):
        assert np.array_equal(getattr(fitted, name), getattr(estimator, name)), name
    for name in ("signature_names_", "consensus_restart_", "ood_threshold_", "ood_reference_", "metadata_",
                 "library_version_"):
        assert getattr(fitted, name) == getattr(estimator, name), name
    assert fitted.pseudo_labels_.equals(estimator.pseudo_labels_)
    # The same rules refuse the same damage.
    for case in ("unknown_mode", "string_signatures", "negative_signature"):
        make, words = DAMAGED[case]
        with pytest.raises(ValueError, match=words):
            load_model(make(model_file, model_file.parent / f"{case}.npz"), estimator=False)
