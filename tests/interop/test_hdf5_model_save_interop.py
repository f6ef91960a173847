"""``model.save("m.h5")``: numkeras's full-model HDF5 files load in tf-keras 2.21 (weights,
outputs, compile settings, optimizer state) and have tf-keras's layout and model_config."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from tf_side import assert_close_outputs, assert_same_weights, random_weights, tf_keras

import numkeras
from numkeras.models import load_model


def _functional(lib):
    L = lib.layers
    inp = L.Input((6, 4))
    x = L.Conv1D(5, 3, activation="relu")(inp)
    x = L.BatchNormalization()(x)
    y = L.LocallyConnected1D(5, 2, padding="same", implementation=2)(x)
    x = L.Add()([x, y])
    x = L.LSTM(3, return_sequences=True)(x)
    x = L.Flatten()(x)
    out = L.Dense(2, activation="softmax")(L.Dropout(0.3)(x))
    return lib.Model(inp, out)


def _sequential(lib):
    L = lib.layers
    return lib.Sequential([L.Dense(4, activation="tanh", input_shape=(5,)),
                           L.Identity(), L.Dense(3, kernel_initializer="he_normal")])


BUILDERS = {"functional": (_functional, (2, 6, 4)), "sequential": (_sequential, (2, 5))}


def _x(shape):
    return np.random.default_rng(0).standard_normal(shape).astype("float32")


def _comparable(config):
    """A model_config without InputLayer's ``optional`` (tf-keras 2.21 adds it, numkeras's
    tf-keras-style configs leave it out) and Sequential's ``build_input_shape`` (numkeras
    writes it for a Sequential with a known input shape, tf-keras only for deferred builds);
    tf-keras reads both spellings alike."""
    if isinstance(config, dict):
        return {k: _comparable(v) for k, v in config.items()
                if k not in ("optional", "build_input_shape")}
    if isinstance(config, list):
        return [_comparable(v) for v in config]
    return config


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@pytest.mark.parametrize("how", ["suffix", "save_format"])
def test_numkeras_h5_model_loads_in_tf_keras(tmp_path, kind, how):
    build, shape = BUILDERS[kind]
    numkeras.backend.clear_session()
    ours = build(numkeras)
    ours.set_weights(random_weights(ours, 3))
    if how == "suffix":
        path = str(tmp_path / "m.h5")
        ours.save(path)
    else:
        path = str(tmp_path / "m.hdf5")
        ours.save(path, save_format="h5")
    x = _x(shape)
    theirs = tf_keras().models.load_model(path)
    assert [w.name for w in theirs.weights] == [w.name for w in ours.weights]
    assert_same_weights(theirs.get_weights(), ours.get_weights())
    assert_close_outputs(ours.predict(x), theirs.predict(x, verbose=0))
    numkeras.backend.clear_session()
    again = load_model(path)
    assert_same_weights(again.get_weights(), ours.get_weights())


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_layout_and_model_config_match_tf_keras(tmp_path, kind):
    build, _ = BUILDERS[kind]
    numkeras.backend.clear_session()
    build(numkeras).save(str(tmp_path / "ours.h5"))
    build(tf_keras()).save(str(tmp_path / "theirs.h5"))
    with h5py.File(tmp_path / "ours.h5", "r") as a, h5py.File(tmp_path / "theirs.h5", "r") as b:
        assert sorted(a.attrs) == sorted(b.attrs)
        assert list(a) == list(b)
        for key in ("backend", "keras_version"):
            assert a.attrs[key] == b.attrs[key]
        assert _comparable(json.loads(a.attrs["model_config"])) == _comparable(
            json.loads(b.attrs["model_config"]))
        assert sorted(a["model_weights"].attrs) == sorted(b["model_weights"].attrs)
        names = []
        a["model_weights"].visit(names.append)
        theirs = []
        b["model_weights"].visit(theirs.append)
        assert names == theirs


@pytest.mark.parametrize("legacy", [False, True])
def test_compiled_model_with_optimizer_state_loads_in_tf_keras(tmp_path, legacy):
    numkeras.backend.clear_session()
    ours = _sequential(numkeras)
    ours.set_weights(random_weights(ours, 4))
    opt = (numkeras.optimizers.legacy.Adam(0.01) if legacy
           else numkeras.optimizers.Adam(0.01))
    ours.compile(optimizer=opt, loss="mse", metrics=["mae"])
    path = str(tmp_path / "c0.h5")
    ours.save(path)  # compiled, optimizer not built yet
    theirs = tf_keras().models.load_model(path)
    assert theirs.optimizer.__class__.__name__ == "Adam"
    assert float(theirs.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert getattr(theirs.loss, "__name__", theirs.loss) in ("mse", "mean_squared_error")
    grads = [np.full(v.shape, 0.1, v.dtype) for v in ours.trainable_weights]
    ours.optimizer.apply_gradients(zip(grads, ours.trainable_weights))
    path = str(tmp_path / "c1.h5")
    ours.save(path)
    with h5py.File(path, "r") as f:
        saved = {n.decode() if isinstance(n, bytes) else n: f["optimizer_weights"][n][()]
                 for n in f["optimizer_weights"].attrs["weight_names"]}
    theirs = tf_keras().models.load_model(path)
    ours_vars = ours.optimizer.weights if legacy else ours.optimizer.variables
    assert list(saved) == [v.name for v in ours_vars]
    # tf-keras's own names: a twin trained one step in tf-keras
    tfk = tf_keras()
    twin = _sequential(tfk)
    twin.compile(tfk.optimizers.legacy.Adam(0.01) if legacy else tfk.optimizers.Adam(0.01),
                 "mse")
    twin.fit(_x((2, 5)), _x((2, 3)), verbose=0)
    twin_vars = twin.optimizer.weights if legacy else twin.optimizer.variables
    assert list(saved) == [v.name for v in twin_vars]
    # tf-keras names the variables it loads differently, but restores them in file order
    their_vars = theirs.optimizer.weights if legacy else theirs.optimizer.variables
    assert len(their_vars) == len(saved)
    for v, value in zip(their_vars, saved.values()):
        np.testing.assert_array_equal(v.numpy(), value)
    assert_same_weights(theirs.get_weights(), ours.get_weights())
    x = _x((2, 5))
    assert_close_outputs(ours.predict(x), theirs.predict(x, verbose=0))


def test_uncompiled_model_has_no_training_config_and_a_failed_save_keeps_the_old_file(
        tmp_path):
    numkeras.backend.clear_session()
    ours = _sequential(numkeras)
    path = tmp_path / "m.h5"
    ours.save(str(path))
    before = path.read_bytes()
    with h5py.File(path, "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    with pytest.raises(TypeError):
        ours.save(str(path), bogus_option=1)
    assert path.read_bytes() == before
