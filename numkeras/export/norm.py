"""Lowerings of BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization.

BatchNormalization at inference is ``x * inv + offset`` with ``inv = gamma / sqrt(var + eps)``
and ``offset = beta - mean * inv`` folded into constants as the NumPy engine computes them
(ONNX Runtime then fuses them into a preceding convolution). It keeps its input's layout.
"""

from __future__ import annotations

import numpy as np

from numkeras.export.graph import LoweringError


def batch_norm(b, layer, call):
    x = call.x
    if call.kwargs.get("training"):
        raise LoweringError("training=True is not lowered")
    rank = x.ndim
    mean = layer._broadcast(np.asarray(layer.moving_mean.value), rank)
    var = layer._broadcast(np.asarray(layer.moving_variance.value), rank)
    inv = 1.0 / np.sqrt(var + np.asarray(layer.epsilon, dtype=x.dtype))
    if layer.scale:
        inv = inv * layer._broadcast(np.asarray(layer.gamma.value), rank)
    offset = -mean * inv
    if layer.center:
        offset = offset + layer._broadcast(np.asarray(layer.beta.value), rank)
    if len(layer.axis) == 1 and x.ndim >= 3 and b.physical_axis(x, layer.axis[0]) == 1:
        # ONNX BatchNormalization with mean 0, variance 1, epsilon 0 is exactly x * inv + offset;
        # ONNX Runtime folds it into a preceding Conv, or runs it in its blocked layout
        zeros = np.zeros(inv.size, x.dtype)
        y = b.op("BatchNormalization", [x.name, b.const(inv.astype(x.dtype).reshape(-1), "scale"),
                                        b.const(offset.astype(x.dtype).reshape(-1), "offset"),
                                        b.const(zeros, "zero_mean"),
                                        b.const(zeros + 1, "unit_variance")], "batchnorm",
                 epsilon=0.0)
        return [call.out(y, cf=x.cf)]
    if len(layer.axis) == 1:  # per-channel vectors, placed on the channel axis
        shape = [1] * rank
        shape[b.physical_axis(x, layer.axis[0])] = -1
        inv_c = b.const(inv.astype(x.dtype).reshape(shape), "scale")
        off_c = b.const(offset.astype(x.dtype).reshape(shape), "offset")
    else:
        inv_c = b.physical_const(x, inv.astype(x.dtype), "scale")
        off_c = b.physical_const(x, offset.astype(x.dtype), "offset")
    y = b.op("Add", [b.op("Mul", [x.name, inv_c]), off_c], "batchnorm")
    return [call.out(y, cf=x.cf)]


def _param(b, x, layer, var, axes, hint):
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    return b.physical_const(x, np.asarray(var.value).reshape(shape), hint)


def layer_norm(b, layer, call):
    x = call.x
    axes = [b.physical_axis(x, a) for a in layer.axis]
    src = x.name
    eps = b.const(layer.epsilon, dtype=x.dtype)
    mean = b.op("ReduceMean", [src], axes=axes, keepdims=1)
    centered = b.op("Sub", [src, mean])
    var = b.op("ReduceMean", [b.op("Mul", [centered, centered])], axes=axes, keepdims=1)
    y = b.op("Div", [centered, b.op("Sqrt", [b.op("Add", [var, eps])])], "normalized")
    if layer.scale:
        y = b.op("Mul", [y, _param(b, x, layer, layer.gamma, layer.axis, "gamma")])
    if layer.center:
        y = b.op("Add", [y, _param(b, x, layer, layer.beta, layer.axis, "beta")])
    return [call.out(y, cf=x.cf)]


def group_norm(b, layer, call):
    x = call.x
    if call.kwargs.get("mask") is not None:
        raise LoweringError("a masked GroupNormalization is not lowered")
    src = b.native(x)
    axis = layer._axis
    dim = x.shape[axis]
    # (N, ..., C, ...) -> (N, ..., groups, C // groups, ...) with the batch and other axes kept
    shape = [0] * axis + [layer.groups, dim // layer.groups] + [0] * (x.ndim - axis - 1)
    if None in x.shape[1:axis]:
        raise LoweringError("unknown dimensions before the group axis are not lowered")
    shape[1:axis] = list(x.shape[1:axis])
    grouped = b.op("Reshape", [src, b.ints(shape)], "grouped")
    reduce = [i for i in range(1, x.ndim + 1) if i != axis]
    eps = b.const(layer.epsilon, dtype=x.dtype)
    mean = b.op("ReduceMean", [grouped], axes=reduce, keepdims=1)
    centered = b.op("Sub", [grouped, mean])
    var = b.op("ReduceMean", [b.op("Mul", [centered, centered])], axes=reduce, keepdims=1)
    y = b.op("Div", [centered, b.op("Sqrt", [b.op("Add", [var, eps])])], "normalized")
    y = b.op("Reshape", [y, b.op("Shape", [src])], "ungrouped")
    pshape = [1] * x.ndim
    pshape[axis] = dim
    if layer.scale:
        y = b.op("Mul", [y, b.const(np.asarray(layer.gamma.value).reshape(pshape), "gamma")])
    if layer.center:
        y = b.op("Add", [y, b.const(np.asarray(layer.beta.value).reshape(pshape), "beta")])
    return [call.out(y)]


def unit_norm(b, layer, call):
    from numkeras.layers._utils import normalize_axes

    x = call.x
    axes = [b.physical_axis(x, a) for a in normalize_axes(layer.axis, x.ndim, layer.name)]
    sq = b.op("ReduceSum", [b.op("Mul", [x.name, x.name]), b.ints(axes)], keepdims=1)
    norm = b.op("Sqrt", [b.op("Max", [sq, b.const(1e-12, dtype=x.dtype)])])
    return [call.out(b.op("Div", [x.name, norm], "unit_normalized"), cf=x.cf)]


LOWERINGS = {
    "BatchNormalization": batch_norm,
    "LayerNormalization": layer_norm,
    "GroupNormalization": group_norm,
    "UnitNormalization": unit_norm,
}
