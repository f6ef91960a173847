"""Fast paths of the HDF5 readers for files of many small objects, with h5py's low-level API.

The checks of :mod:`.h5common` (``check_dataset``, ``read_attr``) open each object through
h5py's high-level classes, which costs tens of microseconds per call: a 2,000-layer file
spent seconds there. This module does the same work in one pass per file and a few C calls
per object. It only ever *accepts* the common, plainly safe cases; anything else (links
other than hard links, chunked/compact/external storage, types other than standard
numbers, damaged metadata) goes to the full checks of :mod:`.h5common`, which give the
documented errors. So no check loses strength.

- :func:`tree`: every object reached through hard links below a group, with its type
  (one ``H5Ovisit``);
- :func:`plain_dataset`: shape, dtype and file offset of a contiguous dataset of a standard
  number type (``H5Dget_offset`` is defined only for contiguous, internal, allocated data,
  which cannot be filtered);
- :func:`read_into`: the contiguous datasets' bytes read straight into the variables'
  buffers with a few ``os.preadv`` calls (neighbouring datasets in one call).

>>> import io, numpy as np
>>> h5py = import_h5py()
>>> f = h5py.File(io.BytesIO(), "w")
>>> _ = f.create_dataset("g/w", data=np.ones((2, 3), "float32"))
>>> sorted(tree(f).items()) == [("g", h5py.h5o.TYPE_GROUP), ("g/w", h5py.h5o.TYPE_DATASET)]
True
>>> info = plain_dataset(f.id, "g/w", f.id.fileno)
>>> info.shape, info.dtype, info.size
((2, 3), dtype('float32'), 24)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from numkeras.saving.h5common import (
    _NATIVE_EXTRA,
    DAMAGE_ERRORS,
    bounded_native_memory,
    import_h5py,
)

#: At most this many objects are listed (more: the full checks decide).
MAX_OBJECTS = 1_000_000
#: Whether :func:`read_into` can be used (``os.preadv``: not on Windows); the loaders read
#: with h5py's ``read_direct`` otherwise.
HAVE_PREADV = hasattr(os, "preadv")
#: ``os.preadv`` takes at most this many buffers per call (Linux's IOV_MAX).
_IOV_MAX = 1024
#: Gaps between datasets up to this size are read into a scratch buffer (one call).
_GAP_MAX = 1 << 16

_STANDARD: dict[str, object] = {}


def _standard_for(h5py, dtype: np.dtype):
    """The standard HDF5 type equal to a dataset of NumPy ``dtype`` if it is standard."""
    if not _STANDARD:
        for name in ("IEEE_F16LE", "IEEE_F16BE", "IEEE_F32LE", "IEEE_F32BE", "IEEE_F64LE",
                     "IEEE_F64BE") + tuple(f"STD_{s}{b}{e}" for s in "IU"
                                          for b in (8, 16, 32, 64) for e in ("LE", "BE")):
            tid = getattr(h5py.h5t, name)
            _STANDARD.setdefault(tid.dtype.str, tid)  # one-byte types: the LE one, h5py's
    return _STANDARD.get(dtype.str)


def tree(group) -> dict[str, int] | None:
    """``{relative path: h5o type}`` of every object below ``group`` reached through hard
    links (each object once); ``None`` when the walk fails or finds more than
    :data:`MAX_OBJECTS` (callers then use their full checks)."""
    h5py = import_h5py()
    out: dict[str, int] = {}

    def visit(name: bytes, info):
        out[name.decode("utf-8", "surrogateescape")] = info.type
        return True if len(out) > MAX_OBJECTS else None

    try:
        size = h5py.h5i.get_file_id(group.id).get_filesize()
        with bounded_native_memory(_NATIVE_EXTRA + 4 * size):  # damaged header sizes
            h5py.h5o.visit(group.id, visit, info=True)
    except (*DAMAGE_ERRORS, MemoryError):
        return None
    return None if len(out) > MAX_OBJECTS else out


def hard_tree(group) -> dict[str, int] | None:
    """:func:`tree`, provided every link below ``group`` is a hard link and each object
    has one path (else ``None``): the objects a walk of the links would find."""
    h5py = import_h5py()
    hard = h5py.h5l.TYPE_HARD
    count = [0]

    def visit(name: bytes, info):
        count[0] += 1
        return True if info.type != hard or count[0] > MAX_OBJECTS else None

    try:
        size = h5py.h5i.get_file_id(group.id).get_filesize()
        with bounded_native_memory(_NATIVE_EXTRA + 4 * size):  # damaged header sizes
            if group.id.links.visit(visit, info=True) is not None:
                return None
    except (*DAMAGE_ERRORS, MemoryError):
        return None
    objects = tree(group)
    return objects if objects is not None and len(objects) == count[0] else None


@dataclass(frozen=True)
class PlainDataset:
    """A contiguous dataset of a standard number type: where its bytes lie in the file."""

    name: str       # the path it was opened by (relative to the group given)
    shape: tuple
    dtype: np.dtype
    offset: int     # from the start of the file (user block included)
    size: int       # bytes stored


def _dtype_of(h5py, tid) -> np.dtype | None:
    """The NumPy dtype of a float or integer type from its class, size, order and sign
    (cheaper than h5py's general conversion); ``None`` for other classes."""
    cls = tid.get_class()
    if cls == h5py.h5t.FLOAT:
        kind = "f"
    elif cls == h5py.h5t.INTEGER:
        kind = "i" if tid.get_sign() == h5py.h5t.SGN_2 else "u"
    else:
        return None
    order = "<" if tid.get_order() == h5py.h5t.ORDER_LE else ">"
    try:
        return np.dtype(f"{order}{kind}{tid.get_size()}")
    except TypeError:
        return None


def plain_dataset(parent_id, name: str, fileno: int | None = None,
                  attributes: bool = True) -> PlainDataset | None:
    """:class:`PlainDataset` for the dataset ``name`` below ``parent_id`` (a low-level id),
    or ``None`` when it is anything else (the full checks must look at it): reached through
    a link other than a hard link, in another file than ``fileno`` (if given), stored other
    than contiguously in the file, of another type than a standard float or integer, or
    (``attributes=False``) carrying attributes."""
    h5py = import_h5py()
    bname = name.encode("utf-8", "surrogateescape")
    try:
        if parent_id.links.get_info(bname).type != h5py.h5l.TYPE_HARD:
            return None
        dsid = h5py.h5d.open(parent_id, bname)
        if fileno is not None and h5py.h5i.get_file_id(dsid).fileno != fileno:
            return None
        offset = dsid.get_offset()
        if offset is None:
            return None  # chunked, compact, external, virtual or never written
        tid = dsid.get_type()
        if tid.committed():
            return None
        dtype = _dtype_of(h5py, tid)
        std = _standard_for(h5py, dtype) if dtype is not None else None
        if std is None or not tid.equal(std):
            return None
        shape = dsid.get_space().get_simple_extent_dims()
        size = dsid.get_storage_size()
        if not attributes and h5py.h5a.get_num_attrs(dsid):
            return None
    except DAMAGE_ERRORS:
        return None
    if size != math.prod(shape) * dtype.itemsize:
        return None  # also a null dataspace (no shape)
    return PlainDataset(name, tuple(shape), dtype, offset, size)


def bytes_of(array: np.ndarray) -> memoryview:
    """The bytes of the C-contiguous ``array`` as a writable one-dimensional view."""
    try:
        return memoryview(array).cast("B")
    except (TypeError, ValueError):  # dtypes the buffer protocol does not know (bfloat16)
        return memoryview(array.reshape(-1).view(np.uint8))


def read_into(fd: int, items: list[tuple[int, memoryview]], label: str) -> None:
    """Read ``len(buffer)`` bytes at each ``(offset, buffer)`` of ``items`` from ``fd``;
    neighbouring ranges (gaps up to 64 KiB) are read with one ``os.preadv``. Raises
    ``OSError`` naming ``label`` when the file ends early."""
    items = sorted(((off, buf) for off, buf in items if len(buf)), key=lambda item: item[0])
    scratch = bytearray(_GAP_MAX)
    gap = memoryview(scratch)
    i = 0
    while i < len(items):
        start, first = items[i]
        views, end = [first], start + len(first)
        j = i + 1
        while j < len(items) and len(views) < _IOV_MAX - 1:
            off, buf = items[j]
            if off < end or off - end > _GAP_MAX:
                break
            if off > end:
                views.append(gap[:off - end])
            views.append(buf)
            end = off + len(buf)
            j += 1
        want = end - start
        got = 0
        while got < want:
            # after a short read, continue from where it stopped
            rest, skip = [], got
            for v in views:
                if skip >= len(v):
                    skip -= len(v)
                    continue
                rest.append(v[skip:])
                skip = 0
            n = os.preadv(fd, rest, start + got)
            if n <= 0:
                raise OSError(f"{label}: the file ended at byte {start + got} while reading "
                              f"its weights (bytes {start}-{end} expected): it was truncated "
                              "or changed during the load.")
            got += n
        i = j
