"""``numkeras.regularizers`` and ``numkeras.constraints``: the tf.keras spellings exist, compute
what their formulas say and round-trip through configs (values checked against tf-keras in
``tests/interop/test_regularizers_interop.py``)."""

import numpy as np
import pytest

import numkeras as keras
from numkeras import constraints, regularizers


def test_tutorial_spellings_build_layers_and_models(tmp_path):
    model = keras.Sequential([
        keras.layers.Dense(4, input_shape=(3,), kernel_regularizer=keras.regularizers.l2(1e-4),
                           kernel_constraint=keras.constraints.max_norm(3)),
        keras.layers.Dense(2, activity_regularizer=keras.regularizers.L1(0.01)),
    ])
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    config = loaded.layers[0].get_config()
    # tf-keras keeps factors as float32: l2(1e-4) has the config {"l2": 9.99999974e-05}
    assert regularizers.get(config["kernel_regularizer"]).get_config() == {
        "l2": float(np.float32(1e-4))}
    assert constraints.get(config["kernel_constraint"]).get_config() == {
        "max_value": 3, "axis": 0}


def test_penalties_and_projections():
    w = np.array([[3.0, -4.0], [0.0, 0.0]], "float32")
    assert float(regularizers.L1(0.5)(w)) == 3.5
    assert float(regularizers.L2(0.5)(w)) == 12.5
    hundredth = float(np.float32(0.01))
    assert regularizers.get("l1_l2").get_config() == {"l1": hundredth, "l2": hundredth}
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    np.testing.assert_allclose(constraints.MaxNorm(2.5, axis=1)(w), [[1.5, -2.0], [0.0, 0.0]],
                               rtol=1e-6)
    np.testing.assert_array_equal(constraints.NonNeg()(w), [[3.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="not a valid regularization penalty"):
        regularizers.L2(float("nan"))
    with pytest.raises(ValueError, match="Unknown regularizer"):
        regularizers.get("l3")
