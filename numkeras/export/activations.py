"""Activation functions as ONNX nodes, each computing what tf-keras computes.

``activation(b, fn, x, value)`` lowers the function ``fn`` (a numkeras activation) applied
to tensor ``x`` (``value`` tells which axis is Keras's last, for softmax). Formulas:

- ``hard_sigmoid`` is tf-keras 2's ``clip(0.2 * x + 0.5, 0, 1)`` (ONNX ``HardSigmoid``).
- ``gelu`` is exact (``0.5 x (1 + erf(x / sqrt 2))``); the layer-level ``approximate=True``
  form is ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
- ``swish``/``silu`` is ``x * sigmoid(x)``; ``mish`` is ``x * tanh(softplus(x))``.
- ``relu(x, alpha, max_value, threshold)`` follows ``backend.relu``'s order of operations.
"""

from __future__ import annotations

from numkeras.export.graph import GraphBuilder, LoweringError, Value


def relu(b: GraphBuilder, x: str, v: Value, alpha: float = 0.0, max_value=None,
         threshold: float = 0.0) -> str:
    """``backend.relu``: negative slope ``alpha``, saturation ``max_value``, ``threshold``."""
    if alpha and max_value is None and not threshold:
        return b.op("LeakyRelu", [x], "leaky_relu", alpha=float(alpha))
    if threshold:
        keep = b.op("Cast", [b.op("Greater", [x, b.const(threshold, dtype=v.dtype)])],
                    to=_elem(v))
        y = b.op("Mul", [x, keep], "thresholded")
    else:
        y = b.op("Relu", [x])
    if max_value is not None:
        y = b.op("Clip", [y, b.const(0, dtype=v.dtype), b.const(max_value, dtype=v.dtype)])
    if alpha:
        shifted = b.op("Sub", [b.const(threshold, dtype=v.dtype), x]) if threshold else \
            b.op("Neg", [x])
        negative = b.op("Relu", [shifted])
        y = b.op("Sub", [y, b.op("Mul", [b.const(alpha, dtype=v.dtype), negative])])
    return y


def gelu(b: GraphBuilder, x: str, v: Value, approximate: bool = False) -> str:
    c = lambda val: b.const(val, dtype=v.dtype)  # noqa: E731
    if approximate:
        cube = b.op("Mul", [b.op("Mul", [x, x]), x])
        inner = b.op("Mul", [c(0.7978845608028654),
                             b.op("Add", [x, b.op("Mul", [c(0.044715), cube])])])
        gate = b.op("Add", [c(1.0), b.op("Tanh", [inner])])
    else:
        gate = b.op("Add", [c(1.0), b.op("Erf", [b.op("Mul", [x, c(0.7071067811865476)])])])
    return b.op("Mul", [b.op("Mul", [c(0.5), x]), gate], "gelu")


def _softmax(b: GraphBuilder, x: str, v: Value, log: bool = False) -> str:
    return b.op("LogSoftmax" if log else "Softmax", [x], axis=b.physical_axis(v, -1))


def _swish(b, x, v):
    return b.op("Mul", [x, b.op("Sigmoid", [x])], "swish")


def _elu(b, x, v, alpha=1.0):
    return b.op("Elu", [x], alpha=float(alpha))


_SIMPLE = {"sigmoid": "Sigmoid", "tanh": "Tanh", "exponential": "Exp", "softsign": "Softsign",
           "softplus": "Softplus"}

_BUILDERS = {
    "relu": lambda b, x, v: relu(b, x, v),
    "relu6": lambda b, x, v: b.op("Clip", [x, b.const(0, dtype=v.dtype),
                                           b.const(6, dtype=v.dtype)], "relu6"),
    "leaky_relu": lambda b, x, v: b.op("LeakyRelu", [x], alpha=0.2),
    "elu": _elu,
    "selu": lambda b, x, v: b.op("Selu", [x], alpha=1.6732632423543772,
                                 gamma=1.0507009873554805),
    "gelu": gelu,
    "swish": _swish,
    "silu": _swish,
    "hard_sigmoid": lambda b, x, v: b.op("HardSigmoid", [x], alpha=0.2, beta=0.5),
    "softmax": _softmax,
    "log_softmax": lambda b, x, v: _softmax(b, x, v, log=True),
    "mish": lambda b, x, v: b.op("Mul", [x, b.op("Tanh", [b.op("Softplus", [x])])], "mish"),
}


def activation(b: GraphBuilder, fn, x: str, v: Value) -> str:
    """Lower activation ``fn`` (a numkeras activation function) applied to ``x``."""
    name = getattr(fn, "__name__", None)
    module = getattr(fn, "__module__", "") or ""
    if name == "linear" and module.startswith("numkeras"):
        return x
    if not module.startswith("numkeras"):
        raise LoweringError(f"activation {fn!r} is not a Keras activation (custom callables "
                            "cannot be exported)")
    if name in _SIMPLE:
        return b.op(_SIMPLE[name], [x])
    if name in _BUILDERS:
        return _BUILDERS[name](b, x, v)
    from numkeras.export.activations_keras3 import BUILDERS as KERAS3

    if name in KERAS3:
        return KERAS3[name](b, x, v)
    raise LoweringError(f"activation {name!r} has no ONNX lowering")


def _elem(v: Value) -> int:
    from numkeras.export.graph import _elem_type

    return _elem_type(v.dtype)


