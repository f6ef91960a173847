"""Which path of the ``vars`` tree each object of a model owns, as tf-keras and Keras 3 see it.

Both walk the object graph from the model, depth first: every Keras object (layer, optimizer)
gets a path, and what its ``save_own_variables`` stores goes to ``<path>/vars/0``, ``/1``, ...
Children are found through attributes (here: the engine's ``tracked_children()`` without
bookkeeping names, plus a model's ``layers``):

- an attribute holding an object gives ``<path>/<attribute>``;
- a list/tuple/dict attribute gives ``<path>/<attribute>/<snake_class_name>[_<i>]``, numbered
  per class inside the container (``dense``, ``dense_1``, ...); layer names are never used.

The styles differ in order and details:

- ``"tf_keras"`` (2.15 – 2.21): attributes by name, **descending**; an object already visited is
  skipped inside a container without using up a number; nested containers are not entered.
- ``"keras3"``: Functional/Sequential models yield ``layers`` first; then attributes ascending
  with ``_private`` names last; a visited object still uses up its number; nested containers
  become ``container``, ``container_1``, ...

>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dropout(0.5), layers.Dense(1)])
>>> [(e.path, len(e.variables)) for e in walk(model, "tf_keras")]
[('', 0), ('layers/dense', 2), ('layers/dropout', 0), ('layers/dense_1', 2)]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from numkeras import backend
from numkeras.engine.graph_config import KERAS3, STYLES, TF_KERAS

LEGACY_LAYERS = "_layer_checkpoint_dependencies"


@dataclass
class Entry:
    """One Keras object of the walk: its path (``''`` = root) and its own ``vars``.

    ``keys`` and ``variables`` are what the object's ``save_own_variables`` put in its store,
    in order: variables (or arrays, from a custom hook) under keys ``"0"``, ``"1"``, ...
    ``direct`` says the object uses the engine's default hooks, so ``variables`` are its
    own variables and a loader may fill them straight from the file.
    """

    path: str
    obj: object
    variables: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    direct: bool = True

    @property
    def group(self) -> str:
        """The HDF5 group holding the variables: ``vars`` or ``<path>/vars``."""
        return f"{self.path}/vars" if self.path else "vars"


_ENGINE: tuple = ()


def _engine() -> tuple:
    """``(Layer, Trackable, Variable, Model)``, imported once (the walk meets thousands of
    objects; an import statement per object would cost more than the walk)."""
    global _ENGINE
    if not _ENGINE:
        from numkeras.engine.base_layer import Layer
        from numkeras.engine.tracking import Trackable
        from numkeras.engine.training import Model
        from numkeras.engine.variable import Variable

        _ENGINE = (Layer, Trackable, Variable, Model)
    return _ENGINE


def is_saveable(obj) -> bool:
    """Whether ``obj`` owns a ``vars`` group: a Layer, or a tracked object with own variables."""
    layer, trackable, variable, _ = _ENGINE or _engine()
    if isinstance(obj, layer):
        return True
    return (isinstance(obj, trackable) and not isinstance(obj, variable)
            and hasattr(obj, "save_own_variables"))


def own_store(obj) -> dict:
    """What ``obj.save_own_variables(store)`` stores: ``{key: variable or array}``, in order.

    Layers store their own variables (trainable first, creation order), optimizers their
    ``variables``; a custom layer may store anything (Keras 3's hook).
    """
    store: dict = {}
    obj.save_own_variables(store)
    return store


def _entry(obj, path: str) -> Entry:
    from numkeras.engine.saving_protocol import default_hooks

    store = own_store(obj)
    return Entry(path, obj, list(store.values()), [str(k) for k in store],
                 direct=default_hooks(obj))


def _is_model(obj) -> bool:
    return isinstance(obj, (_ENGINE or _engine())[3])


@functools.lru_cache(maxsize=1024)
def _snake(class_name: str) -> str:
    return backend.to_snake_case(class_name)


def _children(obj, style: str) -> list[tuple[str, object]]:
    items = [(name, value) for name, value in obj.tracked_children(bookkeeping=False)
             if not name.startswith("__") and name != "layers"]
    is_model = _is_model(obj)
    if is_model:
        items.append(("layers", obj.layers))
    if style == TF_KERAS:
        return sorted(items, key=lambda item: item[0], reverse=True)
    items.sort(key=lambda item: "~" + item[0] if item[0].startswith("_") else item[0])
    if is_model and obj.is_graph_network:
        items.sort(key=lambda item: item[0] != "layers")
    return items


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


class _Walker:
    def __init__(self, style: str):
        if style not in STYLES:
            raise ValueError(f"Unknown style {style!r}; expected one of {STYLES}.")
        self.style = style
        self.entries: list[Entry] = []
        self.visited: set[int] = set()
        self.visited_containers: set[int] = set()

    def visit(self, obj, path: str) -> None:
        if id(obj) in self.visited:
            return
        self.visited.add(id(obj))
        self.entries.append(_entry(obj, path))
        for name, value in _children(obj, self.style):
            child = f"{path}/{name}" if path else name
            if is_saveable(value):
                self.visit(value, child)
            elif isinstance(value, (list, tuple, dict)):
                self.visit_container(value, child)

    def visit_container(self, container, path: str) -> None:
        if id(container) in self.visited_containers:
            return
        self.visited_containers.add(id(container))
        items = list(container.values()) if isinstance(container, dict) else list(container)
        used: dict[str, int] = {}
        for item in items:
            if is_saveable(item):
                if self.style == TF_KERAS and id(item) in self.visited:
                    continue
                name = _unique(_snake(type(item).__name__), used)
                self.visit(item, f"{path}/{name}")
            elif self.style == KERAS3 and isinstance(item, (list, tuple, dict)):
                self.visit_container(item, f"{path}/{_unique('container', used)}")


def walk(model, style: str = KERAS3) -> list[Entry]:
    """Every Keras object reachable from ``model`` with its path, in the style's order."""
    walker = _Walker(style)
    walker.visit(model, "")
    return walker.entries


def legacy_path(path: str) -> str:
    """The tf-keras 2.12 – 2.14 spelling of ``path``: ``layers`` components renamed.

    >>> legacy_path("layers/sequential/layers/dense")
    '_layer_checkpoint_dependencies/sequential/_layer_checkpoint_dependencies/dense'
    """
    return "/".join(LEGACY_LAYERS if part == "layers" else part for part in path.split("/"))


def union_entries(model) -> list[Entry]:
    """Keras 3's entries, then tf-keras's entries at paths Keras 3 does not use.

    Writing both makes one file that both loaders read even where their walks disagree
    (subclassed models, shared objects). A path never maps to two different objects.
    """
    entries = walk(model, KERAS3)
    used = {e.path for e in entries}
    for entry in walk(model, TF_KERAS):
        if entry.path not in used:
            used.add(entry.path)
            entries.append(entry)
    return entries
