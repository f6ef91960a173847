"""Attribute tracking: which objects an object owns, in the order they were assigned.

Checkpoint formats name an object's children by the attributes that hold them (as
tf.keras's AutoTrackable does). :class:`Trackable` records, in assignment order, every
attribute whose value is a trackable object or a list/tuple/dict (which may hold some):

>>> class Box(Trackable):
...     pass
>>> b = Box()
>>> b.first = Box(); b.items = [Box(), 3]; b.note = "not tracked"
>>> [name for name, _ in b._tracked_attributes()]
['first', 'items']
>>> [name for name, _ in flatten_container(b.items)]
['0']
"""

from __future__ import annotations

from collections.abc import Iterator


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
            self._run_deferred_restorations()

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_tracked", {}).pop(name, None)
        object.__delattr__(self, name)

    def _track(self, name: str, value) -> None:
        """Track ``value`` under ``name`` without making it an attribute (``add_weight`` does)."""
        tracked = self.__dict__.setdefault("_tracked", {})
        tracked.setdefault(name, value)
        if self.__dict__.get("_deferred_restorations"):
            self._run_deferred_restorations()

    def _add_deferred_restoration(self, callback) -> None:
        """Register ``callback(self) -> bool``, run whenever this object gains state.

        Checkpoint loaders use it to restore values into objects (variables, sub-layers,
        slots) that do not exist yet: the callback runs after every attribute assignment and
        every :meth:`_track`, and after :meth:`_run_deferred_restorations` (which objects that
        create state without assigning attributes, such as an optimizer's ``build``, may
        call), until it returns ``True``. The engine knows nothing about what it restores.
        """
        pending = self.__dict__.get("_deferred_restorations")
        if pending is None:
            object.__setattr__(self, "_deferred_restorations", pending := [])
        pending.append(callback)

    def _run_deferred_restorations(self) -> None:
        """Run the pending callbacks of :meth:`_add_deferred_restoration`; keep unfinished ones."""
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

    def _tracked_attributes(self) -> list[tuple[str, object]]:
        """``(name, value)`` pairs in first-assignment order; values are trackables or containers."""
        return list(self.__dict__.get("_tracked", {}).items())


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
    for _, value in obj._tracked_attributes():
        for _, item in flatten_container(value):
            if isinstance(item, kind) and id(item) not in seen:
                seen.add(id(item))
                out.append(item)
    return out
