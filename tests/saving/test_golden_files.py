"""Every format against files written by real TensorFlow, without needing TensorFlow.

``tests/data/formats/`` holds files that TF 2.21 / tf-keras 2.21 / Keras 3 wrote for the
models of ``tests/data/golden_models.py``, plus TF's weights and outputs for them
(``expected.npz``) and TF's checkpoint keys (``manifest.json``); ``tests/data/regenerate.py``
rewrites them. numkeras must read each file to exactly TF's weights and TF's outputs, and write
files with TF's layout. The live comparisons with TF are in ``tests/interop/``.
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import numkeras
from numkeras.models import load_model

DATA = Path(__file__).resolve().parents[1] / "data"
FORMATS = DATA / "formats"
_spec = importlib.util.spec_from_file_location("numkeras_tests_golden_models",
                                               DATA / "golden_models.py")
assert _spec is not None and _spec.loader is not None
gm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gm)

KINDS = sorted(gm.BUILDERS)
with np.load(FORMATS / "expected.npz", allow_pickle=False) as _data:
    EXPECTED = {k: _data[k] for k in _data.files}
MANIFEST = json.loads((FORMATS / "manifest.json").read_text())


def tf_weights(kind: str) -> list[np.ndarray]:
    count = sum(1 for k in EXPECTED if k.startswith(f"{kind}/tf_w/"))
    return [EXPECTED[f"{kind}/tf_w/{i}"] for i in range(count)]


def k3_weights(kind: str) -> dict[str, list[np.ndarray]]:
    out: dict[str, dict[int, np.ndarray]] = {}
    for key, value in EXPECTED.items():
        parts = key.split("/")
        if parts[:2] == [kind, "k3"]:
            out.setdefault(parts[2], {})[int(parts[3])] = value
    return {name: [ws[i] for i in range(len(ws))] for name, ws in out.items()}


def fresh(kind: str):
    numkeras.backend.clear_session()
    return gm.BUILDERS[kind](numkeras)


def assert_same_weights(ours: list, theirs: list) -> None:
    """Same count, shapes, dtypes and exactly equal values, in order."""
    assert len(ours) == len(theirs), f"{len(ours)} weights vs {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"weight {i}: shape {a.shape} vs {b.shape}"
        assert a.dtype == b.dtype, f"weight {i}: dtype {a.dtype} vs {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")


def assert_close_outputs(ours, theirs, rtol: float = 1e-5) -> None:
    """Forward outputs equal within ``rtol`` relative to the output scale (as in interop)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{ours.shape} vs {theirs.shape}"
    scale = max(1.0, float(np.abs(theirs).max())) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


def assert_tf_keras_model(model, kind: str) -> None:
    assert_same_weights(model.get_weights(), tf_weights(kind))
    assert_close_outputs(model.predict(EXPECTED[f"{kind}/x"]), EXPECTED[f"{kind}/tf_y"])


def assert_keras3_model(model, kind: str) -> None:
    ours, theirs = gm.by_layer(model), k3_weights(kind)
    assert sorted(ours) == sorted(theirs)
    for name, weights in theirs.items():
        assert_same_weights(ours[name], weights)
    assert_close_outputs(model.predict(EXPECTED[f"{kind}/x"]), EXPECTED[f"{kind}/k3_y"])


# -- reading what TF wrote ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_h5_weights_load(kind):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}.h5"))
    assert_tf_keras_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_h5_weights_load_by_name(kind):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}.h5"), by_name=True)
    assert_tf_keras_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_full_model_h5_loads(kind):
    numkeras.backend.clear_session()
    model = load_model(str(FORMATS / f"{kind}_model.h5"))
    assert [layer.name for layer in model.layers] == MANIFEST["models"][kind]["tf_layer_names"]
    assert_tf_keras_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_checkpoint_loads(kind):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_ckpt" / "weights")).assert_consumed()
    assert_tf_keras_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_checkpoint_folder_state_file(kind):
    assert numkeras.train.latest_checkpoint(str(FORMATS / f"{kind}_ckpt")) == str(
        FORMATS / f"{kind}_ckpt" / "weights")


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_savedmodel_loads(kind):
    numkeras.backend.clear_session()
    model = load_model(str(FORMATS / f"{kind}_savedmodel"))
    assert [layer.name for layer in model.layers] == MANIFEST["models"][kind]["tf_layer_names"]
    assert_tf_keras_model(model, kind)
    again = fresh(kind)
    again.load_weights(str(FORMATS / f"{kind}_savedmodel"))
    assert_same_weights(again.get_weights(), tf_weights(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_keras_file_loads(kind):
    numkeras.backend.clear_session()
    assert_tf_keras_model(load_model(str(FORMATS / f"{kind}_tfkeras.keras")), kind)
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_tfkeras.keras"))
    assert_tf_keras_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_weights_h5_loads(kind):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_tfkeras.weights.h5"))
    assert_tf_keras_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["k3.keras", "k3.weights.h5", "k3_sharded.weights.json"])
def test_keras3_files_load(kind, name):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_{name}"))
    assert_keras3_model(model, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_keras3_keras_file_load_model(kind):
    numkeras.backend.clear_session()
    assert_keras3_model(load_model(str(FORMATS / f"{kind}_k3.keras")), kind)


# -- writing what TF writes -----------------------------------------------------------------------


def h5_tree(path) -> dict:
    """``{path: (shape, dtype)}`` of the datasets and ``{path@attr: value}`` of the attributes."""
    out = {}

    def attrs(name, obj):
        for key, value in obj.attrs.items():
            if key in ("keras_version", "backend"):
                continue  # who wrote the file
            value = np.asarray(value)
            if value.dtype.kind in "OS":
                value = [v.decode() if isinstance(v, bytes) else v for v in value.reshape(-1)]
            else:
                value = value.tolist()
            out[f"{name}@{key}"] = value

    with h5py.File(path, "r") as f:
        attrs("/", f)

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.shape, obj.dtype.str)
            attrs(name, obj)

        f.visititems(visit)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_our_h5_weights_have_tf_keras_layout(kind, tmp_path):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}.h5"))
    model.save_weights(str(tmp_path / "ours.h5"))
    assert h5_tree(tmp_path / "ours.h5") == h5_tree(FORMATS / f"{kind}.h5")
    with h5py.File(tmp_path / "ours.h5", "r") as ours, h5py.File(FORMATS / f"{kind}.h5") as tf:
        names = []
        ours.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for name in names:
            np.testing.assert_array_equal(ours[name][()], tf[name][()], err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_our_checkpoint_has_tf_keras_keys(kind, tmp_path):
    model = fresh(kind)
    model.save_weights(str(tmp_path / "weights"))
    ours = numkeras.train.list_variables(str(tmp_path / "weights"))
    theirs = [(k, list(s)) for k, s in MANIFEST["models"][kind]["ckpt_variables"]]
    assert [(k, list(s)) for k, s in ours] == theirs
    assert (tmp_path / "checkpoint").read_text() == \
        (FORMATS / f"{kind}_ckpt" / "checkpoint").read_text()


def datasets(tree: dict, rename: dict | None = None) -> dict:
    out = {}
    for key, value in tree.items():
        if "@" not in key:
            for old, new in (rename or {}).items():
                key = key.replace(old, new)
            out[key] = value
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_our_weights_h5_has_tf_keras_layout(kind, tmp_path):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_tfkeras.weights.h5"))
    model.save_weights(str(tmp_path / "ours.weights.h5"))
    theirs = FORMATS / f"{kind}_tfkeras.weights.h5"
    assert datasets(h5_tree(tmp_path / "ours.weights.h5")) == datasets(h5_tree(theirs))


# numkeras names MultiHeadAttention's projections by tf-keras's attributes (``_query_dense``),
# which Keras 3 also reads; Keras 3 itself writes ``query_dense`` (docs/compatibility.md).
K3_MHA_NAMES = {f"/_{p}_dense/": f"/{p}_dense/" for p in ("query", "key", "value", "output")}


@pytest.mark.parametrize("kind", KINDS)
def test_our_weights_h5_has_keras3_layout(kind, tmp_path):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_k3.weights.h5"))
    model.save_weights(str(tmp_path / "ours.weights.h5"))
    ours = datasets(h5_tree(tmp_path / "ours.weights.h5"), K3_MHA_NAMES)
    assert ours == datasets(h5_tree(FORMATS / f"{kind}_k3.weights.h5"))


@pytest.mark.parametrize("kind", KINDS)
def test_our_keras_file_has_keras3_members(kind, tmp_path):
    model = fresh(kind)
    model.load_weights(str(FORMATS / f"{kind}_k3.keras"))
    model.save(str(tmp_path / "ours.keras"))
    with zipfile.ZipFile(tmp_path / "ours.keras") as ours, \
            zipfile.ZipFile(FORMATS / f"{kind}_k3.keras") as theirs:
        assert sorted(ours.namelist()) == sorted(theirs.namelist())
    numkeras.backend.clear_session()
    assert_keras3_model(load_model(str(tmp_path / "ours.keras")), kind)
