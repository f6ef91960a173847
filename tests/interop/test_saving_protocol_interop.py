"""Custom ``save_own_variables``/``load_own_variables`` against real Keras 3.

Keras 3 lets a layer decide what its ``vars`` group holds by overriding the two hooks; the
Keras 3 layout of numkeras uses the same hooks, so a custom layer written the same way on both
sides exchanges ``.weights.h5`` files. Expected values come from the Keras 3 side.
"""

from __future__ import annotations

import numpy as np
from tf_side import assert_same_weights, keras3

import numkeras


def _transposed_class(base):
    """A layer (on ``base``, a Layer class) storing its kernel transposed as ``kernel_t``."""

    class Transposed(base):
        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 2))
            self.built = True

        def call(self, x):
            return x @ self.kernel

        def save_own_variables(self, store):
            store["kernel_t"] = np.asarray(self.kernel.numpy()).T

        def load_own_variables(self, store):
            self.kernel.assign(np.asarray(store["kernel_t"]).T)

    return Transposed


def _keras3_model():
    k3 = keras3()
    model = k3.Sequential([k3.Input((4,)), k3.layers.Dense(3),
                           _transposed_class(k3.layers.Layer)()])
    rng = np.random.default_rng(7)
    for v in model.weights:
        v.assign(rng.standard_normal(tuple(v.shape)).astype("float32"))
    return model


def _our_model():
    numkeras.backend.clear_session()
    model = numkeras.Sequential([numkeras.layers.Dense(3, input_shape=(4,)),
                                 _transposed_class(numkeras.layers.Layer)()])
    model(np.zeros((1, 4), "float32"))
    return model


def test_keras3_custom_hook_file_loads_into_our_custom_layer(tmp_path):
    theirs = _keras3_model()
    path = str(tmp_path / "k3.weights.h5")
    theirs.save_weights(path)
    ours = _our_model()
    ours.load_weights(path)
    assert_same_weights(ours.get_weights(), [np.asarray(w) for w in theirs.get_weights()])
    x = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_our_custom_hook_file_loads_into_keras3_custom_layer(tmp_path):
    ours = _our_model()
    rng = np.random.default_rng(3)
    for v in ours.weights:
        v.assign(rng.standard_normal(v.shape).astype("float32"))
    path = str(tmp_path / "ours.weights.h5")
    ours.save_weights(path)
    theirs = _keras3_model()
    theirs.load_weights(path)
    assert_same_weights([np.asarray(w) for w in theirs.get_weights()], ours.get_weights())
