"""``numkeras.train``: TF2 checkpoints without TensorFlow, mirroring ``tf.train``.

``Checkpoint``, ``CheckpointManager``, ``CheckpointOptions``, ``latest_checkpoint``,
``list_variables``, ``load_checkpoint`` and ``experimental`` (the sharding policies).
Files are compatible with TensorFlow 2.x both ways. Nothing heavy is imported until used.

>>> from numkeras import train
>>> train.CheckpointOptions().enable_async
False
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

_ATTRS = {
    "Checkpoint": "numkeras.train.checkpoint",
    "CheckpointManager": "numkeras.train.manager",
    "CheckpointOptions": "numkeras.train.options",
    "CheckpointReader": "numkeras.train.reader",
    "latest_checkpoint": "numkeras.train.reader",
    "list_variables": "numkeras.train.reader",
    "load_checkpoint": "numkeras.train.reader",
}


def __getattr__(name: str):
    if name in _ATTRS:
        return getattr(importlib.import_module(_ATTRS[name]), name)
    if name == "experimental":
        from numkeras.train import options

        return SimpleNamespace(MaxShardSizePolicy=options.MaxShardSizePolicy,
                               ShardByTaskPolicy=options.ShardByTaskPolicy,
                               ShardingCallback=options.ShardingCallback)
    raise AttributeError(f"module 'numkeras.train' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ATTRS) | {"experimental"})


__all__ = sorted(set(_ATTRS) | {"experimental"})
