"""``Model.summary()``: a table of layers, output shapes and parameter counts."""

from __future__ import annotations


def _output_shape(layer) -> str:
    try:
        shape = layer.output_shape
    except AttributeError:
        return "multiple" if layer._inbound_nodes else "?"
    return str(shape)


def _count(layer) -> int | str:
    return sum(v.size for v in layer.weights) if layer.built else 0


def print_summary(model, line_length: int = 65, print_fn=None) -> None:
    print_fn = print_fn or print
    graph = model.__dict__.get("_is_graph_network", False)
    with_inputs = graph and type(model).__name__ != "Sequential"
    cols = [0.45, 0.85, 1.0] if not with_inputs else [0.3, 0.52, 0.62, 1.0]
    if with_inputs:
        line_length = max(line_length, 98)
    stops = [int(line_length * c) for c in cols]
    heads = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if with_inputs
                                                           else [])

    def row(fields):
        line, start = "", 0
        for field, stop in zip(fields, stops):
            cell = " " + str(field)
            line += cell[: stop - start].ljust(stop - start)
            start = stop
        print_fn(line.rstrip())

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    row(heads)
    print_fn("=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        fields = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer), _count(layer)]
        if with_inputs:
            parents = sorted({t._keras_history[0].name for node in layer._inbound_nodes
                              for t in node.keras_inputs})
            fields.append(", ".join(f"['{p}']" for p in parents))
        row(fields)
        print_fn("=" * line_length if i == len(layers) - 1 else "")
    trainable = sum(v.size for v in model.trainable_weights)
    total = sum(v.size for v in model.weights)
    nbytes = sum(v.nbytes for v in model.weights)
    print_fn(f"Total params: {total:,} ({_human(nbytes)})")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("Byte", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"
