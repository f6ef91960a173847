"""Lowerings of core, activation, merging, reshaping and preprocessing layers.

Elementwise layers keep whatever layout their input has; layers that depend on the order of
axes (Flatten, Reshape, Permute, Dense on images) take Keras's layout.
"""

from __future__ import annotations

import numpy as np

from numkeras.export import activations as act
from numkeras.export.graph import GraphBuilder, LoweringError, Value, _elem_type


def _weight(layer, var) -> np.ndarray:
    return np.asarray(var.value)


def dense(b: GraphBuilder, layer, call) -> list[Value]:
    x = call.x
    src = b.native(x)
    y = b.op("MatMul", [src, b.const(_weight(layer, layer.kernel), "kernel")])
    if layer.use_bias:
        y = b.op("Add", [y, b.const(_weight(layer, layer.bias), "bias")])
    v = call.out(y)
    return [call.out(act.activation(b, layer.activation, y, v))]


def activation_layer(b, layer, call):
    x = call.x
    out = call.out(act.activation(b, layer.activation, x.name, x), cf=x.cf)
    if getattr(layer.activation, "__name__", "") in ("relu", "relu6"):
        out._layouts["nonneg"] = True  # lets a padded max pool pad by itself (conv.py)
    return [out]


def identity(b, layer, call):
    """Layers that are the identity at inference (dropout and noise, masking-free)."""
    x = call.x
    return [call.out(x.name, cf=x.cf)]


def relu_layer(b, layer, call):
    x = call.x
    max_value = None if layer.max_value is None else float(layer.max_value)
    y = act.relu(b, x.name, x, float(layer.negative_slope), max_value, float(layer.threshold))
    out = call.out(y, cf=x.cf)
    if float(layer.negative_slope) == 0 and float(layer.threshold) >= 0:
        out._layouts["nonneg"] = True
    return [out]


def leaky_relu_layer(b, layer, call):
    x = call.x
    return [call.out(b.op("LeakyRelu", [x.name], alpha=float(layer.alpha)), cf=x.cf)]


def elu_layer(b, layer, call):
    x = call.x
    return [call.out(b.op("Elu", [x.name], alpha=float(layer.alpha)), cf=x.cf)]


def thresholded_relu_layer(b, layer, call):
    x = call.x
    return [call.out(b.op("ThresholdedRelu", [x.name], alpha=float(layer.theta)), cf=x.cf)]


def softmax_layer(b, layer, call):
    x = call.x
    if call.kwargs.get("mask") is not None:
        raise LoweringError("a masked Softmax is not lowered")
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    src = x.name
    if len(axes) == 1:
        return [call.out(b.op("Softmax", [src], axis=b.physical_axis(x, axes[0])), cf=x.cf)]
    phys = [b.physical_axis(x, a) for a in axes]
    lse = b.op("ReduceLogSumExp", [src], axes=phys, keepdims=1)
    return [call.out(b.op("Exp", [b.op("Sub", [src, lse])]), cf=x.cf)]


def prelu_layer(b, layer, call):
    x = call.x
    alpha = _weight(layer, layer.alpha)
    # relu(x) - alpha * relu(-x), as the layer computes it
    pos = b.op("Relu", [x.name])
    neg = b.op("Relu", [b.op("Neg", [x.name])])
    y = b.op("Sub", [pos, b.op("Mul", [b.physical_const(x, alpha, "alpha"), neg])])
    return [call.out(y, cf=x.cf)]


# -- merging -----------------------------------------------------------------------------------
def _same_layout(b, values: list[Value]) -> tuple[list[str], bool]:
    if all(v.cf for v in values) and len({v.ndim for v in values}) == 1:
        return [v.name for v in values], True
    return [b.native(v) for v in values], False


def _merge(op: str, scale: float | None = None):
    def lower(b, layer, call):
        values = list(call.x)
        if len({v.ndim for v in values}) != 1:
            raise LoweringError("inputs of different ranks are not lowered")
        names, cf = _same_layout(b, values)
        y = names[0]
        for other in names[1:]:
            y = b.op(op, [y, other])
        if scale is not None:
            y = b.op("Div", [y, b.const(len(names), dtype=values[0].dtype)], "average")
        return [call.out(y, cf=cf)]
    return lower


def subtract(b, layer, call):
    values = list(call.x)
    names, cf = _same_layout(b, values)
    return [call.out(b.op("Sub", names), cf=cf)]


def concatenate(b, layer, call):
    values = list(call.x)
    names, cf = _same_layout(b, values)
    axis = b.physical_axis(values[0], layer.axis) if cf else layer.axis % values[0].ndim
    return [call.out(b.op("Concat", names, axis=axis), cf=cf)]


def dot(b, layer, call):
    values = list(call.x)
    if any(v.ndim not in (2, 3) for v in values):
        raise LoweringError("Dot is lowered for 2-D and 3-D inputs")
    x1, x2 = (b.native(v) for v in values)
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else [layer.axes] * 2
    axes = [a % v.ndim for a, v in zip(axes, values)]
    if layer.normalize:
        x1 = b.op("LpNormalization", [x1], axis=axes[0], p=2)
        x2 = b.op("LpNormalization", [x2], axis=axes[1], p=2)
    r1, r2 = values[0].ndim, values[1].ndim
    letters1 = "bij"[:r1] if r1 == 3 else "bi"
    letters2 = "bkl"[:r2] if r2 == 3 else "bk"
    letters2 = letters2.replace(letters2[axes[1]], letters1[axes[0]])
    out = "b" + "".join(c for c in letters1[1:] if c != letters1[axes[0]]) + \
        "".join(c for c in letters2[1:] if c != letters1[axes[0]])
    y = b.op("Einsum", [x1, x2], equation=f"{letters1},{letters2}->{out}")
    if call.specs[0].ndim == 2 and len(out) == 1:
        y = b.op("Unsqueeze", [y, b.ints([1])])
    return [call.out(y)]


# -- reshaping ---------------------------------------------------------------------------------
def flatten(b, layer, call):
    x = call.x
    src = b.native(x)
    if layer.data_format == "channels_first" and x.ndim > 2:
        src = b.op("Transpose", [src], perm=[0, *range(2, x.ndim), 1])
    return [call.out(b.op("Reshape", [src, b.ints([0, -1])], "flatten"))]


def reshape(b, layer, call):
    x = call.x
    target = list(layer.target_shape)
    if x.ndim == 2 and len(target) >= 2 and all(d == 1 for d in target[:-1]) \
            and target[-1] in (-1, x.shape[1]) and x.shape[1] is not None:
        # (N, C) -> (N, 1, .., 1, C) is (N, C, 1, .., 1) channels first: no transposes later
        pooled = x._layouts.get("unsqueezed_cf")
        if pooled is not None and pooled[1] == len(target) + 1:
            return [call.out(pooled[0], cf=True)]
        shape = [0, x.shape[1]] + [1] * (len(target) - 1)
        return [call.out(b.op("Reshape", [x.name, b.ints(shape)]), cf=True)]
    return [call.out(b.op("Reshape", [b.native(x), b.ints([0, *target])]))]


def permute(b, layer, call):
    x = call.x
    return [call.out(b.op("Transpose", [b.native(x)], perm=[0, *layer.dims]))]


def repeat_vector(b, layer, call):
    x = call.x
    y = b.op("Unsqueeze", [b.native(x), b.ints([1])])
    return [call.out(b.op("Tile", [y, b.ints([1, layer.n, 1])]))]


# -- preprocessing -----------------------------------------------------------------------------
def _to_float(b, x: Value, dtype) -> str:
    if x.dtype == np.dtype(dtype):
        return x.name
    return b.op("Cast", [x.name], to=_elem_type(dtype))


def rescaling(b, layer, call):
    x = call.x
    dtype = np.dtype(layer.compute_dtype)
    src = _to_float(b, x, dtype)
    xv = Value(src, x.shape, dtype, cf=x.cf)
    y = b.op("Mul", [src, b.physical_const(xv, np.asarray(layer.scale, dtype), "scale")])
    offset = np.asarray(layer.offset, dtype)
    if np.any(offset != 0):
        y = b.op("Add", [y, b.physical_const(xv, offset, "offset")])
    return [call.out(y, cf=x.cf)]


def normalization(b, layer, call):
    from numkeras import backend

    x = call.x
    layer.finalize_state()
    dtype = np.dtype(layer.compute_dtype)
    src = _to_float(b, x, dtype)
    xv = Value(src, x.shape, dtype, cf=x.cf)
    std = np.maximum(np.sqrt(layer.variance), np.asarray(backend.epsilon(), dtype))
    mean = np.asarray(layer.mean, dtype)
    if layer.invert:
        y = b.op("Add", [b.physical_const(xv, mean, "mean"),
                         b.op("Mul", [src, b.physical_const(xv, std, "std")])])
    else:
        y = b.op("Div", [b.op("Sub", [src, b.physical_const(xv, mean, "mean")]),
                         b.physical_const(xv, std, "std")])
    return [call.out(y, cf=x.cf)]


def embedding(b, layer, call):
    x = call.x
    if layer.mask_zero:
        raise LoweringError("Embedding(mask_zero=True) produces a mask, which is not lowered")
    ids = b.native(x) if x.dtype == np.int64 else b.op("Cast", [b.native(x)],
                                                           to=_elem_type(np.int64))
    table = b.const(_weight(layer, layer.embeddings), "embeddings")
    return [call.out(b.op("Gather", [table, ids], axis=0))]


LOWERINGS = {
    "Dense": dense,
    "Activation": activation_layer,
    "Dropout": identity, "SpatialDropout1D": identity, "SpatialDropout2D": identity,
    "SpatialDropout3D": identity, "GaussianNoise": identity, "GaussianDropout": identity,
    "AlphaDropout": identity, "ActivityRegularization": identity,
    "ReLU": relu_layer, "LeakyReLU": leaky_relu_layer, "ELU": elu_layer,
    "ThresholdedReLU": thresholded_relu_layer, "Softmax": softmax_layer, "PReLU": prelu_layer,
    "Add": _merge("Add"), "Multiply": _merge("Mul"), "Maximum": _merge("Max"),
    "Minimum": _merge("Min"), "Average": _merge("Add", scale=True), "Subtract": subtract,
    "Concatenate": concatenate,
    "Flatten": flatten, "Reshape": reshape, "Permute": permute, "RepeatVector": repeat_vector,
    "Rescaling": rescaling, "Normalization": normalization, "Embedding": embedding,
}
