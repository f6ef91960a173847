"""The ``checkpoint`` state file that names the latest checkpoint in a folder.

It is a ``tensorflow.CheckpointState`` message in protobuf text format, for example::

    model_checkpoint_path: "ckpt-2"
    all_model_checkpoint_paths: "ckpt-1"
    all_model_checkpoint_paths: "ckpt-2"
    all_model_checkpoint_timestamps: 1795896248.959174
    all_model_checkpoint_timestamps: 1795896249.5
    last_preserved_timestamp: 1795896247.1

Text is produced and parsed with ``google.protobuf.text_format``, exactly as TensorFlow
does, so files are identical to TensorFlow's.  Paths are stored relative to the folder when
``save_relative_paths`` is true (what ``tf.train.Checkpoint.save``, ``CheckpointManager``
and tf-keras ``save_weights`` do); readers join relative paths onto the folder.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> update_checkpoint_state(folder, os.path.join(folder, "ckpt-1"))
>>> print(open(os.path.join(folder, "checkpoint")).read(), end="")
model_checkpoint_path: "ckpt-1"
all_model_checkpoint_paths: "ckpt-1"
>>> latest_checkpoint(folder) is None  # no ckpt-1.index yet
True
>>> _ = open(os.path.join(folder, "ckpt-1.index"), "wb")
>>> latest_checkpoint(folder) == os.path.join(folder, "ckpt-1")
True
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf import text_format

from numkeras.saving.formats import INDEX_SUFFIX

from . import protos
from ._files import atomic_write_bytes
from .errors import CheckpointFormatError

__all__ = [
    "CheckpointState",
    "format_checkpoint_state",
    "get_checkpoint_state",
    "latest_checkpoint",
    "parse_checkpoint_state",
    "update_checkpoint_state",
]

STATE_FILENAME = "checkpoint"


@dataclass(frozen=True)
class CheckpointState:
    """The contents of a ``checkpoint`` file (paths as stored, or as resolved by a reader)."""

    model_checkpoint_path: str
    all_model_checkpoint_paths: tuple[str, ...] = ()
    #: Unix times (seconds), one per path, or empty.
    all_model_checkpoint_timestamps: tuple[float, ...] = ()
    #: Unix time; ``0.0`` when absent (proto3 default).
    last_preserved_timestamp: float = 0.0
    # Kept out of comparisons: a convenience for callers who need the source file.
    source: str | None = field(default=None, compare=False, repr=False)


def parse_checkpoint_state(text: str | bytes, *, filename: str = STATE_FILENAME
                           ) -> CheckpointState:
    """Parses ``checkpoint`` file text (fields in any order; quoted strings with C escapes).

    Raises :class:`~.errors.CheckpointFormatError` for text that is not a CheckpointState
    or that has no ``model_checkpoint_path``.

    >>> parse_checkpoint_state('all_model_checkpoint_paths: "a\\\\"b"\\nmodel_checkpoint_path: "c"')
    CheckpointState(model_checkpoint_path='c', all_model_checkpoint_paths=('a"b',), \
all_model_checkpoint_timestamps=(), last_preserved_timestamp=0.0)
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointFormatError(f"{filename}: not UTF-8 text ({exc})") from None
    proto = protos.CheckpointState()
    try:
        text_format.Merge(text, proto)
    except text_format.ParseError as exc:
        raise CheckpointFormatError(f"{filename}: not a CheckpointState text proto: {exc}"
                                    ) from None
    if not proto.model_checkpoint_path:
        raise CheckpointFormatError(f"{filename}: expected a non-empty model_checkpoint_path")
    return CheckpointState(
        model_checkpoint_path=proto.model_checkpoint_path,
        all_model_checkpoint_paths=tuple(proto.all_model_checkpoint_paths),
        all_model_checkpoint_timestamps=tuple(proto.all_model_checkpoint_timestamps),
        last_preserved_timestamp=proto.last_preserved_timestamp,
        source=filename,
    )


def format_checkpoint_state(state: CheckpointState) -> str:
    """The text TensorFlow writes for ``state`` (``text_format.MessageToString``).

    >>> print(format_checkpoint_state(CheckpointState("b", ("a", "b"), (1.5, 2.0))), end="")
    model_checkpoint_path: "b"
    all_model_checkpoint_paths: "a"
    all_model_checkpoint_paths: "b"
    all_model_checkpoint_timestamps: 1.5
    all_model_checkpoint_timestamps: 2.0
    """
    proto = protos.CheckpointState(
        model_checkpoint_path=state.model_checkpoint_path,
        all_model_checkpoint_paths=list(state.all_model_checkpoint_paths),
        all_model_checkpoint_timestamps=list(state.all_model_checkpoint_timestamps),
        last_preserved_timestamp=state.last_preserved_timestamp,
    )
    return text_format.MessageToString(proto)


def update_checkpoint_state(
    directory: str | os.PathLike[str],
    model_checkpoint_path: str,
    all_model_checkpoint_paths: Sequence[str] | None = None,
    *,
    all_model_checkpoint_timestamps: Sequence[float] | None = None,
    last_preserved_timestamp: float | None = None,
    save_relative_paths: bool = True,
    latest_filename: str = STATE_FILENAME,
) -> None:
    """Atomically (re)writes ``<directory>/checkpoint``, like TensorFlow's
    ``update_checkpoint_state_internal``.

    ``model_checkpoint_path`` is appended to ``all_model_checkpoint_paths`` unless it is
    already the last one.  Path handling follows TensorFlow exactly: with
    ``save_relative_paths`` absolute paths are stored relative to ``directory``; and when
    ``directory`` itself is relative, relative paths are taken as relative to the current
    folder and rewritten relative to ``directory``.
    """
    directory = os.fspath(directory)
    paths = list(all_model_checkpoint_paths or [])
    if save_relative_paths:
        if os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, directory)
        paths = [os.path.relpath(p, directory) if os.path.isabs(p) else p for p in paths]
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    timestamps = list(all_model_checkpoint_timestamps or [])
    if timestamps and len(timestamps) != len(paths):
        raise ValueError(f"checkpoint timestamps, if provided, must match checkpoint paths (got "
                         f"paths {paths} and timestamps {timestamps})")
    if not os.path.isabs(directory):
        if not os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, directory)
        paths = [p if os.path.isabs(p) else os.path.relpath(p, directory) for p in paths]
    state_path = os.path.join(directory, latest_filename)
    if state_path == model_checkpoint_path:
        raise ValueError(f"save path {model_checkpoint_path!r} conflicts with the checkpoint "
                         "state file; use a different save path")
    text = format_checkpoint_state(CheckpointState(
        model_checkpoint_path, tuple(paths), tuple(float(t) for t in timestamps),
        float(last_preserved_timestamp or 0.0)))
    os.makedirs(directory or ".", exist_ok=True)
    atomic_write_bytes(state_path, text.encode("utf-8"))


def get_checkpoint_state(directory: str | os.PathLike[str],
                         latest_filename: str = STATE_FILENAME) -> CheckpointState | None:
    """Reads ``<directory>/checkpoint``; relative paths are joined onto ``directory``.

    Returns ``None`` if the file does not exist; raises
    :class:`~.errors.CheckpointFormatError` if it cannot be parsed.
    """
    directory = os.fspath(directory)
    path = os.path.join(directory, latest_filename)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    state = parse_checkpoint_state(data, filename=path)

    def resolve(p: str) -> str:
        return p if os.path.isabs(p) else os.path.join(directory, p)

    return CheckpointState(
        resolve(state.model_checkpoint_path),
        tuple(resolve(p) for p in state.all_model_checkpoint_paths),
        state.all_model_checkpoint_timestamps,
        state.last_preserved_timestamp,
        source=path,
    )


def latest_checkpoint(directory: str | os.PathLike[str],
                      latest_filename: str = STATE_FILENAME) -> str | None:
    """The latest checkpoint prefix in ``directory``, like ``tf.train.latest_checkpoint``.

    Returns ``None`` when there is no state file, when it is unreadable (with a warning, as
    TensorFlow logs one), or when ``<prefix>.index`` does not exist.
    """
    try:
        state = get_checkpoint_state(directory, latest_filename)
    except CheckpointFormatError as exc:
        warnings.warn(f"{exc}; checkpoint state ignored", RuntimeWarning, stacklevel=2)
        return None
    if state is None:
        return None
    from .restore import recover_prefix

    recover_prefix(state.model_checkpoint_path)  # a kill while it was re-saved in place
    if os.path.exists(state.model_checkpoint_path + INDEX_SUFFIX):
        return state.model_checkpoint_path
    return None
