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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write_path(filepath: str, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``filepath``; on success it replaces ``filepath``.

    If the body raises, the temporary file is removed and ``filepath`` is untouched, so a
    failed save never destroys the previous file.
    """
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {filepath!r}: the folder {directory!r} does "
                                "not exist. Create it first.")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(filepath) + ".",
                               suffix=suffix + ".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; saved files get normal modes
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
        fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
