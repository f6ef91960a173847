"""``tf.math`` element-wise functions and reductions on NumPy arrays, with TF's semantics.

Arguments keep TensorFlow's names (``x``, ``y``, ``input_tensor``, ``features``...) because
tf-keras stores a ``TFOpLambda`` call's arguments by those names. Python numbers and lists
become tensors as ``tf.convert_to_tensor`` makes them (``float`` -> float32, ``int`` ->
int32), and in a binary op the non-tensor operand takes the tensor operand's dtype, as TF's
operators do. Two tensors of different dtypes are an error, as in TF.

>>> import numpy as np
>>> multiply(np.array([1.5, 2.0], np.float32), 2)
array([3., 4.], dtype=float32)
>>> floormod(np.array([-3, 5], np.int32), 2), truediv(np.array([3], np.int32), 2)
(array([1, 1], dtype=int32), array([1.5]))
>>> reduce_mean(np.array([[1, 2], [4, 4]], np.int32), axis=1)
array([1, 4], dtype=int32)
"""

from __future__ import annotations

import numpy as np

from numkeras.ops import nn

_FLOATS = (np.float16, np.float32, np.float64)


def to_tensor(value, dtype=None) -> np.ndarray:
    """``value`` as ``tf.convert_to_tensor`` would make it (float32 / int32 for Python data)."""
    if isinstance(value, np.ndarray) and dtype is None:
        return value
    if dtype is not None:
        return np.asarray(value, dtype=dtype)
    out = np.asarray(value)
    if out.dtype == np.float64 and not isinstance(value, np.generic):
        out = out.astype(np.float32)
    elif out.dtype == np.int64 and not isinstance(value, np.generic):
        if out.size == 0 or (out.min() >= -2**31 and out.max() < 2**31):
            out = out.astype(np.int32)
    return out


def _pair(x, y):
    """Both operands as arrays of one dtype, TF style."""
    x_arr, y_arr = isinstance(x, np.ndarray), isinstance(y, np.ndarray)
    if x_arr and not y_arr:
        y = np.asarray(y, dtype=x.dtype)
    elif y_arr and not x_arr:
        x = np.asarray(x, dtype=y.dtype)
    else:
        x, y = to_tensor(x), to_tensor(y)
    if x.dtype != y.dtype:
        raise TypeError(f"TensorFlow refuses to combine tensors of dtypes {x.dtype.name} and "
                        f"{y.dtype.name} in one operation; cast one of them first.")
    return x, y


def _binary(np_fn, doc: str):
    def fn(x, y, name=None):
        a, b = _pair(x, y)
        with np.errstate(all="ignore"):
            return np.asarray(np_fn(a, b))
    fn.__doc__ = doc
    return fn


def _unary(np_fn, doc: str, arg: str = "x"):
    def fn(*args, name=None, **kwargs):
        x = to_tensor(args[0] if args else kwargs.pop(arg))
        with np.errstate(all="ignore"):
            return np.asarray(np_fn(x))
    fn.__doc__ = doc
    return fn


def _int_floordiv(a, b):
    return np.floor_divide(a, b)


add = _binary(np.add, "``x + y``.")
subtract = _binary(np.subtract, "``x - y``.")
multiply = _binary(np.multiply, "``x * y``.")
maximum = _binary(np.maximum, "Element-wise maximum (NaN propagates, as in TF).")
minimum = _binary(np.minimum, "Element-wise minimum.")
floordiv = _binary(_int_floordiv, "``floor(x / y)`` (``x // y``).")
floormod = _binary(np.mod, "``x - floor(x / y) * y``, the sign of ``y`` (``x % y``).")
squared_difference = _binary(lambda a, b: np.square(a - b), "``(x - y) ** 2``.")
equal = _binary(np.equal, "``x == y`` element-wise.")
not_equal = _binary(np.not_equal, "``x != y`` element-wise.")
greater = _binary(np.greater, "``x > y``.")
greater_equal = _binary(np.greater_equal, "``x >= y``.")
less = _binary(np.less, "``x < y``.")
less_equal = _binary(np.less_equal, "``x <= y``.")
logical_and = _binary(np.logical_and, "``x and y`` on booleans.")
logical_or = _binary(np.logical_or, "``x or y`` on booleans.")
logical_xor = _binary(np.logical_xor, "``x xor y`` on booleans.")
xlogy = _binary(lambda a, b: np.where(a == 0, np.zeros_like(a), a * np.log(b)),
                "``x * log(y)``, 0 where ``x == 0``.")


def truediv(x, y, name=None):
    """``x / y``; integer tensors are divided in float (int8/16 -> float32, int32/64 ->
    float64), as TF's ``truediv`` does."""
    a, b = _pair(x, y)
    if a.dtype.kind in "iu":
        target = np.float32 if a.dtype.itemsize <= 2 else np.float64
        a, b = a.astype(target), b.astype(target)
    with np.errstate(all="ignore"):
        return np.asarray(np.true_divide(a, b))


def divide(x, y, name=None):
    """``x / y`` (``tf.math.divide``)."""
    return truediv(x, y)


def divide_no_nan(x, y, name=None):
    """``x / y``, 0 where ``y == 0``."""
    a, b = _pair(x, y)
    with np.errstate(all="ignore"):
        return np.where(b == 0, np.zeros_like(a), np.true_divide(a, b)).astype(a.dtype)


def pow(x, y, name=None):  # noqa: A001 - TF's name
    """``x ** y``."""
    a, b = _pair(x, y)
    with np.errstate(all="ignore"):
        return np.asarray(np.power(a, b))


def add_n(inputs, name=None):
    """The sum of a list of same-shaped tensors."""
    arrays = [to_tensor(v) for v in inputs]
    out = arrays[0].copy()
    for a in arrays[1:]:
        out = out + a
    return out


def _rsqrt(x):
    return np.reciprocal(np.sqrt(x))


def _sign(x):
    return np.sign(x)


def _round_half_even(x):
    return np.round(x) if x.dtype.kind == "f" else x


negative = _unary(np.negative, "``-x``.")
abs = _unary(np.abs, "``|x|``.")  # noqa: A001 - TF's name
sign = _unary(_sign, "-1, 0 or 1 (NaN stays NaN).")
square = _unary(np.square, "``x * x``.")
sqrt = _unary(np.sqrt, "Square root.")
rsqrt = _unary(_rsqrt, "``1 / sqrt(x)``.")
exp = _unary(np.exp, "``e ** x``.")
expm1 = _unary(np.expm1, "``exp(x) - 1``.")
log = _unary(np.log, "Natural logarithm.")
log1p = _unary(np.log1p, "``log(1 + x)``.")
reciprocal = _unary(np.reciprocal, "``1 / x``.")
floor = _unary(np.floor, "Round down.")
ceil = _unary(np.ceil, "Round up.")
round = _unary(_round_half_even, "Round half to even (banker's rounding), as TF.")  # noqa: A001
sin = _unary(np.sin, "Sine.")
cos = _unary(np.cos, "Cosine.")
tan = _unary(np.tan, "Tangent.")
asin = _unary(np.arcsin, "Arcsine.")
acos = _unary(np.arccos, "Arccosine.")
atan = _unary(np.arctan, "Arctangent.")
sinh = _unary(np.sinh, "Hyperbolic sine.")
cosh = _unary(np.cosh, "Hyperbolic cosine.")
tanh = _unary(nn.tanh, "Hyperbolic tangent.")
sigmoid = _unary(nn.sigmoid, "Logistic sigmoid.")
log_sigmoid = _unary(lambda x: -nn.softplus(-x), "``log(sigmoid(x))`` = ``-softplus(-x)``.")
erf = _unary(nn.erf, "The error function.")
logical_not = _unary(np.logical_not, "``not x`` on booleans.")
is_nan = _unary(np.isnan, "Whether each element is NaN.")
is_inf = _unary(np.isinf, "Whether each element is infinite.")
is_finite = _unary(np.isfinite, "Whether each element is finite.")
relu = _unary(nn.relu, "``max(x, 0)``.", "features")
relu6 = _unary(nn.relu6, "``min(max(x, 0), 6)``.", "features")
elu = _unary(nn.elu, "``x`` if positive, else ``exp(x) - 1``.", "features")
selu = _unary(nn.selu, "Scaled ELU.", "features")
softplus = _unary(nn.softplus, "``log(1 + exp(x))``.", "features")
softsign = _unary(nn.softsign, "``x / (1 + |x|)``.", "features")


def gelu(features, approximate=False, name=None):
    """GELU (exact erf form, or the tanh form with ``approximate=True``)."""
    return nn.gelu(to_tensor(features), approximate=bool(approximate))


def silu(features, beta=1.0, name=None):
    """``x * sigmoid(beta * x)`` (``tf.nn.silu`` / ``tf.nn.swish``)."""
    x = to_tensor(features)
    if beta == 1.0:
        return nn.swish(x)
    return x * nn.sigmoid(x * np.asarray(beta, x.dtype))


def leaky_relu(features, alpha=0.2, name=None):
    """``x`` if positive, else ``alpha * x``."""
    x = to_tensor(features)
    return np.where(x > 0, x, x * np.asarray(alpha, x.dtype))


def softmax(logits, axis=None, name=None):
    """Softmax over ``axis`` (the last one by default)."""
    return nn.softmax(to_tensor(logits), -1 if axis is None else axis)


def log_softmax(logits, axis=None, name=None):
    """Log-softmax over ``axis`` (the last one by default)."""
    return nn.log_softmax(to_tensor(logits), -1 if axis is None else axis)


# -- reductions ----------------------------------------------------------------------------
def _axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple, np.ndarray)):
        return tuple(int(a) for a in np.asarray(axis).reshape(-1))
    return int(axis)


def _reduce(np_fn, doc: str):
    def fn(input_tensor, axis=None, keepdims=False, name=None, **legacy):
        x = to_tensor(input_tensor)
        axis = _axis(legacy.pop("reduction_indices", axis) if "reduction_indices" in legacy
                     else axis)
        keepdims = bool(legacy.pop("keep_dims", keepdims) or keepdims)
        if legacy:
            raise TypeError(f"Unexpected arguments {sorted(legacy)}.")
        with np.errstate(all="ignore"):
            return np.asarray(np_fn(x, axis, keepdims))
    fn.__doc__ = doc
    return fn


def _mean(x, axis, keepdims):
    if x.dtype.kind in "iu":  # TF: integer sum, then integer division (truncating)
        total = np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
        count = x.size // max(total.size, 1) if x.size else 1
        return (np.trunc(total / count)).astype(x.dtype)
    if x.dtype == np.float16:
        return np.mean(x, axis=axis, keepdims=keepdims, dtype=np.float32).astype(np.float16)
    return np.mean(x, axis=axis, keepdims=keepdims)


def _var(x, axis, keepdims):
    mean = np.mean(x, axis=axis, keepdims=True)
    return np.mean(np.square(x - mean), axis=axis, keepdims=keepdims)


reduce_sum = _reduce(lambda x, a, k: np.sum(x, axis=a, keepdims=k, dtype=x.dtype), "Sum.")
reduce_mean = _reduce(_mean, "Mean (integer tensors: truncated integer mean, as TF).")
reduce_max = _reduce(lambda x, a, k: np.max(x, axis=a, keepdims=k), "Maximum.")
reduce_min = _reduce(lambda x, a, k: np.min(x, axis=a, keepdims=k), "Minimum.")
reduce_prod = _reduce(lambda x, a, k: np.prod(x, axis=a, keepdims=k, dtype=x.dtype), "Product.")
reduce_all = _reduce(lambda x, a, k: np.all(x, axis=a, keepdims=k), "Logical and.")
reduce_any = _reduce(lambda x, a, k: np.any(x, axis=a, keepdims=k), "Logical or.")
reduce_variance = _reduce(_var, "Population variance.")
reduce_std = _reduce(lambda x, a, k: np.sqrt(_var(x, a, k)), "Population standard deviation.")
reduce_logsumexp = _reduce(lambda x, a, k: nn.logsumexp(x, a, k), "``log(sum(exp(x)))``.")
reduce_euclidean_norm = _reduce(lambda x, a, k: np.sqrt(np.sum(np.square(x), axis=a,
                                                                keepdims=k)), "L2 norm.")


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x ** 2), epsilon))`` over ``axis``."""
    x = to_tensor(x)
    axis = _axis(dim if axis is None and dim is not None else axis)
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True)
    return x * _rsqrt(np.maximum(square_sum, np.asarray(epsilon, x.dtype)))


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, **legacy):
    """Vector norms (``ord`` 'euclidean'/2, 1, or inf) over ``axis``."""
    x = to_tensor(tensor)
    axis = _axis(axis)
    keep = bool(keepdims or legacy.get("keep_dims"))
    if ord in ("euclidean", 2, 2.0, "fro"):
        return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keep))
    if ord in (1, 1.0):
        return np.sum(np.abs(x), axis=axis, keepdims=keep)
    if ord == np.inf or ord == "inf":
        return np.max(np.abs(x), axis=axis, keepdims=keep)
    raise ValueError(f"norm: ord={ord!r} is not supported by numkeras (use 'euclidean', 1 "
                     "or inf).")


def _index_dtype(dtype, default):
    return np.dtype(default if dtype is None else str(dtype).replace("tf.", ""))


def argmax(input, axis=None, output_type="int64", name=None, dimension=None):  # noqa: A002
    """Index of the largest value along ``axis`` (default 0)."""
    axis = dimension if axis is None and dimension is not None else axis
    out = np.argmax(to_tensor(input), axis=0 if axis is None else int(axis))
    return np.asarray(out, _index_dtype(output_type, "int64"))


def argmin(input, axis=None, output_type="int64", name=None, dimension=None):  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0)."""
    axis = dimension if axis is None and dimension is not None else axis
    out = np.argmin(to_tensor(input), axis=0 if axis is None else int(axis))
    return np.asarray(out, _index_dtype(output_type, "int64"))


def _cumulative(x, axis, exclusive, reverse, fn, identity):
    x = to_tensor(x)
    axis = int(axis)
    if reverse:
        x = np.flip(x, axis)
    out = fn(x, axis=axis)
    if exclusive:
        pad = np.full_like(np.take(out, [0], axis=axis), identity)
        out = np.concatenate([pad, np.take(out, np.arange(out.shape[axis] - 1), axis=axis)],
                             axis=axis)
    return np.flip(out, axis) if reverse else out


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running sum along ``axis``."""
    return _cumulative(x, axis, exclusive, reverse,
                       lambda a, axis: np.cumsum(a, axis=axis, dtype=a.dtype), 0)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running product along ``axis``."""
    return _cumulative(x, axis, exclusive, reverse,
                       lambda a, axis: np.cumprod(a, axis=axis, dtype=a.dtype), 1)


def count_nonzero(input, axis=None, keepdims=None, dtype="int64", name=None):  # noqa: A002
    """How many elements are not zero along ``axis``."""
    out = np.count_nonzero(to_tensor(input), axis=_axis(axis), keepdims=bool(keepdims))
    return np.asarray(out, _index_dtype(dtype, "int64"))


def top_k(input, k=1, sorted=True, index_type="int32", name=None):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest entries of the last axis, largest first;
    ties keep the lower index first, as TF."""
    x = to_tensor(input)
    order = np.argsort(-x, axis=-1, kind="stable")[..., : int(k)] if x.dtype.kind != "b" else \
        np.argsort(~x, axis=-1, kind="stable")[..., : int(k)]
    values = np.take_along_axis(x, order, axis=-1)
    return values, order.astype(_index_dtype(index_type, "int32"))
