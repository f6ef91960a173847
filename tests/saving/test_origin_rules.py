"""File-origin rules (saving/dialects.py): the two hard_sigmoids, renamed and refused
arguments. What Keras 3 accepts is checked against Keras 3 itself in
tests/interop/test_keras3_layer_configs_interop.py; these run without TF."""

import numpy as np
import pytest

from numkeras import Input, Model, backend, layers
from numkeras.saving import dialects, serialization


@pytest.fixture(autouse=True)
def _fresh():
    backend.clear_session()


def test_keras3_configs_hard_sigmoid_is_keras3s_formula():
    x = Input((3,))
    model = Model(x, layers.Dense(2, activation="keras3_hard_sigmoid")(x))
    config = serialization.serialize_model(model, serialization.KERAS3)
    assert config["config"]["layers"][1]["config"]["activation"] == "hard_sigmoid"
    backend.clear_session()
    clone = serialization.deserialize_model(config)  # a Keras 3 config: read as Keras 3's
    assert clone.layers[1].get_config()["activation"] == "keras3_hard_sigmoid"
    clone.layers[1].set_weights([np.eye(3, 2, dtype=np.float32), np.zeros(2, np.float32)])
    out = clone(np.array([[-3.0, 1.5, 0.0]], np.float32))
    np.testing.assert_allclose(out, [[0.0, 4.5 / 6]], rtol=1e-6)  # relu6(x + 3) / 6


def test_tf_keras_configs_hard_sigmoid_stays_tf_keras_formula():
    x = Input((3,))
    model = Model(x, layers.Dense(2, activation="hard_sigmoid")(x))
    config = serialization.serialize_model(model, serialization.TF_KERAS)
    assert dialects.config_style(config) == serialization.TF_KERAS
    backend.clear_session()
    clone = serialization.deserialize_model(config)
    assert clone.layers[1].get_config()["activation"] == "hard_sigmoid"
    with pytest.raises(ValueError, match="relu6"):
        serialization.serialize_model(clone, serialization.KERAS3)


def test_keras3_only_activations_are_refused_in_tf_keras_style():
    for name in ("keras3_hard_sigmoid", "hard_silu", "celu"):
        with pytest.raises(ValueError, match="tf-keras"):
            serialization.layer_spec(layers.Dense(2, activation=name), serialization.TF_KERAS)


def test_keras3_writer_renames_and_drops_what_keras3_refuses():
    spec = serialization.layer_spec(layers.LeakyReLU(0.2), serialization.KERAS3)
    assert spec["config"]["negative_slope"] == pytest.approx(0.2) and "alpha" not in spec["config"]
    assert "groups" not in serialization.layer_spec(layers.Conv2DTranspose(2, 3),
                                                    serialization.KERAS3)["config"]
    drop = serialization.layer_spec(layers.SpatialDropout2D(0.1), serialization.KERAS3)["config"]
    assert "trainable" not in drop and "noise_shape" not in drop
    with pytest.raises(ValueError, match="Keras 3 has no LocallyConnected2D"):
        serialization.layer_spec(layers.LocallyConnected2D(2, 3), serialization.KERAS3)
