"""``Model.summary()``: tf-keras 2.21's table of layers, output shapes and parameter counts.

The text is tf-keras's, character for character (tested against it in
``tests/interop/test_engine_interop.py``): same columns, same wrapping of long names, same
"Connected to" column for non-sequential graphs, same totals.
"""

from __future__ import annotations

import re
from collections import defaultdict


def count_params(weights) -> int:
    """Scalars in ``weights``, each variable counted once (tf-keras ``count_params``)."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(int(w.size) for w in unique))


def weight_memory_size(weights) -> int:
    """Bytes of ``weights``, each variable counted once."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(int(w.size) * w.dtype.itemsize for w in unique))


def readable_memory_size(nbytes: float) -> str:
    """``1234`` -> ``'1.21 KB'``, as tf-keras prints memory sizes."""
    for unit in ("Byte", "KB", "MB", "GB", "TB", "PB"):
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _network_nodes(model) -> list:
    """The model's nodes, inputs' included (tf-keras ``_nodes_by_depth`` values)."""
    return [t.node for t in model.inputs] + list(model._graph_nodes)


def _is_sequential_like(model) -> bool:
    if type(model).__name__ == "Sequential" or not model.__dict__.get("_is_graph_network"):
        return True
    nodes = _network_nodes(model)
    members = {id(n) for n in nodes}
    depth: dict[int, int] = {}
    for node in reversed(nodes):  # consumers before producers
        d = depth.setdefault(id(node), 0)
        for parent in node.parent_nodes:
            if id(parent) in members:
                depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)
    per_depth: dict[int, int] = defaultdict(int)
    for node in nodes:
        per_depth[depth[id(node)]] += 1
        if len(node.keras_inputs) > 1:
            return False
    if any(count > 1 for count in per_depth.values()):
        return False
    for layer in model.layers:  # a shared layer makes the model non-sequential
        if sum(1 for node in layer._inbound_nodes if id(node) in members) > 1:
            return False
    return True


def _layer_index_bounds(model, layer_range) -> list[int]:
    if layer_range is None:
        return [0, len(model.layers)]
    if len(layer_range) != 2:
        raise ValueError("layer_range must be a list or tuple of length 2. Received: "
                         f"layer_range = {layer_range} of length {len(layer_range)}")
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    names = [layer.name for layer in model.layers]
    lower = [i for i, n in enumerate(names) if re.match(layer_range[0], n)]
    upper = [i for i, n in enumerate(names) if re.match(layer_range[1], n)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return [min(upper), max(lower) + 1]
    return [min(lower), max(upper) + 1]


def _output_shape(layer):
    from numkeras.engine.input_layer import InputLayer

    try:
        shape = layer.output_shape
    except AttributeError:
        return "multiple"
    if isinstance(layer, InputLayer):
        return [shape]  # tf-keras's InputLayer reports a list of one shape
    return shape


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  expand_nested: bool = False, show_trainable: bool = False,
                  layer_range=None) -> None:
    """Print ``model``'s summary exactly as tf-keras 2.21 ``layer_utils.print_summary``."""
    print_fn = print_fn or print
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = list(positions or [0.45, 0.85, 1.0])
        to_display = ["Layer (type)", "Output Shape", "Param #"]
        relevant = set()
    else:
        line_length = line_length or 98
        positions = list(positions or [0.3, 0.6, 0.70, 1.0])
        to_display = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        relevant = {id(n) for n in _network_nodes(model)}
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        to_display.append("Trainable")
    bounds = _layer_index_bounds(model, layer_range)

    def print_row(fields, nested_level=0):
        left = [str(x) for x in fields]
        while any(left):
            line = ""
            for col in range(len(left)):
                start = positions[col - 1] if col > 0 else 0
                end = positions[col]
                space = 2 if col != len(positions) - 1 else 0
                cutoff = end - start - space
                if col != len(positions) - 1:
                    cutoff -= 1
                if col == 0:
                    cutoff -= nested_level
                fit = left[col][:cutoff]
                breaks = [fit.find(x) + len(x) for x in ("),", "},", "],", "',")
                          if fit.find(x) >= 0]
                if breaks:
                    cutoff = min(breaks)
                    fit = fit[:cutoff]
                if col == 0:
                    line += "|" * nested_level + " "
                line += fit
                line += " " * space if space else ""
                left[col] = left[col][cutoff:]
                if nested_level and col == len(positions) - 1:
                    line += " " * (positions[col] - len(line) - nested_level)
                else:
                    line += " " * (positions[col] - len(line))
            line += "|" * nested_level
            print_fn(line)

    def layer_fields(layer):
        name = f"{layer.name} ({type(layer).__name__})"
        if sequential_like:
            if not layer.built and not layer.__dict__.get("_is_graph_network", False):
                params = "0 (unused)"
            else:
                params = count_params(layer.weights)
            fields = [name, _output_shape(layer), params]
        else:
            connections = []
            for node in layer._inbound_nodes:
                if relevant and id(node) not in relevant:
                    continue
                for t in node.keras_inputs:
                    parent, node_index, tensor_index = t._keras_history
                    connections.append(f"{parent.name}[{node_index}][{tensor_index}]")
            fields = [name, _output_shape(layer), count_params(layer.weights), connections]
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        return fields

    def print_layer(layer, nested_level=0, is_nested_last=False):
        print_row(layer_fields(layer), nested_level)
        inner = getattr(layer, "layers", None) if expand_nested else None
        if inner:
            print_fn("|" * (nested_level + 1) + "¯" * (line_length - 2 * nested_level - 2)
                     + "|" * (nested_level + 1))
            for i, sub in enumerate(inner):
                print_layer(sub, nested_level + 1, i == len(inner) - 1)
            is_nested_last = True  # tf-keras reuses the variable: no blank line follows
            print_fn("|" * nested_level + "¯" * (line_length - 2 * nested_level)
                     + "|" * nested_level)
        if not is_nested_last:
            print_fn("|" * nested_level + " " * (line_length - 2 * nested_level)
                     + "|" * nested_level)

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_row(to_display)
    print_fn("=" * line_length)
    for layer in model.layers[bounds[0]:bounds[1]]:
        print_layer(layer)
    print_fn("=" * line_length)
    trainable = count_params(model.trainable_weights)
    trainable_size = weight_memory_size(model.trainable_weights)
    frozen = count_params(model.non_trainable_weights)
    frozen_size = weight_memory_size(model.non_trainable_weights)
    print_fn(f"Total params: {trainable + frozen} "
             f"({readable_memory_size(trainable_size + frozen_size)})")
    print_fn(f"Trainable params: {trainable} ({readable_memory_size(trainable_size)})")
    print_fn(f"Non-trainable params: {frozen} ({readable_memory_size(frozen_size)})")
    print_fn("_" * line_length)
