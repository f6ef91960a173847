"""Lowerings of the remaining layer classes: Dot, Identity, SyncBatchNormalization,
RandomFourierFeatures, SpectralNormalization (inference: the wrapped layer with its stored
kernel), LocallyConnected1D/2D.

LocallyConnected with ``implementation=1`` gathers every output position's patch from the
flattened input (the same index order as the layer's slices) and multiplies by the unshared
kernel with ``Einsum("bpk,pkf->bpf")``; implementations 2 and 3 multiply the flattened input
by the layer's dense ``(input size, output size)`` matrix, as the layer does.
"""

from __future__ import annotations

import itertools

import numpy as np

from numkeras.export import activations as act
from numkeras.export import norm
from numkeras.export.graph import LoweringError


def _l2_normalize(b, x: str, axis: int, dtype) -> str:
    """``x / sqrt(max(sum(x^2, axis), 1e-12))``, as ``merging_extra._l2_normalize``."""
    sq = b.op("ReduceSum", [b.op("Mul", [x, x]), b.ints([axis])], keepdims=1)
    return b.op("Div", [x, b.op("Sqrt", [b.op("Max", [sq, b.const(1e-12, dtype=dtype)])])],
                "l2_normalized")


def dot(b, layer, call):
    """``Dot``: the layer's einsum (batch axis shared, ``axes`` contracted)."""
    x, y = list(call.x)
    ax, ay = layer._axes([x.ndim, y.ndim])
    xn, yn = b.native(x), b.native(y)
    if layer.normalize:
        xn, yn = _l2_normalize(b, xn, ax, x.dtype), _l2_normalize(b, yn, ay, y.dtype)
    letters = "abcdefghijklmnopqrstuvwxy"
    xs = "z" + letters[:x.ndim - 1]
    ys = "z" + letters[x.ndim - 1:x.ndim + y.ndim - 2]
    ys = ys[:ay] + xs[ax] + ys[ay + 1:]
    out = xs[:ax] + xs[ax + 1:] + "".join(c for c in ys[1:] if c != xs[ax])
    result = b.op("Einsum", [xn, yn], "dot", equation=f"{xs},{ys}->{out}")
    if len(out) == 1:
        result = b.op("Unsqueeze", [result, b.ints([1])])
    return [call.out(result)]


def identity(b, layer, call):
    from numkeras.engine import nest

    flat = nest.flatten(call.x)
    if len(flat) != len(call.specs):
        raise LoweringError("Identity of a structure with non-tensor entries is not lowered")
    outs = []
    for i, v in enumerate(flat):
        out = call.out(v.name, cf=v.cf, index=i)
        out.mask = v.mask
        outs.append(out)
    return outs


def random_fourier_features(b, layer, call):
    x = call.x
    kernel = (np.float32(1.0) / np.asarray(layer.kernel_scale.value)) * \
        np.asarray(layer.unscaled_kernel.value)
    src = b.native(x) if x.dtype == np.float32 else b.op("Cast", [b.native(x)], to=1)
    y = b.op("Add", [b.op("MatMul", [src, b.const(kernel.astype(np.float32), "kernel")]),
                     b.const(np.asarray(layer.bias.value), "bias")])
    return [call.out(b.op("Cos", [y], "random_features"))]


def spectral_normalization(b, layer, call):
    from numkeras.export.walk import lower_call

    if call.kwargs.get("training"):
        raise LoweringError("training=True is not lowered")
    inner_call = type(call)(list(call.args[:1]), {}, call.specs)
    return lower_call(b, layer.layer, inner_call)


def locally_connected(b, layer, call):
    x = call.x
    src = b.native(x)
    if np.dtype(layer.compute_dtype) != np.float32:
        raise LoweringError("only float32 is lowered")
    cf = layer.data_format == "channels_first"
    flat = b.op("Reshape", [src, b.ints([0, -1])], "flatten")
    if layer.implementation == 1:
        positions = np.arange(int(np.prod(x.shape[1:])), dtype=np.int64).reshape(x.shape[1:])
        patches = []
        for pos in itertools.product(*(range(d) for d in layer._out)):
            window = tuple(slice(p * s, p * s + k)
                           for p, s, k in zip(pos, layer.strides, layer.kernel_size))
            index = (slice(None), *window) if cf else window
            patches.append(positions[index].reshape(-1))
        idx = b.const(np.stack(patches), "patch_indices")
        gathered = b.op("Gather", [flat, idx], "patches", axis=1)
        out = b.op("Einsum", [gathered, b.const(np.asarray(layer.kernel.value), "kernel")],
                   equation="bpk,pkf->bpf")
        out = b.op("Reshape", [out, b.ints([0, *layer._out, layer.filters])])
        if cf:
            out = b.op("Transpose", [out], perm=[0, layer.rank + 1, *range(1, layer.rank + 1)])
    else:
        out = b.op("MatMul", [flat, b.const(layer._matrix(np.float32), "kernel")])
        shape = (layer.filters, *layer._out) if cf else (*layer._out, layer.filters)
        out = b.op("Reshape", [out, b.ints([0, *shape])])
    if layer.use_bias:
        bias = np.asarray(layer.bias.value, np.float32)
        bias = bias.reshape((1, layer.filters, *layer._out)) if cf else bias
        out = b.op("Add", [out, b.const(bias, "bias")])
    v = call.out(out)
    return [call.out(act.activation(b, layer.activation, out, v))]


LOWERINGS = {
    "Dot": dot, "Identity": identity, "SyncBatchNormalization": norm.batch_norm,
    "RandomFourierFeatures": random_fourier_features,
    "SpectralNormalization": spectral_normalization,
    "LocallyConnected1D": locally_connected, "LocallyConnected2D": locally_connected,
}
