"""Attribute tracking: which objects an object owns, in the order they were assigned.

Checkpoint formats name an object's children by the attributes that hold them (as
tf.keras's AutoTrackable does). :class:`Trackable` records, in assignment order, every
attribute whose value is a trackable object or a list/tuple/dict (which may hold some).

The methods without a leading underscore below (:meth:`Trackable.tracked_children`,
:meth:`~Trackable.tracked_child`, :meth:`~Trackable.add_deferred_restoration`,
:meth:`~Trackable.run_deferred_restorations`, :meth:`~Trackable.create_lazy_state`) are the
engine's saving protocol: the formats in ``numkeras.saving`` ask objects only through them
(and through the protocol methods of ``Layer``, ``Model`` and the optimizers).

>>> class Box(Trackable):
...     pass
>>> b = Box()
>>> b.first = Box(); b.items = [Box(), 3]; b.note = "not tracked"
>>> [name for name, _ in b.tracked_children()]
['first', 'items']
>>> b.tracked_child("first") is b.first, b.tracked_child("note")
(True, None)
>>> [name for name, _ in flatten_container(b.items)]
['0']
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

#: Names of the engine's bookkeeping attributes (tf-keras's spellings and numkeras's): the
#: weights walkers of tf-keras and Keras 3 never follow an attribute of these names.
BOOKKEEPING_NAMES = frozenset({
    "_trainable_weights", "_non_trainable_weights", "_inbound_nodes", "_outbound_nodes",
    "_input_layers", "_output_layers", "_layers", "_self_tracked_trackables",
    "_layer_checkpoint_dependencies", "weights", "variables", "trainable_weights",
    "non_trainable_weights", "trainable_variables", "non_trainable_variables", "submodules",
    "inbound_nodes", "outbound_nodes", "_graph_layers", "_graph_nodes", "_stack",
    "_stack_outputs", "_input_layer",
})


class Trackable:
    """Base of every object that owns state: layers, variables, optimizers, checkpoints."""

    def __init__(self) -> None:
        object.__setattr__(self, "_tracked", {})

    def __setattr__(self, name: str, value) -> None:
        tracked = self.__dict__.get("_tracked")
        if tracked is None:
            object.__setattr__(self, "_tracked", tracked := {})
        if _is_trackable_value(value):
            tracked.setdefault(name, None)
            tracked[name] = value
        else:
            tracked.pop(name, None)
        object.__setattr__(self, name, value)
        if self.__dict__.get("_deferred_restorations"):
            self.run_deferred_restorations()

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_tracked", {}).pop(name, None)
        object.__delattr__(self, name)

    def _track(self, name: str, value) -> None:
        """Track ``value`` under ``name`` without making it an attribute (``add_weight`` does)."""
        tracked = self.__dict__.setdefault("_tracked", {})
        tracked.setdefault(name, value)
        if self.__dict__.get("_deferred_restorations"):
            self.run_deferred_restorations()

    # -- the saving protocol -------------------------------------------------------------------
    def tracked_children(self, bookkeeping: bool = True) -> list[tuple[str, object]]:
        """``(name, value)`` pairs in first-assignment order; values are trackables or containers.

        These are the children tf.keras's checkpoints name. The engine tracks none of its own
        bookkeeping (weight lists, nodes, a model's layer list); with ``bookkeeping=False``
        attributes a subclass assigned under one of those reserved names
        (:data:`BOOKKEEPING_NAMES`, as tf-keras's weights walker skips them) are left out too.
        """
        items = list(self.__dict__.get("_tracked", {}).items())
        if bookkeeping:
            return items
        return [(name, value) for name, value in items if name not in BOOKKEEPING_NAMES]

    _tracked_attributes = tracked_children  # the older spelling, kept for callers and tests

    def tracked_child(self, name: str):
        """The value tracked under ``name`` (a trackable or container), or ``None``."""
        return self.__dict__.get("_tracked", {}).get(name)

    def create_lazy_state(self) -> None:
        """Create state that exists as soon as the object is first used (default: none).

        A checkpoint restore calls it before matching the object's children, so that state
        created on first use (a legacy optimizer's ``iter`` and hyperparameters) is matched
        like state that already exists.
        """

    def add_deferred_restoration(self, callback) -> None:
        """Register ``callback(self) -> bool``, run whenever this object gains state.

        Checkpoint loaders use it to restore values into objects (variables, sub-layers,
        slots) that do not exist yet: the callback runs after every attribute assignment and
        every :meth:`_track`, and after :meth:`run_deferred_restorations` (which objects that
        create state without assigning attributes call: the optimizers do at the end of
        ``build`` and of slot creation), until it returns ``True``. The engine knows nothing
        about what it restores.
        """
        pending = self.__dict__.get("_deferred_restorations")
        if pending is None:
            object.__setattr__(self, "_deferred_restorations", pending := [])
        pending.append(callback)

    def run_deferred_restorations(self) -> None:
        """Run the pending callbacks of :meth:`add_deferred_restoration`; keep unfinished ones."""
        pending = self.__dict__.get("_deferred_restorations")
        if not pending:
            return
        object.__setattr__(self, "_deferred_restorations", [])
        queue = list(pending)
        unfinished = []
        try:
            while queue:
                callback = queue.pop(0)
                if not callback(self):
                    unfinished.append(callback)
        finally:  # a callback that raised is dropped; the rest are kept, before new ones
            self.__dict__["_deferred_restorations"][:0] = unfinished + queue

    _add_deferred_restoration = add_deferred_restoration
    _run_deferred_restorations = run_deferred_restorations


def restores_after(method):
    """Decorate a state-creating method so pending deferred restorations run after it.

    Objects that create state without assigning attributes (an optimizer's ``build``
    appending slot variables to its lists) use it so that a checkpoint value waiting for
    that state is restored as soon as the state exists.
    """
    if getattr(method, "_restores_after", False):
        return method

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        if self.__dict__.get("_deferred_restorations"):
            self.run_deferred_restorations()
        return result

    wrapper._restores_after = True
    return wrapper


def _is_trackable_value(value) -> bool:
    return isinstance(value, (Trackable, list, tuple, dict))


def flatten_container(value, prefix: str = "") -> Iterator[tuple[str, Trackable]]:
    """Yield ``(path, trackable)`` for trackables inside nested lists/tuples/dicts.

    List items are named by index, dict items by key, nested containers joined by ``/``.
    """
    stack = [(prefix, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Trackable):
            yield path, item
        elif isinstance(item, dict):
            entries = [(f"{path}/{k}" if path else str(k), v) for k, v in item.items()]
            stack.extend(reversed(entries))
        elif isinstance(item, (list, tuple)):
            entries = [(f"{path}/{i}" if path else str(i), v) for i, v in enumerate(item)]
            stack.extend(reversed(entries))


def tracked_objects(obj: Trackable, kind: type = Trackable) -> list:
    """Trackables of type ``kind`` that ``obj`` holds directly or in containers, deduplicated."""
    seen: set[int] = set()
    out = []
    for _, value in obj.tracked_children():
        for _, item in flatten_container(value):
            if isinstance(item, kind) and id(item) not in seen:
                seen.add(id(item))
                out.append(item)
    return out
