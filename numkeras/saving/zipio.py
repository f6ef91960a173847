"""Zip archives of stored (uncompressed) members written from buffers, and zip's CRC-32.

``.npz`` files and ``.keras`` archives are zips of stored members. Python's ``zipfile``
writes a member from bytes it holds (a copy of every tensor) and checksums it with zlib's
CRC-32 (about 1 GB/s); here a member is a list of buffers (the ``.npy`` header and the
array's own memory, the HDF5 image and the variables' memory) checksummed in place, then
written with ``os.pwritev`` from those buffers. :func:`crc32` uses zlib-ng's CRC-32 when
the ``zlib-ng`` package is installed (ten times faster), else zlib's; both give the same
value.

The layout is PKWARE's APPNOTE as ``zipfile`` writes it (local header, data, central
directory, end record; zip64 records only where a size, an offset or the member count needs
them), so ``zipfile``, ``np.load`` and Keras read the result.

>>> import io, os, tempfile, zipfile
>>> path = os.path.join(tempfile.mkdtemp(), "a.zip")
>>> with open(path, "wb") as f:
...     out = StoredZipWriter(f.fileno())
...     out.add("a.txt", [b"hello ", memoryview(b"world")])
...     out.add("b.txt", [b""])
...     out.close()
>>> with zipfile.ZipFile(path) as zf:
...     print(zf.testzip(), zf.read("a.txt"), zf.namelist())
None b'hello world' ['a.txt', 'b.txt']
"""

from __future__ import annotations

import errno
import os
import struct
import time
import zlib
from collections.abc import Sequence

try:  # CRC-32 at memory speed (an optional speed-up: pip install zlib-ng)
    from zlib_ng.zlib_ng import crc32 as _fast_crc32
except ImportError:  # pragma: no cover - depends on the environment
    _fast_crc32 = None

__all__ = ["StoredZipWriter", "crc32"]

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_U32 = 0xFFFFFFFF
_IOV_MAX = 512


def crc32(data, value: int = 0) -> int:
    """Zip's CRC-32 of ``data`` (any contiguous buffer) continuing ``value``.

    >>> hex(crc32(b"123456789"))
    '0xcbf43926'
    """
    if _fast_crc32 is not None:
        return _fast_crc32(data, value)
    return zlib.crc32(data, value)


def _bytes_view(piece) -> memoryview:
    view = memoryview(piece)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _dos_time() -> tuple[int, int]:
    t = time.localtime()
    return ((t.tm_year - 1980) << 9 | t.tm_mon << 5 | t.tm_mday,
            t.tm_hour << 11 | t.tm_min << 5 | t.tm_sec // 2)


class StoredZipWriter:
    """Writes a zip of stored members to the open file descriptor ``fd`` from offset 0.

    :meth:`add` each member (checksummed, then written straight from its buffers), then
    :meth:`close` writes the central directory. Short writes are resumed; a write that
    makes no progress raises ``OSError`` (``ENOSPC``).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.at = 0
        self.members: list[tuple[bytes, int, int, int, int]] = []  # name, crc, size, offset, flags
        self.date, self.time = _dos_time()

    def _write(self, pieces: Sequence) -> None:
        views = [v for v in (_bytes_view(p) for p in pieces) if len(v)]
        i = 0
        while i < len(views):
            batch = views[i:i + _IOV_MAX]
            if hasattr(os, "pwritev"):
                wrote = os.pwritev(self.fd, batch, self.at)
            else:  # pragma: no cover - platforms without pwritev
                os.lseek(self.fd, self.at, os.SEEK_SET)
                wrote = os.write(self.fd, batch[0])
            if wrote <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.at += wrote
            while wrote and i < len(views):
                if wrote >= len(views[i]):
                    wrote -= len(views[i])
                    i += 1
                else:
                    views[i] = views[i][wrote:]
                    wrote = 0

    def add(self, name: str, pieces: Sequence) -> None:
        """Add the member ``name`` holding the concatenated ``pieces`` (buffers)."""
        views = [_bytes_view(p) for p in pieces]
        checksum, size = 0, 0
        for view in views:
            checksum = crc32(view, checksum)
            size += len(view)
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), 0x800
        offset = self.at
        extra = b""
        sizes = size
        if size >= _U32:  # zip64: both sizes in the extra field
            extra = struct.pack("<HHQQ", 1, 16, size, size)
            sizes = _U32
        version = 45 if extra else 20
        header = _LOCAL.pack(0x04034B50, version, flags, 0, self.time, self.date, checksum,
                             sizes, sizes, len(encoded), len(extra))
        self._write([header, encoded, extra, *views])
        self.members.append((encoded, checksum, size, offset, flags))

    def close(self) -> None:
        """Write the central directory and the end records."""
        start = self.at
        records = []
        for encoded, checksum, size, offset, flags in self.members:
            big = [v for v in (size, size) if v >= _U32] + ([offset] if offset >= _U32 else [])
            extra = struct.pack(f"<HH{len(big)}Q", 1, 8 * len(big), *big) if big else b""
            version = 45 if extra else 20
            records += [_CENTRAL.pack(0x02014B50, version | 3 << 8, version, flags, 0,
                                      self.time, self.date, checksum,
                                      _U32 if size >= _U32 else size,
                                      _U32 if size >= _U32 else size, len(encoded), len(extra),
                                      0, 0, 0, 0o600 << 16,
                                      _U32 if offset >= _U32 else offset),
                        encoded, extra]
        self._write(records)
        count, length = len(self.members), self.at - start
        if count >= 0xFFFF or start >= _U32 or length >= _U32:
            end64 = self.at
            self._write([_END64.pack(0x06064B50, 44, 45, 45, 0, 0, count, count, length, start),
                         _LOCATOR64.pack(0x07064B50, 0, end64, 1)])
            self._write([_END.pack(0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                   min(length, _U32), min(start, _U32), 0)])
        else:
            self._write([_END.pack(0x06054B50, 0, 0, count, count, length, start, 0)])
