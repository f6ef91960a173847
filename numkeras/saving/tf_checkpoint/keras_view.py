"""How tf.keras names the checkpoint children of Keras objects: the one place that knows it.

The object graph of a checkpoint (:mod:`.object_graph`) and the restore matcher
(:mod:`.restore`) walk objects through three questions answered here:

- :func:`children`: the named children of an object, in tf.keras's order;
- :func:`lookup`: one child by name (what tf.keras's ``_lookup_dependency`` answers);
- :func:`variable_of`: whether the object is a variable (its value is saved).

Rules (TensorFlow 2.21 + tf-keras 2.21, see ``docs/formats.md`` §5.9):

- a functional or Sequential model first lists, for each layer ``i`` of ``model.layers``,
  ``layer_with_weights-k`` (only for layers that have weights, ``k`` counting those) and
  ``layer-i``, then its attribute children (``optimizer`` once compiled);
- other trackables (layers, subclassed models, optimizers, checkpoints) list their tracked
  attributes in first-assignment order (``add_weight(name)`` tracks the variable as ``name``);
- lists are nodes with children ``"0"``, ``"1"``, ...; dicts with their keys; both are
  nodes even when empty (TensorFlow's ListWrapper/_DictWrapper); tuples are nodes only when
  they hold a trackable or a mutable container (TensorFlow's ``_should_wrap_tuple``).

>>> import numpy as np
>>> from numkeras import Sequential, layers
>>> model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dropout(0.5)])
>>> [name for name, _ in children(model)]
['layer_with_weights-0', 'layer-0', 'layer-1']
>>> [name for name, _ in children(model.layers[0])]
['kernel', 'bias']
>>> lookup(model, "layer-1") is model.layers[1]
True
"""

from __future__ import annotations

from numkeras.engine.base_layer import Layer
from numkeras.engine.functional_model import Functional
from numkeras.engine.tracking import Trackable
from numkeras.engine.training import Model
from numkeras.engine.variable import Variable

_LAYER_PREFIX = "layer-"
_WEIGHTED_PREFIX = "layer_with_weights-"


def is_container(value) -> bool:
    """Whether ``value`` becomes a container node (list, dict, or a tuple worth wrapping)."""
    if isinstance(value, (list, dict)):
        return True
    return isinstance(value, tuple) and _should_wrap_tuple(value)


def _should_wrap_tuple(value: tuple) -> bool:
    for item in value:
        if isinstance(item, (Trackable, list, dict)):
            return True
        if isinstance(item, tuple) and _should_wrap_tuple(item):
            return True
    return False


def is_node(value) -> bool:
    """Whether ``value`` is an object of the checkpoint graph."""
    return isinstance(value, Trackable) or is_container(value)


def variable_of(obj) -> Variable | None:
    """``obj`` if it is a variable (a node whose value is saved), else ``None``."""
    return obj if isinstance(obj, Variable) else None


def _is_graph_model(obj) -> bool:
    """Functional and Sequential models (built or not) name their layers ``layer-i``."""
    return isinstance(obj, Functional) or (isinstance(obj, Model) and obj.is_graph_network)


def _model_layers(model) -> list:
    return list(model.layers)


def _has_weights(layer) -> bool:
    """``bool(layer.weights)``, answered from the layer's own variables where they decide it
    (``weights`` walks every sub-layer: slow for a model of thousands of layers)."""
    cls = type(layer)
    if cls.weights is Layer.weights and cls.trainable_weights is Layer.trainable_weights and \
            cls.non_trainable_weights is Layer.non_trainable_weights and layer.own_variables():
        return True
    return bool(layer.weights)


def _layer_dependencies(model) -> list[tuple[str, object]]:
    out = []
    weighted = 0
    for i, layer in enumerate(_model_layers(model)):
        if _has_weights(layer):
            out.append((f"{_WEIGHTED_PREFIX}{weighted}", layer))
            weighted += 1
        out.append((f"{_LAYER_PREFIX}{i}", layer))
    return out


def _attribute_children(obj: Trackable) -> list[tuple[str, object]]:
    return [(name, value) for name, value in obj.tracked_children() if is_node(value)]


def _container_children(value) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items() if is_node(v)]
    return [(str(i), v) for i, v in enumerate(value) if is_node(v)]


def children(obj) -> list[tuple[str, object]]:
    """``(local name, child)`` pairs of ``obj`` in tf.keras's order (names may repeat a child)."""
    if isinstance(obj, Variable):
        return []
    if isinstance(obj, Trackable):
        out = _layer_dependencies(obj) if _is_graph_model(obj) else []
        seen = {name for name, _ in out}
        out += [(n, v) for n, v in _attribute_children(obj) if n not in seen]
        return out
    if is_container(obj):
        return _container_children(obj)
    return []


def _lookup_layer(model, name: str, cache: dict | None):
    if not (name.startswith(_WEIGHTED_PREFIX) or name.startswith(_LAYER_PREFIX)):
        return None
    table = None if cache is None else cache.get(id(model))
    if table is None:
        table = dict(_layer_dependencies(model))
        if cache is not None:
            cache[id(model)] = table
    return table.get(name)


def lookup(obj, name: str, cache: dict | None = None):
    """The child of ``obj`` called ``name`` (``None`` if there is none yet).

    ``cache`` (a dict owned by the caller) keeps each model's ``layer-i`` table between
    lookups, so matching all children of a model costs one pass over its layers.
    """
    if isinstance(obj, Variable):
        return None
    if isinstance(obj, Trackable):
        if _is_graph_model(obj):
            layer = _lookup_layer(obj, name, cache)
            if layer is not None:
                return layer
        value = obj.tracked_child(name)
        return value if is_node(value) else None
    if isinstance(obj, dict):
        for key, value in obj.items():
            if str(key) == name and is_node(value):
                return value
        return None
    if is_container(obj) and name.isdigit():
        index = int(name)
        if index < len(obj) and is_node(obj[index]):
            return obj[index]
    return None


# -- legacy optimizers (OptimizerV2): slot variables are extra nodes ----------------------------

def has_slots(obj) -> bool:
    """Whether ``obj`` is a legacy optimizer (it has ``get_slot_names()`` and slots)."""
    return isinstance(obj, Trackable) and not isinstance(obj, Variable) and \
        callable(getattr(obj, "get_slot_names", None))


def slot_names(obj) -> list[str]:
    """Slot names of a legacy optimizer (``get_slot_names()``), else ``[]``."""
    return list(obj.get_slot_names()) if has_slots(obj) else []


def get_slot(optimizer, variable, name: str):
    """The legacy optimizer's slot ``name`` for ``variable``, or ``None``."""
    try:
        return optimizer.get_slot(variable, name)
    except (KeyError, ValueError, AttributeError):
        return None


def create_slot(optimizer, variable, name: str, value):
    """Create (restore-on-create) slot ``name`` of ``variable`` holding ``value``.

    Returns the slot variable, or ``None`` if the optimizer cannot create slots.
    """
    create = getattr(optimizer, "create_slot", None)
    if create is not None:
        return create(variable, name, value)
    add = getattr(optimizer, "add_slot", None)
    if add is None:
        return None
    slot = add(variable, name, initializer=value)
    slot.assign(value)
    return slot


# -- objects that create state lazily -----------------------------------------------------------

def materialize(obj) -> None:
    """Create state that exists as soon as it is first used, before matching its children.

    The engine's ``create_lazy_state`` does it (legacy optimizers create ``iter`` and their
    hyperparameter variables); creating them early gives the same variables (TensorFlow
    would restore them on creation). State created later (an optimizer's slots in
    ``build``) is restored by the deferred restorations the owner runs when it creates it.
    """
    if isinstance(obj, Trackable):
        obj.create_lazy_state()
