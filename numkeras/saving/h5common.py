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
import math
import os
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
    key = (src, dst, bfloat16)
    known = _CASTABLE.get(key)
    if known is None:
        known = _CASTABLE[key] = _castable(src, dst, bfloat16)
    return known


_CASTABLE: dict[tuple, bool] = {}  # (a load asks once per weight: thousands of times)


def _castable(src: np.dtype, dst: np.dtype, bfloat16: bool) -> bool:
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
    try:
        f = open_file(path, path)
    except (OSError, ValueError):
        return None
    with f:
        try:
            return set(f.attrs) | set(f)
        except DAMAGE_ERRORS:  # too damaged to list: not sniffed (its reader says why)
            return None


#: No standard HDF5 filter expands data more than this (deflate's limit is about 1032:1).
MAX_EXPANSION = 1100


def _inflated(dset) -> str | None:
    """Why ``dset`` declares far more bytes than its storage can expand to (chunks never
    written, read as fill values, or a damaged shape), else ``None``: reading it would
    allocate the declared size from a small file."""
    if dset.shape is None:
        return None
    declared = math.prod(dset.shape) * dset.dtype.itemsize
    stored = dset.id.get_storage_size()
    if declared <= MAX_EXPANSION * stored + (1 << 20):
        return None
    return (f"it declares {declared} bytes of values but stores {stored}, more than any HDF5 "
            "filter expands to (unwritten chunks or a damaged shape)")


def read_every_dataset(target, label: str, note: Callable, corrupt: Callable) -> None:
    """Open ``target`` (a path or file object) and read every dataset fully, calling
    ``note(label, name, value)``; damage raises ``corrupt(label, name, message)``."""
    h5py = import_h5py()
    try:
        f = open_file(target, label)
    except (OSError, ValueError) as exc:
        raise corrupt(label, "", f"not a readable HDF5 file: {exc}") from None
    with f:
        names: list[str] = []
        try:  # a damaged header size: HDF5 allocates it while listing (found by make fuzz)
            with bounded_native_memory(_NATIVE_EXTRA + 4 * f.id.get_filesize()):
                f.visit(names.append)
        except (OSError, RuntimeError, KeyError, MemoryError) as exc:
            raise corrupt(label, "", f"the HDF5 structure is unreadable: {exc}") from None
        for name in names:
            try:
                obj = f[name]
                if isinstance(obj, h5py.Dataset):
                    reason = unsupported_feature(obj, dtypes=None) or _inflated(obj)
                    if reason is not None:
                        raise ValueError(reason)
                    note(label, name, np.asarray(obj[()]))
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                raise corrupt(label, name, f"cannot read {name!r}: {exc}") from None


# -- attribute values (decoded by HDF5's native code, with a memory bound) ------------------
_NATIVE_EXTRA = 256 << 20


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@contextlib.contextmanager
def bounded_native_memory(extra: int) -> Iterator[None]:
    """Cap the process's address space at its current size plus ``extra`` bytes while HDF5
    decodes something a file describes (Linux; elsewhere, and under a tighter existing
    limit, nothing changes).

    A variable-length string attribute stores each string's length next to its heap
    address; HDF5 allocates that many bytes before it checks the address, so a damaged
    length of 4 GiB becomes a 4 GiB allocation. Under the cap the allocation fails and HDF5
    reports an error instead. The cap lasts only for the attribute read.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    current = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = None if current is None else current + extra
    if cap is None or (soft != resource.RLIM_INFINITY and soft <= cap) or \
            (hard != resource.RLIM_INFINITY and cap > hard):
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _check_attribute(obj, name: str):
    """Refuse an attribute that is not a string or number, or whose stored size disagrees
    with its type and shape (HDF5 can crash decoding such an attribute); raises
    ``OSError``. Returns ``(attr, fixed)``: the opened low-level attribute (``None`` when
    it stores nothing) and whether its values have a fixed size (not variable-length
    strings)."""
    h5py = import_h5py()
    oid = obj if isinstance(obj, h5py._objects.ObjectID) else obj.id
    try:
        attr = h5py.h5a.open(oid, name.encode("utf-8"))
        kind = attr.get_type()
        if not isinstance(kind, (h5py.h5t.TypeStringID, h5py.h5t.TypeIntegerID,
                                 h5py.h5t.TypeFloatID)):
            raise OSError(f"attribute {name!r} has an HDF5 type Keras never writes "
                          f"({type(kind).__name__}); the file is damaged")
        count = attr.get_space().get_simple_extent_npoints()
        if count == 0:
            return None, False  # nothing stored (h5py reports a zero storage size as an error)
        stored = attr.get_storage_size()
        fixed = not (isinstance(kind, h5py.h5t.TypeStringID) and kind.is_variable_str())
        if not fixed:
            sizeof_addr = h5py.h5i.get_file_id(oid).get_create_plist().get_sizes()[0]
            each = 4 + sizeof_addr + 4  # length, global heap address, object index
        else:
            each = kind.get_size()
    except DAMAGE_ERRORS as exc:
        raise OSError(f"attribute {name!r} is damaged ({type(exc).__name__}: {exc})") from exc
    if stored != count * each:
        raise OSError(f"attribute {name!r} is damaged: {stored} bytes stored for {count} "
                      f"value(s) of {each} bytes")
    return attr, fixed


def _read_fixed(attr, name: str, file_size: int):
    """The value of a checked fixed-size attribute, read as h5py's ``attrs[name]`` reads
    it (an array, or its item when scalar); refused if it claims more bytes than the file
    holds."""
    shape = attr.shape
    dtype = attr.dtype
    if dtype.subdtype is not None or shape is None:
        return None
    if math.prod(shape) * dtype.itemsize > max(file_size, 1 << 16):
        raise OSError(f"attribute {name!r} declares more data than the file can hold")
    arr = np.zeros(shape, dtype=dtype)
    attr.read(arr)
    return arr[()] if arr.ndim == 0 else arr


def read_attr(obj, name: str, default=None):
    """``obj.attrs[name]`` (``default`` when absent), decoded under
    :func:`bounded_native_memory` (256 MiB plus four times the file's size): a damaged
    string length cannot make HDF5 allocate gigabytes. Fixed-size values (numbers,
    fixed-length strings) hold no lengths and are read directly, after checking they fit
    in the file. Failures raise ``OSError``.

    >>> import io
    >>> buf = io.BytesIO()
    >>> with import_h5py().File(buf, "w") as f:
    ...     f.attrs["keras_version"] = "2.21.0"
    ...     f.attrs["names"] = np.array([b"a", b"bc"])  # fixed-length strings
    ...     read_attr(f, "keras_version"), read_attr(f, "backend", "none"), read_attr(f, "names")
    ('2.21.0', 'none', array([b'a', b'bc'], dtype='|S2'))
    """
    h5py = import_h5py()
    oid = obj if isinstance(obj, h5py._objects.ObjectID) else obj.id  # a low-level id will do
    try:
        if not h5py.h5a.exists(oid, name.encode("utf-8")):
            return default
    except DAMAGE_ERRORS as exc:
        raise OSError(f"attribute {name!r} is damaged ({type(exc).__name__}: {exc})") from exc
    attr, fixed = _check_attribute(obj, name)
    try:
        size = h5py.h5i.get_file_id(oid).get_filesize()
    except DAMAGE_ERRORS:
        size = 0
    if attr is not None and fixed:
        try:
            value = _read_fixed(attr, name, size)
        except DAMAGE_ERRORS as exc:
            if isinstance(exc, OSError) and "declares more data" in str(exc):
                raise
            raise OSError(f"attribute {name!r} is damaged ({type(exc).__name__}: {exc})") \
                from exc
        if value is not None:
            return value
    if obj is oid:
        obj = h5py.Dataset(oid) if isinstance(oid, h5py.h5d.DatasetID) else h5py.Group(oid)
    try:
        with bounded_native_memory(_NATIVE_EXTRA + 4 * size):
            return obj.attrs[name]
    except MemoryError as exc:
        raise OSError(f"attribute {name!r} declares more data than the file can hold "
                      "(damaged string length)") from exc


# -- which HDF5 features a weights file may use (checked before anything is read) ----------
#
# Accepted: datasets stored in the file itself (contiguous, chunked or compact; chunked ones
# may use HDF5's standard filters), of standard IEEE floats, standard integers, booleans
# (h5py's int8 enum), opaque bytes (Keras 3's raw bfloat16) or h5py's complex pairs of
# standard floats. Refused: external storage, virtual datasets, committed (named) datatypes,
# any other datatype (strings, references, variable-length, non-standard floats HDF5 cannot
# convert), and files whose global heap would make HDF5 loop forever.

#: Bytes of a global heap collection's header and of each object's header (8-byte lengths).
_GCOL_HEADER = 16


def _standard_types(h5py) -> list:
    t = h5py.h5t
    return [t.IEEE_F16LE, t.IEEE_F16BE, t.IEEE_F32LE, t.IEEE_F32BE, t.IEEE_F64LE,
            t.IEEE_F64BE, t.STD_I8LE, t.STD_I8BE, t.STD_I16LE, t.STD_I16BE, t.STD_I32LE,
            t.STD_I32BE, t.STD_I64LE, t.STD_I64BE, t.STD_U8LE, t.STD_U8BE, t.STD_U16LE,
            t.STD_U16BE, t.STD_U32LE, t.STD_U32BE, t.STD_U64LE, t.STD_U64BE]


def _standard(h5py, tid) -> bool:
    return any(tid.equal(std) for std in _standard_types(h5py))


def unsupported_feature(obj, storage: bool = True, dtypes: bool | None = True) -> str | None:
    """Why the HDF5 object ``obj`` (found where a weight belongs) may not be read, or
    ``None`` when it is a plain dataset this package reads (``storage``: check where its
    data lives; ``dtypes``: check its datatype; ``None``: only if NumPy sees a number type,
    leaving strings to the loaders' dtype-mismatch messages).

    >>> import io, numpy as np
    >>> h5py = import_h5py()
    >>> f = h5py.File(io.BytesIO(), "w")
    >>> unsupported_feature(f.create_dataset("w", data=np.ones(3, "float32"))) is None
    True
    >>> unsupported_feature(f.create_dataset("s", data=np.array([b"x"])))
    'its datatype is a string, which is not a number type'
    >>> f["t"] = np.dtype("float32")
    >>> unsupported_feature(f["t"])
    'it is a committed HDF5 datatype, not a dataset'
    """
    h5py = import_h5py()
    if isinstance(obj, h5py.Datatype):
        return "it is a committed HDF5 datatype, not a dataset"
    if not isinstance(obj, h5py.Dataset):
        return f"it is a {type(obj).__name__}, not a dataset"
    if storage and obj.is_virtual:
        return "it is a virtual dataset (its data would come from other files)"
    if storage and obj.external:
        return "its data is stored in an external file"
    dcpl = obj.id.get_create_plist()
    if dcpl.get_layout() not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT):
        return "it uses an unsupported storage layout"
    if dtypes is None:
        dtypes = obj.dtype.kind in "biufc"
    if not dtypes:
        return None
    tid = obj.id.get_type()
    if tid.committed():
        return "its datatype is a committed (shared) HDF5 datatype"
    cls = tid.get_class()
    kind = {h5py.h5t.STRING: "a string", h5py.h5t.VLEN: "variable-length",
            h5py.h5t.REFERENCE: "a reference", h5py.h5t.ARRAY: "an array type",
            h5py.h5t.BITFIELD: "a bitfield", h5py.h5t.TIME: "a time type"}.get(cls)
    if kind is not None:
        return f"its datatype is {kind}, which is not a number type"
    if cls in (h5py.h5t.FLOAT, h5py.h5t.INTEGER):
        if not _standard(h5py, tid):
            return ("its datatype is a non-standard number type (not an IEEE float or a "
                    "standard integer)")
    elif cls == h5py.h5t.ENUM:
        if obj.dtype != np.bool_ or not _standard(h5py, tid.get_super()):
            return "its datatype is an enumeration, which is not a number type"
    elif cls == h5py.h5t.COMPOUND:
        members = [tid.get_member_type(i) for i in range(tid.get_nmembers())]
        if obj.dtype.kind != "c" or not all(
                m.get_class() == h5py.h5t.FLOAT and _standard(h5py, m) for m in members):
            return "its datatype is a compound type, which is not a number type"
    elif cls != h5py.h5t.OPAQUE:
        return "its datatype is not a number type"
    return None


def check_dataset(obj, label: str, what: str, error: type = ValueError, link=None,
                  file=None, storage: bool = True, dtypes: bool | None = None) -> None:
    """Raise ``error`` naming ``label`` (the file) and ``what`` (the weight) unless
    :func:`unsupported_feature` accepts ``obj`` (number types are checked; strings are
    left to the loader's dtype checks, which give tf-keras's messages). ``link`` (from ``group.get(name,
    getlink=True)``) must be a hard link and ``obj`` must lie in ``file`` (if given):
    soft and external links are refused, even when they lead to a valid dataset."""
    h5py = import_h5py()
    try:
        reason = None
        if link is not None and not isinstance(link, h5py.HardLink):
            reason = f"it is reached through a {type(link).__name__}, not stored in place"
        elif file is not None and obj.file.id.fileno != file.id.fileno:
            reason = "it lies in another HDF5 file (an external link)"
        reason = reason or unsupported_feature(obj, storage, dtypes)
    except DAMAGE_ERRORS as exc:
        reason = f"its metadata is damaged ({type(exc).__name__}: {exc})"
    if reason is not None:
        raise error(f"{label}: {what} cannot be read: {reason}. numkeras reads only "
                    "datasets of numbers stored in the file itself.")


def _heap_hangs(read_at, offset: int, length: int) -> bool:
    """Whether the global heap collection at ``offset`` would make HDF5 loop forever.

    HDF5 walks a collection's objects by their sizes; the free-space object (index 0)
    advances by its size alone and the others by a header plus the 8-aligned size (modulo
    2**64), so a size that advances by 0 (or wraps around) never ends the walk.
    """
    head = read_at(offset, _GCOL_HEADER)
    if len(head) < _GCOL_HEADER or head[4] != 1:
        return False
    size = int.from_bytes(head[8:16], "little")
    if size < _GCOL_HEADER or offset + size > length:
        return False  # HDF5 reports a read error for these
    data = read_at(offset, size)
    p = _GCOL_HEADER
    while p + _GCOL_HEADER <= size:
        index = int.from_bytes(data[p:p + 2], "little")
        obj_size = int.from_bytes(data[p + 8:p + 16], "little")
        need = obj_size if index == 0 else \
            (_GCOL_HEADER + ((obj_size + 7) & ~7)) & ((1 << 64) - 1)
        if need == 0 or need >= 1 << 63:
            return True
        p += need
    return False


def raw_data_extents(h5file) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges of the contiguous datasets' values in the open
    ``h5file``: bulk data, never HDF5 metadata, so :func:`check_global_heaps` skips them.

    Only dataset headers are read (no attribute, no value); chunked and compact datasets
    are not listed (their bytes are scanned like metadata).
    """
    h5py = import_h5py()
    names: list[bytes] = []

    def visit(name, info):
        if info.type == h5py.h5o.TYPE_DATASET:
            names.append(name)

    try:
        size = h5file.id.get_filesize()
        with bounded_native_memory(_NATIVE_EXTRA + 4 * size):  # damaged header sizes
            h5py.h5o.visit(h5file.id, visit, info=True)
    except (*DAMAGE_ERRORS, MemoryError):
        return []  # damaged structure: scan everything
    extents = []
    for name in names:
        try:
            dataset = h5py.h5d.open(h5file.id, name)
            if dataset.get_create_plist().get_layout() != h5py.h5d.CONTIGUOUS:
                continue
            offset = dataset.get_offset()
            size = dataset.get_storage_size()
        except DAMAGE_ERRORS:
            continue
        if offset is not None and size:
            extents.append((offset, offset + size))
    return extents


#: Files smaller than this are scanned whole (see :func:`check_global_heaps`).
_SCAN_ALL_BELOW = 64 << 20

# Files already checked, by identity (device, inode, size, mtime): one load opens the same
# file several times (sniffing, then reading) and checks it once.
_CHECKED: dict[tuple, None] = {}
_CHECKED_MAX = 64


def check_global_heaps(target, label: str, error: type = ValueError, h5file=None) -> None:
    """Refuse (``error`` naming ``label``) an HDF5 file (a path or a seekable binary file
    object) with a global heap collection that would hang HDF5 when a variable-length
    string (such as tf-keras's ``keras_version`` or ``model_config``) is read.

    The file is searched for collections (signature ``GCOL``); given ``h5file`` (the same
    file opened by h5py, no attribute read yet), the dataset values are skipped (see
    :func:`raw_data_extents`), so the cost follows the size of the metadata, not of the
    weights; the collections the attributes reference are then checked wherever they lie
    (:mod:`numkeras.saving.h5heaps`), or, when the headers cannot be followed, every byte is
    scanned. A file checked once is not checked again until it changes.

    >>> import io
    >>> check_global_heaps(io.BytesIO(b"GCOL\\x01\\0\\0\\0" + (4096).to_bytes(8, "little")
    ...                               + bytes(4096 - 16)), "x.h5")
    Traceback (most recent call last):
    ...
    ValueError: x.h5: a global heap collection at byte 0 is damaged (an object of size 0); the file is damaged.
    """
    own = isinstance(target, (str, os.PathLike))
    key = None
    if own:
        st = os.stat(target)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key in _CHECKED:
            return
    f = open(target, "rb") if own else target
    try:
        start = f.tell() if not own else 0
        f.seek(0, os.SEEK_END)
        length = f.tell()

        def read_at(offset: int, n: int) -> bytes:
            f.seek(offset)
            return f.read(n)

        # Below _SCAN_ALL_BELOW bytes, scanning everything costs less than listing the
        # datasets' extents (one dataset open each: many small layers).
        skip = raw_data_extents(h5file) if h5file is not None and \
            length - start >= _SCAN_ALL_BELOW else []
        if skip:  # a dataset header could claim a collection's bytes: check those referenced
            from numkeras.saving.h5heaps import referenced_heaps

            heaps = referenced_heaps(h5file, read_at)
            for offset in heaps or ():
                if read_at(offset, 4) == b"GCOL" and _heap_hangs(read_at, offset, length):
                    raise error(f"{label}: a global heap collection at byte {offset} is "
                                "damaged (an object of size 0); the file is damaged.")
            if heaps is None:  # headers this reader does not follow: scan every byte
                skip = []
        for lo, hi in _gaps(skip, length):
            _scan_range(read_at, lo, hi, length, label, error)
        if not own:
            f.seek(start)
    finally:
        if own:
            f.close()
    if key is not None:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = None


def _gaps(skip, length: int) -> list[tuple[int, int]]:
    """The parts of ``[0, length)`` not covered by the ``skip`` ranges."""
    gaps, pos = [], 0
    for lo, hi in sorted(skip):
        if lo > pos:
            gaps.append((pos, min(lo, length)))
        pos = max(pos, hi)
    if pos < length:
        gaps.append((pos, length))
    return [(lo, hi) for lo, hi in gaps if hi > lo]


def _scan_range(read_at, lo: int, hi: int, length: int, label: str, error: type) -> None:
    pos, tail = lo, b""
    while pos < hi:
        chunk = read_at(pos, min(1 << 22, hi - pos))
        if not chunk:
            break
        block = tail + chunk
        base = pos - len(tail)
        i = block.find(b"GCOL")
        while i >= 0:
            if _heap_hangs(read_at, base + i, length):
                raise error(f"{label}: a global heap collection at byte {base + i} is "
                            "damaged (an object of size 0); the file is damaged.")
            i = block.find(b"GCOL", i + 1)
        tail = block[-3:]
        pos += len(chunk)


def open_file(target, label: str, error: type = ValueError):
    """``h5py.File(target, "r")``, refused by :func:`check_global_heaps` before anything
    reads an attribute; h5py's open errors become an ``OSError`` naming ``label``."""
    h5py = import_h5py()
    try:
        f = h5py.File(target, "r")
    except OSError as exc:
        raise OSError(f"{label}: not a readable HDF5 file, truncated or damaged ({exc}).") \
            from exc
    try:
        check_global_heaps(target, label, error, h5file=f)
    except BaseException:
        f.close()
        raise
    return f


def write_in_memory(target: str, build: Callable) -> None:
    """Build an HDF5 file in memory (``build(h5file)``), then write its bytes to ``target``
    (a save's temporary path) with Python's file I/O: a full disk is an ``OSError`` and the
    previous file stays, never a crash inside HDF5 (which can end the process with SIGSEGV
    when a write fails half-way).

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "x.h5")
    >>> write_in_memory(path, lambda f: f.create_dataset("w", data=np.ones(2)))
    >>> with import_h5py().File(path, "r") as f:
    ...     f["w"][()].tolist()
    [1.0, 1.0]
    """
    import io

    h5py = import_h5py()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    with open(target, "wb") as out:
        out.write(buf.getbuffer())
