"""Keras masks in the exported graph: which layer gets which mask, and what each output carries.

The NumPy engine carries a boolean mask on an array (``Embedding(mask_zero=True)``,
``Masking``); each layer whose ``call`` takes ``mask`` receives the mask of its first argument
(a list of masks for a list of inputs), and ``compute_mask`` decides the mask of its output.
Here a :class:`~numkeras.export.graph.Value` holds its mask as ``value.mask`` (a ``bool``
Value, Keras layout), and :func:`with_input_mask` / :func:`propagate` do the same two steps.

Masks are lowered exactly, never dropped: a layer whose ``compute_mask`` is its own (not
``Layer``'s pass-through) and has no rule here is refused when a mask reaches it, and each
lowering of a layer whose ``call`` takes ``mask`` either uses it or refuses it.
"""

from __future__ import annotations

import inspect

import numpy as np

from numkeras.engine import nest
from numkeras.export.graph import LoweringError, Value


def _accepts_mask(layer) -> bool:
    try:
        return "mask" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def input_masks(call):
    """The masks of the first argument's Values (a structure like it), or None if none."""
    first = call.args[0] if call.args else None
    flat = [v.mask if isinstance(v, Value) else None for v in nest.flatten(first)]
    if all(m is None for m in flat):
        return None
    return flat[0] if not nest.is_nested(first) else nest.pack_sequence_as(first, flat)


def with_input_mask(layer, call):
    """``call`` with ``kwargs['mask']`` set as ``Layer._prepare_kwargs`` sets it."""
    if "mask" in call.kwargs:
        if call.kwargs["mask"] is not None and not _accepts_mask(layer):
            call.kwargs = {k: v for k, v in call.kwargs.items() if k != "mask"}
        return call
    if _accepts_mask(layer):
        masks = input_masks(call)
        if masks is not None:
            call.kwargs = {**call.kwargs, "mask": masks}
    return call


def _mask_arg(call):
    """The mask ``compute_mask`` receives: the call's mask, else the first input's masks."""
    if call.kwargs.get("mask") is not None:
        return call.kwargs["mask"]
    masks = input_masks(call)
    if masks is None:
        return None
    flat = nest.flatten(masks)
    return flat[0] if not isinstance(masks, (list, tuple)) else masks


def _has(mask) -> bool:
    return any(m is not None for m in nest.flatten(mask)) if mask is not None else False


def _first(mask):
    return nest.flatten(mask)[0] if isinstance(mask, (list, tuple)) else mask


def bool_value(b, name: str, shape) -> Value:
    return Value(name, tuple(shape), np.dtype(bool))


def _and_masks(b, masks: list) -> Value | None:
    present = [m for m in masks if m is not None]
    if not present:
        return None
    y = present[0].name
    for m in present[1:]:
        y = b.op("And", [y, m.name], "mask_and")
    return bool_value(b, y, present[0].shape)


def _merge_rule(b, layer, call, outs):
    masks = call.kwargs.get("mask") or input_masks(call)
    return [_and_masks(b, list(masks) if masks else [])]


def ones_mask(b, v: Value) -> str:
    """A ``bool`` tensor of ``True`` with ``v``'s (Keras-layout) shape."""
    from onnx import TensorProto, helper

    return b.op("ConstantOfShape", [b.op("Shape", [b.native(v)])], "ones_mask",
                value=helper.make_tensor("value", TensorProto.BOOL, [1], [True]))


def _concatenate_rule(b, layer, call, outs):
    masks = input_masks(call)
    if masks is None:
        return [None]
    values = list(call.x)
    full = []
    for v, m in zip(values, masks):
        if m is None:
            full.append(ones_mask(b, v))
            continue
        name = m.name
        if v.ndim > m.ndim:
            name = b.op("Unsqueeze", [name, b.ints(list(range(m.ndim, v.ndim)))])
            name = b.op("Expand", [name, b.op("Shape", [b.native(v)])], "mask_expand")
        full.append(name)
    cat = b.op("Concat", full, axis=layer.axis % values[0].ndim)
    # np.all(axis=-1): the minimum of the masks as int32
    flat = b.op("ReduceMin", [b.op("Cast", [cat], to=6)], axes=[-1], keepdims=0)
    allm = b.op("Cast", [flat], "mask_all", to=9)
    return [bool_value(b, allm, call.specs[0].shape[:-1])]


def _none_rule(b, layer, call, outs):
    return [None] * len(outs)


def _first_output_rule(b, layer, call, outs):
    """RNNs: the input mask goes to the sequence output (``return_sequences``) only."""
    mask = _first(_mask_arg(call))
    seq = getattr(layer, "return_sequences", False)
    return [mask if seq else None] + [None] * (len(outs) - 1)


def _bidirectional_rule(b, layer, call, outs):
    mask = _first(_mask_arg(call))
    mask = mask if layer.return_sequences else None
    n_out = 1 if layer.merge_mode else 2
    return [mask] * n_out + [None] * (len(outs) - n_out)


def _query_rule(b, layer, call, outs):
    """Attention layers: the query's mask goes to the output (not to the scores)."""
    mask = _mask_arg(call)
    q = mask[0] if isinstance(mask, (list, tuple)) else mask
    return [q] + [None] * (len(outs) - 1)


def _mha_rule(b, layer, call, outs):
    q = call.args[0] if call.args else call.kwargs.get("query")
    return [q.mask] + [None] * (len(outs) - 1)


# class name -> rule(b, layer, call, outs) -> masks of the outputs; classes whose lowering
# sets its outputs' masks itself (Embedding, Masking, TimeDistributed) are in SET_BY_LOWERING
RULES = {
    **{n: _merge_rule for n in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")},
    "Concatenate": _concatenate_rule,
    **{n: _none_rule for n in ("Dot", "GlobalAveragePooling1D", "TFOpLambda", "SlicingOpLambda",
                               "OperationLayer")},
    **{n: _first_output_rule for n in ("RNN", "SimpleRNN", "LSTM", "GRU", "ConvLSTM1D",
                                       "ConvLSTM2D", "ConvLSTM3D")},
    "Bidirectional": _bidirectional_rule,
    "Attention": _query_rule, "AdditiveAttention": _query_rule,
    "MultiHeadAttention": _mha_rule,
}
SET_BY_LOWERING = {"Embedding", "Masking", "TimeDistributed"}


def propagate(b, layer, call, outs: list[Value]) -> None:
    """Set ``out.mask`` on each output as the layer's ``compute_mask`` would."""
    from numkeras.engine.base_layer import Layer

    name = type(layer).__name__
    if name in SET_BY_LOWERING:
        return
    if name in RULES and type(layer).__module__.startswith("numkeras."):
        for out, m in zip(outs, RULES[name](b, layer, call, outs)):
            out.mask = m
        return
    mask = _mask_arg(call)
    if not _has(mask):
        return
    if type(layer).compute_mask is not Layer.compute_mask:
        raise LoweringError("a Keras mask reaches this layer, whose mask handling is not "
                            "lowered")
    if not layer.supports_masking or len(outs) != 1:
        return
    if isinstance(mask, (list, tuple)):
        raise LoweringError("a list of Keras masks reaches this layer, whose mask handling "
                            "is not lowered")
    outs[0].mask = mask


def refuse_mask(call, what: str) -> None:
    """Raise if a Keras mask reaches a lowering that does not compute with it."""
    if _has(call.kwargs.get("mask")):
        raise LoweringError(f"{what} with a Keras mask is not lowered")
