"""Bundle write/read round trips without TensorFlow: inputs, out=, shards, atomicity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numkeras.saving.tf_checkpoint import bundle as bundle_module
from numkeras.saving.tf_checkpoint.bundle import (
    BundleReader,
    BundleWriter,
    data_filename,
    index_filename,
    write_bundle,
)
from numkeras.saving.tf_checkpoint.dtypes import DataType, from_numpy_dtype, to_numpy_dtype
from numkeras.saving.tf_checkpoint.sstable import read_table_file

DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.complex64, np.complex128,
          np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.bool_, ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fn]


def _bits(a: np.ndarray) -> tuple[Any, ...]:
    return a.shape, a.dtype, a.tobytes()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(st.tuples(st.sampled_from(DTYPES),
                            st.lists(st.integers(0, 4), max_size=3),
                            st.integers(0, 2**32 - 1)), min_size=1, max_size=6),
    num_shards=st.integers(1, 3),
    big=st.booleans(),
)
def test_random_numeric_roundtrip(tmp_path: Path, data: list[Any], num_shards: int,
                                  big: bool) -> None:
    items = []
    for i, (dtype, shape, seed) in enumerate(data):
        n = int(np.prod(shape))
        raw = np.random.default_rng(seed).integers(0, 256, n * np.dtype(dtype).itemsize,
                                                   dtype=np.uint8)
        if np.dtype(dtype) == np.bool_:
            raw = raw & 1
        items.append((f"t{i}", raw.view(dtype).reshape(shape)))
    prefix = str(tmp_path / f"r{num_shards}{int(big)}")
    with BundleWriter(prefix, num_shards=num_shards,
                      endianness="big" if big else "little") as writer:
        for key, value in items:
            writer.add(key, value)
    with BundleReader(prefix) as reader:
        assert reader.endianness == ("big" if big else "little")
        for key, value in items:
            assert _bits(reader.read(key)) == _bits(value)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), max_size=8), st.booleans())
def test_random_string_roundtrip(tmp_path: Path, strings: list[bytes], big: bool) -> None:
    prefix = str(tmp_path / "s")
    with BundleWriter(prefix, endianness="big" if big else "little") as writer:
        writer.add("list", strings)
        writer.add("array", np.array(strings, dtype=object).reshape(len(strings), 1))
    reader = BundleReader(prefix)
    assert reader.read("list").tolist() == strings
    assert reader.read("array").shape == (len(strings), 1)
    assert reader.read("array").reshape(-1).tolist() == strings


def test_input_forms(tmp_path: Path) -> None:
    prefix = str(tmp_path / "forms")
    write_bundle(prefix, [
        ("bytes", b"raw"),
        ("str", "ünï"),
        ("str_list", ["a", "bc"]),
        ("nested", [[b"a", b"b"], [b"c", b"d"]]),
        ("numpy_S", np.array([b"xy", b"z"])),
        ("numpy_U", np.array(["p", "qr"])),
        ("int", 3),
        ("float_list", [1.5, 2.5]),
        ("bool", True),
        ("fortran", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))),
        ("strided", np.arange(10, dtype=np.int16)[::3]),
        ("big_endian", np.arange(3, dtype=">f8")),
    ])
    r = BundleReader(prefix)
    assert r.read_string("bytes") == b"raw"
    assert r.read_string("str") == "ünï".encode()
    assert r.read("str_list").tolist() == [b"a", b"bc"]
    assert r.read("nested").tolist() == [[b"a", b"b"], [b"c", b"d"]]
    assert r.read("numpy_S").tolist() == [b"xy", b"z"]
    assert r.read("numpy_U").tolist() == [b"p", b"qr"]
    assert r.read("int").dtype == np.int64 and r.read("int") == 3
    assert r.read("float_list").tolist() == [1.5, 2.5]
    assert r.read("bool").dtype == np.bool_ and r.read("bool")
    assert r.read("fortran").tolist() == [[0, 1, 2], [3, 4, 5]]
    assert r.read("strided").tolist() == [0, 3, 6, 9]
    assert r.read("big_endian").dtype == np.float64
    assert r.read("big_endian").tolist() == [0.0, 1.0, 2.0]


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    with BundleWriter(str(tmp_path / "bad")) as writer:
        writer.add("a", np.zeros(2))
        with pytest.raises(ValueError, match="duplicate"):
            writer.add("a", np.zeros(2))
        with pytest.raises(ValueError, match="reserved"):
            writer.add("", np.zeros(2))
        with pytest.raises(ValueError, match="no TensorFlow checkpoint equivalent"):
            writer.add("c", np.zeros(2, dtype="datetime64[s]"))
        with pytest.raises(TypeError, match="bytes or str"):
            writer.add("d", np.array([b"x", 3], dtype=object))
        with pytest.raises(TypeError):
            writer.add(b"e", np.zeros(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_shards"):
        BundleWriter(str(tmp_path / "x"), num_shards=0)


def test_read_into_out(tmp_path: Path) -> None:
    prefix = str(tmp_path / "out")
    value = np.arange(12, dtype=np.float64).reshape(3, 4)
    write_bundle(prefix, [("v", value), ("s", [b"x", b"y"])])
    reader = BundleReader(prefix)
    out = np.zeros((3, 4))
    assert reader.read("v", out=out) is out
    assert out.tolist() == value.tolist()
    column_major = np.zeros((3, 4), order="F")
    reader.read("v", out=column_major)
    assert column_major.tolist() == value.tolist()
    strings = np.empty(2, dtype=object)
    assert reader.read("s", out=strings).tolist() == [b"x", b"y"]
    sentinel = np.full((3, 4), -1.0)
    for bad, message in [(np.zeros((4, 3)), "shape"), (np.zeros((3, 4), np.float32), "dtype"),
                         (np.zeros((3, 4), ">f8"), "dtype")]:
        with pytest.raises(ValueError, match=message):
            reader.read("v", out=bad)
    readonly = sentinel.copy()
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        reader.read("v", out=readonly)
    with pytest.raises(TypeError):
        reader.read("v", out=[0.0] * 12)  # type: ignore[arg-type]


def test_multi_shard_balancing_and_order(tmp_path: Path) -> None:
    sizes = [100, 10, 50, 60, 5, 40]
    items = [(f"k{i}", np.zeros(n, np.uint8)) for i, n in enumerate(sizes)]
    prefix = str(tmp_path / "m")
    write_bundle(prefix, items, num_shards=2)
    reader = BundleReader(prefix)
    loads = [0, 0]
    for key, _ in items:
        entry = reader.get_entry(key)
        loads[entry.shard_id] += entry.size
    # Largest first, each to the least-filled shard: 100->A, 60->B, 50->B, 40->A, 10->B, 5->B.
    assert sorted(loads) == [125, 140]
    # Within a shard, data keeps the caller's order.
    for shard in (0, 1):
        keys = [k for k, _ in items if reader.get_entry(k).shard_id == shard]
        offsets = [reader.get_entry(k).offset for k in keys]
        assert offsets == sorted(offsets)
    # Empty shards are fine too.
    write_bundle(str(tmp_path / "e"), [("only", np.ones(3))], num_shards=3)
    assert os.path.getsize(data_filename(str(tmp_path / "e"), 2, 3)) == 0
    assert BundleReader(str(tmp_path / "e")).read("only").tolist() == [1.0, 1.0, 1.0]


def test_index_is_written_last_and_no_temp_files_remain(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        assert os.path.basename(src).startswith(".")  # temp names are hidden files
        assert os.path.dirname(src) == os.path.dirname(dst)
        order.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_bundle(str(tmp_path / "ck"), [("a", np.ones(2)), ("b", np.ones(3))], num_shards=2)
    assert order == ["ck.data-00000-of-00002", "ck.data-00001-of-00002", "ck.index"]
    assert sorted(os.listdir(tmp_path)) == sorted(order)


def test_failed_write_leaves_previous_bundle(tmp_path: Path) -> None:
    prefix = str(tmp_path / "ck")
    write_bundle(prefix, [("a", np.ones(2))])
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}

    def tensors() -> Any:
        yield "a", np.zeros(2)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_bundle(prefix, tensors())
    after = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    assert after == before


def test_streaming_large_tensor_in_chunks(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_module, "_CHUNK", 1000)
    monkeypatch.setattr(bundle_module, "_READ_CHUNK", 1000)
    value = np.random.default_rng(0).standard_normal(10_001).astype(np.float32)
    prefix = str(tmp_path / "chunks")
    write_bundle(prefix, [("v", value)])
    reader = BundleReader(prefix)
    assert _bits(reader.read("v")) == _bits(value)
    out = np.empty_like(value)
    reader.read("v", out=out)
    assert _bits(out) == _bits(value)


def test_index_content_matches_spec_examples(tmp_path: Path) -> None:
    prefix = str(tmp_path / "spec")
    write_bundle(prefix, [("a", np.zeros((3, 4), np.float32)), ("b", np.zeros(4, np.float32)),
                          ("h", b"hello")])
    table = dict(read_table_file(index_filename(prefix)))
    assert table[b""] == bytes.fromhex("08011a020801")
    assert table[b"a"][:-4] == bytes.fromhex("0801120812020803120208042830") + b"\x35"
    assert table[b"b"][:-4] == bytes.fromhex("08011204120208042030281035")
    data = Path(data_filename(prefix, 0, 1)).read_bytes()
    assert data[64:] == bytes.fromhex("05d9c69c4368656c6c6f")
    assert BundleReader(prefix).get_entry("h").size == 10


def test_dtype_mapping() -> None:
    for dt in DTYPES:
        assert to_numpy_dtype(from_numpy_dtype(dt)) == np.dtype(dt)
    assert from_numpy_dtype(object) == DataType.DT_STRING
    assert to_numpy_dtype(DataType.DT_QINT8) == np.int8
    with pytest.raises(ValueError, match="DT_RESOURCE"):
        to_numpy_dtype(DataType.DT_RESOURCE)
    with pytest.raises(ValueError, match="unknown"):
        to_numpy_dtype(999)


def test_importing_the_package_does_not_import_protobuf() -> None:
    code = (
        "import sys\n"
        "import numkeras\n"
        "import numkeras.saving.tf_checkpoint\n"
        "import numkeras.saving.tf_checkpoint.errors, numkeras.saving.tf_checkpoint.crc\n"
        "import numkeras.saving.tf_checkpoint.sstable, numkeras.saving.tf_checkpoint.dtypes\n"
        "import numkeras.saving.tf_checkpoint.slice_keys\n"
        "assert 'google.protobuf' not in sys.modules, 'protobuf imported too early'\n"
        "import numkeras.saving.tf_checkpoint.bundle\n"
        "assert 'google.protobuf' in sys.modules\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
