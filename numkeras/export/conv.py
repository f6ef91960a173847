"""Lowerings of convolutions, poolings and the spatial reshaping layers.

Keras kernels are ``(*kernel_size, in, out)``; ONNX's are ``(out, in, *kernel_size)``.
Channels-last layers run on the channels-first copy of their input and leave their output
channels first (see :mod:`numkeras.export.graph`). TF's ``same`` padding puts the extra pixel
at the end, which is ONNX's ``SAME_UPPER``.
"""

from __future__ import annotations

import numpy as np

from numkeras.export import activations as act
from numkeras.export import winograd
from numkeras.export.graph import GraphBuilder, LoweringError, Value


def _input(b: GraphBuilder, layer, x: Value) -> tuple[str, bool]:
    """The input in ONNX's layout (channels first) and whether the output is ``cf``."""
    if x.ndim != layer.rank + 2:
        raise LoweringError(f"inputs of rank {x.ndim} (expected {layer.rank + 2}) are not "
                            "lowered")
    if layer.data_format == "channels_first":
        return b.native(x), False
    return b.channels_first(x), True


#: ``Value._layouts`` keys: a ZeroPadding output's ``(source value, pads, data_format)``, and
#: whether a value is known to be >= 0 (after ReLU).
ZERO_PAD, NONNEG = "zero_pad", "nonneg"


def _input_pads(b, layer, x: Value, padding: str, kernel, strides, dilations=None,
                is_max_pool: bool = False) -> tuple[str, bool, dict]:
    """:func:`_input` and :func:`_pads`, with a ZeroPadding layer right before a ``valid``
    convolution (or a max pool of non-negative values, padding smaller than the window)
    folded into the layer's own padding: no Pad node (it is pruned unless used elsewhere)
    and no layout conversion around it in ONNX Runtime's blocked layout."""
    held = x._layouts.get(ZERO_PAD)
    if padding == "valid" and held is not None:
        source, spatial, data_format = held
        fits = data_format == layer.data_format and len(spatial) == layer.rank
        if is_max_pool:
            fits = fits and source._layouts.get(NONNEG) and all(
                max(p) < k for p, k in zip(spatial, kernel))
        if fits:
            src, cf = _input(b, layer, source)
            return src, cf, {"pads": [p[0] for p in spatial] + [p[1] for p in spatial]}
    src, cf = _input(b, layer, x)
    return src, cf, _pads(padding, kernel, strides, dilations)


def _pads(padding: str, kernel, strides, dilations=None) -> dict:
    """Padding attributes: TF's SAME is SAME_UPPER; with stride 1 it is the fixed
    ``eff - 1`` split (the half rounded down first), which also works with dilations."""
    if padding != "same":
        return {"auto_pad": "VALID"}
    dilations = dilations or [1] * len(kernel)
    if any(s != 1 for s in strides):
        return {"auto_pad": "SAME_UPPER"}
    total = [(k - 1) * d for k, d in zip(kernel, dilations)]
    return {"pads": [t // 2 for t in total] + [t - t // 2 for t in total]}


def _to_onnx_kernel(kernel: np.ndarray) -> np.ndarray:
    rank = kernel.ndim - 2
    return np.ascontiguousarray(kernel.transpose(rank + 1, rank, *range(rank)))


def _causal(b, layer, src: str) -> str:
    left = (layer.kernel_size[0] - 1) * layer.dilation_rate[0]
    return b.op("Pad", [src, b.ints([0, 0, left, 0, 0, 0])], "causal_pad")


def _finish(b, layer, call, y: str, cf: bool) -> list[Value]:
    if layer.use_bias and layer.bias is not None:
        bias = np.asarray(layer.bias.value)
        y = b.op("Add", [y, b.const(bias.reshape((-1,) + (1,) * layer.rank), "bias")])
    v = call.out(y, cf=cf)
    out = call.out(act.activation(b, layer.activation, y, v), cf=cf)
    if getattr(layer.activation, "__name__", "") in ("relu", "relu6"):
        out._layouts[NONNEG] = True
    return [out]


def conv(b, layer, call):
    padding = layer.padding
    src, cf, pads = _input_pads(b, layer, call.x, padding, layer.kernel_size, layer.strides,
                                layer.dilation_rate)
    if padding == "causal":
        src, padding, pads = _causal(b, layer, src), "valid", {"auto_pad": "VALID"}
    if winograd.worthwhile(layer, call.x, padding):
        y, tall, raw = winograd.conv3x3(b, layer, src, call.x)
        out = call.out(y, cf=cf)
        out._layouts[winograd.TALL] = (tall, int(layer.filters), *winograd._spatial(layer, call.x))
        out._layouts[winograd.RAW] = raw
        return [out]
    w = b.const(_to_onnx_kernel(np.asarray(layer.kernel.value)), "kernel")
    y = b.op("Conv", [src, w], strides=list(layer.strides),
             dilations=list(layer.dilation_rate), group=int(layer.groups),
             kernel_shape=list(layer.kernel_size), **pads)
    return _finish(b, layer, call, y, cf)


def _depthwise_weight(kernel: np.ndarray) -> np.ndarray:
    """``(*k, in, mult)`` -> ``(in * mult, 1, *k)``: output channel ``c * mult + m``."""
    rank = kernel.ndim - 2
    cin, mult = kernel.shape[-2:]
    w = kernel.transpose(rank, rank + 1, *range(rank))
    return np.ascontiguousarray(w.reshape((cin * mult, 1) + kernel.shape[:rank]))


def _depthwise(b, layer, src: str, padding: str, pads: dict | None = None) -> str:
    kernel = np.asarray(layer.depthwise_kernel.value)
    w = b.const(_depthwise_weight(kernel), "depthwise_kernel")
    return b.op("Conv", [src, w], strides=list(layer.strides),
                dilations=list(layer.dilation_rate), group=int(kernel.shape[-2]),
                kernel_shape=list(layer.kernel_size),
                **(pads or _pads(padding, layer.kernel_size, layer.strides,
                                 layer.dilation_rate)))


def depthwise_conv(b, layer, call):
    padding = layer.padding
    src, cf, pads = _input_pads(b, layer, call.x, padding, layer.kernel_size, layer.strides,
                                layer.dilation_rate)
    if padding == "causal":
        src, padding, pads = _causal(b, layer, src), "valid", None
    return _finish(b, layer, call, _depthwise(b, layer, src, padding, pads), cf)


def separable_conv(b, layer, call):
    src, cf = _input(b, layer, call.x)
    padding = layer.padding
    if padding == "causal":
        src, padding = _causal(b, layer, src), "valid"
    y = _depthwise(b, layer, src, padding)
    pointwise = _to_onnx_kernel(np.asarray(layer.pointwise_kernel.value))
    y = b.op("Conv", [y, b.const(pointwise, "pointwise_kernel")],
             kernel_shape=[1] * layer.rank)
    return _finish(b, layer, call, y, cf)


def conv_transpose(b, layer, call):
    from numkeras.ops.conv import deconv_output_length, effective_size

    src, cf = _input(b, layer, call.x)
    dilation = list(layer._dilation())
    pads_begin, pads_end, out_pad = [], [], []
    for i, (k, s, d) in enumerate(zip(layer.kernel_size, layer.strides, dilation)):
        op = None if layer.output_padding is None else layer.output_padding[i]
        n = 7  # the padding does not depend on the input length
        out = deconv_output_length(n, k, layer.padding, op, s, d)
        total = (n - 1) * s + effective_size(k, d) - out
        if total >= 0:
            before = total // 2 if layer.padding == "same" else 0
            pads_begin.append(before)
            pads_end.append(total - before)
            out_pad.append(0)
        else:
            pads_begin.append(0)
            pads_end.append(0)
            out_pad.append(-total)
    kernel = np.asarray(layer.kernel.value)  # (*k, out, in) -> (in, out, *k)
    w = np.ascontiguousarray(kernel.transpose(layer.rank + 1, layer.rank, *range(layer.rank)))
    attrs = {"output_padding": out_pad} if any(out_pad) else {}
    y = b.op("ConvTranspose", [src, b.const(w, "kernel")], strides=list(layer.strides),
             dilations=dilation, pads=pads_begin + pads_end,
             kernel_shape=list(layer.kernel_size), **attrs)
    return _finish(b, layer, call, y, cf)


# -- pooling -----------------------------------------------------------------------------------
def _pool(op: str):
    def lower(b, layer, call):
        held = winograd.max_pool(b, layer, call.x) if op == "MaxPool" else None
        if held is not None:  # the input is a Winograd convolution's (tall layout)
            out = call.out(held[0], cf=layer.data_format == "channels_last")
            out._layouts[winograd.TALL] = held[1]
            return [out]
        if op == "MaxPool":  # (an average would count the zeros: no folding)
            src, cf, pads = _input_pads(b, layer, call.x, layer.padding, layer.pool_size,
                                        layer.strides, is_max_pool=True)
        else:
            src, cf = _input(b, layer, call.x)
            pads = _pads(layer.padding, layer.pool_size, layer.strides)
        attrs = {"count_include_pad": 0} if op == "AveragePool" else {}
        y = b.op(op, [src], strides=list(layer.strides), kernel_shape=list(layer.pool_size),
                 **pads, **attrs)
        return [call.out(y, cf=cf)]
    return lower


def _global_pool(op: str):
    def lower(b, layer, call):
        x = call.x
        if call.kwargs.get("mask") is not None:
            raise LoweringError("masked global pooling is not lowered")
        if layer.data_format == "channels_first":
            src, cf = b.native(x), False
        else:
            src, cf = b.channels_first(x), layer.keepdims
        # GlobalAveragePool/GlobalMaxPool (not ReduceMean): ONNX Runtime keeps them in its
        # blocked channel layout, a ReduceMean forces a layout conversion on each side
        pooled = b.op(op, [src])
        if layer.keepdims:
            return [call.out(pooled, cf=cf)]
        out = call.out(b.op("Reshape", [pooled, b.ints([0, -1])], "squeeze"))
        if layer.data_format != "channels_first":
            # a following Reshape((1, 1, C)) (squeeze-and-excite) reuses the pooled tensor
            out._layouts["unsqueezed_cf"] = (pooled, x.ndim)
        return [out]
    return lower


# -- padding, cropping, upsampling -----------------------------------------------------------
def _spatial_axes(layer) -> list[int]:
    from numkeras.layers._conv_utils import spatial_axes

    return list(spatial_axes(layer.rank, layer.data_format))


def zero_padding(b, layer, call):
    x = call.x
    pads = [0] * (2 * x.ndim)
    for axis, (before, after) in zip(_spatial_axes(layer), layer.padding):
        p = b.physical_axis(x, axis)
        pads[p], pads[x.ndim + p] = before, after
    out = call.out(b.op("Pad", [x.name, b.ints(pads)], "pad"), cf=x.cf)
    out._layouts[ZERO_PAD] = (x, [tuple(p) for p in layer.padding], layer.data_format)
    if x._layouts.get(NONNEG):
        out._layouts[NONNEG] = True
    return [out]


def cropping(b, layer, call):
    x = call.x
    starts, ends, axes = [], [], []
    for axis, (before, after) in zip(_spatial_axes(layer), layer.cropping):
        axes.append(b.physical_axis(x, axis))
        starts.append(before)
        ends.append(-after if after else np.iinfo(np.int64).max)
    y = b.op("Slice", [x.name, b.ints(starts), b.ints(ends), b.ints(axes)], "crop")
    return [call.out(y, cf=x.cf)]


def upsampling(b, layer, call):
    x = call.x
    scales = [1.0] * x.ndim
    for axis, f in zip(_spatial_axes(layer), layer.size):
        scales[b.physical_axis(x, axis)] = float(f)
    interpolation = getattr(layer, "interpolation", "nearest")
    if interpolation == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                 "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    scales_c = b.const(np.asarray(scales, np.float32), "scales")
    y = b.op("Resize", [x.name, "", scales_c], "upsample", **attrs)
    return [call.out(y, cf=x.cf)]


LOWERINGS = {
    **{name: conv for name in ("Conv1D", "Conv2D", "Conv3D")},
    **{name: conv_transpose for name in ("Conv1DTranspose", "Conv2DTranspose",
                                         "Conv3DTranspose")},
    "DepthwiseConv1D": depthwise_conv, "DepthwiseConv2D": depthwise_conv,
    "SeparableConv1D": separable_conv, "SeparableConv2D": separable_conv,
    **{f"MaxPooling{n}D": _pool("MaxPool") for n in (1, 2, 3)},
    **{f"AveragePooling{n}D": _pool("AveragePool") for n in (1, 2, 3)},
    **{f"GlobalAveragePooling{n}D": _global_pool("GlobalAveragePool") for n in (1, 2, 3)},
    **{f"GlobalMaxPooling{n}D": _global_pool("GlobalMaxPool") for n in (1, 2, 3)},
    **{f"ZeroPadding{n}D": zero_padding for n in (1, 2, 3)},
    **{f"Cropping{n}D": cropping for n in (1, 2, 3)},
    **{f"UpSampling{n}D": upsampling for n in (1, 2, 3)},
}
