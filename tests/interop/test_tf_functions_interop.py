"""Every function of numkeras's TF-function table computes what TensorFlow 2.21 computes.

Each case calls the real ``tf.<name>`` and the table's entry for the same name with the same
arguments (a mix of tensors, Python numbers, lists and keywords) and compares value, shape
and dtype.
"""

import numpy as np
import pytest
from tf_side import tensorflow

from numkeras.ops import tf_api

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 4, 3)).astype(np.float32)
Y = rng.normal(size=(2, 4, 3)).astype(np.float32)
P = np.abs(X) + 0.1
INTS = rng.integers(-5, 6, size=(2, 4)).astype(np.int32)
B = X > 0

CASES = [
    ("__operators__.add", (X,), {"y": Y, "name": None}),
    ("__operators__.add", (np.array(2.0, np.float32),), {"y": X}),
    ("math.subtract", (X,), {"y": 1.0}), ("math.subtract", (1.0,), {"y": X}),
    ("math.multiply", (X,), {"y": 2}), ("math.truediv", (X,), {"y": Y}),
    ("math.truediv", (INTS,), {"y": 3}), ("compat.v1.floor_div", (X,), {"y": 0.7}),
    ("compat.v1.floor_div", (INTS,), {"y": 3}), ("math.floormod", (X,), {"y": 0.7}),
    ("math.floormod", (INTS,), {"y": 3}), ("math.pow", (P,), {"y": 2.5}),
    ("math.pow", (2.0,), {"y": X}), ("linalg.matmul", (X,), {"b": np.swapaxes(Y, 1, 2)}),
    ("linalg.matmul", (X,), {"b": Y, "transpose_b": True}), ("math.negative", (X,), {}),
    ("math.abs", (X,), {}), ("math.greater", (X,), {"y": 0}), ("math.less", (X,), {"y": Y}),
    ("math.greater_equal", (X,), {"y": Y}), ("math.less_equal", (X,), {"y": 0.0}),
    ("math.equal", (INTS,), {"y": 0}), ("math.not_equal", (INTS,), {"y": 0}),
    ("math.logical_not", (B,), {}), ("math.logical_and", (B,), {"y": Y > 0}),
    ("math.logical_or", (B,), {"y": Y > 0}), ("math.logical_xor", (B,), {"y": Y > 0}),
    ("math.maximum", (X,), {"y": 0.0}), ("math.minimum", (X,), {"y": Y}),
    ("math.squared_difference", (X,), {"y": Y}), ("math.divide_no_nan", (X,), {"y": (INTS[..., None] > 0).astype(np.float32)}),
    ("math.sqrt", (P,), {}), ("math.rsqrt", (P,), {}), ("math.square", (X,), {}),
    ("math.exp", (X,), {}), ("math.log", (P,), {}), ("math.log1p", (P,), {}),
    ("math.expm1", (X,), {}), ("math.reciprocal", (P,), {}), ("math.sign", (X,), {}),
    ("math.floor", (X * 3,), {}), ("math.ceil", (X * 3,), {}),
    ("math.round", (np.array([0.5, 1.5, 2.5, -0.5, 1.2], np.float32),), {}),
    ("math.sin", (X,), {}), ("math.cos", (X,), {}), ("math.tanh", (X,), {}),
    ("math.sigmoid", (X,), {}), ("math.log_sigmoid", (X,), {}), ("math.erf", (X,), {}),
    ("math.softplus", (X,), {}), ("nn.softsign", (X,), {}), ("nn.relu", (X,), {}),
    ("nn.relu6", (X * 5,), {}), ("nn.elu", (X,), {}), ("nn.selu", (X,), {}),
    ("nn.gelu", (X,), {}), ("nn.gelu", (X,), {"approximate": True}), ("nn.silu", (X,), {}),
    ("nn.leaky_relu", (X,), {"alpha": 0.3}), ("nn.softmax", (X,), {"axis": 1}),
    ("nn.softmax", (X,), {}), ("nn.log_softmax", (X,), {}),
    ("math.l2_normalize", (X,), {"axis": -1}), ("math.reduce_sum", (X,), {"axis": [1, 2]}),
    ("math.reduce_mean", (X,), {"axis": -1, "keepdims": True}),
    ("math.reduce_mean", (INTS,), {"axis": 1}), ("math.reduce_max", (X,), {"axis": 1}),
    ("math.reduce_min", (X,), {}), ("math.reduce_prod", (X,), {"axis": 2}),
    ("math.reduce_any", (B,), {"axis": 1}), ("math.reduce_all", (B,), {"axis": 1}),
    ("math.reduce_variance", (X,), {"axis": 1}), ("math.reduce_std", (X,), {"axis": 1}),
    ("math.reduce_logsumexp", (X,), {"axis": -1}), ("math.argmax", (X,), {"axis": -1}),
    ("math.argmin", (X,), {"axis": 1}), ("math.cumsum", (X,), {"axis": 1}),
    ("math.cumsum", (X,), {"axis": 1, "exclusive": True, "reverse": True}),
    ("math.top_k", (X,), {"k": 2}), ("math.add_n", ([X, Y, X],), {}),
    ("compat.v1.norm", (X,), {"ord": "euclidean", "axis": -1, "keepdims": None}),
    ("cast", (X * 3,), {"dtype": "int32"}), ("cast", (INTS,), {"dtype": "float32"}),
    ("reshape", (X,), {"shape": [-1, 12]}), ("compat.v1.transpose", (X,), {"perm": [0, 2, 1]}),
    ("expand_dims", (X,), {"axis": 1}), ("compat.v1.squeeze", (X[:, :1],), {"axis": 1}),
    ("concat", ([X, Y],), {"axis": -1}), ("stack", ([X, Y],), {"axis": 1}),
    ("unstack", (X,), {"axis": 1}), ("split", (X,), {"num_or_size_splits": 2, "axis": 1}),
    ("split", (X,), {"num_or_size_splits": [1, -1], "axis": 1}),
    ("tile", (X,), {"multiples": [1, 2, 1]}), ("repeat", (X,), {"repeats": 2, "axis": 1}),
    ("compat.v1.gather", (X,), {"indices": [0, 2], "axis": 1, "batch_dims": 0}),
    ("gather", (X,), {"indices": np.array([[0, 1], [3, 2]]), "axis": 1, "batch_dims": 1}),
    ("compat.v1.pad", (X,), {"paddings": [[0, 0], [1, 2], [0, 0]], "constant_values": 0}),
    ("pad", (X,), {"paddings": [[0, 0], [1, 2], [1, 1]], "mode": "REFLECT"}),
    ("where", (B,), {"x": X, "y": Y}), ("where", (B,), {"x": X, "y": 0.0}),
    ("clip_by_value", (X,), {"clip_value_min": -0.5, "clip_value_max": 0.5}),
    ("einsum", ("bij,bkj->bik", X, Y), {}), ("one_hot", (INTS % 5,), {"depth": 5}),
    ("one_hot", (INTS,), {"depth": 4, "on_value": 2.0, "off_value": -1.0, "axis": 1}),
    ("nn.bias_add", (X,), {"bias": np.arange(3, dtype=np.float32)}),
    ("image.resize", (X[..., None],), {"size": [8, 6]}),
    ("image.resize", (X[..., None],), {"size": [3, 5], "method": "nearest"}),
    ("compat.v1.shape", (X,), {}), ("identity", (X,), {}), ("ones_like", (X,), {}),
    ("zeros_like", (INTS,), {}), ("reverse", (X,), {"axis": [1]}),
    ("roll", (X,), {"shift": 1, "axis": 1}), ("sort", (X,), {}),
    ("argsort", (X,), {"direction": "DESCENDING"}),
    ("broadcast_to", (X[:, :1],), {"shape": [2, 4, 3]}), ("range", (5,), {}),
    ("slice", (X,), {"begin": [0, 1, 0], "size": [-1, 2, 2]}),
    ("compat.v1.boolean_mask", (X,), {"mask": [True, False, True, True], "axis": 1}),
    ("__operators__.getitem", (X,), {"slice_spec": [slice(None), slice(1, None), slice(None, None, 2)]}),
    ("__operators__.getitem", (X,), {"slice_spec": [Ellipsis, None, 0]}),
    ("__operators__.getitem", (X,), {"slice_spec": 0}),
    ("__operators__.getitem", (X,), {"slice_spec": [slice(None), slice(None, None, -1), -1]}),
]


def _tf_function(tf, name):
    obj = tf
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_function_matches_tensorflow(name, args, kwargs):
    tf = tensorflow()

    def tensor(v):
        if isinstance(v, np.ndarray):
            return tf.constant(v)
        if isinstance(v, list) and any(isinstance(a, np.ndarray) for a in v):
            return [tensor(a) for a in v]
        return v

    tf_args = [tensor(a) for a in args]
    tf_kwargs = {k: tensor(v) for k, v in kwargs.items()}
    if name == "__operators__.getitem":
        expected = tf.constant(args[0]).__getitem__(
            tuple(kwargs["slice_spec"]) if isinstance(kwargs["slice_spec"], list)
            else kwargs["slice_spec"])
    else:
        expected = _tf_function(tf, name)(*tf_args, **tf_kwargs)
    ours = tf_api.TF_FUNCTIONS[name](*args, **kwargs)
    flat_e = expected if isinstance(expected, (list, tuple)) else [expected]
    flat_o = ours if isinstance(ours, (list, tuple)) else [ours]
    assert len(flat_o) == len(flat_e)
    for o, e in zip(flat_o, flat_e):
        e = np.asarray(e)
        o = np.asarray(o)
        assert o.shape == e.shape, (o.shape, e.shape)
        assert o.dtype == e.dtype, (o.dtype, e.dtype)
        if e.dtype.kind == "f":
            np.testing.assert_allclose(o, e, rtol=2e-6, atol=2e-6)
        else:
            np.testing.assert_array_equal(o, e)
