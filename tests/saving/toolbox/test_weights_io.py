"""read_weights / write_weights, safetensors and .npz, loading by Keras weight name.

Expected names and values come from the model that wrote each file (its ``weights``), or
from the safetensors library and NumPy reading the files we write.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile

import numpy as np
import pytest

import numkeras as keras
from numkeras.saving.weights import read_weights, write_weights

FORMATS = ["w.h5", "ckpt", "w.weights.h5", "m.keras", "w.safetensors", "w.npz",
           "w.weights.json"]


def _model(seed: int = 0):
    inputs = keras.Input((5,), name="features")
    x = keras.layers.Dense(4, name="hidden")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    model = keras.Model(inputs, outputs, name="small")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.weights])
    return model


def _write(model, path):
    if path.endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)


def _expected(model) -> dict:
    return {v.name: np.array(v.value) for v in model.weights}


def _assert_identical(mapping, expected: dict) -> None:
    assert list(mapping) == list(expected)
    for name, value in expected.items():
        got = np.asarray(mapping[name])
        assert got.dtype == value.dtype and got.shape == value.shape, name
        assert got.tobytes() == value.tobytes(), name


@pytest.mark.parametrize("filename", FORMATS)
def test_read_weights_names_and_values_of_every_format(tmp_path, filename):
    model = _model()
    path = str(tmp_path / filename)
    _write(model, path)
    named_by = model if filename.endswith((".weights.h5", ".weights.json")) else None
    with read_weights(path, model=named_by) as mapping:
        _assert_identical(mapping, _expected(model))


def test_weights_h5_without_a_model_keeps_its_vars_keys(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    keys = list(read_weights(str(tmp_path / "w.weights.h5")))
    # Keras 3 paths name objects by class (dense, dense_1), not by layer name
    assert "layers/dense_1/vars/1" in keys and "layers/batch_normalization/vars/3" in keys
    assert len(keys) == 8


def test_memory_mapped_where_contiguous(tmp_path):
    model = _model()
    for name in ("w.safetensors", "w.npz", "w.h5", "w.weights.h5"):
        model.save_weights(str(tmp_path / name))
        value = read_weights(str(tmp_path / name))[list(read_weights(str(tmp_path / name)))[0]]
        assert isinstance(value, np.memmap), name
        assert not value.flags.writeable


def test_sharded_weights_are_memory_mapped_from_their_shards(tmp_path):
    model = _model()
    path = str(tmp_path / "w.weights.json")
    model.save_weights(path, max_shard_size=1e-6)
    with read_weights(path, model=model) as mapping:
        expected = _expected(model)
        assert sorted(mapping) == sorted(expected)
        for name, value in expected.items():
            got = mapping[name]
            assert isinstance(got, np.memmap) and not got.flags.writeable, name
            assert os.path.dirname(got.filename) == str(tmp_path), name
            np.testing.assert_array_equal(got, value)
        assert all(mapping.specs[n].file.endswith(".weights.h5") for n in mapping)  # shards


def test_safetensors_load_in_the_safetensors_library_with_keras_names(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    model = _model()
    model.save_weights(str(tmp_path / "w.h5"))
    write_weights(read_weights(str(tmp_path / "w.h5")), str(tmp_path / "w.safetensors"))
    loaded = load_file(str(tmp_path / "w.safetensors"))
    expected = _expected(model)
    assert sorted(loaded) == sorted(expected)
    for name, value in expected.items():
        assert loaded[name].tobytes() == value.tobytes() and loaded[name].dtype == value.dtype
    with safe_open(str(tmp_path / "w.safetensors"), framework="numpy") as f:
        meta = f.metadata()
    assert meta["source"] == str(tmp_path / "w.h5") and meta["source_format"] == "h5"
    assert json.loads(meta["numkeras.order"]) == list(expected)


def test_npz_loads_in_numpy_with_keras_names(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.npz"))
    with np.load(str(tmp_path / "w.npz"), allow_pickle=False) as data:
        assert data.files == list(_expected(model))
        for name, value in _expected(model).items():
            assert data[name].tobytes() == value.tobytes()


def test_round_trip_h5_safetensors_npz_h5_without_architecture(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "a.h5"))
    write_weights(read_weights(str(tmp_path / "a.h5")), str(tmp_path / "b.safetensors"))
    write_weights(read_weights(str(tmp_path / "b.safetensors")), str(tmp_path / "c.npz"))
    write_weights(read_weights(str(tmp_path / "c.npz")), str(tmp_path / "d.h5"))
    _assert_identical(read_weights(str(tmp_path / "d.h5")), _expected(model))
    fresh = _model(seed=5)
    fresh.load_weights(str(tmp_path / "d.h5"))  # topological, as tf-keras loads .h5
    _assert_identical(read_weights(str(tmp_path / "a.h5")), _expected(fresh))


def test_name_based_tf_checkpoint_loads_by_variable_name(tmp_path):
    model = _model()
    prefix = str(tmp_path / "ckpt")
    written = write_weights(_expected(model), prefix)
    assert sorted(os.path.basename(p) for p in written) == ["ckpt.data-00000-of-00001",
                                                            "ckpt.index"]
    fresh = _model(seed=3)
    fresh.load_weights(prefix)
    for a, b in zip(model.weights, fresh.weights):
        assert np.array_equal(a.value, b.value)
    assert sorted(read_weights(prefix)) == sorted(_expected(model))


def test_weights_h5_written_from_vars_keys_loads_in_the_model(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "a.weights.h5"))
    write_weights(read_weights(str(tmp_path / "a.weights.h5")), str(tmp_path / "b.weights.h5"))
    fresh = _model(seed=7)
    fresh.load_weights(str(tmp_path / "b.weights.h5"))
    _assert_identical(read_weights(str(tmp_path / "b.weights.h5"), model=fresh),
                      _expected(model))


def test_weights_h5_from_plain_names_is_refused(tmp_path):
    with pytest.raises(ValueError, match="vars/<i>"):
        write_weights({"dense/kernel:0": np.ones(2)}, str(tmp_path / "w.weights.h5"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("filename", ["w.safetensors", "w.npz", "w.h5"])
def test_strings_are_refused_and_nothing_is_written(tmp_path, filename):
    weights = {"a:0": np.ones(2, "float32"), "b:0": np.array([b"x", b"y"], dtype=object)}
    with pytest.raises(ValueError, match="strings"):
        write_weights(weights, str(tmp_path / filename))
    assert os.listdir(tmp_path) == []


def test_bfloat16_goes_to_safetensors_but_not_npz(tmp_path):
    import ml_dtypes

    weights = {"w:0": np.arange(6, dtype=np.float32).astype(ml_dtypes.bfloat16)}
    write_weights(weights, str(tmp_path / "w.safetensors"))
    back = read_weights(str(tmp_path / "w.safetensors"))["w:0"]
    assert back.dtype == weights["w:0"].dtype and back.tobytes() == weights["w:0"].tobytes()
    with pytest.raises(ValueError, match="bfloat16"):
        write_weights(weights, str(tmp_path / "w.npz"))
    assert not (tmp_path / "w.npz").exists()


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_load_weights_by_name_is_all_or_nothing(tmp_path, suffix):
    model = _model()
    path = str(tmp_path / f"w{suffix}")
    weights = _expected(model)
    weights["head/bias:0"] = np.zeros(3, "float32")  # wrong shape
    write_weights(weights, path)
    target = _model(seed=9)
    before = [np.array(v.value) for v in target.weights]
    with pytest.raises(ValueError, match=r"head/bias:0.*\(2,\).*\(3,\)") as err:
        target.load_weights(path)
    assert path in str(err.value)
    assert all(np.array_equal(a, v.value) for a, v in zip(before, target.weights))
    with pytest.warns(UserWarning, match="head/bias"):
        report = target.load_weights(path, skip_mismatch=True)
    assert [n for n, _ in report.skipped] == ["head/bias:0"]
    assert np.array_equal(target.weights[0].value, model.weights[0].value)
    assert np.array_equal(target.weights[-1].value, before[-1])


def test_load_weights_missing_name_is_an_error_naming_it(tmp_path):
    model = _model()
    weights = _expected(model)
    del weights["bn/gamma:0"]
    write_weights(weights, str(tmp_path / "w.safetensors"))
    target = _model(seed=2)
    with pytest.raises(ValueError, match="bn/gamma:0"):
        target.load_weights(str(tmp_path / "w.safetensors"))
    report = target.load_weights(str(tmp_path / "w.safetensors"), skip_mismatch=True)
    assert report.missing == ["bn/gamma:0"]


def _safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize("blob, match", [
    (struct.pack("<Q", 10**12) + b"{}", "header length"),
    (_safetensors_bytes({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"x"),
     "truncated"),
    (_safetensors_bytes({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, b"xxxx"),
     "invalid header entry"),
    (_safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"xxxx"),
     "wrong size"),
])
def test_hostile_safetensors_give_a_clear_error_naming_the_file(tmp_path, blob, match):
    from numkeras.saving.safetensors import SafetensorsError

    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(SafetensorsError, match=match) as err:
        read_weights(str(path))
    assert str(path) in str(err.value)


def test_npz_pickled_objects_are_refused(tmp_path):
    path = str(tmp_path / "bad.npz")
    np.savez(path, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled object array"):
        read_weights(path)


def test_compressed_npz_is_read_on_access(tmp_path):
    path = str(tmp_path / "c.npz")
    values = {"dense/kernel:0": np.arange(6.0).reshape(2, 3),
              "f:0": np.asfortranarray(np.arange(6.0).reshape(2, 3))}
    np.savez_compressed(path, **values)
    mapping = read_weights(path)
    for name, value in values.items():
        assert np.array_equal(mapping[name], value) and not isinstance(mapping[name], np.memmap)


def test_truncated_npz_member_is_an_error(tmp_path):
    path = tmp_path / "t.npz"
    buf = np.lib.format
    with zipfile.ZipFile(path, "w") as zf, zf.open("x.npy", "w") as out:
        buf.write_array_header_1_0(out, {"descr": "<f8", "fortran_order": False,
                                         "shape": (1000,)})
        out.write(b"\0" * 16)
    with pytest.raises(ValueError, match="truncated"):
        read_weights(str(path))


def test_damaged_npz_is_reported_as_an_npz(tmp_path):
    model = _model()
    path = tmp_path / "w.npz"
    model.save_weights(str(path))
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))  # truncated: no central directory
    with pytest.raises(ValueError, match=r"\.npz") as err:
        read_weights(str(path))
    assert str(path) in str(err.value) and ".keras" not in str(err.value)
