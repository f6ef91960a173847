"""Private helpers for crash-safe file writes: temp file in the target folder, fsync, rename.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> atomic_write_bytes(os.path.join(folder, "x.txt"), b"hello")
>>> open(os.path.join(folder, "x.txt"), "rb").read(), sorted(os.listdir(folder))
(b'hello', ['x.txt'])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

from numkeras.saving.crashsafe import temp_name

__all__ = ["PendingFile", "atomic_write_bytes", "fsync_dir"]


def fsync_dir(directory: str) -> None:
    """Flushes a folder's entries (new names, renames) to disk where the OS allows it."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class PendingFile:
    """A file being written under a temporary name next to ``path``.

    Write to :attr:`file`, then :meth:`commit` (fsync + ``os.replace`` onto ``path``) or
    :meth:`discard` (close + delete).  Splitting the write from the rename lets a caller
    write several files completely before renaming any of them.
    """

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        if os.path.islink(self.path):  # write through a link, as TensorFlow does
            self.path = os.path.realpath(self.path)
        folder, name = os.path.split(os.path.abspath(self.path))
        # Like tempfile.mkstemp (O_EXCL, random name, same folder), but with mode 0o666 minus
        # the umask, so the renamed file gets the permissions of a normally created one.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        for _ in range(100):
            self.temp_path = os.path.join(folder, temp_name(name))
            try:
                fd = os.open(self.temp_path, flags, 0o666)
                break
            except FileExistsError:  # pragma: no cover - 48 random bits
                continue
        else:  # pragma: no cover
            raise FileExistsError(f"could not create a temporary file next to {self.path}")
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self._done = False

    def finish(self) -> None:
        """Flushes, fsyncs and closes the temporary file (idempotent)."""
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()

    def commit(self) -> None:
        """Finishes the file and renames it onto its final path."""
        self.finish()
        os.replace(self.temp_path, self.path)
        self._done = True

    def discard(self) -> None:
        """Closes and deletes the temporary file; never raises."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp_path)


@contextlib.contextmanager
def pending_files(paths: list[str]) -> Iterator[list[PendingFile]]:
    """Opens one :class:`PendingFile` per path; discards all that were not committed."""
    opened: list[PendingFile] = []
    try:
        for path in paths:
            opened.append(PendingFile(path))
        yield opened
    finally:
        for pending in opened:
            pending.discard()


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old or the new file, never a part."""
    with pending_files([path]) as (pending,):
        pending.file.write(data)
        pending.commit()
    fsync_dir(os.path.dirname(os.path.abspath(path)))
