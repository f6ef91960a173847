"""A Node records one call of a layer on symbolic inputs: the edges of a functional graph."""

from __future__ import annotations

from numkeras.engine import nest
from numkeras.engine.keras_tensor import KerasTensor


class Node:
    """``layer(*call_args, **call_kwargs) -> outputs`` on KerasTensors.

    ``keras_inputs`` lists the KerasTensors among the arguments in order; ``parent_nodes``
    are the nodes that produced them. Creating a Node registers it with the layer and
    stamps each output with its history ``(layer, node_index, tensor_index)``.
    """

    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=None):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.outputs = outputs
        flat_args = nest.flatten([list(self.call_args), self.call_kwargs])
        self.keras_inputs = [t for t in flat_args if isinstance(t, KerasTensor)]
        self.is_input = not self.keras_inputs
        self.flat_outputs = nest.flatten(outputs)
        node_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.flat_outputs):
            t._keras_history = (layer, node_index, i)
        for t in self.keras_inputs:
            t._keras_history[0]._outbound_nodes.append(self)

    @property
    def parent_nodes(self) -> list:
        return [t.node for t in self.keras_inputs]

    @property
    def input_shapes(self):
        if len(self.keras_inputs) == 1:
            return self.keras_inputs[0].shape
        return [t.shape for t in self.keras_inputs]

    @property
    def output_shapes(self):
        if len(self.flat_outputs) == 1:
            return self.flat_outputs[0].shape
        return [t.shape for t in self.flat_outputs]
