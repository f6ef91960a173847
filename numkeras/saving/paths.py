"""Path helpers shared by all formats: path-likes, the overwrite prompt, atomic writes.

>>> import pathlib
>>> path_to_string(pathlib.Path("a") / "b.h5")
'a/b.h5'
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator


def path_to_string(path) -> str:
    """``str`` of a path-like object (other objects, e.g. URLs, are returned unchanged)."""
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else path


def ask_to_proceed_with_overwrite(filepath: str) -> bool:
    """Ask on the terminal whether to overwrite ``filepath``, as tf.keras does.

    With no terminal (stdin is not a TTY) this raises ``FileExistsError`` instead of
    waiting for an answer that cannot come.
    """
    if not sys.stdin or not sys.stdin.isatty():
        raise FileExistsError(
            f"{filepath} already exists and overwrite=False, but there is no terminal to ask "
            "whether to replace it. Pass overwrite=True, or choose another path.")
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True


def fsync_dir(directory: str) -> None:
    """Flush a directory entry to disk (best effort; not all platforms allow it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the OS tells (Linux); elsewhere
    briefly set and restored under a lock (``os.umask`` is process-wide: unguarded, two
    threads saving at once could leave the wrong mask behind)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def lock_folder(directory: str, shared: bool = False) -> int | None:
    """Take an ``flock`` on ``directory`` (exclusive, or ``shared``); returns the descriptor
    to pass to :func:`unlock_folder`, or None where folders cannot be locked (Windows, some
    network filesystems): locking is best effort."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        return None
    return fd


def unlock_folder(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def commit_lock(directory: str) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` while a multi-file save commits.

    Renaming several files into place is not atomic; two saves committing into one folder
    at once (threads or processes) could interleave their renames and leave one save's
    index or manifest naming the other's data. The lock serializes commits (writing the
    temporary files stays parallel); readers of multi-file formats take it shared
    (:func:`lock_folder`) so that no commit happens while they read.
    """
    fd = lock_folder(directory)
    try:
        yield
    finally:
        unlock_folder(fd)


def resolve_link(filepath: str) -> str:
    """``filepath``, or the file it links to if it is a symbolic link (saves write through
    links: the link is kept and its target replaced)."""
    return os.path.realpath(filepath) if os.path.islink(filepath) else filepath


@contextlib.contextmanager
def atomic_write_path(filepath: str, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``filepath``; on success it replaces ``filepath``.

    If the body raises, the temporary file is removed and ``filepath`` is untouched, so a
    failed save never destroys the previous file. A ``filepath`` that is a symbolic link is
    written through: the link's target is replaced, the link stays (as tf-keras does).
    """
    filepath = resolve_link(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {filepath!r}: the folder {directory!r} does "
                                "not exist. Create it first.")
    from numkeras.saving.crashsafe import clean_stale_temps, temp_prefix

    fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix(os.path.basename(filepath)),
                               suffix=suffix + ".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; saved files get normal modes
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
        fsync_dir(directory)
        clean_stale_temps(directory)  # debris of killed saves
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_write_paths(filepaths: list[str], part_pattern: str = "") -> Iterator[list[str]]:
    """Temporary paths beside each of ``filepaths``; on success each replaces its target.

    For saves made of several files whose **last** path is the commit marker (a manifest or
    an index naming the others): every file is written and fsynced before any is renamed,
    then they are renamed in order, the marker last, keeping the previous version
    recoverable until the new one is complete (:func:`~numkeras.saving.crashsafe.
    commit_replacing`; ``part_pattern`` is the glob pattern of the data files' base names).
    If the body raises, nothing is renamed or deleted and the temporary files go.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> paths = [os.path.join(folder, n) for n in ("a.bin", "index")]
    >>> with atomic_write_paths(paths) as tmps:
    ...     for tmp in tmps:
    ...         with open(tmp, "w") as f:
    ...             _ = f.write("x")
    >>> sorted(os.listdir(folder))
    ['a.bin', 'index']
    """
    from numkeras.saving.crashsafe import commit_replacing, temp_prefix

    filepaths = [resolve_link(p) for p in filepaths]
    pending: list[str] = []
    committing = False
    try:
        for filepath in filepaths:
            directory = os.path.dirname(os.path.abspath(filepath))
            if not os.path.isdir(directory):
                raise FileNotFoundError(f"Cannot save to {filepath!r}: the folder {directory!r} "
                                        "does not exist. Create it first.")
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp",
                                       prefix=temp_prefix(os.path.basename(filepath)))
            os.close(fd)
            pending.append(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
        yield list(pending)
        for tmp in pending:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        with commit_lock(os.path.dirname(os.path.abspath(filepaths[-1]))):
            committing = True
            commit_replacing(list(zip(pending, filepaths)), part_pattern)
    except BaseException:
        for tmp in pending if not committing else [p for p in pending if os.path.exists(p)]:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise
