"""``numkeras.utils``: seeding, one-hot labels and the custom-object registry."""

import numpy as np
import pytest

import numkeras as keras


def _model():
    keras.backend.clear_session()
    return keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), keras.layers.Dropout(0.5),
                             keras.layers.Embedding(10, 2)])


def test_set_random_seed_makes_unseeded_initializers_and_dropout_reproducible():
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(42)
        model = _model()
        drop = model.layers[1](np.ones((2, 8), "float32"), training=True)
        runs.append([*model.get_weights(), drop])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    keras.utils.set_random_seed(43)
    assert not np.array_equal(_model().get_weights()[0], runs[0][0])
    keras.backend.set_global_seed(None)
    with pytest.raises(ValueError, match="integer"):
        keras.utils.set_random_seed(1.5)


def test_to_categorical_and_normalize():
    np.testing.assert_array_equal(keras.utils.to_categorical([[1], [0]]),
                                  [[0.0, 1.0], [1.0, 0.0]])
    assert keras.utils.to_categorical(np.zeros((2, 3), int), 4).shape == (2, 3, 4)
    np.testing.assert_allclose(keras.utils.normalize([[3.0, 4.0], [0.0, 0.0]]),
                               [[0.6, 0.8], [0.0, 0.0]])


def test_registered_custom_layer_loads_without_custom_objects(tmp_path):
    @keras.utils.register_keras_serializable(package="MyPkg")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    assert keras.utils.get_custom_objects()["MyPkg>Scale"] is Scale
    assert keras.utils.get_registered_name(Scale) == "MyPkg>Scale"
    model = keras.Sequential([keras.Input((2,)), Scale(3.0), keras.layers.Dense(1)])
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    assert isinstance(loaded.layers[0], Scale) and loaded.layers[0].factor == 3.0
    del keras.utils.get_custom_objects()["MyPkg>Scale"]
    with keras.utils.custom_object_scope({"Scale": Scale}):
        assert isinstance(keras.models.load_model(str(tmp_path / "m.keras")).layers[0], Scale)
    assert "Scale" not in keras.utils.get_custom_objects()
