"""Walk a model's graph (functional, Sequential, nested models) and lower each layer call.

The lowering table maps a layer class name to ``fn(b, layer, call) -> list[Value]``; each
family module (:mod:`~numkeras.export.core`, :mod:`~numkeras.export.conv`, ...) contributes
its ``LOWERINGS``. Only numkeras's own classes are looked up: a subclass defined elsewhere
(a custom layer) is refused even if its name matches, since its ``call`` may differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numkeras.engine import functional, nest
from numkeras.engine.keras_tensor import KerasTensor
from numkeras.export import masks
from numkeras.export.graph import GraphBuilder, LoweringError, Value


@dataclass
class Call:
    """One call of a layer: ``args``/``kwargs`` with Values for KerasTensors, output specs."""

    args: list
    kwargs: dict
    specs: list

    @property
    def x(self):
        """The first argument (a Value, or a list of Values for merge layers)."""
        return self.args[0]

    def out(self, name: str, cf: bool = False, index: int = 0) -> Value:
        spec = self.specs[index]
        return Value(name, spec.shape, spec.dtype, cf=cf)


_TABLE: dict | None = None
# The family modules in order: a later module's entry replaces an earlier one's (masked.py,
# scan_rnn.py and dense_attention.py extend core/rnn/attention lowerings with Keras masks).


def lowering_table() -> dict:
    """Layer class name -> lowering function, from every family module."""
    global _TABLE
    if _TABLE is None:
        from numkeras.export import (
            attention,
            conv,
            core,
            dense_attention,
            masked,
            norm,
            preprocessing,
            rnn,
            scan_rnn,
            tfops,
            various,
        )

        table = {}
        for module in (core, conv, norm, rnn, attention, masked, scan_rnn, dense_attention,
                       preprocessing, tfops, various):
            table.update(module.LOWERINGS)
        _TABLE = table
    return _TABLE


def _is_graph_model(layer) -> bool:
    return bool(layer.__dict__.get("_is_graph_network"))


def graph_nodes(model) -> list:
    """The layer calls of a graph model in execution order (Sequential included)."""
    if model.__dict__.get("_graph_nodes"):
        return model._graph_nodes
    return functional.map_graph(model.inputs, model.outputs)[1]


def find_unlowerable(model) -> list:
    """``(layer, reason)`` for every layer that cannot be lowered (empty: all can)."""
    problems = []
    if not _is_graph_model(model):
        return [(model, "it is a subclassed model (no graph to export)")]
    table = lowering_table()
    for node in graph_nodes(model):
        layer = node.layer
        if _is_graph_model(layer):
            problems.extend(find_unlowerable(layer))
        elif _class_key(layer) not in table:
            problems.append((layer, "no ONNX lowering for this class"))
    return problems


def _class_key(layer) -> str | None:
    cls = type(layer)
    if not cls.__module__.startswith("numkeras."):
        return None
    return cls.__name__


def lower_graph(b: GraphBuilder, model, inputs: list[Value]) -> list[Value]:
    """Lower ``model``'s graph with ``inputs`` bound to its inputs; returns its outputs."""
    values: dict[int, Value] = {id(t): v for t, v in zip(model.inputs, inputs)}

    def bind(obj):
        return values[id(obj)] if isinstance(obj, KerasTensor) else obj

    for node in graph_nodes(model):
        args, kwargs = nest.map_structure(bind, [list(node.call_args), node.call_kwargs])
        outs = lower_call(b, node.layer, Call(args, kwargs, node.flat_outputs))
        for t, v in zip(node.flat_outputs, outs):
            values[id(t)] = v
    return [values[id(t)] for t in model.outputs]


def lower_call(b: GraphBuilder, layer, call: Call) -> list[Value]:
    """Lower one layer call (a nested model is walked with its own scope)."""
    saved = (b.scope, b.layer_class)
    b.scope = f"{saved[0]}/{layer.name}" if saved[0] else layer.name
    b.layer_class = type(layer).__name__
    try:
        if _is_graph_model(layer):
            flat = [v for v in nest.flatten(call.args[0]) if isinstance(v, Value)]
            outs = lower_graph(b, layer, flat)
        else:
            fn = lowering_table().get(_class_key(layer))
            if fn is None:
                raise LoweringError(
                    f"Layer {layer.name!r} (class {type(layer).__name__}) has no ONNX lowering: "
                    "custom layers, Lambda layers and subclassed models cannot be exported. "
                    "Use the NumPy engine (predict(..., engine='numpy')) for this model.")
            for v in nest.flatten([call.args, call.kwargs]):
                if isinstance(v, Value) and v.dtype.kind == "f" and v.dtype != np.float32:
                    raise LoweringError(f"Layer {layer.name!r} (class {type(layer).__name__}): "
                                        f"only float32 is exported, found {v.dtype.name}")
            try:
                call = masks.with_input_mask(layer, call)
                outs = fn(b, layer, call)
                masks.propagate(b, layer, call, outs)
            except LoweringError as exc:
                if str(exc).startswith("Layer "):
                    raise
                raise LoweringError(f"Layer {layer.name!r} (class {type(layer).__name__}) "
                                    f"cannot be exported to ONNX: {exc}") from None
    finally:
        b.scope, b.layer_class = saved
    if len(outs) != len(call.specs):
        raise LoweringError(f"Layer {layer.name!r} (class {type(layer).__name__}): lowering gave "
                            f"{len(outs)} outputs, the layer has {len(call.specs)}")
    return outs
