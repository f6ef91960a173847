"""numkeras writes .safetensors itself (bytes straight from the arrays): the safetensors
package, the format's reference implementation, must read every dtype back exactly."""

from __future__ import annotations

import json
import struct

import ml_dtypes
import numpy as np
import pytest

from numkeras.saving import safetensors as st


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for dtype in ["float32", "float16", "float64", "int64", "int32", "int16", "int8",
                  "uint8", "uint16", "uint32", "uint64", "bool", "complex64"]:
        out[f"layer/{dtype}:0"] = (rng.standard_normal((3, 5)) * 50).astype(dtype)
    out["bf16:0"] = rng.standard_normal(7).astype(ml_dtypes.bfloat16)
    out["scalar:0"] = np.float32(2.5)
    out["empty:0"] = np.zeros((0, 4), np.float32)
    out["big_endian:0"] = np.arange(6, dtype=">f4").reshape(2, 3)
    out["strided:0"] = np.arange(20, dtype=np.float32).reshape(4, 5)[:, ::2]
    return out


def test_the_safetensors_package_reads_what_numkeras_writes(tmp_path) -> None:
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    arrays = _arrays()
    path = str(tmp_path / "w.safetensors")
    st.write(arrays, path, {"source": "test"})
    loaded = safetensors_numpy.load_file(path)
    assert sorted(loaded) == sorted(arrays)
    for name, value in arrays.items():
        assert loaded[name].dtype == np.asarray(value).dtype.newbyteorder("="), name
        np.testing.assert_array_equal(loaded[name], value)
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    assert meta["source"] == "test"
    assert json.loads(meta[st.ORDER_KEY]) == list(arrays)


def test_header_is_padded_to_eight_bytes_and_data_follows_in_order(tmp_path) -> None:
    path = str(tmp_path / "w.safetensors")
    a, b = np.arange(3, dtype=np.float32), np.arange(2, dtype=np.int64)
    st.write({"b": b, "a": a}, path)
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    header = json.loads(data[8 : 8 + n])
    assert header["b"]["data_offsets"] == [0, 16] and header["a"]["data_offsets"] == [16, 28]
    assert data[8 + n :] == b.tobytes() + a.tobytes()


def test_strings_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="numeric tensors only"):
        st.write({"s": np.array(["x"])}, str(tmp_path / "w.safetensors"))
