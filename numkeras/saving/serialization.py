"""Model configs: write Keras 3 / tf-keras ones, rebuild models from them without running code.

A config names classes (``{"module", "class_name", "config", "registered_name"}``); the
rebuild looks each name up among numkeras's own classes or ``custom_objects`` and never
imports a module or evaluates anything from the file. Every class the config needs is
checked first, so one error lists everything missing; ``Lambda`` layers (Python code) are
always refused unless ``custom_objects`` supplies the class.

Functional graphs come in two spellings, both read here:

- tf-keras (legacy ``.h5`` ``model_config`` and 2.13+ ``.keras``): a node is a list of
  ``[layer, node_index, tensor_index, kwargs]``; a nested model's indices count its own
  construction node first;
- Keras 3: a node is ``{"args": ..., "kwargs": ...}`` with ``__keras_tensor__`` entries.

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

import inspect
import warnings

import numpy as np

from numkeras.engine import nest
from numkeras.engine.keras_tensor import KerasTensor

KERAS3 = "keras3"
TF_KERAS = "tf_keras"
CODE_CLASSES = frozenset({"Lambda", "__lambda__", "function"})
TF_OP_CLASSES = frozenset({"TFOpLambda", "SlicingOpLambda"})  # named TF functions: data
_PSEUDO = frozenset({"__keras_tensor__", "__tuple__", "__numpy__", "__bytes__", "__ellipsis__",
                     "__slice__"})
_OPAQUE = frozenset({  # regularizers and constraints: numkeras keeps their configs as data
    "L1", "L2", "L1L2", "OrthogonalRegularizer", "MaxNorm", "NonNeg", "UnitNorm",
    "MinMaxNorm", "RadialConstraint", "max_norm", "non_neg", "unit_norm", "min_max_norm"})
_DTYPE_POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy", "Policy"})
_MODELS = frozenset({"Functional", "Model", "Sequential"})
_TF_KERAS_ONLY = {"batch_input_shape", "input_shape", "input_dim", "batch_size",
                  "input_length", "implementation", "time_major"}
_NOT_IN_KERAS3 = {"input_length", "implementation", "time_major"}
_IGNORABLE = frozenset({"use_cudnn", "flash_attention"})  # Keras 3 compute choices
# tf-keras config keys Keras 3's constructors refuse (inherited from Conv in tf-keras)
_KERAS3_REFUSES = {
    "SeparableConv1D": {"groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"},
    "SeparableConv2D": {"groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"},
    "DepthwiseConv1D": {"groups"}, "DepthwiseConv2D": {"groups"},
    "MultiHeadAttention": {"query_shape", "key_shape", "value_shape", "softmax_robust_masking"},
    "Discretization": {"trainable"},  # Keras 3's constructor takes no **kwargs
}


_LAYER_KEYS = frozenset({"layers", "layer", "backward_layer"})  # values are layer specs


class UnknownClassError(ValueError):
    """A config names classes numkeras does not have (and ``custom_objects`` does not give)."""


# -- class lookup --------------------------------------------------------------------------
def _layer_classes() -> dict:
    from numkeras import layers
    from numkeras.engine.base_layer import Layer
    from numkeras.engine.functional_model import Functional
    from numkeras.engine.sequential import Sequential

    out = {name: obj for name, obj in vars(layers).items()
           if isinstance(obj, type) and issubclass(obj, Layer)}
    out.update(Functional=Functional, Model=Functional, Sequential=Sequential)
    return out


def _other_classes() -> set:
    from numkeras import initializers

    names = set(initializers._CLASSES) | set(initializers._ALIASES) | _OPAQUE | _DTYPE_POLICIES
    try:
        from numkeras import optimizers

        names |= {n for n, o in vars(optimizers).items() if isinstance(o, type)}
    except ImportError:  # pragma: no cover - optimizers always present in a full install
        pass
    return names


class _Context:
    """Class lookup for one rebuild: numkeras's classes, then ``custom_objects``."""

    def __init__(self, custom_objects: dict | None = None):
        import sys

        utils = sys.modules.get("numkeras.utils")  # registered only if the user imported it
        registry = utils.get_custom_objects() if utils is not None else {}
        self.custom = {**registry, **(custom_objects or {})}
        self.layers = _layer_classes()
        self.others = _other_classes()

    def lookup(self, spec: dict):
        """``(class, is_builtin)`` for a ``{"class_name", ...}`` dict, or ``(None, False)``."""
        name = spec.get("class_name")
        registered = spec.get("registered_name")
        for key in (registered, name):
            if isinstance(key, str) and key in self.custom:
                return self.custom[key], False
        if name in CODE_CLASSES:
            return None, False
        if registered not in (None, name) and registered not in ("Functional",):
            return None, False
        return self.layers.get(name), True

    def missing(self, config) -> list[str]:
        """Every class name in ``config`` (compile settings excluded) that cannot be built."""
        missing: list[str] = []
        stack = [(config, True)]  # (item, is a layer spec when it names a class)
        while stack:
            item, is_layer = stack.pop()
            if isinstance(item, list):
                stack.extend((v, is_layer) for v in item)
            elif isinstance(item, dict):
                if isinstance(item.get("class_name"), str) and not self._known(item, is_layer):
                    label = _describe(item)
                    if label not in missing:
                        missing.append(label)
                stack.extend((v, k in _LAYER_KEYS) for k, v in item.items()
                             if k not in ("compile_config", "build_config"))
        return missing

    def _known(self, spec: dict, is_layer: bool = False) -> bool:
        name = spec["class_name"]
        if name in _PSEUDO:
            return True
        if name in TF_OP_CLASSES and spec.get("registered_name") in (None, name):
            from numkeras.ops import tf_api

            return tf_api.is_supported((spec.get("config") or {}).get("function"))
        cls, _ = self.lookup(spec)
        if cls is not None:
            return True
        return not is_layer and name not in CODE_CLASSES \
            and spec.get("registered_name") in (None, name) and name in self.others


def _describe(spec: dict) -> str:
    name = spec.get("class_name")
    if name in TF_OP_CLASSES:
        inner = spec.get("config") if isinstance(spec.get("config"), dict) else {}
        return (f"{name} '{inner.get('name')}' (TF function tf.{inner.get('function')}, which "
                "is not in numkeras's table of supported TF functions)")
    if name in CODE_CLASSES:
        inner = spec.get("config")
        label = inner.get("name") if isinstance(inner, dict) else inner
        return (f"{name} ({label}: Python code, which numkeras never runs: its config is "
                f"marshalled bytecode; supply a layer class that computes it as "
                f"custom_objects={{'{name}': YourLayer}})")
    registered = spec.get("registered_name")
    return f"{registered}" if registered not in (None, name) else f"{name}"


# -- config cleaning -----------------------------------------------------------------------
def _accepted(cls) -> tuple[set, bool]:
    """Constructor keywords of ``cls`` (following ``**kwargs`` up to Layer)."""
    from numkeras.engine.base_layer import _ALLOWED_KWARGS, Layer

    names: set = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters
        names |= {p for p in params if p != "self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return names, False
        if klass is Layer:
            return names | _ALLOWED_KWARGS, False
    return names, True


def _policy_dtype(value):
    if isinstance(value, dict) and value.get("class_name") in _DTYPE_POLICIES:
        value = (value.get("config") or {}).get("name", "float32")
    if isinstance(value, str) and value.startswith("mixed_"):
        warnings.warn(f"numkeras computes in the variable dtype: policy {value!r} is loaded as "
                      "float32.", stacklevel=4)
        return "float32"
    return value


def _strip_sharing(value):
    if isinstance(value, dict):
        return {k: _strip_sharing(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_strip_sharing(v) for v in value]
    return value


def _clean_initializers(config: dict) -> dict:
    from numkeras import initializers

    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and value.get("class_name") in initializers._CLASSES:
            cls = initializers._CLASSES[value["class_name"]]
            inner = _drop_unknown(cls, dict(value.get("config") or {}), value["class_name"])
            value = {**value, "config": inner}
        out[key] = value
    return out


def _overrides_from_config(cls) -> bool:
    from numkeras.engine.base_layer import Layer

    return getattr(cls.from_config, "__func__", None) is not Layer.from_config.__func__


def _drop_unknown(cls, config: dict, label: str) -> dict:
    """Keep the options ``cls`` takes; drop unknown unset ones and compute-only ones.

    A class with its own ``from_config`` gets any other unknown option to decide on; for
    the rest an unknown option that is set is an error.
    """
    accepted, open_ended = _accepted(cls)
    if open_ended:
        return config
    lenient = _overrides_from_config(cls)
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = value
        elif value in (None, False, {}, []) or key in _IGNORABLE:
            continue
        elif lenient:
            out[key] = value
        else:
            raise ValueError(f"{label}: option {key}={value!r} from the file is not supported by "
                             f"numkeras's {cls.__name__}.")
    return out


def _clean_nested(value, ctx):
    """Clean every nested layer spec (a wrapper's ``layer``, an RNN's ``cell``...) in place."""
    if isinstance(value, list):
        return [_clean_nested(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("config"), dict) and "class_name" in value:
        cls, builtin = ctx.lookup(value) if ctx is not None else (None, False)
        if cls is not None and builtin and value["class_name"] not in _MODELS:
            return {**value, "config": clean_layer_config(cls, value["config"],
                                                          value["class_name"], ctx)}
    return {k: _clean_nested(v, ctx) for k, v in value.items()}


def clean_layer_config(cls, config: dict, class_name: str, ctx=None) -> dict:
    """A file's layer config as keyword arguments numkeras's ``cls`` accepts.

    Keras 3 dtype policies become dtype names, ``batch_shape`` becomes ``batch_input_shape``,
    initializer options numkeras lacks are dropped when unset, nested layer configs are
    cleaned too; other options numkeras does not have are dropped when unset or
    compute-only (``use_cudnn``...), and are an error otherwise.
    """
    config = _strip_sharing(dict(config))
    if "dtype" in config:
        config["dtype"] = _policy_dtype(config["dtype"])
    if "batch_shape" in config and "batch_input_shape" not in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    config = _clean_initializers(config)
    config = {k: _clean_nested(v, ctx) for k, v in config.items()}
    return _drop_unknown(cls, config, f"{class_name} '{config.get('name')}'")


# -- deserialization -----------------------------------------------------------------------
#: How deeply models may nest in a config (tf-keras files nest a handful of levels).
MAX_NESTING = 100
#: What a malformed layer entry raises while it is rebuilt (mapped to ModelConfigError).
_CONFIG_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError,
                  OverflowError)


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
    from numkeras.saving.keras_v3.errors import ModelConfigError

    ctx = _ctx or _Context(custom_objects)
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
    except _CONFIG_ERRORS as exc:
        raise ModelConfigError(f"Cannot rebuild layer {_layer_label(spec)} from the config: "
                               f"{type(exc).__name__}: {exc}") from exc
    finally:
        ctx.depth -= 1


def _deserialize_layer(spec: dict, ctx, top: bool):
    if top:
        _check_classes(ctx, spec)
    cls, builtin = ctx.lookup(spec)
    if cls is None:
        raise UnknownClassError(f"Unknown layer class: {_describe(spec)}.")
    config = spec.get("config", {})
    name = spec.get("class_name")
    if builtin and name in _MODELS:
        if name == "Sequential":
            return _sequential_from_config(config, ctx, spec)
        return _functional_from_config(config, ctx)
    if not builtin:  # the base Layer's entries still come in Keras 3 spellings
        config = dict(config)
        if "dtype" in config:
            config["dtype"] = _policy_dtype(config["dtype"])
        if "batch_shape" in config and "batch_input_shape" not in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        return cls.from_config(config)
    return cls.from_config(clean_layer_config(cls, config, name, ctx))


def _check_classes(ctx: _Context, config) -> None:
    missing = ctx.missing(config)
    if missing:
        raise UnknownClassError(
            "Cannot rebuild the model: the config uses classes numkeras does not have and "
            f"`custom_objects` does not supply: {missing}. numkeras never imports or runs code "
            "from a file; pass the classes as custom_objects={'Name': cls}.")


def _sequential_from_config(config, ctx: _Context, spec: dict):
    from numkeras.engine.sequential import Sequential

    if isinstance(config, list):  # Keras <= 2.2 spelled Sequential configs as a bare list
        config = {"layers": config}
    model = Sequential(name=config.get("name"))
    for layer_spec in config.get("layers", []):
        model.add(deserialize_layer(layer_spec, _ctx=ctx))
    shape = config.get("build_input_shape") or (spec.get("build_config") or {}).get(
        "input_shape")
    if not model.built and shape is not None:
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model


class _NotReady(Exception):
    """A node's inputs have not been created yet."""


class _Graph:
    """The layers and node outputs rebuilt so far for one functional config."""

    def __init__(self):
        self.layers: dict = {}
        self.calls: dict = {}

    def tensor(self, name, node_index, tensor_index, offset: int = 0):
        if name not in self.layers:
            raise ValueError(f"Invalid Functional model configuration: unknown layer {name!r}.")
        calls = self.calls[name]
        i = int(node_index) - offset
        if i < 0 or i >= len(calls):
            raise _NotReady(name)
        flat = nest.flatten(calls[i])
        return flat[int(tensor_index)]

    def legacy_offset(self, name) -> int:
        """tf-keras counts a nested model's construction node: its calls start at index 1."""
        from numkeras.engine.functional_model import Functional

        layer = self.layers[name]
        return 1 if isinstance(layer, Functional) and layer._is_graph_network else 0


def _is_ref(value) -> bool:
    return (isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _legacy_call(graph: _Graph, node, preserve: bool = False) -> tuple[list, dict]:
    """``(args, kwargs)`` of a tf-keras node ``[[name, node, tensor, kwargs], ...]``."""
    kwargs: dict = {}

    def leaf(entry):
        nonlocal kwargs
        if len(entry) == 4 and isinstance(entry[3], dict):
            kwargs = _legacy_kwargs(graph, entry[3])
        if entry[0] == "_CONSTANT_VALUE":
            return entry[2]
        return graph.tensor(entry[0], entry[1], entry[2], graph.legacy_offset(entry[0]))

    def convert(data):
        if _is_ref(data) or (isinstance(data, list) and len(data) in (3, 4)
                             and data[0] == "_CONSTANT_VALUE"):
            return leaf(data)
        if isinstance(data, dict):
            return {k: convert(v) for k, v in data.items()}
        return [convert(v) for v in data]

    inputs = convert(node)
    if isinstance(inputs, list) and len(inputs) == 1 and not preserve:
        inputs = inputs[0]
    return [inputs], kwargs


def _legacy_kwargs(graph: _Graph, kwargs: dict) -> dict:
    """Call keywords with ``[layer, node, tensor]`` references (at any depth, as tf-keras's
    ``convert_inner_node_data``) replaced by the rebuilt tensors."""
    def convert(value):
        if _is_ref(value) and len(value) == 3 and value[0] in graph.layers:
            return graph.tensor(value[0], value[1], value[2], graph.legacy_offset(value[0]))
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in kwargs.items()}


def _revive(graph: _Graph, value):
    """Keras 3 node data: ``__keras_tensor__`` -> the rebuilt tensor; tuples, arrays."""
    if isinstance(value, list):
        return [_revive(graph, v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("class_name")
    config = value.get("config")
    if kind == "__keras_tensor__":
        return graph.tensor(*config["keras_history"])
    if kind == "__tuple__":
        return tuple(_revive(graph, v) for v in config["value"])
    if kind == "__numpy__":
        return np.asarray(config["value"], dtype=config.get("dtype"))
    if kind == "__bytes__":
        return config["value"].encode("latin-1")
    if kind is not None and "config" in value:
        raise ValueError(f"Unsupported object in a layer call of the config: {kind!r}.")
    return {k: _revive(graph, v) for k, v in value.items()}


def _process(graph: _Graph, name: str, node) -> None:
    from numkeras.saving.keras_v3.errors import ModelConfigError

    try:
        _call_node(graph, name, node)
    except _NotReady:
        raise
    except _CONFIG_ERRORS as exc:
        raise ModelConfigError(f"Cannot connect layer {name!r} as the config's inbound nodes "
                               f"say: {type(exc).__name__}: {exc}") from exc


def _call_node(graph: _Graph, name: str, node) -> None:
    layer = graph.layers[name]
    if isinstance(node, dict):
        args = _revive(graph, node.get("args", []))
        kwargs = _revive(graph, node.get("kwargs", {}))
        # Keras 3 records each layer's resolved `training` (True for augmentation layers);
        # the model call's own `training` decides at run time, as in Keras 3's predict.
        kwargs.pop("training", None)
    else:
        args, kwargs = _legacy_call(graph, node,
                                    getattr(layer, "_preserve_input_structure_in_config", False))
    graph.calls[name].append(layer(*args, **kwargs))


def _functional_from_config(config: dict, ctx: _Context):
    from numkeras.engine.input_layer import InputLayer
    from numkeras.engine.training import Model

    graph = _Graph()
    pending = {}
    order = []
    for spec in config["layers"]:
        name = spec.get("name") or spec["config"]["name"]
        layer = deserialize_layer(spec, _ctx=ctx)
        graph.layers[name] = layer
        graph.calls[name] = [layer._inbound_nodes[0].outputs] if isinstance(
            layer, InputLayer) else []
        pending[name] = list(spec.get("inbound_nodes") or [])
        order.append(name)
    _run_pending(graph, pending, order)
    legacy = any(isinstance(n, list) for nodes in (s.get("inbound_nodes") or [] for s in
                                                    config["layers"]) for n in nodes)
    inputs = _io_tensors(graph, config["input_layers"], legacy)
    outputs = _io_tensors(graph, config["output_layers"], legacy)
    model = Model(inputs=inputs, outputs=outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _run_pending(graph: _Graph, pending: dict, order: list) -> None:
    while any(pending.values()):
        progressed = False
        for name in order:
            while pending[name]:
                try:
                    _process(graph, name, pending[name][0])
                except _NotReady:
                    break
                pending[name].pop(0)
                progressed = True
        if not progressed:
            stuck = [n for n in order if pending[n]]
            raise ValueError("Invalid Functional model configuration: the graph has loops or "
                             f"disconnected nodes; cannot resolve the inputs of {stuck}.")


def _io_tensors(graph: _Graph, refs, legacy: bool):
    from numkeras.engine.functional_model import Functional
    from numkeras.engine.sequential import Sequential

    def offset(name):
        if legacy:
            return graph.legacy_offset(name)
        layer = graph.layers[name]
        return 1 if isinstance(layer, Functional) and not isinstance(layer, Sequential) else 0

    def convert(value):
        if _is_ref(value):
            try:
                return graph.tensor(value[0], value[1], value[2], offset(value[0]))
            except _NotReady:
                raise ValueError(f"Invalid Functional model configuration: no node {value[1]} "
                                 f"of layer {value[0]!r}.") from None
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return [convert(v) for v in value]

    return convert(refs)


def functional_from_config(config: dict, custom_objects: dict | None = None):
    """A functional model from its ``get_config()`` (tf-keras or Keras 3 spelling)."""
    ctx = _Context(custom_objects)
    _check_classes(ctx, config)
    return _functional_from_config(config, ctx)


def sequential_from_config(config, custom_objects: dict | None = None):
    """A Sequential model from its ``get_config()`` (any Keras version's spelling)."""
    ctx = _Context(custom_objects)
    _check_classes(ctx, config)
    return _sequential_from_config(config, ctx, {})


def deserialize_model(config, custom_objects: dict | None = None):
    """A model (or layer) from a config dict or JSON string: Keras 3 or tf-keras, any age.

    Raises :class:`UnknownClassError` listing every class numkeras cannot build.
    """
    from numkeras.saving.keras_v3.archive import parse_json
    from numkeras.saving.keras_v3.errors import ModelConfigError

    if isinstance(config, (str, bytes)):
        config = parse_json(config.encode() if isinstance(config, str) else config,
                            "model config")
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelConfigError("Not a Keras model config: expected an object with "
                               "'class_name' and 'config'.")
    ctx = _Context(custom_objects)
    try:
        _check_classes(ctx, config)
    except UnknownClassError:
        raise
    except _CONFIG_ERRORS as exc:  # a class_name that is not a string, ...
        raise ModelConfigError(f"Malformed model config: {type(exc).__name__}: {exc}") from exc
    return deserialize_layer(config, _ctx=ctx)


# -- serialization -------------------------------------------------------------------------
def _class_spec(layer, style: str) -> dict:
    from numkeras.engine.functional_model import Functional
    from numkeras.engine.sequential import Sequential

    cls = type(layer)
    name = cls.__name__
    builtin = cls.__module__.startswith("numkeras.")
    if isinstance(layer, Sequential) and builtin:
        return {"module": "keras", "class_name": "Sequential", "registered_name": None}
    if isinstance(layer, Functional) and builtin:
        module = ("keras.src.models.functional" if style == KERAS3
                  else "tf_keras.src.engine.functional")
        return {"module": module, "class_name": "Functional", "registered_name": "Functional"}
    if builtin:
        return {"module": "keras.layers", "class_name": name, "registered_name": None}
    import sys

    utils = sys.modules.get("numkeras.utils")  # "package>name" of a registered class
    registered = utils.get_registered_name(cls) if utils is not None else name
    return {"module": cls.__module__, "class_name": name, "registered_name": registered}


def _keras3_layer_config(cls, config: dict) -> dict:
    """tf-keras-style ``get_config`` output of a numkeras ``cls`` as Keras 3 takes it."""
    from numkeras.engine.input_layer import InputLayer

    config = dict(config)
    if issubclass(cls, InputLayer):
        config["batch_shape"] = list(config.pop("batch_input_shape"))
        return config
    if cls.__name__ in TF_OP_CLASSES:
        raise ValueError(f"Layer {config.get('name')!r} calls TF function "
                         f"tf.{config.get('function')}, which Keras 3 files cannot hold (Keras 3 "
                         "has no TFOpLambda). Save in tf-keras style instead: model.save('m.h5') "
                         "or numkeras.saving.keras_v3.save_model(model, path, style='tf_keras').")
    own = _own_params(cls)
    for key in _TF_KERAS_ONLY:
        if key in own and key not in _NOT_IN_KERAS3:
            continue
        value = config.pop(key, None)
        if key == "time_major" and value:
            raise ValueError(f"Layer {config.get('name')}: time_major=True cannot be saved for "
                             "Keras 3.")
    for key in _KERAS3_REFUSES.get(cls.__name__, ()):
        config.pop(key, None)
    if cls.__name__ == "BatchNormalization" and isinstance(config.get("axis"), list):
        if len(config["axis"]) != 1:
            raise ValueError(f"Layer {config.get('name')}: Keras 3's BatchNormalization takes "
                             f"one axis, not {config['axis']}.")
        config["axis"] = config["axis"][0]
    return {k: _keras3_nested(v) for k, v in config.items()}


def _keras3_nested(value):
    if isinstance(value, list):
        return [_keras3_nested(v) for v in value]
    if not isinstance(value, dict):
        return value
    cls = _layer_classes().get(value.get("class_name")) if "class_name" in value else None
    if cls is not None and isinstance(value.get("config"), dict) and \
            cls.__module__.startswith("numkeras."):
        return {**value, "config": _keras3_layer_config(cls, value["config"])}
    return {k: _keras3_nested(v) for k, v in value.items()}


def _own_params(cls) -> set:
    """Constructor parameters ``cls`` declares itself (not via Layer's ``**kwargs``)."""
    from numkeras.engine.base_layer import Layer

    names: set = set()
    for klass in cls.__mro__:
        if klass is Layer:
            break
        if "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters)
    return names


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def layer_spec(layer, style: str = KERAS3) -> dict:
    """``{"module", "class_name", "config", "registered_name", "build_config"}`` of a layer."""
    from numkeras.engine.functional_model import Functional
    from numkeras.engine.sequential import Sequential

    spec = _class_spec(layer, style)
    if isinstance(layer, Sequential):
        config = sequential_config(layer, style)
    elif isinstance(layer, Functional) and layer._is_graph_network:
        config = functional_config(layer, style)
    else:
        config = layer.get_config()
        if style == KERAS3 and type(layer).__module__.startswith("numkeras."):
            config = _keras3_layer_config(type(layer), config)
    spec = {**spec, "config": _jsonable(config)}
    shape = _build_shape(layer)
    if shape is not None:
        spec["build_config"] = {"input_shape": _jsonable(shape)}
    return spec


def _build_shape(layer):
    """The input shape of the layer's first call, when that call took one input argument
    (Keras 3 builds multi-argument layers such as attention from a different spelling; for
    those the graph rebuild builds them instead)."""
    from numkeras.engine.input_layer import InputLayer

    if isinstance(layer, InputLayer) or not layer.built:
        return None
    nodes = [n for n in layer._inbound_nodes if not n.is_input]
    if not nodes or len(nodes[0].call_args) != 1 or any(
            isinstance(v, KerasTensor) for v in nest.flatten(nodes[0].call_kwargs)):
        return None
    return nodes[0].input_shapes


def sequential_config(model, style: str = KERAS3) -> dict:
    """Keras 3 / tf-keras config of a Sequential: its layers, InputLayer first if any."""
    layers = ([model._input_layer] if model._input_layer is not None else []) + model.layers
    config = {"name": model.name}
    if style == KERAS3:
        config["trainable"] = model.trainable
    config["layers"] = [layer_spec(layer, style) for layer in layers]
    if model.built and model._input_layer is not None:
        config["build_input_shape"] = list(model._input_layer._batch_input_shape)
    return config


class _Nodes:
    """The nodes of one functional model and, for each tensor, the node that made it.

    (A model's output tensors are re-stamped with the model's own node, so the producer
    is looked up here rather than in ``_keras_history``.)
    """

    def __init__(self, model, style: str):
        self.style = style
        nodes = list(model._graph_nodes) + [layer._inbound_nodes[0]
                                            for layer in model._input_layers]
        self.ids = {id(n) for n in nodes}
        self.producer = {id(t): (n, i) for n in nodes for i, t in enumerate(n.flat_outputs)}

    def history(self, t) -> tuple:
        """``(layer, node index in this model, tensor index)`` of tensor ``t``."""
        node, tensor_index = self.producer[id(t)]
        layer = node.layer
        kept = [n for n in layer._inbound_nodes if id(n) in self.ids]
        index = kept.index(node)
        if self.style == TF_KERAS and _is_graph_model(layer):
            index += 1
        return layer, index, tensor_index


def _is_graph_model(layer) -> bool:
    from numkeras.engine.functional_model import Functional

    return isinstance(layer, Functional) and bool(layer._is_graph_network)


def functional_config(model, style: str = KERAS3) -> dict:
    """Keras 3 / tf-keras config of a functional model (layers, nodes, inputs, outputs)."""
    nodes = _Nodes(model, style)
    layer_specs = []
    for layer in model.layers:
        spec = layer_spec(layer, style)
        spec["name"] = layer.name
        spec["inbound_nodes"] = [_node_spec(node, nodes) for node in layer._inbound_nodes
                                 if id(node) in nodes.ids and not node.is_input]
        layer_specs.append(spec)

    def ref(t):
        layer, index, tensor_index = nodes.history(t)
        if style == KERAS3 and _is_plain_functional(layer):
            index += 1
        return [layer.name, index, tensor_index]

    inputs, outputs = model._nested_inputs, model._nested_outputs
    if style == TF_KERAS:
        inputs, outputs = nest.flatten(inputs), nest.flatten(outputs)
    return {"name": model.name, "trainable": model.trainable, "layers": layer_specs,
            "input_layers": nest.map_structure(ref, _as_list(inputs)),
            "output_layers": nest.map_structure(ref, _as_list(outputs))}


def _as_list(structure):
    return list(structure) if isinstance(structure, tuple) else structure


def _is_plain_functional(layer) -> bool:
    from numkeras.engine.functional_model import Functional
    from numkeras.engine.sequential import Sequential

    return isinstance(layer, Functional) and not isinstance(layer, Sequential) and \
        layer._is_graph_network


def _node_spec(node, nodes: _Nodes):
    history = nodes.history
    if nodes.style == TF_KERAS:
        preserve = getattr(node.layer, "_preserve_input_structure_in_config", False)
        first = node.call_args[0] if node.call_args else []
        call_kwargs = dict(node.call_kwargs)
        if preserve:  # tf-keras: arguments after the first are saved by parameter name
            first, call_kwargs = node.layer.split_first_arg(node.call_args, call_kwargs)

        def kwarg(value):
            if isinstance(value, KerasTensor):
                layer, index, tensor_index = history(value)
                return [layer.name, index, tensor_index]
            if isinstance(value, slice):
                return {"start": value.start, "stop": value.stop, "step": value.step}
            if value is Ellipsis:
                return {"class_name": "__ellipsis__"}
            if isinstance(value, (list, tuple)):
                return [kwarg(v) for v in value]
            if isinstance(value, dict):
                return {k: kwarg(v) for k, v in value.items()}
            return value

        kwargs = _jsonable({k: kwarg(v) for k, v in call_kwargs.items()})

        def entry(t):
            if not isinstance(t, KerasTensor):
                return ["_CONSTANT_VALUE", -1, _jsonable(t), kwargs]
            layer, index, tensor_index = history(t)
            return [layer.name, index, tensor_index, kwargs]

        if preserve:
            return nest.map_structure(entry, _as_list(first)) if nest.is_nested(first) \
                else entry(first)
        return [entry(t) for t in nest.flatten(first)]

    def k3(value):
        if isinstance(value, KerasTensor):
            layer, index, tensor_index = history(value)
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(value.shape), "dtype": value.dtype.name,
                               "keras_history": [layer.name, index, tensor_index]}}
        if isinstance(value, tuple):
            return {"class_name": "__tuple__", "config": {"value": [k3(v) for v in value]}}
        if isinstance(value, list):
            return [k3(v) for v in value]
        if isinstance(value, dict):
            return {k: k3(v) for k, v in value.items()}
        return _jsonable(value)

    return {"args": [k3(a) for a in node.call_args], "kwargs": k3(dict(node.call_kwargs))}


def serialize_model(model, style: str = KERAS3) -> dict:
    """The ``config.json`` of a ``.keras`` file: Keras 3's by default, or tf-keras 2.13+'s."""
    if style not in (KERAS3, TF_KERAS):
        raise ValueError(f"Unknown config style {style!r}; expected 'keras3' or 'tf_keras'.")
    spec = layer_spec(model, style)
    if style == KERAS3:
        spec.setdefault("build_config", {"input_shape": None})
        spec["compile_config"] = None
    return spec


# -- load_model ----------------------------------------------------------------------------
def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """A model rebuilt from a ``.keras`` archive or a full-model ``.h5`` file, weights loaded.

    No code from the file is run: ``safe_mode`` is always on (``safe_mode=False`` changes
    nothing). Optimizer state is not restored (``compile`` is accepted for compatibility).
    """
    import os

    from numkeras.saving import formats
    from numkeras.saving.keras_v3.errors import ModelConfigError
    from numkeras.saving.paths import path_to_string

    filepath = path_to_string(filepath)
    if os.path.isdir(filepath):
        return _load_saved_model(filepath, custom_objects)
    if not os.path.exists(filepath):
        hint = (" It is a TF checkpoint prefix, which holds weights only: build the model in "
                "code and call model.load_weights(...)." if os.path.isfile(filepath + ".index")
                else "")
        raise FileNotFoundError(f"No model file at {filepath!r}: load_model reads a .keras "
                                "archive, a full-model .h5 file or a tf-keras SavedModel "
                                f"directory.{hint}")
    head = formats.head(filepath)
    try:
        if head[:len(formats.ZIP_MAGIC)] == formats.ZIP_MAGIC:
            return _load_archive(filepath, custom_objects)
        if head == formats.HDF5_MAGIC:
            return _load_h5(filepath, custom_objects)
    except UnknownClassError as err:  # name the file in the one error listing everything
        raise UnknownClassError(f"{filepath}: {err}") from None
    except ModelConfigError as err:
        if filepath in str(err):
            raise
        raise ModelConfigError(f"{filepath}: {err}") from err.__cause__
    raise ValueError(f"{filepath} is neither a .keras archive nor an HDF5 file; load_model "
                     "reads those two formats (use load_weights for TF checkpoints).")


def _load_saved_model(directory: str, custom_objects):
    """A model rebuilt from a tf-keras SavedModel's Keras metadata (the root's config, from
    ``keras_metadata.pb`` or, TF 2.4-style, ``saved_model.pb``'s object graph), with the
    weights read from ``variables/``. No graph or function of the SavedModel runs."""
    import json

    from numkeras import saving
    from numkeras.saving.tf_checkpoint.keras_metadata import root_metadata

    try:  # keras_metadata.pb, or (TF 2.4) the object graph inside saved_model.pb
        root, path = root_metadata(directory)
    except FileNotFoundError:
        root, path = None, None
    if path is None or (root is None and not path.endswith("keras_metadata.pb")):
        what = ("a SavedModel without Keras metadata (written by tf.saved_model.save or Keras "
                "3 export, not by tf-keras model.save)" if path is not None
                else "not a SavedModel")
        raise ValueError(f"Cannot rebuild a model from the directory {directory!r}: it is {what}"
                         ". Build the model in code and call model.load_weights(path) with the "
                         "SavedModel directory or checkpoint prefix.")
    if root is None:
        raise ValueError(f"{path} has no metadata for the root object; build the model in code "
                         "and call model.load_weights(directory).")

    def decode(obj: dict):  # tf-keras json_utils.Encoder's tuples and shapes
        kind = obj.get("class_name")
        if kind in ("__tuple__", "TensorShape") and "items" in obj:
            return None if obj["items"] is None else tuple(obj["items"])
        if kind == "__ellipsis__":
            return Ellipsis
        return obj

    try:
        meta = json.loads(root, object_hook=decode)
    except ValueError as exc:
        raise ValueError(f"{path}: the root object's metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "config" not in meta or "class_name" not in meta:
        kind = meta.get("class_name", "?") if isinstance(meta, dict) else "?"
        raise ValueError(f"{path}: the root object ({kind}) "
                         "was saved without a config (a subclassed model without get_config), so "
                         "it cannot be rebuilt. Build the model in code and call "
                         "model.load_weights(directory).")
    model = deserialize_model({"class_name": meta["class_name"], "config": meta["config"]},
                              custom_objects)
    status = saving.load_weights(model, directory)
    status.expect_partial()  # the optimizer's values have no model to go to (as compile=False)
    status.assert_existing_objects_matched()
    return model


def _load_archive(filepath: str, custom_objects):
    from numkeras.saving.keras_v3 import loading
    from numkeras.saving.keras_v3.errors import KerasFileError
    from numkeras.saving.keras_v3.sources import ArchiveSource

    with ArchiveSource(filepath) as source:
        if source.config is None:
            raise KerasFileError(f"{filepath}: the archive has no 'config.json' entry, so the "
                                 "model cannot be rebuilt (load_weights can still read it).")
        model = deserialize_model(source.config, custom_objects)
        loading.execute(model, source)
    return model


def _load_h5(filepath: str, custom_objects):
    from numkeras import saving
    from numkeras.saving import h5common

    with h5common.open_file(filepath, filepath) as f:
        raw = f.attrs.get("model_config")
    if raw is None:
        raise ValueError(f"No model config found in the file at {filepath}: it holds weights "
                         "only. Build the model in code and call model.load_weights().")
    if isinstance(raw, np.ndarray):
        raw = raw.item()
    model = deserialize_model(raw if isinstance(raw, bytes) else str(raw).encode(),
                              custom_objects)
    saving.load_weights(model, filepath)
    return model
