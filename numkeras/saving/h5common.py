"""What the HDF5-based formats (legacy ``.h5``, Keras 3 ``.weights.h5``/``.weights.json``)
share: importing h5py, which saved dtypes may be cast to a variable's, direct reads with
bounds checks, turning h5py's damage errors into errors naming the file, and reading every
dataset of a file (``verify``).

h5py is imported only when one of these functions runs.

>>> import numpy as np
>>> castable(np.dtype("float64"), np.dtype("float32")), castable(np.dtype("S3"), np.dtype("f4"))
(True, False)
>>> castable(np.dtype("complex64"), np.dtype("float32"))
False
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

#: The message of :func:`import_h5py` when no other is given.
DEFAULT_IMPORT_MESSAGE = "Reading and writing Keras v3 weights needs h5py: pip install h5py"
#: h5py's exceptions for damaged metadata or data (it names no file).
DAMAGE_ERRORS = (RuntimeError, KeyError, TypeError, ValueError, OSError)


def import_h5py(message: str = DEFAULT_IMPORT_MESSAGE):
    """h5py, imported on first use; ``ImportError(message)`` when it is missing."""
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(message) from exc
    return h5py


def castable(src: np.dtype, dst: np.dtype, bfloat16: bool = False) -> bool:
    """Whether a saved value of dtype ``src`` converts sensibly to a variable of dtype
    ``dst``: numbers and booleans to numbers, complex only to complex, never strings or
    compound types (tf-keras's ``np.asarray(value, dtype=variable.dtype)``). ``bfloat16``:
    the saved value is bfloat16 stored raw (Keras 3's ``dtype`` attribute)."""
    if bfloat16:
        return dst.kind in "biufc"
    if dst.name == "bfloat16":
        return src.kind in "biuf" or src.name == "bfloat16"
    if src.kind == "c":
        return dst.kind == "c"
    return src.kind in "biuf" and dst.kind in "biufc"


def plain_storage(dset) -> bool:
    """Whether ``dset`` is stored contiguous or compact without filters (``read_direct``
    can fill a variable's buffer from it)."""
    h5py = import_h5py()
    dcpl = dset.id.get_create_plist()
    return dcpl.get_layout() in (h5py.h5d.CONTIGUOUS, h5py.h5d.COMPACT) and \
        not dcpl.get_nfilters()


def data_past_end(dset, size: int | None) -> bool:
    """Whether the contiguous data of ``dset`` would lie past ``size`` bytes (the file is
    truncated); ``False`` when unknown (``size`` None, no storage yet, chunked/compact)."""
    h5py = import_h5py()
    if size is None or dset.id.get_create_plist().get_layout() != h5py.h5d.CONTIGUOUS:
        return False
    storage = dset.id.get_storage_size()
    if not storage:
        return False
    offset = dset.id.get_offset()
    userblock = dset.file.id.get_create_plist().get_userblock()
    return offset is None or userblock + offset + storage > size


@contextlib.contextmanager
def damage_is_an_error(make: Callable[[Exception], Exception],
                       keep: tuple = ()) -> Iterator[None]:
    """Re-raise h5py's damage errors (:data:`DAMAGE_ERRORS`) as ``make(exc)``, which names
    the file; exceptions of the types in ``keep``, and those ``make`` returns ``None`` for
    (they name the file already), pass unchanged."""
    try:
        yield
    except keep:
        raise
    except DAMAGE_ERRORS as exc:
        error = make(exc)
        if error is None:
            raise
        raise error from exc


def layout_of(path: str) -> set | None:
    """The top-level attribute and member names of the HDF5 file at ``path`` (``None`` when
    h5py cannot open it): what the format sniffers look at."""
    h5py = import_h5py()
    try:
        f = h5py.File(path, "r")
    except OSError:
        return None
    with f:
        return set(f.attrs) | set(f)


def read_every_dataset(target, label: str, note: Callable, corrupt: Callable) -> None:
    """Open ``target`` (a path or file object) and read every dataset fully, calling
    ``note(label, name, value)``; damage raises ``corrupt(label, name, message)``."""
    h5py = import_h5py()
    try:
        f = h5py.File(target, "r")
    except OSError as exc:
        raise corrupt(label, "", f"not a readable HDF5 file: {exc}") from None
    with f:
        names: list[str] = []
        try:
            f.visit(names.append)
        except (OSError, RuntimeError, KeyError) as exc:
            raise corrupt(label, "", f"the HDF5 structure is unreadable: {exc}") from None
        for name in names:
            try:
                obj = f[name]
                if isinstance(obj, h5py.Dataset):
                    note(label, name, np.asarray(obj[()]))
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                raise corrupt(label, name, f"cannot read {name!r}: {exc}") from None
