"""The mask nodes of a Keras 3-style functional config.

Keras 3 computes a layer's output mask with ``keras.ops`` calls while the model is built, so
its configs hold those calls as operation nodes and pass the mask to each layer whose call
takes one: ``Embedding(mask_zero=True)`` feeding an LSTM is saved as a ``NotEqual`` node on
the ids and ``mask=`` that node's output in the LSTM's call; ``Masking`` as ``NotEqual`` then
``Any(axis=-1)``; ``Add``-like merges as ``LogicalOr`` of their inputs' masks (numkeras
writes ``LogicalAnd``: tf-keras's merges AND the masks, and a file says what numkeras
computes; docs/compatibility.md); RNNs with
``return_sequences`` and layers that support masking pass their input's mask on.

numkeras computes masks on arrays at run time instead (as tf-keras does), so the writer
derives the same nodes here: :func:`mask_nodes` walks the graph and returns the operation
nodes to add and the ``mask`` each call receives. Where the rules here do not know how a
layer makes its mask (``Concatenate`` of masked inputs, attention, nested models), the calls
after it get no explicit mask and Keras 3 recomputes it on load, as before.

>>> from numkeras import Input, Model, backend, layers
>>> backend.clear_session()
>>> ids = Input((4,), dtype="int32")
>>> seq = layers.LSTM(2)(layers.Embedding(10, 3, mask_zero=True)(ids))
>>> ops, masks = mask_nodes(Model(ids, seq), lambda layer: type(layer).__name__)
>>> [(o.operation, o.name, o.config) for o in ops], list(masks.values())[0].shape
([('NotEqual', 'not_equal', {})], (None, 4))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numkeras.engine import nest
from numkeras.engine.keras_tensor import KerasTensor

#: Keras 3 classes whose ``call`` takes ``mask`` (Keras 3 passes the input's mask to them).
MASK_CONSUMERS = frozenset({
    "RNN", "SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
    "Bidirectional", "TimeDistributed", "GlobalAveragePooling1D", "Softmax",
    "BatchNormalization"})
_RNNS = frozenset({"RNN", "SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D",
                   "ConvLSTM3D"})
_NO_MASK = frozenset({"GlobalAveragePooling1D", "Dot", "InputLayer"})
_MERGES = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
_UNKNOWN = object()  # a mask the rules here cannot derive: Keras 3 recomputes it on load


class MaskOp(NamedTuple):
    """One operation node to add: Keras 3 class, node name, config, call args, output."""

    operation: str
    name: str
    config: dict
    args: list
    output: KerasTensor
    after: object  # the layer it follows in the config's list


class _Namer:
    def __init__(self, taken):
        self.taken = set(taken)

    def __call__(self, base: str) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name


def mask_nodes(model, class_name) -> tuple[list, dict]:
    """``(operations, masks)`` for the Keras 3 config of functional ``model``: the mask
    operation nodes to write, and ``{id(node): mask}`` for each call that gets ``mask=``;
    ``class_name(layer)`` is the class the config names the layer by."""
    names = _Namer(la.name for la in model.layers)
    mask_of: dict = {}
    ops: list = []
    masks: dict = {}

    def op(operation, args, config, shape, layer):
        out = KerasTensor(shape, np.bool_)
        ops.append(MaskOp(operation, names(_snake(operation)), config, args, out, layer))
        return out

    for node in model._graph_nodes:
        layer = node.layer
        cls = class_name(layer)
        first = node.call_args[0] if node.call_args else None
        in_masks = nest.map_structure(lambda t: mask_of.get(id(t)) if isinstance(
            t, KerasTensor) else None, first)
        flat = nest.flatten(in_masks)
        explicit = node.call_kwargs.get("mask")
        previous = explicit if explicit is not None else in_masks
        single = len(node.call_args) == 1 and not any(
            isinstance(v, KerasTensor) for v in nest.flatten(node.call_kwargs))
        if cls in MASK_CONSUMERS and explicit is None and single and flat and all(
                m is not _UNKNOWN for m in flat) and any(m is not None for m in flat):
            masks[id(node)] = in_masks
        out = _output_mask(layer, cls, first, previous, op)
        outputs = node.flat_outputs
        if isinstance(out, list):
            for t, m in zip(outputs, out + [None] * len(outputs)):
                mask_of[id(t)] = m
        elif len(outputs) == 1:
            mask_of[id(outputs[0])] = out
    return _used(ops, masks), masks


def _used(ops: list, masks: dict) -> list:
    """The operations some call's mask comes from (a file read from Keras 3 already has its
    own mask nodes: the ones derived here for it are not written twice)."""
    by_output = {id(op.output): op for op in ops}
    stack = [m for v in masks.values() for m in nest.flatten(v) if isinstance(m, KerasTensor)]
    used: set = set()
    while stack:
        t = stack.pop()
        if id(t) in by_output and id(t) not in used:
            used.add(id(t))
            stack.extend(a for a in by_output[id(t)].args if isinstance(a, KerasTensor))
    return [op for op in ops if id(op.output) in used]


def _output_mask(layer, cls: str, inputs, previous, op):
    flat = [m for m in nest.flatten(previous)] if previous is not None else []
    if getattr(layer, "mask_zero", None) is not None and cls == "Embedding":
        if not layer.mask_zero:
            return None
        return op("NotEqual", [inputs, 0], {}, inputs.shape, layer)
    if cls == "Masking":
        differs = op("NotEqual", [inputs, float(layer.mask_value)], {}, inputs.shape, layer)
        return op("Any", [differs], {"axis": -1, "keepdims": False}, inputs.shape[:-1], layer)
    if cls in _NO_MASK or hasattr(layer, "as_operation"):
        return None  # Keras 3 operations carry no masks
    if not any(m is not None for m in flat):
        return None
    if any(m is _UNKNOWN for m in flat):
        return _UNKNOWN
    if cls in _RNNS:
        out = flat[0] if layer.return_sequences else None
        if getattr(layer, "return_state", False):
            return [out] + [None] * 4
        return out
    if cls in _MERGES and isinstance(previous, (list, tuple)):
        # tf-keras's (and numkeras's) merges AND the masks they have; Keras 3's OR them,
        # and give none when one input has none: the file says what numkeras computes
        present = [m for m in flat if m is not None]
        out = present[0]
        for m in present[1:]:
            out = op("LogicalAnd", [out, m], {}, out.shape, layer)
        return out
    if type(layer).compute_mask is _default_compute_mask() and not isinstance(
            previous, (list, tuple)):
        return previous if layer.supports_masking else None
    return _UNKNOWN


def _default_compute_mask():
    from numkeras.engine.base_layer import Layer

    return Layer.compute_mask


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))
