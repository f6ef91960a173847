"""Activations and normalisation maths with TensorFlow's float32 numerics, in NumPy.

Each activation mirrors the TF kernel behind the Keras 2 (tf-keras 2.21) activation
of the same name, including its operation order and float32 constants (e.g. ``elu``
uses ``exp(x) - 1`` as TF does, not ``expm1``).  The only float64 work is ``erf`` /
``erfc`` (no NumPy ufunc exists; a polynomial fit accurate to ~1e-11 is used) and
reductions in :func:`moments`, which accumulate in float64 and round once.

The module is long because it holds the whole family of activations side by side, each a
few lines with TF's exact numerics; they share constants and helpers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from numpy.polynomial import Chebyshev, Polynomial
from numpy.typing import ArrayLike

from ._utils import as_float

__all__ = [
    "batch_normalization",
    "channel_affine",
    "einsum",
    "elu",
    "erf",
    "erfc",
    "exponential",
    "fused_batch_norm",
    "gelu",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsumexp",
    "mish",
    "moments",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]

Axis = int | Sequence[int] | None

# ---------------------------------------------------------------------------
# erf / erfc
# ---------------------------------------------------------------------------

_ERFC_XMAX = 10.5  # erfc(10.5) ~ 7e-50: zero even as a float32 subnormal
_ERFC_DEGREE = 14  # max relative error ~1e-11 on [0, _ERFC_XMAX]
_ERFC_CHUNK = 1 << 15  # elements per block: keeps the temporaries cache-resident


@functools.cache
def _erfcx_poly() -> tuple[float, float, np.ndarray]:
    """Fit ``exp(x**2) * erfc(x)`` as a polynomial in ``u = off + scl / (1 + x / 4)``.

    A Chebyshev interpolant (nodes evaluated with :func:`math.erfc`) converted to the
    power basis of the mapped variable; returns ``(off, scl, coefficients)``.
    """

    def scaled(t: np.ndarray) -> np.ndarray:
        return np.array([math.erfc(v) * math.exp(v * v) for v in 4.0 / t - 4.0])

    domain = (1.0 / (1.0 + 0.25 * _ERFC_XMAX), 1.0)
    cheb = Chebyshev.interpolate(scaled, _ERFC_DEGREE, domain=domain)
    poly = cheb.convert(kind=Polynomial, domain=cheb.domain, window=cheb.window)
    off, scl = poly.mapparms()
    return float(off), float(scl), poly.coef


def _erfc_block(x: np.ndarray, out: np.ndarray) -> None:
    off, scl, coef = _erfcx_poly()
    a = np.minimum(np.abs(x), _ERFC_XMAX)
    u = 0.25 * a + 1.0
    np.divide(scl, u, out=u)
    u += off
    acc = np.full_like(u, coef[-1])
    for c in coef[-2::-1]:
        acc *= u
        acc += c
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    acc *= np.exp(a, out=a)
    acc[np.abs(x) > _ERFC_XMAX] = 0.0
    np.copyto(out, acc)
    np.subtract(2.0, acc, out=out, where=x < 0)


def _erfc64(x: np.ndarray) -> np.ndarray:
    """float64 ``erfc`` of a float64 array, evaluated block by block."""
    flat = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    out = np.empty_like(flat)
    for start in range(0, flat.size, _ERFC_CHUNK):
        block = slice(start, start + _ERFC_CHUNK)
        _erfc_block(flat[block], out[block])
    return out.reshape(np.shape(x))


def erfc(x: ArrayLike) -> np.ndarray:
    """Complementary error function, elementwise, in ``x``'s float dtype.

    >>> import numpy as np
    >>> print(erfc(np.array([-1.0, 0.0, 0.5], np.float32)).round(4))
    [1.8427 1.     0.4795]
    """
    x = as_float(x)
    return _erfc64(x.astype(np.float64)).astype(x.dtype)


def erf(x: ArrayLike) -> np.ndarray:
    """Error function, elementwise (Taylor series near 0, ``1 - erfc`` elsewhere).

    >>> print(erf(np.array([0.0, 0.5, -2.0], np.float32)).round(4))
    [ 0.      0.5205 -0.9953]
    """
    x = as_float(x)
    x64 = x.astype(np.float64)
    x2 = x64 * x64
    # sum_n (-1)^n x^(2n+1) / (n! (2n+1)) for |x| < 0.5, Horner in x^2 (12 terms).
    series = np.zeros_like(x64)
    for n in range(11, -1, -1):
        series = series * x2 * (-(2 * n + 1) / ((n + 1) * (2 * n + 3))) + 1.0
    small = 2.0 / math.sqrt(math.pi) * x64 * series
    return np.where(np.abs(x64) < 0.5, small, 1.0 - _erfc64(x64)).astype(x.dtype)


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def _const(value: float, x: np.ndarray) -> np.ndarray:
    return np.asarray(value, dtype=x.dtype)


def linear(x: ArrayLike) -> np.ndarray:
    """Identity activation (Keras ``linear``).

    >>> linear([1.5])
    array([1.5], dtype=float32)
    """
    return as_float(x)


def relu(
    x: ArrayLike, alpha: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> np.ndarray:
    """Keras ``backend.relu`` / ``activations.relu`` with all its options.

    ``alpha`` is the negative slope, ``max_value`` the saturation point and
    ``threshold`` the activation threshold, combined in Keras' order.

    >>> relu(np.array([-2.0, 1.0, 8.0], np.float32), alpha=0.5, max_value=6.0)
    array([-1.,  1.,  6.], dtype=float32)
    """
    x = as_float(x)
    if alpha != 0.0:
        if max_value is None and threshold == 0:
            return leaky_relu(x, alpha)
        negative = np.maximum(-x + _const(threshold, x), 0) if threshold != 0 else np.maximum(-x, 0)
    clip_max = max_value is not None
    if threshold != 0:
        y = x * (x > _const(threshold, x)).astype(x.dtype)
    elif max_value == 6:
        y, clip_max = relu6(x), False
    else:
        y = np.maximum(x, _const(0, x))
    if clip_max:
        y = np.clip(y, _const(0, x), _const(max_value, x))
    if alpha != 0.0:
        y = y - _const(alpha, x) * negative
    return y


def relu6(x: ArrayLike) -> np.ndarray:
    """``min(max(x, 0), 6)`` (``tf.nn.relu6``).

    >>> relu6(np.array([-1.0, 3.0, 9.0], np.float32))
    array([0., 3., 6.], dtype=float32)
    """
    x = as_float(x)
    return np.clip(x, _const(0, x), _const(6, x))  # one pass; NaN propagates as before


def leaky_relu(x: ArrayLike, alpha: float = 0.2) -> np.ndarray:
    """``x if x > 0 else alpha * x`` (``tf.nn.leaky_relu``; Keras' layer default is 0.3).

    >>> leaky_relu(np.array([-2.0, 3.0], np.float32), 0.3)
    array([-0.6,  3. ], dtype=float32)
    """
    x = as_float(x)
    return np.where(x > 0, x, x * _const(alpha, x))


def elu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """ELU as TF computes it: ``exp(x) - 1`` for ``x < 0``, scaled by Keras' ``alpha``.

    >>> print(elu(np.array([-1.0, 2.0], np.float32)).round(4))
    [-0.6321  2.    ]
    """
    x = as_float(x)
    res = np.where(x < 0, np.exp(x) - _const(1, x), x)
    if alpha == 1:
        return res
    return np.where(x > 0, res, _const(alpha, x) * res)


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_SCALE_ALPHA = 1.7580993408473768599402175208123


def selu(x: ArrayLike) -> np.ndarray:
    """SELU with TF's constants (``scale * alpha`` pre-multiplied, ``exp(x) - 1``).

    >>> print(selu(np.array([-1.0, 1.0], np.float32)).round(4))
    [-1.1113  1.0507]
    """
    x = as_float(x)
    neg = _const(_SELU_SCALE_ALPHA, x) * (np.exp(x) - _const(1, x))
    return np.where(x < 0, neg, _const(_SELU_SCALE, x) * x)


def gelu(x: ArrayLike, approximate: bool = False) -> np.ndarray:
    """GELU as ``tf.nn.gelu``: ``0.5 * x * erfc(-x / sqrt(2))`` or the tanh form.

    >>> x = np.array([-1.0, 0.5, 2.0], np.float32)
    >>> print(gelu(x).round(4), gelu(x, approximate=True).round(4))
    [-0.1587  0.3457  1.9545] [-0.1588  0.3457  1.9546]
    """
    x = as_float(x)
    half = _const(0.5, x)
    if approximate:
        inner = _const(0.7978845608028654, x) * (x + _const(0.044715, x) * x**3)
        return half * x * (_const(1, x) + np.tanh(inner))
    return half * x * erfc(-x * _const(0.7071067811865476, x))


def softplus(x: ArrayLike) -> np.ndarray:
    """``log(1 + exp(x))`` with TF's cut-offs (``x`` above, ``exp(x)`` below).

    >>> print(softplus(np.array([-20.0, 0.0, 20.0], np.float32)).round(4))
    [ 0.      0.6931 20.    ]
    """
    x = as_float(x)
    threshold = _const(math.log(np.finfo(x.dtype).eps) + 2.0, x)
    with np.errstate(over="ignore"):
        e = np.exp(x)
        mid = np.log1p(e)
    return np.where(x > -threshold, x, np.where(x < threshold, e, mid))


def softsign(x: ArrayLike) -> np.ndarray:
    """``x / (1 + |x|)``.

    >>> softsign(np.array([-3.0, 1.0], np.float32))
    array([-0.75,  0.5 ], dtype=float32)
    """
    x = as_float(x)
    return x / (_const(1, x) + np.abs(x))


def sigmoid(x: ArrayLike) -> np.ndarray:
    """Numerically stable logistic function (no overflow for large ``|x|``).

    >>> print(sigmoid(np.array([-100.0, 0.0, 100.0], np.float32)).round(4))
    [0.  0.5 1. ]
    """
    x = as_float(x)
    half = _const(0.5, x)
    out = np.multiply(x, half)  # 1 / (1 + exp(-x)) == (1 + tanh(x / 2)) / 2: one transcendental
    np.tanh(out, out=out)
    out += _const(1, x)
    out *= half
    return out


def swish(x: ArrayLike) -> np.ndarray:
    """``x * sigmoid(x)`` (``tf.nn.silu``; Keras ``swish``).

    >>> print(swish(np.array([-1.0, 2.0], np.float32)).round(4))
    [-0.2689  1.7616]
    """
    x = as_float(x)
    return x * sigmoid(x)  # NumPy reuses sigmoid's temporary for the product


silu = swish


def hard_sigmoid(x: ArrayLike) -> np.ndarray:
    """Keras 2's piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)``.

    >>> hard_sigmoid(np.array([-3.0, 1.0, 3.0], np.float32))
    array([0. , 0.7, 1. ], dtype=float32)
    """
    x = as_float(x)
    y = x * _const(0.2, x) + _const(0.5, x)
    return np.clip(y, _const(0, x), _const(1, x))


def tanh(x: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent.

    >>> print(tanh(np.array([0.0, 1.0], np.float32)).round(4))
    [0.     0.7616]
    """
    return np.tanh(as_float(x))


def exponential(x: ArrayLike) -> np.ndarray:
    """``exp(x)`` (Keras ``exponential``).

    >>> print(exponential(np.array([0.0, 1.0], np.float32)).round(4))
    [1.     2.7183]
    """
    return np.exp(as_float(x))


def mish(x: ArrayLike) -> np.ndarray:
    """``x * tanh(softplus(x))``.

    >>> print(mish(np.array([-1.0, 1.0], np.float32)).round(4))
    [-0.3034  0.8651]
    """
    x = as_float(x)
    return x * np.tanh(softplus(x))


def _axis(axis: Axis) -> int | tuple[int, ...] | None:
    return axis if axis is None or isinstance(axis, int) else tuple(axis)


def softmax(x: ArrayLike, axis: Axis = -1) -> np.ndarray:
    """``exp(x - max) / sum(exp(x - max))`` over ``axis`` (an int or a tuple).

    >>> print(softmax(np.array([[1.0, 2.0, 3.0]], np.float32)).round(4))
    [[0.09   0.2447 0.6652]]
    """
    x = as_float(x)
    ax = _axis(axis)
    e = np.exp(x - np.max(x, axis=ax, keepdims=True))
    return e / np.sum(e, axis=ax, keepdims=True)


def log_softmax(x: ArrayLike, axis: Axis = -1) -> np.ndarray:
    """``(x - max) - log(sum(exp(x - max)))`` over ``axis`` (``tf.nn.log_softmax``).

    >>> print(log_softmax(np.array([0.0, 0.0], np.float32)).round(4))
    [-0.6931 -0.6931]
    """
    x = as_float(x)
    ax = _axis(axis)
    shifted = x - np.max(x, axis=ax, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=ax, keepdims=True))


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
    """``tf.reduce_logsumexp``: ``log(sum(exp(x - m))) + m`` with a finite shift ``m``.

    >>> print(logsumexp(np.array([[0.0, 0.0], [1.0, -np.inf]], np.float32), axis=1).round(4))
    [0.6931 1.    ]
    """
    x = as_float(x)
    ax = _axis(axis)
    raw_max = np.max(x, axis=ax, keepdims=True)
    shift = np.where(np.isfinite(raw_max), raw_max, _const(0, x))
    out = np.log(np.sum(np.exp(x - shift), axis=ax, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=ax)


# ---------------------------------------------------------------------------
# Normalisation and contraction helpers
# ---------------------------------------------------------------------------


def moments(
    x: ArrayLike, axes: int | Sequence[int], keepdims: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over ``axes`` like ``tf.nn.moments``.

    The variance is the mean of ``(x - mean) ** 2`` using the float32-rounded mean,
    as TF does; both means accumulate in float64.

    >>> m, v = moments(np.array([[1.0, 3.0], [5.0, 7.0]], np.float32), axes=[1])
    >>> m, v
    (array([2., 6.], dtype=float32), array([1., 1.], dtype=float32))
    """
    x = as_float(x)
    ax = (axes,) if isinstance(axes, int) else tuple(axes)
    mean = np.mean(x, axis=ax, dtype=np.float64, keepdims=True).astype(x.dtype)
    sq = np.square(x - mean)
    var = np.mean(sq, axis=ax, dtype=np.float64, keepdims=keepdims).astype(x.dtype)
    return (mean if keepdims else np.squeeze(mean, axis=ax)), var


def _rsqrt(v: np.ndarray) -> np.ndarray:
    return _const(1, v) / np.sqrt(v)


def batch_normalization(
    x: ArrayLike,
    mean: ArrayLike,
    variance: ArrayLike,
    offset: ArrayLike | None,
    scale: ArrayLike | None,
    variance_epsilon: float,
) -> np.ndarray:
    """``tf.nn.batch_normalization`` in TF's order: ``x * inv + (offset - mean * inv)``.

    ``inv = rsqrt(variance + eps) * scale``.  Parameters broadcast against ``x``
    (Keras' non-fused ``BatchNormalization`` and ``LayerNormalization`` path).

    >>> batch_normalization(np.array([1.0, 3.0], np.float32), 2.0, 4.0, 1.0, 2.0, 0.0)
    array([0., 2.], dtype=float32)
    """
    x = as_float(x)
    inv = _rsqrt(np.asarray(variance, x.dtype) + _const(variance_epsilon, x))
    if scale is not None:
        inv = inv * np.asarray(scale, x.dtype)
    shift = -np.asarray(mean, x.dtype) * inv
    if offset is not None:
        shift = np.asarray(offset, x.dtype) - np.asarray(mean, x.dtype) * inv
    return x * inv + shift


def fused_batch_norm(
    x: ArrayLike,
    mean: ArrayLike,
    variance: ArrayLike,
    offset: ArrayLike | None,
    scale: ArrayLike | None,
    epsilon: float = 1e-3,
    axis: int = -1,
) -> np.ndarray:
    """Inference ``FusedBatchNorm``: ``(x - mean) * (rsqrt(var + eps) * scale) + offset``.

    ``mean``/``variance``/``offset``/``scale`` are 1-D over ``axis`` (the channel
    axis: -1 for NHWC, 1 for NCHW), matching Keras' fused ``BatchNormalization``.

    >>> fused_batch_norm(np.array([[1.0, 3.0]], np.float32), [2.0, 2.0], [4.0, 4.0],
    ...                  None, [2.0, 2.0], epsilon=0.0)
    array([[-1.,  1.]], dtype=float32)
    """
    x = as_float(x)
    ax = axis % x.ndim
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]

    def param(p: ArrayLike | None, default: float) -> np.ndarray:
        value = np.full(x.shape[ax], default, x.dtype) if p is None else np.asarray(p, x.dtype)
        return value.reshape(shape)

    factor = _rsqrt(param(variance, 1.0) + _const(epsilon, x)) * param(scale, 1.0)
    return (x - param(mean, 0.0)) * factor + param(offset, 0.0)


def channel_affine(
    x: np.ndarray,
    scale: np.ndarray | None,
    offset: np.ndarray | None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``x * scale + offset`` with 1-D ``scale``/``offset`` over the last (channel) axis.

    Two passes (multiply, then add in place); either parameter may be None.  For a
    C-contiguous ``x`` of rank >= 3, the parameters are tiled along the second-to-last
    axis so NumPy's inner loops run over whole rows rather than one pixel's few
    channels.  ``out`` (an array of ``x``'s shape, e.g. ``x`` itself) receives the result.

    >>> channel_affine(np.ones((1, 2, 2, 2), np.float32), np.array([2.0, 3.0], np.float32),
    ...                np.array([0.5, 0.0], np.float32))[0, 1]
    array([[2.5, 3. ],
           [2.5, 3. ]], dtype=float32)
    """
    rows = x
    if x.ndim >= 3 and x.flags.c_contiguous and (out is None or out.flags.c_contiguous):
        reps = x.shape[-2]
        rows = x.reshape(-1, reps * x.shape[-1])
        scale, offset = (None if p is None else np.tile(p, reps) for p in (scale, offset))
    target = None if out is None else out.reshape(rows.shape)
    if scale is not None:
        target = np.multiply(rows, scale, out=target)
    elif target is None:
        target = rows.copy()
    elif out is not x:
        np.copyto(target, rows)
    if offset is not None:
        target += offset
    return target.reshape(x.shape)


def einsum(equation: str, *operands: ArrayLike) -> np.ndarray:
    """``tf.einsum`` on NumPy arrays (BLAS-backed contraction, float32 kept).

    >>> einsum("bi,ij->bj", np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))[0]
    array([3., 3., 3., 3.], dtype=float32)
    """
    arrays = [as_float(op) for op in operands]
    out = np.einsum(equation, *arrays, optimize=True)
    return np.asarray(out, dtype=np.result_type(*arrays))
