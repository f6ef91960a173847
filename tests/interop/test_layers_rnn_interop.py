"""Recurrent layers and wrappers vs real tf-keras 2.21: weight names/order/shapes, tracked
children, configs and forward outputs (tf-keras weights copied into numkeras) on a grid of
options: return_sequences/return_state/go_backwards/time_major, masking, initial states,
GRU reset_after, stacked cells, Bidirectional merge modes, TimeDistributed and ConvLSTM2D."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, random_weights, tf_keras

import numkeras as nk


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    return [x]


def _structure(x):
    if isinstance(x, (list, tuple)):
        return [_structure(i) for i in x]
    return tuple(x.shape)


def _compare(build, input_specs, inputs, seed=0, rtol=1e-5):
    """Build the same graph on both sides (``build(layers, inputs)``), copy tf weights over,
    and compare weight names/shapes and outputs. Returns both models."""
    tfk = tf_keras()
    tf_inputs = [tfk.Input(shape, dtype=dtype) for shape, dtype in input_specs]
    tf_out = build(tfk.layers, tf_inputs if len(tf_inputs) > 1 else tf_inputs[0])
    tf_model = tfk.Model(tf_inputs, tf_out)
    nk_inputs = [nk.Input(shape, dtype=dtype) for shape, dtype in input_specs]
    nk_out = build(nk.layers, nk_inputs if len(nk_inputs) > 1 else nk_inputs[0])
    nk_model = nk.Model(nk_inputs, nk_out)
    assert [w.name for w in nk_model.weights] == [w.name for w in tf_model.weights]
    assert [tuple(w.shape) for w in nk_model.weights] == \
        [tuple(w.shape) for w in tf_model.weights]
    weights = random_weights(tf_model, seed)
    tf_model.set_weights(weights)
    nk_model.set_weights(weights)
    feed = inputs if len(inputs) > 1 else inputs[0]
    theirs = tf_model(feed, training=False)
    ours = nk_model(feed)
    theirs_np = [np.asarray(t) for t in _flat(theirs)]
    assert _structure(ours) == _structure(theirs)
    for a, b in zip(_flat(ours), theirs_np):
        assert_close_outputs(a, b, rtol=rtol)
    # symbolic output shapes agree too
    tf_shapes = [tuple(t.shape) for t in _flat(tf_out)]
    nk_shapes = [tuple(t.shape) for t in _flat(nk_out)]
    assert nk_shapes == tf_shapes
    return nk_model, tf_model


RNG = np.random.default_rng(42)
X = RNG.standard_normal((3, 6, 4)).astype("float32")
IDS = np.array([[3, 5, 1, 0, 0, 0], [0, 2, 7, 9, 0, 1], [4, 4, 4, 4, 4, 4]], dtype="int32")

RNN_CASES = [
    ("SimpleRNN", {}),
    ("SimpleRNN", {"return_sequences": True, "activation": "relu", "go_backwards": True}),
    ("LSTM", {}),
    ("LSTM", {"return_sequences": True, "return_state": True}),
    ("LSTM", {"go_backwards": True, "return_state": True}),
    ("LSTM", {"recurrent_activation": "hard_sigmoid", "activation": "relu",
              "unit_forget_bias": False, "return_sequences": True}),
    ("LSTM", {"use_bias": False, "go_backwards": True, "return_sequences": True}),
    ("GRU", {}),
    ("GRU", {"reset_after": False, "return_sequences": True}),
    ("GRU", {"reset_after": False, "return_state": True, "go_backwards": True}),
    ("GRU", {"return_state": True, "return_sequences": True, "go_backwards": True}),
    ("GRU", {"recurrent_activation": "hard_sigmoid", "use_bias": False}),
]


@pytest.mark.parametrize("cls,kwargs", RNN_CASES)
def test_rnn_layer_matches(cls, kwargs):
    def build(L, x):
        return getattr(L, cls)(5, **kwargs)(x)

    _compare(build, [((6, 4), "float32")], [X])


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_masking_from_embedding(cls):
    def build(L, ids):
        x = L.Embedding(10, 4, mask_zero=True)(ids)
        seq = getattr(L, cls)(3, return_sequences=True)(x)  # outputs at masked steps
        last = getattr(L, cls)(2, go_backwards=True)(seq)  # the mask passed on
        return [seq, last]

    _compare(build, [((6,), "int32")], [IDS])


def test_masked_bidirectional_and_time_distributed():
    def build(L, ids):
        x = L.Embedding(10, 4, mask_zero=True)(ids)
        y = L.Bidirectional(L.LSTM(3, return_sequences=True))(x)
        y = L.TimeDistributed(L.Dense(2))(y)
        return L.Bidirectional(L.GRU(2), merge_mode="sum")(y)

    _compare(build, [((6,), "int32")], [IDS])


def test_initial_state_and_return_state_chain():
    h0 = RNG.standard_normal((3, 5)).astype("float32")
    c0 = RNG.standard_normal((3, 5)).astype("float32")

    def build(L, inputs):
        x, h, c = inputs
        seq, hh, cc = L.LSTM(5, return_sequences=True, return_state=True)(
            x, initial_state=[h, c])
        out = L.GRU(5, go_backwards=True)(seq, initial_state=[hh])
        out2 = L.SimpleRNN(5)([x, cc])
        return [out, out2]

    _compare(build, [((6, 4), "float32"), ((5,), "float32"), ((5,), "float32")], [X, h0, c0])


def test_time_major():
    def build(L, x):
        return L.LSTM(3, time_major=True, return_sequences=True, return_state=True)(x)

    _compare(build, [((6, 4), "float32")], [X])  # (batch=?, 6, 4) read as (time, batch, 4)


def test_rnn_with_cells_and_stacked_cells():
    def build(L, x):
        a = L.RNN(L.LSTMCell(4), return_sequences=True)(x)
        b = L.RNN([L.GRUCell(3, reset_after=False), L.LSTMCell(2), L.SimpleRNNCell(2)],
                  return_state=True)(a)
        return b

    _compare(build, [((6, 4), "float32")], [X])


@pytest.mark.parametrize("merge_mode,return_sequences,return_state", [
    *[(mode, True, True) for mode in ("concat", "sum", "mul", "ave", None)],
    ("concat", False, False), (None, False, True)])
def test_bidirectional_merge_modes(merge_mode, return_sequences, return_state):
    def build(L, x):
        inner = L.LSTM(3, return_sequences=return_sequences, return_state=return_state)
        return L.Bidirectional(inner, merge_mode=merge_mode)(x)

    _compare(build, [((6, 4), "float32")], [X])


def test_bidirectional_backward_layer_and_initial_state():
    states = [RNG.standard_normal((3, 3)).astype("float32") for _ in range(2)]

    def build(L, inputs):
        x, hf, hb = inputs
        bi = L.Bidirectional(L.GRU(3, return_sequences=True),
                             backward_layer=L.SimpleRNN(3, go_backwards=True,
                                                        return_sequences=True))
        return bi(x, initial_state=[hf, hb])

    _compare(build, [((6, 4), "float32"), ((3,), "float32"), ((3,), "float32")],
             [X, *states])


def test_time_distributed_dense_and_conv2d():
    if not hasattr(nk.layers, "Conv2D"):
        pytest.skip("Conv2D is not available yet")
    img = RNG.standard_normal((2, 3, 6, 5, 2)).astype("float32")

    def build(L, x):
        y = L.TimeDistributed(L.Conv2D(3, 3, padding="same"))(x)
        y = L.TimeDistributed(L.Flatten())(y)
        return L.TimeDistributed(L.Dense(4, activation="tanh"))(y)

    _compare(build, [((3, 6, 5, 2), "float32")], [img])


@pytest.mark.parametrize("kwargs", [
    {},
    {"padding": "same", "return_sequences": True},
    {"strides": 2, "return_state": True, "go_backwards": True},
    {"dilation_rate": 2, "padding": "same", "recurrent_activation": "sigmoid"},
])
def test_conv_lstm2d(kwargs):
    x = RNG.standard_normal((2, 3, 7, 6, 2)).astype("float32")

    def build(L, inp):
        return L.ConvLSTM2D(3, (3, 3), **kwargs)(inp)

    _compare(build, [((3, 7, 6, 2), "float32")], [x], rtol=2e-5)


def _config_keys(config):
    out = {}
    for k, v in config.items():
        if isinstance(v, dict) and "class_name" in v and "config" in v:
            out[k] = (sorted(v), _config_keys(v["config"]))
        elif isinstance(v, list) and v and isinstance(v[0], dict) and "class_name" in v[0]:
            out[k] = [(sorted(i), _config_keys(i["config"])) for i in v]
        else:
            out[k] = None
    return out


CONFIG_CASES = [
    lambda L: L.SimpleRNN(4, return_sequences=True),
    lambda L: L.LSTM(4, go_backwards=True, dropout=0.1),
    lambda L: L.GRU(4, reset_after=False),
    lambda L: L.RNN(L.LSTMCell(3), return_state=True),
    lambda L: L.RNN([L.LSTMCell(3), L.GRUCell(2)]),
    lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum"),
    lambda L: L.Bidirectional(L.GRU(3), backward_layer=L.GRU(3, go_backwards=True)),
    lambda L: L.TimeDistributed(L.Dense(2)),
]


@pytest.mark.parametrize("index", range(len(CONFIG_CASES)))
def test_configs_and_tracked_children(index):
    tfk = tf_keras()
    theirs = CONFIG_CASES[index](tfk.layers)
    theirs(tfk.Input((6, 4)))
    ours = CONFIG_CASES[index](nk.layers)
    ours(nk.Input((6, 4)))
    tf_config, nk_config = theirs.get_config(), ours.get_config()
    assert list(nk_config) == list(tf_config)
    assert _config_keys(nk_config) == _config_keys(tf_config)
    for key, value in tf_config.items():
        if not isinstance(value, dict) and key != "name":
            assert nk_config[key] == value, key
    assert [n for n, _ in ours._tracked_attributes()] == \
        list(theirs._trackable_children(save_type="checkpoint"))
    cell_tf, cell_nk = getattr(theirs, "cell", None), getattr(ours, "cell", None)
    if cell_tf is not None:
        assert [n for n, _ in cell_nk._tracked_attributes()] == \
            list(cell_tf._trackable_children(save_type="checkpoint"))
    # tf-keras can rebuild our config, and we can rebuild tf-keras's
    rebuilt = type(ours).from_config(tf_config)
    assert list(rebuilt.get_config()) == list(tf_config)
    type(theirs).from_config(nk_config)


def test_conv_lstm_config_and_children():
    tfk = tf_keras()
    theirs = tfk.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    theirs(tfk.Input((3, 5, 5, 2)))
    ours = nk.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    ours(nk.Input((3, 5, 5, 2)))
    tf_config, nk_config = theirs.get_config(), ours.get_config()
    assert list(nk_config) == list(tf_config)
    for key, value in tf_config.items():
        if key != "name" and not isinstance(value, dict):
            assert nk_config[key] == value, key
    assert [n for n, _ in ours._tracked_attributes()] == \
        list(theirs._trackable_children(save_type="checkpoint"))
    assert [n for n, _ in ours.cell._tracked_attributes()] == \
        list(theirs.cell._trackable_children(save_type="checkpoint"))


@pytest.mark.parametrize("fmt", ["weights.h5", "h5", "ckpt"])
def test_weight_files_round_trip_with_tf_keras(fmt, tmp_path):
    """Recurrent, wrapper and attention layers in one model: files written by either side load
    in the other (names, order and checkpoint children all have to agree)."""

    def build(m):
        L = m.layers
        ids = m.Input((6,), dtype="int32")
        x = L.Embedding(10, 8, mask_zero=True)(ids)
        x = L.Bidirectional(L.LSTM(4, return_sequences=True),
                            backward_layer=L.GRU(4, go_backwards=True,
                                                 return_sequences=True))(x)
        x = L.MultiHeadAttention(2, 3)(x, x)
        x = L.TimeDistributed(L.Dense(3))(x)
        x = L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)], return_sequences=True)(x)
        x = L.AdditiveAttention()([x, x])
        return m.Model(ids, L.GRU(2, reset_after=False)(x))

    tfk = tf_keras()
    theirs, ours = build(tfk), build(nk)
    ids = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]])
    for seed, (src, dst) in enumerate([(ours, theirs), (theirs, ours)]):
        src.set_weights(random_weights(src, seed))
        path = str(tmp_path / f"m{seed}.{fmt}")
        src.save_weights(path)
        dst.load_weights(path)
        assert_close_outputs(ours(ids), np.asarray(theirs(ids, training=False)))
