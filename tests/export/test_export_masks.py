"""Keras masks, ConvLSTM, resizing, lookups and TF-op layers through ONNX Runtime: the NumPy
engine's outputs (variants beyond the one case per class of test_export_coverage.py), and
the refusals that name the layer and its class."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy, randomize

from numkeras import Input, Model, backend, layers, ops
from numkeras.export import LoweringError, to_onnx

RNG = np.random.default_rng(11)


def _ids(steps=6, high=9):
    x = RNG.integers(1, high, (3, steps))
    x[0, steps - 2:] = 0  # trailing padding
    x[1, :2] = 0  # leading padding
    x[2, steps // 2] = 0  # a hole
    return x.astype(np.int32)


MASKED_RNNS = {
    "lstm_seq": lambda: layers.LSTM(4, return_sequences=True),
    "gru_last": lambda: layers.GRU(4),
    "gru_v1_backwards": lambda: layers.GRU(4, reset_after=False, go_backwards=True,
                                           return_sequences=True),
    "simple_state": lambda: layers.SimpleRNN(3, return_state=True),
    "zero_output": lambda: layers.LSTM(3, return_sequences=True, zero_output_for_mask=True),
    "bidi_concat": lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
    "bidi_sum_last": lambda: layers.Bidirectional(layers.GRU(3), merge_mode="sum"),
    "bidi_none_state": lambda: layers.Bidirectional(layers.SimpleRNN(2, return_state=True),
                                                    merge_mode=None),
    "stacked": lambda: layers.RNN(layers.StackedRNNCells([layers.LSTMCell(3),
                                                          layers.GRUCell(2)]),
                                  return_sequences=True),
}


@pytest.mark.parametrize("name", sorted(MASKED_RNNS))
def test_masked_rnns(name):
    backend.clear_session()
    x = Input((6,), dtype="int32")
    y = MASKED_RNNS[name]()(layers.Embedding(10, 5, mask_zero=True)(x))
    check_matches_numpy(randomize(Model(x, y), RNG), _ids(), rtol=1e-4, atol=1e-5)


def test_mask_flows_through_dense_dropout_and_merges():
    backend.clear_session()
    a, c = Input((6,), dtype="int32"), Input((6,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    h1 = layers.Dropout(0.5)(layers.Dense(4)(emb(a)))
    h2 = emb(c)
    merged = layers.Concatenate()([layers.Add()([h1, h2]), h2])
    y = layers.GlobalAveragePooling1D()(layers.LSTM(3, return_sequences=True)(merged))
    check_matches_numpy(randomize(Model([a, c], y), RNG), [_ids(), _ids()[::-1].copy()],
                        rtol=1e-4, atol=1e-5)


def test_masking_layer_then_lstm_and_pooling():
    backend.clear_session()
    x = Input((6, 4))
    h = layers.LSTM(2, return_sequences=True)(layers.Dense(3)(layers.Masking(0.0)(x)))
    data = RNG.normal(size=(3, 6, 4)).astype(np.float32)
    data[0, 3:] = 0
    data[2, 1] = 0
    check_matches_numpy(randomize(Model(x, layers.GlobalAveragePooling1D()(h)), RNG), data,
                        rtol=1e-4, atol=1e-5)


def test_masked_softmax_layer_and_concatenate_with_unmasked_input():
    backend.clear_session()
    x, z = Input((6,), dtype="int32"), Input((6, 4))
    h = layers.Concatenate()([layers.Embedding(10, 4, mask_zero=True)(x), z])
    y = layers.LSTM(2)(h)
    scores = layers.Softmax()(Input((5,)), mask=Input((5,), dtype="bool"))
    model = Model([x, z], y)
    check_matches_numpy(randomize(model, RNG), [_ids(), RNG.normal(size=(3, 6, 4)).astype("f4")],
                        rtol=1e-4, atol=1e-5)
    sm = Model(scores.node.keras_inputs, scores)
    check_matches_numpy(sm, [RNG.normal(size=(3, 5)).astype("f4"),
                             RNG.uniform(size=(3, 5)) > 0.3])


@pytest.mark.parametrize("cls,kwargs", [
    (layers.Attention, {}), (layers.Attention, {"use_causal_mask": True}),
    (lambda: layers.Attention(use_scale=True, score_mode="concat"), {}),
    (layers.AdditiveAttention, {"return_attention_scores": True}),
    (lambda: layers.AdditiveAttention(use_scale=False), {"use_causal_mask": True}),
], ids=["dot", "dot_causal", "concat", "additive_scores", "additive_causal"])
@pytest.mark.parametrize("masked", [False, True])
def test_dense_attention(cls, kwargs, masked):
    backend.clear_session()
    q, v = Input((6,), dtype="int32"), Input((5,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=masked)
    out = cls()([emb(q), emb(v)], **kwargs)
    model = randomize(Model([q, v], list(out) if isinstance(out, tuple) else out), RNG)
    check_matches_numpy(model, [_ids(), _ids(5)], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"use_causal_mask": True},
                                    {"return_attention_scores": True}])
def test_multi_head_attention_with_input_masks(kwargs):
    backend.clear_session()
    q, v = Input((6,), dtype="int32"), Input((6,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    out = layers.MultiHeadAttention(2, 3)(emb(q), emb(v), **kwargs)
    model = randomize(Model([q, v], list(out) if isinstance(out, tuple) else out), RNG)
    check_matches_numpy(model, [_ids(), _ids()], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True), (4, 5, 5, 2)),
    (lambda: layers.ConvLSTM2D(3, 3, return_state=True), (4, 5, 5, 2)),
    (lambda: layers.ConvLSTM1D(2, 2, strides=2, go_backwards=True), (3, 7, 2)),
    (lambda: layers.ConvLSTM2D(2, 3, data_format="channels_first", return_sequences=True),
     (3, 2, 5, 5)),
], ids=["2d_same_seq", "2d_state", "1d_strided_backwards", "2d_channels_first"])
def test_conv_lstm(make, shape):
    backend.clear_session()
    x = Input(shape)
    model = randomize(Model(x, make()(x)), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, *shape)).astype(np.float32), rtol=1e-4,
                        atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: layers.Resizing(4, 5), lambda: layers.Resizing(11, 6, interpolation="nearest"),
    lambda: layers.Resizing(5, 5, crop_to_aspect_ratio=True),
    lambda: layers.Resizing(3, 12, crop_to_aspect_ratio=True, interpolation="nearest"),
    lambda: layers.CenterCrop(4, 5), lambda: layers.CenterCrop(8, 12),
    lambda: layers.RandomCrop(4, 4),
], ids=["bilinear", "nearest", "crop_bilinear", "crop_nearest", "center_crop",
        "center_crop_grows", "random_crop"])
@pytest.mark.parametrize("shape", [(7, 9, 3), (None, None, 3)], ids=["known", "dynamic"])
def test_image_preprocessing(make, shape):
    backend.clear_session()
    x = Input(shape)
    images = RNG.uniform(0, 255, (2, 7, 9, 3)).astype(np.float32)
    check_matches_numpy(Model(x, make()(x)), images, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("make,data", [
    (lambda: layers.CategoryEncoding(4, "one_hot"), np.array([[1], [3], [0]])),
    (lambda: layers.CategoryEncoding(5, "multi_hot"), np.array([[1, 2, 2], [0, 4, 4]])),
    (lambda: layers.Discretization([0.0, 1.0, 2.5]),
     np.array([[-1, 0, 0.5, 3, np.nan]], np.float32)),
    (lambda: layers.Discretization([0.0, 1.0], output_mode="one_hot"),
     np.array([[-1.0], [0.5]], np.float32)),
    (lambda: layers.IntegerLookup(vocabulary=[5, 7, 12]), np.array([[5, 7, 9, 12]])),
    (lambda: layers.IntegerLookup(vocabulary=[5, 7, 12], mask_token=0, num_oov_indices=3),
     np.array([[5, 0, -9, 13]])),
    (lambda: layers.IntegerLookup(vocabulary=[5, 7, 12], output_mode="count"),
     np.array([[5, 5, 9, 12]])),
    (lambda: layers.IntegerLookup(vocabulary=[5, 7, 12], output_mode="tf_idf",
                                  idf_weights=[0.5, 1.0, 2.0]), np.array([[5, 5, 9, 12]])),
    (lambda: layers.IntegerLookup(vocabulary=[5, 7, 12], invert=True, mask_token=0),
     np.array([[0, 1, 2, 3, 4, 9]])),
], ids=["one_hot", "multi_hot", "buckets_nan", "buckets_one_hot", "lookup", "lookup_oov3",
        "lookup_count", "lookup_tf_idf", "lookup_invert"])
def test_integer_preprocessing(make, data):
    backend.clear_session()
    x = Input(data.shape[1:], dtype=data.dtype)
    check_matches_numpy(Model(x, make()(x)), data)


def test_tf_op_layers_and_keras3_operations():
    backend.clear_session()
    x, z = Input((4, 6)), Input((4, 6))
    t = layers.TFOpLambda
    outs = [x * 2.0, x + z, 2.0 - x, x / 3.0, t("math.reduce_mean")(x, axis=-1),
            t("math.reduce_sum")(x, axis=[1, 2], keepdims=True), t("nn.relu")(x),
            t("nn.gelu")(x, approximate=True), t("nn.softmax")(x, axis=1),
            t("concat")([x, z], axis=-1), t("stack")([x, z], axis=1),
            t("reshape")(x, shape=(-1, 24)), t("transpose")(x, perm=[0, 2, 1]),
            t("linalg.matmul")(x, z, transpose_b=True), t("einsum")("bij,bkj->bik", x, z),
            t("clip_by_value")(x, -0.5, 0.5), t("math.rsqrt")(t("math.abs")(x) + 1.0),
            t("math.l2_normalize")(x, axis=-1), t("where")(x > 0.0, x, z),
            t("cast")(x > 0.0, "float32"), t("nn.leaky_relu")(x, alpha=0.1),
            t("tile")(x, [1, 2, 1]), x[:, 1:3], x[:, -1], x[..., ::-1], x[:, None, :2, 1],
            t("squeeze")(t("expand_dims")(x, axis=-1), axis=-1),
            ops.mean(x, axis=-1), ops.multiply(x, 3.0), ops.reshape(x, (-1, 6, 4)),
            ops.concatenate([x, z], axis=1), ops.sqrt(ops.abs(x)),
            ops.cast(ops.logical_and(ops.any(ops.greater(x, 0.5), axis=-1),
                                     ops.all(ops.not_equal(z, 0.0), axis=-1)), "float32"),
            t("cast")(t("math.reduce_any")(x > 1.0, axis=1), "float32"),
            layers.OperationLayer("GetItem")(x, (slice(None), slice(1, 3), 2)),
            ops.clip(x, -0.5, 0.5)]
    data = [RNG.normal(size=(2, 4, 6)).astype(np.float32) for _ in range(2)]
    check_matches_numpy(Model([x, z], outs), data)


def test_tf_shape_arithmetic_gather_pad_argmax_cumsum():
    backend.clear_session()
    t = layers.TFOpLambda
    x, i = Input((4, 6)), Input((3,), dtype="int32")
    shape = t("shape")(x)
    outs = [t("reshape")(x, [shape[0], -1, 3]), t("cast")(t("math.argmax")(x, axis=-1), "float32"),
            t("cast")(t("math.argmin")(x, axis=1, output_type="int32"), "float32"),
            t("math.cumsum")(x, axis=1), t("math.cumsum")(x, axis=2, exclusive=True, reverse=True),
            t("gather")(x, i, axis=2), t("gather")(x, [2, 0], axis=1),
            t("pad")(x, [[0, 0], [1, 2], [0, 1]], constant_values=1.5),
            t("pad")(x, [[0, 0], [1, 1], [2, 0]], mode="REFLECT")]
    check_matches_numpy(Model([x, i], outs), [RNG.normal(size=(2, 4, 6)).astype(np.float32),
                                              np.array([[0, 5, 2], [1, 1, 3]], np.int32)])


def test_unlowerable_tf_function_is_refused_and_predict_falls_back(tmp_path):
    backend.clear_session()
    x = Input((5,))
    y = layers.TFOpLambda("math.cumprod")(x, axis=1)
    model = Model(x, y)
    with pytest.raises(LoweringError, match=r"'tf.math.cumprod' \(class TFOpLambda\).*cumpr"):
        model.export(tmp_path / "m.onnx", format="onnx")
    assert os.listdir(tmp_path) == []
    data = RNG.normal(size=(2, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"'tf.math.cumprod' \(class TFOpLambda\)"):
        out = model.predict(data)
    np.testing.assert_allclose(out, np.cumprod(data, axis=1), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(data)


def test_mask_into_a_cudnn_rnn_is_refused():
    backend.clear_session()
    x = Input((6,), dtype="int32")
    model = Model(x, layers.CuDNNLSTM(3)(layers.Embedding(10, 4, mask_zero=True)(x)))
    with pytest.raises(LoweringError, match=r"\(class CuDNNLSTM\).*mask"):
        to_onnx(model)


def test_negative_embedding_ids_fail_in_onnxruntime_as_in_numpy():
    ort = pytest.importorskip("onnxruntime")
    backend.clear_session()
    x = Input((3,), dtype="int32")
    model = Model(x, layers.Embedding(5, 2)(x))
    data = np.array([[1, -1, 2]], np.int32)
    with pytest.raises(ValueError, match="out of range"):
        model.predict(data, engine="numpy")
    session = ort.InferenceSession(to_onnx(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="out of data bounds"):
        session.run(None, {session.get_inputs()[0].name: data})


def test_a_graph_onnxruntime_refuses_falls_back_to_numpy(monkeypatch):
    """A lowering bug that ONNX Runtime catches (an output of the wrong type) is a fallback
    with the usual one warning, and an error naming the model with engine='onnx'."""
    from numkeras.export.walk import lowering_table

    def broken(b, layer, call):  # int64 values declared as the float32 output
        return [call.out(b.op("Cast", [b.native(call.x)], to=7))]

    monkeypatch.setitem(lowering_table(), "Dense", broken)
    backend.clear_session()
    x = Input((3,))
    model = Model(x, layers.Dense(2)(x), name="broken")
    data = RNG.normal(size=(2, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match="ONNX Runtime cannot load the graph exported for "
                                         "model 'broken'"):
        out = model.predict(data)
    np.testing.assert_allclose(out, model.predict(data, engine="numpy"))
    with pytest.raises(LoweringError, match="'broken'"):
        model.predict(data, engine="onnx")


KERAS3_ACTIVATIONS = ["keras3_hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "celu",
                      "hard_shrink", "hard_tanh", "soft_shrink", "sparse_plus",
                      "sparse_sigmoid", "squareplus", "tanh_shrink"]


@pytest.mark.parametrize("name", KERAS3_ACTIVATIONS)
def test_keras3_activations(name):
    from numkeras import activations

    backend.clear_session()
    x = Input((3, 6))
    model = Model(x, layers.Activation(activations.get(name))(x))
    check_matches_numpy(model, RNG.uniform(-4, 4, (2, 3, 6)).astype(np.float32))


def test_keras3_hard_sigmoid_as_recurrent_activation():
    from numkeras import activations

    backend.clear_session()
    x = Input((5, 4))
    cell_act = activations.get("keras3_hard_sigmoid")
    model = randomize(Model(x, layers.LSTM(3, recurrent_activation=cell_act)(x)), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, 5, 4)).astype(np.float32))
