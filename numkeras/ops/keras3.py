"""Keras 3's ``keras.ops`` functions on NumPy arrays, and the operation classes Keras 3 saves.

Keras 3 records ``keras.ops.*`` calls on Keras tensors as *operation* nodes in functional
configs (``{"module": "keras.src.ops.numpy", "class_name": "NotEqual", ...}``): the class's
constructor arguments in ``config``, its call arguments in the node. :data:`OPERATIONS` maps
those class names to the functions here, which follow Keras 3's argument names and its dtype
rules (a Python number takes the tensor's dtype; ints mixed with floats give the float;
``mean``/``true_divide``/``sqrt`` of ints give float32).

On Keras tensors these functions build the same nodes (through a hook the layers install,
since ops sit below the engine).

The module is long because it is one table: about ninety short functions, each next to
the Keras 3 operation class that names it; split up, the table could not be read at once.

>>> import numpy as np
>>> mean(np.array([[1, 2], [4, 4]], np.int32), axis=1)
array([1.5, 4. ], dtype=float32)
>>> not_equal(np.array([0, 3]), 0), get_item(np.arange(6).reshape(2, 3), (slice(None), -1))
(array([False,  True]), array([2, 5]))
>>> OPERATIONS["Mean"].config, OPERATIONS["Where"].call
(('axis', 'keepdims'), ('condition', 'x1', 'x2'))
"""

from __future__ import annotations

import builtins
import inspect
from typing import NamedTuple

import numpy as np

from numkeras.ops import nn, nn_keras3
from numkeras.ops import tf_array as A
from numkeras.ops import tf_math as M

__all__ = ["abs", "absolute", "add", "all", "any", "argmax", "argmin", "cast", "ceil", "clip",
    "concatenate", "convert_to_numpy", "convert_to_tensor", "cos", "cumsum", "divide", "einsum",
    "elu", "equal", "erf", "exp", "expand_dims", "flip", "floor", "floor_divide", "gelu",
    "get_item", "greater", "greater_equal", "hard_sigmoid", "hard_silu", "hard_swish",
    "leaky_relu", "less", "less_equal", "log", "log1p", "log_softmax", "logical_and",
    "logical_not", "logical_or", "logical_xor", "logsumexp", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mod", "multiply", "negative", "not_equal", "one_hot", "ones_like", "pad",
    "power", "prod", "reciprocal", "relu", "relu6", "repeat", "reshape", "roll", "round",
    "rsqrt", "selu", "shape", "sigmoid", "sign", "silu", "sin", "softmax", "softplus",
    "softsign", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "swish",
    "take", "tanh", "tile", "top_k", "transpose", "true_divide", "var", "where", "zeros_like"]


class Operation(NamedTuple):
    """A Keras 3 operation class: its function, call arguments and constructor arguments."""

    function: object
    module: str
    call: tuple
    config: tuple


OPERATIONS: dict = {}
_SYMBOLIC = None  # (operation class name, call args, config) -> outputs; set by the layers


def set_symbolic_hook(hook) -> None:
    """Install the function that turns an op call on Keras tensors into a graph node."""
    global _SYMBOLIC
    _SYMBOLIC = hook


def _is_symbolic(values) -> bool:
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif hasattr(v, "_keras_history"):
            return True
    return False


def call_operation(fn, args, kwargs: dict, config: dict):
    """``fn`` called with an operation node's call ``args``/``kwargs`` and its class
    ``config`` put back in their places in ``fn``'s signature."""
    positional, rest = [], list(args)
    kwargs = dict(kwargs)
    for name, p in inspect.signature(fn).parameters.items():
        if name in config:
            if p.kind == p.KEYWORD_ONLY:
                kwargs[name] = config[name]
            else:
                positional.append(config[name])
        elif p.kind == p.VAR_POSITIONAL:
            positional.extend(rest)
            rest = []
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if rest:
                positional.append(rest.pop(0))
            elif name in kwargs:
                positional.append(kwargs.pop(name))
            else:
                break
    if rest:
        raise TypeError(f"{fn.__name__}() got {len(rest)} extra positional argument(s).")
    return fn(*positional, **kwargs)


def _op(class_name: str, module: str = "numpy", config: tuple = ()):
    """Register ``fn`` (with Keras 3's public signature) as Keras 3's ``class_name``, whose
    constructor takes the arguments named in ``config`` and whose call takes the others."""
    def register(fn):
        params = inspect.signature(fn).parameters.values()
        call = tuple(p.name for p in params if p.name not in config and p.kind in (
            p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL))
        OPERATIONS[class_name] = Operation(fn, f"keras.src.ops.{module}", call, tuple(config))

        def op(*args, **kwargs):
            if _is_symbolic(list(args) + list(kwargs.values())):
                if _SYMBOLIC is None:
                    import importlib

                    importlib.import_module("numkeras.layers")  # installs the hook
                signature = inspect.signature(fn)
                bound = signature.bind(*args, **kwargs)
                call_args, conf = [], {}
                for name, value in bound.arguments.items():
                    if name in config:
                        conf[name] = value
                    elif signature.parameters[name].kind == inspect.Parameter.VAR_POSITIONAL:
                        call_args.extend(value)
                    else:
                        call_args.append(value)
                return _SYMBOLIC(class_name, call_args, conf)
            return fn(*args, **kwargs)

        op.__name__, op.__doc__, op.__wrapped__ = fn.__name__, fn.__doc__, fn
        return op
    return register


# -- dtype rules -----------------------------------------------------------------------------
def _tensor(x):
    return x if isinstance(x, np.ndarray) else M.to_tensor(x)


def _pair(x1, x2):
    """Keras 3's promotion: a Python number is weak; ints with floats give the float."""
    a_arr, b_arr = isinstance(x1, np.ndarray), isinstance(x2, np.ndarray)
    if a_arr and not b_arr:
        a, b = x1, _weak(x2, x1.dtype)
    elif b_arr and not a_arr:
        a, b = _weak(x1, x2.dtype), x2
    else:
        a, b = _tensor(x1), _tensor(x2)
    if a.dtype != b.dtype:
        floats = [d for d in (a.dtype, b.dtype) if d.kind == "f"]
        target = builtins.max(floats, key=lambda d: d.itemsize) if floats else np.result_type(a, b)
        a, b = a.astype(target), b.astype(target)
    return a, b


def _weak(value, dtype):
    value = np.asarray(value)
    if value.dtype.kind == "f" and dtype.kind in "iub":
        return value.astype(np.float32)
    return value.astype(dtype)


def _binary(np_fn):
    def fn(x1, x2):
        a, b = _pair(x1, x2)
        if a.dtype != b.dtype:
            a, b = a.astype(np.result_type(a, b)), b.astype(np.result_type(a, b))
        with np.errstate(all="ignore"):
            return np.asarray(np_fn(a, b))
    return fn


def _float(x):
    x = _tensor(x)
    return x if x.dtype.kind == "f" else x.astype(np.float32)


# -- element-wise ------------------------------------------------------------------------------
add = _op("Add")(lambda x1, x2: _binary(np.add)(x1, x2))
subtract = _op("Subtract")(lambda x1, x2: _binary(np.subtract)(x1, x2))
multiply = _op("Multiply")(lambda x1, x2: _binary(np.multiply)(x1, x2))
maximum = _op("Maximum")(lambda x1, x2: _binary(np.maximum)(x1, x2))
minimum = _op("Minimum")(lambda x1, x2: _binary(np.minimum)(x1, x2))
power = _op("Power")(lambda x1, x2: _binary(np.power)(x1, x2))
mod = _op("Mod")(lambda x1, x2: _binary(np.mod)(x1, x2))
floor_divide = _op("FloorDivide")(lambda x1, x2: _binary(np.floor_divide)(x1, x2))
equal = _op("Equal")(lambda x1, x2: _binary(np.equal)(x1, x2))
not_equal = _op("NotEqual")(lambda x1, x2: _binary(np.not_equal)(x1, x2))
greater = _op("Greater")(lambda x1, x2: _binary(np.greater)(x1, x2))
greater_equal = _op("GreaterEqual")(lambda x1, x2: _binary(np.greater_equal)(x1, x2))
less = _op("Less")(lambda x1, x2: _binary(np.less)(x1, x2))
less_equal = _op("LessEqual")(lambda x1, x2: _binary(np.less_equal)(x1, x2))
logical_and = _op("LogicalAnd")(lambda x1, x2: _binary(np.logical_and)(x1, x2))
logical_or = _op("LogicalOr")(lambda x1, x2: _binary(np.logical_or)(x1, x2))
logical_xor = _op("LogicalXor")(lambda x1, x2: _binary(np.logical_xor)(x1, x2))


@_op("TrueDivide")
def true_divide(x1, x2):
    """``x1 / x2``; integer inputs divide in float32 (Keras 3)."""
    a, b = _pair(x1, x2)
    if a.dtype.kind != "f":
        a, b = a.astype(np.float32), b.astype(np.float32)
    with np.errstate(all="ignore"):
        return np.true_divide(a, b)


divide = _op("Divide")(lambda x1, x2: true_divide.__wrapped__(x1, x2))
matmul = _op("Matmul")(lambda x1, x2: np.matmul(*_pair(x1, x2)))


def _unary(class_name, fn, module="numpy", floats=False):
    def impl(x):
        with np.errstate(all="ignore"):
            return np.asarray(fn(_float(x) if floats else _tensor(x)))
    return _op(class_name, module)(impl)


negative = _unary("Negative", np.negative)
absolute = _unary("Absolute", np.abs)
abs = _unary("Abs", np.abs)  # noqa: A001 - Keras 3's name
sign = _unary("Sign", np.sign)
square = _unary("Square", np.square)
sqrt = _unary("Sqrt", np.sqrt, floats=True)
exp = _unary("Exp", np.exp, floats=True)
log = _unary("Log", np.log, floats=True)
log1p = _unary("Log1p", np.log1p, floats=True)
floor = _unary("Floor", np.floor, floats=True)
ceil = _unary("Ceil", np.ceil, floats=True)
sin = _unary("Sin", np.sin, floats=True)
cos = _unary("Cos", np.cos, floats=True)
tanh = _unary("Tanh", np.tanh, floats=True)
reciprocal = _unary("Reciprocal", np.reciprocal, floats=True)
logical_not = _unary("LogicalNot", np.logical_not)
rsqrt = _unary("Rsqrt", lambda x: 1 / np.sqrt(x), "math", floats=True)
erf = _unary("Erf", nn.erf, "math", floats=True)
relu = _unary("Relu", nn.relu, "nn", floats=True)
relu6 = _unary("Relu6", nn.relu6, "nn", floats=True)
sigmoid = _unary("Sigmoid", nn.sigmoid, "nn", floats=True)
silu = _unary("Silu", nn.swish, "nn", floats=True)
swish = silu
selu = _unary("Selu", nn.selu, "nn", floats=True)
softplus = _unary("Softplus", nn.softplus, "nn", floats=True)
softsign = _unary("Softsign", nn.softsign, "nn", floats=True)
hard_sigmoid = _unary("HardSigmoid", nn_keras3.keras3_hard_sigmoid, "nn", floats=True)
hard_silu = _unary("HardSilu", nn_keras3.hard_silu, "nn", floats=True)
hard_swish = hard_silu


@_op("Round", "numpy", config=('decimals',))
def round(x, decimals=0):  # noqa: A001 - Keras 3's name
    """Round half to even to ``decimals`` places."""
    return np.round(_tensor(x), int(decimals))


@_op("Softmax", "nn", config=('axis',))
def softmax(x, axis=-1):
    """Softmax over ``axis``."""
    return nn.softmax(_float(x), axis)


@_op("LogSoftmax", "nn", config=('axis',))
def log_softmax(x, axis=-1):
    """Log-softmax over ``axis``."""
    return nn.log_softmax(_float(x), axis)


@_op("Gelu", "nn", config=('approximate',))
def gelu(x, approximate=True):
    """GELU; Keras 3's ``ops.gelu`` defaults to the tanh approximation."""
    return nn.gelu(_float(x), approximate=bool(approximate))


@_op("Elu", "nn", config=('alpha',))
def elu(x, alpha=1.0):
    """ELU with ``alpha``."""
    x = _float(x)
    res = nn.elu(x)
    return res if alpha == 1 else np.where(x > 0, res, np.asarray(alpha, x.dtype) * res)


@_op("LeakyRelu", "nn", config=('negative_slope',))
def leaky_relu(x, negative_slope=0.2):
    """``x`` if positive else ``negative_slope * x``."""
    return M.leaky_relu(_float(x), negative_slope)


@_op("OneHot", "nn", config=('num_classes', 'axis', 'dtype', 'sparse'))
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors (float32 by default)."""
    return A.one_hot(_tensor(x), num_classes, axis=axis, dtype=dtype or "float32")


# -- reductions -------------------------------------------------------------------------------
def _axis(axis):
    return M._axis(axis)


@_op("Sum", "numpy", config=('axis', 'keepdims'))
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis``."""
    x = _tensor(x)
    return np.asarray(np.sum(x, axis=_axis(axis), keepdims=keepdims,
                             dtype=x.dtype if x.dtype.kind != "b" else np.int32))


@_op("Mean", "numpy", config=('axis', 'keepdims'))
def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``; integer inputs give float32 (Keras 3)."""
    return np.asarray(np.mean(_float(x), axis=_axis(axis), keepdims=keepdims))


@_op("Max", "numpy", config=('axis', 'keepdims', 'initial'))
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Maximum over ``axis``."""
    kw = {} if initial is None else {"initial": initial}
    return np.asarray(np.max(_tensor(x), axis=_axis(axis), keepdims=keepdims, **kw))


@_op("Min", "numpy", config=('axis', 'keepdims', 'initial'))
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Minimum over ``axis``."""
    kw = {} if initial is None else {"initial": initial}
    return np.asarray(np.min(_tensor(x), axis=_axis(axis), keepdims=keepdims, **kw))


@_op("Prod", "numpy", config=('axis', 'keepdims', 'dtype'))
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis``."""
    x = _tensor(x)
    return np.asarray(np.prod(x, axis=_axis(axis), keepdims=keepdims,
                              dtype=A.dtype_of(dtype) or x.dtype))


all = _op("All", config=("axis", "keepdims"))(lambda x, axis=None, keepdims=False:  # noqa: A001
                 np.asarray(np.all(_tensor(x), axis=_axis(axis), keepdims=keepdims)))
any = _op("Any", config=("axis", "keepdims"))(lambda x, axis=None, keepdims=False:  # noqa: A001
                 np.asarray(np.any(_tensor(x), axis=_axis(axis), keepdims=keepdims)))
var = _op("Var", config=("axis", "keepdims"))(lambda x, axis=None, keepdims=False:
                 M._var(_float(x), _axis(axis), keepdims))
std = _op("Std", config=("axis", "keepdims"))(lambda x, axis=None, keepdims=False:
                 np.sqrt(M._var(_float(x), _axis(axis), keepdims)))
logsumexp = _op("Logsumexp", "math", ("axis", "keepdims"))(
    lambda x, axis=None, keepdims=False:
                                     nn.logsumexp(_float(x), _axis(axis), keepdims))


@_op("Argmax", "numpy", config=('axis', 'keepdims'))
def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (int32)."""
    out = np.argmax(_tensor(x), axis=axis, keepdims=keepdims)
    return np.asarray(out, np.int32)


@_op("Argmin", "numpy", config=('axis', 'keepdims'))
def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (int32)."""
    out = np.argmin(_tensor(x), axis=axis, keepdims=keepdims)
    return np.asarray(out, np.int32)


@_op("Cumsum", "numpy", config=('axis', 'dtype'))
def cumsum(x, axis=None, dtype=None):
    """Running sum (of the flattened array when ``axis`` is None)."""
    x = _tensor(x)
    return np.cumsum(x, axis=axis, dtype=A.dtype_of(dtype) or x.dtype)


# -- shapes -------------------------------------------------------------------------------------
concatenate = _op("Concatenate", config=("axis",))(lambda xs, axis=0: A.concat(list(xs), axis))
stack = _op("Stack", config=("axis",))(lambda x, axis=0: A.stack(list(x), axis))
reshape = _op("Reshape", config=("newshape",))(lambda x, newshape: np.reshape(_tensor(x), A._ints(newshape)))
transpose = _op("Transpose", config=("axes",))(lambda x, axes=None: A.transpose(_tensor(x), axes))
expand_dims = _op("ExpandDims", config=("axis",))(lambda x, axis: np.expand_dims(
    _tensor(x), tuple(A._ints(axis)) if isinstance(axis, (list, tuple)) else int(axis)))
squeeze = _op("Squeeze", config=("axis",))(lambda x, axis=None: A.squeeze(_tensor(x), axis))
tile = _op("Tile", config=("repeats",))(lambda x, repeats: np.tile(_tensor(x), A._ints(repeats)))
repeat = _op("Repeat", config=("repeats", "axis"))(lambda x, repeats, axis=None: np.repeat(_tensor(x), repeats, axis))
flip = _op("Flip", config=("axis",))(lambda x, axis=None: np.flip(_tensor(x), axis))
roll = _op("Roll", config=("shift", "axis"))(lambda x, shift, axis=None: np.roll(_tensor(x), shift, axis))
clip = _op("Clip", config=("x_min", "x_max"))(lambda x, x_min, x_max: A.clip_by_value(_tensor(x), x_min, x_max))
zeros_like = _op("ZerosLike", config=("dtype",))(lambda x, dtype=None: A.zeros_like(_tensor(x), dtype))
ones_like = _op("OnesLike", config=("dtype",))(lambda x, dtype=None: A.ones_like(_tensor(x), dtype))
cast = _op("Cast", "core", ("dtype",))(lambda x, dtype: A.cast(_tensor(x), dtype))


@_op("Split", "numpy", config=('indices_or_sections', 'axis'))
def split(x, indices_or_sections, axis=0):
    """``np.split``: equal sections or cut points."""
    return np.split(_tensor(x), indices_or_sections if np.ndim(indices_or_sections) == 0
                    else A._ints(indices_or_sections), axis=axis)


@_op("Pad", "numpy", config=('pad_width', 'mode'))
def pad(x, pad_width, mode="constant", constant_values=None):
    """``np.pad`` with Keras 3's modes."""
    x = _tensor(x)
    widths = [tuple(p) for p in np.asarray(pad_width).astype(int).tolist()]
    if mode == "constant":
        return np.pad(x, widths, constant_values=np.asarray(constant_values or 0, x.dtype))
    return np.pad(x, widths, mode=mode)


@_op("Take", "numpy", config=('axis',))
def take(x, indices, axis=None):
    """Elements (flattened when ``axis`` is None) or slices along ``axis`` at ``indices``."""
    x, idx = _tensor(x), np.asarray(indices)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return np.take(x, np.where(idx < 0, idx + x.shape[axis], idx), axis=axis)


@_op("Where")
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` else ``x2``."""
    if x1 is None and x2 is None:
        return tuple(np.nonzero(condition))
    a, b = _pair(x1, x2)
    return np.where(np.asarray(condition, bool), a, b)


@_op("Einsum", "numpy", config=('subscripts',))
def einsum(subscripts, *operands):
    """``np.einsum`` on the operands."""
    return nn.einsum(subscripts, *[_tensor(o) for o in operands])


@_op("GetItem")
def get_item(x, key):
    """``x[key]``."""
    return A.getitem(_tensor(x), list(key) if isinstance(key, tuple) else key)


@_op("TopK", "math", config=('k', 'sorted'))
def top_k(x, k, sorted=True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest entries of the last axis."""
    return M.top_k(_tensor(x), k)


@_op("Resize", "image", config=("size", "interpolation", "antialias", "crop_to_aspect_ratio",
                                 "pad_to_aspect_ratio", "fill_mode", "fill_value",
                                 "data_format"))
def image_resize(images, size, interpolation="bilinear", antialias=False,
                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
                 fill_value=0.0, data_format=None):
    """``keras.ops.image.resize`` of channels-last images (TF's ``tf.image.resize``, which
    Keras 3 calls; bilinear or nearest, without cropping or padding to the aspect ratio)."""
    if crop_to_aspect_ratio or pad_to_aspect_ratio or data_format not in (None,
                                                                         "channels_last"):
        raise ValueError("image.resize: numkeras resizes channels-last images without "
                         "cropping or padding to the aspect ratio.")
    return A.image_resize(_tensor(images), size, method=interpolation, antialias=antialias)


def convert_to_tensor(x, dtype=None):
    """``x`` as an array (``dtype`` if given)."""
    return M.to_tensor(x, A.dtype_of(dtype))


def convert_to_numpy(x):
    """``x`` as a NumPy array."""
    return np.asarray(x)


def shape(x) -> tuple:
    """The shape of ``x`` as a tuple (``None`` for unknown dimensions of Keras tensors)."""
    return tuple(x.shape)
