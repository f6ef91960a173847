"""Applications whose functional code calls TF functions / Keras 3 ops on Keras tensors.

tf-keras's MobileNetV3 builds its hard sigmoid as ``ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`` (two
TF-op layers per block) and names layers ``Conv/BatchNorm``; Keras 3's records the same
arithmetic as ``Add``/``Multiply`` operation nodes and uses the ``hard_silu`` activation.
Both load in numkeras with their library's outputs; tf-keras's converts to a Keras 3 file
that Keras 3 loads with the same outputs (``/`` in layer names becomes ``_``); Keras 3's is
refused in tf-keras style (tf-keras has no ``hard_silu``), with an error saying so.
"""

import numpy as np
import pytest
from tf_side import assert_close_outputs, assert_same_weights, keras3, random_weights, tf_keras

import numkeras as nk

X = np.random.default_rng(6).uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)


def _out(model):
    return np.asarray(model(X, training=False))


def test_tf_keras_mobilenet_v3_converts_to_keras3(tmp_path):
    k = tf_keras()
    model = k.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3))
    model.set_weights(random_weights(model, seed=3))
    expected = _out(model)
    assert any(type(la).__name__ == "TFOpLambda" for la in model.layers)
    model.save(str(tmp_path / "tfk.h5"))
    nk.backend.clear_session()
    ours = nk.models.load_model(str(tmp_path / "tfk.h5"))
    assert_close_outputs(ours.predict(X), expected, rtol=1e-4)
    ours.save(str(tmp_path / "k3.keras"))
    theirs = keras3().models.load_model(str(tmp_path / "k3.keras"))
    assert "Conv_BatchNorm" in [la.name for la in theirs.layers]
    assert_same_weights([np.asarray(w) for w in theirs.get_weights()], model.get_weights())
    assert_close_outputs(_out(theirs), expected, rtol=1e-4)


def test_keras3_mobilenet_v3_loads_and_is_refused_in_tf_keras_style(tmp_path):
    k3 = keras3()
    model = k3.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3))
    model.set_weights(random_weights(model, seed=4))
    expected = _out(model)
    model.save(str(tmp_path / "k3.keras"))
    nk.backend.clear_session()
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    assert {"Add", "Multiply"} <= {getattr(la, "operation", None) for la in ours.layers}
    assert_close_outputs(ours.predict(X), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="hard_silu"):
        ours.save(str(tmp_path / "tfk.h5"))
    assert not (tmp_path / "tfk.h5").exists()
