"""The fixed table of TensorFlow API functions numkeras can run: TF name -> NumPy function.

tf-keras records a TF function called on Keras tensors as a ``TFOpLambda`` (or, for
indexing, ``SlicingOpLambda``) layer whose config names the function by its TF API path
without ``tf.`` (``"math.multiply"``, ``"__operators__.getitem"``, ``"nn.relu"``,
``"compat.v1.transpose"``...). A model file is rebuilt only from functions listed here:
the table is data, nothing named in a file is ever imported or evaluated.

>>> import numpy as np
>>> TF_FUNCTIONS["math.reduce_mean"](np.ones((2, 3), np.float32), axis=-1)
array([1., 1.], dtype=float32)
>>> "compat.v1.transpose" in TF_FUNCTIONS, is_supported("io.read_file")
(True, False)
"""

from __future__ import annotations

from numkeras.ops import tf_array as A
from numkeras.ops import tf_math as M

_MATH = {  # exported under tf.math (and most also at the top level of tf)
    "add": M.add, "subtract": M.subtract, "multiply": M.multiply, "truediv": M.truediv,
    "divide": M.divide, "divide_no_nan": M.divide_no_nan, "floordiv": M.floordiv,
    "floormod": M.floormod, "mod": M.floormod, "pow": M.pow, "maximum": M.maximum,
    "minimum": M.minimum, "squared_difference": M.squared_difference, "xlogy": M.xlogy,
    "equal": M.equal, "not_equal": M.not_equal, "greater": M.greater,
    "greater_equal": M.greater_equal, "less": M.less, "less_equal": M.less_equal,
    "logical_and": M.logical_and, "logical_or": M.logical_or, "logical_xor": M.logical_xor,
    "logical_not": M.logical_not, "add_n": M.add_n, "negative": M.negative, "abs": M.abs,
    "sign": M.sign, "square": M.square, "sqrt": M.sqrt, "rsqrt": M.rsqrt, "exp": M.exp,
    "expm1": M.expm1, "log": M.log, "log1p": M.log1p, "reciprocal": M.reciprocal,
    "floor": M.floor, "ceil": M.ceil, "round": M.round, "sin": M.sin, "cos": M.cos,
    "tan": M.tan, "asin": M.asin, "acos": M.acos, "atan": M.atan, "sinh": M.sinh,
    "cosh": M.cosh, "tanh": M.tanh, "sigmoid": M.sigmoid, "log_sigmoid": M.log_sigmoid,
    "erf": M.erf, "is_nan": M.is_nan, "is_inf": M.is_inf, "is_finite": M.is_finite,
    "softplus": M.softplus, "softsign": M.softsign, "reduce_sum": M.reduce_sum,
    "reduce_mean": M.reduce_mean, "reduce_max": M.reduce_max, "reduce_min": M.reduce_min,
    "reduce_prod": M.reduce_prod, "reduce_all": M.reduce_all, "reduce_any": M.reduce_any,
    "reduce_variance": M.reduce_variance, "reduce_std": M.reduce_std,
    "reduce_logsumexp": M.reduce_logsumexp, "reduce_euclidean_norm": M.reduce_euclidean_norm,
    "l2_normalize": M.l2_normalize, "argmax": M.argmax, "argmin": M.argmin,
    "cumsum": M.cumsum, "cumprod": M.cumprod, "count_nonzero": M.count_nonzero,
    "top_k": M.top_k,
}
_NN = {
    "relu": M.relu, "relu6": M.relu6, "elu": M.elu, "selu": M.selu, "gelu": M.gelu,
    "silu": M.silu, "swish": M.silu, "leaky_relu": M.leaky_relu, "softmax": M.softmax,
    "log_softmax": M.log_softmax, "sigmoid": M.sigmoid, "tanh": M.tanh,
    "softplus": M.softplus, "softsign": M.softsign, "l2_normalize": M.l2_normalize,
}
_TOP = {  # exported at the top level of tf
    "cast": A.cast, "identity": A.identity, "reshape": A.reshape, "transpose": A.transpose,
    "expand_dims": A.expand_dims, "squeeze": A.squeeze, "concat": A.concat, "stack": A.stack,
    "unstack": A.unstack, "split": A.split, "tile": A.tile, "repeat": A.repeat,
    "gather": A.gather, "gather_nd": A.gather_nd, "pad": A.pad, "where": A.where,
    "clip_by_value": A.clip_by_value, "einsum": A.einsum, "matmul": A.matmul,
    "one_hot": A.one_hot, "shape": A.shape, "size": A.size, "rank": A.rank,
    "ones_like": A.ones_like, "zeros_like": A.zeros_like, "fill": A.fill, "range": A.range_,
    "reverse": A.reverse, "roll": A.roll, "broadcast_to": A.broadcast_to, "sort": A.sort,
    "argsort": A.argsort, "slice": A.slice_, "boolean_mask": A.boolean_mask, "norm": M.norm,
    "add_n": M.add_n, "floor_div": M.floordiv,
}
_NN["bias_add"] = A.bias_add
_OTHER = {
    "__operators__.add": M.add, "__operators__.getitem": A.getitem,
    "linalg.matmul": A.matmul, "linalg.einsum": A.einsum, "linalg.norm": M.norm,
    "linalg.l2_normalize": M.l2_normalize, "linalg.transpose": A.transpose,
    "image.resize": A.image_resize,
}


def _build() -> dict:
    table: dict = {}
    for name, fn in _TOP.items():
        table[name] = fn
    for name, fn in _MATH.items():
        table[f"math.{name}"] = fn
        table.setdefault(name, fn)
    for name, fn in _NN.items():
        table[f"nn.{name}"] = fn
    table.update(_OTHER)
    for name, fn in list(table.items()):  # tf-keras records v1 spellings of some functions
        if not name.startswith("__"):
            table.setdefault(f"compat.v1.{name}", fn)
    return table


#: TF API name (as in a ``TFOpLambda`` config's ``function``) -> NumPy implementation.
TF_FUNCTIONS: dict = _build()
#: Functions tf-keras wraps in ``SlicingOpLambda`` (their slice arguments are stored as dicts).
SLICING_FUNCTIONS = frozenset({"__operators__.getitem", "boolean_mask",
                               "compat.v1.boolean_mask"})


def is_supported(function: str) -> bool:
    """Whether a ``TFOpLambda``'s ``function`` name is in the table."""
    return isinstance(function, str) and function in TF_FUNCTIONS


def lookup(function: str):
    """The NumPy implementation of a TF function name, or a ValueError naming it."""
    if not is_supported(function):
        raise ValueError(f"TF function tf.{function} is not supported by numkeras (it only "
                         "runs the functions of its fixed table, numkeras.ops.tf_api).")
    return TF_FUNCTIONS[function]
