"""Synchronous and background (async) checkpoint writes, one pending write per owner.

An async write snapshots (copies) every value at once, then writes the files, runs the write
callbacks and updates the ``checkpoint`` state file on a background thread. The next write,
read or ``sync()`` of the same owner waits for it and re-raises its error, if any.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable

__all__ = ["is_async", "save_with_state", "sync", "write"]

_LOCK = threading.Lock()
_PENDING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Job:
    """A background write: its thread and, once done, its error."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), name="numkeras-checkpoint")
        self.thread.start()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # re-raised by sync()
            self.error = exc


def is_async(options) -> bool:
    return bool(getattr(options, "enable_async", False)
                or getattr(options, "experimental_enable_async_checkpoint", False))


def sync(owner) -> None:
    """Wait for ``owner``'s pending background write; re-raise its error."""
    with _LOCK:
        job = _PENDING.pop(owner, None)
    if job is None:
        return
    job.thread.join()
    if job.error is not None:
        raise job.error


def write(owner, prefix: str, root, attached, options=None, num_shards: int | None = None,
          after: Callable[[str], None] | None = None) -> str:
    """Write the checkpoint of ``root`` at ``prefix``, then callbacks, then ``after(prefix)``."""
    from numkeras.saving.tf_checkpoint import save

    sync(owner)
    snap = save.snapshot(root, attached, copy=is_async(options))
    shards = num_shards or save.num_shards_for(options, snap.nbytes, len(snap.tensors))
    callbacks = list(getattr(options, "experimental_write_callbacks", None) or ())

    def work() -> None:
        save.write_snapshot(prefix, snap, shards)
        save.run_write_callbacks(callbacks, prefix)
        if after is not None:
            after(prefix)

    if not is_async(options):
        work()
        return prefix
    with _LOCK:
        _PENDING[owner] = _Job(work)
    return prefix


def update_state(prefix: str, paths: list[str]) -> None:
    """Point the ``checkpoint`` file in ``dirname(prefix)`` at ``prefix`` (relative paths)."""
    from numkeras.saving.tf_checkpoint.state import update_checkpoint_state

    update_checkpoint_state(os.path.dirname(prefix) or ".", prefix, paths)


def save_with_state(owner, prefix: str, attached, options, num_shards,
                    state_paths: Callable[[str], list[str]]) -> str:
    """Write ``owner`` as the root, then the ``checkpoint`` file naming ``state_paths``."""
    return write(owner, prefix, owner, attached, options, num_shards,
                 after=lambda p: update_state(p, state_paths(p)))
