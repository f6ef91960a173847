"""Activations by file origin: tf-keras's and Keras 3's functions of the same name.

Every activation name tf-keras 2.21 knows computes tf-keras's formula; every Keras 3 name
computes Keras 3's (``hard_sigmoid`` differs between the two and is kept apart).
"""

import numpy as np
import pytest
from tf_side import (
    assert_close_outputs,
    keras3,
    outputs_then_save,
    random_weights,
    tensorflow,
    tf_keras,
    tf_outputs,
)

import numkeras as nk
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


def _hs_model(k):
    x = k.Input((5, 4))
    y = k.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True)(x)
    return k.Model(x, k.layers.Dense(2, activation="hard_sigmoid")(y))


def test_keras3_files_hard_sigmoid_computes_keras3s_formula_both_ways(tmp_path):
    k3 = keras3()
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32) * 3
    expected = outputs_then_save(_hs_model(k3), x, str(tmp_path / "k3.keras"))
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    assert_close_outputs(ours.predict(x), expected)
    ours.save(str(tmp_path / "again.keras"))  # written back as Keras 3's "hard_sigmoid"
    again = k3.models.load_model(str(tmp_path / "again.keras"))
    assert_close_outputs(tf_outputs(again, x), expected)
    with pytest.raises(ValueError, match="tf-keras"):  # tf-keras has no such formula
        ours.save(str(tmp_path / "m.h5"))


def test_tf_keras_hard_sigmoid_loads_and_refuses_keras3_style(tmp_path):
    k = tf_keras()
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32) * 3
    expected = outputs_then_save(_hs_model(k), x, str(tmp_path / "tfk.h5"))
    ours = nk.models.load_model(str(tmp_path / "tfk.h5"))
    assert_close_outputs(ours.predict(x), expected)
    with pytest.raises(ValueError, match="relu6"):
        ours.save(str(tmp_path / "m.keras"))
    assert not (tmp_path / "m.keras").exists()


def _keras3_activation_names(k3) -> list:
    """Every activation Keras 3 resolves by name alone (``threshold`` needs arguments)."""
    names = [n for n in dir(k3.activations) if not n.startswith("_") and
             n not in ("get", "serialize", "deserialize", "threshold")]
    return sorted(n for n in names if callable(getattr(k3.activations, n)))


def test_only_hard_sigmoid_means_two_formulas():
    """The origin rules switch only hard_sigmoid: every other name both libraries resolve
    computes the same function in both (checked on TF's and Keras 3's own code)."""
    k, k3, tf = tf_keras(), keras3(), tensorflow()
    shared = sorted(set(activations.TF_KERAS_NAMES) & set(_keras3_activation_names(k3)))
    assert len(shared) >= 17
    differ = []
    for name in shared:
        a = np.asarray(k.activations.get(name)(tf.constant(X)))
        b = np.asarray(k3.activations.get(name)(X))
        if np.abs(a - b).max() > 1e-6:
            differ.append(name)
    assert differ == ["hard_sigmoid"]


def test_every_keras3_activation_name_is_known():
    known = set(activations.TF_KERAS_NAMES) | set(activations.KERAS3_ONLY)
    assert not set(_keras3_activation_names(keras3())) - known


def test_every_activation_converts_exactly_or_is_refused(tmp_path):
    """tf-keras names written in Keras 3 style compute the same in Keras 3 (hard_sigmoid is
    refused); Keras 3 names written in tf-keras style compute the same in tf-keras (Keras
    3-only names and Keras 3's hard_sigmoid are refused)."""
    x_in = np.linspace(-4, 4, 48, dtype=np.float32).reshape(2, 24)

    def dense_model(k, names):
        x = k.Input((24,), name="x")
        return k.Model(x, [k.layers.Dense(4, activation=n, name=f"d_{n}")(x) for n in names])

    tf_names = [n for n in activations.TF_KERAS_NAMES if n != "hard_sigmoid"]
    nk.backend.clear_session()
    ours = dense_model(nk, tf_names)
    ours.set_weights(random_weights(ours))
    ours.save(str(tmp_path / "nk.keras"))
    theirs = keras3().models.load_model(str(tmp_path / "nk.keras"))
    for a, b in zip(tf_outputs(theirs, x_in), ours.predict(x_in)):
        assert_close_outputs(a, b)

    k3 = keras3()
    k3_names = _keras3_activation_names(k3)
    model = dense_model(k3, k3_names)
    model.set_weights(random_weights(model))
    model.save(str(tmp_path / "k3.keras"))
    expected = tf_outputs(model, x_in)
    nk.backend.clear_session()
    loaded = nk.models.load_model(str(tmp_path / "k3.keras"))
    for a, b in zip(loaded.predict(x_in), expected):
        assert_close_outputs(a, b)
    from numkeras.saving import serialization

    convertible = []
    for layer in loaded.layers[1:]:
        name = layer.name[2:]
        try:
            serialization.layer_spec(layer, serialization.TF_KERAS)
        except ValueError:
            assert name == "hard_sigmoid" or name not in activations.TF_KERAS_NAMES, name
            continue
        assert name in activations.TF_KERAS_NAMES and name != "hard_sigmoid", name
        convertible.append(name)
    keep = [la.output for la in loaded.layers[1:] if la.name[2:] in convertible]
    part = nk.Model(loaded.inputs, keep)
    part.save(str(tmp_path / "tfk.h5"))
    again = tf_keras().models.load_model(str(tmp_path / "tfk.h5"))
    wanted = [e for n, e in zip(k3_names, expected) if n in convertible]
    assert len(wanted) == len(convertible) >= 17
    for a, b in zip(tf_outputs(again, x_in), wanted):
        assert_close_outputs(a, b)
