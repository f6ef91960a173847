"""Recurrent layers against first principles: hand-written step formulas, cumulative sums,
masking semantics (carry state, repeat output), go_backwards, states, stacking, ConvLSTM with
1x1 kernels as a per-pixel LSTM, configs and argument checking."""

from __future__ import annotations

import numpy as np
import pytest

import numkeras as nk
from numkeras import layers
from numkeras.engine.keras_tensor import get_mask, with_mask

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 5, 4)).astype("float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def cumsum_rnn(**kwargs):
    """SimpleRNN with h_t = x_t + h_{t-1}: outputs are running sums of a 1-feature input."""
    return layers.SimpleRNN(1, activation=None, kernel_initializer="ones",
                            recurrent_initializer="ones", **kwargs)


def test_simple_rnn_is_a_running_sum():
    x = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    out = cumsum_rnn(return_sequences=True)(x)
    np.testing.assert_allclose(out[0, :, 0], [1, 3, 6, 10, 15])
    back = cumsum_rnn(return_sequences=True, go_backwards=True)(x)
    np.testing.assert_allclose(back[0, :, 0], [5, 9, 12, 14, 15])  # reversed order
    last, state = cumsum_rnn(return_state=True)(x, initial_state=[np.full((1, 1), 100.0)])
    np.testing.assert_allclose(last, [[115]])
    np.testing.assert_allclose(state, [[115]])


def test_masked_steps_carry_state_and_repeat_output():
    x = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    mask = np.array([[False, True, False, True, False]])
    layer = cumsum_rnn(return_sequences=True)
    out = layer(with_mask(x, mask))
    # step 0 masked: zeros; step 2 masked: repeat 2; step 4 masked: repeat 6
    np.testing.assert_allclose(out[0, :, 0], [0, 2, 2, 6, 6])
    np.testing.assert_array_equal(get_mask(out), mask)  # mask passed on with sequences
    last = cumsum_rnn()(with_mask(x, mask))
    np.testing.assert_allclose(last, [[6]])
    assert get_mask(last) is None


def test_masking_through_a_functional_model():
    ids = nk.Input((4,), dtype="int32")
    emb = layers.Embedding(5, 1, mask_zero=True, embeddings_initializer="ones")(ids)
    seq = cumsum_rnn(return_sequences=True)(emb)
    last = cumsum_rnn()(seq)
    model = nk.Model(ids, [seq, last])
    seq_v, last_v = model(np.array([[1, 0, 2, 2], [0, 0, 0, 3]]))
    np.testing.assert_allclose(seq_v[..., 0], [[1, 1, 2, 3], [0, 0, 0, 1]])
    np.testing.assert_allclose(last_v[:, 0], [1 + 2 + 3, 1])  # sums of unmasked steps only


def _lstm_reference(x, kernel, rec, bias, h, c):
    u = h.shape[-1]
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ rec + bias
        i, f = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u])
        g, o = np.tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def test_lstm_matches_the_textbook_equations():
    layer = layers.LSTM(3, return_sequences=True, return_state=True)
    layer(X)
    kernel, rec, bias = (RNG.uniform(-1, 1, w.shape).astype("float32")
                         for w in layer.weights)
    layer.set_weights([kernel, rec, bias])
    h0, c0 = RNG.standard_normal((2, 3, 3)).astype("float32")
    seq, h, c = layer(X, initial_state=[h0, c0])
    ref_seq, ref_h, ref_c = _lstm_reference(X, kernel, rec, bias, h0, c0)
    np.testing.assert_allclose(seq, ref_seq, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, ref_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, ref_c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_the_textbook_equations(reset_after):
    layer = layers.GRU(3, reset_after=reset_after, return_sequences=True)
    layer(X)
    kernel, rec, bias = (RNG.uniform(-1, 1, w.shape).astype("float32")
                         for w in layer.weights)
    layer.set_weights([kernel, rec, bias])
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    h = np.zeros((3, 3), "float32")
    outs = []
    for t in range(X.shape[1]):
        xz, xr, xh = np.split(X[:, t] @ kernel + b_in, 3, axis=-1)
        rz, rr, rh = np.split(h @ rec + b_rec, 3, axis=-1)
        z, r = sigmoid(xz + rz), sigmoid(xr + rr)
        if reset_after:
            hh = np.tanh(xh + r * rh)
        else:
            hh = np.tanh(xh + (r * h) @ rec[:, 6:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    np.testing.assert_allclose(layer(X), np.stack(outs, 1), rtol=1e-5, atol=1e-6)
    assert layer.weights[2].shape == ((2, 9) if reset_after else (9,))


def test_time_major_is_a_transpose():
    batch_major = layers.LSTM(3, return_sequences=True)
    time_major = layers.LSTM(3, return_sequences=True, time_major=True)
    ref = batch_major(X)
    time_major(np.swapaxes(X, 0, 1))
    time_major.set_weights(batch_major.get_weights())
    np.testing.assert_allclose(time_major(np.swapaxes(X, 0, 1)), np.swapaxes(ref, 0, 1),
                               rtol=1e-6)


def test_stacked_cells_equal_two_layers_in_sequence():
    stacked = layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], return_state=True)
    out, (h1, c1), h2 = stacked(X)
    first = layers.RNN(layers.LSTMCell(3), return_sequences=True, return_state=True)
    second = layers.RNN(layers.GRUCell(2), return_state=True)
    first(X)
    first.set_weights(stacked.get_weights()[:3])
    seq, fh, fc = first(X)
    second(seq)
    second.set_weights(stacked.get_weights()[3:])
    out2, sh = second(seq)
    for a, b in ((out, out2), (h1, fh), (c1, fc), (h2, sh)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert [w.name for w in stacked.weights] == [
        "rnn/stacked_rnn_cells/lstm_cell/kernel:0",
        "rnn/stacked_rnn_cells/lstm_cell/recurrent_kernel:0",
        "rnn/stacked_rnn_cells/lstm_cell/bias:0",
        "rnn/stacked_rnn_cells/gru_cell/kernel:0",
        "rnn/stacked_rnn_cells/gru_cell/recurrent_kernel:0",
        "rnn/stacked_rnn_cells/gru_cell/bias:0"]


def test_custom_cell_runs_through_the_generic_path():
    class Accumulate(layers.Layer):
        state_size = 2

        def call(self, inputs, states):
            new = states[0] + inputs
            return new, [new]

    out = layers.RNN(Accumulate(), return_sequences=True)(np.ones((1, 3, 2), "float32"))
    np.testing.assert_allclose(out[0], [[1, 1], [2, 2], [3, 3]])


def test_stateful_keeps_states_between_calls():
    layer = cumsum_rnn(stateful=True)
    x = np.ones((2, 3, 1), "float32")
    np.testing.assert_allclose(layer(x), [[3], [3]])
    np.testing.assert_allclose(layer(x), [[6], [6]])
    layer.reset_states()
    np.testing.assert_allclose(layer(x), [[3], [3]])
    with pytest.raises(AttributeError):
        cumsum_rnn().reset_states()


def test_dropout_is_identity_at_inference_and_random_in_training():
    layer = layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5)
    plain = layers.LSTM(4)
    ref = layer(X)
    plain(X)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(X, training=False), plain(X), rtol=1e-6)
    assert not np.allclose(layer(X, training=True), ref)


def test_conv_lstm_with_1x1_kernels_is_a_per_pixel_lstm():
    x = RNG.standard_normal((2, 4, 3, 5, 2)).astype("float32")
    conv = layers.ConvLSTM2D(3, 1, recurrent_activation="sigmoid", return_sequences=True)
    conv(x)
    kernel, rec, bias = (RNG.uniform(-1, 1, w.shape).astype("float32") for w in conv.weights)
    conv.set_weights([kernel, rec, bias])
    pixels = np.moveaxis(x, 1, 3).reshape(-1, 4, 2)  # (batch*rows*cols, time, channels)
    zeros = np.zeros((pixels.shape[0], 3), "float32")
    ref, _, _ = _lstm_reference(pixels, kernel[0, 0], rec[0, 0], bias, zeros, zeros)
    ref = np.moveaxis(ref.reshape(2, 3, 5, 4, 3), 3, 1)
    np.testing.assert_allclose(conv(x), ref, rtol=1e-5, atol=1e-6)


def test_conv_lstm_shapes_and_names():
    layer = layers.ConvLSTM2D(4, 3, strides=2, return_state=True)
    out, h, c = layer(np.zeros((2, 3, 9, 8, 2), "float32"))
    assert out.shape == h.shape == c.shape == (2, 4, 3, 4)
    assert [w.name for w in layer.weights] == [
        "conv_lstm2d/kernel:0", "conv_lstm2d/recurrent_kernel:0", "conv_lstm2d/bias:0"]
    sym = layers.ConvLSTM2D(4, 3, padding="same", data_format="channels_first",
                            return_sequences=True)(nk.Input((3, 2, 9, 8)))
    assert sym.shape == (None, 3, 4, 9, 8)
    bias = layers.ConvLSTM1D(2, 3)
    bias(np.zeros((1, 2, 5, 1), "float32"))
    np.testing.assert_array_equal(bias.weights[2].numpy(), [0, 0, 1, 1, 0, 0, 0, 0])


def test_symbolic_shapes():
    inp = nk.Input((None, 4))
    out, h, c = layers.LSTM(3, return_sequences=True, return_state=True)(inp)
    assert (out.shape, h.shape, c.shape) == ((None, None, 3), (None, 3), (None, 3))
    assert layers.GRU(2)(inp).shape == (None, 2)


def test_unit_forget_bias_initialises_the_forget_block_to_one():
    layer = layers.LSTM(2)
    layer(X)
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])


@pytest.mark.parametrize("make", [
    lambda: layers.SimpleRNN(3, return_sequences=True, go_backwards=True),
    lambda: layers.LSTM(3, activation="relu", dropout=0.2),
    lambda: layers.GRU(3, reset_after=False, return_state=True),
    lambda: layers.RNN([layers.LSTMCell(3), layers.SimpleRNNCell(2)]),
    lambda: layers.ConvLSTM2D(2, 3, padding="same"),
])
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config


@pytest.mark.parametrize("make,match", [
    (lambda: layers.LSTM(0), "units"),
    (lambda: layers.GRU(-2), "units"),
    (lambda: layers.SimpleRNN(3, activation="nope"), "nope"),
    (lambda: layers.LSTMCell(3, dropout="x"), "dropout"),
    (lambda: layers.RNN(object()), "cell"),
    (lambda: layers.ConvLSTM2D(2, 3, padding="causal"), "padding"),
    (lambda: layers.ConvLSTM2D(2, (3, 3, 3)), "kernel_size"),
    (lambda: layers.ConvLSTM2D(2, 3, data_format="nchw"), "data_format"),
])
def test_bad_arguments_raise_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_rank_names_the_layer():
    with pytest.raises(ValueError, match=r'"lstm".*expected ndim=3'):
        layers.LSTM(2)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r'"conv_lstm2d".*expected ndim=5'):
        layers.ConvLSTM2D(2, 3)(np.zeros((2, 3, 4, 4), "float32"))
    layer = layers.GRU(2)
    layer(X)
    with pytest.raises(ValueError, match=r'"gru".*expected ndim=3'):
        layer(X[0])
    with pytest.raises(ValueError, match="initial states"):
        layers.LSTM(2)(X, initial_state=[np.zeros((3, 2))])
