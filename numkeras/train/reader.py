"""Reading checkpoints by key: ``load_checkpoint``, ``list_variables``, ``latest_checkpoint``.

>>> import os, tempfile, numpy as np
>>> import numkeras
>>> from numkeras.train import Checkpoint
>>> prefix = Checkpoint(v=numkeras.Variable(np.arange(3.0), name="v")).write(
...     os.path.join(tempfile.mkdtemp(), "ckpt"))
>>> list_variables(prefix)
[('_CHECKPOINTABLE_OBJECT_GRAPH', []), ('v/.ATTRIBUTES/VARIABLE_VALUE', [3])]
>>> load_checkpoint(prefix).get_tensor("v/.ATTRIBUTES/VARIABLE_VALUE")
array([0., 1., 2.])
"""

from __future__ import annotations

import os

import numpy as np

from numkeras.saving.formats import INDEX_SUFFIX

__all__ = ["CheckpointReader", "latest_checkpoint", "list_variables", "load_checkpoint"]


def latest_checkpoint(checkpoint_dir, latest_filename: str | None = None) -> str | None:
    """The prefix named by ``<checkpoint_dir>/checkpoint`` if its ``.index`` exists, else None."""
    from numkeras.saving.tf_checkpoint.state import latest_checkpoint as latest

    return latest(os.fspath(checkpoint_dir), latest_filename or "checkpoint")


class CheckpointReader:
    """Tensors of a checkpoint by key (``tf.train.load_checkpoint``'s reader)."""

    def __init__(self, prefix: str) -> None:
        from numkeras.saving.tf_checkpoint.bundle import BundleReader

        self._prefix = prefix
        self._reader = BundleReader(prefix)

    def has_tensor(self, name: str) -> bool:
        return name in self._reader

    def get_tensor(self, name: str):
        """The value of ``name``: an array, or ``bytes`` for a scalar string."""
        if name not in self._reader:
            raise KeyError(f"Key {name} not found in checkpoint {self._prefix}")
        value = self._reader.read(name)
        if value.dtype == object and value.ndim == 0:
            return value[()]
        return value

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {k: list(self._reader.get_entry(k).shape) for k in self._reader.keys()}

    def get_variable_to_dtype_map(self) -> dict[str, np.dtype]:
        """Key -> NumPy dtype (``object`` for strings; ml_dtypes types for bfloat16 etc.)."""
        return {k: self._reader.get_entry(k).numpy_dtype for k in self._reader.keys()}

    def debug_string(self) -> bytes:
        lines = [f"{k} ({self._reader.get_entry(k).numpy_dtype}) "
                 f"{list(self._reader.get_entry(k).shape)}" for k in self._reader.keys()]
        return ("\n".join(lines) + "\n").encode()


def _checkpoint_filename(ckpt_dir_or_file) -> str:
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given "
                             f"directory {path}")
        return latest
    if not os.path.isfile(path + INDEX_SUFFIX):
        raise FileNotFoundError(f"Unsuccessful TensorSliceReader constructor: Failed to find "
                                f"any matching files for {path} (no {path + '.index'!r}).")
    return path


def load_checkpoint(ckpt_dir_or_file) -> CheckpointReader:
    """A reader for a checkpoint prefix, or for the latest checkpoint of a folder."""
    return CheckpointReader(_checkpoint_filename(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file) -> list[tuple[str, list[int]]]:
    """``(key, shape)`` of every tensor, sorted by key."""
    shapes = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]
