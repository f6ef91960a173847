"""Loading ``.h5`` weights: bad input, all-or-nothing loads, skip_mismatch, by_name, reports.

Expected values come from the arrays written into the files by the tests themselves.
"""

import os
import warnings

import h5py
import numpy as np
import pytest

import numkeras as keras
from numkeras.saving.hdf5 import loader


def mlp(units=(4, 2), name=None):
    return keras.Sequential([keras.layers.Dense(units[0], input_shape=(3,)),
                             keras.layers.Dropout(0.5), keras.layers.Dense(units[1])],
                            name=name)


def _random(model, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=w.shape).astype(w.dtype) for w in model.weights]


def _equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def write_file(path, layers, *, keras_version="2.15.0", top_level=True, layer_names=None):
    """A hand-built weights file: ``layers`` maps group name -> [(weight name, array)]."""
    with h5py.File(path, "w") as f:
        names = list(layers) if layer_names is None else layer_names
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        if keras_version is not None:
            f.attrs["keras_version"] = np.bytes_(keras_version.encode())
        for group, weights in layers.items():
            g = f.create_group(group)
            g.attrs["weight_names"] = np.array([w.encode() for w, _ in weights]) if weights \
                else np.array([], dtype="float64")
            for wname, value in weights:
                g.create_dataset(wname, data=value)
        if top_level:
            f.create_group("top_level_model_weights").attrs["weight_names"] = \
                np.array([], dtype="float64")


def mlp_file(path, values, **kwargs):
    write_file(path, {
        "dense": [("dense/kernel:0", values[0]), ("dense/bias:0", values[1])],
        "dropout": [],
        "dense_1": [("dense_1/kernel:0", values[2]), ("dense_1/bias:0", values[3])],
    }, **kwargs)


# -- bad input -----------------------------------------------------------------------------

def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "w.h5"
    path.write_text("hello, I am text")
    model = mlp()
    before = model.get_weights()
    with pytest.raises(OSError, match=r"w\.h5.*not an HDF5 file"):
        model.load_weights(path)
    _equal(model.get_weights(), before)


def test_truncated_file(tmp_path):
    path = tmp_path / "w.h5"
    source = mlp()
    source.save_weights(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    model = mlp()
    before = model.get_weights()
    with pytest.raises(OSError, match=r"w\.h5.*truncated"):
        model.load_weights(path)
    _equal(model.get_weights(), before)


def test_data_past_the_end_of_the_file_is_detected_before_loading(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    mlp().save_weights(path)
    model = mlp()
    before = model.get_weights()
    monkeypatch.setattr(loader.os.path, "getsize", lambda p: 2000)  # pretend it was cut
    with pytest.raises(OSError, match="lies past the end of the file"):
        model.load_weights(path)
    _equal(model.get_weights(), before)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        mlp().load_weights(tmp_path / "nope.h5")


def test_hdf5_file_without_layer_names(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.create_group("something")
    with pytest.raises(ValueError, match=r"w\.h5.*no `layer_names` attribute"):
        mlp().load_weights(path)


def test_keras3_style_file_gets_a_hint(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f.create_group("layers/dense/vars")
    with pytest.raises(ValueError, match=r"Keras 3.*\.weights\.h5"):
        mlp().load_weights(path)


def test_layer_names_lists_a_missing_group(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 0)
    write_file(path, {"dense": [("dense/kernel:0", values[0]), ("dense/bias:0", values[1])]},
               layer_names=["dense", "ghost"])
    with pytest.raises(ValueError, match=r"layer 'ghost'.*no group.*w\.h5"):
        mlp().load_weights(path)


def test_weight_names_lists_a_missing_dataset(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 0)
    mlp_file(path, values)
    with h5py.File(path, "a") as f:
        f["dense_1"].attrs["weight_names"] = np.array([b"dense_1/kernel:0", b"dense_1/gone:0"])
    model = mlp()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"'dense_1'.*'dense_1/gone:0'.*w\.h5"):
        model.load_weights(path)
    _equal(model.get_weights(), before)


def test_shape_mismatch_in_the_last_layer_changes_nothing(tmp_path):
    path = tmp_path / "w.h5"
    source = mlp(units=(4, 5))
    source.set_weights(_random(source, 1))
    source.save_weights(path)
    model = mlp(units=(4, 2))
    before = model.get_weights()
    buffers = [w.value for w in model.weights]
    with pytest.raises(ValueError) as info:
        model.load_weights(path)
    message = str(info.value)
    assert "Shape mismatch in layer #1 (named dense_3 in the current model, dense_1 in the " \
           "save file) for weight dense_3/kernel:0" in message
    assert "Weight expects shape (4, 2). Received saved weight with shape (4, 5)" in message
    assert str(path) in message
    _equal(model.get_weights(), before)
    assert all(w.value is b for w, b in zip(model.weights, buffers))


def test_dtype_that_cannot_be_cast(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 0)
    values[3] = np.array([b"ab", b"cd"])
    mlp_file(path, values)
    model = mlp()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Dtype mismatch in layer #1.*dense_1/bias:0.*\|S2"):
        model.load_weights(path)
    _equal(model.get_weights(), before)


# -- values ----------------------------------------------------------------------------------

def test_loads_straight_into_the_variable_buffers(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 2)
    mlp_file(path, values)
    model = mlp()
    buffers = [w.value for w in model.weights]
    reads = []
    real, real_preadv = h5py.Dataset.read_direct, os.preadv

    def spy(self, dest, *args, **kwargs):
        reads.append(dest)
        return real(self, dest, *args, **kwargs)

    def spy_preadv(fd, views, offset):  # contiguous datasets: os.preadv into the buffers
        reads.extend(np.asarray(v) for v in views)
        return real_preadv(fd, views, offset)

    monkeypatch.setattr(h5py.Dataset, "read_direct", spy)
    monkeypatch.setattr(os, "preadv", spy_preadv)
    report = model.load_weights(path)
    assert report.loaded == ["dense_2", "dense_3"]  # model layer names (the file's: dense, ...)
    _equal(model.get_weights(), values)
    assert all(any(np.shares_memory(r, b) and r.nbytes == b.nbytes for r in reads)
               for b in buffers)
    assert all(w.value is b for w, b in zip(model.weights, buffers))


def test_float64_and_big_endian_and_compressed_datasets_are_cast(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 3)
    stored = [values[0].astype("float64"), values[1].astype(">f4"), values[2], values[3]]
    mlp_file(path, stored)
    with h5py.File(path, "a") as f:
        del f["dense_1/dense_1/kernel:0"]
        f.create_dataset("dense_1/dense_1/kernel:0", data=values[2], compression="gzip",
                         chunks=(2, 2))
    model = mlp()
    model.load_weights(path)
    expected = [values[0].astype("float64").astype("float32")] + values[1:]
    _equal(model.get_weights(), expected)
    assert all(w.dtype == np.float32 for w in model.weights)


def test_keras1_file_without_keras_version_loads_dense_layers(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 4)
    mlp_file(path, values, keras_version=None, top_level=False)
    model = mlp()
    model.load_weights(path)
    _equal(model.get_weights(), values)


def test_keras1_conv_kernel_is_transposed_as_tf_keras_does(tmp_path):
    # a Keras 1 "th"-ordered layer: channels first, kernel stored (out, in, rows, cols)
    model = keras.Sequential([keras.layers.Conv2D(2, (3, 3), data_format="channels_first",
                                                  input_shape=(1, 5, 5))])
    path = tmp_path / "w.h5"
    kernel = np.arange(18, dtype="float32").reshape(2, 1, 3, 3)  # (out, in, rows, cols)
    write_file(path, {"conv2d": [("conv2d_W:0", kernel),
                                 ("conv2d_b:0", np.ones((2,), "float32"))]},
               keras_version=None, top_level=False)
    model.load_weights(path)
    np.testing.assert_array_equal(model.get_weights()[0], kernel.transpose(2, 3, 1, 0))


# -- topological skip_mismatch ------------------------------------------------------------

def test_topological_skip_mismatch_warns_once_per_layer(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(units=(4, 5)), 5)
    mlp_file(path, values)
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)),
                              keras.layers.Dense(2), keras.layers.Dense(7)])
    before = model.get_weights()
    with pytest.warns(UserWarning) as caught:
        report = model.load_weights(path, skip_mismatch=True)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "named dense_3 in the current model, dense_1 in the save file" in messages[0]
    assert "Weight expects shape (4, 2). Received saved weight with shape (4, 5)" in messages[0]
    assert "dense_4" in messages[1] and "the file has only 2 layer(s)" in messages[1]
    _equal(model.get_weights(), values[:2] + before[2:])
    assert report.loaded == ["dense_2"]
    assert [n for n, _ in report.skipped] == ["dense_3", "dense_4"]
    text = str(report)
    assert text.startswith(f"Loaded weights from {path}: 1 layer(s) loaded, 2 skipped.")
    assert "skipped dense_3: mismatch in shape for weight dense_3/kernel:0" in text


def test_topological_layer_count_mismatch_names_both_sides(tmp_path):
    path = tmp_path / "w.h5"
    mlp_file(path, _random(mlp(), 0))
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,))])
    with pytest.raises(ValueError) as info:
        model.load_weights(path)
    message = str(info.value)
    assert "Model expected 1 layers, found 2 saved layers" in message
    assert "the model has no more layers with weights, the file has 'dense_1' with 2 " \
           "weight(s) of shapes [(4, 2), (2,)]" in message


def test_weightless_layers_are_ignored_topologically(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 6)
    mlp_file(path, values)
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)),
                              keras.layers.Activation("relu"), keras.layers.Dropout(0.1),
                              keras.layers.Dense(2), keras.layers.Flatten()])
    model.load_weights(path)
    _equal(model.get_weights(), values)


# -- by_name ------------------------------------------------------------------------------

def test_by_name_reaches_layers_inside_nested_models(tmp_path):
    path = tmp_path / "w.h5"
    rng = np.random.default_rng(7)
    values = {n: rng.normal(size=s).astype("float32")
              for n, s in [("ak", (3, 4)), ("ab", (4,)), ("bk", (4, 2)), ("bb", (2,))]}
    write_file(path, {"a": [("a/kernel:0", values["ak"]), ("a/bias:0", values["ab"])],
                      "b": [("b/kernel:0", values["bk"]), ("b/bias:0", values["bb"])]})
    inner = keras.Sequential([keras.layers.Dense(4, name="a", input_shape=(3,))],
                             name="block")
    inp = keras.Input((3,))
    out = keras.layers.Dense(2, name="b")(inner(inp))
    out = keras.layers.Dense(1, name="extra")(out)
    model = keras.Model(inp, out)
    extra_before = model.get_layer("extra").get_weights()
    report = model.load_weights(path, by_name=True)
    assert report.loaded == ["a", "b"]
    assert report.missing == ["extra"]
    _equal(inner.layers[0].get_weights(), [values["ak"], values["ab"]])
    _equal(model.get_layer("b").get_weights(), [values["bk"], values["bb"]])
    _equal(model.get_layer("extra").get_weights(), extra_before)


def test_by_name_prefers_top_level_layers_and_whole_nested_groups(tmp_path):
    # the file has a group for the nested model itself: it is loaded as a unit
    source_inner = keras.Sequential([keras.layers.Dense(4, name="a", input_shape=(3,))],
                                    name="block")
    inp = keras.Input((3,))
    source = keras.Model(inp, keras.layers.Dense(2, name="b")(source_inner(inp)))
    source.set_weights(_random(source, 8))
    path = tmp_path / "w.h5"
    source.save_weights(path)
    keras.backend.clear_session()
    inner = keras.Sequential([keras.layers.Dense(4, name="a", input_shape=(3,))],
                             name="block")
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, name="b")(inner(inp)))
    report = model.load_weights(path, by_name=True)
    assert report.loaded == ["block", "b"]
    _equal(model.get_weights(), source.get_weights())


def test_by_name_unknown_names_are_reported(tmp_path):
    path = tmp_path / "w.h5"
    values = _random(mlp(), 9)
    mlp_file(path, values)
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,), name="dense"),
                              keras.layers.Dense(2, name="other")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = model.load_weights(path, by_name=True)
    assert report.loaded == ["dense"] and report.unexpected == ["dense_1"]
    assert report.missing == ["other"]
    text = str(report)
    assert "in the model but not in the file: other" in text
    assert "in the file but not in the model: dense_1" in text


def test_by_name_count_mismatch_without_skip_is_an_error(tmp_path):
    path = tmp_path / "w.h5"
    mlp_file(path, _random(mlp(), 0))
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,), name="dense",
                                                 use_bias=False)])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Weight count mismatch for layer #0 \(named dense\)\. "
                                         r"Layer expects 1 weight\(s\)\. Received 2 saved"):
        model.load_weights(path, by_name=True)
    _equal(model.get_weights(), before)


# -- subclassed models ----------------------------------------------------------------------

class Sub(keras.Model):
    def __init__(self):
        super().__init__(name="sub")
        self.blocks = [keras.layers.Dense(3), keras.layers.Dense(1)]

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def test_unbuilt_subclassed_model_is_refused_with_tf_keras_message(tmp_path):
    built = Sub()
    built(np.ones((1, 2), "float32"))
    path = tmp_path / "w.h5"
    built.save_weights(path)
    with pytest.raises(ValueError, match="Unable to load weights saved in HDF5 format into a "
                                         "subclassed Model which has not created its "
                                         "variables yet. Call the Model first, then load"):
        Sub().load_weights(path)


def test_full_model_file_with_model_weights_group(tmp_path):
    path = tmp_path / "full.h5"
    values = _random(mlp(), 10)
    mlp_file(tmp_path / "plain.h5", values)
    with h5py.File(tmp_path / "plain.h5", "r") as src, h5py.File(path, "w") as dst:
        dst.attrs["model_config"] = b"{}"
        src.copy(src["/"], dst, "model_weights")
        for key, value in src.attrs.items():
            dst["model_weights"].attrs[key] = value
    model = mlp()
    model.load_weights(path)
    _equal(model.get_weights(), values)
