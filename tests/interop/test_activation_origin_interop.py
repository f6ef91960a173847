"""Activations by file origin: tf-keras's and Keras 3's functions of the same name.

Every activation name tf-keras 2.21 knows computes tf-keras's formula; every Keras 3 name
computes Keras 3's (``hard_sigmoid`` differs between the two and is kept apart).
"""

import numpy as np
import pytest
from tf_side import keras3, tensorflow, tf_keras

from numkeras import activations

X = np.linspace(-5, 5, 40, dtype=np.float32).reshape(1, 40)


@pytest.mark.parametrize("name", activations.TF_KERAS_NAMES)
def test_tf_keras_activation_names_compute_tf_keras_formulas(name):
    k = tf_keras()
    expected = np.asarray(k.activations.get(name)(tensorflow().constant(X)))
    ours = np.asarray(activations.get(name)(X))
    assert ours.dtype == expected.dtype
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)


K3_NAMES = sorted(set(activations.KERAS3_ONLY) - {"keras3_hard_sigmoid"}) + ["hard_sigmoid"]


@pytest.mark.parametrize("name", K3_NAMES)
def test_keras3_activation_names_compute_keras3_formulas(name):
    k3 = keras3()
    expected = np.asarray(k3.activations.get(name)(X))
    ours_name = "keras3_hard_sigmoid" if name == "hard_sigmoid" else name
    ours = np.asarray(activations.get(ours_name)(X))
    assert ours.dtype == expected.dtype
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)


def test_the_two_hard_sigmoids_really_differ():
    k, k3 = tf_keras(), keras3()
    a = np.asarray(k.activations.hard_sigmoid(tensorflow().constant(X)))
    b = np.asarray(k3.activations.hard_sigmoid(X))
    assert np.abs(a - b).max() > 0.05
