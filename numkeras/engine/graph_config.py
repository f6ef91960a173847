"""Model graphs as configs and back: the ``layers``/``inbound_nodes``/``input_layers``/
``output_layers`` of Functional models and the layer list of Sequential ones.

Functional graphs come in two spellings, both written and read here:

- tf-keras (``KERAS3``'s counterpart ``TF_KERAS``; legacy ``.h5`` ``model_config`` and
  2.13+ ``.keras``): a node is a list of ``[layer, node_index, tensor_index, kwargs]``; a
  nested model's indices count its own construction node first;
- Keras 3: a node is ``{"args": ..., "kwargs": ...}`` with ``__keras_tensor__`` entries.

The engine knows the graph; how one layer is named in a config (its class, registered
name, the dialect of its arguments) is :mod:`numkeras.saving.serialization`'s business,
passed in as ``layer_spec(layer, style)`` and ``build_layer(spec)``.

(Longer than most modules: the reader and the writer of both graph spellings stay together,
so that each rule about node indices is read next to the code that writes it.)

>>> from numkeras import Input, Model, backend, layers
>>> backend.clear_session()
>>> x = Input((3,))
>>> model = Model(x, layers.Dense(2)(x))
>>> spec = lambda layer, style: {"class_name": type(layer).__name__}
>>> config = functional_config(model, spec, TF_KERAS)
>>> [l["class_name"] for l in config["layers"]], config["output_layers"]
(['InputLayer', 'Dense'], [['dense', 0, 0]])
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from numkeras.engine import nest
from numkeras.engine.base_layer import _ALLOWED_KWARGS, Layer
from numkeras.engine.functional_model import Functional
from numkeras.engine.input_layer import InputLayer
from numkeras.engine.keras_tensor import KerasTensor
from numkeras.engine.sequential import Sequential

#: The two spellings of configs (and weight paths): Keras 3's and tf-keras's. Every module
#: that switches on them takes them from here, under the one name ``style``.
KERAS3 = "keras3"
TF_KERAS = "tf_keras"
STYLES = (KERAS3, TF_KERAS)


# -- from configs ---------------------------------------------------------------------------
def sequential_from_config(config, build_layer, spec: dict | None = None):
    """A Sequential from its config (any Keras version's spelling); ``build_layer(spec)``
    makes each layer from its ``{"class_name", "config"}`` dict."""
    spec = spec or {}
    if isinstance(config, list):  # Keras <= 2.2 spelled Sequential configs as a bare list
        config = {"layers": config}
    model = Sequential(name=config.get("name"))
    for layer_spec in config.get("layers", []):
        model.add(build_layer(layer_spec))
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
        return 1 if is_graph_model(self.layers[name]) else 0


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
    if kind == "__slice__":
        return slice(config.get("start"), config.get("stop"), config.get("step"))
    if kind == "__ellipsis__":
        return Ellipsis
    if kind is not None and "config" in value:
        raise ValueError(f"Unsupported object in a layer call of the config: {kind!r}.")
    return {k: _revive(graph, v) for k, v in value.items()}


#: What a malformed layer entry raises while it is rebuilt (the caller's ``error`` says so).
CONFIG_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError,
                 OverflowError, MemoryError)


def _process(graph: _Graph, name: str, node, error: type) -> None:
    try:
        _call_node(graph, name, node)
    except _NotReady:
        raise
    except CONFIG_ERRORS as exc:
        raise error(f"Cannot connect layer {name!r} as the config's inbound nodes "
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


def functional_from_config(config: dict, build_layer, error: type = ValueError):
    """A functional model from its config (tf-keras or Keras 3 spelling); ``build_layer(spec)``
    makes each layer from its ``{"class_name", "config"}`` dict. A node that cannot be
    connected raises ``error`` naming the layer."""

    graph = _Graph()
    pending = {}
    order = []
    for spec in config["layers"]:
        name = spec.get("name") or spec["config"]["name"]
        layer = build_layer(spec)
        graph.layers[name] = layer
        graph.calls[name] = [layer._inbound_nodes[0].outputs] if isinstance(
            layer, InputLayer) else []
        pending[name] = list(spec.get("inbound_nodes") or [])
        order.append(name)
    _run_pending(graph, pending, order, error)
    legacy = any(isinstance(n, list) for nodes in (s.get("inbound_nodes") or [] for s in
                                                    config["layers"]) for n in nodes)
    inputs = _io_tensors(graph, config["input_layers"], legacy)
    outputs = _io_tensors(graph, config["output_layers"], legacy)
    model = Functional(inputs=inputs, outputs=outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _run_pending(graph: _Graph, pending: dict, order: list, error: type) -> None:
    while any(pending.values()):
        progressed = False
        for name in order:
            while pending[name]:
                try:
                    _process(graph, name, pending[name][0], error)
                except _NotReady:
                    break
                pending[name].pop(0)
                progressed = True
        if not progressed:
            stuck = [n for n in order if pending[n]]
            raise ValueError("Invalid Functional model configuration: the graph has loops or "
                             f"disconnected nodes; cannot resolve the inputs of {stuck}.")


def _io_tensors(graph: _Graph, refs, legacy: bool):
    def offset(name):
        if legacy:
            return graph.legacy_offset(name)
        layer = graph.layers[name]
        return 1 if _is_functional(layer) and not _is_sequential(layer) else 0

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


# -- to configs -----------------------------------------------------------------------------
def jsonable(value):
    """``value`` with tuples as lists and NumPy scalars/arrays as Python values (JSON-ready)."""
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def build_shape(layer):
    """The input shape of the layer's first call, when that call took one input argument
    (Keras 3 builds multi-argument layers such as attention from a different spelling; for
    those the graph rebuild builds them instead)."""
    if isinstance(layer, InputLayer) or not layer.built:
        return None
    nodes = [n for n in layer._inbound_nodes if not n.is_input]
    if not nodes or len(nodes[0].call_args) != 1 or any(
            isinstance(v, KerasTensor) for v in nest.flatten(nodes[0].call_kwargs)):
        return None
    return nodes[0].input_shapes


def sequential_config(model, layer_spec, style: str = KERAS3) -> dict:
    """Keras 3 / tf-keras config of a Sequential: its layers, InputLayer first if any;
    ``layer_spec(layer, style)`` gives each layer's ``{"class_name", "config", ...}``."""
    layers = ([model._input_layer] if model._input_layer is not None else []) + model.layers
    config = {"name": model.name}
    if style == KERAS3:
        config["trainable"] = model.trainable
    config["layers"] = [layer_spec(layer, style) for layer in layers]
    if model.built and model._input_layer is not None:
        config["build_input_shape"] = list(model._input_layer._batch_input_shape)
    return keras3_names(config) if style == KERAS3 else config


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
        self.synthetic: dict = {}  # id(mask tensor) -> name of its operation node (Keras 3)
        self.masks: dict = {}  # id(node) -> the mask its call receives (Keras 3)

    def history(self, t) -> tuple:
        """``(layer, node index in this model, tensor index)`` of tensor ``t``."""
        if id(t) in self.synthetic:  # a mask operation node only the Keras 3 config has
            return _Named(self.synthetic[id(t)]), 0, 0
        node, tensor_index = self.producer[id(t)]
        layer = node.layer
        kept = [n for n in layer._inbound_nodes if id(n) in self.ids]
        index = kept.index(node)
        if self.style == TF_KERAS and is_graph_model(layer):
            index += 1
        return layer, index, tensor_index


class _Named:
    """Stands for a layer in a node reference: the mask operation nodes have only names."""

    def __init__(self, name: str):
        self.name = name


def is_graph_model(layer) -> bool:
    """Whether ``layer`` is a model built from a graph (Functional or Sequential)."""
    return _is_functional(layer) and bool(layer._is_graph_network)


def functional_config(model, layer_spec, style: str = KERAS3) -> dict:
    """Keras 3 / tf-keras config of a functional model (layers, nodes, inputs, outputs);
    ``layer_spec(layer, style)`` gives each layer's ``{"class_name", "config", ...}``."""
    nodes = _Nodes(model, style)
    specs, problems = {}, []
    for layer in model.layers:
        try:
            specs[id(layer)] = layer_spec(layer, style)
        except UntranslatableLayersError as err:  # a nested model's own list
            problems.extend(err.problems)
        except ValueError as err:
            if not hasattr(layer, "as_operation"):  # only TF-op / operation layers translate
                raise
            problems.append(str(err))
    mask_ops = []
    if style == KERAS3 and not problems:  # Keras 3 writes masks as operation nodes
        from numkeras.engine.mask_nodes import mask_nodes

        mask_ops, nodes.masks = mask_nodes(model, lambda la: specs[id(la)]["class_name"])
        nodes.synthetic = {id(op.output): op.name for op in mask_ops}
    layer_specs = []
    for layer in model.layers:
        try:
            spec = specs.get(id(layer))
            if spec is None:
                continue
            spec["name"] = layer.name
            spec["inbound_nodes"] = [_node_spec(node, nodes) for node in layer._inbound_nodes
                                     if id(node) in nodes.ids and not node.is_input]
        except ValueError as err:
            if not hasattr(layer, "as_operation"):
                raise
            problems.append(str(err))
            continue
        layer_specs.append(spec)
        layer_specs.extend(_mask_op_spec(op, nodes) for op in mask_ops if op.after is layer)
    if problems:
        raise UntranslatableLayersError(problems, style)

    def ref(t):
        layer, index, tensor_index = nodes.history(t)
        if style == KERAS3 and _is_plain_functional(layer):
            index += 1
        return [layer.name, index, tensor_index]

    inputs, outputs = model._nested_inputs, model._nested_outputs
    if style == TF_KERAS:
        inputs, outputs = nest.flatten(inputs), nest.flatten(outputs)
    config = {"name": model.name, "trainable": model.trainable, "layers": layer_specs,
              "input_layers": nest.map_structure(ref, _as_list(inputs)),
              "output_layers": nest.map_structure(ref, _as_list(outputs))}
    return keras3_names(config) if style == KERAS3 else config


def keras3_names(config: dict) -> dict:
    """A Keras 3 model config whose layer names have no ``/`` (Keras 3 refuses them; tf-keras
    applications such as MobileNetV3 use ``Conv/BatchNorm``): ``/`` becomes ``_`` (with a
    suffix if that name is taken), in the layers and in every reference to them. Keras 3's
    ``.keras`` weights are stored by object path, so no weight moves.

    >>> keras3_names({"layers": [{"name": "a/b", "config": {"name": "a/b"}, "inbound_nodes":
    ...     []}], "input_layers": [["a/b", 0, 0]], "output_layers": [["a/b", 0, 0]]})["layers"]
    [{'name': 'a_b', 'config': {'name': 'a_b'}, 'inbound_nodes': []}]
    """
    layers = config.get("layers") or []
    names = [spec.get("name") or (spec.get("config") or {}).get("name") for spec in layers]
    if not any(isinstance(n, str) and "/" in n for n in names):
        return config
    taken, rename = set(names), {}
    for name in names:
        if isinstance(name, str) and "/" in name:
            new, i = name.replace("/", "_"), 0
            while new in taken:
                i += 1
                new = f"{name.replace('/', '_')}_{i}"
            taken.add(new)
            rename[name] = new

    def fix(value):
        if isinstance(value, list):
            if len(value) == 3 and value[0] in rename and isinstance(value[1], int):
                return [rename[value[0]], *value[1:]]
            return [fix(v) for v in value]
        if isinstance(value, dict):
            out = {k: fix(v) for k, v in value.items()}
            if out.get("class_name") == "__keras_tensor__":
                history = out["config"].get("keras_history")
                if history and history[0] in rename:
                    out["config"] = {**out["config"],
                                     "keras_history": [rename[history[0]], *history[1:]]}
            return out
        return value

    out = dict(config)
    out["layers"] = []
    for spec in layers:
        spec = dict(spec)
        if spec.get("name") in rename:
            spec["name"] = rename[spec["name"]]
        if isinstance(spec.get("config"), dict) and spec["config"].get("name") in rename:
            spec["config"] = {**spec["config"], "name": rename[spec["config"]["name"]]}
        spec["inbound_nodes"] = fix(spec.get("inbound_nodes") or [])
        out["layers"].append(spec)
    out["input_layers"] = fix(config.get("input_layers"))
    out["output_layers"] = fix(config.get("output_layers"))
    return out


class UntranslatableLayersError(ValueError):
    """TF-op or Keras 3 operation layers with no exact equivalent in the style being written,
    all of them in one message (``problems``: one line per layer)."""

    def __init__(self, problems: list, style: str, filepath: str | None = None):
        self.problems, self.style, self.filepath = list(problems), style, filepath
        target = "Keras 3" if style == KERAS3 else "tf-keras"
        where = f"{filepath}: " if filepath else ""
        super().__init__(f"{where}{len(self.problems)} layer(s) compute functions with no exact "
                         f"{target} equivalent, so the model cannot be written in {target} "
                         "style:\n" + "\n".join(f"  - {p}" for p in self.problems))


def _as_list(structure):
    return list(structure) if isinstance(structure, tuple) else structure


def _is_plain_functional(layer) -> bool:
    return _is_functional(layer) and not _is_sequential(layer) and layer._is_graph_network


def _is_functional(layer) -> bool:
    return isinstance(layer, Functional)


def _is_sequential(layer) -> bool:
    return isinstance(layer, Sequential)


def _node_spec(node, nodes: _Nodes):
    history = nodes.history
    if nodes.style == TF_KERAS:
        tf_call = getattr(node.layer, "tf_call", None)  # TF-op layers (and their K3 twins)
        preserve = tf_call is not None
        first = node.call_args[0] if node.call_args else []
        call_kwargs = dict(node.call_kwargs)
        if preserve:  # tf-keras: arguments after the first are saved by parameter name
            first, call_kwargs = tf_call(node.call_args, call_kwargs)
        elif len(node.call_args) > 1:  # so are other layers' (MultiHeadAttention(q, v))
            call_kwargs = {**_by_parameter_name(node.layer, node.call_args[1:]), **call_kwargs}

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

        kwargs = jsonable({k: kwarg(v) for k, v in call_kwargs.items()})

        def entry(t):
            if not isinstance(t, KerasTensor):
                return ["_CONSTANT_VALUE", -1, jsonable(t), kwargs]
            layer, index, tensor_index = history(t)
            return [layer.name, index, tensor_index, kwargs]

        if preserve:
            return nest.map_structure(entry, _as_list(first)) if nest.is_nested(first) \
                else entry(first)
        return [entry(t) for t in nest.flatten(first)]

    args, kwargs = list(node.call_args), dict(node.call_kwargs)
    if hasattr(node.layer, "as_operation"):  # written as the Keras 3 operation it computes
        _, _, _, args, kwargs = node.layer.as_operation(args, kwargs)
    if id(node) in nodes.masks:
        kwargs["mask"] = nodes.masks[id(node)]
    return {"args": [_k3(a, history) for a in args], "kwargs": _k3(kwargs, history)}


def _mask_op_spec(op, nodes: _Nodes) -> dict:
    """The config entry of a mask operation node (see :mod:`numkeras.engine.mask_nodes`)."""
    from numkeras.ops.keras3 import OPERATIONS

    return {"module": OPERATIONS[op.operation].module, "class_name": op.operation,
            "config": {"name": op.name, **op.config}, "registered_name": op.operation,
            "name": op.name, "inbound_nodes": [
                {"args": [_k3(a, nodes.history) for a in op.args], "kwargs": {}}]}


def _k3(value, history):
    """A node argument in Keras 3's spelling (``__keras_tensor__``, ``__numpy__``...)."""
    def k3(value):
        if isinstance(value, KerasTensor):
            layer, index, tensor_index = history(value)
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(value.shape),
                               "dtype": "string" if value.dtype == object else value.dtype.name,
                               "keras_history": [layer.name, index, tensor_index]}}
        if isinstance(value, np.ndarray) and value.ndim:  # as Keras 3 writes arrays
            return {"class_name": "__numpy__", "config": {"value": value.tolist(),
                                                          "dtype": value.dtype.name}}
        if isinstance(value, slice):
            return {"class_name": "__slice__", "config": {
                "start": value.start, "stop": value.stop, "step": value.step}}
        if value is Ellipsis:
            return {"class_name": "__ellipsis__", "config": {}}
        if isinstance(value, (list, tuple)):  # Keras 3's JSON has no tuples in nodes
            return [k3(v) for v in value]
        if isinstance(value, dict):
            return {k: k3(v) for k, v in value.items()}
        return jsonable(value)

    return k3(value)


def _by_parameter_name(layer, extra: tuple) -> dict:
    """Positional call arguments after the first, keyed by ``layer.call``'s parameter names
    (how tf-keras records them in a node)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in inspect.signature(layer.call).parameters.values()
             if p.kind in kinds][1:]
    if len(extra) > len(names):
        raise ValueError(f"Layer '{layer.name}' was called with {len(extra) + 1} positional "
                         f"arguments; its call() takes {len(names) + 1}.")
    return dict(zip(names, extra))


# -- layer constructors (what a config's arguments may be) -----------------------------------
def constructor_keywords(cls) -> tuple[set, bool]:
    """``(keywords, open_ended)``: the constructor keywords of layer class ``cls``, following
    ``**kwargs`` up to ``Layer`` (whose own keywords count too); ``open_ended`` when a
    ``**kwargs`` goes nowhere known."""
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


def own_constructor_keywords(cls) -> set:
    """Constructor parameters ``cls`` declares itself (not via Layer's ``**kwargs``)."""
    return set(_own_constructor_keywords(cls))


@functools.lru_cache(maxsize=1024)  # inspect.signature is slow: once per class
def _own_constructor_keywords(cls) -> frozenset:
    names: set = set()
    for klass in cls.__mro__:
        if klass is Layer:
            break
        if "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters)
    return frozenset(names)
