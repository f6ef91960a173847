"""The ``TrackableObjectGraph`` of a checkpoint: build it from objects, name its nodes.

A TF2 checkpoint stores, besides the tensors, a serialized ``TrackableObjectGraph`` under
the key ``_CHECKPOINTABLE_OBJECT_GRAPH``: one node per object reached breadth first from the
root (node 0), each listing its children by local name, and each variable node naming the
table key of its value. :func:`build_graph` produces it exactly as TensorFlow's
``graph_view``/``save_util`` do (numbering, keys, escaping, legacy slot-variable nodes,
``has_checkpoint_values``); which children an object has comes from :mod:`.keras_view`.

>>> import numpy as np
>>> from numkeras.engine.tracking import Trackable
>>> from numkeras.engine.variable import Variable
>>> class Box(Trackable):
...     pass
>>> box = Box(); box.w = Variable(np.zeros(2), name="w"); box.parts = [Box()]
>>> graph = build_graph(box)
>>> [(n.path, n.key) for n in graph.nodes]
[('', None), ('w', 'w/.ATTRIBUTES/VARIABLE_VALUE'), ('parts', None), ('parts/0', None)]
>>> [n.has_checkpoint_values.value for n in graph.proto().nodes]
[True, True, False, False]
>>> checkpoint_key("a/b.c", "VARIABLE_VALUE"), escape_local_name("a/b.c")
('a/b.c/.ATTRIBUTES/VARIABLE_VALUE', 'a.Sb..c')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import keras_view

__all__ = [
    "OBJECT_GRAPH_KEY", "VARIABLE_VALUE_KEY", "GraphNode", "ObjectGraph", "build_graph",
    "checkpoint_key", "escape_local_name", "join_path", "node_has_values", "node_names",
    "set_has_checkpoint_values", "slot_variable_prefix",
]

#: Table key of the serialized object graph.
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
#: Attribute name of a variable's value.
VARIABLE_VALUE_KEY = "VARIABLE_VALUE"
_ATTRIBUTES = ".ATTRIBUTES"
_OPTIMIZER_SLOT = ".OPTIMIZER_SLOT"
_SERIALIZE_TO_TENSORS = ".TENSORS"


def escape_local_name(name: str) -> str:
    """Escape a child name for use in a key: ``.`` -> ``..``, then ``/`` -> ``.S``."""
    return name.replace(".", "..").replace("/", ".S")


def join_path(parent: str, local_name: str) -> str:
    """The object path of child ``local_name`` of the object at ``parent``."""
    escaped = escape_local_name(local_name)
    return f"{parent}/{escaped}" if parent else escaped


def checkpoint_key(object_path: str, attribute: str) -> str:
    """``<object path>/.ATTRIBUTES/<escaped attribute>`` (TensorFlow's ``checkpoint_key``)."""
    suffix = "" if attribute == _SERIALIZE_TO_TENSORS else escape_local_name(attribute)
    return f"{object_path}/{_ATTRIBUTES}/{suffix}"


def slot_variable_prefix(variable_path: str, optimizer_path: str, slot_name: str) -> str:
    """The object path of a legacy optimizer's slot for the variable at ``variable_path``.

    >>> slot_variable_prefix("layer_with_weights-0/kernel", "optimizer", "m")
    'layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m'
    """
    return (f"{variable_path}/{_OPTIMIZER_SLOT}/{optimizer_path}/"
            f"{escape_local_name(slot_name)}")


@dataclass
class GraphNode:
    """One node: its object, object path (escaped), children and value key."""

    obj: Any
    path: str
    children: list[tuple[str, int]] = field(default_factory=list)
    #: ``(original variable node, slot name, slot node)`` for legacy optimizers.
    slot_refs: list[tuple[int, str, int]] = field(default_factory=list)
    #: The table key of the value, for variable nodes.
    key: str | None = None

    @property
    def variable(self):
        return keras_view.variable_of(self.obj)


@dataclass
class ObjectGraph:
    """The nodes reached from a root, in node-id order (breadth first, then slot variables)."""

    nodes: list[GraphNode]

    def variables(self) -> list[tuple[str, Any]]:
        """``(key, variable)`` in node order: the order TensorFlow writes the data."""
        return [(n.key, n.variable) for n in self.nodes if n.key is not None]

    def proto(self):
        """The ``TrackableObjectGraph`` message (``has_checkpoint_values`` set on every node)."""
        from . import protos

        graph = protos.TrackableObjectGraph()
        for node in self.nodes:
            message = graph.nodes.add()
            for name, node_id in node.children:
                ref = message.children.add()
                ref.node_id = node_id
                ref.local_name = name
            if node.key is not None:
                attribute = message.attributes.add()
                attribute.name = VARIABLE_VALUE_KEY
                attribute.full_name = _full_name(node.variable)
                attribute.checkpoint_key = node.key
            for original, slot_name, slot in node.slot_refs:
                ref = message.slot_variables.add()
                ref.original_variable_node_id = original
                ref.slot_name = slot_name
                ref.slot_variable_node_id = slot
        set_has_checkpoint_values(graph)
        return graph


def _full_name(variable) -> str:
    name = getattr(variable, "name", "") or ""
    return name[:-2] if name.endswith(":0") else name


def _bfs(root, attached: Iterable[tuple[str, Any]]) -> tuple[list[GraphNode], dict[int, int]]:
    nodes = [GraphNode(root, "")]
    ids = {id(root): 0}
    queue = deque([0])
    while queue:
        node_id = queue.popleft()
        node = nodes[node_id]
        edges = keras_view.children(node.obj)
        if node_id == 0:
            present = {name for name, _ in edges}
            edges = edges + [(n, v) for n, v in attached if n not in present]
        for name, child in edges:
            child_id = ids.get(id(child))
            if child_id is None:
                child_id = ids[id(child)] = len(nodes)
                nodes.append(GraphNode(child, join_path(node.path, name)))
                queue.append(child_id)
            node.children.append((name, child_id))
    return nodes, ids


def _add_slot_nodes(nodes: list[GraphNode], ids: dict[int, int]) -> None:
    """Append legacy-optimizer slot variables as extra nodes, in TensorFlow's order."""
    variable_nodes = [i for i, n in enumerate(nodes) if n.variable is not None]
    for opt_id in range(len(nodes)):
        optimizer = nodes[opt_id].obj
        for slot_name in keras_view.slot_names(optimizer):
            for var_id in variable_nodes:
                slot = keras_view.get_slot(optimizer, nodes[var_id].obj, slot_name)
                if slot is None:
                    continue
                if id(slot) in ids:
                    raise NotImplementedError(
                        f"The slot variable {slot.name!r} is also a dependency of another object "
                        f"(at {nodes[ids[id(slot)]].path!r}); TensorFlow checkpoints cannot save "
                        "a slot variable that is reused that way.")
                slot_id = len(nodes)
                path = slot_variable_prefix(nodes[var_id].path, nodes[opt_id].path, slot_name)
                nodes.append(GraphNode(slot, path, key=checkpoint_key(path, VARIABLE_VALUE_KEY)))
                nodes[opt_id].slot_refs.append((var_id, slot_name, slot_id))


def build_graph(root, attached: Iterable[tuple[str, Any]] = ()) -> ObjectGraph:
    """The object graph reached from ``root``.

    ``attached`` are extra ``(name, object)`` children of the root (TensorFlow's attached
    dependencies: ``Checkpoint(root=obj, **extra)`` and the ``root`` self-edge of
    ``save_weights``), listed after the root's own children unless it has one of that name.
    """
    nodes, ids = _bfs(root, list(attached))
    for node in nodes:
        if node.variable is not None:
            node.key = checkpoint_key(node.path, VARIABLE_VALUE_KEY)
    _add_slot_nodes(nodes, ids)
    return ObjectGraph(nodes)


def set_has_checkpoint_values(graph) -> None:
    """Fill ``has_checkpoint_values`` (TensorFlow's ``add_checkpoint_values_check``)."""
    parents: dict[int, set[int]] = {}
    with_values = set()
    for node_id, node in enumerate(graph.nodes):
        if node.attributes or node.slot_variables or node.HasField("registered_saver"):
            with_values.add(node_id)
        for child in node.children:
            parents.setdefault(child.node_id, set()).add(node_id)
    to_visit = set(with_values)
    while to_visit:
        current = parents.pop(to_visit.pop(), None)
        if current is None:
            continue
        with_values.update(current)
        to_visit.update(p for p in current if p in parents)
    for node_id, node in enumerate(graph.nodes):
        node.has_checkpoint_values.value = node_id in with_values


def node_has_values(graph, node_id: int) -> bool:
    """``has_checkpoint_values`` of a node, computed when the field is absent (old files)."""
    node = graph.nodes[node_id]
    if node.HasField("has_checkpoint_values"):
        return node.has_checkpoint_values.value
    seen = {node_id}
    stack = [node_id]
    while stack:
        current = graph.nodes[stack.pop()]
        if current.attributes or current.slot_variables or current.HasField("registered_saver"):
            return True
        for child in current.children:
            if child.node_id not in seen:
                seen.add(child.node_id)
                stack.append(child.node_id)
    return False


def node_names(graph) -> dict[int, str]:
    """Readable node names as TensorFlow prints them: ``(root).layer_with_weights-0.kernel``.

    Slot variables read ``<optimizer>'s state 'm' for <variable>``.
    """
    names = {0: ("(root)",)}
    queue = deque([0])
    while queue:
        node_id = queue.popleft()
        for child in graph.nodes[node_id].children:
            if child.node_id not in names and 0 <= child.node_id < len(graph.nodes):
                names[child.node_id] = names[node_id] + (child.local_name,)
                queue.append(child.node_id)
    out = {i: ".".join(parts) for i, parts in names.items()}
    for node_id, node in enumerate(graph.nodes):
        for ref in node.slot_variables:
            out[ref.slot_variable_node_id] = (
                f"{out.get(node_id, node_id)}'s state '{ref.slot_name}' for "
                f"{out.get(ref.original_variable_node_id, ref.original_variable_node_id)}")
    return out
