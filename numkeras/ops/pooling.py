"""Pooling with TensorFlow semantics (``tf.nn.max_pool`` / ``tf.nn.avg_pool``), in NumPy.

Windowed pools work on batched 1D/2D/3D inputs in either data format.  With 'same'
padding TF pads asymmetrically (extra pad at the end); padded cells never win a max
and are excluded from an average's divisor.  Max and sum are separable, so a window
is reduced one spatial axis at a time (a short loop over that axis' window taps).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._utils import (
    IntOrSeq,
    as_float,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    pad_amounts,
    tap_slice,
    window_count,
)

__all__ = [
    "avg_pool",
    "global_avg_pool",
    "global_max_pool",
    "max_pool",
]


def _spatial_axes(ndim: int, data_format: str) -> tuple[int, ...]:
    if ndim < 3:
        raise ValueError(f"Pooling needs a batched input of rank >= 3, got rank {ndim}")
    start = 1 if data_format == "channels_last" else 2
    return tuple(range(start, start + ndim - 2))


def _pool_axis(
    x: np.ndarray, axis: int, k: int, stride: int, padding: str, op: np.ufunc, pad_value: float
) -> np.ndarray:
    """Reduce ``k``-wide windows along one ``axis`` with binary ufunc ``op``."""
    before, after = pad_amounts(x.shape[axis], k, stride, padding)
    if before or after:
        widths = [(0, 0)] * x.ndim
        widths[axis] = (before, after)
        x = np.pad(x, widths, constant_values=pad_value)
    count = window_count(x.shape[axis], k, stride)
    index = [slice(None)] * x.ndim

    def tap(t: int) -> np.ndarray:
        index[axis] = tap_slice(t, 1, stride, count)
        return x[tuple(index)]

    acc = tap(0).copy()
    for t in range(1, k):
        op(acc, tap(t), out=acc)
    return acc


def _pool_args(
    x: np.ndarray,
    pool_size: IntOrSeq,
    strides: IntOrSeq | None,
    padding: str,
    data_format: str | None,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    axes = _spatial_axes(x.ndim, normalize_data_format(data_format))
    pool = normalize_tuple(pool_size, len(axes), "pool_size")
    steps = pool if strides is None else normalize_tuple(strides, len(axes), "strides")
    return axes, pool, steps, normalize_padding(padding)


def _separable_pool(
    x: np.ndarray,
    axes: Sequence[int],
    pool: Sequence[int],
    strides: Sequence[int],
    padding: str,
    op: np.ufunc,
    pad_value: float,
) -> np.ndarray:
    for axis, k, s in zip(axes, pool, strides):
        x = _pool_axis(x, axis, k, s, padding, op, pad_value)
    return x


def max_pool(
    x: ArrayLike,
    pool_size: IntOrSeq,
    strides: IntOrSeq | None = None,
    padding: str = "valid",
    data_format: str | None = "channels_last",
) -> np.ndarray:
    """Max pooling 1D/2D/3D (``tf.nn.max_pool``); ``strides=None`` means ``pool_size``.

    >>> import numpy as np
    >>> x = np.array([1, 5, 2, 4, 3], np.float32).reshape(1, 5, 1)
    >>> max_pool(x, 2, padding="same")[0, :, 0]
    array([5., 4., 3.], dtype=float32)
    """
    x = as_float(x)
    axes, pool, steps, mode = _pool_args(x, pool_size, strides, padding, data_format)
    return _separable_pool(x, axes, pool, steps, mode, np.maximum, -np.inf)


def _window_counts(
    shape: Sequence[int], pool: Sequence[int], strides: Sequence[int], padding: str, dtype
) -> list[np.ndarray]:
    """Per-axis number of real (unpadded) cells in each window."""
    return [
        _pool_axis(np.ones(n, dtype), 0, k, s, padding, np.add, 0.0)
        for n, k, s in zip(shape, pool, strides)
    ]


def avg_pool(
    x: ArrayLike,
    pool_size: IntOrSeq,
    strides: IntOrSeq | None = None,
    padding: str = "valid",
    data_format: str | None = "channels_last",
) -> np.ndarray:
    """Average pooling 1D/2D/3D (``tf.nn.avg_pool``); pads are left out of the mean.

    >>> import numpy as np
    >>> x = np.array([1, 5, 2, 4, 3], np.float32).reshape(1, 5, 1)
    >>> avg_pool(x, 2, padding="same")[0, :, 0]
    array([3., 3., 3.], dtype=float32)
    """
    x = as_float(x)
    axes, pool, steps, mode = _pool_args(x, pool_size, strides, padding, data_format)
    total = _separable_pool(x, axes, pool, steps, mode, np.add, 0.0)
    counts = _window_counts([x.shape[a] for a in axes], pool, steps, mode, x.dtype)
    divisor = counts[0]
    for c in counts[1:]:
        divisor = np.multiply.outer(divisor, c)
    trailing = x.ndim - 1 - axes[-1]
    return total / divisor.reshape(divisor.shape + (1,) * trailing)


def _global_axes(x: np.ndarray, data_format: str | None) -> tuple[int, ...]:
    return _spatial_axes(x.ndim, normalize_data_format(data_format))


def global_avg_pool(
    x: ArrayLike,
    data_format: str | None = "channels_last",
    keepdims: bool = False,
    mask: ArrayLike | None = None,
) -> np.ndarray:
    """Mean over all spatial axes (Keras ``GlobalAveragePoolingND``).

    ``mask`` (shape of ``x`` without the channel axis, e.g. ``(batch, steps)``) gives
    Keras' masked ``GlobalAveragePooling1D``: ``sum(x * mask) / sum(mask)``.  Sums are
    accumulated in float64 and rounded once to ``x``'s dtype.

    >>> import numpy as np
    >>> x = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    >>> global_avg_pool(x), global_avg_pool(x, mask=np.array([[1, 1, 0]]))
    (array([[2., 3.]], dtype=float32), array([[1., 2.]], dtype=float32))
    """
    x = as_float(x)
    fmt = normalize_data_format(data_format)
    axes = _global_axes(x, fmt)
    if mask is None:
        return np.mean(x, axis=axes, dtype=np.float64, keepdims=keepdims).astype(x.dtype)
    channel_axis = -1 if fmt == "channels_last" else 1
    m = np.expand_dims(np.asarray(mask).astype(x.dtype), channel_axis)
    num = np.sum(x * m, axis=axes, dtype=np.float64, keepdims=keepdims)
    den = np.sum(m, axis=axes, dtype=np.float64, keepdims=keepdims)
    return (num.astype(x.dtype) / den.astype(x.dtype)).astype(x.dtype)


def global_max_pool(
    x: ArrayLike, data_format: str | None = "channels_last", keepdims: bool = False
) -> np.ndarray:
    """Max over all spatial axes (Keras ``GlobalMaxPoolingND``).

    >>> import numpy as np
    >>> global_max_pool(np.arange(6, dtype=np.float32).reshape(1, 2, 3), "channels_first")
    array([[2., 5.]], dtype=float32)
    """
    x = as_float(x)
    return np.max(x, axis=_global_axes(x, data_format), keepdims=keepdims)
