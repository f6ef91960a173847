"""Writing an HDF5 file straight to disk so that a full disk is an ``OSError``, never a crash.

HDF5 can end the process with SIGSEGV when one of its writes fails half-way (a full disk,
``docs/reliability.md``). :func:`write_file` therefore

1. reserves the file's estimated size on disk first (``os.posix_fallocate``): a disk without
   room fails here, before HDF5 runs, with ``ENOSPC`` (or ``EFBIG``/``EDQUOT``);
2. lets HDF5 write through a file object (h5py's file-object driver) whose writes never
   fail as far as HDF5 can tell: if the disk still refuses a write (the estimate was short,
   an I/O error), the error is remembered, HDF5 finishes on what it believes is a healthy
   file, and the error is raised once HDF5 has closed it;
3. cuts the file to the size HDF5 gave it (the reservation is an upper bound).

Tensors go from the variables' buffers to ``os.pwrite`` (no copy of the model in memory,
unlike building the file in a ``BytesIO``).

>>> import os, tempfile, numpy as np
>>> h5py = import_h5py()
>>> path = os.path.join(tempfile.mkdtemp(), "x.h5")
>>> write_file(path, lambda f: f.create_dataset("w", data=np.ones(2)), reserve(16, 1))
>>> with h5py.File(path, "r") as f:
...     f["w"][()].tolist()
[1.0, 1.0]
>>> os.path.getsize(path) < reserve(16, 1)
True
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable

import numpy as np

from numkeras.saving.h5common import import_h5py

#: Bytes reserved for HDF5's own structures: per object (group, dataset, attribute set) and
#: per file; generous (measured: under 1.5 KiB per group of h5py's default layout), since
#: an unused reservation is given back when the file is cut to its size.
PER_OBJECT = 4096
PER_FILE = 1 << 16
#: After a failed write, HDF5's later writes of up to this size are kept in memory (so that
#: HDF5 reads back what it wrote), at most ``_KEEP_TOTAL`` bytes in all.
_KEEP_MAX = 1 << 20
_KEEP_TOTAL = 64 << 20
#: Neighbouring writes of up to ``_BUFFERED`` bytes are gathered into one of ``_BUFFER``.
_BUFFERED = 1 << 16
_BUFFER = 1 << 20
#: ``posix_fallocate`` errors meaning "no room"; others (not supported here) are ignored.
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def _pwrite(fd: int, view: memoryview, at: int) -> int:
    if hasattr(os, "pwrite"):
        return os.pwrite(fd, view, at)
    os.lseek(fd, at, os.SEEK_SET)  # pragma: no cover - Windows (one writer per file)
    return os.write(fd, view)  # pragma: no cover


def _pread_into(fd: int, view: memoryview, at: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], at)
    os.lseek(fd, at, os.SEEK_SET)  # pragma: no cover - Windows
    data = os.read(fd, len(view))  # pragma: no cover
    view[:len(data)] = data  # pragma: no cover
    return len(data)  # pragma: no cover


def reserve(data_bytes: int, objects: int, text_bytes: int = 0) -> int:
    """An upper bound of the size of an HDF5 file holding ``data_bytes`` of tensors in
    ``objects`` groups and datasets, with ``text_bytes`` of attribute strings."""
    return PER_FILE + data_bytes + PER_OBJECT * objects + 2 * text_bytes


class GuardedFile(io.RawIOBase):
    """The file object HDF5 writes through: positioned writes to ``fd`` that never raise
    (the first error is kept in :attr:`error`), reads that see what HDF5 wrote."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd
        self.pos = 0
        self.size = 0          # the file's size as HDF5 sees it
        self.error: OSError | None = None
        self._kept: list[tuple[int, bytes]] = []
        self._kept_bytes = 0
        self._buf = bytearray()  # small writes not yet made, starting at ``_buf_at``
        self._buf_at = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        if n <= _BUFFERED and self.pos == self._buf_at + len(self._buf) and \
                len(self._buf) + n <= _BUFFER:
            self._buf += view  # HDF5's metadata: many small neighbouring writes, one call
        else:
            self._drain()
            if n <= _BUFFERED:
                self._buf_at = self.pos
                self._buf += view
            else:
                self._pwrite(view, self.pos)
        self.pos += n
        self.size = max(self.size, self.pos)
        return n

    def _drain(self) -> None:
        if self._buf:
            self._pwrite(memoryview(self._buf), self._buf_at)
            self._buf = bytearray()

    def _pwrite(self, view: memoryview, at: int) -> None:
        n = len(view)
        if self.error is None:
            try:
                done = 0
                while done < n:
                    wrote = _pwrite(self.fd, view[done:], at + done)
                    if wrote <= 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    done += wrote
            except OSError as exc:
                self.error = exc
        if self.error is not None and n <= _KEEP_MAX and self._kept_bytes + n <= _KEEP_TOTAL:
            self._kept.append((at, bytes(view)))
            self._kept_bytes += n

    def readinto(self, buffer) -> int:
        self._drain()
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self.size - self.pos))
        got = 0
        try:
            while got < n:
                step = _pread_into(self.fd, view[got:n], self.pos + got)
                if step <= 0:
                    break
                got += step
        except OSError as exc:
            self.error = self.error or exc
        view[got:n] = bytes(n - got)
        for offset, data in self._kept:  # what HDF5 wrote after a failure
            lo, hi = max(offset, self.pos), min(offset + len(data), self.pos + n)
            if lo < hi:
                view[lo - self.pos:hi - self.pos] = data[lo - offset:hi - offset]
        self.pos += n
        return n

    def truncate(self, size: int | None = None) -> int:
        self.size = self.pos if size is None else size
        return self.size

    def flush(self) -> None:
        self._drain()  # the caller fsyncs once the file is complete


def write_file(target: str, build: Callable, reserved: int) -> None:
    """Create the HDF5 file ``target`` (a save's temporary path) with ``build(h5file)``,
    after reserving ``reserved`` bytes (see :func:`reserve`); a full disk or a failed write
    raises ``OSError`` naming ``target``, and HDF5 never sees a failed write."""
    h5py = import_h5py()
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        if hasattr(os, "posix_fallocate") and reserved > 0:
            try:
                os.posix_fallocate(fd, 0, reserved)
            except OSError as exc:
                if exc.errno in _NO_ROOM:
                    raise OSError(exc.errno, f"Cannot save {target!r}: {exc.strerror} (the "
                                  f"file needs up to {reserved} bytes); nothing was "
                                  "replaced.") from exc
        guarded = GuardedFile(fd)
        with h5py.File(guarded, "w") as f:
            build(f)
        guarded.flush()
        if guarded.error is None:
            try:
                os.ftruncate(fd, guarded.size)
            except OSError as exc:
                guarded.error = exc
        if guarded.error is not None:
            exc = guarded.error
            raise OSError(exc.errno, f"Cannot save {target!r}: writing failed ({exc.strerror}); "
                          "nothing was replaced.") from exc
    finally:
        os.close(fd)


class Creator:
    """Creates groups, datasets and attributes with h5py's low-level API (a few C calls
    each instead of tens of microseconds of h5py's high-level bookkeeping), as h5py's
    ``create_group`` / ``create_dataset(shape=, dtype=)`` / ``attrs[...] =`` create them:
    UTF-8 link names, intermediate groups created, no time stamps, contiguous storage.

    >>> import io, numpy as np
    >>> h5py = import_h5py()
    >>> with h5py.File(io.BytesIO(), "w") as f:
    ...     make = Creator()
    ...     g = make.group(f.id, "a/vars")
    ...     make.attribute(g, "names", np.array([b"k", b"b"]))
    ...     make.attribute(g, "name", "dense")
    ...     make.dataset(g, "x/0", np.arange(3.0))
    ...     make.dataset(g, "s", np.float32(2))
    ...     f["a/vars/x/0"][()].tolist(), f["a/vars/s"][()], f["a/vars"].attrs["name"]
    ([0.0, 1.0, 2.0], np.float32(2.0), 'dense')
    """

    def __init__(self):
        self.h5py = h5py = import_h5py()
        self.lcpl = h5py.h5p.create(h5py.h5p.LINK_CREATE)
        self.lcpl.set_create_intermediate_group(True)
        self.lcpl.set_char_encoding(h5py.h5t.CSET_UTF8)
        self.dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        self.dcpl.set_obj_track_times(False)
        self._types: dict = {}
        self._spaces: dict = {}

    def _type(self, dtype):
        tid = self._types.get(dtype)
        if tid is None:
            tid = self._types[dtype] = self.h5py.h5t.py_create(dtype, logical=True)
        return tid

    def _space(self, shape: tuple):
        sid = self._spaces.get(shape)
        if sid is None:
            h5s = self.h5py.h5s
            sid = self._spaces[shape] = h5s.create(h5s.SCALAR) if shape == () else \
                h5s.create_simple(shape)
        return sid

    def group(self, parent, name: str):
        """A new group ``name`` (a path) below the low-level ``parent``; its id."""
        return self.h5py.h5g.create(parent, name.encode("utf-8"), self.lcpl)

    def dataset(self, parent, name: str, value: np.ndarray) -> None:
        """A dataset holding ``value``, written straight from its buffer (C-contiguous)."""
        h5py = self.h5py
        value = _c_order(value)
        dsid = h5py.h5d.create(parent, name.encode("utf-8"), self._type(value.dtype),
                               self._space(value.shape), dcpl=self.dcpl, lcpl=self.lcpl)
        if value.size:
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, value)

    def attribute(self, parent, name: str, value) -> None:
        """An attribute as h5py writes ``attrs[name] = value`` for a NumPy array (fixed
        types) or a ``str`` (a variable-length UTF-8 string)."""
        h5py = self.h5py
        if isinstance(value, str):
            value = np.array(value, dtype=h5py.string_dtype())
        value = _c_order(value)
        attr = h5py.h5a.create(parent, name.encode("utf-8"), self._type(value.dtype),
                               self._space(value.shape))
        # in memory: the bit-for-bit type (pointers to str objects for vlen strings)
        attr.write(value, mtype=h5py.h5t.py_create(value.dtype))


def _c_order(value) -> np.ndarray:
    """``value`` as a C-contiguous array (no copy if it is one; 0-d stays 0-d)."""
    value = np.asarray(value)
    return value if value.flags.c_contiguous else value.copy(order="C")
