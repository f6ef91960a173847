"""Initializers: same names, configs and values (deterministic) or distributions (random)."""

import numpy as np
import pytest
from tf_side import tf_keras

from numkeras import initializers

RANDOM = ["RandomNormal", "RandomUniform", "TruncatedNormal", "GlorotUniform", "GlorotNormal",
          "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "VarianceScaling",
          "Orthogonal"]
DETERMINISTIC = {"Zeros": {}, "Ones": {}, "Constant": {"value": 3.5}, "Identity": {"gain": 2.0}}


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_deterministic_initializers_equal_tf_keras(name):
    tfk = tf_keras()
    kwargs = DETERMINISTIC[name]
    ours = getattr(initializers, name)(**kwargs)
    theirs = getattr(tfk.initializers, name)(**kwargs)
    np.testing.assert_array_equal(ours((4, 4), dtype="float32"),
                                  theirs((4, 4), dtype="float32").numpy())
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("name", RANDOM)
def test_random_initializers_match_tf_keras_config_and_distribution(name):
    tfk = tf_keras()
    ours = getattr(initializers, name)(seed=3)
    theirs = getattr(tfk.initializers, name)(seed=3)
    assert ours.get_config() == theirs.get_config()
    shape = (64, 32, 3, 3) if name != "Orthogonal" else (96, 64)
    a = ours(shape, dtype="float32")
    b = theirs(shape, dtype="float32").numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(a.std(), b.std(), rtol=0.05)
    np.testing.assert_allclose(a.mean(), b.mean(), atol=0.05 * b.std() + 1e-3)
    np.testing.assert_allclose(np.abs(a).max(), np.abs(b).max(), rtol=0.35)


@pytest.mark.parametrize("identifier", ["glorot_uniform", "he_normal", "zeros", "ones",
                                        "orthogonal", "lecun_uniform", "truncated_normal"])
def test_string_identifiers_resolve_to_the_same_class(identifier):
    tfk = tf_keras()
    assert type(initializers.get(identifier)).__name__ == type(
        tfk.initializers.get(identifier)).__name__
    assert initializers.serialize(initializers.get(identifier))["class_name"] == \
        tfk.initializers.serialize(tfk.initializers.get(identifier))["class_name"]
