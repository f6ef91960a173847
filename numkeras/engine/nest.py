"""Flatten and rebuild nested lists/tuples/dicts of tensors, without recursion.

>>> flatten([1, (2, 3), {"b": 5, "a": 4}])
[1, 2, 3, 4, 5]
>>> map_structure(lambda x: x * 10, [1, (2, 3), {"a": 4}])
[10, (20, 30), {'a': 40}]
>>> pack_sequence_as({"y": 0, "x": [0, 0]}, [1, 2, 3])
{'y': 3, 'x': [1, 2]}
"""

from __future__ import annotations

from collections.abc import Callable


def _children(x):
    if isinstance(x, dict):
        return [x[k] for k in sorted(x, key=str)]
    return list(x)


def is_nested(x) -> bool:
    return isinstance(x, (list, tuple, dict))


def flatten(structure) -> list:
    """Leaves in depth-first order; dict entries are visited in sorted key order (as tf.nest)."""
    out = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if is_nested(item):
            stack.extend(reversed(_children(item)))
        else:
            out.append(item)
    return out


def pack_sequence_as(structure, flat: list):
    """Rebuild ``structure`` with the leaves of ``flat`` (the inverse of :func:`flatten`)."""
    return _pack(structure, iter(flat))


def _pack(s, it):
    # A module-level function, not a closure: a recursive closure is a reference cycle that
    # would keep every layer call's inputs alive until the garbage collector runs. Nesting in
    # Keras structures is shallow (a few levels), so the recursion is bounded.
    if isinstance(s, dict):
        values = {k: _pack(s[k], it) for k in sorted(s, key=str)}
        return {k: values[k] for k in s}
    if isinstance(s, (list, tuple)):
        items = [_pack(v, it) for v in s]
        return type(s)(items) if not hasattr(s, "_fields") else type(s)(*items)
    return next(it)


def map_structure(fn: Callable, structure):
    """Apply ``fn`` to every leaf and keep the structure."""
    return pack_sequence_as(structure, [fn(x) for x in flatten(structure)])
