"""``Checkpoint``: save and restore groups of trackable objects (``tf.train.Checkpoint``).

The Checkpoint is the root of the object graph and its keyword arguments are its children
(in sorted order), plus ``save_counter`` once ``save`` ran. ``Checkpoint(root=obj, **kw)``
makes ``obj`` the root instead (``kw`` and a ``root`` self-edge are attached to it), which is
the layout ``Model.save_weights`` writes.

>>> import os, tempfile, numpy as np
>>> import numkeras
>>> step = numkeras.Variable(np.int64(5), name="step")
>>> ckpt = Checkpoint(step=step)
>>> path = ckpt.save(os.path.join(tempfile.mkdtemp(), "ckpt"))
>>> os.path.basename(path), int(ckpt.save_counter.numpy())
('ckpt-1', 1)
>>> step.assign(np.int64(0))
>>> _ = Checkpoint(step=step).restore(path).assert_consumed()
>>> int(step.numpy())
5
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from numkeras.engine.tracking import Trackable
from numkeras.engine.variable import Variable
from numkeras.train import _writer

__all__ = ["Checkpoint"]


def _is_trackable(value) -> bool:
    from numkeras.saving.tf_checkpoint import keras_view

    return keras_view.is_node(value)


class Checkpoint(Trackable):
    """Groups trackable objects, saving and restoring them as one TF2 checkpoint."""

    def __init__(self, root=None, **kwargs) -> None:
        super().__init__()
        set_ = object.__setattr__
        set_(self, "_root", root)
        set_(self, "_attached", [])
        set_(self, "_save_counter", None)
        if root is not None:
            if not _is_trackable(root):
                raise ValueError("`Checkpoint` was expecting root to be a trackable object (an "
                                 f"object derived from `Trackable`), got {root}.")
            kwargs["root"] = root
        for name, value in sorted(kwargs.items()):
            if not _is_trackable(value):
                raise ValueError(f"`Checkpoint` was expecting {name} to be a trackable object "
                                 f"(an object derived from `Trackable`), got {value}. If you "
                                 "believe this object should be trackable (i.e. it is part "
                                 "of the TensorFlow Python API and manages state), please "
                                 "open an issue.")
            if root is None:
                setattr(self, name, value)
                continue
            self._attach(name, value)

    def _attach(self, name: str, value) -> None:
        from numkeras.saving.tf_checkpoint import keras_view

        existing = keras_view.lookup(self._root, name)
        if existing is None:
            self._attached.append((name, value))
        elif existing is not value:
            raise ValueError(f"Cannot create a Checkpoint with keyword argument {name} if "
                             f"root.{name} already exists.")

    @property
    def _graph_root(self):
        return self if self._root is None else self._root

    # -- save counter ----------------------------------------------------------------------
    def _maybe_create_save_counter(self) -> None:
        if self._save_counter is not None:
            return
        counter = Variable(np.int64(0), name="save_counter", dtype="int64", trainable=False)
        object.__setattr__(self, "_save_counter", counter)
        if self._root is None:
            self._track("save_counter", counter)
        else:
            self._attach("save_counter", counter)

    @property
    def save_counter(self) -> Variable:
        """An int64 variable counting ``save`` calls; numbers the checkpoints."""
        self._maybe_create_save_counter()
        return self._save_counter

    # -- writing ---------------------------------------------------------------------------
    def write(self, file_prefix, options=None) -> str:
        """Write a checkpoint at exactly ``file_prefix`` (no ``checkpoint`` file, no counter)."""
        prefix = os.fspath(file_prefix)
        return _writer.write(self, prefix, self._graph_root, self._attached, options)

    def save(self, file_prefix, options=None) -> str:
        """Write ``<file_prefix>-<save_counter>`` and point the ``checkpoint`` file at it."""
        _writer.sync(self)
        counter = self.save_counter
        counter.assign_add(1)
        prefix = f"{os.fspath(file_prefix)}-{int(counter.numpy())}"
        return _writer.write(self, prefix, self._graph_root, self._attached, options,
                             after=lambda p: _writer.update_state(p, [p]))

    def sync(self) -> None:
        """Wait for a pending asynchronous save (re-raises its error, if any)."""
        _writer.sync(self)

    # -- reading ---------------------------------------------------------------------------
    def read(self, save_path, options=None):
        """Restore from ``save_path`` (written by ``write``); ``save_counter`` is not expected."""
        from numkeras.saving.tf_checkpoint.restore import resolve_checkpoint_prefix, restore

        _writer.sync(self)
        prefix = resolve_checkpoint_prefix(os.fspath(save_path))
        status = restore(self._graph_root, prefix, self._attached, options)
        self._explain_root_mismatch(status)
        return status

    def restore(self, save_path, options=None):
        """Restore from ``save_path`` (a prefix, or a SavedModel directory).

        Objects that do not exist yet are restored when they are created. ``None`` restores
        nothing. Returns a status with ``assert_consumed()``, ``expect_partial()``, ...
        """
        from numkeras.saving.tf_checkpoint.restore import InitializationOnlyStatus

        if save_path is None:
            _writer.sync(self)
            return InitializationOnlyStatus()
        self._maybe_create_save_counter()
        return self.read(save_path, options)

    def _explain_root_mismatch(self, status) -> None:
        """Warn at once when a ``save_weights`` file is restored through a Checkpoint."""
        job = getattr(status, "_restore", None)
        if job is None or self._root is not None or len(job.bound) > 1:
            return
        children = job.graph.nodes[0].children
        if not any(ref.local_name == "root" and ref.node_id == 0 for ref in children):
            return
        job.report.hint = (
            " The checkpoint was written by Model.save_weights (its root is the model, with "
            f"children {[ref.local_name for ref in children][:8]}...), but this Checkpoint's "
            "root is the Checkpoint itself, so nothing matched. Load it with "
            "model.load_weights(path) or Checkpoint(root=model).read(path).")
        warnings.warn(f"Nothing matched when restoring {job.prefix}.{job.report.hint}",
                      UserWarning, stacklevel=3)
