"""``tensorflow.DataType`` enum values and their NumPy equivalents.

Numeric tensors are stored as the raw little-endian bytes of their NumPy array, so the
mapping below is all a reader needs.  ``DT_STRING`` tensors become NumPy ``object`` arrays
of ``bytes``.  bfloat16, the float8/float4 and int4/int2 types use the ``ml_dtypes`` NumPy
types, whose one-value-per-byte layout is the one TensorFlow stores.

>>> to_numpy_dtype(DataType.DT_FLOAT)
dtype('float32')
>>> from_numpy_dtype("bfloat16").name
'DT_BFLOAT16'
>>> from_numpy_dtype(object) is DataType.DT_STRING
True
"""

from __future__ import annotations

import enum
from typing import Any

import ml_dtypes
import numpy as np

__all__ = ["DataType", "from_numpy_dtype", "itemsize", "to_numpy_dtype"]


class DataType(enum.IntEnum):
    """The ``tensorflow.DataType`` proto enum (``types.proto``), base values only."""

    DT_INVALID = 0
    DT_FLOAT = 1
    DT_DOUBLE = 2
    DT_INT32 = 3
    DT_UINT8 = 4
    DT_INT16 = 5
    DT_INT8 = 6
    DT_STRING = 7
    DT_COMPLEX64 = 8
    DT_INT64 = 9
    DT_BOOL = 10
    DT_QINT8 = 11
    DT_QUINT8 = 12
    DT_QINT32 = 13
    DT_BFLOAT16 = 14
    DT_QINT16 = 15
    DT_QUINT16 = 16
    DT_UINT16 = 17
    DT_COMPLEX128 = 18
    DT_HALF = 19
    DT_RESOURCE = 20
    DT_VARIANT = 21
    DT_UINT32 = 22
    DT_UINT64 = 23
    DT_FLOAT8_E5M2 = 24
    DT_FLOAT8_E4M3FN = 25
    DT_FLOAT8_E4M3FNUZ = 26
    DT_FLOAT8_E4M3B11FNUZ = 27
    DT_FLOAT8_E5M2FNUZ = 28
    DT_INT4 = 29
    DT_UINT4 = 30
    DT_INT2 = 31
    DT_UINT2 = 32
    DT_FLOAT4_E2M1FN = 33


_D = DataType

# The first DataType listed for a NumPy dtype is the one written for it.
_TO_NUMPY: dict[DataType, Any] = {
    _D.DT_FLOAT: np.float32,
    _D.DT_DOUBLE: np.float64,
    _D.DT_INT32: np.int32,
    _D.DT_UINT8: np.uint8,
    _D.DT_INT16: np.int16,
    _D.DT_INT8: np.int8,
    _D.DT_COMPLEX64: np.complex64,
    _D.DT_INT64: np.int64,
    _D.DT_BOOL: np.bool_,
    _D.DT_BFLOAT16: ml_dtypes.bfloat16,
    _D.DT_UINT16: np.uint16,
    _D.DT_COMPLEX128: np.complex128,
    _D.DT_HALF: np.float16,
    _D.DT_UINT32: np.uint32,
    _D.DT_UINT64: np.uint64,
    # Quantized types: plain integers on disk; read-only (never chosen for writing).
    _D.DT_QINT8: np.int8,
    _D.DT_QUINT8: np.uint8,
    _D.DT_QINT32: np.int32,
    _D.DT_QINT16: np.int16,
    _D.DT_QUINT16: np.uint16,
}
for _dt, _name in [
    (_D.DT_FLOAT8_E5M2, "float8_e5m2"),
    (_D.DT_FLOAT8_E4M3FN, "float8_e4m3fn"),
    (_D.DT_FLOAT8_E4M3FNUZ, "float8_e4m3fnuz"),
    (_D.DT_FLOAT8_E4M3B11FNUZ, "float8_e4m3b11fnuz"),
    (_D.DT_FLOAT8_E5M2FNUZ, "float8_e5m2fnuz"),
    (_D.DT_INT4, "int4"),
    (_D.DT_UINT4, "uint4"),
    (_D.DT_INT2, "int2"),
    (_D.DT_UINT2, "uint2"),
    (_D.DT_FLOAT4_E2M1FN, "float4_e2m1fn"),
]:
    if hasattr(ml_dtypes, _name):  # older ml_dtypes releases lack the newest types
        _TO_NUMPY[_dt] = getattr(ml_dtypes, _name)

_FROM_NUMPY: dict[np.dtype, DataType] = {}
for _dt, _np in _TO_NUMPY.items():
    _FROM_NUMPY.setdefault(np.dtype(_np), _dt)


_NUMPY_CACHE: dict[int, np.dtype] = {}  # DataType value -> dtype, filled on first use


def to_numpy_dtype(data_type: int) -> np.dtype:
    """Returns the (native byte order) NumPy dtype for a stored ``DataType`` value.

    ``DT_STRING`` maps to ``object``.  Raises ``ValueError`` for types that have no NumPy
    equivalent here (``DT_RESOURCE``, ``DT_VARIANT``, reference types, unknown values).

    >>> to_numpy_dtype(7), to_numpy_dtype(19)
    (dtype('O'), dtype('float16'))
    """
    known = _NUMPY_CACHE.get(data_type)
    if known is not None:
        return known
    if data_type == DataType.DT_STRING:
        return np.dtype(object)
    try:
        known = _NUMPY_CACHE[data_type] = np.dtype(_TO_NUMPY[DataType(data_type)])
        return known
    except (KeyError, ValueError):
        try:
            name = DataType(data_type).name
        except ValueError:
            name = "unknown"
        raise ValueError(f"unsupported tensor dtype {data_type} ({name})") from None


def from_numpy_dtype(dtype: Any) -> DataType:
    """Returns the ``DataType`` used to store arrays of NumPy dtype ``dtype``.

    Byte order is ignored (writers store little-endian); ``object``, ``bytes_`` and
    ``str_`` dtypes map to ``DT_STRING``.

    >>> from_numpy_dtype(">i8").name, from_numpy_dtype("S3").name
    ('DT_INT64', 'DT_STRING')
    """
    dt = np.dtype(dtype)
    if dt.kind in "OSU":
        return DataType.DT_STRING
    native = dt.newbyteorder("=") if dt.byteorder in "<>" else dt
    try:
        return _FROM_NUMPY[native]
    except KeyError:
        raise ValueError(f"NumPy dtype {dt} has no TensorFlow checkpoint equivalent") from None


def itemsize(data_type: int) -> int:
    """Bytes per element on disk of a numeric ``DataType`` (``ValueError`` for strings)."""
    if data_type == DataType.DT_STRING:
        raise ValueError("DT_STRING elements have no fixed size")
    return to_numpy_dtype(data_type).itemsize
