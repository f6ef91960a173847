"""Malformed bundles: every problem is a CheckpointFormatError naming file and key."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from numkeras.saving.tf_checkpoint import crc, protos
from numkeras.saving.tf_checkpoint.bundle import (
    BundleReader,
    data_filename,
    index_filename,
    write_bundle,
)
from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError
from numkeras.saving.tf_checkpoint.sstable import build_table

SMALL = [
    ("w", np.arange(6, dtype=np.float32).reshape(2, 3)),
    ("s", np.array([b"ab", b"", b"cde"], dtype=object)),
    ("n", np.int64(-5)),
]


def _small_bundle(tmp_path: Path) -> str:
    prefix = str(tmp_path / "small")
    write_bundle(prefix, SMALL)
    return prefix


def _read_all(prefix: str) -> dict[str, Any]:
    with BundleReader(prefix) as reader:
        return {key: reader.read(key) for key in reader.keys()}


def _header(**overrides: Any) -> bytes:
    header = protos.BundleHeaderProto(num_shards=overrides.pop("num_shards", 1))
    header.version.producer = 1
    for name, value in overrides.items():
        if name in ("min_consumer", "producer"):
            setattr(header.version, name, value)
        elif name == "bad_consumers":
            header.version.bad_consumers.extend(value)
        else:
            setattr(header, name, value)
    return header.SerializeToString()


def _entry(dtype: int, shape: tuple[int, ...], offset: int, size: int, checksum: int = 0,
           shard_id: int = 0) -> bytes:
    entry = protos.BundleEntryProto(dtype=dtype, offset=offset, size=size, crc32c=checksum,
                                    shard_id=shard_id)
    entry.shape.SetInParent()
    for d in shape:
        entry.shape.dim.add(size=d)
    return entry.SerializeToString()


def _handmade(tmp_path: Path, entries: list[tuple[bytes, bytes]], data: bytes = b"",
              header: bytes | None = None, num_shards: int = 1) -> str:
    prefix = str(tmp_path / "hand")
    with open(index_filename(prefix), "wb") as f:
        f.write(build_table([(b"", header or _header(num_shards=num_shards)),
                             *sorted(entries)]))
    for shard in range(num_shards):
        with open(data_filename(prefix, shard, num_shards), "wb") as f:
            f.write(data)
    return prefix


def test_truncated_index_at_every_length(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    index = Path(index_filename(prefix)).read_bytes()
    for n in range(len(index)):
        Path(index_filename(prefix)).write_bytes(index[:n])
        with pytest.raises(CheckpointFormatError, match=r"small\.index"):
            BundleReader(prefix)


def test_index_byte_flips_are_clean(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    index = Path(index_filename(prefix)).read_bytes()
    for i in range(len(index)):
        corrupted = bytearray(index)
        corrupted[i] ^= 0xFF
        Path(index_filename(prefix)).write_bytes(bytes(corrupted))
        try:
            values = _read_all(prefix)
        except CheckpointFormatError:
            continue
        assert values.keys() == {"w", "s", "n"}  # an unchecked byte (footer padding)


def test_data_byte_flips_name_the_key(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    path = data_filename(prefix, 0, 1)
    data = Path(path).read_bytes()
    reader = BundleReader(prefix)
    spans = {k: (reader.get_entry(k).offset, reader.get_entry(k).size) for k in reader.keys()}
    assert sum(size for _, size in spans.values()) == len(data)
    for i in range(len(data)):
        key = next(k for k, (off, size) in spans.items() if off <= i < off + size)
        corrupted = bytearray(data)
        corrupted[i] ^= 0x01
        Path(path).write_bytes(bytes(corrupted))
        with pytest.raises(CheckpointFormatError, match=rf"small\.data.*key '{key}'"):
            BundleReader(prefix).read(key)
        others = [k for k in spans if k != key]
        for other in others:  # untouched tensors still read fine
            BundleReader(prefix).read(other)
    Path(path).write_bytes(data)
    assert _read_all(prefix)["s"].tolist() == [b"ab", b"", b"cde"]


def test_crc_error_leaves_out_untouched(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    path = data_filename(prefix, 0, 1)
    data = bytearray(Path(path).read_bytes())
    offset = BundleReader(prefix).get_entry("w").offset
    data[offset + 3] ^= 0x10
    Path(path).write_bytes(bytes(data))
    out = np.full((2, 3), 42.0, np.float32)
    with pytest.raises(CheckpointFormatError, match="checksum mismatch"):
        BundleReader(prefix).read("w", out=out)
    assert (out == 42.0).all()


def test_missing_data_file_is_named(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    os.remove(data_filename(prefix, 0, 1))
    reader = BundleReader(prefix)  # the index alone opens
    assert reader.keys() == ["n", "s", "w"]
    with pytest.raises(CheckpointFormatError, match=r"small\.data-00000-of-00001: data file "
                                                    r"not found .*'w'"):
        reader.read("w")


def test_missing_index_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointFormatError, match=r"nothing\.index: index file not found"):
        BundleReader(str(tmp_path / "nothing"))


def test_truncated_data_file(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    path = data_filename(prefix, 0, 1)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:-1])
    with pytest.raises(CheckpointFormatError, match=r"key 'n'.*file is only"):
        BundleReader(prefix).read("n")


def test_huge_size_claim_does_not_allocate(tmp_path: Path) -> None:
    size = 2**40
    prefix = _handmade(tmp_path, [
        (b"big", _entry(1, (2**38,), 0, size)),
        (b"big2d", _entry(4, (2**20, 2**20), 0, size)),
        (b"huge_strings", _entry(7, (2**40,), 0, 100)),
        (b"wrong_size", _entry(1, (4,), 0, 12)),
    ], data=bytes(100))
    reader = BundleReader(prefix)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointFormatError, match=r"key 'big'.*only 100 bytes"):
            reader.read("big")
        with pytest.raises(CheckpointFormatError, match=r"key 'big2d'.*only 100 bytes"):
            reader.read("big2d")
        with pytest.raises(CheckpointFormatError, match=r"key 'huge_strings'.*at least"):
            reader.read("huge_strings")
        with pytest.raises(CheckpointFormatError,
                           match=r"key 'wrong_size'.*stored size 12, expected 16"):
            reader.read("wrong_size")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_impossible_shapes(tmp_path: Path) -> None:
    negative = protos.BundleEntryProto(dtype=1)
    negative.shape.dim.add(size=-3)
    unknown = protos.BundleEntryProto(dtype=1)
    unknown.shape.unknown_rank = True
    prefix = _handmade(tmp_path, [
        (b"negative", negative.SerializeToString()),
        (b"overflow", _entry(1, (2**40, 2**40), 0, 0)),
        (b"unknown", unknown.SerializeToString()),
    ])
    reader = BundleReader(prefix)
    with pytest.raises(CheckpointFormatError, match=r"hand\.index: key 'negative': invalid "
                                                    r"shape \[-3\]"):
        reader.read("negative")
    with pytest.raises(CheckpointFormatError, match="key 'overflow'.*2\\*\\*63"):
        reader.get_entry("overflow")
    with pytest.raises(CheckpointFormatError, match="key 'unknown'"):
        reader.read("unknown")


@pytest.mark.parametrize("header, message", [
    (_header(min_consumer=2), "unsupported bundle version"),
    (_header(bad_consumers=[1]), "unsupported bundle version"),
    (_header(producer=-1), "unsupported bundle version"),
    (_header(num_shards=0), "num_shards=0"),
    (_header(endianness=7), "unknown endianness 7"),
    (b"\xff\xff", "unparseable BundleHeaderProto"),
])
def test_bad_headers(tmp_path: Path, header: bytes, message: str) -> None:
    prefix = _handmade(tmp_path, [], header=header)
    with pytest.raises(CheckpointFormatError, match=message):
        BundleReader(prefix)


def test_bad_entries(tmp_path: Path) -> None:
    prefix = _handmade(tmp_path, [
        (b"garbage", b"\x0a\xff\xff"),
    ])
    with pytest.raises(CheckpointFormatError, match="key 'garbage': unparseable "
                                                    "BundleEntryProto"):
        BundleReader(prefix)
    prefix = _handmade(tmp_path, [
        (b"shard", _entry(1, (1,), 0, 4, shard_id=5)),
        (b"variant", _entry(21, (1,), 0, 4)),
        (b"negative_offset", _entry(1, (1,), -8, 4)),
    ], data=bytes(16))
    reader = BundleReader(prefix)
    with pytest.raises(CheckpointFormatError, match="key 'shard': shard_id 5 out of range"):
        reader.read("shard")
    with pytest.raises(CheckpointFormatError, match="key 'variant'.*DT_VARIANT"):
        reader.read("variant")
    with pytest.raises(CheckpointFormatError, match="key 'negative_offset'.*negative offset"):
        reader.read("negative_offset")
    with pytest.raises(KeyError, match="absent"):
        reader.read("absent")


def test_string_entry_errors(tmp_path: Path) -> None:
    def strings_blob(lengths_checksum: int | None = None) -> tuple[bytes, int]:
        """One string whose length varint says 2 but which holds 3 bytes ("abc")."""
        c = crc.value((2).to_bytes(4, "little"))
        stored = (crc.mask(c) if lengths_checksum is None else lengths_checksum).to_bytes(
            4, "little")
        blob = b"\x02" + stored + b"abc"
        return blob, crc.mask(crc.extend(crc.extend(c, stored), b"abc"))

    blob, checksum = strings_blob()
    bad_blob, bad_checksum = strings_blob(lengths_checksum=1234)
    prefix = _handmade(tmp_path, [
        (b"extra", _entry(7, (1,), 0, len(blob), checksum)),
        (b"length_crc", _entry(7, (1,), len(blob), len(bad_blob), bad_checksum)),
    ], data=blob + bad_blob)
    reader = BundleReader(prefix)
    with pytest.raises(CheckpointFormatError, match="key 'extra'.*add up to 2 bytes"):
        reader.read("extra")
    with pytest.raises(CheckpointFormatError, match="key 'length_crc'.*length checksum"):
        reader.read("length_crc")


def test_sliced_entry_with_missing_slice(tmp_path: Path) -> None:
    full = protos.BundleEntryProto(dtype=1)
    full.shape.dim.add(size=4)
    full.slices.add().extent.add(start=0, length=2)
    full.slices.add().extent.add(start=2, length=2)
    prefix = _handmade(tmp_path, [(b"v", full.SerializeToString())], data=bytes(16))
    reader = BundleReader(prefix)
    assert reader.keys() == ["v"]
    out = np.full(4, 7.0, np.float32)
    with pytest.raises(CheckpointFormatError, match="key 'v': slice .* is missing"):
        reader.read("v", out=out)
    assert (out == 7.0).all()


def test_overlapping_slices_rejected(tmp_path: Path) -> None:
    from numkeras.saving.tf_checkpoint.slice_keys import encode_tensor_name_slice

    full = protos.BundleEntryProto(dtype=1)
    full.shape.dim.add(size=4)
    full.slices.add().extent.add(start=0, length=3)
    full.slices.add().extent.add(start=1, length=1)
    zeros = crc.mask(crc.value(bytes(12)))
    prefix = _handmade(tmp_path, [
        (encode_tensor_name_slice(b"v", [(0, 3)]), _entry(1, (3,), 0, 12, zeros)),
        (encode_tensor_name_slice(b"v", [(1, 1)]), _entry(1, (1,), 12, 4,
                                                           crc.mask(crc.value(bytes(4))))),
        (b"v", full.SerializeToString()),
    ], data=bytes(16))
    with pytest.raises(CheckpointFormatError, match="do not tile"):
        BundleReader(prefix).read("v")


def test_renamed_prefix_still_reads_and_wrong_shard_count(tmp_path: Path) -> None:
    prefix = _small_bundle(tmp_path)
    moved = str(tmp_path / "moved")
    shutil.copy(index_filename(prefix), index_filename(moved))
    shutil.copy(data_filename(prefix, 0, 1), data_filename(moved, 0, 1))
    assert _read_all(moved)["w"].tolist() == SMALL[0][1].tolist()
    os.rename(data_filename(moved, 0, 1), data_filename(moved, 0, 2))
    with pytest.raises(CheckpointFormatError, match="data file not found"):
        _read_all(moved)
