"""The LevelDB-style sorted table ("SSTable") used for TensorFlow's ``<prefix>.index`` files.

Layout: data blocks, an (always empty) metaindex block, an index block, then a 48-byte
footer.  Every block is followed by a 5-byte trailer: a compression byte (TensorFlow always
writes 0, "none") and the masked CRC-32C of the block bytes plus that byte.  A block is a
run of prefix-compressed entries ``varint32 shared, varint32 non_shared, varint32 value_len,
key_delta, value``, then a ``fixed32`` array of restart offsets and a ``fixed32`` count.

:class:`TableBuilder` reproduces TensorFlow's ``table::TableBuilder`` byte for byte
(256 KiB blocks, a restart point every 16 entries in data blocks and at every entry of the
index block, shortest-separator index keys).  :func:`read_table` parses a whole table,
checking every offset, length, varint and CRC against the data it was given, so malformed
input gives :class:`~.errors.CheckpointFormatError` -- never a hang, another exception type,
or an allocation larger than the input.

>>> table = build_table([(b"", b"header"), (b"a", b"1"), (b"b", b"2")])
>>> len(table), table[-8:].hex()
(112, '57fb808b247547db')
>>> read_table(table)
[(b'', b'header'), (b'a', b'1'), (b'b', b'2')]
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable

from . import crc
from .errors import CheckpointFormatError

__all__ = [
    "BLOCK_SIZE",
    "FOOTER_SIZE",
    "MAGIC",
    "TableBuilder",
    "build_table",
    "find_short_successor",
    "find_shortest_separator",
    "read_table",
    "read_table_file",
]

#: Target size of a data block (``table::Options::block_size``, unchanged by TensorFlow).
BLOCK_SIZE = 262144
#: Entries between restart points in data blocks (``block_restart_interval``).
RESTART_INTERVAL = 16
#: Size of the table footer: two padded block handles and the magic number.
FOOTER_SIZE = 48
#: ``kTableMagicNumber``, stored as two little-endian 32-bit words, low word first.
MAGIC = 0xDB4775248B80FB57
#: Compression byte + fixed32 masked CRC after every block.
TRAILER_SIZE = 5
_MAX_HANDLE_SIZE = 20  # two varint64s


# --------------------------------------------------------------------------- encoding


def put_varint(out: bytearray, value: int) -> None:
    """Appends ``value`` (>= 0) as an unsigned LEB128 varint.

    >>> buf = bytearray(); put_varint(buf, 300); bytes(buf).hex()
    'ac02'
    """
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def get_varint(data: bytes, pos: int, end: int, max_bytes: int = 10) -> tuple[int, int]:
    """Decodes a varint at ``data[pos:end]``; returns ``(value, next_pos)``.

    Raises ``ValueError`` if it runs past ``end``, is longer than ``max_bytes`` (5 for a
    varint32, 10 for a varint64), or does not fit in ``7 * max_bytes`` bits' worth of the
    target type (32 or 64 bits).

    >>> get_varint(b"\\xac\\x02", 0, 2)
    (300, 2)
    """
    limit_bits = 32 if max_bytes <= 5 else 64
    result = 0
    shift = 0
    for _ in range(max_bytes):
        if pos >= end:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >> limit_bits:
                raise ValueError(f"varint overflows {limit_bits} bits")
            return result, pos
        shift += 7
    raise ValueError(f"varint longer than {max_bytes} bytes")


def find_shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key ``k`` with ``start <= k < limit`` (TensorFlow's index-key shortening).

    >>> find_shortest_separator(b"the quick brown fox", b"the who")
    b'the r'
    >>> find_shortest_separator(b"abc", b"abcd")
    b'abc'
    """
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i >= n:  # one is a prefix of the other
        return start
    byte = start[i]
    if byte < 0xFF and byte + 1 < limit[i]:
        return start[:i] + bytes([byte + 1])
    return start


def find_short_successor(key: bytes) -> bytes:
    """A short key ``>= key``: the first non-0xff byte incremented, the rest dropped.

    >>> find_short_successor(b"optimizer/iter"), find_short_successor(b"\\xff\\xff")
    (b'p', b'\\xff\\xff')
    """
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


class _BlockBuilder:
    """One block being built (LevelDB ``BlockBuilder``)."""

    def __init__(self, restart_interval: int) -> None:
        self.restart_interval = restart_interval
        self.reset()

    def reset(self) -> None:
        self.buffer = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""

    def empty(self) -> bool:
        return not self.buffer

    def size_estimate(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter < self.restart_interval:
            last = self.last_key
            n = min(len(last), len(key))
            while shared < n and last[shared] == key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.counter = 0
        buf = self.buffer
        put_varint(buf, shared)
        put_varint(buf, len(key) - shared)
        put_varint(buf, len(value))
        buf += key[shared:]
        buf += value
        self.last_key = key
        self.counter += 1

    def finish(self) -> bytes:
        out = self.buffer
        out += struct.pack(f"<{len(self.restarts)}I", *self.restarts)
        out += struct.pack("<I", len(self.restarts))
        return bytes(out)


class TableBuilder:
    """Builds a table in memory exactly as TensorFlow's ``table::TableBuilder`` would.

    Keys must be added in strictly increasing bytewise order.  :meth:`finish` returns the
    complete file contents.

    >>> builder = TableBuilder()
    >>> builder.add(b"", bytes.fromhex("08011a020801"))
    >>> builder.finish()[-48:-40].hex()  # footer: metaindex handle (22, 8), index (35, 13)
    '1608230d00000000'
    """

    def __init__(self, *, block_size: int = BLOCK_SIZE) -> None:
        self.block_size = block_size
        self._out = bytearray()
        self._data = _BlockBuilder(RESTART_INTERVAL)
        self._index = _BlockBuilder(1)
        self._last_key = b""
        self._num_entries = 0
        self._pending_handle: bytes | None = None
        self._closed = False

    def add(self, key: bytes, value: bytes) -> None:
        """Appends one entry; ``key`` must be greater than every key added before."""
        if self._closed:
            raise ValueError("TableBuilder.add() after finish()")
        key = bytes(key)
        value = bytes(value)
        if self._num_entries > 0:
            if key <= self._last_key:
                raise ValueError(f"table keys must be strictly increasing: {key!r} after "
                                 f"{self._last_key!r}")
            if len(key) + len(value) >= 2 * self.block_size:
                self._flush()  # keep an oversized entry in a block of its own
        if self._pending_handle is not None:
            separator = find_shortest_separator(self._last_key, key)
            self._index.add(separator, self._pending_handle)
            self._pending_handle = None
        self._last_key = key
        self._num_entries += 1
        self._data.add(key, value)
        if self._data.size_estimate() >= self.block_size:
            self._flush()

    def _flush(self) -> None:
        if self._data.empty():
            return
        self._pending_handle = self._write_block(self._data)

    def _write_block(self, block: _BlockBuilder) -> bytes:
        contents = block.finish()
        block.reset()
        handle = bytearray()
        put_varint(handle, len(self._out))
        put_varint(handle, len(contents))
        checksum = crc.mask(crc.extend(crc.value(contents), b"\x00"))
        self._out += contents
        self._out += b"\x00" + struct.pack("<I", checksum)
        return bytes(handle)

    def finish(self) -> bytes:
        """Writes the last data block, the metaindex, index and footer; returns the table."""
        if self._closed:
            raise ValueError("TableBuilder.finish() called twice")
        self._flush()
        self._closed = True
        metaindex_handle = self._write_block(_BlockBuilder(RESTART_INTERVAL))
        if self._pending_handle is not None:
            self._index.add(find_short_successor(self._last_key), self._pending_handle)
            self._pending_handle = None
        index_handle = self._write_block(self._index)
        footer = (metaindex_handle + index_handle).ljust(2 * _MAX_HANDLE_SIZE, b"\x00")
        footer += struct.pack("<II", MAGIC & 0xFFFFFFFF, MAGIC >> 32)
        self._out += footer
        return bytes(self._out)


def build_table(items: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Returns the table holding ``items`` (already sorted by key, no duplicates)."""
    builder = TableBuilder()
    for key, value in items:
        builder.add(key, value)
    return builder.finish()


# --------------------------------------------------------------------------- decoding


def _decode_handle(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    offset, pos = get_varint(data, pos, end)
    size, pos = get_varint(data, pos, end)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int, limit: int, what: str) -> bytes:
    """Returns the contents of the block at ``(offset, size)`` after checking its trailer."""
    if offset > limit or size > limit - offset or TRAILER_SIZE > limit - offset - size:
        raise ValueError(f"{what} (offset {offset}, size {size} + {TRAILER_SIZE}-byte trailer)"
                         f" extends past the blocks area, which ends at byte {limit}")
    contents = data[offset : offset + size]
    kind = data[offset + size]
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    actual = crc.mask(crc.extend(crc.value(contents), bytes([kind])))
    if stored != actual:
        raise ValueError(f"{what} checksum mismatch: stored {stored:#010x}, "
                         f"computed {actual:#010x}")
    if kind != 0:
        name = {1: "Snappy"}.get(kind, "unknown")
        raise ValueError(f"{what} uses compression type {kind} ({name}); only uncompressed "
                         "blocks (type 0, what TensorFlow writes) are supported")
    return contents


def _parse_block(block: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """Decodes all entries of one block, checking every length against the block size."""
    size = len(block)
    if size < 4:
        raise ValueError(f"{what} is {size} bytes, shorter than its 4-byte restart count")
    (num_restarts,) = struct.unpack_from("<I", block, size - 4)
    if num_restarts > (size - 4) // 4:
        raise ValueError(f"{what} claims {num_restarts} restart points, but a {size}-byte "
                         f"block has room for at most {(size - 4) // 4}")
    entries_end = size - 4 - 4 * num_restarts
    restarts = set(struct.unpack_from(f"<{num_restarts}I", block, entries_end))
    entries: list[tuple[bytes, bytes]] = []
    last_key = b""
    pos = 0
    while pos < entries_end:
        start = pos
        # Lengths under 128 are one byte (nearly all of them): read those inline.
        shared = block[pos]
        if shared < 0x80 and pos + 3 <= entries_end and block[pos + 1] < 0x80 and \
                block[pos + 2] < 0x80:
            non_shared, value_len = block[pos + 1], block[pos + 2]
            pos += 3
        else:
            shared, pos = get_varint(block, pos, entries_end, 5)
            non_shared, pos = get_varint(block, pos, entries_end, 5)
            value_len, pos = get_varint(block, pos, entries_end, 5)
        if shared > len(last_key):
            raise ValueError(f"{what}: entry at byte {start} shares {shared} bytes with a "
                             f"{len(last_key)}-byte previous key")
        if start in restarts and shared:
            raise ValueError(f"{what}: entry at restart point {start} shares {shared} bytes")
        if non_shared > entries_end - pos or value_len > entries_end - pos - non_shared:
            raise ValueError(f"{what}: entry at byte {start} (key {non_shared} + value "
                             f"{value_len} bytes) runs past the entries area ({entries_end})")
        key = last_key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
        last_key = key
        restarts.discard(start)
    if entries and restarts:
        raise ValueError(f"{what}: restart offsets {sorted(restarts)[:5]} do not point at "
                         "entries")
    return entries


def read_table(data: bytes, *, filename: str = "<table>") -> list[tuple[bytes, bytes]]:
    """Parses a complete table; returns its ``(key, value)`` entries in key order.

    Every block's CRC is verified, keys must be strictly increasing, and every block must
    lie before the footer.  Problems raise :class:`~.errors.CheckpointFormatError` naming
    ``filename``.
    """
    try:
        return _read_table(bytes(data))
    except ValueError as exc:
        raise CheckpointFormatError(f"{filename}: not a valid TensorFlow index table: "
                                    f"{exc}") from None
    except (IndexError, struct.error) as exc:  # pragma: no cover - defensive, bounds checked
        raise CheckpointFormatError(f"{filename}: malformed table ({exc})") from None


def _read_table(data: bytes) -> list[tuple[bytes, bytes]]:
    size = len(data)
    if size < FOOTER_SIZE:
        raise ValueError(f"file is {size} bytes, shorter than the {FOOTER_SIZE}-byte footer")
    footer_start = size - FOOTER_SIZE
    low, high = struct.unpack_from("<II", data, size - 8)
    if (high << 32) | low != MAGIC:
        raise ValueError(f"bad magic number {data[-8:].hex()} (expected "
                         f"{struct.pack('<II', MAGIC & 0xFFFFFFFF, MAGIC >> 32).hex()})")
    meta_offset, meta_size, pos = _decode_handle(data, footer_start, size - 8)
    index_offset, index_size, _ = _decode_handle(data, pos, size - 8)
    _read_block(data, meta_offset, meta_size, footer_start, "metaindex block")
    index = _parse_block(_read_block(data, index_offset, index_size, footer_start,
                                     "index block"), "index block")
    entries: list[tuple[bytes, bytes]] = []
    previous_index_key: bytes | None = None
    for n, (index_key, handle) in enumerate(index):
        what = f"data block {n}"
        if previous_index_key is not None and index_key <= previous_index_key:
            raise ValueError(f"index keys are not increasing at {what}")
        previous_index_key = index_key
        offset, block_size, end = _decode_handle(handle, 0, len(handle))
        if end != len(handle):
            raise ValueError(f"index entry for {what} has {len(handle) - end} stray bytes")
        block_entries = _parse_block(_read_block(data, offset, block_size, footer_start,
                                                 what), what)
        for key, value in block_entries:
            if entries and key <= entries[-1][0]:
                raise ValueError(f"keys are not strictly increasing: {key!r} after "
                                 f"{entries[-1][0]!r}")
            if key > index_key:
                raise ValueError(f"key {key!r} in {what} is past its index key {index_key!r}")
            entries.append((key, value))
    return entries


def read_table_file(path: str | os.PathLike[str]) -> list[tuple[bytes, bytes]]:
    """Reads and parses the table file at ``path`` (see :func:`read_table`)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CheckpointFormatError(f"{path}: index file not found") from None
    return read_table(data, filename=path)
