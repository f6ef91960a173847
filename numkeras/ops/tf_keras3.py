"""One computation, two spellings: a TF function call as tf-keras saves it (``TFOpLambda``:
the function's name, its first argument and its keywords) and the Keras 3 operation node that
computes the same numbers (class name, constructor ``config``, call arguments).

Each :class:`Rule` pairs a TF function with a Keras 3 operation and names the TF arguments
and the Keras 3 arguments they become (``axis``/``keepdims`` of ``reduce_mean`` are ``Mean``'s;
``perm`` is ``Transpose``'s ``axes``; ``multiples`` is ``Tile``'s ``repeats``...). An argument
of one side that the rule does not map must keep its default (or the value the rule states),
and a call whose dtypes would make the two libraries compute different numbers (TF's integer
``reduce_mean`` against Keras 3's float mean, a float constant times an integer tensor...) is
:class:`Untranslatable`, with the reason: a conversion never silently changes a model.

Values that differ only in spelling are converted both ways (``mode="REFLECT"`` and
``"reflect"``; TF's split sizes and Keras 3's cut points; TF's ``axis=None`` of ``softmax``
and Keras 3's ``-1``).

(Longer than most modules: one table, each rule next to the conversions and dtype checks it
uses, so that a rule can be checked against both libraries' signatures in one reading.)

>>> from numkeras.engine.keras_tensor import KerasTensor
>>> x, ids = KerasTensor((None, 3), "float32"), KerasTensor((None, 3), "int32")
>>> to_keras3("math.reduce_mean", x, {"axis": -1, "name": None})[:2]
('Mean', {'axis': -1, 'keepdims': False})
>>> to_tf("Tile", {"repeats": [1, 2]}, [x], {})[0::2]
('tile', {'multiples': [1, 2]})
>>> to_keras3("math.reduce_mean", ids, {})
Traceback (most recent call last):
...
numkeras.ops.tf_keras3.Untranslatable: tf.math.reduce_mean of int32 tensors: TF computes in int32 (or refuses), Keras 3 converts to float32 first
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from numkeras.ops import keras3, tf_api

__all__ = ["Untranslatable", "Rule", "RULES", "to_keras3", "to_tf", "tf_name_of"]


class Untranslatable(ValueError):
    """A call with no exact equivalent in the other spelling (the message says why)."""


class Rule(NamedTuple):
    """TF function ``tf`` computes what Keras 3 operation ``op`` computes, arguments renamed
    by ``names`` (TF name, Keras 3 name; the first is the tensor argument)."""

    tf: str
    op: str
    names: tuple
    tf_fixed: dict = {}  # TF arguments the rule needs at these values (else their defaults)
    k3_fixed: dict = {}  # Keras 3 arguments the rule needs at these values
    to_k3: Callable | None = None  # (named arguments) -> the same in Keras 3's conventions
    to_tf: Callable | None = None  # (named arguments) -> the same in TF's conventions
    check: Callable | None = None  # (named arguments) -> why the numbers would differ, or None


def _is_tensor(value) -> bool:
    """A symbolic or concrete tensor argument (Keras tensors have a shape and a dtype)."""
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(
        value, (np.ndarray, np.generic))


def _dtype(value):
    return np.dtype(value.dtype) if _is_tensor(value) else None


# -- dtype checks (both directions) ------------------------------------------------------------
def _float_input(what: str):
    def check(named):
        dt = _dtype(named.get("x"))
        if dt is not None and dt.kind != "f":
            return f"{what} of {dt.name} tensors: TF computes in {dt.name} (or refuses), " \
                "Keras 3 converts to float32 first"
        return None
    return check


def _same_dtypes(*keys, lists: bool = False):
    """Tensors of one dtype, and constants TF and Keras 3 both read in that dtype (``lists``:
    the arguments are lists of tensors)."""
    def check(named):
        values = [v for k in keys for v in (list(named.get(k) or ()) if lists
                                            else [named.get(k)])]
        tensors = {_dtype(v) for v in values if _is_tensor(v)}
        if len(tensors) > 1:
            return "its tensors have different dtypes " + str(sorted(d.name for d in tensors)) \
                + " (Keras 3 promotes them, TF refuses)"
        if tensors:
            dt = tensors.pop()
            for v in values:
                if _is_tensor(v) or v is None:
                    continue
                const = np.asarray(v)
                if const.dtype.kind == "f" and dt.kind != "f":
                    return f"a float constant meets a {dt.name} tensor (Keras 3 computes in " \
                           "float32, TF refuses)"
                if const.ndim and const.dtype != dt:
                    return f"a {const.dtype.name} array constant meets a {dt.name} tensor " \
                           "(Keras 3 promotes, TF converts the constant)"
        return None
    return check


def _constants_as_arrays(named):
    """TF converts a list constant to the other operand's dtype; Keras 3 needs the array."""
    dtypes = [_dtype(named.get(k)) for k in ("x1", "x2") if _is_tensor(named.get(k))]
    if dtypes:
        for key in ("x1", "x2"):
            value = named.get(key)
            if isinstance(value, (list, tuple, np.ndarray)) and not any(
                    _is_tensor(v) for v in _flat(value)):
                array = np.asarray(value)
                if array.dtype.kind != "f" or dtypes[0].kind == "f":
                    named[key] = array.astype(dtypes[0])
    return named


def _int_division(named):
    for v in (named.get("x1"), named.get("x2")):
        dt = _dtype(v)
        if dt is not None and dt.kind != "f":
            return f"division of {dt.name} tensors gives float64 in TF, float32 in Keras 3"
    return _same_dtypes("x1", "x2")(named)


def _bool_input(named):
    dt = _dtype(named.get("x"))
    if dt is not None and dt.kind != "b":
        return f"TF reduces only bool tensors with it, not {dt.name}"
    return None


def _numeric_input(named):
    dt = _dtype(named.get("x"))
    if dt is not None and dt.kind == "b":
        return "TF cannot sum or multiply bool tensors (Keras 3 counts them as int32)"
    return None


def _both(*checks):
    def check(named):
        return next((r for r in (c(named) for c in checks) if r), None)
    return check


# -- value conversions ---------------------------------------------------------------------------
def _axis_default(value):
    def convert(named):
        if named.get("axis") is None:
            named["axis"] = value
        return named
    return convert


def _axis_needed(what: str):
    def convert(named):
        if named.get("axis") is None:
            raise Untranslatable(f"{what} with axis=None works on the flattened tensor; its TF "
                                 "function has no such form")
        return named
    return convert


def _split_to_k3(named):
    splits = named["indices_or_sections"]
    if isinstance(splits, (list, tuple)):
        if any(_is_tensor(s) or int(s) < 0 for s in splits):
            raise Untranslatable("split sizes must be known, non-negative numbers")
        named["indices_or_sections"] = np.cumsum([int(s) for s in splits])[:-1].tolist()
    return named


def _split_to_tf(named):
    cuts = named["indices_or_sections"]
    if isinstance(cuts, (list, tuple)):
        shape = getattr(named["x"], "shape", None)
        size = shape[named.get("axis") or 0] if shape is not None else None
        if size is None:
            raise Untranslatable("cut points along an axis of unknown size have no TF sizes")
        bounds = [0, *(int(c) for c in cuts), int(size)]
        named["indices_or_sections"] = [b - a for a, b in zip(bounds, bounds[1:])]
    return named


_PAD_MODES = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}


def _pad_to_k3(named):
    mode = str(named.get("mode", "CONSTANT")).upper()
    if mode not in _PAD_MODES:
        raise Untranslatable(f"pad mode {named.get('mode')!r}")
    named["mode"] = _PAD_MODES[mode]
    value = named.get("constant_values")
    if _is_tensor(value):
        raise Untranslatable("a tensor constant_values")
    if value is None or np.all(np.asarray(value) == 0):
        named.pop("constant_values", None)
    return named


def _pad_to_tf(named):
    mode = named.get("mode", "constant")
    back = {v: k for k, v in _PAD_MODES.items()}
    if mode not in back:
        raise Untranslatable(f"pad mode {mode!r} has no tf.pad equivalent")
    named["mode"] = back[mode]
    named["constant_values"] = 0 if named.get("constant_values") is None else \
        named["constant_values"]
    return named


def _one_hot_to_k3(named):
    if named.get("axis") is None:
        named["axis"] = -1
    named["dtype"] = "float32" if named.get("dtype") is None else str(named["dtype"])
    return named


def _flip_to_tf(named):
    if named.get("axis") is None:
        named["axis"] = list(range(len(named["x"].shape)))
    elif not isinstance(named["axis"], (list, tuple)):
        named["axis"] = [named["axis"]]
    return named


def _where_check(named):
    if named.get("x1") is None or named.get("x2") is None:
        return "where() with only a condition returns indices, in another layout in each library"
    return _same_dtypes("x1", "x2")(named)


def _key_list(named):  # both save x[a, b]'s key as a list
    if isinstance(named.get("key"), tuple):
        named["key"] = list(named["key"])
    return named


def _channels_last(named):  # tf.image.resize takes channels-last images only
    if named.get("data_format") not in (None, "channels_last"):
        raise Untranslatable("tf.image.resize takes channels-last images only")
    named["data_format"] = "channels_last"
    if hasattr(named.get("interpolation"), "value"):  # a tf.image.ResizeMethod
        named["interpolation"] = named["interpolation"].value
    return named


# -- the table -----------------------------------------------------------------------------------
_X = (("x", "x"),)
_XY = (("x", "x1"), ("y", "x2"))
_REDUCE = (("input_tensor", "x"), ("axis", "axis"), ("keepdims", "keepdims"))


def _binary(tf, op, check=None):
    return Rule(tf, op, _XY, to_k3=_constants_as_arrays, check=check or _same_dtypes("x1", "x2"))


def _unary(tf, op, floats=False):
    return Rule(tf, op, _X, check=_float_input(f"tf.{tf}") if floats else None)


RULES: list = [
    # operators and element-wise functions; the first rule of an operation is the TF name
    # written for it (tf-keras records ``x + y`` as ``__operators__.add``)
    _binary("__operators__.add", "Add"), _binary("math.add", "Add"),
    _binary("math.subtract", "Subtract"), _binary("math.multiply", "Multiply"),
    _binary("math.truediv", "TrueDivide", _int_division),
    _binary("math.divide", "Divide", _int_division),
    _binary("math.floordiv", "FloorDivide"), _binary("compat.v1.floor_div", "FloorDivide"),
    _binary("math.floormod", "Mod"), _binary("math.pow", "Power"),
    _binary("math.maximum", "Maximum"), _binary("math.minimum", "Minimum"),
    _binary("math.equal", "Equal"), _binary("math.not_equal", "NotEqual"),
    _binary("math.greater", "Greater"), _binary("math.greater_equal", "GreaterEqual"),
    _binary("math.less", "Less"), _binary("math.less_equal", "LessEqual"),
    _binary("math.logical_and", "LogicalAnd"), _binary("math.logical_or", "LogicalOr"),
    _binary("math.logical_xor", "LogicalXor"),
    _unary("math.negative", "Negative"), _unary("math.abs", "Absolute"),
    _unary("math.logical_not", "LogicalNot"), _unary("math.sign", "Sign"),
    _unary("math.square", "Square"), _unary("math.sqrt", "Sqrt", True),
    _unary("math.rsqrt", "Rsqrt", True), _unary("math.exp", "Exp", True),
    _unary("math.log", "Log", True), _unary("math.log1p", "Log1p", True),
    _unary("math.floor", "Floor", True), _unary("math.ceil", "Ceil", True),
    _unary("math.sin", "Sin", True), _unary("math.cos", "Cos", True),
    _unary("math.reciprocal", "Reciprocal", True), _unary("math.erf", "Erf", True),
    _unary("math.tanh", "Tanh", True), _unary("nn.tanh", "Tanh", True),
    _unary("math.sigmoid", "Sigmoid", True), _unary("nn.sigmoid", "Sigmoid", True),
    _unary("nn.relu", "Relu", True), _unary("nn.relu6", "Relu6", True),
    _unary("nn.selu", "Selu", True), _unary("nn.softplus", "Softplus", True),
    _unary("math.softplus", "Softplus", True), _unary("nn.softsign", "Softsign", True),
    Rule("math.round", "Round", _X, k3_fixed={"decimals": 0}, check=_float_input("tf.round")),
    Rule("nn.elu", "Elu", _X, k3_fixed={"alpha": 1.0}, check=_float_input("tf.nn.elu")),
    Rule("nn.silu", "Silu", (("features", "x"),), check=_float_input("tf.nn.silu")),
    Rule("nn.swish", "Silu", (("features", "x"),), check=_float_input("tf.nn.swish")),
    Rule("nn.gelu", "Gelu", (("features", "x"), ("approximate", "approximate")),
         check=_float_input("tf.nn.gelu")),
    Rule("nn.leaky_relu", "LeakyRelu", (("features", "x"), ("alpha", "negative_slope")),
         check=_float_input("tf.nn.leaky_relu")),
    Rule("nn.softmax", "Softmax", (("logits", "x"), ("axis", "axis")),
         to_k3=_axis_default(-1), check=_float_input("tf.nn.softmax")),
    Rule("nn.log_softmax", "LogSoftmax", (("logits", "x"), ("axis", "axis")),
         to_k3=_axis_default(-1), check=_float_input("tf.nn.log_softmax")),
    # reductions
    Rule("math.reduce_sum", "Sum", _REDUCE, check=_numeric_input),
    Rule("math.reduce_mean", "Mean", _REDUCE, check=_float_input("tf.math.reduce_mean")),
    Rule("math.reduce_max", "Max", _REDUCE, k3_fixed={"initial": None}),
    Rule("math.reduce_min", "Min", _REDUCE, k3_fixed={"initial": None}),
    Rule("math.reduce_prod", "Prod", _REDUCE, k3_fixed={"dtype": None}, check=_numeric_input),
    Rule("math.reduce_any", "Any", _REDUCE, check=_bool_input),
    Rule("math.reduce_all", "All", _REDUCE, check=_bool_input),
    Rule("math.reduce_variance", "Var", _REDUCE,
         check=_float_input("tf.math.reduce_variance")),
    Rule("math.reduce_std", "Std", _REDUCE, check=_float_input("tf.math.reduce_std")),
    Rule("math.reduce_logsumexp", "Logsumexp", _REDUCE,
         check=_float_input("tf.math.reduce_logsumexp")),
    Rule("math.argmax", "Argmax", (("input", "x"), ("axis", "axis")),
         tf_fixed={"output_type": "int32"}, k3_fixed={"keepdims": False},
         to_k3=_axis_default(0), to_tf=_axis_needed("Argmax")),
    Rule("math.argmin", "Argmin", (("input", "x"), ("axis", "axis")),
         tf_fixed={"output_type": "int32"}, k3_fixed={"keepdims": False},
         to_k3=_axis_default(0), to_tf=_axis_needed("Argmin")),
    Rule("math.cumsum", "Cumsum", (("x", "x"), ("axis", "axis")), k3_fixed={"dtype": None},
         to_tf=_axis_needed("Cumsum")),
    Rule("math.top_k", "TopK", (("input", "x"), ("k", "k"), ("sorted", "sorted"))),
    # shapes
    Rule("reshape", "Reshape", (("tensor", "x"), ("shape", "newshape"))),
    Rule("transpose", "Transpose", (("a", "x"), ("perm", "axes"))),
    Rule("concat", "Concatenate", (("values", "xs"), ("axis", "axis")),
         check=_same_dtypes("xs", lists=True)),
    Rule("stack", "Stack", (("values", "x"), ("axis", "axis")), check=_same_dtypes("x", lists=True)),
    Rule("split", "Split", (("value", "x"), ("num_or_size_splits", "indices_or_sections"),
                            ("axis", "axis")), to_k3=_split_to_k3, to_tf=_split_to_tf),
    Rule("expand_dims", "ExpandDims", (("input", "x"), ("axis", "axis"))),
    Rule("squeeze", "Squeeze", (("input", "x"), ("axis", "axis"))),
    Rule("tile", "Tile", (("input", "x"), ("multiples", "repeats"))),
    Rule("repeat", "Repeat", (("input", "x"), ("repeats", "repeats"), ("axis", "axis"))),
    Rule("reverse", "Flip", (("tensor", "x"), ("axis", "axis")), to_tf=_flip_to_tf),
    Rule("roll", "Roll", (("input", "x"), ("shift", "shift"), ("axis", "axis")),
         to_tf=_axis_needed("Roll")),
    Rule("gather", "Take", (("params", "x"), ("indices", "indices"), ("axis", "axis")),
         to_k3=_axis_default(0), to_tf=_axis_needed("Take")),
    Rule("pad", "Pad", (("tensor", "x"), ("paddings", "pad_width"), ("mode", "mode"),
                        ("constant_values", "constant_values")),
         to_k3=_pad_to_k3, to_tf=_pad_to_tf),
    Rule("cast", "Cast", (("x", "x"), ("dtype", "dtype"))),
    Rule("where", "Where", (("condition", "condition"), ("x", "x1"), ("y", "x2")),
         check=_where_check),
    Rule("clip_by_value", "Clip", (("t", "x"), ("clip_value_min", "x_min"),
                                   ("clip_value_max", "x_max"))),
    Rule("linalg.matmul", "Matmul", (("a", "x1"), ("b", "x2")), check=_same_dtypes("x1", "x2")),
    Rule("matmul", "Matmul", (("a", "x1"), ("b", "x2")), check=_same_dtypes("x1", "x2")),
    Rule("one_hot", "OneHot", (("indices", "x"), ("depth", "num_classes"), ("axis", "axis"),
                               ("dtype", "dtype")),
         k3_fixed={"sparse": False}, to_k3=_one_hot_to_k3, to_tf=_one_hot_to_k3),
    Rule("zeros_like", "ZerosLike", (("input", "x"), ("dtype", "dtype"))),
    Rule("ones_like", "OnesLike", (("input", "x"), ("dtype", "dtype"))),
    Rule("image.resize", "Resize", (("images", "images"), ("size", "size"),
                                    ("method", "interpolation"), ("antialias", "antialias")),
         k3_fixed={"crop_to_aspect_ratio": False, "pad_to_aspect_ratio": False,
                   "fill_mode": "constant", "fill_value": 0.0, "data_format": "channels_last"},
         to_k3=_channels_last, to_tf=_channels_last),
    Rule("__operators__.getitem", "GetItem", (("tensor", "x"), ("slice_spec", "key")),
         to_k3=_key_list, to_tf=_key_list),
]


#: Call arguments Keras 3 passes by keyword (``ops.pad`` calls ``Pad(...)(x, constant_values=)``).
_KEYWORD_CALL_ARGS = frozenset({"constant_values"})


def _index():
    by_tf, by_op = {}, {}
    for rule in RULES:
        by_op.setdefault(rule.op, rule)
        fn = tf_api.TF_FUNCTIONS[rule.tf]
        aliases = [rule.tf, "compat.v1." + rule.tf]
        if rule.tf.startswith("math."):
            aliases.append(rule.tf[5:])
        for alias in aliases:
            if tf_api.TF_FUNCTIONS.get(alias) is fn:
                by_tf.setdefault(alias, rule)
    return by_tf, by_op


_BY_TF, _BY_OP = _index()


def tf_name_of(operation: str):
    """The TF function written for Keras 3 operation ``operation`` (None if there is none)."""
    rule = _BY_OP.get(operation)
    return rule.tf if rule else None


def _defaults(fn) -> dict:
    fn = getattr(fn, "__wrapped__", fn)
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()
            if p.default is not p.empty}


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return str(a).replace("tf.", "") == str(b).replace("tf.", "")
    try:
        return bool(a == b) if not isinstance(a, (list, tuple, np.ndarray)) else False
    except (TypeError, ValueError):
        return False


def _no_tensors(named: dict, keys, where: str) -> None:
    for key in keys:
        if key in named and any(_is_tensor(v) for v in _flat(named[key])):
            raise Untranslatable(f"its {key!r} is computed from the model's tensors; {where} "
                                 "needs a fixed value")


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [value]


def to_keras3(function: str, first, kwargs: dict) -> tuple:
    """``(operation, config, call args, call kwargs)`` of the Keras 3 node computing TF
    function ``function`` called on ``first`` with ``kwargs`` (tf-keras's spelling)."""
    rule = _BY_TF.get(function)
    if rule is None:
        raise Untranslatable(f"tf.{function} has no Keras 3 operation in numkeras's table")
    defaults = _defaults(tf_api.TF_FUNCTIONS[function])
    mapping = dict(rule.names)
    tf_args = {**{k: v for k, v in defaults.items() if k in mapping}, **kwargs,
               rule.names[0][0]: first}
    named = {}
    for key, value in tf_args.items():
        if key in mapping:
            named[mapping[key]] = value
        elif key != "name" and not _same(value, rule.tf_fixed.get(key, defaults.get(
                key, inspect.Parameter.empty))):
            raise Untranslatable(f"tf.{function} with {key}={value!r}")
    missing = [k for k, v in rule.tf_fixed.items() if k not in tf_args]
    if missing and not all(_same(defaults.get(k), rule.tf_fixed[k]) for k in missing):
        raise Untranslatable(f"tf.{function} without {missing[0]}={rule.tf_fixed[missing[0]]!r}")
    if rule.to_k3 is not None:
        named = rule.to_k3(named)
    named.update(rule.k3_fixed)
    reason = rule.check(named) if rule.check else None
    if reason:
        raise Untranslatable(f"tf.{function}: {reason}" if not reason.startswith("tf.")
                             else reason)
    spec = keras3.OPERATIONS[rule.op]
    _no_tensors(named, spec.config, f"Keras 3's {rule.op}")
    config = {k: named.pop(k) for k in spec.config if k in named}
    args = []
    for key in spec.call:
        if key not in named or key in _KEYWORD_CALL_ARGS:
            break
        args.append(named.pop(key))
    return rule.op, config, args, named


def to_tf(operation: str, config: dict, args: list, kwargs: dict) -> tuple:
    """``(function, first argument, keywords)`` of the TF call computing Keras 3 operation
    ``operation`` (its ``config``, called with ``args`` and ``kwargs``), as tf-keras saves it."""
    rule = _BY_OP.get(operation)
    if rule is None:
        raise Untranslatable(f"Keras 3's {operation} has no TF function in numkeras's table")
    spec = keras3.OPERATIONS[operation]
    defaults = _defaults(spec.function)
    if len(args) > len(spec.call):
        raise Untranslatable(f"{operation} called with {len(args)} positional arguments")
    named = {**{k: v for k, v in defaults.items() if k in spec.config}, **config,
             **dict(zip(spec.call, args)), **kwargs}
    named.pop("name", None)
    if rule.to_tf is not None:
        named = rule.to_tf(named)
    mapped = {k3 for _, k3 in rule.names}
    for key, value in named.items():
        if key in mapped:
            continue
        wanted = rule.k3_fixed.get(key, defaults.get(key, inspect.Parameter.empty))
        if not (_same(value, wanted) or (value is None and wanted is None)):
            raise Untranslatable(f"{operation} with {key}={value!r}")
    reason = rule.check(named) if rule.check else None
    if reason:
        raise Untranslatable(f"{operation}: {reason}")
    tf_kwargs = {tf: named[k3] for tf, k3 in rule.names[1:] if k3 in named}
    tf_kwargs.update(rule.tf_fixed)
    return rule.tf, named[rule.names[0][1]], tf_kwargs
