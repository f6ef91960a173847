"""The layer graphs behind ``tests/data/layers/``: recurrent, attention and normalization layers.

Each case is ``(build, input_specs, inputs)``: ``build(L, *inputs)`` applies layers of the
module ``L`` (``numkeras.layers`` or ``tf_keras.layers``) to symbolic inputs made from
``input_specs`` (``(shape, dtype)`` each) and returns the output(s); ``inputs`` is the batch fed.
``tests/data/make_layers.py`` runs them in tf-keras 2.21 and ``tests/layers/test_golden_layers.py``
in numkeras (the same cases run live against TF in ``tests/interop/test_layers_*_interop.py``).
"""

from __future__ import annotations

import numpy as np

RNG = np.random.default_rng(42)
X = RNG.standard_normal((3, 6, 4)).astype("float32")
IDS = np.array([[3, 5, 1, 0, 0, 0], [0, 2, 7, 9, 0, 1], [4, 4, 4, 4, 4, 4]], dtype="int32")
H0 = RNG.standard_normal((3, 5)).astype("float32")
C0 = RNG.standard_normal((3, 5)).astype("float32")
S3 = [RNG.standard_normal((3, 3)).astype("float32") for _ in range(2)]
IMG_SEQ = RNG.standard_normal((2, 3, 6, 5, 2)).astype("float32")
CONV_SEQ = RNG.standard_normal((2, 3, 7, 6, 2)).astype("float32")
Q = RNG.standard_normal((2, 5, 6)).astype("float32")
V = RNG.standard_normal((2, 7, 6)).astype("float32")
K = RNG.standard_normal((2, 7, 4)).astype("float32")
Q_IDS = np.array([[1, 2, 3, 0, 0], [4, 0, 5, 6, 7]], dtype="int32")
V_IDS = np.array([[1, 2, 0, 0, 0, 3, 0], [9, 8, 7, 6, 5, 4, 3]], dtype="int32")
ATT_MASK = RNG.random((2, 5, 7)) > 0.3
ATT_MASK[:, :, 0] = True
Q4 = RNG.standard_normal((2, 3, 4, 6)).astype("float32")
NORM = (RNG.standard_normal((3, 5, 4, 6)) * 3 + 1).astype("float32")

SEQ = [((6, 4), "float32")]
CASES: dict = {}


def _case(name, build, specs, inputs):
    assert name not in CASES, name
    CASES[name] = (build, specs, inputs)


# -- recurrent ----------------------------------------------------------------------------------
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
for _i, (_cls, _kwargs) in enumerate(RNN_CASES):
    _case(f"rnn{_i}_{_cls}", lambda L, x, c=_cls, k=_kwargs: getattr(L, c)(5, **k)(x), SEQ, [X])


def _masked_rnn(cls):
    def build(L, ids):
        x = L.Embedding(10, 4, mask_zero=True)(ids)
        seq = getattr(L, cls)(3, return_sequences=True)(x)
        return [seq, getattr(L, cls)(2, go_backwards=True)(seq)]
    return build


for _cls in ("SimpleRNN", "LSTM", "GRU"):
    _case(f"masked_{_cls}", _masked_rnn(_cls), [((6,), "int32")], [IDS])


def _masked_bidirectional(L, ids):
    x = L.Embedding(10, 4, mask_zero=True)(ids)
    y = L.Bidirectional(L.LSTM(3, return_sequences=True))(x)
    y = L.TimeDistributed(L.Dense(2))(y)
    return L.Bidirectional(L.GRU(2), merge_mode="sum")(y)


_case("masked_bidirectional_time_distributed", _masked_bidirectional, [((6,), "int32")], [IDS])


def _initial_states(L, x, h, c):
    seq, hh, cc = L.LSTM(5, return_sequences=True, return_state=True)(x, initial_state=[h, c])
    return [L.GRU(5, go_backwards=True)(seq, initial_state=[hh]), L.SimpleRNN(5)([x, cc])]


_case("initial_state_chain", _initial_states,
      [((6, 4), "float32"), ((5,), "float32"), ((5,), "float32")], [X, H0, C0])
_case("time_major",
      lambda L, x: L.LSTM(3, time_major=True, return_sequences=True, return_state=True)(x),
      SEQ, [X])


def _cells(L, x):
    a = L.RNN(L.LSTMCell(4), return_sequences=True)(x)
    return L.RNN([L.GRUCell(3, reset_after=False), L.LSTMCell(2), L.SimpleRNNCell(2)],
                 return_state=True)(a)


_case("stacked_cells", _cells, SEQ, [X])
for _mode, _seq, _state in [*[(m, True, True) for m in ("concat", "sum", "mul", "ave", None)],
                            ("concat", False, False), (None, False, True)]:
    _case(f"bidirectional_{_mode}_{_seq}_{_state}",
          lambda L, x, m=_mode, s=_seq, st=_state: L.Bidirectional(
              L.LSTM(3, return_sequences=s, return_state=st), merge_mode=m)(x), SEQ, [X])


def _backward_layer(L, x, hf, hb):
    bi = L.Bidirectional(L.GRU(3, return_sequences=True),
                         backward_layer=L.SimpleRNN(3, go_backwards=True, return_sequences=True))
    return bi(x, initial_state=[hf, hb])


_case("bidirectional_backward_layer", _backward_layer,
      [((6, 4), "float32"), ((3,), "float32"), ((3,), "float32")], [X, *S3])


def _time_distributed(L, x):
    y = L.TimeDistributed(L.Conv2D(3, 3, padding="same"))(x)
    y = L.TimeDistributed(L.Flatten())(y)
    return L.TimeDistributed(L.Dense(4, activation="tanh"))(y)


_case("time_distributed_conv2d", _time_distributed, [((3, 6, 5, 2), "float32")], [IMG_SEQ])
for _i, _kwargs in enumerate([
    {},
    {"padding": "same", "return_sequences": True},
    {"strides": 2, "return_state": True, "go_backwards": True},
    {"dilation_rate": 2, "padding": "same", "recurrent_activation": "sigmoid"},
]):
    _case(f"conv_lstm2d_{_i}", lambda L, x, k=_kwargs: L.ConvLSTM2D(3, (3, 3), **k)(x),
          [((3, 7, 6, 2), "float32")], [CONV_SEQ])

# -- attention ----------------------------------------------------------------------------------
for _i, (_eq, _out, _bias, _shape) in enumerate([
    ("ab,bc->ac", 4, None, (6,)),
    ("ab,bc->ac", 4, "c", (6,)),
    ("abc,cd->abd", (None, 4), "d", (5, 6)),
    ("abc,cde->abde", (None, 3, 2), "de", (5, 6)),
    ("abcd,cde->abe", (None, 3), "e", (5, 2, 6)),
    ("...b,bc->...c", 4, "c", (5, 6)),
    ("ab...,bc->ac...", (4, 6), "c", (5, 6)),
]):
    _case(f"einsum_dense_{_i}",
          lambda L, x, e=_eq, o=_out, b=_bias: L.EinsumDense(e, output_shape=o, bias_axes=b,
                                                             activation="relu")(x),
          [(_shape, "float32")], [RNG.standard_normal((2, *_shape)).astype("float32")])

for _i, (_kwargs, _with_key, _call) in enumerate([
    ({"num_heads": 2, "key_dim": 3}, False, {}),
    ({"num_heads": 3, "key_dim": 2, "value_dim": 4, "use_bias": False}, True, {}),
    ({"num_heads": 2, "key_dim": 4, "output_shape": 5}, False, {"use_causal_mask": True}),
    ({"num_heads": 1, "key_dim": 3, "output_shape": (2, 3)}, True, {}),
]):
    _specs = [((5, 6), "float32"), ((7, 6), "float32")]
    _inputs = [Q, V]
    if _with_key:
        _specs.append(((7, 4), "float32"))
        _inputs.append(K)
    if _call.get("use_causal_mask"):  # a square causal mask needs equal lengths
        _specs[1] = ((5, 6), "float32")
        _inputs[1] = np.ascontiguousarray(V[:, :5])
    _case(f"multi_head_attention_{_i}",
          lambda L, q, v, *rest, k=_kwargs, c=_call: L.MultiHeadAttention(**k)(
              q, v, key=rest[0] if rest else None, return_attention_scores=True, **c),
          _specs, _inputs)


def _mha_masks(L, q_ids, v_ids, mask):
    q = L.Embedding(10, 6, mask_zero=True)(q_ids)
    v = L.Embedding(10, 6, mask_zero=True)(v_ids)
    out, scores = L.MultiHeadAttention(2, 3)(q, v, attention_mask=mask,
                                             return_attention_scores=True)
    self_att = L.MultiHeadAttention(2, 3, softmax_robust_masking=True)(q, q, use_causal_mask=True)
    return [out, scores, self_att]


_case("multi_head_attention_masks", _mha_masks,
      [((5,), "int32"), ((7,), "int32"), ((5, 7), "bool")], [Q_IDS, V_IDS, ATT_MASK])
_case("multi_head_attention_axes",
      lambda L, q: L.MultiHeadAttention(2, 3, attention_axes=(2,))(
          q, q, return_attention_scores=True),
      [((3, 4, 6), "float32")], [Q4])

for _cls, _kwargs in [("Attention", {}), ("Attention", {"use_scale": True}),
                      ("Attention", {"score_mode": "concat"}),
                      ("Attention", {"score_mode": "concat", "use_scale": True}),
                      ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})]:
    for _causal in (False, True):
        def _dense_attention(L, q_ids, v_ids, c=_cls, k=_kwargs, causal=_causal):
            q = L.Embedding(10, 6, mask_zero=True)(q_ids)
            v = L.Embedding(10, 6, mask_zero=True)(v_ids)
            key = L.Dense(6)(v)
            out, scores = getattr(L, c)(**k)([q, v, key], return_attention_scores=True,
                                             use_causal_mask=causal)
            return [out, scores, getattr(L, c)(**k)([q, v])]

        _name = "_".join(f"{a}{b}" for a, b in sorted(_kwargs.items())) or "default"
        _case(f"{_cls}_{_name}_causal{_causal}", _dense_attention,
              [((5,), "int32"), ((7,), "int32")], [Q_IDS, V_IDS])

# -- normalization ------------------------------------------------------------------------------
for _i, _make in enumerate([
    lambda L: L.BatchNormalization(),
    lambda L: L.BatchNormalization(axis=1, epsilon=0.01, center=False),
    lambda L: L.BatchNormalization(axis=[1, 3], scale=False),
    lambda L: L.LayerNormalization(),
    lambda L: L.LayerNormalization(axis=[1, 2], epsilon=1e-5),
    lambda L: L.LayerNormalization(axis=2, center=False, scale=False),
    lambda L: L.GroupNormalization(groups=3),
    lambda L: L.GroupNormalization(groups=2, axis=2, epsilon=0.01),
    lambda L: L.UnitNormalization(axis=[1, 3]),
]):
    _case(f"normalization_{_i}", lambda L, x, m=_make: m(L)(x), [((5, 4, 6), "float32")], [NORM])


def flat(x) -> list:
    """Nested lists/tuples of outputs, flattened in order."""
    if isinstance(x, list | tuple):
        return [y for item in x for y in flat(item)]
    return [x]


def random_weights(model, seed: int = 0) -> list[np.ndarray]:
    """Distinct random values for every weight (variances positive), in ``model.weights`` order."""
    rng = np.random.default_rng(seed)
    out = []
    for var in model.weights:
        shape = tuple(var.shape)
        dtype = np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))
        low, high = (0.5, 1.5) if "variance" in var.name else (-1.0, 1.0)
        out.append(rng.uniform(low, high, shape).astype(dtype))
    return out
