"""The tensors behind ``tests/data/tf_checkpoint/``: every dtype TF bundles store, from fixed seeds.

``tests/data/make_tf_checkpoint.py`` hands them to TensorFlow's ``SaveV2`` and
``tests/saving/tf_checkpoint/test_bundle_golden.py`` writes them with numkeras and compares.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

BLOCK_SIZE = 262144  # the SSTable block size (docs/formats.md §5.4)

NUMERIC_DTYPES = [
    np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.complex64, np.complex128,
    np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_,
    ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e4m3fnuz,
    ml_dtypes.float8_e4m3b11fnuz, ml_dtypes.float8_e5m2fnuz, ml_dtypes.int4, ml_dtypes.uint4,
    ml_dtypes.int2, ml_dtypes.uint2, ml_dtypes.float4_e2m1fn,
]
#: TensorFlow's quantized dtypes (no NumPy equivalent; read as plain integers).
QUANTIZED = ["qint8", "quint8", "qint32", "qint16", "quint16"]


def numeric(rng: np.random.Generator, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "b":
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, n, dtype=dt, endpoint=True).reshape(shape)
    if dt.kind == "c":
        parts = rng.standard_normal((2, n)) * 100
        return (parts[0] + 1j * parts[1]).astype(dt).reshape(shape)
    if dt in (np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint4), np.dtype(ml_dtypes.int2),
              np.dtype(ml_dtypes.uint2)):
        info = ml_dtypes.iinfo(dt)
        return rng.integers(int(info.min), int(info.max), n, endpoint=True).astype(dt).reshape(
            shape)
    return (rng.standard_normal(n) * 4).astype(dt).reshape(shape)


def all_dtype_items(seed: int = 1234) -> list[tuple[str, Any]]:
    """Matrix, scalar, empty and cube of every dtype plus strings, in a shuffled order."""
    rng = np.random.default_rng(seed)
    items: list[tuple[str, Any]] = []
    for dt in NUMERIC_DTYPES:
        name = np.dtype(dt).name
        items.append((f"{name}/matrix", numeric(rng, dt, (3, 5))))
        items.append((f"{name}/scalar", numeric(rng, dt, ())))
        items.append((f"{name}/empty", numeric(rng, dt, (0, 4))))
        items.append((f"{name}/cube", numeric(rng, dt, (2, 3, 4))))
    items += [
        ("str/scalar", np.array(b"hello", dtype=object)),
        ("str/empty_string", np.array(b"", dtype=object)),
        ("str/vector", np.array([b"a", b"", b"\x00\xff binary", "ünïcode".encode(),
                                 b"x" * 300], dtype=object)),
        ("str/matrix", np.array([[b"ab", b"c"], [b"", b"defg"]], dtype=object)),
        ("str/zero_elements", np.empty((0, 2), dtype=object)),
    ]
    order = rng.permutation(len(items))  # data order != key order, like a real checkpoint
    return [items[i] for i in order]


def many_keys_items() -> list[tuple[str, Any]]:
    """3000 long keys: an index of several SSTable blocks."""
    return [(f"model/layer_{i:05d}/" + "k" * 150 + "/.ATTRIBUTES/VARIABLE_VALUE",
             np.full((2,), i, dtype=np.float32)) for i in range(3000)]


def large_items(seed: int = 99) -> list[tuple[str, Any]]:
    """A tensor and a key each larger than two blocks (the large-entry rule)."""
    big = np.random.default_rng(seed).standard_normal(3 * BLOCK_SIZE // 4 + 17).astype(np.float32)
    return [("a", np.arange(3, dtype=np.int64)), ("b" * (2 * BLOCK_SIZE + 5), big),
            ("c", np.ones((2, 2), np.float16)), ("big", big[::-1].copy())]


def same(a: Any, b: Any) -> bool:
    """Equal shape, dtype and bytes (strings compared as bytes)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype == object or b.dtype == object:
        return [bytes(x) for x in a.reshape(-1)] == [bytes(x) for x in b.reshape(-1)]
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()
