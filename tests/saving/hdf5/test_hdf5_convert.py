"""The class-name table of conversions (tf-keras ``preprocess_weights_for_loading``).

Stand-in layers carry the class names the table keys on; their weights have the shapes of
the real layers (docs/formats.md §2.8).
"""

import numpy as np
import pytest

import numkeras as keras
from numkeras.saving.hdf5.convert import ConversionError, Saved, preprocess


def _layer(class_name, shapes):
    cls = type(class_name, (keras.layers.Layer,), {})
    layer = cls(name=class_name.lower())
    for i, shape in enumerate(shapes):
        layer.add_weight(f"w{i}", shape=shape)
    layer.built = True
    return layer


def _saved(*shapes):
    return [Saved(f"v{i}:0", array=np.arange(np.prod(s), dtype="float32").reshape(s))
            for i, s in enumerate(shapes)]


def test_lstm_takes_cudnn_weights():
    lstm = _layer("LSTM", [(3, 8), (2, 8), (8,)])
    values = _saved((3, 8), (2, 8), (16,))
    out = [v.read() for v in preprocess(lstm, values)]
    assert [a.shape for a in out] == [(3, 8), (2, 8), (8,)]
    bias = values[2].read()
    np.testing.assert_array_equal(out[2], bias[:8] + bias[8:])  # input + recurrent biases
    recurrent = values[1].read()
    for gate in range(4):  # each gate's recurrent kernel is transposed
        np.testing.assert_array_equal(out[1][:, 2 * gate:2 * gate + 2],
                                      recurrent[:, 2 * gate:2 * gate + 2].T)


def test_gru_reset_after_mismatch_uses_tf_keras_message():
    gru = _layer("GRU", [(3, 6), (2, 6), (2, 6)])  # reset_after=True
    with pytest.raises(ConversionError, match=r"GRU\(reset_after=False\) is not compatible "
                                              r"with GRU\(reset_after=True\)"):
        preprocess(gru, _saved((3, 6), (2, 6), (6,)))
    out = preprocess(gru, _saved((3, 6), (2, 6), (12,)))  # CuDNNGRU: bias split in two rows
    np.testing.assert_array_equal(out[2].read(), np.arange(12, dtype="float32").reshape(2, 6))


def test_matching_values_pass_through_unchanged():
    lstm = _layer("LSTM", [(3, 8), (2, 8), (8,)])
    values = _saved((3, 8), (2, 8), (8,))
    assert preprocess(lstm, values) == values


def test_conv_kernel_is_transposed_only_when_that_makes_it_fit():
    conv = _layer("Conv2D", [(3, 2, 3, 4), (4,)])
    values = _saved((3, 4, 2, 3), (4,))
    out = preprocess(conv, values)
    assert out[0].shape == (3, 2, 3, 4)
    np.testing.assert_array_equal(out[0].read(), values[0].read().transpose(3, 2, 0, 1))
    wrong = _saved((5, 5, 5, 5), (4,))
    assert preprocess(conv, wrong)[0] is wrong[0]


def test_keras1_rnn_arrays_are_concatenated_in_keras2_gate_order():
    gru = _layer("GRU", [(3, 6), (2, 6), (6,)])
    gru.reset_after = False
    saved = [Saved(f"v{i}:0", array=np.full(s, i, "float32"))
             for i, s in enumerate([(3, 2), (2, 2), (2,)] * 3)]  # z, r, h: W, U, b each
    out = [v.read() for v in preprocess(gru, saved, version="1")]
    np.testing.assert_array_equal(out[0][0], [0, 0, 3, 3, 6, 6])
    np.testing.assert_array_equal(out[1][0], [1, 1, 4, 4, 7, 7])
    np.testing.assert_array_equal(out[2], [2, 2, 5, 5, 8, 8])
    lstm = _layer("LSTM", [(3, 8), (2, 8), (8,)])
    saved = [Saved(f"v{i}:0", array=np.full(s, i, "float32"))
             for i, s in enumerate([(3, 2), (2, 2), (2,)] * 4)]  # Keras 1 gates i, c, f, o
    out = [v.read() for v in preprocess(lstm, saved, version="1")]
    np.testing.assert_array_equal(out[2], [2, 2, 8, 8, 5, 5, 11, 11])  # i, f, c, o
