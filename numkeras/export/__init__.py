"""ONNX export of numkeras models, without TensorFlow (needs the ``onnx`` package).

``to_onnx(model)`` builds an ``onnx.ModelProto``: opset 17, a dynamic batch dimension,
graph inputs and outputs named after the Keras input and output layers, every node named
``<keras layer>/<op>`` (its ``doc_string`` gives the layer and class). ``export_onnx`` writes
it atomically. A layer without a lowering raises :class:`LoweringError` naming the layer and
its class before anything is written. Install the extra with ``pip install numkeras[onnx]``.

>>> import numpy as np
>>> from numkeras import Input, Model, backend, layers
>>> backend.clear_session()
>>> x = Input((3,), name="features")
>>> model = Model(x, layers.Dense(2, activation="softmax", name="probs")(x))
>>> proto = to_onnx(model)
>>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
(['features'], ['probs'])
"""

from __future__ import annotations

from numkeras.export.graph import LoweringError

OPSET = 17
EXTRA_HINT = "pip install 'numkeras[onnx]'"


def require(module: str):
    """Import ``onnx`` or ``onnxruntime``, or raise a one-line error naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"ONNX export needs the {module!r} package: {EXTRA_HINT}") from None


def output_names(model) -> list[str]:
    """The graph output names: the output layers' names (tf-keras's ``output_names``)."""
    names, seen = [], set()
    for t in model.outputs:
        name = t._keras_history[0].name
        if name in seen:
            name = f"{name}_{t._keras_history[1]}_{t._keras_history[2]}"
        seen.add(name)
        names.append(name)
    return names


def input_names(model) -> list[str]:
    return [t._keras_history[0].name for t in model.inputs]


def to_onnx(model, opset: int = OPSET, in_memory: dict | None = None):
    """The ONNX ``ModelProto`` computing ``model``'s inference forward pass.

    ``in_memory``: a dict that receives the large constants (name -> array) instead of the
    proto, whose initializers then only name them (ONNX Runtime's external initializers).
    """
    require("onnx")
    from numkeras.export.graph import GraphBuilder
    from numkeras.export.walk import find_unlowerable, lower_graph

    if not model.__dict__.get("_is_graph_network"):
        raise LoweringError(f"Model {model.name!r} (class {type(model).__name__}) is a "
                            "subclassed or unbuilt model: only functional and Sequential "
                            "models (with known inputs) can be exported to ONNX.")
    problems = find_unlowerable(model)
    if problems:
        layer, why = problems[0]
        raise LoweringError(f"Layer {layer.name!r} (class {type(layer).__name__}) cannot be "
                            f"exported to ONNX: {why}. Custom layers, Lambda layers and "
                            "subclassed models have no ONNX lowering.")
    b = GraphBuilder(opset, in_memory)
    inputs = [b.add_input(name, t.shape, t.dtype)
              for name, t in zip(input_names(model), model.inputs)]
    outputs = lower_graph(b, model, inputs)
    for value, name in zip(outputs, output_names(model)):
        b.add_output(value, name)
    from numkeras import __version__

    return b.model(model.name, {"keras_model_name": model.name, "producer": "numkeras",
                                "numkeras_version": __version__})


def export_onnx(model, filepath, opset: int = OPSET, overwrite: bool = True) -> None:
    """Write ``model`` as an ONNX file (atomically: nothing is written if lowering fails)."""
    import os

    from numkeras.saving import paths

    require("onnx")
    proto = to_onnx(model, opset=opset)
    filepath = paths.path_to_string(filepath)
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False.")
    data = proto.SerializeToString()
    if len(data) >= 2**31:
        raise ValueError(f"Model {model.name!r} is {len(data) / 2**30:.1f} GB, above ONNX's "
                         "2 GB protobuf limit; it cannot be written as one .onnx file.")
    with paths.atomic_write_path(filepath) as tmp, open(tmp, "wb") as f:
        f.write(data)


__all__ = ["LoweringError", "to_onnx", "export_onnx", "require", "OPSET"]
