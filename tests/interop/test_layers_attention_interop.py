"""EinsumDense, MultiHeadAttention, Attention and AdditiveAttention vs real tf-keras 2.21:
weight names/order/shapes, tracked children, configs and forward outputs (tf-keras weights
copied into numkeras) with masks (explicit, causal and carried from Embedding(mask_zero))."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, random_weights, tf_keras

import numkeras as nk

RNG = np.random.default_rng(7)
Q = RNG.standard_normal((2, 5, 6)).astype("float32")
V = RNG.standard_normal((2, 7, 6)).astype("float32")
K = RNG.standard_normal((2, 7, 4)).astype("float32")
Q_IDS = np.array([[1, 2, 3, 0, 0], [4, 0, 5, 6, 7]], dtype="int32")
V_IDS = np.array([[1, 2, 0, 0, 0, 3, 0], [9, 8, 7, 6, 5, 4, 3]], dtype="int32")
ATT_MASK = RNG.random((2, 5, 7)) > 0.3
ATT_MASK[:, :, 0] = True


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    return [x]


def _compare(build, input_specs, inputs, seed=0):
    tfk = tf_keras()
    tf_inputs = [tfk.Input(shape, dtype=dtype) for shape, dtype in input_specs]
    tf_out = build(tfk.layers, *tf_inputs)
    tf_model = tfk.Model(tf_inputs, tf_out)
    nk_inputs = [nk.Input(shape, dtype=dtype) for shape, dtype in input_specs]
    nk_out = build(nk.layers, *nk_inputs)
    nk_model = nk.Model(nk_inputs, nk_out)
    assert [w.name for w in nk_model.weights] == [w.name for w in tf_model.weights]
    assert [tuple(w.shape) for w in nk_model.weights] == \
        [tuple(w.shape) for w in tf_model.weights]
    weights = random_weights(tf_model, seed)
    tf_model.set_weights(weights)
    nk_model.set_weights(weights)
    feed = inputs if len(inputs) > 1 else inputs[0]
    theirs = _flat(tf_model(feed, training=False))
    ours = _flat(nk_model(feed))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert_close_outputs(a, np.asarray(b))
    assert [tuple(t.shape) for t in _flat(nk_out)] == [tuple(t.shape) for t in _flat(tf_out)]
    return nk_model


EINSUM_CASES = [
    ("ab,bc->ac", 4, None, (6,)),
    ("ab,bc->ac", 4, "c", (6,)),
    ("abc,cd->abd", (None, 4), "d", (5, 6)),
    ("abc,cde->abde", (None, 3, 2), "de", (5, 6)),
    ("abcd,cde->abe", (None, 3), "e", (5, 2, 6)),
    ("...b,bc->...c", 4, "c", (5, 6)),
    ("ab...,bc->ac...", (4, 6), "c", (5, 6)),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EINSUM_CASES)
def test_einsum_dense(equation, output_shape, bias_axes, shape):
    x = RNG.standard_normal((2,) + shape).astype("float32")

    def build(L, inp):
        return L.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes,
                             activation="relu")(inp)

    _compare(build, [(shape, "float32")], [x])


MHA_CASES = [
    ({"num_heads": 2, "key_dim": 3}, False, {}),
    ({"num_heads": 3, "key_dim": 2, "value_dim": 4, "use_bias": False}, True, {}),
    ({"num_heads": 2, "key_dim": 4, "output_shape": 5}, False, {"use_causal_mask": True}),
    ({"num_heads": 1, "key_dim": 3, "output_shape": (2, 3)}, True, {}),
]


@pytest.mark.parametrize("kwargs,with_key,call_kwargs", MHA_CASES)
def test_multi_head_attention(kwargs, with_key, call_kwargs):
    def build(L, q, v, *rest):
        mha = L.MultiHeadAttention(**kwargs)
        key = rest[0] if with_key else None
        return mha(q, v, key=key, return_attention_scores=True, **call_kwargs)

    specs = [((5, 6), "float32"), ((7, 6), "float32")]
    inputs = [Q, V]
    if with_key:
        specs.append(((7, 4), "float32"))
        inputs.append(K)
    if call_kwargs.get("use_causal_mask"):  # causal needs equal lengths for a square mask
        specs[1] = ((5, 6), "float32")
        inputs[1] = V[:, :5]
    _compare(build, specs, inputs)


def test_multi_head_attention_masks():
    def build(L, q_ids, v_ids, mask):
        q = L.Embedding(10, 6, mask_zero=True)(q_ids)
        v = L.Embedding(10, 6, mask_zero=True)(v_ids)
        out, scores = L.MultiHeadAttention(2, 3)(q, v, attention_mask=mask,
                                                 return_attention_scores=True)
        self_att = L.MultiHeadAttention(2, 3, softmax_robust_masking=True)(
            q, q, use_causal_mask=True)
        return [out, scores, self_att]

    _compare(build, [((5,), "int32"), ((7,), "int32"), ((5, 7), "bool")],
             [Q_IDS, V_IDS, ATT_MASK])


def test_multi_head_attention_attention_axes():
    x = RNG.standard_normal((2, 3, 4, 6)).astype("float32")

    def build(L, q):
        return L.MultiHeadAttention(2, 3, attention_axes=(2,))(q, q,
                                                                return_attention_scores=True)

    _compare(build, [((3, 4, 6), "float32")], [x])


@pytest.mark.parametrize("cls,kwargs", [
    ("Attention", {}),
    ("Attention", {"use_scale": True}),
    ("Attention", {"score_mode": "concat"}),
    ("Attention", {"score_mode": "concat", "use_scale": True}),
    ("AdditiveAttention", {}),
    ("AdditiveAttention", {"use_scale": False}),
])
@pytest.mark.parametrize("causal", [False, True])
def test_dense_attention(cls, kwargs, causal):
    def build(L, q_ids, v_ids):
        q = L.Embedding(10, 6, mask_zero=True)(q_ids)
        v = L.Embedding(10, 6, mask_zero=True)(v_ids)
        k = L.Dense(6)(v)
        layer = getattr(L, cls)(**kwargs)
        out, scores = layer([q, v, k], return_attention_scores=True, use_causal_mask=causal)
        plain = getattr(L, cls)(**kwargs)([q, v])
        return [out, scores, plain]

    _compare(build, [((5,), "int32"), ((7,), "int32")], [Q_IDS, V_IDS])


def test_dense_attention_explicit_masks():
    q_mask = Q_IDS != 0
    v_mask = V_IDS != 0
    for name in ("Attention", "AdditiveAttention"):
        tfk = tf_keras()
        theirs = getattr(tfk.layers, name)()
        ref = theirs([Q, V], mask=[q_mask, v_mask])
        ours = getattr(nk.layers, name)()
        ours([Q, V])
        ours.set_weights(theirs.get_weights())
        assert_close_outputs(ours([Q, V], mask=[q_mask, v_mask]), np.asarray(ref))


CONFIG_CASES = [
    (lambda L: L.MultiHeadAttention(2, 3, value_dim=4, dropout=0.1), 2),
    (lambda L: L.Attention(use_scale=True, score_mode="concat"), 2),
    (lambda L: L.AdditiveAttention(use_scale=False), 2),
    (lambda L: L.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d"), 1),
]


@pytest.mark.parametrize("index", range(len(CONFIG_CASES)))
def test_configs_and_tracked_children(index):
    make, n_inputs = CONFIG_CASES[index]
    tfk = tf_keras()
    theirs, ours = make(tfk.layers), make(nk.layers)
    if n_inputs == 1:
        theirs(tfk.Input((5, 6)))
        ours(nk.Input((5, 6)))
    elif isinstance(theirs, tfk.layers.MultiHeadAttention):
        theirs(tfk.Input((5, 6)), tfk.Input((7, 6)))
        ours(nk.Input((5, 6)), nk.Input((7, 6)))
    else:
        theirs([tfk.Input((5, 6)), tfk.Input((7, 6))])
        ours([nk.Input((5, 6)), nk.Input((7, 6))])
    tf_config, nk_config = theirs.get_config(), ours.get_config()
    assert list(nk_config) == list(tf_config)
    for key, value in tf_config.items():
        if key.endswith("_shape") and value is not None:
            value = [None if d is None else int(d) for d in value]
        if key != "name":
            assert nk_config[key] == value, key
    assert [n for n, _ in ours._tracked_attributes()] == \
        list(theirs._trackable_children(save_type="checkpoint"))
    if n_inputs == 2 and hasattr(theirs, "_query_dense"):
        assert [n for n, _ in ours._query_dense._tracked_attributes()] == \
            list(theirs._query_dense._trackable_children(save_type="checkpoint"))
        assert [sub.name for sub in ours._layers] == [sub.name for sub in theirs._self_tracked_trackables]
        rebuilt = type(ours).from_config(ours.get_config())
        assert rebuilt._query_dense.equation == theirs._query_dense.equation
