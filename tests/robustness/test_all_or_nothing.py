"""All-or-nothing loads: when only the LAST layer of a file mismatches, nothing is assigned.

The file is written from a model equal to the target except its last layer ``d2``:

- ``shape``: ``d2`` has 5 units instead of 2;
- ``count``: ``d2`` has no bias;
- ``dtype``: the saved bias of ``d2`` holds values that cannot be cast to the variable --
  byte strings for the HDF5-based formats (rewritten in the file), float64 for TF
  checkpoints (TensorFlow requires the exact dtype).

Every earlier layer matches, so a loader that assigned as it went would have changed them
before meeting the mismatch. The load must raise a ``ValueError`` naming the file and leave
every weight unchanged -- topologically, by name (``.h5``), and in the ``skip_mismatch``
variants it must skip exactly ``d2`` (unchanged) and load the rest.

TF checkpoints match variables by object path, greedily, as TensorFlow does: a variable the
file lacks (``count``: no saved bias) is left as it is and reported by the status object
(``assert_existing_objects_matched`` fails naming it), which is TensorFlow's contract; a
shape or dtype mismatch of a variable the file has is an error that assigns nothing.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile

import h5py
import numpy as np
import pytest
from robustness_formats import FORMATS, assert_same, fill, weights

import numkeras as nk
from numkeras import layers

KINDS = ["shape", "count", "dtype"]
CASES = [(fmt, kind) for fmt in ["h5", "tf", "weights_h5", "weights_json", "keras",
                                 "train_ckpt"] for kind in KINDS
         if not (fmt in ("tf", "train_ckpt") and kind == "count")] + \
    [(fmt, kind) for fmt in ("safetensors", "npz") for kind in ("shape", "count")]


def model(kind: str | None = None, fmt: str = "", seed: int = 0):
    units, bias, dtype = 2, True, None
    if kind == "shape":
        units = 5
    elif kind == "count":
        bias = False
    elif kind == "dtype" and fmt in ("tf", "train_ckpt"):
        dtype = "float64"
    m = nk.Sequential([
        layers.Dense(3, input_shape=(4,), name="d1"),
        layers.BatchNormalization(name="bn"),
        layers.Dense(units, use_bias=bias, name="d2", dtype=dtype),
    ], name="m")
    fill(m, seed)
    return m


def _strings_for_last_bias(f: h5py.File) -> bool:
    """Replace ``d2``'s bias dataset in an open HDF5 file by byte strings; True if found."""
    found = []

    def visit(name, obj):
        # legacy .h5 path, or Keras 3's path of the 2nd Dense layer's 2nd variable
        if isinstance(obj, h5py.Dataset) and name in ("d2/d2/bias:0", "layers/dense_1/vars/1"):
            found.append(name)

    f.visititems(visit)
    for name in found:
        shape = f[name].shape
        del f[name]
        f.create_dataset(name, data=np.full(shape, b"not a number"))
    return bool(found)


def make_last_dtype_uncastable(fmt: str, path: str) -> None:
    folder = os.path.dirname(path)
    if fmt == "keras":
        with zipfile.ZipFile(path) as zf:
            members = {name: zf.read(name) for name in zf.namelist()}
        buf = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buf, "r+") as f:
            assert _strings_for_last_bias(f)
        members["model.weights.h5"] = buf.getvalue()
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        return
    done = False
    for file in FORMATS[fmt].files(folder):
        if file.endswith(".h5"):
            with h5py.File(file, "r+") as f:
                done |= _strings_for_last_bias(f)
    assert done


def save_mismatching(fmt: str, kind: str, folder: str) -> tuple[str, list]:
    source = model(kind, fmt, seed=1)
    path = FORMATS[fmt].save(source, folder)
    if kind == "dtype" and fmt not in ("tf", "train_ckpt"):
        make_last_dtype_uncastable(fmt, path)
    return path, weights(source)


def load(fmt: str, target, path: str, **kwargs):
    if fmt == "train_ckpt":
        return nk.train.Checkpoint(model=target).restore(path)
    return target.load_weights(path, **kwargs)


@pytest.mark.parametrize("fmt,kind", CASES)
def test_last_layer_mismatch_changes_nothing(tmp_path, fmt, kind):
    path, _ = save_mismatching(fmt, kind, str(tmp_path))
    target = model(seed=2)
    before = weights(target)
    with pytest.raises(ValueError) as info:
        load(fmt, target, path)
    assert os.path.basename(path) in str(info.value), info.value
    assert_same(weights(target), before)


@pytest.mark.parametrize("kind", KINDS)
def test_last_layer_mismatch_by_name_changes_nothing(tmp_path, kind):
    path, _ = save_mismatching("h5", kind, str(tmp_path))
    target = model(seed=2)
    before = weights(target)
    with pytest.raises(ValueError, match="w.h5"):
        target.load_weights(path, by_name=True)
    assert_same(weights(target), before)


SKIP_CASES = [("h5", kind, by_name) for kind in KINDS for by_name in (False, True)] + \
    [(fmt, kind, False) for fmt in ("weights_h5", "weights_json", "keras") for kind in KINDS]


@pytest.mark.parametrize("fmt,kind,by_name", SKIP_CASES)
def test_skip_mismatch_skips_only_the_last_layer(tmp_path, fmt, kind, by_name):
    path, saved = save_mismatching(fmt, kind, str(tmp_path))
    target = model(seed=2)
    before = weights(target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = target.load_weights(path, skip_mismatch=True, by_name=by_name)
    assert [name for name, _ in report.skipped] == ["d2"]
    assert any("d2" in str(w.message) for w in caught)
    after = weights(target)
    n = len(target.get_layer("d1").get_weights()) + len(target.get_layer("bn").get_weights())
    assert_same(after[:n], saved[:n])           # d1 and bn loaded
    assert_same(after[n:], before[n:])          # d2 unchanged


def test_tf_skip_mismatch_needs_by_name(tmp_path):
    path, _ = save_mismatching("tf", "shape", str(tmp_path))
    target = model(seed=2)
    before = weights(target)
    with pytest.raises(ValueError, match="skip_mismatch"):
        target.load_weights(path, skip_mismatch=True)
    assert_same(weights(target), before)


@pytest.mark.parametrize("fmt", ["tf", "train_ckpt"])
def test_tf_missing_last_variable_is_reported_as_tensorflow_does(tmp_path, fmt):
    path, saved = save_mismatching(fmt, "count", str(tmp_path))
    target = model(seed=2)
    before = weights(target)
    status = load(fmt, target, path)
    with pytest.raises(AssertionError, match="d2/bias"):
        status.assert_existing_objects_matched()
    after = weights(target)
    assert_same(after[:-1], saved)   # everything the file has, in order
    assert_same(after[-1:], before[-1:])  # the bias the file lacks is unchanged
