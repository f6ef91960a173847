"""Undocumented exceptions from parsing a damaged file, turned into a documented error.

The format readers raise :class:`ValueError` subclasses (``KerasFileError``,
``ModelConfigError``, ``CheckpointFormatError``, ``UnknownClassError``) or ``OSError``
naming the file. Libraries underneath (h5py, zipfile, struct, protobuf) raise other types for
damage the readers did not foresee; the public entry points (``load_weights``,
``load_model``, ``inspect``, ``verify``) wrap them with :func:`named_errors` so that a
damaged file always gives a ``ValueError`` naming it (the original is chained).

>>> import struct
>>> with named_errors("w.index"):
...     struct.unpack("<Q", b"ab")
Traceback (most recent call last):
...
ValueError: Cannot read 'w.index': the file is damaged or not a valid file of its format (error: unpack requires a buffer of 8 bytes).
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator

#: What parsers of damaged files raise besides the documented errors.
UNDOCUMENTED = (RuntimeError, KeyError, IndexError, TypeError, OverflowError, RecursionError,
                EOFError, MemoryError, struct.error, zlib.error)


#: Types a user's code raises too: mapped only when a parser raised them.
_GENERIC = (RuntimeError, KeyError, IndexError, TypeError)
#: Where the innermost Python frame of a parser failure lies (the file's parsers and the
#: libraries they call); exceptions raised elsewhere (users' hooks) pass unchanged.
_PARSERS = (f"{os.sep}numkeras{os.sep}saving{os.sep}", f"h5py{os.sep}",
            f"{os.sep}zipfile", f"{os.sep}google{os.sep}protobuf{os.sep}", f"{os.sep}json{os.sep}")


def _from_a_parser(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is None or any(part in last for part in _PARSERS)


def _names(path: str, exc: BaseException) -> bool:
    text = str(exc)
    return path in text or os.path.basename(os.path.normpath(path)) in text


@contextlib.contextmanager
def named_errors(path: str) -> Iterator[None]:
    """Re-raise :data:`UNDOCUMENTED` exceptions as ``ValueError`` naming ``path``, and
    documented ones whose message does not name it with ``path`` in front.

    >>> with named_errors("w.h5"):
    ...     raise OSError("Can't synchronously read data")
    Traceback (most recent call last):
    ...
    OSError: w.h5: Can't synchronously read data
    """
    try:
        yield
    except NotImplementedError:  # a documented refusal, not damage
        raise
    except UNDOCUMENTED as exc:
        if isinstance(exc, _GENERIC) and not _from_a_parser(exc):
            raise  # e.g. a user's custom layer hook failing: not the file's fault
        raise ValueError(f"Cannot read {path!r}: the file is damaged or not a valid file of "
                         f"its format ({type(exc).__name__}: {exc}).") from exc
    except (ValueError, OSError) as exc:
        if _names(path, exc):
            raise
        try:
            named = type(exc)(f"{path}: {exc}")
        except Exception:  # an error class that takes other arguments (UnicodeDecodeError)
            base = OSError if isinstance(exc, OSError) else ValueError
            named = base(f"{path}: {type(exc).__name__}: {exc}")
        raise named from exc
