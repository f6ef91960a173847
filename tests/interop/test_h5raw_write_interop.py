"""Files of numkeras's own HDF5 encoder (``numkeras/saving/h5raw_write.py``) read by real
tf-keras 2.21 and Keras 3: many layers (groups of hundreds of children, several B-tree
levels), float16/float64 weights, and the ``.keras`` archive's weights member.

Expected values come from the TensorFlow side: its model, loaded from our file, must hold
exactly our weights and compute our outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, assert_same_weights, keras3, random_weights, tf_keras

import numkeras as nk

LAYERS = 260  # the root group and ``layers`` get 260+ children: two B-tree levels


def many(k, dtype="float32"):
    inp = k.Input((3,), dtype=dtype)
    outs = [k.layers.Dense(2, name=f"dense_{i:03d}", dtype=dtype)(inp) for i in range(LAYERS)]
    return k.Model(inp, k.layers.Concatenate(name="join", dtype=dtype)(outs))


def _x(dtype="float32"):
    return np.random.default_rng(0).normal(size=(2, 3)).astype(dtype)


def _ours(dtype="float32", seed=1):
    nk.backend.clear_session()
    model = many(nk, dtype)
    model.set_weights([w.astype(dtype) for w in random_weights(model, seed)])
    return model


@pytest.mark.filterwarnings("ignore:Layer .* only float32 is exported")
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_tf_keras_loads_our_h5_of_many_layers(tmp_path, dtype):
    ours = _ours(dtype)
    path = str(tmp_path / "ours.h5")
    ours.save_weights(path)
    theirs = many(tf_keras(), dtype)
    theirs.load_weights(path)
    assert_same_weights(theirs.get_weights(), ours.get_weights())
    rtol = 1e-2 if dtype == "float16" else 1e-5
    assert_close_outputs(ours.predict(_x(dtype)), theirs(_x(dtype)).numpy(), rtol=rtol)


@pytest.mark.parametrize("side", ["keras3", "tf_keras"])
def test_keras_loads_our_weights_h5_of_many_layers(tmp_path, side):
    ours = _ours(seed=2)
    path = str(tmp_path / "ours.weights.h5")
    ours.save_weights(path)
    theirs = many(keras3() if side == "keras3" else tf_keras())
    theirs.load_weights(path)
    assert_same_weights(theirs.get_weights(), ours.get_weights())
    assert_close_outputs(ours.predict(_x()), np.asarray(theirs(_x())))


def test_keras3_loads_our_keras_archive_of_many_layers(tmp_path):
    ours = _ours(seed=3)
    path = str(tmp_path / "ours.keras")
    ours.save(path)
    theirs = keras3().models.load_model(path)
    assert_same_weights(theirs.get_weights(), ours.get_weights())
    assert_close_outputs(ours.predict(_x()), np.asarray(theirs(_x())))


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
def test_tf_keras_loads_our_full_model_h5_of_many_layers(tmp_path):
    ours = _ours(seed=4)
    path = str(tmp_path / "ours.h5")
    ours.save(path)
    theirs = tf_keras().models.load_model(path)
    assert_same_weights(theirs.get_weights(), ours.get_weights())
    assert_close_outputs(ours.predict(_x()), theirs(_x()).numpy())
