"""Small tensors are verified and read in runs of neighbours (``batch_read``): same values,
same errors as the per-tensor path, a data file changed between the passes is caught."""

from __future__ import annotations

import os
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from numkeras.saving.tf_checkpoint import batch_read
from numkeras.saving.tf_checkpoint.bundle import BundleReader, BundleWriter, data_filename
from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError


def _values(count: int = 300) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    dtypes = [np.float32, np.float16, np.int64, np.bool_, np.float64, np.uint8,
              ml_dtypes.bfloat16]
    out = {}
    for i in range(count):
        dtype = dtypes[i % len(dtypes)]
        shape = [(3,), (2, 5), (), (0,), (4, 1, 2)][i % 5]
        out[f"t{i:04d}"] = (rng.standard_normal(shape) * 10).astype(dtype)
    out["big"] = rng.standard_normal(batch_read.SMALL // 4 + 7).astype(np.float32)
    return out


def _write(prefix: str, values: dict, endianness: str = "little") -> None:
    keys = list(values)
    np.random.default_rng(1).shuffle(keys)  # data order differs from key order
    with BundleWriter(prefix, endianness=endianness) as writer:
        writer.add("a_string", b"not numeric")
        for key in keys:
            writer.add(key, values[key])


def _load(prefix: str, keys: list[str]) -> dict[str, np.ndarray]:
    with BundleReader(prefix) as reader:
        outs = {k: np.zeros(reader.get_entry(k).shape, reader.get_entry(k).numpy_dtype)
                for k in keys}
        reader.verify_all(keys)
        reader.read_all_verified(list(outs.items()))
    return outs


@pytest.mark.parametrize("endianness", ["little", "big"])
def test_values_as_written(tmp_path: Path, endianness: str) -> None:
    values = _values()
    prefix = str(tmp_path / "ckpt")
    _write(prefix, values, endianness)
    keys = list(values)[::-1]
    loaded = _load(prefix, keys[::2])  # every other tensor: runs with gaps
    for key in keys[::2]:
        np.testing.assert_array_equal(loaded[key], values[key])
        assert loaded[key].dtype == values[key].dtype


def test_neighbours_are_read_together(tmp_path: Path, monkeypatch) -> None:
    values = _values(1000)
    del values["big"]
    prefix = str(tmp_path / "ckpt")
    _write(prefix, values)
    calls = []
    real = os.preadv
    monkeypatch.setattr(batch_read.os, "preadv",
                        lambda fd, bufs, off: calls.append(len(bufs)) or real(fd, bufs, off))
    loaded = _load(prefix, list(values))
    assert all(np.array_equal(loaded[k], v) for k, v in values.items())
    # 1,000 tensors of at most 80 bytes: a read per run of up to 256 tensors in each pass
    # (4 + 4 calls), not one or two per tensor.
    assert len(calls) <= 8, calls


def _flip(prefix: str, reader_key: str) -> None:
    with BundleReader(prefix) as reader:
        entry = reader.get_entry(reader_key)
    path = data_filename(prefix, 0, 1)
    with open(path, "r+b") as f:
        f.seek(entry.offset + entry.size // 2)
        byte = f.read(1)
        f.seek(entry.offset + entry.size // 2)
        f.write(bytes([byte[0] ^ 0x10]))


def test_a_damaged_small_tensor_raises_the_per_tensor_error(tmp_path: Path) -> None:
    values = _values()
    prefix = str(tmp_path / "ckpt")
    _write(prefix, values)
    _flip(prefix, "t0121")
    with BundleReader(prefix) as reader, pytest.raises(CheckpointFormatError) as one:
        reader.verify("t0121")
    with BundleReader(prefix) as reader, pytest.raises(CheckpointFormatError) as batched:
        reader.verify_all(list(values))
    assert str(batched.value) == str(one.value)
    assert "t0121" in str(one.value) and "checksum mismatch" in str(one.value)


def test_data_file_changed_between_the_passes(tmp_path: Path) -> None:
    values = _values()
    prefix = str(tmp_path / "ckpt")
    _write(prefix, values)
    keys = [k for k in values if k != "big"]
    with BundleReader(prefix) as reader:
        outs = [(k, np.zeros(values[k].shape, values[k].dtype)) for k in keys]
        reader.verify_all(keys)
        _flip(prefix, "t0042")  # same file, changed in place after the verify pass
        with pytest.raises(CheckpointFormatError, match="t0042.*changed while reading"):
            reader.read_all_verified(outs)


def test_data_file_truncated_between_the_passes(tmp_path: Path) -> None:
    values = _values()
    del values["big"]
    prefix = str(tmp_path / "ckpt")
    _write(prefix, values)
    with BundleReader(prefix) as reader:
        outs = [(k, np.zeros(v.shape, v.dtype)) for k, v in values.items()]
        reader.verify_all(list(values))
        os.truncate(data_filename(prefix, 0, 1), 100)
        with pytest.raises(CheckpointFormatError, match="ended"):
            reader.read_all_verified(outs)


def test_unsuitable_out_raises_before_reading(tmp_path: Path) -> None:
    values = _values(20)
    prefix = str(tmp_path / "ckpt")
    _write(prefix, values)
    outs = [(k, np.full(v.shape, 7, v.dtype)) for k, v in values.items()]
    outs[5] = (outs[5][0], np.zeros((9, 9), np.float32))
    before = [out.copy() for _, out in outs]
    with BundleReader(prefix) as reader, pytest.raises(ValueError, match="out has shape"):
        reader.read_all_verified(outs)
    assert all(np.array_equal(a, b) for (_, a), b in zip(outs, before, strict=True))
