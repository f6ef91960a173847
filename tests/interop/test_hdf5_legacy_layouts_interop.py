"""CuDNN and Keras 1 weight layouts in legacy .h5 files, against tf-keras 2.21's own loader.

The CuDNN fixtures are written by tf-keras itself: its CuDNNLSTM/CuDNNGRU classes build and
save on CPU (only running them needs a GPU). Keras 1 files are laid out as Keras 1 wrote them
(no ``keras_version``; per-gate RNN arrays) and loaded by tf-keras and numkeras alike."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from tf_side import assert_close_outputs, assert_same_weights, random_weights, tf_keras

import numkeras
from numkeras.models import load_model


def _cudnn_classes(tfk):
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    return CuDNNLSTM, CuDNNGRU


def _native(lib):
    L = lib.layers
    inp = L.Input((5, 3))
    x = L.LSTM(4, return_sequences=True)(inp)
    x = L.GRU(2, reset_after=True)(x)
    return lib.Model(inp, L.Dense(2)(x))


def _cudnn_tf(tfk):
    lstm, gru = _cudnn_classes(tfk)
    inp = tfk.Input((5, 3))
    x = lstm(4, return_sequences=True)(inp)
    x = gru(2)(x)
    return tfk.Model(inp, tfk.layers.Dense(2)(x))


def _cudnn_ours():
    L = numkeras.layers
    inp = numkeras.Input((5, 3))
    x = L.CuDNNLSTM(4, return_sequences=True)(inp)
    x = L.CuDNNGRU(2)(x)
    return numkeras.Model(inp, L.Dense(2)(x))


X = np.random.default_rng(0).standard_normal((3, 5, 3)).astype("float32")


@pytest.fixture
def cudnn_files(tmp_path):
    tfk = tf_keras()
    model = _cudnn_tf(tfk)
    model.set_weights(random_weights(model, 7))
    model.save_weights(str(tmp_path / "cudnn_w.h5"))
    model.save(str(tmp_path / "cudnn_m.h5"))
    return tmp_path, model.get_weights()


def test_cudnn_weights_load_into_lstm_and_gru_as_tf_keras_converts_them(cudnn_files):
    folder, _ = cudnn_files
    tfk = tf_keras()
    theirs = _native(tfk)
    theirs.load_weights(str(folder / "cudnn_w.h5"))
    numkeras.backend.clear_session()
    ours = _native(numkeras)
    ours.load_weights(str(folder / "cudnn_w.h5"))
    assert_same_weights(ours.get_weights(), theirs.get_weights())
    assert_close_outputs(ours.predict(X), theirs.predict(X, verbose=0))
    # also from the full-model file (its model_weights group), topologically
    numkeras.backend.clear_session()
    twin = _native(numkeras)
    twin.load_weights(str(folder / "cudnn_m.h5"))
    assert_same_weights(twin.get_weights(), theirs.get_weights())


def test_cudnn_full_model_h5_loads_with_cudnn_classes(cudnn_files):
    folder, saved = cudnn_files
    tfk = tf_keras()
    theirs = _native(tfk)
    theirs.load_weights(str(folder / "cudnn_w.h5"))  # tf-keras's CPU equivalent
    numkeras.backend.clear_session()
    ours = load_model(str(folder / "cudnn_m.h5"))
    assert [type(layer).__name__ for layer in ours.layers[1:3]] == ["CuDNNLSTM", "CuDNNGRU"]
    assert_same_weights(ours.get_weights(), saved)
    assert [w.name for w in ours.weights] == [w.name for w in _cudnn_tf(tf_keras()).weights]
    assert_close_outputs(ours.predict(X), theirs.predict(X, verbose=0))


def test_native_weights_load_into_cudnn_layers_as_tf_keras_converts_them(tmp_path):
    tfk = tf_keras()
    native = _native(tfk)
    native.set_weights(random_weights(native, 8))
    native.save_weights(str(tmp_path / "native.h5"))
    theirs = _cudnn_tf(tf_keras())
    theirs.load_weights(str(tmp_path / "native.h5"))
    numkeras.backend.clear_session()
    ours = _cudnn_ours()
    ours.load_weights(str(tmp_path / "native.h5"))
    assert_same_weights(ours.get_weights(), theirs.get_weights())
    # and back: CuDNN layers compute what the native layers computed
    assert_close_outputs(ours.predict(X), native.predict(X, verbose=0))
    ours.save_weights(str(tmp_path / "ours_cudnn.h5"))
    again = _native(tf_keras())
    again.load_weights(str(tmp_path / "ours_cudnn.h5"))
    assert_close_outputs(again.predict(X, verbose=0), native.predict(X, verbose=0))


def test_reset_after_false_gru_refuses_cudnn_weights(cudnn_files):
    folder, _ = cudnn_files
    numkeras.backend.clear_session()
    L = numkeras.layers
    inp = numkeras.Input((5, 3))
    x = L.LSTM(4, return_sequences=True)(inp)
    model = numkeras.Model(inp, L.Dense(2)(L.GRU(2, reset_after=False)(x)))
    before = model.get_weights()
    with pytest.raises(ValueError, match="CuDNNGRU is not compatible with "
                                         r"GRU\(reset_after=False\)"):
        model.load_weights(str(folder / "cudnn_w.h5"))
    assert_same_weights(model.get_weights(), before)


def _keras1_file(path, layers: dict) -> None:
    """A Keras 1 weights file: no keras_version/backend, layer_names and weight_names only."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in layers]
        for name, values in layers.items():
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}_{i}".encode() for i in range(len(values))]
            for i, v in enumerate(values):
                g.create_dataset(f"{name}_{i}", data=v)


def _keras1_model(lib):
    L = lib.layers
    inp = L.Input((6, 3))
    x = L.Conv1D(4, 3, name="conv")(inp)
    x = L.LSTM(3, return_sequences=True, name="lstm")(x)
    x = L.GRU(2, reset_after=False, name="gru")(x)
    return lib.Model(inp, L.Dense(2, name="dense")(x))


def test_keras1_layouts_load_as_tf_keras_converts_them(tmp_path):
    rng = np.random.default_rng(3)

    def r(*shape):
        return rng.standard_normal(shape).astype("float32")

    layers = {
        "input": [],
        "conv": [r(3, 1, 3, 4), r(4)],  # Keras 1 Convolution1D: (k, 1, in, out)
        "lstm": [a for _ in range(4) for a in (r(4, 3), r(3, 3), r(3))],  # i, c, f, o
        "gru": [a for _ in range(3) for a in (r(3, 2), r(2, 2), r(2))],  # z, r, h
        "dense": [r(2, 2), r(2)],
    }
    path = str(tmp_path / "keras1.h5")
    _keras1_file(path, layers)
    theirs = _keras1_model(tf_keras())
    theirs.load_weights(path)
    numkeras.backend.clear_session()
    ours = _keras1_model(numkeras)
    ours.load_weights(path)
    assert_same_weights(ours.get_weights(), theirs.get_weights())
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    assert_close_outputs(ours.predict(x), theirs.predict(x, verbose=0))
