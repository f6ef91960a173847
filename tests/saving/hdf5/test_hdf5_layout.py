"""String attributes and weight order of the Keras 2 ``.h5`` layout (docs/formats.md §2.4-§2.6)."""

import h5py
import numpy as np
import pytest

import numkeras as keras
from numkeras.saving.hdf5 import layout


def test_chunking_rule_matches_the_verified_example():
    # docs/formats.md §2.6: 702 names of 100 bytes -> two pieces of 351, S100
    chunks = layout.chunk_string_list([b"x" * 100] * 702)
    assert [len(c) for c in chunks] == [351, 351]
    assert all(c.dtype == np.dtype("S100") for c in chunks)


def test_chunking_boundary():
    # 64512 bytes fit in one piece, one byte more needs two
    assert len(layout.chunk_string_list([b"a" * 64] * 1008)) == 1
    assert len(layout.chunk_string_list([b"a" * 64] * 1008 + [b"b"])) == 2


def test_an_item_longer_than_the_limit_cannot_be_saved():
    with pytest.raises(RuntimeError, match="larger than 64512 bytes"):
        layout.chunk_string_list([b"a" * 64513])


def test_empty_list_is_an_empty_float64_array(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        layout.save_attributes(f, "weight_names", [])
        value = f.attrs["weight_names"]
        assert value.dtype == np.float64 and value.shape == (0,)
        assert layout.load_attributes(f, "weight_names") == []


def test_save_and_load_chunked_attributes(tmp_path):
    names = [f"layer_{i:05d}_" + "n" * 80 for i in range(900)]
    with h5py.File(tmp_path / "a.h5", "w") as f:
        layout.save_attributes(f, "layer_names", names)
        assert "layer_names" not in f.attrs
        assert {"layer_names0", "layer_names1"} <= set(f.attrs)
        # fixed-length strings, not variable-length
        assert not f.attrs.get_id("layer_names0").get_type().is_variable_str()
        assert layout.load_attributes(f, "layer_names") == names


@pytest.mark.parametrize("value", [
    np.array([b"dense", b"dense_1"]),                                  # fixed-length
    np.array(["dense", "dense_1"], dtype=h5py.string_dtype("utf-8")),  # vlen utf-8
    np.array([b"dense", b"dense_1"], dtype=h5py.string_dtype("ascii")),  # vlen ascii
])
def test_all_string_encodings_are_read(tmp_path, value):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.attrs["layer_names"] = value
        assert layout.load_attributes(f, "layer_names") == ["dense", "dense_1"]


def test_scalar_strings_and_missing_attributes(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.attrs["a"] = np.bytes_(b"2.3.1")
        f.attrs["b"] = "tensorflow"
        assert layout.decode_string(f.attrs["a"]) == "2.3.1"
        assert layout.decode_string(f.attrs["b"]) == "tensorflow"
        assert layout.load_attributes(f, "weight_names") == []
        f.attrs["c"] = np.array([1.0, 2.0])
        with pytest.raises(ValueError, match="list of strings"):
            layout.load_attributes(f, "c")


def test_non_ascii_layer_names_round_trip(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        layout.save_attributes(f, "layer_names", ["dense_é", "ü"])
        assert layout.load_attributes(f, "layer_names") == ["dense_é", "ü"]


def test_legacy_weights_of_a_nested_model_put_trainable_first():
    inner = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    names = [w.name.split("/")[-1] for w in layout.legacy_weights(inner)]
    assert names == ["kernel:0", "bias:0", "gamma:0", "beta:0", "kernel:0", "bias:0",
                     "moving_mean:0", "moving_variance:0"]
    inner.trainable = False
    names = [w.name.split("/")[-1] for w in layout.legacy_weights(inner)]
    assert names == ["kernel:0", "bias:0", "gamma:0", "beta:0", "moving_mean:0",
                     "moving_variance:0", "kernel:0", "bias:0"]
