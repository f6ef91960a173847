"""Reading and writing TensorFlow "TensorBundle" checkpoints (``<prefix>.index`` + data files).

A bundle maps string keys to tensors.  ``<prefix>.data-SSSSS-of-NNNNN`` files hold the
tensors' bytes back to back, in the order they were added; ``<prefix>.index`` is a sorted
table (:mod:`.sstable`) whose first entry (key ``""``) is a ``BundleHeaderProto`` and whose
other entries are ``BundleEntryProto`` records: dtype, shape, shard, byte range and masked
CRC-32C of one tensor.  Numeric tensors are stored as their raw little-endian bytes;
``DT_STRING`` tensors as varint lengths, a masked CRC of the lengths, then the bytes.

For the same ``(key, value)`` sequence :func:`write_bundle` produces files byte-identical to
TensorFlow's ``SaveV2`` op.  :class:`BundleReader` checks every size, offset and checksum
before it writes into any caller buffer, and reports problems as
:class:`~.errors.CheckpointFormatError`.

(Longer than most modules: the writer and the reader of one byte format are kept together,
so that every size, offset and checksum rule is written once and read back in one place.)

>>> import os, tempfile, numpy as np
>>> prefix = os.path.join(tempfile.mkdtemp(), "ckpt")
>>> _ = write_bundle(prefix, [("w", np.arange(6, dtype=np.float32).reshape(2, 3)),
...                           ("name", b"hello")])
>>> sorted(os.listdir(os.path.dirname(prefix)))
['ckpt.data-00000-of-00001', 'ckpt.index']
>>> with BundleReader(prefix) as reader:
...     print(reader.keys(), reader.get_entry("w").shape, reader.read_string("name"))
...     print(reader.read("w"))
['name', 'w'] (2, 3) b'hello'
[[0. 1. 2.]
 [3. 4. 5.]]
"""

from __future__ import annotations

import math
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import numpy as np
from google.protobuf.message import DecodeError

from ..crashsafe import commit_replacing
from ..paths import commit_lock
from . import batch_read, crc, protos
from ._files import PendingFile, fsync_dir, pending_files
from .dtypes import DataType, from_numpy_dtype, to_numpy_dtype
from .errors import CheckpointFormatError
from .slice_keys import encode_tensor_name_slice
from .sstable import build_table, get_varint, put_varint, read_table_file

__all__ = [
    "TENSOR_BUNDLE_VERSION",
    "BundleEntry",
    "BundleReader",
    "BundleWriter",
    "data_filename",
    "index_filename",
    "write_bundle",
]

#: ``kTensorBundleVersion``: the producer version TensorFlow writes and the reader accepts.
TENSOR_BUNDLE_VERSION = 1
_MIN_PRODUCER = 0
_CHUNK = 4 << 20  # bytes per write/CRC step when streaming tensor data to a file
# Bytes per read/CRC step of a load: the CRC runs on each piece just read while it is still
# in the core's L2 cache (4 MiB pieces cost about a tenth more CPU on a 512 MiB load).
_READ_CHUNK = 1 << 20
_INT64_MAX = 2**63 - 1
_HAVE_PREADV = hasattr(os, "preadv")
_THREAD_MIN_BYTES = 16 << 20  # below this, a load's verify/copy passes run on one thread

#: What :func:`write_bundle` accepts as a tensor value.
TensorLike = np.ndarray | bytes | str | Sequence[Any] | int | float | bool


def index_filename(prefix: str | os.PathLike[str]) -> str:
    """``<prefix>.index``.

    >>> index_filename("out/ckpt-1")
    'out/ckpt-1.index'
    """
    return f"{os.fspath(prefix)}.index"


def data_pattern(prefix: str | os.PathLike[str]) -> str:
    """A glob pattern (escaped) of the base names of the data files of ``prefix``.

    >>> data_pattern("runs/exp[1]/w")
    'w.data-*'
    >>> data_pattern("w[1]")
    'w[[]1].data-*'
    """
    import glob

    return glob.escape(os.path.basename(os.fspath(prefix))) + ".data-*"


def data_filename(prefix: str | os.PathLike[str], shard_id: int, num_shards: int) -> str:
    """``<prefix>.data-SSSSS-of-NNNNN`` (TensorFlow's ``DataFilename``).

    >>> data_filename("out/ckpt-1", 0, 1)
    'out/ckpt-1.data-00000-of-00001'
    """
    return f"{os.fspath(prefix)}.data-{shard_id:05d}-of-{num_shards:05d}"


@dataclass(frozen=True)
class BundleEntry:
    """The metadata of one stored tensor (a decoded ``BundleEntryProto``)."""

    #: Table key (the tensor's checkpoint key).
    key: str
    #: ``DataType`` value as stored (see :class:`~.dtypes.DataType`).
    dtype: int
    #: Full tensor shape.
    shape: tuple[int, ...]
    #: Data file number, byte offset and byte count (unused for sliced entries).
    shard_id: int
    offset: int
    size: int
    #: Masked CRC-32C of the stored bytes, as stored.
    crc32c: int
    #: For a partitioned tensor: per slice, per dimension ``(start, length)``; length ``-1``
    #: means the whole dimension.  Empty for ordinary entries.
    slices: tuple[tuple[tuple[int, int], ...], ...] = ()

    @property
    def numpy_dtype(self) -> np.dtype:
        """NumPy dtype of :meth:`BundleReader.read` results (``object`` for strings)."""
        return to_numpy_dtype(self.dtype)

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)


# ------------------------------------------------------------------------------ writing


@dataclass
class _Tensor:
    """A value prepared for writing: numeric bytes or a flat list of byte strings."""

    key: str
    dtype: DataType
    shape: tuple[int, ...]
    data: np.ndarray | None  # 1-D uint8 view in the target byte order
    strings: list[bytes] | None
    nbytes: int


def _first_leaf(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def _to_bytes(item: Any, key: str) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, (bytearray, memoryview, np.bytes_)):
        return bytes(item)
    raise TypeError(f"tensor {key!r}: string tensors hold bytes or str, found "
                    f"{type(item).__name__}")


def _string_nbytes(strings: list[bytes]) -> int:
    return sum(len(s) + _varint_len(len(s)) for s in strings) + 4


def _varint_len(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _prepare(key: str, value: TensorLike, big_endian: bool) -> _Tensor:
    """Normalizes one value; raises ``TypeError``/``ValueError`` for unsupported values."""
    if isinstance(value, (bytes, str, bytearray)):
        strings = [_to_bytes(value, key)]
        return _Tensor(key, DataType.DT_STRING, (), None, strings, _string_nbytes(strings))
    if isinstance(value, (list, tuple)) and isinstance(_first_leaf(value), (bytes, str)):
        value = np.array(value, dtype=object)
    array = np.asarray(value)
    if array.dtype.kind in "OSU":
        strings = [_to_bytes(item, key) for item in array.reshape(-1).tolist()]
        return _Tensor(key, DataType.DT_STRING, tuple(array.shape), None, strings,
                       _string_nbytes(strings))
    try:
        dtype = from_numpy_dtype(array.dtype)
    except ValueError as exc:
        raise ValueError(f"tensor {key!r}: {exc}") from None
    if array.dtype.itemsize > 1:
        order = array.dtype.byteorder
        is_big = order == ">" or (order in "=|" and sys.byteorder == "big")
        if is_big != big_endian:
            array = array.byteswap()
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return _Tensor(key, dtype, tuple(array.shape), flat, None, flat.size)


def _write_numeric(f: BinaryIO, data: np.ndarray) -> int:
    """Streams a uint8 array to ``f`` in chunks; returns the CRC-32C of the bytes.

    Each chunk is written and checksummed straight from the array's memory (no copy); the
    CRC runs on the chunk just written, while it is still in the CPU cache.
    """
    view = memoryview(data)
    checksum = 0
    for start in range(0, len(view), _CHUNK):
        chunk = view[start : start + _CHUNK]
        f.write(chunk)
        checksum = crc.extend(checksum, chunk)
    return checksum


def _write_strings(f: BinaryIO, strings: list[bytes], big_endian: bool) -> int:
    """Writes TensorFlow's string-tensor encoding; returns the running CRC-32C."""
    lengths = bytearray()
    order = ">" if big_endian else "<"
    packed = []
    for s in strings:
        put_varint(lengths, len(s))
        packed.append(struct.pack(f"{order}I" if len(s) <= 0xFFFFFFFF else f"{order}Q", len(s)))
    checksum = crc.value(b"".join(packed))
    length_checksum = struct.pack(f"{order}I", crc.mask(checksum))
    checksum = crc.extend(checksum, length_checksum)
    f.write(lengths)
    f.write(length_checksum)
    for s in strings:
        checksum = crc.extend(checksum, s)
        f.write(s)
    return checksum


def _entry_proto(tensor: _Tensor, shard_id: int, offset: int, checksum: int) -> Any:
    entry = protos.BundleEntryProto(dtype=int(tensor.dtype), shard_id=shard_id, offset=offset,
                                    size=tensor.nbytes, crc32c=crc.mask(checksum))
    entry.shape.SetInParent()  # TensorFlow always writes the shape, even for scalars
    for dim in tensor.shape:
        entry.shape.dim.add(size=dim)
    return entry


def _write_tensor(f: BinaryIO, tensor: _Tensor, big_endian: bool) -> int:
    if tensor.strings is not None:
        return _write_strings(f, tensor.strings, big_endian)
    assert tensor.data is not None
    return _write_numeric(f, tensor.data)


class BundleWriter:
    """Writes a bundle at ``prefix``, tensor by tensor.

    With ``num_shards=1`` (TensorFlow's layout for a single-device save) each :meth:`add`
    streams the tensor's bytes to the data file at once.  With more shards the values are
    kept (by reference) until :meth:`finish`, spread over the shards largest first (each to
    the least-filled shard), and the shards are written in parallel threads.

    Every file is written under a temporary name in the destination folder and fsynced;
    :meth:`finish` then renames the data files into place and the index last, so the index
    appears only once the data it points to is complete.  Use as a context manager to
    :meth:`finish` on success and :meth:`abort` (delete the temporary files) on error.

    ``endianness="big"`` writes a big-endian bundle, as TensorFlow does on big-endian
    hosts; TensorFlow readers byte-swap it on little-endian machines.
    """

    def __init__(self, prefix: str | os.PathLike[str], *, num_shards: int = 1,
                 endianness: Literal["little", "big"] = "little") -> None:
        if not isinstance(num_shards, int) or num_shards < 1:
            raise ValueError(f"num_shards must be a positive integer, got {num_shards!r}")
        if endianness not in ("little", "big"):
            raise ValueError(f"endianness must be 'little' or 'big', got {endianness!r}")
        self.prefix = os.fspath(prefix)
        self.num_shards = num_shards
        self._big = endianness == "big"
        self._entries: dict[bytes, Any] = {}
        self._deferred: list[_Tensor] = []
        self._offset = 0
        self._closed = False
        self._pending: list[PendingFile] = []
        os.makedirs(os.path.dirname(os.path.abspath(self.prefix)), exist_ok=True)
        if num_shards == 1:
            self._pending.append(PendingFile(data_filename(self.prefix, 0, 1)))

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

    def add(self, key: str, value: TensorLike) -> None:
        """Adds one tensor.  ``value``: a NumPy array or array-like; ``bytes``/``str`` or a
        (nested) list/array of them for a ``DT_STRING`` tensor.  Keys must be unique and
        non-empty (``""`` is the header's key)."""
        if self._closed:
            raise ValueError("BundleWriter is closed")
        if not isinstance(key, str):
            raise TypeError(f"tensor keys are str, got {type(key).__name__}")
        encoded = key.encode("utf-8")
        if not encoded:
            raise ValueError("the empty key is reserved for the bundle header")
        if encoded in self._entries:
            raise ValueError(f"duplicate tensor key {key!r}")
        tensor = _prepare(key, value, self._big)
        self._entries[encoded] = None
        if self.num_shards > 1:
            self._deferred.append(tensor)
            return
        f = self._pending[0].file
        try:
            checksum = _write_tensor(f, tensor, self._big)
        except BaseException:
            self.abort()
            raise
        self._entries[encoded] = _entry_proto(tensor, 0, self._offset, checksum)
        self._offset += tensor.nbytes

    def _write_shards(self) -> None:
        """Assigns deferred tensors to shards and writes them (one thread per shard)."""
        loads = [0] * self.num_shards
        assignment: list[list[int]] = [[] for _ in range(self.num_shards)]
        order = sorted(range(len(self._deferred)), key=lambda i: -self._deferred[i].nbytes)
        for i in order:
            shard = min(range(self.num_shards), key=lambda s: (loads[s], s))
            loads[shard] += self._deferred[i].nbytes
            assignment[shard].append(i)

        def write_one(shard: int) -> list[tuple[bytes, Any]]:
            f = self._pending[shard].file
            offset = 0
            written = []
            for i in sorted(assignment[shard]):  # keep the caller's order inside a shard
                tensor = self._deferred[i]
                checksum = _write_tensor(f, tensor, self._big)
                written.append((tensor.key.encode("utf-8"),
                                _entry_proto(tensor, shard, offset, checksum)))
                offset += tensor.nbytes
            self._pending[shard].finish()
            return written

        for shard in range(self.num_shards):
            self._pending.append(PendingFile(data_filename(self.prefix, shard, self.num_shards)))
        with ThreadPoolExecutor(max_workers=min(self.num_shards, os.cpu_count() or 1)) as pool:
            for written in pool.map(write_one, range(self.num_shards)):
                self._entries.update(written)
        self._deferred = []

    def finish(self) -> str:
        """Completes the bundle; returns the index file name."""
        if self._closed:
            raise ValueError("BundleWriter is closed")
        try:
            if self.num_shards > 1:
                self._write_shards()
            for pending in self._pending:
                pending.finish()
            header = protos.BundleHeaderProto(num_shards=self.num_shards,
                                              endianness=1 if self._big else 0)
            header.version.producer = TENSOR_BUNDLE_VERSION
            items = [(b"", header.SerializeToString())]
            items += [(k, self._entries[k].SerializeToString()) for k in sorted(self._entries)]
            index_path = index_filename(self.prefix)
            folder = os.path.dirname(os.path.abspath(index_path))
            with pending_files([index_path]) as (index,):
                index.file.write(build_table(items))
                index.finish()
                # One commit at a time per folder (threads or processes saving the same
                # prefix would otherwise interleave renames: one's index over another's data).
                with commit_lock(folder):
                    # Data first, the index (the commit marker) last; overwriting a checkpoint
                    # in place keeps the previous index/data recoverable until the new pair
                    # is complete (crashsafe: a kill at any instant loses neither).
                    commit_replacing([(p.temp_path, p.path) for p in self._pending + [index]],
                                     data_pattern(self.prefix))
                    for pending in self._pending + [index]:
                        pending._done = True
            fsync_dir(folder)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return index_path

    def abort(self) -> None:
        """Deletes the temporary files; the destination files are left as they were."""
        for pending in self._pending:
            pending.discard()
        self._pending = []
        self._deferred = []
        self._closed = True


def _map_in_threads(fn: Callable[[Any], Any], items: Sequence[Any],
                    sizes: Sequence[int]) -> None:
    """Runs ``fn`` on every item; big jobs are split into two halves of about equal bytes,
    one per thread (file reads and CRCs release the GIL).  Raises the first failure."""
    if sum(sizes) < _THREAD_MIN_BYTES or len(items) < 2 or (os.cpu_count() or 1) < 2:
        for item in items:
            fn(item)
        return
    halves: list[list[Any]] = [[], []]
    loads = [0, 0]
    for i in sorted(range(len(items)), key=lambda i: -sizes[i]):
        side = 0 if loads[0] <= loads[1] else 1
        halves[side].append(items[i])
        loads[side] += sizes[i]

    def run(batch: list[Any]) -> None:
        for item in batch:
            fn(item)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in pool.map(run, halves):
            pass


def write_bundle(prefix: str | os.PathLike[str], tensors: Iterable[tuple[str, TensorLike]], *,
                 num_shards: int = 1) -> str:
    """Writes ``tensors`` (``(key, value)`` pairs, data in that order) as a bundle.

    Returns the ``.index`` file name.  See :class:`BundleWriter`.
    """
    with BundleWriter(prefix, num_shards=num_shards) as writer:
        for key, value in tensors:
            writer.add(key, value)
    return index_filename(prefix)


# ------------------------------------------------------------------------------ reading


class BundleReader:
    """Reads a bundle written by TensorFlow or :class:`BundleWriter`.

    The whole index is parsed and checked when the reader is created.  Data files are opened
    on demand, once each, and stay open until :meth:`close` (so one load reads one version of
    each file even if it is replaced meanwhile); a missing one is reported when a tensor
    stored in it is read.
    """

    def __init__(self, prefix: str | os.PathLike[str]) -> None:
        self.prefix = os.fspath(prefix)
        self.index_path = index_filename(self.prefix)
        table = read_table_file(self.index_path)
        if not table or table[0][0] != b"":
            raise CheckpointFormatError(f"{self.index_path}: no header entry (empty key) found")
        header = self._parse(protos.BundleHeaderProto, table[0][1], "header")
        version = header.version
        if (version.producer < _MIN_PRODUCER or version.min_consumer > TENSOR_BUNDLE_VERSION
                or TENSOR_BUNDLE_VERSION in version.bad_consumers):
            raise CheckpointFormatError(
                f"{self.index_path}: unsupported bundle version (producer "
                f"{version.producer}, min_consumer {version.min_consumer}, bad_consumers "
                f"{list(version.bad_consumers)}); this reader is version "
                f"{TENSOR_BUNDLE_VERSION}")
        if header.endianness not in (0, 1):
            raise CheckpointFormatError(f"{self.index_path}: unknown endianness "
                                        f"{header.endianness} in the header (expected 0 or 1)")
        if header.num_shards < 1:
            raise CheckpointFormatError(f"{self.index_path}: header says num_shards="
                                        f"{header.num_shards}, expected at least 1")
        #: Number of data files.
        self.num_shards: int = header.num_shards
        #: ``"little"`` or ``"big"``: byte order of the numeric data.
        self.endianness: str = "big" if header.endianness == 1 else "little"
        self._entries: dict[bytes, BundleEntry] = {}
        parse = protos.BundleEntryProto.FromString
        for raw_key, value in table[1:]:
            key = raw_key.decode("utf-8", "surrogateescape")
            try:
                proto = parse(value)
            except (DecodeError, RuntimeError, ValueError):
                proto = self._parse(protos.BundleEntryProto, value, f"key {key!r}")
            shape = proto.shape
            self._entries[raw_key] = BundleEntry(
                key, proto.dtype,
                tuple([d.size for d in shape.dim]) if not shape.unknown_rank else (-1,),
                proto.shard_id, proto.offset, proto.size, proto.crc32c,
                tuple(
                    tuple((e.start, e.length if e.HasField("length") else -1)
                          for e in s.extent)
                    for s in proto.slices) if proto.slices else (),
            )
        self._valid_shapes: set[tuple[int, ...]] = set()  # shapes _check_shape has passed
        parts: set[bytes] = set()
        for raw_key, entry in self._entries.items():
            for extents in entry.slices:
                parts.add(encode_tensor_name_slice(raw_key, extents))
        self._keys = [e.key for k, e in self._entries.items() if k not in parts]
        self._shard_sizes: dict[int, int] = {}
        self._fds: dict[str, int] = {}
        self._plain_checks = None  # batch_read's checks of this reader's open files
        self._fd_lock = threading.Lock()

    def _parse(self, cls: Any, value: bytes, what: str) -> Any:
        try:
            return cls.FromString(value)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise CheckpointFormatError(f"{self.index_path}: {what}: unparseable "
                                        f"{cls.DESCRIPTOR.name} ({exc})") from None

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes the data files opened so far (the reader can still be used: they reopen)."""
        with self._fd_lock:
            fds, self._fds = self._fds, {}
            self._plain_checks = None
        for fd in fds.values():
            os.close(fd)

    def __del__(self) -> None:
        if getattr(self, "_fds", None):
            self.close()

    def _fd(self, path: str, key: str) -> int:
        with self._fd_lock:
            fd = self._fds.get(path)
            if fd is None:
                try:
                    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                except FileNotFoundError:
                    raise CheckpointFormatError(f"{path}: data file not found (needed for key "
                                                f"{key!r})") from None
                self._fds[path] = fd
            return fd

    def _pread(self, path: str, entry: BundleEntry, view: memoryview, offset: int) -> int:
        """Reads into ``view`` from byte ``offset`` of ``path``; returns the count (0 at EOF)."""
        fd = self._fd(path, entry.key)
        if _HAVE_PREADV:
            return os.preadv(fd, [view], offset)
        with self._fd_lock:  # pragma: no cover - platforms without preadv (Windows)
            os.lseek(fd, offset, os.SEEK_SET)
            data = os.read(fd, len(view))
        view[: len(data)] = data
        return len(data)

    # -- metadata

    def keys(self) -> list[str]:
        """Tensor keys in bytewise order, without the header and the internal slice keys."""
        return list(self._keys)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.encode("utf-8", "surrogateescape") in self._entries

    def __len__(self) -> int:
        return len(self._keys)

    def get_entry(self, key: str) -> BundleEntry:
        """The validated metadata of ``key`` (``KeyError`` if absent)."""
        entry = self._entries.get(key.encode("utf-8", "surrogateescape"))
        if entry is None:
            raise KeyError(f"key {key!r} not found in checkpoint {self.prefix}")
        if entry.shape not in self._valid_shapes:
            self._check_shape(entry)
            self._valid_shapes.add(entry.shape)
        return entry

    def _fail(self, entry: BundleEntry, message: str, path: str | None = None) -> None:
        raise CheckpointFormatError(f"{path or self.index_path}: key {entry.key!r}: {message}")

    def _check_shape(self, entry: BundleEntry) -> None:
        # An unknown-rank shape was recorded as (-1,) at open, so it fails here too.
        if any(d < 0 for d in entry.shape):
            self._fail(entry, f"invalid shape {list(entry.shape)}: expected non-negative "
                              "dimensions and a known rank")
        count = 1
        for d in entry.shape:
            count *= d
            if count > _INT64_MAX:
                self._fail(entry, f"shape {list(entry.shape)} has more than 2**63-1 elements")

    def _numpy_dtype(self, entry: BundleEntry) -> np.dtype:
        try:
            return to_numpy_dtype(entry.dtype)
        except ValueError as exc:
            self._fail(entry, f"cannot read this tensor: {exc}")
            raise  # unreachable

    def _shard_size(self, entry: BundleEntry) -> tuple[str, int]:
        if not 0 <= entry.shard_id < self.num_shards:
            self._fail(entry, f"shard_id {entry.shard_id} out of range: the header says "
                              f"{self.num_shards} data file(s)")
        path = data_filename(self.prefix, entry.shard_id, self.num_shards)
        size = self._shard_sizes.get(entry.shard_id)
        if size is None:
            size = os.fstat(self._fd(path, entry.key)).st_size
            self._shard_sizes[entry.shard_id] = size
        return path, size

    def _check_range(self, entry: BundleEntry) -> str:
        """Checks ``[offset, offset+size)`` against the data file; returns its name."""
        path, file_size = self._shard_size(entry)
        if entry.offset < 0 or entry.size < 0:
            self._fail(entry, f"negative offset {entry.offset} or size {entry.size}", path)
        if entry.offset + entry.size > file_size:
            self._fail(entry, f"bytes [{entry.offset}, {entry.offset + entry.size}) expected "
                              f"inside the data file, but the file is only {file_size} bytes "
                              "(truncated or corrupt?)", path)
        return path

    # -- data

    def _stream(self, path: str, entry: BundleEntry) -> None:
        """Reads the entry's bytes in chunks into one small reused buffer; verifies the CRC."""
        checksum = 0
        buffer = memoryview(bytearray(min(_READ_CHUNK, entry.size) or 1))
        done = 0
        while done < entry.size:
            n = self._pread(path, entry, buffer[: min(_READ_CHUNK, entry.size - done)],
                            entry.offset + done)
            if not n:
                self._fail(entry, f"data file ended at byte {entry.offset + done}, "
                                  f"expected {entry.offset + entry.size}", path)
            checksum = crc.extend(checksum, buffer[:n])
            done += n
        self._check_crc(entry, checksum, path)

    def verify_all(self, keys: Sequence[str]) -> None:
        """:meth:`verify` every key (two threads for big loads); raises on the first error.

        Small tensors are checked in runs of neighbours (:mod:`.batch_read`); if anything
        there fails, every key is verified one by one, which raises the precise error.
        """
        rest = batch_read.verify_small(self, keys)
        if rest is None:
            rest = list(keys)
        _map_in_threads(self.verify, rest, [self.get_entry(k).size for k in rest])

    def read_all_verified(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """:meth:`read_verified` each ``(key, out)`` pair (small tensors in runs of
        neighbours, :mod:`.batch_read`; two threads for big loads)."""
        rest = batch_read.read_small(self, items)
        _map_in_threads(lambda item: self.read_verified(*item), rest,
                        [self.get_entry(key).size for key, _ in rest])

    def _read_checked(self, path: str, entry: BundleEntry, target: np.ndarray,
                      crc_message: str | None = None) -> None:
        """Reads the entry's bytes once, straight into ``target`` (uint8, C-contiguous),
        checksumming each chunk as it arrives; raises if the CRC does not match."""
        view = memoryview(target)
        checksum = 0
        done = 0
        while done < entry.size:
            n = self._pread(path, entry,
                            view[done : done + min(_READ_CHUNK, entry.size - done)],
                            entry.offset + done)
            if not n:
                self._fail(entry, f"data file ended at byte {entry.offset + done}, "
                                  f"expected {entry.offset + entry.size}", path)
            checksum = crc.extend(checksum, view[done : done + n])
            done += n
        if crc_message is not None and crc.mask(checksum) != entry.crc32c:
            self._fail(entry, crc_message, path)
        self._check_crc(entry, checksum, path)

    def verify(self, key: str) -> None:
        """Checks the stored tensor ``key`` (sizes, offsets, CRC) without keeping its bytes.

        Numeric data is streamed through the CRC in small chunks: the memory used does not
        grow with the tensor.  Raises :class:`~.errors.CheckpointFormatError` on damage.
        """
        entry = self.get_entry(key)
        dtype = self._numpy_dtype(entry)
        if entry.slices or entry.dtype == DataType.DT_STRING:
            self.read(key)
            return
        self._stream(self._check_numeric(entry, dtype), entry)

    def read_verified(self, key: str, out: np.ndarray) -> np.ndarray:
        """Copies the tensor ``key`` into ``out`` after :meth:`verify` has passed for it.

        The bytes are read once, straight into ``out``, and checksummed as they arrive: a
        data file changed in place since :meth:`verify` raises
        :class:`~.errors.CheckpointFormatError` (``out`` then holds the new, unverified
        bytes).  Sliced and string tensors fall back to :meth:`read`.
        """
        entry = self.get_entry(key)
        dtype = self._numpy_dtype(entry)
        self._check_out(entry, dtype, out)
        if entry.slices or entry.dtype == DataType.DT_STRING or not out.flags.c_contiguous:
            return self.read(key, out=out)
        path = self._check_numeric(entry, dtype)
        self._read_checked(path, entry, out.reshape(-1).view(np.uint8),
                           "data file changed while reading (checksum differs from the one "
                           "verified a moment ago)")
        if self.endianness != sys.byteorder and dtype.itemsize > 1:
            out.byteswap(inplace=True)
        return out

    def _check_crc(self, entry: BundleEntry, checksum: int, path: str) -> None:
        if crc.mask(checksum) != entry.crc32c:
            self._fail(entry, f"checksum mismatch: the index expects masked CRC-32C "
                              f"{entry.crc32c:#010x}, the {entry.size} data bytes at offset "
                              f"{entry.offset} give {crc.mask(checksum):#010x}", path)

    def _read_range(self, path: str, entry: BundleEntry) -> bytes:
        buffer = bytearray(entry.size)
        view = memoryview(buffer)
        done = 0
        while done < entry.size:
            n = self._pread(path, entry, view[done:], entry.offset + done)
            if not n:
                break
            done += n
        data = bytes(buffer[:done])
        if len(data) != entry.size:
            self._fail(entry, f"data file ended early: expected {entry.size} bytes at offset "
                              f"{entry.offset}, got {len(data)}", path)
        return data

    def _check_numeric(self, entry: BundleEntry, dtype: np.dtype) -> str:
        expected = entry.num_elements * dtype.itemsize
        if entry.size != expected:
            self._fail(entry, f"invalid size in bundle entry: stored size {entry.size}, "
                              f"expected {expected} ({entry.num_elements} elements of "
                              f"{dtype.itemsize} bytes)")
        return self._check_range(entry)

    def _decode_strings(self, path: str, entry: BundleEntry) -> list[bytes]:
        """Reads and verifies a ``DT_STRING`` entry; returns its elements in C order."""
        count = entry.num_elements
        if entry.size == 0 and count == 0:
            self._check_crc(entry, 0, path)
            return []
        # Every element takes at least one varint byte, plus the 4-byte length checksum.
        if entry.size < count + 4:
            self._fail(entry, f"invalid size in bundle entry: stored size {entry.size}, "
                              f"expected at least {count + 4} for {count} strings")
        self._check_range(entry)
        data = self._read_range(path, entry)
        order = ">" if self.endianness == "big" else "<"
        lengths = []
        pos = 0
        try:
            for _ in range(count):
                length, pos = get_varint(data, pos, len(data))
                lengths.append(length)
        except ValueError as exc:
            self._fail(entry, f"bad string length varint at byte {entry.offset + pos}: {exc}",
                       path)
        packed = b"".join(struct.pack(f"{order}I" if n <= 0xFFFFFFFF else f"{order}Q", n)
                          for n in lengths)
        checksum = crc.value(packed)
        if pos + 4 > len(data):
            self._fail(entry, "string lengths run into the end of the entry", path)
        raw_length_checksum = data[pos : pos + 4]
        (stored,) = struct.unpack(f"{order}I", raw_length_checksum)
        if crc.unmask(stored) != checksum:
            self._fail(entry, f"the string length checksum does not match: stored "
                              f"{crc.unmask(stored):#010x}, computed {checksum:#010x}", path)
        checksum = crc.extend(checksum, raw_length_checksum)
        pos += 4
        if sum(lengths) != len(data) - pos:
            self._fail(entry, f"string lengths add up to {sum(lengths)} bytes, but the entry "
                              f"has {len(data) - pos} bytes after the lengths", path)
        checksum = crc.extend(checksum, data[pos:])
        self._check_crc(entry, checksum, path)
        strings = []
        for n in lengths:
            strings.append(data[pos : pos + n])
            pos += n
        return strings

    def _check_out(self, entry: BundleEntry, dtype: np.dtype, out: Any) -> None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
        if out.shape != entry.shape:
            raise ValueError(f"key {entry.key!r}: out has shape {out.shape}, the checkpoint "
                             f"tensor has shape {entry.shape}")
        if out.dtype != dtype:  # `dtype` is in native byte order
            raise ValueError(f"key {entry.key!r}: out has dtype {out.dtype}, the checkpoint "
                             f"tensor needs {dtype} ({DataType(entry.dtype).name}) in native "
                             "byte order")
        if not out.flags.writeable:
            raise ValueError(f"key {entry.key!r}: out is read-only")

    def read(self, key: str, out: np.ndarray | None = None) -> np.ndarray:
        """Returns the tensor ``key`` as a NumPy array (``object`` array of bytes for strings).

        With ``out`` (an array of the stored shape and dtype, native byte order) the data is
        written into it and ``out`` is returned.  All checks -- sizes, offsets and the CRC --
        pass before ``out`` is touched: the bytes are first streamed through the CRC in
        chunks, then read a second time (normally from the OS page cache) straight into a
        C-contiguous ``out``, so no tensor-sized temporary is allocated.  Errors in the file
        raise :class:`~.errors.CheckpointFormatError`; an unsuitable ``out`` raises
        ``ValueError``/``TypeError``.
        """
        entry = self.get_entry(key)
        dtype = self._numpy_dtype(entry)
        if out is not None:
            self._check_out(entry, dtype, out)
        if entry.slices:
            return self._read_sliced(entry, dtype, out)
        if entry.dtype == DataType.DT_STRING:
            path = self._shard_size(entry)[0]
            strings = self._decode_strings(path, entry)
            result = out if out is not None else np.empty(entry.shape, dtype=object)
            flat = np.empty(len(strings), dtype=object)
            flat[:] = strings
            result[...] = flat.reshape(entry.shape)
            return result
        path = self._check_numeric(entry, dtype)
        if out is None:
            result = np.empty(entry.shape, dtype=dtype)  # a new array: fill, then verify
            self._read_checked(path, entry, result.reshape(-1).view(np.uint8))
        else:
            self._stream(path, entry)  # verify first, then fill the caller's buffer
            result = out
            if out.flags.c_contiguous:
                self._read_into(path, entry, out.reshape(-1).view(np.uint8))
            else:
                temp = np.empty(entry.shape, dtype=dtype)
                self._read_into(path, entry, temp.reshape(-1).view(np.uint8))
                np.copyto(out, temp)
        if self.endianness != sys.byteorder and dtype.itemsize > 1:
            result.byteswap(inplace=True)
        return result

    def _read_into(self, path: str, entry: BundleEntry, target: np.ndarray) -> None:
        view = memoryview(target)
        done = 0
        while done < entry.size:
            n = self._pread(path, entry, view[done:], entry.offset + done)
            if not n:
                self._fail(entry, "data file changed while reading", path)
            done += n

    def read_string(self, key: str) -> bytes:
        """Returns the scalar ``DT_STRING`` tensor ``key`` as ``bytes``."""
        entry = self.get_entry(key)
        if entry.dtype != DataType.DT_STRING or entry.shape != ():
            raise CheckpointFormatError(f"{self.index_path}: key {key!r} is not a scalar "
                                        f"string (dtype {entry.dtype}, shape {entry.shape})")
        return self.read(key)[()]

    def _read_sliced(self, entry: BundleEntry, dtype: np.dtype,
                     out: np.ndarray | None) -> np.ndarray:
        """Assembles a partitioned tensor from its slices (all verified before filling)."""
        full = entry.shape
        raw_key = entry.key.encode("utf-8", "surrogateescape")
        parts = []
        volume = 0
        for extents in entry.slices:
            if len(extents) != len(full):
                self._fail(entry, f"slice {list(extents)} has rank {len(extents)}, the tensor "
                                  f"has rank {len(full)}")
            region = []
            for (start, length), dim in zip(extents, full, strict=True):
                stop = dim if length == -1 else start + length
                if not 0 <= start <= stop <= dim:
                    self._fail(entry, f"slice {list(extents)} does not fit shape {list(full)}")
                region.append((start, stop))
            part_key = encode_tensor_name_slice(raw_key, extents)
            part = self._entries.get(part_key)
            if part is None:
                self._fail(entry, f"slice {list(extents)} is listed but its entry "
                                  f"{part_key!r} is missing")
            self._check_shape(part)
            shape = tuple(b - a for a, b in region)
            if part.dtype != entry.dtype or part.shape != shape or part.slices:
                self._fail(entry, f"slice entry {part_key!r} has dtype {part.dtype} and shape "
                                  f"{list(part.shape)}, expected dtype {entry.dtype} and shape "
                                  f"{list(shape)}")
            parts.append((part, tuple(slice(a, b) for a, b in region)))
            volume += math.prod(shape)
        if volume != entry.num_elements:
            self._fail(entry, f"the {len(parts)} slices hold {volume} elements, the tensor "
                              f"has {entry.num_elements}")
        # Bound memory by the data files: the slices' byte ranges must not overlap...
        ranges = []
        for part, _ in parts:
            if entry.dtype != DataType.DT_STRING:
                self._check_numeric(part, dtype)
            elif part.size < part.num_elements + 4:
                self._fail(part, f"invalid size in bundle entry: stored size {part.size}, "
                                 f"expected at least {part.num_elements + 4}")
            self._check_range(part)
            ranges.append((part.shard_id, part.offset, part.offset + part.size, part.key))
        ranges.sort()
        for (s1, _, end1, k1), (s2, start2, _, k2) in zip(ranges, ranges[1:], strict=False):
            if s1 == s2 and start2 < end1:
                self._fail(entry, f"slices {k1!r} and {k2!r} share data bytes")
        # ...and, holding as many elements as the tensor, must cover each element once.
        covered = np.zeros(full, dtype=bool)
        for _, region in parts:
            covered[region] = True
        if not covered.all():
            self._fail(entry, f"the {len(parts)} slices do not tile shape {list(full)}")
        del covered
        # Verify everything before writing anything.
        decoded: list[Any] = []
        for part, _ in parts:
            if entry.dtype == DataType.DT_STRING:
                decoded.append(self._decode_strings(self._shard_size(part)[0], part))
            else:
                path = self._check_numeric(part, dtype)
                self._stream(path, part)
                decoded.append(path)
        result = out if out is not None else np.empty(full, dtype=dtype)
        for (part, region), item in zip(parts, decoded, strict=True):
            if entry.dtype == DataType.DT_STRING:
                flat = np.empty(len(item), dtype=object)
                flat[:] = item
                result[region] = flat.reshape(part.shape)
            else:
                temp = np.empty(part.shape, dtype=dtype)
                self._read_into(item, part, temp.reshape(-1).view(np.uint8))
                if self.endianness != sys.byteorder and dtype.itemsize > 1:
                    temp.byteswap(inplace=True)
                result[region] = temp
        return result
