"""The loaders through :mod:`numkeras.saving.h5raw_read` give what they give through h5py:
for TensorFlow's files in ``tests/data/formats`` (whose values ``test_golden_files`` checks
against TF) and for mismatching models, the same weights, reports, warnings and errors with
the tree as with the tree switched off (every object opened by libhdf5, the previous path).
The tree must really be used for these files (else the fast path would be dead code)."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import numkeras
from numkeras.saving import h5raw_read

DATA = Path(__file__).resolve().parents[2] / "data"
FORMATS = DATA / "formats"
_spec = importlib.util.spec_from_file_location("numkeras_tests_golden_models_h5raw",
                                               DATA / "golden_models.py")
gm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gm)
KINDS = sorted(gm.BUILDERS)
FILES = ["{kind}.h5", "{kind}_model.h5", "{kind}_tfkeras.weights.h5", "{kind}_tfkeras.keras",
         "{kind}_k3.weights.h5", "{kind}_k3.keras", "{kind}_k3_sharded.weights.json"]


def _model(kind):
    numkeras.backend.clear_session()
    model = gm.BUILDERS[kind](numkeras)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def _outcome(kind, path, monkeypatch, tree: bool, build=_model, **kwargs):
    """``(weights, report text, warnings, error)`` of one load; ``tree``: whether
    h5raw_read may answer (counting how often it did)."""
    used = []
    real = h5raw_read.read_tree

    def read_tree(read_at, size):
        result = real(read_at, size) if tree else None
        used.append(result is not None)
        return result

    monkeypatch.setattr(h5raw_read, "read_tree", read_tree)
    model = build(kind)
    error = report = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            report = str(model.load_weights(str(path), **kwargs))
        except Exception as exc:  # noqa: BLE001 - compared between the two paths
            error = (type(exc), str(exc))
    monkeypatch.undo()
    return ([w.tolist() for w in model.get_weights()], report,
            [str(w.message) for w in caught], error), any(used)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", FILES)
def test_tensorflow_files_load_the_same_through_the_tree(kind, name, monkeypatch):
    path = FORMATS / name.format(kind=kind)
    fast, used = _outcome(kind, path, monkeypatch, tree=True)
    slow, _ = _outcome(kind, path, monkeypatch, tree=False)
    assert used, "the tree was not used for a file TF wrote with h5py's defaults"
    assert fast == slow
    assert fast[3] is None


@pytest.mark.parametrize("kwargs", [{}, {"by_name": True}, {"skip_mismatch": True},
                                    {"by_name": True, "skip_mismatch": True}])
def test_mismatches_are_reported_the_same(kwargs, monkeypatch):
    def other(kind):  # the conv model with one layer's kernel of another shape
        numkeras.backend.clear_session()
        model = gm.BUILDERS["conv"](numkeras)
        config = model.get_config()
        for layer in config["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] += 1
                break
        model = model.__class__.from_config(config)
        rng = np.random.default_rng(1)
        model.set_weights([rng.normal(size=w.shape).astype(w.dtype)
                           for w in model.get_weights()])
        return model

    for name in ("conv.h5", "conv_tfkeras.weights.h5"):
        if "weights.h5" in name and kwargs.get("by_name"):
            continue
        path = FORMATS / name
        fast, used = _outcome("conv", path, monkeypatch, tree=True, build=other, **kwargs)
        slow, _ = _outcome("conv", path, monkeypatch, tree=False, build=other, **kwargs)
        assert used and fast == slow, name
        assert (fast[3] is None) == bool(kwargs.get("skip_mismatch")), fast[3]


def test_a_damaged_weight_is_left_to_h5py(tmp_path, monkeypatch):
    """A weight dataset the tree does not read as plain (here: its layout message made
    chunked) is opened by h5py, whose error the load gives, as before."""
    path = tmp_path / "w.h5"
    shutil.copy(FORMATS / "conv.h5", path)
    import h5py

    with h5py.File(path, "r") as f:
        name = [n for n in f.attrs["layer_names"] if len(f[n].attrs["weight_names"])][0]
        weight = f[name].attrs["weight_names"][0]
        addr = h5py.h5o.get_info(f[name][weight].id).addr
    data = bytearray(path.read_bytes())
    p = addr + 16
    while int.from_bytes(data[p:p + 2], "little") != 0x08:  # the layout message
        p += 8 + int.from_bytes(data[p + 2:p + 4], "little")
    data[p + 8 + 1] = 2  # contiguous -> chunked (with a contiguous message's body)
    path.write_bytes(bytes(data))
    fast, used = _outcome("conv", path, monkeypatch, tree=True)
    slow, _ = _outcome("conv", path, monkeypatch, tree=False)
    assert used and fast == slow and fast[3] is not None


@pytest.mark.parametrize("name", ["{kind}.h5", "{kind}_tfkeras.weights.h5",
                                  "{kind}_tfkeras.keras"])
def test_without_pread_the_loaders_use_h5py(name, monkeypatch):
    """Windows has no ``os.pread``/``os.preadv``: the tree is not read, h5py reads all."""
    import os

    from numkeras.saving import h5scan

    path = FORMATS / name.format(kind="conv")
    fast, _ = _outcome("conv", path, monkeypatch, tree=True)
    monkeypatch.delattr(os, "pread")
    monkeypatch.setattr(h5scan, "HAVE_PREADV", False)
    calls = []
    real = h5raw_read.read_tree
    monkeypatch.setattr(h5raw_read, "read_tree", lambda *a: calls.append(1) or real(*a))
    model = _model("conv")
    model.load_weights(str(path))
    monkeypatch.undo()
    assert not calls
    assert [w.tolist() for w in model.get_weights()] == fast[0]
