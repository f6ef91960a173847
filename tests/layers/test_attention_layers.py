"""Attention layers and EinsumDense from first principles: scaled dot-product attention written
out with NumPy, additive scores, masks (padding, explicit, causal), shapes, names, configs and
argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import numkeras as nk
from numkeras import layers
from numkeras.engine.keras_tensor import get_mask, with_mask

RNG = np.random.default_rng(2)
Q = RNG.standard_normal((2, 4, 6)).astype("float32")
V = RNG.standard_normal((2, 5, 6)).astype("float32")


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_dot_attention_formula_scale_and_masks():
    layer = layers.Attention(use_scale=True)
    layer([Q, V])
    layer.set_weights([np.float32(0.5)])
    out, weights = layer([Q, V], return_attention_scores=True)
    ref_w = softmax(0.5 * Q @ V.transpose(0, 2, 1))
    np.testing.assert_allclose(weights, ref_w, rtol=1e-5)
    np.testing.assert_allclose(out, ref_w @ V, rtol=1e-5, atol=1e-6)
    q_mask = np.array([[True, True, False, True]] * 2)
    v_mask = np.array([[True, False, True, True, False]] * 2)
    out, weights = layer([with_mask(Q, q_mask), with_mask(V, v_mask)],
                         return_attention_scores=True)
    assert np.all(weights[:, :, ~v_mask[0]] < 1e-8)
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-6)
    assert np.all(out[:, 2] == 0)  # padded query step
    np.testing.assert_array_equal(get_mask(out), q_mask)


def test_causal_attention_ignores_the_future():
    x = Q[:, :4]
    _, weights = layers.Attention()([x, x], return_attention_scores=True,
                                    use_causal_mask=True)
    assert np.all(np.triu(weights[0], k=1) < 1e-8)
    _, w2 = layers.Attention(causal=True)([x, x], return_attention_scores=True)
    np.testing.assert_allclose(w2, weights)


def test_concat_and_additive_scores():
    att = layers.Attention(score_mode="concat")
    out, w = att([Q, V], return_attention_scores=True)
    ref = softmax(np.tanh(Q[:, :, None] + V[:, None]).sum(-1))
    np.testing.assert_allclose(w, ref, rtol=1e-5)
    add = layers.AdditiveAttention()
    add([Q, V])
    scale = RNG.standard_normal(6).astype("float32")
    add.set_weights([scale])
    out, w = add([Q, V, V * 2], return_attention_scores=True)
    ref = softmax((scale * np.tanh(Q[:, :, None] + 2 * V[:, None])).sum(-1))
    np.testing.assert_allclose(w, ref, rtol=1e-5)
    np.testing.assert_allclose(out, ref @ V, rtol=1e-5, atol=1e-6)
    assert [x.name for x in add.weights] == ["additive_attention/scale:0"]
    assert layers.AdditiveAttention(use_scale=False).get_config()["use_scale"] is False


def _mha_reference(mha, q, v, mask=None):
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    qp = np.einsum("btd,dnh->btnh", q, wq) + bq
    kp = np.einsum("bsd,dnh->bsnh", v, wk) + bk
    vp = np.einsum("bsd,dnh->bsnh", v, wv) + bv
    scores = np.einsum("bsnh,btnh->bnts", kp, qp / np.sqrt(wq.shape[-1]))
    if mask is not None:
        scores = scores + (1.0 - mask[:, None].astype("float32")) * -1e9
    weights = softmax(scores)
    out = np.einsum("bnts,bsnh->btnh", weights, vp)
    return np.einsum("btnh,nhd->btd", out, wo) + bo, weights


def test_multi_head_attention_formula_and_masks():
    mha = layers.MultiHeadAttention(num_heads=3, key_dim=2)
    mha(Q, V)
    mha.set_weights([RNG.uniform(-1, 1, w.shape).astype("float32") for w in mha.weights])
    out, scores = mha(Q, V, return_attention_scores=True)
    ref_out, ref_scores = _mha_reference(mha, Q, V)
    np.testing.assert_allclose(out, ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-6)
    mask = RNG.random((2, 4, 5)) > 0.4
    mask[..., 0] = True
    out, scores = mha(Q, V, attention_mask=mask, return_attention_scores=True)
    ref_out, ref_scores = _mha_reference(mha, Q, V, mask)
    np.testing.assert_allclose(out, ref_out, rtol=1e-4, atol=1e-5)
    assert np.all(scores[np.broadcast_to(~mask[:, None], scores.shape)] < 1e-8)
    # a mask carried by the value (padding) acts like an attention mask
    v_mask = np.array([[True, True, True, False, False]] * 2)
    carried = mha(Q, with_mask(V, v_mask))
    explicit = mha(Q, V, attention_mask=np.broadcast_to(v_mask[:, None], (2, 4, 5)))
    np.testing.assert_allclose(carried, explicit, rtol=1e-6)
    causal = mha(Q, Q, use_causal_mask=True, return_attention_scores=True)[1]
    assert np.all(np.triu(causal[0, 0], k=1) < 1e-8)


def test_multi_head_attention_names_shapes_and_symbolic_use():
    q, v = nk.Input((4, 6)), nk.Input((5, 3))
    mha = layers.MultiHeadAttention(2, 3, value_dim=4, output_shape=7)
    out, scores = mha(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 7) and scores.shape == (None, 2, 4, 5)
    assert [(w.name, w.shape) for w in mha.weights] == [
        ("multi_head_attention/query/kernel:0", (6, 2, 3)),
        ("multi_head_attention/query/bias:0", (2, 3)),
        ("multi_head_attention/key/kernel:0", (3, 2, 3)),
        ("multi_head_attention/key/bias:0", (2, 3)),
        ("multi_head_attention/value/kernel:0", (3, 2, 4)),
        ("multi_head_attention/value/bias:0", (2, 4)),
        ("multi_head_attention/attention_output/kernel:0", (2, 4, 7)),
        ("multi_head_attention/attention_output/bias:0", (7,))]
    assert [n for n, _ in mha._tracked_attributes()] == [
        "_query_dense", "_key_dense", "_value_dense", "_softmax", "_dropout_layer",
        "_output_dense"]
    # built on keras.Input, the sub-layers are named in tf-keras's scratch graph: the session's
    # counters are untouched (an eager first call does use them)
    assert layers.Dropout(0.1).name == "dropout"
    layers.MultiHeadAttention(2, 3)(Q[..., :6], Q[..., :6])
    assert layers.Dropout(0.1).name == "dropout_2"
    model = nk.Model([q, v], out)
    assert model([Q[..., :6], V[..., :3]]).shape == (2, 4, 7)
    config = mha.get_config()
    assert config["query_shape"] == [None, 4, 6] and config["value_shape"] == [None, 5, 3]
    rebuilt = layers.MultiHeadAttention.from_config(config)
    rebuilt(Q, V[..., :3])
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in mha.weights]


def test_einsum_dense_formula():
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 3, 2), bias_axes="de")
    out = layer(Q)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (6, 3, 2) and bias.shape == (3, 2)
    np.testing.assert_allclose(out, np.einsum("abc,cde->abde", Q, kernel) + bias, rtol=1e-5,
                               atol=1e-6)
    assert layer.compute_output_shape((None, 4, 6)) == (None, 4, 3, 2)
    ell = layers.EinsumDense("...b,bc->...c", output_shape=5, bias_axes="c")
    assert ell(Q).shape == (2, 4, 5)
    left = layers.EinsumDense("abc,cd->abd", output_shape=(None, 2), bias_axes="b")
    left(Q)
    assert left.weights[1].shape == (4, 1)


@pytest.mark.parametrize("make,match", [
    (lambda: layers.MultiHeadAttention(0, 2), "num_heads"),
    (lambda: layers.MultiHeadAttention(2, -1), "key_dim"),
    (lambda: layers.MultiHeadAttention(2, 2, dropout=2), "dropout"),
    (lambda: layers.Attention(score_mode="cosine"), "score_mode"),
    (lambda: layers.EinsumDense("ab->b", 3), "equation"),
    (lambda: layers.EinsumDense("ab,bc->ac", 3, bias_axes=3), "bias_axes"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(Q)
    with pytest.raises(ValueError, match=r'"attention_1".*min_ndim=3'):
        layers.Attention()([Q[0], V[0]])
    with pytest.raises(ValueError, match=r"multi_head_attention.*min_ndim=3"):
        layers.MultiHeadAttention(2, 2)(Q[0], V[0])
    with pytest.raises(ValueError, match="Bias dimension"):
        layers.EinsumDense("abc,cd->abd", (None, 2), bias_axes="x")(Q)
