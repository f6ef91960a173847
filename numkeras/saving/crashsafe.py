"""Crash-safe in-place saves of multi-file formats, and clean-up of a killed save's debris.

A TF checkpoint prefix (``w.index`` + ``w.data-00000-of-00001``) or a sharded
``.weights.json`` (manifest + ``w_00000.weights.h5`` ...) has fixed file names, so saving it
again in place cannot rename all files at once. :func:`commit_replacing` keeps the previous
version recoverable at every instant:

1. hard links (copies where links are impossible) of the previous data files are made
   under hidden backup names (``.w.data-00000-of-00001.prev``), then the previous marker
   (the index or manifest naming them) is *renamed* to its backup name -- the backup set is
   complete exactly when its marker exists;
2. the new files are renamed into place, the marker last;
3. the backups are removed, marker first.

A process killed in step 2 leaves no marker but a complete backup: :func:`recover` (called
by the loaders and by the next save) renames the backup files back. Killed in steps 1 or 3,
the marker at the real name is the complete old or new version, and the next save removes
the partial backup.

Temporary files are named ``.<target>.<pid>-<random>.tmp``; :func:`clean_stale_temps`
removes those of processes that no longer exist (a save killed before its commit).

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> def save(text):
...     tmps = [os.path.join(folder, temp_name("w.data")), os.path.join(folder,
...             temp_name("w.index"))]
...     for tmp in tmps:
...         with open(tmp, "w") as f:
...             _ = f.write(text)
...     commit_replacing(list(zip(tmps, [os.path.join(folder, "w.data"),
...                                      os.path.join(folder, "w.index")])), "w.data")
>>> save("old"); save("new")
>>> sorted(os.listdir(folder)), open(os.path.join(folder, "w.data")).read()
(['w.data', 'w.index'], 'new')
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil

from numkeras.saving.paths import fsync_dir

#: A temporary file of this package: ``.<target>.<pid>-<random>.tmp``.
_TEMP = re.compile(r"^\..+\.(\d+)-[A-Za-z0-9_]+\.tmp$")
BACKUP_SUFFIX = ".prev"


def temp_name(target_name: str) -> str:
    """A fresh temporary file name for ``target_name`` (a base name), carrying our PID."""
    return f".{target_name}.{os.getpid()}-{secrets.token_hex(6)}.tmp"


def temp_prefix(target_name: str) -> str:
    """The ``prefix`` to give ``tempfile.mkstemp`` (which adds the random part)."""
    return f".{target_name}.{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill would terminate it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, belongs to someone else
        return True
    return True


def clean_stale_temps(directory: str) -> list[str]:
    """Remove the temporary files in ``directory`` left by processes that no longer run
    (saves killed before their commit); returns their names. Others' live saves and files
    not named as :func:`temp_name` names them are never touched."""
    removed = []
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return removed
    for name in names:
        match = _TEMP.match(name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
                removed.append(name)
    return removed


def backup_name(path: str) -> str:
    """The hidden name under which the previous version of ``path`` is kept."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}{BACKUP_SUFFIX}")


def _original(backup: str) -> str:
    folder, name = os.path.split(backup)
    return os.path.join(folder, name[1:-len(BACKUP_SUFFIX)])


def _keep(path: str, backup: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(backup)
    try:
        os.link(path, backup)
    except OSError:  # no hard links here (some network/FUSE filesystems): copy
        tmp = backup + ".copy"
        shutil.copyfile(path, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, backup)


def _part_backups(marker: str, part_pattern: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(marker))
    return glob.glob(os.path.join(glob.escape(folder), "." + part_pattern + BACKUP_SUFFIX))


def _recover_locked(marker: str, part_pattern: str) -> bool:
    """With the folder's commit lock held: restore a complete backup if ``marker`` is
    missing, else drop leftover backups. Returns whether a backup was restored."""
    folder = os.path.dirname(os.path.abspath(marker))
    saved_marker = backup_name(os.path.abspath(marker))
    parts = _part_backups(marker, part_pattern)
    if not os.path.exists(marker) and os.path.exists(saved_marker):
        for backup in parts:
            os.replace(backup, _original(backup))
        fsync_dir(folder)
        os.replace(saved_marker, marker)
        fsync_dir(folder)
        return True
    for path in [saved_marker] + parts:  # the marker first: never a complete-looking half
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return False


def recover(marker: str, part_pattern: str) -> bool:
    """Before reading a multi-file save: if a save was killed while replacing it (no
    ``marker`` but a complete backup), put the previous version back. ``part_pattern``: a
    glob pattern (escaped by the caller) of the base names of the data files, in the
    marker's folder. Returns whether anything was restored; never raises for a folder it
    cannot write (the load then reports the missing file)."""
    from numkeras.saving.paths import commit_lock

    if os.path.exists(marker) or not os.path.exists(backup_name(os.path.abspath(marker))):
        return False
    try:
        with commit_lock(os.path.dirname(os.path.abspath(marker))):
            return _recover_locked(marker, part_pattern)
    except OSError:
        return False


def commit_replacing(moves: list[tuple[str, str]], part_pattern: str) -> None:
    """Rename each ``(temporary, final)`` of ``moves`` into place, the last one being the
    marker (index or manifest), keeping the previous version recoverable throughout (see
    the module docstring). The caller holds the folder's commit lock."""
    *parts, (_, marker) = moves
    folder = os.path.dirname(os.path.abspath(marker))
    _recover_locked(marker, part_pattern)
    clean_stale_temps(folder)
    saved_marker = backup_name(os.path.abspath(marker))
    kept = []
    if os.path.exists(marker):
        for _, final in parts:
            if os.path.exists(final):
                backup = backup_name(os.path.abspath(final))
                _keep(final, backup)
                kept.append(backup)
        fsync_dir(folder)
        os.replace(marker, saved_marker)  # the backup set is now complete
        fsync_dir(folder)
    try:
        for tmp, final in moves:
            os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            _recover_locked(marker, part_pattern)  # the previous version back in place
        raise
    for directory in sorted({os.path.dirname(os.path.abspath(f)) for _, f in moves}):
        fsync_dir(directory)
    for path in [saved_marker] + kept:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
