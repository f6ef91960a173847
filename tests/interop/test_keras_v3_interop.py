"""Keras v3 formats against real tf-keras 2.21 and Keras 3: .keras, .weights.h5, .weights.json.

The same architecture is built in numkeras, tf-keras and Keras 3 (every layer named, so the
layers pair up by name); weights are random and distinct. Expected values always come from
the TensorFlow side.
"""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, assert_same_weights, keras3, random_weights, tf_keras

import numkeras
from numkeras.models import load_model


def build_functional(k):
    """Dense/BatchNormalization/Dropout/Embedding/LayerNormalization/Concatenate/Add with a
    nested Sequential, in any Keras-like module ``k`` (numkeras, tf_keras, keras)."""
    L = k.layers
    inner = k.Sequential([k.Input((4,), name="inner_in"), L.Dense(4, activation="relu",
                                                                   name="inner_dense"),
                          L.Dropout(0.3, name="inner_drop")], name="inner")
    x = k.Input((3,), name="x")
    ids = k.Input((5,), dtype="int32", name="ids")
    h = L.Dense(4, name="d1")(x)
    h = L.BatchNormalization(name="bn")(h)
    e = L.Flatten(name="flat")(L.Embedding(10, 2, name="emb")(ids))
    c = L.Concatenate(name="cat")([inner(h), e])
    c = L.LayerNormalization(name="ln")(c)
    o = L.Dense(4, name="d2")(L.Dropout(0.5, name="drop")(c))
    return k.Model([x, ids], L.Add(name="add")([o, h]), name="net")


def build_sequential(k):
    L = k.layers
    return k.Sequential([k.Input((6,), name="in"), L.Dense(5, activation="tanh", name="a"),
                         L.BatchNormalization(name="bn"), L.Dense(3, name="b")], name="seq")


def inputs_for(model_kind: str):
    rng = np.random.default_rng(7)
    if model_kind == "functional":
        return [rng.normal(size=(6, 3)).astype("float32"),
                rng.integers(0, 10, (6, 5)).astype("int32")]
    return rng.normal(size=(6, 6)).astype("float32")


BUILDERS = {"functional": build_functional, "sequential": build_sequential}


def theirs_with_random_weights(k, kind: str, seed: int = 1):
    model = BUILDERS[kind](k)
    model.set_weights(random_weights(model, seed))
    return model


def by_layer(model) -> dict:
    """``{layer name: get_weights()}`` over all layers, nested ones included."""
    out = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):
            out.update(by_layer(layer))
        else:
            out[layer.name] = layer.get_weights()
    return out


def assert_same_layer_weights(ours, theirs) -> None:
    a, b = by_layer(ours), by_layer(theirs)
    assert sorted(k for k in a if a[k]) == sorted(k for k in b if b[k])
    for name in a:
        if a[name]:
            assert_same_weights(a[name], b[name])


def ours_fresh(kind: str):
    numkeras.backend.clear_session()
    return BUILDERS[kind](numkeras)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_tf_keras_keras_file_loads_with_identical_weights_and_outputs(tmp_path, kind):
    tfk = tf_keras()
    theirs = theirs_with_random_weights(tfk, kind)
    path = str(tmp_path / "m.keras")
    theirs.save(path)
    ours = ours_fresh(kind)
    ours.load_weights(path)
    assert_same_layer_weights(ours, theirs)
    loaded = load_model(path)
    assert_same_layer_weights(loaded, theirs)
    x = inputs_for(kind)
    assert_close_outputs(loaded.predict(x), theirs.predict(x, verbose=0))


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_keras3_files_load_with_identical_weights(tmp_path, kind):
    k3 = keras3()
    theirs = theirs_with_random_weights(k3, kind)
    keras_path, h5_path = str(tmp_path / "m.keras"), str(tmp_path / "m.weights.h5")
    json_path = str(tmp_path / "s.weights.json")
    theirs.save(keras_path)
    theirs.save_weights(h5_path)
    shard_bytes = {"functional": 300, "sequential": 128}[kind]  # > the largest variable
    theirs.save_weights(json_path, max_shard_size=shard_bytes / 1024 ** 3)
    assert len(list(tmp_path.glob("s_*.weights.h5"))) > 1
    for path in (keras_path, h5_path, json_path):
        ours = ours_fresh(kind)
        ours.load_weights(path)
        assert_same_layer_weights(ours, theirs)
    loaded = load_model(keras_path)
    assert_same_layer_weights(loaded, theirs)
    x = inputs_for(kind)
    assert_close_outputs(loaded.predict(x), theirs.predict(x, verbose=0))


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_numkeras_weights_h5_loads_in_keras3_and_tf_keras(tmp_path, kind):
    ours = ours_fresh(kind)
    ours.set_weights(random_weights(ours, 3))
    path = str(tmp_path / "ours.weights.h5")
    ours.save_weights(path)
    for k in (keras3(), tf_keras()):
        theirs = BUILDERS[kind](k)
        theirs.load_weights(path)
        assert_same_layer_weights(ours, theirs)


def test_numkeras_sharded_weights_load_in_keras3(tmp_path):
    ours = ours_fresh("functional")
    ours.set_weights(random_weights(ours, 4))
    path = str(tmp_path / "ours.weights.json")
    ours.save_weights(path, max_shard_size=300 / 1024 ** 3)
    assert len(list(tmp_path.glob("ours_*.weights.h5"))) > 1
    theirs = BUILDERS["functional"](keras3())
    theirs.load_weights(path)
    assert_same_layer_weights(ours, theirs)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_numkeras_keras_file_loads_in_keras3_and_predicts_the_same(tmp_path, kind):
    ours = ours_fresh(kind)
    ours.set_weights(random_weights(ours, 5))
    path = str(tmp_path / "ours.keras")
    ours.save(path)
    theirs = keras3().models.load_model(path)
    assert_same_layer_weights(ours, theirs)
    x = inputs_for(kind)
    expected = theirs.predict(x, verbose=0)
    assert_close_outputs(ours.predict(x), expected)
    numkeras.backend.clear_session()
    assert_close_outputs(load_model(path).predict(x), expected)


def test_numkeras_tf_keras_style_keras_file_loads_in_tf_keras(tmp_path):
    from numkeras.saving.keras_v3 import save_model

    ours = ours_fresh("functional")
    ours.set_weights(random_weights(ours, 6))
    path = str(tmp_path / "ours.keras")
    save_model(ours, path, style="tf_keras")
    theirs = tf_keras().models.load_model(path)
    assert_same_layer_weights(ours, theirs)
    x = inputs_for("functional")
    assert_close_outputs(ours.predict(x), theirs.predict(x, verbose=0))


def test_tf_keras_full_model_h5_loads_with_load_model(tmp_path):
    tfk = tf_keras()
    theirs = theirs_with_random_weights(tfk, "functional")
    path = str(tmp_path / "m.h5")
    theirs.save(path)
    loaded = load_model(path)
    assert_same_layer_weights(loaded, theirs)
    x = inputs_for("functional")
    assert_close_outputs(loaded.predict(x), theirs.predict(x, verbose=0))


def test_compiled_keras3_file_with_optimizer_state_still_loads(tmp_path):
    k3 = keras3()
    theirs = theirs_with_random_weights(k3, "sequential")
    theirs.compile(optimizer="adam", loss="mse")
    x = inputs_for("sequential")
    theirs.fit(x, np.zeros((6, 3), "float32"), epochs=1, verbose=0)
    path = str(tmp_path / "trained.keras")
    theirs.save(path)
    ours = ours_fresh("sequential")
    ours.load_weights(path)
    assert_same_layer_weights(ours, theirs)
    assert_close_outputs(load_model(path).predict(x), theirs.predict(x, verbose=0))


def build_recurrent(k):
    """Conv1D, LSTM, Bidirectional(GRU), TimeDistributed(Dense), MultiHeadAttention."""
    L = k.layers
    x = k.Input((6, 4), name="x")
    h = L.Conv1D(5, 3, padding="same", name="conv")(x)
    h = L.LSTM(3, return_sequences=True, name="lstm")(h)
    h = L.Bidirectional(L.GRU(2, return_sequences=True, name="gru"), name="bi")(h)
    h = L.TimeDistributed(L.Dense(3, name="td_d"), name="td")(h)
    h = L.MultiHeadAttention(2, 3, name="mha")(h, h)
    h = L.GlobalAveragePooling1D(name="gap")(h)
    return k.Model(x, L.Dense(2, name="out")(h), name="rnnnet")


def build_conv(k):
    L = k.layers
    x = k.Input((8, 8, 3), name="img")
    h = L.Conv2D(4, 3, activation="relu", name="c1")(x)
    h = L.BatchNormalization(name="bn")(h)
    h = L.MaxPooling2D(name="mp")(h)
    h = L.SeparableConv2D(5, 2, name="sep")(h)
    h = L.DepthwiseConv2D(2, name="dw")(h)
    return k.Model(x, L.Dense(2, name="o")(L.Flatten(name="fl")(h)), name="imgnet")


LATE = {"recurrent": (build_recurrent, (2, 6, 4)), "conv": (build_conv, (2, 8, 8, 3))}


@pytest.mark.parametrize("kind", sorted(LATE))
@pytest.mark.parametrize("side", ["tf_keras", "keras3"])
def test_conv_and_recurrent_models_both_ways(tmp_path, kind, side):
    build, shape = LATE[kind]
    k = tf_keras() if side == "tf_keras" else keras3()
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    theirs = build(k)
    theirs.set_weights(random_weights(theirs, 1))
    expected = theirs.predict(x, verbose=0)
    theirs.save(str(tmp_path / "t.keras"))
    theirs.save_weights(str(tmp_path / "t.weights.h5"))
    for name in ("t.keras", "t.weights.h5"):
        numkeras.backend.clear_session()
        ours = build(numkeras)
        ours.load_weights(str(tmp_path / name))
        assert_close_outputs(ours.predict(x), expected)
    numkeras.backend.clear_session()
    assert_close_outputs(load_model(str(tmp_path / "t.keras")).predict(x), expected)
    # and back: numkeras-written files in their library
    ours.set_weights(random_weights(ours, 2))
    ours.save_weights(str(tmp_path / "o.weights.h5"))
    mine = ours.predict(x)
    again = build(k)
    again.load_weights(str(tmp_path / "o.weights.h5"))
    assert_close_outputs(again.predict(x, verbose=0), mine)
    if side == "keras3":
        ours.save(str(tmp_path / "o.keras"))
        assert_close_outputs(k.models.load_model(str(tmp_path / "o.keras")).predict(
            x, verbose=0), mine)


@pytest.mark.parametrize("kind", ["functional", "sequential", "recurrent", "conv"])
def test_tf_keras_savedmodel_directory_loads_with_load_model(tmp_path, kind):
    # the model is rebuilt from keras_metadata.pb (tuples encoded as {"class_name":
    # "__tuple__"}) and the weights read from variables/; the optimizer's values are ignored
    tfk = tf_keras()
    if kind == "sequential":  # build_sequential's Input "in" is a keyword TF cannot export
        L = tfk.layers
        theirs = tfk.Sequential([L.Dense(5, activation="tanh", input_shape=(6,)),
                                 L.BatchNormalization(), L.Dense(3)])
        theirs.set_weights(random_weights(theirs, 1))
        x = inputs_for(kind)
    elif kind in LATE:
        build, shape = LATE[kind]
        theirs = build(tfk)
        theirs.set_weights(random_weights(theirs, 1))
        x = np.random.default_rng(3).normal(size=shape).astype("float32")
    else:
        theirs = theirs_with_random_weights(tfk, kind)
        x = inputs_for(kind)
    theirs.compile(optimizer="adam", loss="mse")
    path = str(tmp_path / "sm")
    theirs.save(path, save_format="tf")
    numkeras.backend.clear_session()
    loaded = load_model(path)
    assert loaded.name == theirs.name
    assert [la.name for la in loaded.layers] == [la.name for la in theirs.layers]
    assert_same_weights(loaded.get_weights(), theirs.get_weights())
    assert_close_outputs(loaded.predict(x), theirs.predict(x, verbose=0))


def _scale_layer(k):
    @k.utils.register_keras_serializable(package="Interop")
    class Scale(k.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return Scale


@pytest.mark.parametrize("side", ["tf_keras", "keras3"])
def test_registered_custom_layers_load_both_ways_without_custom_objects(tmp_path, side):
    k = tf_keras() if side == "tf_keras" else keras3()
    x = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    theirs = k.Sequential([k.Input((2,)), _scale_layer(k)(3.0), k.layers.Dense(2)])
    theirs.set_weights(random_weights(theirs, 1))
    theirs.save(str(tmp_path / "t.keras"))
    ours_cls = _scale_layer(numkeras)
    loaded = load_model(str(tmp_path / "t.keras"))
    assert isinstance(loaded.layers[0], ours_cls)
    assert_close_outputs(loaded.predict(x), theirs.predict(x, verbose=0))
    if side == "keras3":  # and back: numkeras writes "Interop>Scale", Keras 3 finds its class
        loaded.save(str(tmp_path / "o.keras"))
        again = k.models.load_model(str(tmp_path / "o.keras"))
        assert_close_outputs(again.predict(x, verbose=0), theirs.predict(x, verbose=0))


def test_to_categorical_matches_tf_keras():
    tfk = tf_keras()
    for y, n in (([0, 2, 1], None), ([[1], [3]], 5), (np.arange(6).reshape(2, 3) % 4, None)):
        assert_same_weights([numkeras.utils.to_categorical(y, n)],
                            [tfk.utils.to_categorical(y, n)])
