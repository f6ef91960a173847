"""Activations that only Keras 3 has, with Keras 3's formulas (TensorFlow backend).

``keras3_hard_sigmoid`` is Keras 3's ``hard_sigmoid``, ``relu6(x + 3) / 6``; tf-keras's
``hard_sigmoid`` (``clip(0.2 * x + 0.5, 0, 1)``, :func:`numkeras.ops.nn.hard_sigmoid`) is a
different function under the same name, so numkeras keeps the two apart and a file's origin
decides which one its ``"hard_sigmoid"`` means.

>>> import numpy as np
>>> x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], np.float32)
>>> print(keras3_hard_sigmoid(x).round(4), hard_silu(x).round(4))
[0.     0.3333 0.5    0.6667 1.    ] [-0.     -0.3333  0.      0.6667  3.    ]
>>> print(celu(x).round(4), sparse_sigmoid(x))
[-0.9502 -0.6321  0.      1.      3.    ] [0.  0.  0.5 1.  1. ]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from numkeras.ops import nn
from numkeras.ops._utils import as_float

__all__ = ["celu", "glu", "hard_shrink", "hard_silu", "hard_tanh", "keras3_hard_sigmoid",
           "log_sigmoid", "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax",
           "squareplus", "tanh_shrink"]


def _c(value: float, x: np.ndarray) -> np.ndarray:
    return np.asarray(value, x.dtype)


def keras3_hard_sigmoid(x: ArrayLike) -> np.ndarray:
    """Keras 3's ``hard_sigmoid``: ``relu6(x + 3) / 6``."""
    x = as_float(x)
    return nn.relu6(x + _c(3, x)) / _c(6, x)


def hard_silu(x: ArrayLike) -> np.ndarray:
    """``x * relu6(x + 3) / 6`` (Keras 3 ``hard_silu`` / ``hard_swish``)."""
    x = as_float(x)
    return x * keras3_hard_sigmoid(x)


def log_sigmoid(x: ArrayLike) -> np.ndarray:
    """``log(sigmoid(x))`` = ``-softplus(-x)``."""
    x = as_float(x)
    return -nn.softplus(-x)


def celu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    x = as_float(x)
    a = _c(alpha, x)
    return np.maximum(x, _c(0, x)) + a * np.expm1(np.minimum(x, _c(0, x)) / a)


def glu(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """First half of ``axis`` times the sigmoid of the second half."""
    x = as_float(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis size must be divisible by 2, got shape {x.shape}.")
    a, b = np.split(x, 2, axis=axis)
    return a * nn.sigmoid(b)


def hard_shrink(x: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """``x`` where ``|x| > threshold``, else 0."""
    x = as_float(x)
    return np.where(np.abs(x) > _c(threshold, x), x, _c(0, x))


def hard_tanh(x: ArrayLike) -> np.ndarray:
    """``clip(x, -1, 1)``."""
    x = as_float(x)
    return np.clip(x, _c(-1, x), _c(1, x))


def soft_shrink(x: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """``x - t`` above ``t``, ``x + t`` below ``-t``, 0 between."""
    x = as_float(x)
    t = _c(threshold, x)
    return np.where(x > t, x - t, np.where(x < -t, x + t, _c(0, x)))


def sparse_plus(x: ArrayLike) -> np.ndarray:
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` up to 1, then ``x``."""
    x = as_float(x)
    return np.where(x <= _c(-1, x), _c(0, x),
                    np.where(x < _c(1, x), _c(0.25, x) * (x + _c(1, x)) ** 2, x))


def sparse_sigmoid(x: ArrayLike) -> np.ndarray:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    x = as_float(x)
    return np.where(x <= _c(-1, x), _c(0, x),
                    np.where(x >= _c(1, x), _c(1, x), _c(0.5, x) * (x + _c(1, x))))


def squareplus(x: ArrayLike, b: float = 4) -> np.ndarray:
    """``(x + sqrt(x^2 + b)) / 2``."""
    x = as_float(x)
    return (x + np.sqrt(np.square(x) + _c(b, x))) / _c(2, x)


def tanh_shrink(x: ArrayLike) -> np.ndarray:
    """``x - tanh(x)``."""
    x = as_float(x)
    return x - np.tanh(x)


def sparsemax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """Sparsemax as Keras 3.15 computes it: ``max(x - tau, 0)`` along ``axis``, where ``k``
    counts the sorted entries ``z_j`` with ``z_j > (cumsum_j - 1) / j`` and ``tau`` is the sum
    of those entries' running sums ``cumsum_j``, minus 1, over ``k``. (Martins & Astudillo's
    ``tau`` takes the one running sum at ``k``; the two agree when ``k`` is 1. Keras 3 files
    mean Keras 3's numbers, so this follows Keras 3.)

    >>> sparsemax(np.array([[2.0, 1.0, -1.0], [0.1, 0.2, 0.3]], np.float32)).round(4)
    array([[1.    , 0.    , 0.    ],
           [0.    , 0.0667, 0.1667]], dtype=float32)
    """
    x = as_float(x)
    ranked = np.flip(np.sort(x, axis=axis), axis=axis)
    running = np.cumsum(ranked, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    j = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = ranked - (running - _c(1, x)) / j > 0
    k = np.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    tau = (np.sum(np.where(support, running, _c(0, x)), axis=axis, keepdims=True) - _c(1, x)) / k
    return np.maximum(x - tau, _c(0, x))
