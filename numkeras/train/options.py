"""``CheckpointOptions`` and the sharding policies (``tf.train.CheckpointOptions``).

>>> options = CheckpointOptions(experimental_enable_async_checkpoint=True)
>>> options.enable_async, options.experimental_enable_async_checkpoint
(True, True)
>>> CheckpointOptions(experimental_sharding_callback=MaxShardSizePolicy(1 << 20)).experimental_sharding_callback
MaxShardSizePolicy(max_shard_size=1048576)
"""

from __future__ import annotations

import copy
import inspect

__all__ = ["CheckpointOptions", "MaxShardSizePolicy", "ShardByTaskPolicy", "ShardingCallback"]


class ShardingCallback:
    """Base of the sharding policies (``tf.train.experimental.ShardingCallback``).

    numkeras never splits a tensor; a policy only chooses how many data files to write:
    ``num_shards`` if it has that attribute, enough files for ``max_shard_size`` bytes each
    if it has that one, else one file.
    """

    @property
    def description(self) -> str:
        return type(self).__name__


class ShardByTaskPolicy(ShardingCallback):
    """One data file per host task: always one file here (one process, no devices)."""

    @property
    def description(self) -> str:
        return "Split tensors into shards based on their device spec task."


class MaxShardSizePolicy(ShardingCallback):
    """Data files of at most ``max_shard_size`` bytes where possible (tensors are not split,
    so a single tensor larger than that gets a file of its own)."""

    def __init__(self, max_shard_size: int) -> None:
        if int(max_shard_size) <= 0:
            raise ValueError(f"max_shard_size must be positive, got {max_shard_size!r}")
        self.max_shard_size = int(max_shard_size)

    @property
    def description(self) -> str:
        return f"Split tensors into shards with a max shard size of {self.max_shard_size} bytes."

    def __repr__(self) -> str:
        return f"MaxShardSizePolicy(max_shard_size={self.max_shard_size})"


class CheckpointOptions:
    """Options for saving and restoring checkpoints, as ``tf.train.CheckpointOptions``.

    - ``enable_async`` / ``experimental_enable_async_checkpoint`` (the same switch): ``save``
      and ``write`` copy the values to host memory and return at once; a background thread
      writes the files (and runs the callbacks); the next save, restore, read or ``sync()``
      waits for it and re-raises its error, if any.
    - ``experimental_write_callbacks``: callables taking nothing or the save path, run after
      each write.
    - ``experimental_sharding_callback``: a :class:`ShardingCallback`; see there.
    - ``experimental_skip_slot_variables``: restore ignores legacy optimizer slot variables.
    - ``experimental_io_device``: accepted and ignored (there are no devices).
    """

    __slots__ = ("experimental_io_device", "enable_async", "experimental_enable_async_checkpoint",
                 "experimental_write_callbacks", "experimental_sharding_callback",
                 "experimental_skip_slot_variables")

    def __init__(self, experimental_io_device=None, experimental_enable_async_checkpoint=False,
                 experimental_write_callbacks=None, enable_async=False,
                 experimental_skip_slot_variables=False, experimental_sharding_callback=None):
        self.experimental_io_device = experimental_io_device
        self.enable_async = bool(experimental_enable_async_checkpoint or enable_async)
        self.experimental_enable_async_checkpoint = self.enable_async
        for callback in experimental_write_callbacks or ():
            if len(inspect.signature(callback).parameters) > 1:
                raise ValueError("Callback functions for checkpoint are required to have 0 or "
                                 f"1 parameters, but this has more: {callback}")
        self.experimental_write_callbacks = experimental_write_callbacks
        if experimental_sharding_callback is not None and not isinstance(
                experimental_sharding_callback, ShardingCallback):
            raise ValueError("The experimental_sharding_callback checkpoint option must be of "
                             "type ShardingCallback. The option provided was of type "
                             f"{type(experimental_sharding_callback)}.")
        self.experimental_sharding_callback = experimental_sharding_callback
        self.experimental_skip_slot_variables = bool(experimental_skip_slot_variables)

    def __copy__(self) -> CheckpointOptions:
        result = object.__new__(CheckpointOptions)
        for name in self.__slots__:
            setattr(result, name, getattr(self, name))
        result.experimental_write_callbacks = copy.copy(self.experimental_write_callbacks)
        return result

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"CheckpointOptions({fields})"
