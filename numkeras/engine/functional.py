"""Functional graphs: order the layers of ``Model(inputs, outputs)`` and run them.

:func:`map_graph` reproduces tf.keras's layer order exactly (it decides HDF5 layer order
and checkpoint names) and never recurses, so a 10,000-layer chain is fine.

>>> import numpy as np
>>> from numkeras import Input, Model, backend, layers
>>> backend.clear_session()
>>> x = Input((3,))
>>> y = layers.Dense(2, kernel_initializer="ones")(x)
>>> model = Model(x, layers.Add()([y, y]))
>>> [layer.name for layer in model.layers]
['input_1', 'dense', 'add']
>>> model(np.ones((1, 3)))
array([[6., 6.]], dtype=float32)
"""

from __future__ import annotations

from collections import defaultdict

from numkeras.engine import nest
from numkeras.engine.keras_tensor import KerasTensor


def _post_order(outputs) -> tuple[list, dict]:
    """Nodes in post order from ``outputs`` and each layer's first (pre-order) visit index."""
    finished: set[int] = set()
    in_progress: set[int] = set()
    order: list = []
    layer_indices: dict = {}
    for out in outputs:
        stack = [(out.node, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                finished.add(id(node))
                in_progress.discard(id(node))
                order.append(node)
                continue
            if id(node) in finished:
                continue
            if id(node) in in_progress:
                raise ValueError(f"Layer {node.layer.name} is part of a cycle in the graph.")
            layer_indices.setdefault(node.layer, len(layer_indices))
            in_progress.add(id(node))
            stack.append((node, True))
            if not node.is_input:
                stack.extend((t.node, False) for t in reversed(node.keras_inputs))
    return order, layer_indices


def map_graph(inputs: list, outputs: list) -> tuple[list, list]:
    """``(layers, nodes)`` of the graph from ``inputs`` to ``outputs``.

    ``layers`` is in tf.keras order: by depth from the outputs, deepest first, ties broken
    by first visit in a walk from the outputs. ``nodes`` is a valid execution order.
    """
    order, layer_indices = _post_order(outputs)
    node_depth: dict[int, int] = {}
    layer_depth: dict = {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        layer = t._keras_history[0]
        if layer not in layer_depth:
            layer_depth[layer] = 0
            layer_indices[layer] = -1
    by_depth = defaultdict(list)
    for layer, depth in layer_depth.items():
        by_depth[depth].append(layer)
    layers = []
    for depth in sorted(by_depth, reverse=True):
        layers.extend(sorted(by_depth[depth], key=lambda la: layer_indices[la]))
    _check_names(layers)
    _check_connected(inputs, order)
    return layers, [n for n in order if not n.is_input]


def _check_names(layers: list) -> None:
    seen: dict[str, int] = {}
    for layer in layers:
        seen[layer.name] = seen.get(layer.name, 0) + 1
    dupes = [name for name, n in seen.items() if n > 1]
    if dupes:
        raise ValueError(
            f'The name "{dupes[0]}" is used {seen[dupes[0]]} times in the model. All layer '
            "names should be unique. Give the layers distinct `name=` arguments.")


def _check_connected(inputs: list, order: list) -> None:
    available = {id(t) for t in inputs}
    done = []
    for node in order:
        if node.is_input:
            if not any(id(t) in available for t in node.flat_outputs):
                raise ValueError(
                    f"Graph disconnected: cannot obtain value for tensor {node.flat_outputs[0]} "
                    f'at layer "{node.layer.name}". It is not among the model inputs. The '
                    f"following previous layers were accessed without issue: {done}")
            continue
        for t in node.keras_inputs:
            if id(t) not in available:
                raise ValueError(
                    f'Graph disconnected: cannot obtain value for tensor {t} at layer '
                    f'"{node.layer.name}". The following previous layers were accessed '
                    f"without issue: {done}")
        available.update(id(t) for t in node.flat_outputs)
        done.append(node.layer.name)


def init_graph_network(model, inputs, outputs) -> None:
    """Turn ``model`` into a graph network from symbolic ``inputs`` to ``outputs``."""
    flat_in, flat_out = nest.flatten(inputs), nest.flatten(outputs)
    for t in flat_in + flat_out:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"Model inputs and outputs must be KerasTensors from keras.Input() and layer "
                f"calls; received {type(t).__name__}: {t!r}.")
    for t in flat_in:
        if not t.node.is_input:
            raise ValueError(
                f"Model inputs must come from `keras.Input()`; {t} was produced by layer "
                f"{t._keras_history[0].name}.")
    layers, nodes = map_graph(flat_in, flat_out)
    set_ = object.__setattr__
    set_(model, "_is_graph_network", True)
    # tf-keras: one input or output given as a one-element list is unwrapped, so the model
    # returns the tensor, not [tensor] (Keras 3 keeps the list; docs/compatibility.md)
    if isinstance(inputs, list) and len(flat_in) == 1:
        inputs = inputs[0]
    if isinstance(outputs, list) and len(flat_out) == 1:
        outputs = outputs[0]
    set_(model, "_nested_inputs", inputs)
    set_(model, "_nested_outputs", outputs)
    set_(model, "inputs", flat_in)
    set_(model, "outputs", flat_out)
    set_(model, "_input_layers", [t._keras_history[0] for t in flat_in])
    set_(model, "_output_layers", [t._keras_history[0] for t in flat_out])
    set_(model, "_graph_layers", layers)
    set_(model, "_graph_nodes", nodes)
    usage: dict[int, int] = defaultdict(int)
    for node in nodes:
        for t in node.keras_inputs:
            usage[id(t)] += 1
    set_(model, "_tensor_usage", dict(usage))
    set_(model, "built", True)


def _flatten_call_inputs(model, inputs) -> list:
    if isinstance(inputs, dict):
        names = [layer.name for layer in model._input_layers]
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"Model {model.name} expects inputs named {names}; missing "
                             f"{missing} in the dict passed (keys: {sorted(inputs)}).")
        return [inputs[n] for n in names]
    flat = nest.flatten(inputs)
    if len(flat) != len(model.inputs):
        raise ValueError(f"Model {model.name} expects {len(model.inputs)} input(s), but it "
                         f"received {len(flat)} input tensors.")
    return flat


def run_graph(model, inputs, training=None):
    """Evaluate a graph network on concrete ``inputs``; intermediate values are freed early."""
    flat = _flatten_call_inputs(model, inputs)
    values = {}
    for t, x in zip(model.inputs, flat):
        if t.ndim != len(x.shape) and t.ndim:
            raise ValueError(
                f'Input 0 of layer "{model.name}" is incompatible with the layer: expected '
                f"shape={t.shape}, found shape={tuple(x.shape)}")
        values[id(t)] = x
    remaining = dict(model._tensor_usage)
    keep = {id(t) for t in model.outputs}

    def value_of(v):
        return values[id(v)] if isinstance(v, KerasTensor) else v

    for node in model._graph_nodes:
        args, kwargs = nest.map_structure(value_of, [list(node.call_args), node.call_kwargs])
        kwargs.setdefault("training", training)
        out = node.layer(*args, **kwargs)
        for t, o in zip(node.flat_outputs, nest.flatten(out)):
            values[id(t)] = o
        for t in node.keras_inputs:
            remaining[id(t)] -= 1
            if remaining[id(t)] == 0 and id(t) not in keep:
                values.pop(id(t), None)
    return nest.pack_sequence_as(model._nested_outputs, [values[id(t)] for t in model.outputs])
