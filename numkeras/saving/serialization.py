"""Layers and models as configs and back: what ``.keras`` ``config.json``, full-model ``.h5``
``model_config``, ``to_json`` and ``get_config`` hold, written in Keras 3's or tf-keras's
spelling, rebuilt without running code.

A config names classes (``{"module", "class_name", "config", "registered_name"}``); the
rebuild looks each name up among numkeras's own classes or ``custom_objects``
(:mod:`.registry`) and never imports a module or evaluates anything from the file. Every
class the config needs is checked first, so one error lists everything missing; ``Lambda``
layers (Python code) are always refused unless ``custom_objects`` supplies the class.
The graph of a model is :mod:`numkeras.engine.graph_config`'s; the argument spellings of
each dialect are :mod:`.dialects`'s; ``load_model`` is :mod:`.model_loading`'s.

>>> from numkeras import Input, Model, backend, layers
>>> backend.clear_session()
>>> x = Input((3,))
>>> model = Model(x, layers.Dense(2)(x))
>>> config = serialize_model(model)
>>> config["class_name"], [l["class_name"] for l in config["config"]["layers"]]
('Functional', ['InputLayer', 'Dense'])
>>> backend.clear_session()
>>> clone = deserialize_model(config)
>>> [layer.name for layer in clone.layers], clone.outputs[0].shape
(['input_1', 'dense'], (None, 2))
"""

from __future__ import annotations

from numkeras.engine import graph_config
from numkeras.engine.graph_config import CONFIG_ERRORS, KERAS3, STYLES, TF_KERAS, jsonable
from numkeras.engine.sequential import Sequential
from numkeras.saving.dialects import (
    clean_layer_config,
    config_style,
    keras3_layer_config,
    policy_dtype,
    read_keras3_activations,
    tf_keras_layer_config,
)
from numkeras.saving.keras_v3.archive import parse_json
from numkeras.saving.keras_v3.errors import ModelConfigError
from numkeras.saving.registry import (
    CODE_CLASSES,
    MODELS,
    TF_OP_CLASSES,
    ClassLookup,
    UnknownClassError,
    check_classes,
    class_spec,
    describe,
    is_operation_spec,
)

__all__ = ["KERAS3", "TF_KERAS", "CODE_CLASSES", "TF_OP_CLASSES", "UnknownClassError", "clean_layer_config",
           "deserialize_layer", "deserialize_model", "functional_from_config",
           "sequential_from_config", "functional_config", "sequential_config", "layer_spec",
           "serialize_model"]


# -- from configs ---------------------------------------------------------------------------
#: How deeply models may nest in a config (tf-keras files nest a handful of levels).
MAX_NESTING = 100


def _layer_label(spec) -> str:
    if not isinstance(spec, dict):
        return f"<a {type(spec).__name__}, not an object>"
    inner = spec.get("config")
    name = inner.get("name") if isinstance(inner, dict) else spec.get("name")
    return f"{spec.get('class_name')!s} {name!r}" if name is not None else \
        f"{spec.get('class_name')!s}"


def deserialize_layer(spec: dict, custom_objects: dict | None = None, _ctx=None):
    """A layer (or model) from its ``{"class_name", "config", ...}`` dict.

    A malformed entry raises :class:`ModelConfigError` naming the innermost layer at fault.
    """
    ctx = _ctx or ClassLookup(custom_objects)
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ModelConfigError(f"Malformed layer entry {_layer_label(spec)}: expected an object "
                               "with a string 'class_name' and a 'config' object.")
    if not isinstance(spec.get("config", {}), (dict, list)):
        raise ModelConfigError(f"Malformed layer entry {_layer_label(spec)}: its 'config' is "
                               f"{type(spec.get('config')).__name__}, not an object.")
    ctx.depth = getattr(ctx, "depth", 0) + 1
    try:
        if ctx.depth > MAX_NESTING:
            raise ModelConfigError(f"The config nests layers more than {MAX_NESTING} levels "
                                   "deep; refusing to rebuild it.")
        return _deserialize_layer(spec, ctx, _ctx is None)
    except (UnknownClassError, ModelConfigError):
        raise
    except CONFIG_ERRORS as exc:
        raise ModelConfigError(f"Cannot rebuild layer {_layer_label(spec)} from the config: "
                               f"{type(exc).__name__}: {exc}") from exc
    finally:
        ctx.depth -= 1


def _deserialize_layer(spec: dict, ctx, top: bool):
    if top:
        check_classes(ctx, spec)
    if is_operation_spec(spec):
        from numkeras.layers import OperationLayer

        config = dict(spec.get("config") or {})
        try:
            return OperationLayer(spec.get("class_name"), **config)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Operation node {config.get('name')!r}: {err}") from None
    cls, builtin = ctx.lookup(spec)
    if cls is None:
        raise UnknownClassError(f"Unknown layer class: {describe(spec)}.")
    config = spec.get("config", {})
    name = spec.get("class_name")
    if builtin and name in MODELS:
        def build(layer_spec):
            return deserialize_layer(layer_spec, _ctx=ctx)

        if name == "Sequential":
            return graph_config.sequential_from_config(config, build, spec)
        return graph_config.functional_from_config(config, build, ModelConfigError)
    if not builtin:  # the base Layer's entries still come in Keras 3 spellings
        config = dict(config)
        if "dtype" in config:
            config["dtype"] = policy_dtype(config["dtype"])
        if "batch_shape" in config and "batch_input_shape" not in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        return cls.from_config(config)
    return cls.from_config(clean_layer_config(cls, config, name, ctx))


def functional_from_config(config: dict, custom_objects: dict | None = None):
    """A functional model from its ``get_config()`` (tf-keras or Keras 3 spelling)."""
    ctx = ClassLookup(custom_objects)
    check_classes(ctx, config)
    return graph_config.functional_from_config(
        config, lambda spec: deserialize_layer(spec, _ctx=ctx), ModelConfigError)


def sequential_from_config(config, custom_objects: dict | None = None):
    """A Sequential model from its ``get_config()`` (any Keras version's spelling)."""
    ctx = ClassLookup(custom_objects)
    check_classes(ctx, config)
    return graph_config.sequential_from_config(
        config, lambda spec: deserialize_layer(spec, _ctx=ctx), {})


def deserialize_model(config, custom_objects: dict | None = None):
    """A model (or layer) from a config dict or JSON string: Keras 3 or tf-keras, any age.

    Raises :class:`UnknownClassError` listing every class numkeras cannot build.
    """
    if isinstance(config, (str, bytes)):
        config = parse_json(config.encode() if isinstance(config, str) else config,
                            "model config")
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelConfigError("Not a Keras model config: expected an object with "
                               "'class_name' and 'config'.")
    if config_style(config) == KERAS3:  # Keras 3's "hard_sigmoid" is another formula
        config = read_keras3_activations(config)
    ctx = ClassLookup(custom_objects)
    try:
        check_classes(ctx, config)
    except UnknownClassError:
        raise
    except CONFIG_ERRORS as exc:  # a class_name that is not a string, ...
        raise ModelConfigError(f"Malformed model config: {type(exc).__name__}: {exc}") from exc
    return deserialize_layer(config, _ctx=ctx)


# -- to configs -----------------------------------------------------------------------------
def layer_spec(layer, style: str = KERAS3) -> dict:
    """``{"module", "class_name", "config", "registered_name", "build_config"}`` of a layer."""
    operation = _operation_spec(layer, style)
    if operation is not None:
        return operation
    spec = class_spec(layer, style)
    if isinstance(layer, Sequential):
        config = sequential_config(layer, style)
    elif graph_config.is_graph_model(layer):
        config = functional_config(layer, style)
    else:
        config = layer.get_config()
        if style == KERAS3 and type(layer).__module__.startswith("numkeras."):
            config = keras3_layer_config(type(layer), config)
        elif type(layer).__module__.startswith("numkeras."):
            config = tf_keras_layer_config(type(layer), config)
    spec = {**spec, "config": jsonable(config)}
    shape = graph_config.build_shape(layer)
    if shape is not None:
        spec["build_config"] = {"input_shape": jsonable(shape)}
    return spec


def _operation_spec(layer, style: str):
    """A TF-op / Keras 3 operation layer in ``style``'s spelling (the other's is translated
    from its first call; a ValueError says when there is no equivalent), else None."""
    if not hasattr(layer, "as_operation") or not type(layer).__module__.startswith("numkeras."):
        return None
    node = next((n for n in layer.inbound_nodes if not n.is_input), None)
    if style == KERAS3:
        args, kwargs = (node.call_args, node.call_kwargs) if node is not None else ((), {})
        if node is None and type(layer).__name__ in TF_OP_CLASSES:
            raise ValueError(f"Layer {layer.name!r} was never called; it cannot be written.")
        name, module, config, _, _ = layer.as_operation(args, kwargs)
        return {"module": module, "class_name": name, "config": jsonable(
            {"name": layer.name, **config}), "registered_name": name}
    if type(layer).__name__ in TF_OP_CLASSES:
        return None  # tf-keras's own spelling: the generic path
    function = layer.tf_function()
    kind = "SlicingOpLambda" if function == "__operators__.getitem" else "TFOpLambda"
    spec = {"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": kind,
            "config": {"name": layer.name, "trainable": layer.trainable, "dtype": layer.dtype,
                       "function": function}, "registered_name": kind}
    shape = graph_config.build_shape(layer)
    if shape is not None:
        spec["build_config"] = {"input_shape": jsonable(shape)}
    return spec


def sequential_config(model, style: str = KERAS3) -> dict:
    """Keras 3 / tf-keras config of a Sequential: its layers, InputLayer first if any."""
    return graph_config.sequential_config(model, layer_spec, style)


def functional_config(model, style: str = KERAS3) -> dict:
    """Keras 3 / tf-keras config of a functional model (layers, nodes, inputs, outputs)."""
    return graph_config.functional_config(model, layer_spec, style)


def serialize_model(model, style: str = KERAS3) -> dict:
    """The ``config.json`` of a ``.keras`` file: Keras 3's by default, or tf-keras 2.13+'s."""
    if style not in STYLES:
        raise ValueError(f"Unknown config style {style!r}; expected 'keras3' or 'tf_keras'.")
    spec = layer_spec(model, style)
    if style == KERAS3:
        spec.setdefault("build_config", {"input_shape": None})
        spec["compile_config"] = None
    return spec
