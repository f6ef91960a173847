"""``CheckpointManager``: numbered checkpoints in a folder, oldest deleted first.

>>> import os, tempfile, numpy as np
>>> import numkeras
>>> from numkeras.train import Checkpoint
>>> folder = tempfile.mkdtemp()
>>> manager = CheckpointManager(Checkpoint(v=numkeras.Variable(np.ones(2), name="v")),
...                             folder, max_to_keep=2)
>>> paths = [manager.save() for _ in range(3)]
>>> [os.path.basename(p) for p in manager.checkpoints]
['ckpt-2', 'ckpt-3']
>>> manager.latest_checkpoint == paths[-1]
True
"""

from __future__ import annotations

import collections
import copy
import glob
import os
import time
import warnings

import numpy as np

from numkeras.saving.formats import INDEX_SUFFIX
from numkeras.train import _writer

__all__ = ["CheckpointManager"]


def _delete_if_exists(pattern: str) -> None:
    for path in glob.glob(pattern):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _value(counter) -> int:
    return int(np.asarray(getattr(counter, "value", counter)))


class CheckpointManager:
    """Manages ``<directory>/<checkpoint_name>-<n>`` checkpoints, as ``tf.train.CheckpointManager``.

    ``max_to_keep=None`` keeps every checkpoint; checkpoints at least
    ``keep_checkpoint_every_n_hours`` apart are kept in addition. With ``step_counter`` the
    step numbers the checkpoints, and ``checkpoint_interval`` skips saves that come sooner
    than that many steps after the last one.
    """

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name: str = "ckpt", step_counter=None, checkpoint_interval=None,
                 init_fn=None) -> None:
        from numkeras.saving.tf_checkpoint.state import get_checkpoint_state

        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"Expected a positive integer or `None` for `max_to_keep`, got "
                             f"{max_to_keep}.")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("`step_counter` should be passed if `checkpoint_interval` is not "
                             "None.")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._checkpoint_prefix = os.path.join(self._directory, checkpoint_name)
        self._step_counter = step_counter
        self._checkpoint_interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_checkpoint_step = None
        self._maybe_delete: collections.OrderedDict[str, float] = collections.OrderedDict()
        now = time.time()
        state = get_checkpoint_state(self._directory)
        self._latest_checkpoint = None
        self._last_preserved_timestamp = now
        if state is not None:
            self._recover(state, now)

    def _recover(self, state, now: float) -> None:
        self._latest_checkpoint = state.model_checkpoint_path
        self._last_preserved_timestamp = state.last_preserved_timestamp
        if now < self._last_preserved_timestamp:
            warnings.warn("time.time() returned a value less than the previous checkpoint's "
                          "timestamp; assuming the clock was changed and resetting "
                          "keep_checkpoint_every_n_hours bookkeeping.", stacklevel=3)
            self._last_preserved_timestamp = now
        paths = state.all_model_checkpoint_paths
        stamps = state.all_model_checkpoint_timestamps or \
            [self._last_preserved_timestamp] * len(paths)
        for path, stamp in zip(paths, stamps):
            stamp = min(stamp, now)
            if stamp > self._last_preserved_timestamp:
                self._maybe_delete[path] = stamp

    @property
    def directory(self) -> str:
        return self._directory

    @property
    def checkpoint(self):
        return self._checkpoint

    @property
    def checkpoint_interval(self):
        return self._checkpoint_interval

    @property
    def latest_checkpoint(self) -> str | None:
        """The prefix of the newest checkpoint, or ``None``."""
        return self._latest_checkpoint

    @property
    def checkpoints(self) -> list[str]:
        """Prefixes of the managed checkpoints, oldest first."""
        return list(self._maybe_delete)

    def _sweep(self) -> None:
        if not self._max_to_keep:
            return
        while len(self._maybe_delete) > self._max_to_keep:
            path, stamp = self._maybe_delete.popitem(last=False)
            hours = self._keep_checkpoint_every_n_hours
            if hours and stamp - hours * 3600.0 >= self._last_preserved_timestamp:
                self._last_preserved_timestamp = stamp
                continue
            # glob.escape: a folder or prefix named like "exp[ab]" must not match siblings
            folder, base = (glob.escape(p) for p in os.path.split(path))
            _delete_if_exists(glob.escape(path) + INDEX_SUFFIX)
            _delete_if_exists(glob.escape(path) + ".data-?????-of-?????")
            # and the backups of an interrupted in-place save of it (saving.crashsafe)
            _delete_if_exists(os.path.join(folder, f".{base}.index.prev"))
            _delete_if_exists(os.path.join(folder, f".{base}.data-?????-of-?????.prev"))

    def _record_state(self) -> None:
        from numkeras.saving.tf_checkpoint.state import update_checkpoint_state

        update_checkpoint_state(
            self._directory, self._latest_checkpoint, list(self._maybe_delete),
            all_model_checkpoint_timestamps=list(self._maybe_delete.values()),
            last_preserved_timestamp=self._last_preserved_timestamp)

    def _record_and_sweep(self, save_path: str) -> None:
        self._maybe_delete.pop(save_path, None)
        self._maybe_delete[save_path] = time.time()
        self._latest_checkpoint = save_path
        # Record the new checkpoint before deleting old ones (a crash while deleting then
        # still finds it), and again afterwards without the deleted ones, as TensorFlow does.
        self._record_state()
        self._sweep()
        self._record_state()

    def save(self, checkpoint_number=None, check_interval: bool = True, options=None):
        """Save ``<prefix>-<n>``; returns its path, or ``None`` if the interval skipped it."""
        if self._checkpoint_interval is not None:
            step = _value(self._step_counter)
            if self._last_checkpoint_step is not None:
                if step == self._last_checkpoint_step:
                    return None
                if check_interval and step < self._last_checkpoint_step + \
                        self._checkpoint_interval:
                    return None
            self._last_checkpoint_step = step
        if checkpoint_number is None and self._step_counter is not None:
            checkpoint_number = self._step_counter
        _writer.sync(self._checkpoint)
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        number = _value(counter if checkpoint_number is None else checkpoint_number)
        options = copy.copy(options) if options is not None else None
        callbacks = list(getattr(options, "experimental_write_callbacks", None) or ())
        prefix = f"{self._checkpoint_prefix}-{number}"
        return self._write(prefix, options, callbacks)

    def _write(self, prefix: str, options, callbacks: list) -> str:
        checkpoint = self._checkpoint
        if options is not None:
            options.experimental_write_callbacks = callbacks
        return _writer.write(checkpoint, prefix, checkpoint._graph_root, checkpoint._attached,
                             options, after=self._record_and_sweep)

    def sync(self) -> None:
        """Wait for a pending asynchronous save."""
        _writer.sync(self._checkpoint)

    def restore_or_initialize(self):
        """Restore the latest checkpoint and return its path, else run ``init_fn``."""
        if self._latest_checkpoint is not None:
            self._checkpoint.restore(self._latest_checkpoint)
            if self._checkpoint_interval is not None:
                self._last_checkpoint_step = _value(self._step_counter)
            return self._latest_checkpoint
        if self._init_fn is not None:
            self._init_fn()
        return None
