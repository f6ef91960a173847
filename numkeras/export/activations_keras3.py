"""Keras 3's activations (``numkeras/ops/nn_keras3.py``) as ONNX nodes, same formulas.

``keras3_hard_sigmoid`` is ``relu6(x + 3) / 6`` (Keras 3's ``hard_sigmoid``; tf-keras's is
:mod:`numkeras.export.activations`'s), ``hard_silu``/``hard_swish`` is ``x`` times it;
``log_sigmoid`` is ``-softplus(-x)``; ``celu``, ``hard_shrink``, ``hard_tanh``,
``soft_shrink``, ``sparse_plus``, ``sparse_sigmoid``, ``squareplus`` and ``tanh_shrink``
follow their NumPy definitions (``celu``'s ``expm1`` is ``exp - 1``). Not lowered:
``sparsemax`` (a sort) and ``glu`` (it halves the last axis, which the layers' output shapes
do not say).
"""

from __future__ import annotations


def _hard_sigmoid(b, x, v):
    c = lambda val: b.const(val, dtype=v.dtype)  # noqa: E731
    relu6 = b.op("Min", [b.op("Max", [b.op("Add", [x, c(3)]), c(0)]), c(6)])
    return b.op("Div", [relu6, c(6)], "hard_sigmoid")


def _where(b, cond, a, other):
    return b.op("Where", [cond, a, other])


def _shrinks(b, x, v, name):
    c = lambda val: b.const(val, dtype=v.dtype)  # noqa: E731
    if name == "hard_shrink":
        return _where(b, b.op("Greater", [b.op("Abs", [x]), c(0.5)]), x, c(0))
    if name == "soft_shrink":
        inner = _where(b, b.op("Less", [x, c(-0.5)]), b.op("Add", [x, c(0.5)]), c(0))
        return _where(b, b.op("Greater", [x, c(0.5)]), b.op("Sub", [x, c(0.5)]), inner)
    if name == "sparse_plus":
        sq = b.op("Add", [x, c(1)])
        inner = _where(b, b.op("Less", [x, c(1)]), b.op("Mul", [c(0.25), b.op("Mul", [sq, sq])]),
                       x)
        return _where(b, b.op("LessOrEqual", [x, c(-1)]), c(0), inner)
    # sparse_sigmoid
    inner = _where(b, b.op("GreaterOrEqual", [x, c(1)]), c(1),
                   b.op("Mul", [c(0.5), b.op("Add", [x, c(1)])]))
    return _where(b, b.op("LessOrEqual", [x, c(-1)]), c(0), inner)


def _celu(b, x, v):
    c = lambda val: b.const(val, dtype=v.dtype)  # noqa: E731
    neg = b.op("Sub", [b.op("Exp", [b.op("Min", [x, c(0)])]), c(1)])
    return b.op("Add", [b.op("Max", [x, c(0)]), neg], "celu")


def _squareplus(b, x, v):
    c = lambda val: b.const(val, dtype=v.dtype)  # noqa: E731
    root = b.op("Sqrt", [b.op("Add", [b.op("Mul", [x, x]), c(4)])])
    return b.op("Div", [b.op("Add", [x, root]), c(2)], "squareplus")


BUILDERS = {
    "keras3_hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda b, x, v: b.op("Mul", [x, _hard_sigmoid(b, x, v)], "hard_silu"),
    "log_sigmoid": lambda b, x, v: b.op("Neg", [b.op("Softplus", [b.op("Neg", [x])])]),
    "celu": _celu,
    "hard_tanh": lambda b, x, v: b.op("Min", [b.op("Max", [x, b.const(-1, dtype=v.dtype)]),
                                              b.const(1, dtype=v.dtype)], "hard_tanh"),
    **{n: (lambda name: lambda b, x, v: _shrinks(b, x, v, name))(n)
       for n in ("hard_shrink", "soft_shrink", "sparse_plus", "sparse_sigmoid")},
    "squareplus": _squareplus,
    "tanh_shrink": lambda b, x, v: b.op("Sub", [x, b.op("Tanh", [x])], "tanh_shrink"),
}
