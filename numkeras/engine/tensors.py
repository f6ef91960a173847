"""``convert_to_tensor``: NumPy arrays with TensorFlow's default dtypes.

>>> convert_to_tensor([[1., 2., 3.]])
array([[1., 2., 3.]], dtype=float32)
>>> convert_to_tensor([1, 2]).dtype
dtype('int32')
>>> convert_to_tensor([1, 2], dtype="float64").dtype
dtype('float64')
"""

from __future__ import annotations

import numpy as np


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> np.ndarray:
    """An array for ``value``; Python floats become float32 and ints int32, as in TF."""
    if dtype is not None:
        return np.asarray(value, dtype=dtype)
    if isinstance(value, np.ndarray):
        return value
    arr = np.asarray(value)
    if dtype_hint is not None and arr.dtype.kind in "fiub":
        return arr.astype(dtype_hint)
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64:
        return arr.astype(np.int32)
    return arr
