"""``.keras`` archives: checked before anything is read, read without extracting.

A ``.keras`` file is a zip holding ``metadata.json``, ``config.json`` and ``model.weights.h5``
(Keras stores them uncompressed). :func:`check_archive` refuses, before any member is read:
absolute or ``..`` member names, duplicate names, encrypted members, and members whose
uncompressed size is out of proportion to their stored size or above a cap (zip bombs).
:func:`open_member` gives a seekable read-only view of a stored member straight from the
archive file (h5py reads it in place), or for compressed members a bounded in-memory copy.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as zf:
...     zf.writestr("../evil.txt", b"x")
>>> check_archive(zipfile.ZipFile(buf), "m.keras")
Traceback (most recent call last):
...
numkeras.saving.keras_v3.errors.KerasFileError: m.keras: zip entry '../evil.txt' has an absolute path or '..'; refusing to read this archive.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import struct
import zipfile
import zlib

from numkeras.saving.formats import ZIP_MAGIC
from numkeras.saving.keras_v3.errors import KerasFileError
from numkeras.saving.zipio import crc32

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
JSON_CAP = 64 << 20          # 64 MiB for config.json / metadata.json / manifests
MEMBER_CAP = 1 << 40         # 1 TiB: no weights file is larger
MAX_RATIO = 100              # uncompressed / stored, for members above RATIO_FLOOR
RATIO_FLOOR = 1 << 20        # small members may compress well (JSON does)
MAX_MEMBERS = 100_000


def _bad_name(name: str) -> bool:
    normalized = name.replace("\\", "/")
    parts = normalized.split("/")
    return (normalized.startswith("/") or ".." in parts or
            (len(normalized) > 1 and normalized[1] == ":"))


def check_archive(zf: zipfile.ZipFile, filename: str) -> None:
    """Raise :class:`KerasFileError` if any member of ``zf`` is unsafe to read."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise KerasFileError(f"{filename}: {len(infos)} zip entries; refusing to read an "
                             "archive with that many.")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if _bad_name(name):
            raise KerasFileError(f"{filename}: zip entry {name!r} has an absolute path or '..'; "
                                 "refusing to read this archive.")
        if name in seen:
            raise KerasFileError(f"{filename}: zip entry {name!r} appears twice; refusing to "
                                 "read an ambiguous archive.")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise KerasFileError(f"{filename}: zip entry {name!r} is encrypted.")
        _check_size(info, filename)


def _check_size(info: zipfile.ZipInfo, filename: str) -> None:
    name, size, stored = info.filename, info.file_size, info.compress_size
    cap = JSON_CAP if name.endswith(".json") else MEMBER_CAP
    if size > cap:
        raise KerasFileError(f"{filename}: zip entry {name!r} declares {size} bytes "
                             f"uncompressed, above the {cap}-byte limit; refusing to read a "
                             "potential zip bomb.")
    if size > RATIO_FLOOR and size > MAX_RATIO * max(stored, 1):
        raise KerasFileError(f"{filename}: zip entry {name!r} declares {size} bytes but only "
                             f"{stored} are stored (more than {MAX_RATIO}x); refusing to read "
                             "a potential zip bomb.")
    if info.compress_type == zipfile.ZIP_STORED and stored != size:
        raise KerasFileError(f"{filename}: stored zip entry {name!r} has inconsistent sizes "
                             f"({stored} stored, {size} declared).")


def read_member(zf: zipfile.ZipFile, name: str, filename: str, cap: int = JSON_CAP) -> bytes:
    """The bytes of member ``name`` (at most ``cap``; more is an error).

    Decompressed as a stream (:func:`iter_member`): never more than the declared size is
    produced, whatever the compressed data says.
    """
    return b"".join(iter_member(zf, name, filename, cap))


def _member_info(zf: zipfile.ZipFile, name: str, filename: str) -> zipfile.ZipInfo:
    try:
        return zf.getinfo(name)
    except KeyError:
        raise KerasFileError(f"{filename}: the archive has no {name!r} entry (entries: "
                             f"{sorted(zf.namelist())[:10]}).") from None


class _Inflater:
    """One zip compression method as ``step(data, max_length) -> bytes`` that never
    returns more than ``max_length`` bytes (zipfile's own bzip2/LZMA readers do not bound
    what one compressed block expands to)."""

    def __init__(self, info: zipfile.ZipInfo, filename: str):
        method = info.compress_type
        self.kind = method
        self._lzma_header = b""
        if method == zipfile.ZIP_DEFLATED:
            self._d = zlib.decompressobj(-15)
        elif method == zipfile.ZIP_BZIP2:
            self._d = bz2.BZ2Decompressor()
        elif method == zipfile.ZIP_LZMA:
            self._d = None  # created once the 4-byte header and properties are read
        else:
            raise KerasFileError(f"{filename}: zip entry {info.filename!r} uses compression "
                                 f"method {method}, which numkeras does not read.")

    @property
    def eof(self) -> bool:
        return self._d is not None and self._d.eof

    def needs_input(self) -> bool:
        if self._d is None:
            return True
        if self.kind == zipfile.ZIP_DEFLATED:
            return not self._d.unconsumed_tail
        return self._d.needs_input

    def step(self, data: bytes, max_length: int) -> bytes:
        if self.kind == zipfile.ZIP_DEFLATED:
            return self._d.decompress(self._d.unconsumed_tail + data, max_length)
        if self._d is None:
            self._lzma_header += data
            head = self._lzma_header
            if len(head) < 4 or len(head) < 4 + struct.unpack("<H", head[2:4])[0]:
                return b""
            psize = struct.unpack("<H", head[2:4])[0]
            self._d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[
                lzma._decode_filter_properties(lzma.FILTER_LZMA1, head[4:4 + psize])])
            data = head[4 + psize:]
        if self._d.eof:
            return b""
        return self._d.decompress(data, max_length)


def iter_member(zf: zipfile.ZipFile, name: str, filename: str, cap: int = JSON_CAP,
                chunk: int = 1 << 20):
    """Yield the bytes of member ``name`` in pieces of at most ``chunk`` bytes.

    The output is capped at the member's declared size (itself at most ``cap``): a
    member whose data expands further (a zip bomb declaring a small size) is refused as
    soon as it passes the declared size, so memory never exceeds ``chunk`` plus the
    decompressor's fixed state. The CRC-32 and the size are checked at the end.
    """
    info = _member_info(zf, name, filename)
    if info.file_size > cap:
        raise KerasFileError(f"{filename}: zip entry {name!r} is {info.file_size} bytes, above "
                             f"the {cap}-byte limit.")
    fileobj = zf.fp
    try:
        start = _data_offset(fileobj, info, filename)
        fileobj.seek(0, os.SEEK_END)
        if start + info.compress_size > fileobj.tell():
            raise KerasFileError(f"{filename}: zip entry {name!r} runs past the end of the "
                                 "archive (truncated file?).")
        limit = info.file_size
        produced, checksum, pos, left = 0, 0, start, info.compress_size
        stalls = 0
        inflater = None if info.compress_type == zipfile.ZIP_STORED else \
            _Inflater(info, filename)
        while True:
            data = b""
            if left and (inflater is None or inflater.needs_input()):
                fileobj.seek(pos)
                data = fileobj.read(min(left, 1 << 16 if inflater else chunk))
                if not data:
                    raise KerasFileError(f"{filename}: zip entry {name!r} runs past the end "
                                         "of the archive (truncated file?).")
                pos += len(data)
                left -= len(data)
            if inflater is None:
                out = data
            else:
                out = inflater.step(data, min(chunk, limit - produced + 1))
            if out:
                produced += len(out)
                if produced > limit:
                    raise KerasFileError(
                        f"{filename}: zip entry {name!r} expands past its declared size of "
                        f"{limit} bytes; refusing to read a potential zip bomb.")
                checksum = crc32(out, checksum)
                yield out
            elif not data:
                stalls += 1
                if stalls > 1 or inflater is None or inflater.eof or inflater.needs_input():
                    break  # nothing left to feed and nothing more comes out
    except KerasFileError:
        raise
    except (zlib.error, EOFError, OSError, ValueError, struct.error, lzma.LZMAError) as exc:
        raise KerasFileError(f"{filename}: zip entry {name!r} is damaged: {exc}") from None
    if produced != info.file_size:
        raise KerasFileError(f"{filename}: zip entry {name!r} does not have its declared size "
                             f"({produced} bytes, {info.file_size} declared).")
    if checksum != info.CRC:
        raise KerasFileError(f"{filename}: zip entry {name!r} is damaged: its CRC-32 is "
                             f"{checksum:#010x}, the archive records {info.CRC:#010x}.")


def parse_json(data: bytes, what: str):
    """JSON from ``data``; duplicate keys, syntax errors, bad UTF-8 and integers too long to
    convert (Python's 4300-digit limit) are :class:`KerasFileError` naming ``what``."""

    def no_duplicates(pairs):
        out = dict(pairs)
        if len(out) != len(pairs):  # name the first key seen twice
            seen: set = set()
            for key, _ in pairs:
                if key in seen:
                    raise KerasFileError(f"{what}: duplicate key {key!r} in JSON object.")
                seen.add(key)
        return out

    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=no_duplicates)
    except KerasFileError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8/JSON, ints over 4300 digits
        raise KerasFileError(f"{what} is not valid JSON: {exc}") from None


class MemberView(io.RawIOBase):
    """A read-only, seekable window onto ``length`` bytes of ``fileobj`` at ``offset``."""

    def __init__(self, fileobj, offset: int, length: int):
        super().__init__()
        self._f, self._start, self._length, self._pos = fileobj, offset, length, 0

    @property
    def start(self) -> int:
        """Where the window starts in the underlying file."""
        return self._start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._length - self._pos))
        if n == 0:
            return 0
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def _data_offset(fileobj, info: zipfile.ZipInfo, filename: str) -> int:
    fileobj.seek(0, os.SEEK_END)
    if not 0 <= info.header_offset <= fileobj.tell() - 30:
        raise KerasFileError(f"{filename}: zip entry {info.filename!r} has its local header "
                             f"at {info.header_offset}, outside the archive.")
    fileobj.seek(info.header_offset)
    header = fileobj.read(30)
    if len(header) != 30 or header[:4] != ZIP_MAGIC:
        raise KerasFileError(f"{filename}: corrupt local header for zip entry "
                             f"{info.filename!r}.")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def verify_member(zf: zipfile.ZipFile, fileobj, name: str, filename: str) -> None:
    """Check the zip CRC-32 of a stored member, streaming it from the archive file.

    (Compressed members are streamed through :func:`iter_member`, which checks their CRC.)
    """
    info = _member_info(zf, name, filename)
    if info.compress_type != zipfile.ZIP_STORED:
        for _ in iter_member(zf, name, filename, cap=MEMBER_CAP):
            pass
        return
    start = _data_offset(fileobj, info, filename)
    fileobj.seek(start)
    checksum, left = 0, info.compress_size
    while left:
        chunk = fileobj.read(min(left, 1 << 20))
        if not chunk:
            raise KerasFileError(f"{filename}: zip entry {name!r} runs past the end of the "
                                 "archive (truncated file?).")
        checksum = crc32(chunk, checksum)
        left -= len(chunk)
    if checksum != info.CRC:
        raise KerasFileError(f"{filename}: zip entry {name!r} is damaged: its CRC-32 is "
                             f"{checksum:#010x}, the archive records {info.CRC:#010x}.")


def open_member(zf: zipfile.ZipFile, fileobj, name: str, filename: str):
    """A seekable file object with the bytes of member ``name`` (no extraction to disk)."""
    info = zf.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        start = _data_offset(fileobj, info, filename)
        fileobj.seek(0, os.SEEK_END)
        if start + info.compress_size > fileobj.tell():
            raise KerasFileError(f"{filename}: zip entry {name!r} runs past the end of the "
                                 "archive (truncated file?).")
        return io.BufferedReader(MemberView(fileobj, start, info.file_size), 1 << 16)
    return io.BytesIO(read_member(zf, name, filename, cap=MEMBER_CAP))
