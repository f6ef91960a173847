"""Weight names, order and trainable lists equal tf-keras 2.21 for every kind of model."""

import numpy as np
import pytest
from tf_side import assert_close_outputs, random_weights, tf_keras

import numkeras as nk


def _names(weights):
    return [w.name for w in weights]


def _build_sequential(k):
    return k.Sequential([
        k.layers.Dense(4, activation="relu", input_shape=(3,)),
        k.layers.BatchNormalization(),
        k.layers.Dropout(0.5),
        k.layers.Dense(2),
    ])


def _build_functional(k):
    inp = k.Input((6,))
    a = k.layers.Dense(5)(inp)
    b = k.layers.Dense(5)(inp)
    x = k.layers.Add()([a, b])
    x = k.layers.BatchNormalization()(x)
    y = k.layers.Concatenate()([x, a])
    inner = k.Sequential([k.layers.Dense(3), k.layers.BatchNormalization(), k.layers.Dense(2)])
    out = inner(y)
    return k.Model(inp, [out, x])


def _build_multi_io(k):
    i1, i2 = k.Input((3,), name="left"), k.Input((4,), name="right")
    shared = k.layers.Dense(2, name="shared")
    x = k.layers.Concatenate()([shared(i1), k.layers.Dense(2)(i2)])
    x = k.layers.LayerNormalization()(x)
    e_in = k.Input((5,), dtype="int32", name="ids")
    e = k.layers.Flatten()(k.layers.Embedding(10, 2)(e_in))
    return k.Model([i1, i2, e_in], [k.layers.Dense(1)(x), shared(k.layers.Dense(3)(e))])


def _build_subclassed(k):
    class Sub(k.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.blocks = [k.layers.Dense(3), k.layers.Dense(3)]
            self.norm = k.layers.BatchNormalization()
            self.head = {"out": k.layers.Dense(2)}

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head["out"](self.norm(x))

    return Sub()


BUILDERS = {"sequential": _build_sequential, "functional": _build_functional,
            "multi_io": _build_multi_io, "subclassed": _build_subclassed}


def _inputs(name, rng):
    if name == "multi_io":
        return [rng.standard_normal((2, 3)).astype("float32"),
                rng.standard_normal((2, 4)).astype("float32"),
                rng.integers(0, 10, (2, 5)).astype("int32")]
    dim = {"sequential": 3, "functional": 6, "subclassed": 4}[name]
    return rng.standard_normal((2, dim)).astype("float32")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_weights_names_order_and_outputs_match_tf_keras(name):
    tfk = tf_keras()
    rng = np.random.default_rng(0)
    x = _inputs(name, rng)
    theirs = BUILDERS[name](tfk)
    ours = BUILDERS[name](nk)
    if name == "subclassed":
        theirs(x)
        ours(x)
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
    assert _names(ours.weights) == _names(theirs.weights)
    assert _names(ours.trainable_weights) == _names(theirs.trainable_weights)
    assert _names(ours.non_trainable_weights) == _names(theirs.non_trainable_weights)
    values = random_weights(theirs)
    theirs.set_weights(values)
    ours.set_weights(values)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    out_ours, out_theirs = ours.predict(x), theirs.predict(x, verbose=0)
    for a, b in zip(out_ours if isinstance(out_ours, list) else [out_ours],
                    out_theirs if isinstance(out_theirs, list) else [out_theirs]):
        assert_close_outputs(a, b)


@pytest.mark.parametrize("name", ["sequential", "functional"])
def test_frozen_layers_move_weights_between_lists_like_tf_keras(name):
    tfk = tf_keras()
    theirs, ours = BUILDERS[name](tfk), BUILDERS[name](nk)
    for model in (theirs, ours):
        model.layers[1].trainable = False
        model.layers[-1].trainable = False
    assert _names(ours.weights) == _names(theirs.weights)
    assert _names(ours.trainable_weights) == _names(theirs.trainable_weights)
    assert _names(ours.non_trainable_weights) == _names(theirs.non_trainable_weights)
    for model in (theirs, ours):
        model.trainable = False
    assert _names(ours.trainable_weights) == _names(theirs.trainable_weights) == []
    assert _names(ours.non_trainable_weights) == _names(theirs.non_trainable_weights)
    inner_theirs = [la for la in theirs.layers if isinstance(la, tfk.Model)]
    inner_ours = [la for la in ours.layers if isinstance(la, nk.Model)]
    for a, b in zip(inner_ours, inner_theirs):
        assert _names(a.non_trainable_weights) == _names(b.non_trainable_weights)
        assert _names(a.weights) == _names(b.weights)


def test_deferred_sequential_names_and_layer_names_match_tf_keras():
    tfk = tf_keras()
    models = []
    for k in (tfk, nk):
        m = k.Sequential([k.layers.Dense(2), k.layers.Dense(3)])
        m(np.zeros((1, 4), "float32"))
        m2 = k.Sequential()
        m2.add(k.layers.Dense(2))
        m2.build((None, 5))
        models.append((m, m2))
    for a, b in zip(models[0], models[1]):
        assert _names(a.weights) == _names(b.weights)
        assert [la.name for la in a.layers] == [la.name for la in b.layers]
        assert a.inputs[0].name == b.inputs[0].name or a.inputs[0].name.startswith(
            b.layers[0].name)


def _names_made_while_building(k) -> list:
    k.backend.clear_session()

    class Block(k.layers.Layer):
        def build(self, input_shape):
            self.inner = k.layers.Dense(2)
            self.drop = k.layers.Dropout(0.1)

        def call(self, x):
            return self.drop(self.inner(x))

    names = []
    x = np.ones((1, 5, 4), "float32")
    k.layers.MultiHeadAttention(2, 3)(x, x)  # eager: uses the session's counters
    names += [k.layers.Dropout(0.1).name, k.layers.Softmax().name]
    inp = k.Input((5, 4))
    k.layers.MultiHeadAttention(2, 3)(inp, inp)
    block = Block()
    out = block(inp)
    names += [k.layers.Dropout(0.1).name, k.layers.Softmax().name, k.layers.Dense(1).name]
    names += [block.inner.name, block.drop.name] + _names(block.weights)
    block2 = Block()
    block2(x)
    names += [block2.inner.name, k.layers.Dense(1).name]
    names.append([la.name for la in k.Model(inp, out).layers])
    return names


def test_layers_created_while_building_on_keras_inputs_do_not_consume_names_like_tf_keras():
    # tf-keras builds a layer called on keras.Input in a scratch graph with its own name
    # counters; names made there (MultiHeadAttention's softmax/dropout, a custom layer's
    # sub-layers) must not shift the names of the layers created afterwards.
    tfk = tf_keras()
    assert _names_made_while_building(nk) == _names_made_while_building(tfk)


def test_layer_configs_match_tf_keras():
    tfk = tf_keras()
    for make in (lambda k: k.layers.Dense(3, activation="relu", use_bias=False),
                 lambda k: k.layers.BatchNormalization(momentum=0.9),
                 lambda k: k.layers.LayerNormalization(epsilon=1e-5),
                 lambda k: k.layers.Embedding(7, 2, mask_zero=True),
                 lambda k: k.layers.Dropout(0.3),
                 lambda k: k.layers.Reshape((2, 3)),
                 lambda k: k.layers.Concatenate(axis=1)):
        theirs, ours = make(tfk).get_config(), make(nk).get_config()
        assert ours.keys() == theirs.keys(), (sorted(ours), sorted(theirs))
        for key in ours:
            if key in ("name",):
                continue
            assert ours[key] == theirs[key], (key, ours[key], theirs[key])


def test_batch_normalization_training_updates_match_tf_keras():
    tfk = tf_keras()
    rng = np.random.default_rng(1)
    for shape in ((8, 3), (4, 5, 5, 3)):
        x = rng.standard_normal(shape).astype("float32") * 3 + 1
        theirs, ours = tfk.layers.BatchNormalization(momentum=0.8), nk.layers.BatchNormalization(
            momentum=0.8)
        out_theirs = theirs(x, training=True).numpy()
        out_ours = ours(x, training=True)
        assert_close_outputs(out_ours, out_theirs)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sub_model_on_intermediate_tensors_does_not_change_the_outer_graph():
    """The encoder/autoencoder pattern: a model built on an intermediate tensor first."""
    tfk = tf_keras()
    names = []
    for k in (tfk, nk):
        inp = k.Input((4,))
        code = k.layers.Dense(2)(inp)
        encoder = k.Model(inp, code)
        decoded = k.layers.Dense(4)(code)
        autoencoder = k.Model(inp, decoded)
        names.append(([la.name for la in autoencoder.layers], [la.name for la in encoder.layers],
                      [w.name for w in autoencoder.weights]))
    assert names[0] == names[1]


@pytest.mark.parametrize("name", ["sequential", "functional", "multi_io"])
def test_model_input_and_output_shapes_match_tf_keras(name):
    tfk = tf_keras()
    theirs, ours = BUILDERS[name](tfk), BUILDERS[name](nk)

    def shapes(s):
        return [tuple(x) for x in s] if isinstance(s, list) else tuple(s)

    assert shapes(ours.input_shape) == shapes(theirs.input_shape)
    assert shapes(ours.output_shape) == shapes(theirs.output_shape)
    out_ours = ours.output if isinstance(ours.output, list) else [ours.output]
    out_theirs = theirs.output if isinstance(theirs.output, list) else [theirs.output]
    assert [tuple(t.shape) for t in out_ours] == [tuple(t.shape) for t in out_theirs]


def _summary_models(k) -> dict:
    L = k.layers
    models = {}
    k.backend.clear_session()
    models["sequential"] = k.Sequential([
        k.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
        L.BatchNormalization(), L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")])
    models["sequential"].layers[0].trainable = False
    inp = k.Input((None,), dtype="int64")
    x = L.Embedding(1000, 16)(inp)
    x = L.Bidirectional(L.LSTM(8, return_sequences=True))(x)
    models["chain"] = k.Model(inp, L.Dense(1)(L.GRU(8)(x)))
    a, b = k.Input((3,), name="left"), k.Input((4,), name="right")
    shared = L.Dense(5, name="a_rather_long_layer_name_that_must_wrap")
    h = L.Concatenate()([shared(L.Dense(3)(a)), shared(L.Dense(3)(b))])
    seq = k.Sequential([L.Dense(4, input_shape=(10,)), L.LayerNormalization()], name="inner")
    att_in = L.Reshape((2, 5))(h)
    att = L.MultiHeadAttention(2, 3)(att_in, att_in)
    out = L.GlobalAveragePooling1D()(att)
    models["graph"] = k.Model([a, b], [seq(h), out], name="graph")

    class Sub(k.Model):
        def __init__(self):
            super().__init__()
            self.d1 = L.Dense(4)
            self.unused = L.Dense(3)
            self.d2 = L.Dense(2)

        def call(self, x):
            return self.d2(self.d1(x))

    sub = Sub()
    sub(np.ones((1, 3), "float32"))
    models["subclassed"] = sub
    return models


@pytest.mark.parametrize("kwargs", [{}, {"expand_nested": True, "show_trainable": True},
                                    {"line_length": 120, "layer_range": ["dense", "concat"]}])
def test_summary_prints_what_tf_keras_prints(kwargs):
    tfk = tf_keras()
    texts = []
    for k in (tfk, nk):
        models = _summary_models(k)
        lines = []
        for name, model in models.items():
            if "layer_range" in kwargs and name != "graph":
                continue
            model.summary(print_fn=lines.append, **kwargs)
        texts.append("\n".join(lines))
    assert texts[1] == texts[0]


def test_summary_of_an_unbuilt_model_raises_like_tf_keras():
    tfk = tf_keras()
    messages = []
    for k in (tfk, nk):
        model = k.Sequential([k.layers.Dense(2)])
        with pytest.raises(ValueError) as info:
            model.summary()
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("kwargs", [{"kernel_regularizer": "l2"}, {"bias_regularizer": "l1_l2"},
                                    {"kernel_constraint": "max_norm"},
                                    {"activity_regularizer": "l1"}])
def test_regularizer_and_constraint_names_serialize_like_tf_keras(kwargs):
    tfk = tf_keras()
    ours = nk.layers.Dense(3, **kwargs).get_config()
    theirs = tfk.layers.Dense(3, **kwargs).get_config()
    key = next(iter(kwargs))
    assert ours[key] == theirs[key]
