"""Bidirectional and TimeDistributed from first principles: a Bidirectional output is the
forward run merged with the time-reversed backward run; TimeDistributed equals the inner
layer applied step by step. Names, weight order, masks, configs and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import numkeras as nk
from numkeras import layers
from numkeras.engine.keras_tensor import get_mask, with_mask

RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 5, 3)).astype("float32")


def _runs(bi, x):
    """Forward and backward layers run on their own, with the wrapper's weights."""
    fwd = layers.GRU(2, return_sequences=bi.return_sequences)
    bwd = layers.GRU(2, return_sequences=bi.return_sequences, go_backwards=True)
    fwd(x)
    bwd(x)
    fwd.set_weights(bi.forward_layer.get_weights())
    bwd.set_weights(bi.backward_layer.get_weights())
    return np.asarray(fwd(x)), np.asarray(bwd(x))


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_is_forward_plus_reversed_backward(mode):
    bi = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode=mode)
    out = bi(X)
    y, y_rev = _runs(bi, X)
    y_rev = y_rev[:, ::-1]
    expected = {"concat": np.concatenate([y, y_rev], -1), "sum": y + y_rev, "mul": y * y_rev,
                "ave": (y + y_rev) / 2, None: [y, y_rev]}[mode]
    for a, b in zip(out if mode is None else [out], expected if mode is None else [expected]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_bidirectional_names_weights_and_states():
    bi = layers.Bidirectional(layers.LSTM(2, return_state=True))
    out, fh, fc, bh, bc = bi(X)
    assert out.shape == (2, 4) and fh.shape == bc.shape == (2, 2)
    np.testing.assert_allclose(out[:, :2], fh)
    np.testing.assert_allclose(out[:, 2:], bh)
    names = [w.name for w in bi.weights]
    assert names[0] == "bidirectional/forward_lstm/lstm_cell/kernel:0"
    assert names[3] == "bidirectional/backward_lstm/lstm_cell/kernel:0"
    assert [n for n, _ in bi._tracked_attributes()] == ["forward_layer", "backward_layer"]
    assert bi.layer.weights == []  # the original is a template only
    assert len(bi.get_weights()) == 6


def test_bidirectional_initial_state_and_backward_layer():
    back = layers.SimpleRNN(2, go_backwards=True)
    bi = layers.Bidirectional(layers.SimpleRNN(2), backward_layer=back, merge_mode=None)
    h_f, h_b = np.ones((2, 2), "float32"), -np.ones((2, 2), "float32")
    y, y_rev = bi(X, initial_state=[h_f, h_b])
    fwd = layers.SimpleRNN(2)
    fwd(X)
    fwd.set_weights(bi.forward_layer.get_weights())
    np.testing.assert_allclose(y, fwd(X, initial_state=[h_f]), rtol=1e-6)
    assert bi.backward_layer is back and back.name == "backward_simple_rnn"
    assert "backward_layer" in bi.get_config()


def test_bidirectional_masked_sequences_are_zero_at_masked_steps():
    mask = np.array([[True, True, True, False, False], [True] * 5])
    out = layers.Bidirectional(layers.LSTM(2, return_sequences=True))(with_mask(X, mask))
    assert np.all(out[0, 3:] == 0)  # zero_output_for_mask is forced for both directions
    assert np.all(out[0, :3] != 0)
    np.testing.assert_array_equal(get_mask(out), mask)


def test_bidirectional_symbolic_shapes():
    inp = nk.Input((None, 3))
    assert layers.Bidirectional(layers.LSTM(4))(inp).shape == (None, 8)
    outs = layers.Bidirectional(layers.GRU(4, return_sequences=True, return_state=True),
                                merge_mode=None)(inp)
    assert [t.shape for t in outs] == [(None, None, 4)] * 2 + [(None, 4)] * 2


def test_time_distributed_equals_stepwise_application():
    dense = layers.Dense(4, activation="tanh")
    td = layers.TimeDistributed(dense)
    out = td(X)
    expected = np.stack([dense(X[:, t]) for t in range(X.shape[1])], axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert [w.name for w in td.weights] == ["time_distributed/kernel:0",
                                            "time_distributed/bias:0"]
    assert td.get_config()["layer"]["build_config"] == {"input_shape": (2, 3)}


def test_time_distributed_mask_and_symbolic_shape():
    mask = np.array([[True, False, True, True, False]] * 2)
    out = layers.TimeDistributed(layers.Dense(2))(with_mask(X, mask))
    np.testing.assert_array_equal(get_mask(out), mask)
    sym = layers.TimeDistributed(layers.Dense(7))(nk.Input((None, 3)))
    assert sym.shape == (None, None, 7)


@pytest.mark.parametrize("make", [
    lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="sum"),
    lambda: layers.Bidirectional(layers.GRU(3), backward_layer=layers.GRU(3, go_backwards=True)),
    lambda: layers.TimeDistributed(layers.Dense(2)),
    lambda: layers.Bidirectional(layers.RNN(layers.LSTMCell(2))),
])
def test_config_round_trip(make):
    layer = make()
    layer(X)
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    rebuilt(X)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in layer.weights]
    inner = rebuilt.get_config()["layer"]
    assert inner["class_name"] == config["layer"]["class_name"]


@pytest.mark.parametrize("make,match", [
    (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"), "merge mode"),
    (lambda: layers.Bidirectional("lstm"), "Layer"),
    (lambda: layers.Bidirectional(layers.Dense(2)), "recurrent"),
    (lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2)),
     "go_backwards"),
    (lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(
        2, go_backwards=True, return_sequences=True)), "return_sequences"),
    (lambda: layers.TimeDistributed(3), "Layer"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_time_distributed_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match=r'"time_distributed".*min_ndim=3'):
        layers.TimeDistributed(layers.Dense(2))(np.zeros((2, 3), "float32"))
