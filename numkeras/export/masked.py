"""Lowerings of the layers that make or use Keras masks (see :mod:`numkeras.export.masks`).

- ``Embedding(mask_zero=True)``: the lookup, with the mask ``ids != 0``.
- ``Masking``: ``x * any(x != mask_value, axis=-1)``, with that ``any`` as the mask.
- ``Softmax`` with a mask: ``-1e9`` added where the mask is 0 (replaced with
  ``robust_masking``), as the layer does.
- ``GlobalAveragePooling1D`` with a mask: ``sum(x * m) / sum(m)`` over the steps.
- ``TimeDistributed`` with a mask: lowered when the wrapped layer does not use masks (its
  ``call`` takes none and its ``compute_mask`` is ``Layer``'s); the mask passes through.

RNNs with masks are in :mod:`numkeras.export.scan_rnn`, the attention layers in
:mod:`numkeras.export.attention` and :mod:`numkeras.export.dense_attention`.
"""

from __future__ import annotations

import numpy as np

from numkeras.export import conv, core, rnn  # noqa: F401
from numkeras.export.graph import LoweringError, Value, _elem_type
from numkeras.export.masks import _accepts_mask, bool_value

_BOOL = 9


def _mask(call):
    m = call.kwargs.get("mask")
    if isinstance(m, (list, tuple)):
        m = m[0]
    return m


def embedding(b, layer, call):
    """The lookup; negative ids go out of range, so ONNX Runtime refuses them as NumPy does
    (its ``Gather`` would count them from the end)."""
    x = call.x
    ids = b.native(x) if x.dtype == np.int64 else b.op("Cast", [b.native(x)],
                                                           to=_elem_type(np.int64))
    ids = b.op("Where", [b.op("Less", [ids, b.ints(0)]), b.ints(layer.input_dim), ids])
    table = b.const(np.asarray(layer.embeddings.value), "embeddings")
    out = call.out(b.op("Gather", [table, ids], axis=0))
    if not layer.mask_zero:
        return [out]
    zero = b.const(0, dtype=x.dtype)
    out.mask = bool_value(b, b.op("Not", [b.op("Equal", [b.native(x), zero])], "mask"),
                          x.shape)
    return [out]


def masking(b, layer, call):
    x = call.x
    src = b.native(x)
    differs = b.op("Not", [b.op("Equal", [src, b.const(layer.mask_value, dtype=x.dtype)])])
    # any(axis=-1): the maximum of the booleans as int32
    anyf = b.op("ReduceMax", [b.op("Cast", [differs], to=6)], axes=[-1], keepdims=1)
    keep = b.op("Cast", [anyf], to=_elem_type(x.dtype))
    out = call.out(b.op("Mul", [src, keep], "masked"))
    squeezed = b.op("Squeeze", [anyf, b.ints([-1])])
    out.mask = bool_value(b, b.op("Cast", [squeezed], "mask", to=_BOOL), x.shape[:-1])
    return [out]


def softmax(b, layer, call):
    mask = _mask(call)
    if mask is None:
        return core.softmax_layer(b, layer, call)
    x = call.x
    src = b.native(x)
    big_negative = b.const(-1e9, dtype=x.dtype)
    if layer.robust_masking:
        keep = mask.name if mask.dtype == bool else b.op(
            "Greater", [mask.name, b.const(0.5, dtype=mask.dtype)])
        src = b.op("Where", [keep, src, big_negative])
    else:
        m = b.op("Cast", [mask.name], to=_elem_type(x.dtype))
        penalty = b.op("Mul", [b.op("Sub", [b.const(1.0, dtype=x.dtype), m]), big_negative])
        src = b.op("Add", [src, penalty])
    native = Value(src, x.shape, x.dtype)
    call.args = [native, *call.args[1:]]
    call.kwargs = {k: v for k, v in call.kwargs.items() if k != "mask"}
    return core.softmax_layer(b, layer, call)


def global_average_1d(b, layer, call):
    mask = _mask(call)
    if mask is None:
        return conv.LOWERINGS["GlobalAveragePooling1D"](b, layer, call)
    x = call.x
    src = b.native(x)
    channel_axis = -1 if layer.data_format == "channels_last" else 1
    steps = 1 if layer.data_format == "channels_last" else 2
    m = b.op("Unsqueeze", [b.op("Cast", [mask.name], to=_elem_type(x.dtype)),
                           b.ints([channel_axis])])
    keep = 1 if layer.keepdims else 0
    num = b.op("ReduceSum", [b.op("Mul", [src, m]), b.ints([steps])], keepdims=keep)
    den = b.op("ReduceSum", [m, b.ints([steps])], keepdims=keep)
    return [call.out(b.op("Div", [num, den], "masked_mean"))]


def time_distributed(b, layer, call):
    from numkeras.engine.base_layer import Layer

    mask = _mask(call)
    if mask is None:
        return rnn.time_distributed(b, layer, call)
    inner = layer.layer
    if _accepts_mask(inner) or type(inner).compute_mask is not Layer.compute_mask:
        raise LoweringError(f"TimeDistributed over {type(inner).__name__} with a Keras mask "
                            "is not lowered")
    call.kwargs = {k: v for k, v in call.kwargs.items() if k != "mask"}
    outs = rnn.time_distributed(b, layer, call)
    if len(outs) == 1:
        m = mask
        if m.ndim > 2 and not inner.supports_masking:  # TimeDistributed.compute_mask
            anyf = b.op("ReduceMax", [b.op("Cast", [m.name], to=6)],
                        axes=list(range(2, m.ndim)), keepdims=0)
            m = bool_value(b, b.op("Cast", [anyf], to=_BOOL), m.shape[:2])
        outs[0].mask = m
    return outs


LOWERINGS = {"Embedding": embedding, "Masking": masking, "Softmax": softmax,
             "GlobalAveragePooling1D": global_average_1d, "TimeDistributed": time_distributed}
