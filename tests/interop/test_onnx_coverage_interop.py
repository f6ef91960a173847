"""tf-keras models with Keras masks into RNNs and attention, Dot, Resizing/CenterCrop,
ConvLSTM2D and TF-op layers: saved by tf-keras, loaded here, exported to ONNX (checked with
the full checker) and run in ONNX Runtime give TF's outputs within ``rtol=1e-4`` of the output
scale (the tolerance of test_onnx_interop.py; masked RNNs run as ONNX ``Scan`` loops)."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, random_weights, tensorflow, tf_keras

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RNG = np.random.default_rng(5)


def _ids(batch=3, steps=7, high=20):
    x = RNG.integers(1, high, (batch, steps))
    x[0, steps - 3:] = 0  # trailing padding
    x[1, :2] = 0  # leading padding
    x[2, steps // 2] = 0  # a hole
    return x.astype(np.int32)


def _masked_rnns(k):
    ids = k.Input((7,), dtype="int32", name="tokens")
    h = k.layers.Embedding(20, 6, mask_zero=True)(ids)
    h = k.layers.Bidirectional(k.layers.LSTM(4, return_sequences=True))(h)
    h = k.layers.Dense(5, activation="tanh")(h)
    seq = k.layers.GRU(3, return_sequences=True, go_backwards=True)(h)
    last = k.layers.SimpleRNN(3)(h)
    pooled = k.layers.GlobalAveragePooling1D()(seq)
    return k.Model(ids, [k.layers.Concatenate()([pooled, last]),
                         k.layers.GRU(2, reset_after=False)(seq)])


def _masking(k):
    x = k.Input((7, 3), name="series")
    h = k.layers.Masking(0.0)(x)
    return k.Model(x, k.layers.LSTM(4, return_sequences=True)(h))


def _attention(k):
    q = k.Input((7,), dtype="int32", name="query_ids")
    v = k.Input((7,), dtype="int32", name="value_ids")
    emb = k.layers.Embedding(20, 4, mask_zero=True)
    qe, ve = emb(q), emb(v)
    a = k.layers.Attention(use_scale=True)([qe, ve])
    b = k.layers.AdditiveAttention()([qe, ve], use_causal_mask=True)
    c = k.layers.MultiHeadAttention(2, 3)(qe, ve)
    d = k.layers.Dot(axes=(2, 2), normalize=True)([a, b])
    return k.Model([q, v], [a, b, c, d])


def _images(k):
    x = k.Input((None, None, 3), name="image")
    r = k.layers.Resizing(5, 6)(x)
    n = k.layers.Resizing(4, 9, interpolation="nearest", crop_to_aspect_ratio=True)(x)
    c = k.layers.CenterCrop(4, 4)(x)
    return k.Model(x, [r, n, c])


def _conv_lstm(k):
    x = k.Input((4, 6, 6, 2), name="video")
    h = k.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(x)
    return k.Model(x, k.layers.ConvLSTM2D(2, 2, strides=2)(h))


def _tf_ops(k):
    tf = tensorflow()
    x = k.Input((4, 6), name="x")
    h = tf.nn.relu(x * 2.0 - 1.0)
    h = tf.concat([h[:, 1:3], tf.reduce_mean(h, axis=1, keepdims=True)], axis=1)
    h = tf.matmul(h, h, transpose_b=True)
    r = tf.reshape(tf.gather(x, [2, 0, 3], axis=1), [tf.shape(x)[0], -1, 3])
    p = tf.pad(tf.cumsum(x, axis=2), [[0, 0], [1, 0], [0, 2]])
    return k.Model(x, [tf.nn.softmax(h, axis=-1), tf.transpose(x, [0, 2, 1])[:, :, ::-1], r,
                       p, tf.cast(tf.argmax(x, axis=-1), tf.float32)])


CASES = {
    "masked_rnns": (_masked_rnns, lambda: [_ids()]),
    "masking_lstm": (_masking, lambda: [RNG.normal(size=(3, 7, 3)).astype(np.float32)
                                        * (RNG.uniform(size=(3, 7, 1)) > 0.3)]),
    "attention_dot": (_attention, lambda: [_ids(), _ids()[::-1].copy()]),
    "resizing_center_crop": (_images, lambda: [RNG.uniform(0, 255, (2, 9, 13, 3))
                                               .astype(np.float32)]),
    "conv_lstm2d": (_conv_lstm, lambda: [RNG.normal(size=(2, 4, 6, 6, 2)).astype(np.float32)]),
    "tf_op_layers": (_tf_ops, lambda: [RNG.normal(size=(2, 4, 6)).astype(np.float32)]),
}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_tf_keras_model_gives_tf_outputs_in_onnxruntime(name, suffix, tmp_path):
    from numkeras import backend, models
    from numkeras.export import to_onnx

    tfk = tf_keras()
    build, data = CASES[name]
    theirs = build(tfk)
    theirs.set_weights([w * 0.5 for w in random_weights(theirs, seed=3)])
    inputs = data()
    expected = theirs(inputs if len(inputs) > 1 else inputs[0], training=False)
    expected = [np.asarray(e) for e in (expected if isinstance(expected, list) else [expected])]
    src = tmp_path / f"model{suffix}"
    theirs.save(src)

    backend.clear_session()
    ours = models.load_model(src)
    proto = to_onnx(ours)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_close_outputs(g, e, rtol=1e-4)
    fast = ours.predict(inputs if len(inputs) > 1 else inputs[0])  # the ORT engine
    assert ours._ort_cache["runner"] is not None
    for g, e in zip(fast if isinstance(fast, list) else [fast], expected):
        assert_close_outputs(g, e, rtol=1e-4)


def test_keras3_file_with_mask_nodes_gives_keras3_outputs_in_onnxruntime(tmp_path):
    """Keras 3 writes mask nodes (NotEqual, Any, mask= in calls); they lower with the rest."""
    from tf_side import keras3

    from numkeras import backend, models
    from numkeras.export import to_onnx

    k = keras3()
    ids, series = k.Input((7,), dtype="int32"), k.Input((7, 3))
    h = k.layers.LSTM(4, return_sequences=True)(k.layers.Embedding(20, 5, mask_zero=True)(ids))
    a = k.layers.GlobalAveragePooling1D()(h)
    b = k.layers.GRU(3)(k.layers.Masking(0.0)(series))
    theirs = k.Model([ids, series], [a, b])
    theirs.set_weights([w * 0.5 for w in random_weights(theirs, seed=4)])
    inputs = [_ids(), RNG.normal(size=(3, 7, 3)).astype(np.float32)
              * (RNG.uniform(size=(3, 7, 1)) > 0.3)]
    expected = [np.asarray(e) for e in theirs(inputs, training=False)]
    theirs.save(tmp_path / "k3.keras")

    backend.clear_session()
    ours = models.load_model(tmp_path / "k3.keras")
    proto = to_onnx(ours)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})
    for g, e in zip(got, expected):
        assert_close_outputs(g, e, rtol=1e-4)
