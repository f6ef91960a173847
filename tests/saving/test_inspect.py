"""numkeras.saving.inspect: format detection, metadata listing and full verification.

Expected names and shapes come from the model that wrote the file (its ``weights``), byte
offsets for corruption from searching the file for a weight's raw bytes.
"""

from __future__ import annotations

import json
import math
import os

import h5py
import numpy as np
import pytest

import numkeras as keras
from numkeras.saving import inspect as nk
from numkeras.saving import serialization


def _model():
    inputs = keras.Input((5,), name="features")
    x = keras.layers.Dense(7, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(3)(x)
    model = keras.Model(inputs, outputs, name="small")
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.weights])
    return model


def _save(model, folder, fmt: str) -> str:
    paths = {"h5": "w.h5", "tf": "ckpt", "weights.h5": "m.weights.h5",
             "weights.json": "s.weights.json", "keras": "m.keras"}
    path = os.path.join(folder, paths[fmt])
    if fmt == "keras":
        model.save(path)
    elif fmt == "weights.json":
        model.save_weights(path, max_shard_size=150 / 1e9)  # several shards
    else:
        model.save_weights(path)
    return path


def _full_model_h5(model, folder) -> str:
    """A tf-keras-style full-model file: model_config attribute + model_weights group."""
    weights = _save(model, folder, "h5")
    path = os.path.join(folder, "full.h5")
    config = serialization.serialize_model(model, style="tf_keras")
    with h5py.File(weights, "r") as src, h5py.File(path, "w") as dst:
        group = dst.create_group("model_weights")
        for key, value in src.attrs.items():
            group.attrs[key] = value
        for name in src:
            src.copy(src[name], group, name=name)
        dst.attrs["model_config"] = json.dumps(config).encode()
        dst.attrs["keras_version"] = b"2.21.0"
        dst.attrs["backend"] = b"tensorflow"
    return path


FORMATS = ["h5", "tf", "weights.h5", "weights.json", "keras"]
EXPECTED_FORMAT = {"h5": "h5", "tf": "tf-checkpoint", "weights.h5": "weights.h5",
                   "weights.json": "weights.json", "keras": "keras"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_inspect_lists_every_weight_with_shape_dtype_and_bytes(tmp_path, fmt):
    model = _model()
    path = _save(model, tmp_path, fmt)
    info = nk.inspect(path)
    assert info.format == EXPECTED_FORMAT[fmt]
    assert info.has_architecture == (fmt == "keras")
    numeric = [e for e in info.entries if e.dtype != "string"]
    assert sorted(e.shape for e in numeric) == sorted(tuple(w.shape) for w in model.weights)
    assert all(e.dtype == "float32" for e in numeric)
    assert all(e.nbytes == 4 * math.prod(e.shape) for e in numeric)
    params = sum(math.prod(w.shape) for w in model.weights)
    assert info.parameters == params == 5 * 7 + 7 + 4 * 7 + 7 * 3 + 3
    assert info.count == len(info.entries)
    assert info.nbytes == sum(e.nbytes for e in info.entries)
    assert all(os.path.isfile(f) for f in info.files)


def test_h5_entries_are_the_weight_names_in_model_order(tmp_path):
    model = _model()
    info = nk.inspect(_save(model, tmp_path, "h5"))
    assert [e.name for e in info.entries] == [w.name for w in model.weights]
    assert [e.group for e in info.entries] == [w.name.split("/")[0] for w in model.weights]
    assert info.attributes["layer_names"] == [layer.name for layer in model.layers]


def test_tf_checkpoint_names_keys_object_paths_and_variables(tmp_path):
    model = _model()
    info = nk.inspect(_save(model, tmp_path, "tf"))
    keys = [e.name for e in info.entries]
    assert keys == sorted(keys)  # TensorFlow's (bytewise) order
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in keys
    values = [e for e in info.entries if e.name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")]
    assert sorted(e.variable + ":0" for e in values) == sorted(w.name for w in model.weights)
    kernel = next(e for e in values if e.variable == "dense/kernel")
    assert kernel.name == "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert kernel.object_path == "(root).layer_with_weights-0.kernel"
    assert kernel.shape == (5, 7)
    assert [os.path.basename(f) for f in info.files] == [
        "ckpt.index", "ckpt.data-00000-of-00001", "checkpoint"]


def test_keras_v3_entries_are_grouped_by_object_path(tmp_path):
    model = _model()
    info = nk.inspect(_save(model, tmp_path, "weights.h5"))
    by_group: dict = {}
    for e in info.entries:
        by_group.setdefault(e.group, []).append(e.shape)
    assert by_group["layers/dense"] == [(5, 7), (7,)]
    assert by_group["layers/batch_normalization"] == [(7,)] * 4
    assert info.entries[0].name.startswith("layers/")


def test_sharded_manifest_lists_its_shards(tmp_path):
    info = nk.inspect(_save(_model(), tmp_path, "weights.json"))
    shards = sorted(n for n in os.listdir(tmp_path) if n.endswith(".weights.h5"))
    assert len(shards) >= 2
    assert [os.path.basename(f) for f in info.files] == ["s.weights.json", *shards]
    assert {e.file for e in info.entries} == set(shards)


def test_full_model_h5_is_recognised_and_has_architecture(tmp_path):
    model = _model()
    info = nk.inspect(_full_model_h5(model, tmp_path))
    assert info.format == "h5-model" and info.has_architecture
    assert [e.name for e in info.entries] == [w.name for w in model.weights]


def test_inspect_reads_no_tensor_data(tmp_path):
    """The data file can be gone: inspect needs only the index (and object graph)."""
    model = _model()
    prefix = _save(model, tmp_path, "tf")
    data = prefix + ".data-00000-of-00001"
    with open(data, "rb") as f:
        raw = bytearray(f.read())
    kernel = model.weights[0].numpy().tobytes()
    start = raw.find(kernel)
    assert start >= 0
    raw[start:start + len(kernel)] = bytes(len(kernel))  # data zeroed: CRCs now wrong
    with open(data, "wb") as f:
        f.write(raw)
    assert nk.inspect(prefix).count == len(model.weights) + 1
    assert not nk.verify(prefix).ok


@pytest.mark.parametrize("given", ["ckpt", "ckpt.index", "ckpt.data-00000-of-00001", "."])
def test_detect_checkpoint_prefix_from_any_of_its_files_or_folder(tmp_path, given):
    prefix = _save(_model(), tmp_path, "tf")
    assert nk.detect(os.path.join(tmp_path, given)) == ("tf-checkpoint", prefix)


def test_detect_saved_model_folder(tmp_path):
    (tmp_path / "sm" / "variables").mkdir(parents=True)
    _model().save_weights(str(tmp_path / "sm" / "variables" / "variables"))
    fmt, resolved = nk.detect(tmp_path / "sm")
    assert fmt == "saved-model"
    assert resolved == str(tmp_path / "sm" / "variables" / "variables")


def test_missing_path_says_what_was_looked_for_and_suggests_latest(tmp_path):
    prefix = _save(_model(), tmp_path, "tf")
    with pytest.raises(FileNotFoundError) as err:
        nk.inspect(tmp_path / "ckpt-7")
    message = str(err.value)
    assert "ckpt-7.index" in message and repr(prefix) in message


def test_missing_path_without_checkpoint_lists_accepted_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="TF checkpoint prefix"):
        nk.inspect(tmp_path / "nothing.h5")


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"not weights at all")
    with pytest.raises(ValueError, match="neither an HDF5 file"):
        nk.inspect(path)


# -- verify -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_verify_good_files(tmp_path, fmt):
    model = _model()
    result = nk.verify(_save(model, tmp_path, fmt))
    assert result.ok, result.problem
    assert result.checked >= len(model.weights)
    assert result.nbytes >= sum(w.numpy().nbytes for w in model.weights)


def _flip_inside(path: str, needle: bytes) -> None:
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    at = raw.find(needle)
    assert at >= 0, "weight bytes not found in the file"
    raw[at + len(needle) // 2] ^= 0x01
    with open(path, "wb") as f:
        f.write(raw)


def test_verify_tf_checkpoint_flipped_byte_names_the_key(tmp_path):
    model = _model()
    prefix = _save(model, tmp_path, "tf")
    _flip_inside(prefix + ".data-00000-of-00001", model.weights[0].numpy().tobytes())
    result = nk.verify(prefix)
    assert not result.ok
    assert result.key == "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert result.file.endswith("ckpt.data-00000-of-00001")
    assert "checksum" in result.problem


def test_verify_keras_archive_flipped_byte_is_caught_by_the_zip_crc(tmp_path):
    model = _model()
    path = _save(model, tmp_path, "keras")
    _flip_inside(path, model.weights[0].numpy().tobytes())
    result = nk.verify(path)
    assert not result.ok
    assert result.key == "model.weights.h5"
    assert result.file == path


def test_verify_truncated_h5(tmp_path):
    path = _save(_model(), tmp_path, "h5")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    result = nk.verify(path)
    assert not result.ok and result.file == path


def test_verify_missing_data_file_and_missing_shard(tmp_path):
    model = _model()
    prefix = _save(model, tmp_path, "tf")
    os.remove(prefix + ".data-00000-of-00001")
    result = nk.verify(prefix)
    assert not result.ok and "data file not found" in result.problem
    manifest = _save(model, tmp_path, "weights.json")
    os.remove(os.path.join(tmp_path, "s_00000.weights.h5"))
    result = nk.verify(manifest)
    assert not result.ok and "s_00000.weights.h5" in result.problem


def test_verify_h5_listing_a_missing_weight(tmp_path):
    path = _save(_model(), tmp_path, "h5")
    with h5py.File(path, "r+") as f:
        del f["dense"]["dense"]["bias:0"]
    result = nk.verify(path)
    assert not result.ok and "bias:0" in result.problem


def test_verify_warns_about_non_finite_values(tmp_path):
    model = _model()
    values = model.get_weights()
    values[1][:] = np.nan
    model.set_weights(values)
    result = nk.verify(_save(model, tmp_path, "h5"))
    assert result.ok
    assert any("NaN" in w and "bias" in w for w in result.warnings)
