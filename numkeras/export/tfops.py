"""Lowerings of TF-op layers (``TFOpLambda``, ``SlicingOpLambda``) and Keras 3 operation nodes
(``OperationLayer``): the functions of ``numkeras/ops/tf_api.py`` (and their Keras 3
counterparts) that map onto ONNX ops, with the arguments the node recorded.

The call is bound to the NumPy function's signature as the layer binds it, then lowered by
the function's canonical name (``math.multiply``, ``__operators__.add`` and Keras 3's
``Multiply`` are all ``multiply``). Operands follow the NumPy functions' dtype rules: a Python
number takes the tensor's dtype; two tensors must share one (TF refuses mixed dtypes). What is
not listed (``top_k``, ``cumprod``, tensor-valued slice indices, symmetric padding...) is
refused, naming the function.

Elementwise and indexing functions: ``add subtract multiply truediv/divide maximum minimum
pow squared_difference equal not_equal greater(_equal) less(_equal) logical_and/or/xor/not
negative abs square sqrt rsqrt exp log reciprocal floor ceil round sin cos tan asin acos atan
sinh cosh tanh sigmoid erf is_nan is_inf relu relu6 elu selu softplus softsign gelu silu/swish
leaky_relu softmax log_softmax``; reductions ``reduce_sum/mean/max/min/prod/any/all``; arrays ``cast
identity reshape (to constant or computed shapes) shape transpose expand_dims squeeze concat
stack matmul einsum clip_by_value where tile add_n bias_add l2_normalize getitem gather
pad (constant, reflect) argmax argmin cumsum``.
"""

from __future__ import annotations

import inspect

import numpy as np

from numkeras.export import activations as act
from numkeras.export.graph import LoweringError, Value
from numkeras.export.tfops_array import _arg, _axes, lower_array

_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "truediv": "Div",
           "divide": "Div", "maximum": "Max", "minimum": "Min", "pow": "Pow",
           "equal": "Equal", "greater": "Greater", "greater_equal": "GreaterOrEqual",
           "less": "Less", "less_equal": "LessOrEqual", "logical_and": "And",
           "logical_or": "Or", "logical_xor": "Xor"}
_UNARY = {"negative": "Neg", "abs": "Abs", "sqrt": "Sqrt", "exp": "Exp", "log": "Log",
          "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil", "round": "Round",
          "sin": "Sin", "cos": "Cos", "tan": "Tan", "asin": "Asin", "acos": "Acos",
          "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "tanh": "Tanh", "sigmoid": "Sigmoid",
          "erf": "Erf", "logical_not": "Not", "is_nan": "IsNaN", "is_inf": "IsInf",
          "relu": "Relu", "softplus": "Softplus", "softsign": "Softsign"}
_FLOAT_ONLY = {"truediv", "divide", "sqrt", "exp", "log", "reciprocal", "sin", "cos", "tan",
               "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "erf", "softplus",
               "softsign", "rsqrt", "gelu", "silu", "swish", "elu", "selu", "softmax",
               "log_softmax", "reduce_mean", "l2_normalize"}
# Keras 3 operation class -> (canonical name, {Keras 3 argument: TF argument})
_KERAS3 = {
    **{k: (v, {"x1": "x", "x2": "y"}) for k, v in (
        ("Add", "add"), ("Subtract", "subtract"), ("Multiply", "multiply"),
        ("Divide", "truediv"), ("TrueDivide", "truediv"), ("Maximum", "maximum"),
        ("Minimum", "minimum"), ("Power", "pow"), ("Equal", "equal"),
        ("NotEqual", "not_equal"), ("Greater", "greater"), ("GreaterEqual", "greater_equal"),
        ("Less", "less"), ("LessEqual", "less_equal"), ("Matmul", "matmul"),
        ("LogicalAnd", "logical_and"), ("LogicalOr", "logical_or"))},
    **{k: (v, {}) for k, v in (
        ("Negative", "negative"), ("Abs", "abs"), ("Absolute", "abs"), ("Square", "square"),
        ("Sqrt", "sqrt"), ("Exp", "exp"), ("Log", "log"), ("Tanh", "tanh"),
        ("Sigmoid", "sigmoid"), ("Relu", "relu"), ("Relu6", "relu6"), ("Floor", "floor"),
        ("Ceil", "ceil"), ("Sin", "sin"), ("Cos", "cos"), ("Softplus", "softplus"),
        ("Softsign", "softsign"), ("Erf", "erf"), ("LogicalNot", "logical_not"))},
    "Mean": ("reduce_mean", {}), "Sum": ("reduce_sum", {}), "Max": ("reduce_max", {}),
    "Min": ("reduce_min", {}), "Prod": ("reduce_prod", {}), "Any": ("reduce_any", {}),
    "All": ("reduce_all", {}), "Cast": ("cast", {}),
    "Reshape": ("reshape", {"newshape": "shape"}), "Transpose": ("transpose", {"axes": "perm"}),
    "ExpandDims": ("expand_dims", {}), "Squeeze": ("squeeze", {}),
    "Concatenate": ("concat", {"xs": "values"}), "Stack": ("stack", {}),
    "Softmax": ("softmax", {}), "LogSoftmax": ("log_softmax", {}),
    "Where": ("where", {}), "Einsum": ("einsum", {"operands": "inputs"}),
    "GetItem": ("getitem", {"key": "slice_spec"}),
    "Clip": ("clip_by_value", {"x_min": "clip_value_min", "x_max": "clip_value_max"}),
}


def _bind(fn, args, kwargs) -> dict:
    sig = inspect.signature(fn)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise LoweringError(f"its arguments do not bind: {exc}") from None
    bound.apply_defaults()
    out = {}
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind == inspect.Parameter.VAR_POSITIONAL:
            out["*"] = list(value)
        elif kind == inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        else:
            out[name] = value
    return out


def _tf_name(function: str) -> str:
    for prefix in ("compat.v1.", "math.", "nn.", "linalg.", "__operators__."):
        if function.startswith(prefix):
            function = function[len(prefix):]
    return {"swish": "silu", "floor_div": "floordiv", "mod": "floormod"}.get(function, function)


def _operand(b, v, like: Value | None):
    """``(tensor name, dtype)`` of an operand; constants take ``like``'s dtype."""
    if isinstance(v, Value):
        return b.native(v), v.dtype
    if like is None:
        raise LoweringError("an operation on constants only is not lowered")
    arr = np.asarray(v)
    if arr.dtype.kind == "f" and like.dtype.kind in "iub":
        raise LoweringError("a float constant with an integer tensor is not lowered")
    return b.const(arr.astype(like.dtype), "operand"), like.dtype


def _pair(b, x, y):
    like = x if isinstance(x, Value) else (y if isinstance(y, Value) else None)
    (xn, xd), (yn, yd) = _operand(b, x, like), _operand(b, y, like)
    if xd != yd:
        raise LoweringError(f"operands of dtypes {xd.name} and {yd.name} are not lowered")
    return xn, yn, xd


def _reduce(b, name: str, x: Value, a: dict) -> str:
    axes = _axes(_arg(a, "axis", "reduction_indices"), x.ndim)
    keep = 1 if (_arg(a, "keepdims", default=False) or a.get("keep_dims")) else 0
    op = {"reduce_sum": "ReduceSum", "reduce_mean": "ReduceMean", "reduce_max": "ReduceMax",
          "reduce_min": "ReduceMin", "reduce_prod": "ReduceProd"}[name]
    if op == "ReduceSum":
        return b.op(op, [b.native(x)] + ([b.ints(axes)] if axes is not None else []),
                    keepdims=keep)
    return b.op(op, [b.native(x)], keepdims=keep, **({"axes": axes} if axes is not None else {}))


def _lower(b, name: str, a: dict, call) -> str:  # noqa: C901 - one table of cases
    first = _arg(a, "x", "features", "logits", "input_tensor", "input", "tensor", "a", "t",
                 "value", "params", index=0)
    spec = call.specs[0]
    if name in _FLOAT_ONLY and isinstance(first, Value) and first.dtype.kind != "f":
        raise LoweringError(f"{name} of a {first.dtype.name} tensor is not lowered")
    if name in _BINARY or name in ("not_equal", "squared_difference"):
        x, y = _arg(a, "x", index=0), _arg(a, "y", index=1)
        xn, yn, _ = _pair(b, x, y)
        if name == "not_equal":
            return b.op("Not", [b.op("Equal", [xn, yn])])
        if name == "squared_difference":
            d = b.op("Sub", [xn, yn])
            return b.op("Mul", [d, d])
        return b.op(_BINARY[name], [xn, yn], name)
    if not isinstance(first, Value) and name not in ("concat", "stack", "add_n", "einsum",
                                                       "where"):
        raise LoweringError("the first argument is not a Keras tensor")
    if name in _UNARY:
        return b.op(_UNARY[name], [b.native(first)], name)
    x = first
    c = lambda val: b.const(np.asarray(val, x.dtype), "constant")  # noqa: E731
    src = b.native(x) if isinstance(x, Value) else None
    if name == "square":
        return b.op("Mul", [src, src], "square")
    if name == "rsqrt":
        return b.op("Reciprocal", [b.op("Sqrt", [src])], "rsqrt")
    if name == "relu6":
        return b.op("Min", [b.op("Max", [src, c(0)]), c(6)], "relu6")
    if name == "elu":
        return b.op("Elu", [src], alpha=1.0)
    if name == "selu":
        return b.op("Selu", [src], alpha=1.6732632423543772, gamma=1.0507009873554805)
    if name == "gelu":
        return act.gelu(b, src, x, bool(_arg(a, "approximate", default=False)))
    if name == "silu":
        beta = float(_arg(a, "beta", default=1.0))
        inner = src if beta == 1.0 else b.op("Mul", [src, c(beta)])
        return b.op("Mul", [src, b.op("Sigmoid", [inner])], "silu")
    if name == "leaky_relu":
        alpha = _arg(a, "alpha", default=0.2)
        return b.op("Where", [b.op("Greater", [src, c(0)]), src,
                              b.op("Mul", [src, c(alpha)])], "leaky_relu")
    if name in ("softmax", "log_softmax"):
        axis = _arg(a, "axis", "dim")
        axis = -1 if axis is None else int(axis)
        return b.op("Softmax" if name == "softmax" else "LogSoftmax", [src],
                    axis=axis % x.ndim)
    if name in ("reduce_any", "reduce_all"):  # on the truth of each element, int32 max/min
        truth = src if x.dtype == np.bool_ else b.op("Not", [b.op("Equal", [src, c(0)])])
        r = _reduce(b, "reduce_max" if name == "reduce_any" else "reduce_min",
                    Value(b.op("Cast", [truth], to=6), x.shape, np.dtype(np.int32)), a)
        return b.op("Cast", [r], name, to=9)
    if name.startswith("reduce_") and name in ("reduce_sum", "reduce_mean", "reduce_max",
                                               "reduce_min", "reduce_prod"):
        return _reduce(b, name, x, a)
    done = lower_array(b, name, a, x, src, spec)
    if done is not None:
        return done
    if name in ("concat", "stack", "add_n"):
        values = list(_arg(a, "values", "inputs", "xs", index=0))
        like = next((v for v in values if isinstance(v, Value)), None)
        names = [_operand(b, v, like)[0] for v in values]
        if name == "add_n":
            y = names[0]
            for n in names[1:]:
                y = b.op("Add", [y, n])
            return y
        axis = int(_arg(a, "axis", default=0))
        if name == "stack":
            axis = axis % (like.ndim + 1)
            names = [b.op("Unsqueeze", [n, b.ints([axis])]) for n in names]
            return b.op("Concat", names, axis=axis)
        return b.op("Concat", names, axis=axis % like.ndim)
    if name == "matmul":
        y = _arg(a, "b", "y", index=1)
        xn, yn, _ = _pair(b, x, y)
        if _arg(a, "transpose_a", "adjoint_a", default=False):
            xn = b.op("Transpose", [xn], perm=[*range(x.ndim - 2), x.ndim - 1, x.ndim - 2])
        if _arg(a, "transpose_b", "adjoint_b", default=False):
            r = y.ndim if isinstance(y, Value) else np.ndim(y)
            yn = b.op("Transpose", [yn], perm=[*range(r - 2), r - 1, r - 2])
        return b.op("MatMul", [xn, yn])
    if name == "einsum":
        equation = _arg(a, "equation", "subscripts")
        operands = a.get("*") or a.get("inputs") or []
        if not isinstance(equation, str) or not all(isinstance(v, Value) for v in operands):
            raise LoweringError("einsum needs an equation and Keras tensors")
        return b.op("Einsum", [b.native(v) for v in operands],
                    equation=equation.replace(" ", ""))
    if name == "clip_by_value":
        lo, hi = a["clip_value_min"], a["clip_value_max"]
        if isinstance(lo, Value) or isinstance(hi, Value):
            raise LoweringError("tensor clip bounds are not lowered")
        return b.op("Min", [b.op("Max", [src, c(lo)]), c(hi)], "clip")
    if name == "where":
        cond, xv, yv = _arg(a, "condition", index=0), a.get("x"), a.get("y")
        if xv is None or yv is None or not isinstance(cond, Value):
            raise LoweringError("where without x and y (indices) is not lowered")
        xn, yn, _ = _pair(b, xv, yv)
        return b.op("Where", [b.native(cond), xn, yn])
    if name == "bias_add":
        bias = a.get("bias")
        bn = _operand(b, bias, x)[0]
        fmt = a.get("data_format")
        if fmt is not None and str(fmt).upper().startswith("NC") and x.ndim > 2:
            bn = b.op("Reshape", [bn, b.ints([-1] + [1] * (x.ndim - 2))])
        return b.op("Add", [src, bn], "bias_add")
    if name == "l2_normalize":
        axes = _axes(_arg(a, "axis", "dim"), x.ndim)
        sq = b.op("ReduceSum", [b.op("Mul", [src, src])] + ([b.ints(axes)] if axes else []),
                  keepdims=1)
        eps = c(_arg(a, "epsilon", default=1e-12))
        return b.op("Mul", [src, b.op("Reciprocal", [b.op("Sqrt", [b.op("Max", [sq, eps])])])])
    raise LoweringError("this function has no ONNX lowering")


def tf_op_lambda(b, layer, call):
    name = _tf_name(layer.function)
    args, kwargs = layer._convert(list(call.args)), layer._convert(dict(call.kwargs))
    kwargs.pop("name", None)
    kwargs.pop("mask", None)
    a = _bind(layer._fn, args, kwargs)
    if len(call.specs) != 1:
        raise LoweringError(f"tf.{layer.function} has {len(call.specs)} outputs; only "
                            "single-output functions are lowered")
    try:
        y = _lower(b, name, a, call)
    except LoweringError as exc:
        raise LoweringError(f"tf.{layer.function}: {exc}") from None
    return [call.out(y)]


def operation_layer(b, layer, call):
    from numkeras.ops import keras3

    if layer.operation not in _KERAS3:
        raise LoweringError(f"Keras 3 operation {layer.operation} has no ONNX lowering")
    name, renames = _KERAS3[layer.operation]
    sig = inspect.signature(layer._fn)

    def capture(*args, **kwargs):
        return _bind(layer._fn, args, kwargs)

    capture.__signature__ = sig
    capture.__name__ = layer.operation
    kwargs = {k: v for k, v in call.kwargs.items() if k not in ("mask", "name")}
    a = keras3.call_operation(capture, list(call.args), kwargs, layer.op_config)
    a = {renames.get(k, k): v for k, v in a.items()}
    if len(call.specs) != 1:
        raise LoweringError(f"Keras 3 operation {layer.operation} has several outputs")
    spec = call.specs[0]
    first = next((v for v in _flat_values(a) if isinstance(v, Value)), None)
    if first is not None and name not in ("equal", "not_equal", "greater", "greater_equal",
                                          "less", "less_equal", "where", "cast",
                                          "reduce_any", "reduce_all") \
            and np.dtype(spec.dtype) != first.dtype:
        raise LoweringError(f"Keras 3 operation {layer.operation} changes the dtype "
                            f"({first.dtype.name} -> {np.dtype(spec.dtype).name}); not lowered")
    try:
        y = _lower(b, name, a, call)
    except LoweringError as exc:
        raise LoweringError(f"Keras 3 operation {layer.operation}: {exc}") from None
    return [call.out(y)]


def _flat_values(a: dict) -> list:
    out = []
    for v in a.values():
        out.extend(v if isinstance(v, (list, tuple)) else [v])
    return out


LOWERINGS = {"TFOpLambda": tf_op_lambda, "SlicingOpLambda": tf_op_lambda,
             "OperationLayer": operation_layer}
