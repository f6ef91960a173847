"""Writing ``.h5`` weights: layout details, atomic replacement, overwrite prompt, h5py hint."""

import builtins
import errno
import io
import os
import sys

import h5py
import numpy as np
import pytest

import numkeras as keras
from numkeras.saving.hdf5 import writer


def mlp():
    return keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), keras.layers.Dropout(0.5),
                             keras.layers.Dense(2)])


def _values(model, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=w.shape).astype(w.dtype) for w in model.weights]


def test_layout_of_a_sequential_model(tmp_path):
    model = mlp()
    model.set_weights(_values(model, 0))
    path = tmp_path / "w.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == ["dense", "dropout", "dense_1"]
        assert f.attrs["backend"] == b"tensorflow"
        assert f.attrs["keras_version"] == b"2.21.0"
        for name in ("layer_names", "backend", "keras_version"):
            assert not f.attrs.get_id(name).get_type().is_variable_str(), name
        assert list(f) == ["dense", "dense_1", "dropout", "top_level_model_weights"]
        empty = f["dropout"].attrs["weight_names"]
        assert empty.dtype == np.float64 and empty.shape == (0,)
        assert f["top_level_model_weights"].attrs["weight_names"].shape == (0,)
        assert [n.decode() for n in f["dense_1"].attrs["weight_names"]] == [
            "dense_1/kernel:0", "dense_1/bias:0"]
        kernel = f["dense_1/dense_1/kernel:0"]
        assert kernel.shape == (4, 2) and kernel.dtype == np.float32
        assert kernel.chunks is None and kernel.compression is None
        np.testing.assert_array_equal(kernel[()], model.layers[2].kernel.numpy())


class Scaled(keras.Model):
    """A subclassed model with its own weights (top_level_model_weights) and a scalar."""

    def __init__(self):
        super().__init__(name="scaled")
        self.dense = keras.layers.Dense(2)
        self.scale = self.add_weight("scale", shape=(), initializer="ones")
        self.offset = self.add_weight("offset", shape=(2,), initializer="zeros",
                                      trainable=False)

    def call(self, x):
        return self.dense(x) * self.scale + self.offset


def test_model_own_weights_and_scalars_round_trip(tmp_path):
    model = Scaled()
    model(np.ones((1, 3), "float32"))
    model.set_weights(_values(model, 1))
    expected = model.get_weights()
    path = tmp_path / "s.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f["top_level_model_weights"].attrs["weight_names"]]
        assert names == ["scale:0", "offset:0"]
        assert f["top_level_model_weights/scale:0"].shape == ()
        assert [n.decode() for n in f["dense"].attrs["weight_names"]] == [
            "scaled/dense/kernel:0", "scaled/dense/bias:0"]
    model.set_weights(_values(model, 2))
    report = model.load_weights(path)
    assert report.loaded == ["dense", "top_level_model_weights"]
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    """The h5py path (what the fast encoder does not cover) fails on its third weight."""
    model = mlp()
    path = tmp_path / "w.h5"
    model.save_weights(path)
    good = model.get_weights()
    model.set_weights(_values(model, 3))
    monkeypatch.setattr(writer, "weights_tree", lambda *args: None)

    calls = []
    real = writer._write_weight

    def failing(make, group, variable):
        calls.append(variable.name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(make, group, variable)

    monkeypatch.setattr(writer, "_write_weight", failing)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert len(calls) == 3
    assert os.listdir(tmp_path) == ["w.h5"]  # no temporary file left behind
    monkeypatch.undo()
    model.load_weights(path)
    for a, b in zip(model.get_weights(), good):
        np.testing.assert_array_equal(a, b)


def test_failed_fast_save_keeps_the_previous_file(tmp_path, monkeypatch):
    """The encoder's write fails half-way (the disk refuses the second batch of buffers)."""
    from numkeras.saving import h5raw_write

    model = mlp()
    path = tmp_path / "w.h5"
    model.save_weights(path)
    good = model.get_weights()
    model.set_weights(_values(model, 3))
    monkeypatch.setattr(h5raw_write, "_IOV_MAX", 2)
    calls = []
    real = os.pwritev

    def failing(fd, buffers, offset):
        calls.append(offset)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, buffers, offset)

    monkeypatch.setattr(h5raw_write.os, "pwritev", failing)
    with pytest.raises(OSError, match="writing failed .*nothing was replaced"):
        model.save_weights(path)
    assert len(calls) == 2
    assert os.listdir(tmp_path) == ["w.h5"]  # no temporary file left behind
    monkeypatch.undo()
    model.load_weights(path)
    for a, b in zip(model.get_weights(), good):
        np.testing.assert_array_equal(a, b)


def test_save_into_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mlp().save_weights(tmp_path / "nope" / "w.h5")


def test_overwrite_false_without_terminal_raises(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    mlp().save_weights(path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(FileExistsError, match="overwrite=False"):
        mlp().save_weights(path, overwrite=False)


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("answers,replaced", [(["n"], False), (["maybe", "y"], True)])
def test_overwrite_false_asks_on_a_terminal(tmp_path, monkeypatch, capsys, answers, replaced):
    path = tmp_path / "w.h5"
    first = mlp()
    first.save_weights(path)
    before = path.read_bytes()
    monkeypatch.setattr(sys, "stdin", _Tty())
    prompts = []

    def fake_input(prompt=""):
        prompts.append(prompt)
        return answers[len(prompts) - 1]

    monkeypatch.setattr(builtins, "input", fake_input)
    second = mlp()
    second.save_weights(path, overwrite=False)
    assert prompts[0] == f"[WARNING] {path} already exists - overwrite? [y/n]"
    if replaced:
        assert prompts[1] == 'Enter "y" (overwrite) or "n" (cancel).'
        assert "[TIP] Next time specify overwrite=True!" in capsys.readouterr().out
        with h5py.File(path, "r") as f:
            np.testing.assert_array_equal(f["dense_2/dense_2/kernel:0"][()],
                                          second.layers[0].kernel.numpy())
    else:
        assert path.read_bytes() == before


def test_missing_h5py_gives_an_install_hint(tmp_path, monkeypatch):
    model = mlp()
    path = tmp_path / "w.h5"
    model.save_weights(path)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="`save_weights` requires h5py.*installing h5py"):
        model.save_weights(tmp_path / "x.h5")
    with pytest.raises(ImportError, match="`load_weights` requires h5py.*installing h5py"):
        model.load_weights(path)


def test_save_format_h5_without_suffix(tmp_path):
    model = mlp()
    model.save_weights(tmp_path / "weights", save_format="h5")
    assert h5py.is_hdf5(tmp_path / "weights")
    model.load_weights(tmp_path / "weights")


def test_two_weights_with_one_name_are_refused(tmp_path):
    class Twice(keras.layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight("w", shape=(2,))
            self.b = self.add_weight("w", shape=(2,))

    model = keras.Sequential([Twice(name="twice", input_shape=(2,))])
    with pytest.raises(ValueError, match="layer 'twice'.*two weights named 'twice/w:0'"):
        model.save_weights(tmp_path / "w.h5")
    assert not os.listdir(tmp_path)


def test_keras_suffix_gets_the_legacy_layout_like_tf_keras(tmp_path):
    # docs/formats.md §3: save_weights("x.keras") writes a legacy HDF5 file; load_weights reads it back
    model = mlp()
    model.set_weights(_values(model, 4))
    path = tmp_path / "w.keras"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert "layer_names" in f.attrs
    expected = model.get_weights()
    model.set_weights(_values(model, 5))
    model.load_weights(path)
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)
