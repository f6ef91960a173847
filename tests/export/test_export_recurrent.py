"""SimpleRNN/LSTM/GRU (both reset_after modes), Bidirectional, TimeDistributed: ONNX Runtime
gives the NumPy engine's outputs."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy, randomize

from numkeras import Input, Model, layers

RNG = np.random.default_rng(0)


RNNS = {
    "simple": lambda **kw: layers.SimpleRNN(4, **kw),
    "simple_relu": lambda **kw: layers.SimpleRNN(4, activation="relu", **kw),
    "lstm": lambda **kw: layers.LSTM(4, **kw),
    "lstm_hard_sigmoid": lambda **kw: layers.LSTM(3, recurrent_activation="hard_sigmoid", **kw),
    "lstm_nobias": lambda **kw: layers.LSTM(3, use_bias=False, **kw),
    "gru_reset_after": lambda **kw: layers.GRU(4, **kw),
    "gru_reset_before": lambda **kw: layers.GRU(4, reset_after=False, **kw),
    "gru_nobias": lambda **kw: layers.GRU(3, use_bias=False, **kw),
    "rnn_lstm_cell": lambda **kw: layers.RNN(layers.LSTMCell(3), **kw),
}


@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"go_backwards": True},
                                     {"return_sequences": True, "go_backwards": True},
                                     {"return_state": True}],
                         ids=["last", "sequences", "backwards", "sequences_backwards", "state"])
@pytest.mark.parametrize("kind", sorted(RNNS))
def test_recurrent_layers(kind, options):
    x = Input((5, 3))
    out = RNNS[kind](**options)(x)
    model = randomize(Model(x, out), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, 5, 3)).astype(np.float32))


def test_initial_state():
    x, h, c = Input((5, 3)), Input((4,)), Input((4,))
    model = randomize(Model([x, h, c], layers.LSTM(4)(x, initial_state=[h, c])), RNG)
    data = [RNG.normal(size=s).astype(np.float32) for s in ((2, 5, 3), (2, 4), (2, 4))]
    check_matches_numpy(model, data)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("sequences", [False, True])
def test_bidirectional(merge_mode, sequences):
    x = Input((5, 3))
    out = layers.Bidirectional(layers.GRU(3, return_sequences=sequences),
                               merge_mode=merge_mode)(x)
    model = randomize(Model(x, out), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, 5, 3)).astype(np.float32))


def test_bidirectional_lstm_with_states():
    x = Input((4, 3))
    out = layers.Bidirectional(layers.LSTM(2, return_sequences=True, return_state=True))(x)
    check_matches_numpy(randomize(Model(x, out), RNG), RNG.normal(size=(2, 4, 3)).astype(np.float32))


def test_time_distributed():
    x = Input((4, 6, 6, 2))
    h = layers.TimeDistributed(layers.Conv2D(3, 3, activation="relu"))(x)
    h = layers.TimeDistributed(layers.Flatten())(h)
    out = layers.TimeDistributed(layers.Dense(2))(h)
    model = randomize(Model(x, out), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, 4, 6, 6, 2)).astype(np.float32), rtol=1e-4,
                        atol=1e-4)


def test_conv1d_into_lstm():
    x = Input((8, 3))
    out = layers.LSTM(3)(layers.Conv1D(4, 3, padding="same")(x))
    check_matches_numpy(randomize(Model(x, out), RNG), RNG.normal(size=(2, 8, 3)).astype(np.float32))
