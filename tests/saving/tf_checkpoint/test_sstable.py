"""The LevelDB-style table of `.index` files: builder details, reader validation."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numkeras.saving.tf_checkpoint import crc
from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError
from numkeras.saving.tf_checkpoint.sstable import (
    BLOCK_SIZE,
    FOOTER_SIZE,
    TableBuilder,
    build_table,
    find_short_successor,
    find_shortest_separator,
    get_varint,
    put_varint,
    read_table,
)

HEADER = bytes.fromhex("08011a020801")


def _trailer(contents: bytes, kind: int = 0) -> bytes:
    return bytes([kind]) + struct.pack("<I", crc.mask(crc.extend(crc.value(contents),
                                                                  bytes([kind]))))


def _handles(table: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    pos = len(table) - FOOTER_SIZE
    mo, pos = get_varint(table, pos, len(table))
    ms, pos = get_varint(table, pos, len(table))
    io, pos = get_varint(table, pos, len(table))
    isz, pos = get_varint(table, pos, len(table))
    return (mo, ms), (io, isz)


def test_single_block_layout_matches_spec() -> None:
    # docs/formats.md §5.4 example's shape: one data block, empty metaindex, 1-entry index "p".
    items = [(b"", HEADER)] + [(f"optimizer/x{i}".encode(), bytes(5)) for i in range(3)]
    table = build_table(items)
    (mo, ms), (io, isz) = _handles(table)
    assert ms == 8
    assert table[mo : mo + 8] == bytes.fromhex("0000000001000000")
    assert table[mo + 8 : mo + 13] == bytes.fromhex("00c0f2a1b0")
    index = table[io : io + isz]
    # One entry: shared 0, key "p" (FindShortSuccessor), value = handle (0, data size).
    data_size = mo - 5
    handle = bytearray()
    put_varint(handle, 0)
    put_varint(handle, data_size)
    assert index == bytes([0, 1, len(handle)]) + b"p" + bytes(handle) + bytes.fromhex(
        "0000000001000000")
    assert table[-8:] == bytes.fromhex("57fb808b247547db")
    assert read_table(table) == items


def test_restart_points_every_16_entries() -> None:
    items = [(b"", HEADER)] + [(b"key%03d" % i, b"v") for i in range(40)]
    table = build_table(items)
    (mo, _), _ = _handles(table)
    block = table[: mo - 5]
    (n,) = struct.unpack_from("<I", block, len(block) - 4)
    assert n == 3  # entries 0, 16, 32
    restarts = struct.unpack_from("<3I", block, len(block) - 16)
    assert restarts[0] == 0
    for r in restarts[1:]:
        assert block[r] == 0  # shared == 0 at a restart point


def test_separators() -> None:
    assert find_shortest_separator(b"abc1", b"abc9") == b"abc2"
    assert find_shortest_separator(b"abc1", b"abc2") == b"abc1"  # no room to increment
    assert find_shortest_separator(b"ab\xff", b"ac") == b"ab\xff"
    assert find_shortest_separator(b"", b"a") == b""
    assert find_short_successor(b"save_counter/x") == b"t"
    assert find_short_successor(b"\xff\xffa") == b"\xff\xffb"
    assert find_short_successor(b"") == b""


def test_many_keys_fill_several_blocks() -> None:
    items = [(b"", HEADER)] + [(b"layer/%05d/" % i + b"k" * 200, b"v" * 20) for i in range(5000)]
    table = build_table(items)
    _, (io, isz) = _handles(table)
    assert len(table) > 4 * BLOCK_SIZE
    assert read_table(table) == items
    # Each index entry is a restart point (interval 1): shared is always zero.
    from numkeras.saving.tf_checkpoint.sstable import _parse_block

    index = _parse_block(table[io : io + isz], "index")
    assert len(index) >= 5


def test_oversized_entry_gets_its_own_block() -> None:
    big = b"b" * (2 * BLOCK_SIZE)
    items = [(b"", HEADER), (b"a", b"1"), (big, b"2"), (b"c", b"3")]
    table = build_table(items)
    from numkeras.saving.tf_checkpoint.sstable import _parse_block

    _, (io, isz) = _handles(table)
    index = _parse_block(table[io : io + isz], "index")
    assert [k for k, _ in index] == [b"a", big, b"d"]
    assert read_table(table) == items


def test_builder_rejects_unsorted_and_reuse() -> None:
    builder = TableBuilder()
    builder.add(b"b", b"")
    with pytest.raises(ValueError, match="increasing"):
        builder.add(b"a", b"")
    with pytest.raises(ValueError, match="increasing"):
        builder.add(b"b", b"")
    builder.finish()
    with pytest.raises(ValueError):
        builder.add(b"c", b"")


def test_varint_limits() -> None:
    with pytest.raises(ValueError, match="truncated"):
        get_varint(b"\x80", 0, 1)
    with pytest.raises(ValueError, match="longer"):
        get_varint(b"\x80" * 11, 0, 11)
    with pytest.raises(ValueError, match="overflows"):
        get_varint(b"\xff\xff\xff\xff\x7f", 0, 5, 5)
    assert get_varint(b"\xff\xff\xff\xff\x0f", 0, 5, 5) == (2**32 - 1, 5)


def test_every_truncation_is_a_clean_error() -> None:
    table = build_table([(b"", HEADER), (b"a", b"x" * 30), (b"b", b"y")])
    for n in range(len(table)):
        with pytest.raises(CheckpointFormatError):
            read_table(table[:n], filename="t.index")


def test_every_byte_flip_is_clean() -> None:
    items = [(b"", HEADER), (b"a", b"x" * 30), (b"b", b"y")]
    table = build_table(items)
    for i in range(len(table)):
        corrupted = bytearray(table)
        corrupted[i] ^= 0x5A
        try:
            result = read_table(bytes(corrupted))
        except CheckpointFormatError:
            continue
        # Only the footer padding is unchecked (as in TensorFlow).
        assert len(table) - FOOTER_SIZE <= i < len(table) - 8
        assert result == items


def test_snappy_block_is_rejected_clearly() -> None:
    table = bytearray(build_table([(b"", HEADER), (b"a", b"1")]))
    (mo, _), _ = _handles(bytes(table))
    data = bytes(table[: mo - 5])
    table[mo - 5 : mo] = _trailer(data, kind=1)
    with pytest.raises(CheckpointFormatError, match="compression type 1 .Snappy."):
        read_table(bytes(table), filename="x.index")


def test_handle_past_end_and_bad_restarts() -> None:
    table = bytearray(build_table([(b"", HEADER)]))
    (mo, ms), _ = _handles(bytes(table))
    # Point the index handle far past the end of the file.
    footer = bytearray(FOOTER_SIZE - 8)
    pos = bytearray()
    put_varint(pos, mo)
    put_varint(pos, ms)
    put_varint(pos, 2**62)
    put_varint(pos, 2**40)
    footer[: len(pos)] = pos
    table[-FOOTER_SIZE:-8] = footer
    with pytest.raises(CheckpointFormatError, match="extends past"):
        read_table(bytes(table))


def test_block_claiming_too_many_restarts() -> None:
    bad_block = b"\x00" * 4 + struct.pack("<I", 1000)
    data = bad_block + _trailer(bad_block)
    meta = bytes.fromhex("0000000001000000")
    out = bytearray(data)
    out += meta + _trailer(meta)
    index = bytearray([0, 1, 2]) + b"b" + bytes([0, len(bad_block)]) + \
        bytes.fromhex("0000000001000000")
    index_offset = len(out)
    out += index + _trailer(bytes(index))
    footer = bytearray()
    for v in (len(data), 8, index_offset, len(index)):
        put_varint(footer, v)
    out += footer.ljust(40, b"\x00") + bytes.fromhex("57fb808b247547db")
    with pytest.raises(CheckpointFormatError, match="restart points"):
        read_table(bytes(out))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=40), st.binary(max_size=200)),
                max_size=80, unique_by=lambda kv: kv[0]))
def test_roundtrip(items: list[tuple[bytes, bytes]]) -> None:
    items = sorted(items)
    assert read_table(build_table(items)) == items


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    candidate = data + bytes.fromhex("57fb808b247547db")
    try:
        read_table(candidate)
    except CheckpointFormatError:
        pass
