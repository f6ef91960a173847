"""Write a TF2 checkpoint of an object tree: values in object-graph order, the graph last.

:func:`snapshot` gathers ``(key, value)`` pairs (values copied when asked, so a background
writer sees the values of the moment); :func:`write_snapshot` writes them with the bundle
writer (data files first, then the ``.index``, each under a temporary name then renamed),
sharded when asked. :func:`write_checkpoint` does both.

>>> import os, tempfile, numpy as np
>>> from numkeras.engine.tracking import Trackable
>>> from numkeras.engine.variable import Variable
>>> class Box(Trackable):
...     pass
>>> box = Box(); box.w = Variable(np.ones(2), name="w")
>>> prefix = write_checkpoint(os.path.join(tempfile.mkdtemp(), "ckpt"), box)
>>> sorted(os.listdir(os.path.dirname(prefix)))
['ckpt.data-00000-of-00001', 'ckpt.index']
>>> [key for key, _ in snapshot(box).tensors]
['w/.ATTRIBUTES/VARIABLE_VALUE', '_CHECKPOINTABLE_OBJECT_GRAPH']
"""

from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass
from typing import Any

from .object_graph import OBJECT_GRAPH_KEY, build_graph

__all__ = ["Snapshot", "num_shards_for", "run_write_callbacks", "snapshot", "write_checkpoint",
           "write_snapshot"]


@dataclass
class Snapshot:
    """The tensors of a checkpoint, in the order they are written (object graph last)."""

    tensors: list[tuple[str, Any]]

    @property
    def nbytes(self) -> int:
        return sum(getattr(v, "nbytes", 0) for _, v in self.tensors)


def snapshot(root, attached=(), copy: bool = False) -> Snapshot:
    """Gather the values reachable from ``root``; ``copy=True`` copies them (for async saves)."""
    graph = build_graph(root, attached)
    tensors = [(key, var.numpy() if copy else var.value) for key, var in graph.variables()]
    tensors.append((OBJECT_GRAPH_KEY, graph.proto().SerializeToString()))
    return Snapshot(tensors)


def num_shards_for(options, nbytes: int, count: int) -> int:
    """Number of data files: 1, or what ``options.experimental_sharding_callback`` asks.

    A policy with ``max_shard_size`` (``MaxShardSizePolicy``) gets enough shards for that size
    (tensors are never split, so one large tensor may exceed it); one with ``num_shards`` gets
    that many; anything else (``ShardByTaskPolicy``: one host, one task) gets one.

    >>> class Policy:
    ...     max_shard_size = 100
    >>> class Options:
    ...     experimental_sharding_callback = Policy()
    >>> num_shards_for(None, 1000, 5), num_shards_for(Options(), 1000, 5)
    (1, 5)
    """
    policy = getattr(options, "experimental_sharding_callback", None)
    if policy is None:
        return 1
    wanted = getattr(policy, "num_shards", None)
    size = getattr(policy, "max_shard_size", None)
    if wanted is None and size:
        wanted = math.ceil(nbytes / int(size))
    return max(1, min(int(wanted or 1), max(count, 1)))


def write_snapshot(prefix: str, snap: Snapshot, num_shards: int = 1) -> str:
    """Write ``snap`` as the bundle ``prefix``; returns ``prefix``."""
    from .bundle import write_bundle

    write_bundle(prefix, snap.tensors, num_shards=num_shards)
    return prefix


def run_write_callbacks(callbacks, save_path: str) -> None:
    """Run ``experimental_write_callbacks``: each takes no argument or the save path."""
    for callback in callbacks or ():
        count = len(inspect.signature(callback).parameters)
        if count == 0:
            callback()
        elif count == 1:
            callback(save_path)
        else:
            raise AssertionError("Callback functions for checkpoint are required to have 0 or 1 "
                                 f"parameters, but this has {count} parameters: {callback}")


def write_checkpoint(prefix, root, attached=(), options=None, num_shards: int | None = None
                     ) -> str:
    """Write the checkpoint of ``root`` at ``prefix`` (no ``checkpoint`` state file)."""
    prefix = os.fspath(prefix)
    snap = snapshot(root, attached)
    if num_shards is None:
        num_shards = num_shards_for(options, snap.nbytes, len(snap.tensors))
    write_snapshot(prefix, snap, num_shards)
    run_write_callbacks(getattr(options, "experimental_write_callbacks", None), prefix)
    return prefix
