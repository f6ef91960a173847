"""Convolutions with TensorFlow semantics, in pure NumPy.

Kernels use the Keras layouts:

* :func:`conv` -- ``(*kernel_size, in_channels // groups, filters)``
* :func:`conv_transpose` -- ``(*kernel_size, filters, in_channels)``
* :func:`depthwise_conv` -- ``(*kernel_size, in_channels, depth_multiplier)``
* :func:`separable_conv` -- depthwise kernel as above plus a pointwise kernel
  ``(1, ..., 1, in_channels * depth_multiplier, filters)``

Inputs are batched: ``(batch, *spatial, channels)`` for ``channels_last`` and
``(batch, channels, *spatial)`` for ``channels_first``.  'same' padding is TF's
asymmetric rule (the odd extra pad goes at the end); 'causal' (1D only) left-pads
``dilation * (kernel - 1)``.  Bias addition is left to the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from ._utils import (
    IntOrSeq,
    as_float,
    check_rank,
    effective_size,
    from_channels_last,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    pad_spatial,
    tap_slice,
    to_channels_last,
    window_count,
)

__all__ = [
    "conv",
    "conv_output_length",
    "conv_transpose",
    "deconv_output_length",
    "depthwise_conv",
    "separable_conv",
]

#: Largest im2col patch matrix (in elements) built in one go; bigger convolutions
#: accumulate one matmul per kernel tap instead, bounding memory use.
IM2COL_MAX_ELEMENTS = 1 << 25


def conv_output_length(
    input_length: int | None, filter_size: int, padding: str, stride: int, dilation: int = 1
) -> int | None:
    """Output length of a convolution (Keras ``conv_utils.conv_output_length``).

    >>> conv_output_length(7, 3, "same", 2), conv_output_length(7, 3, "valid", 2, dilation=2)
    (4, 2)
    """
    if input_length is None:
        return None
    mode = normalize_padding(padding, ("valid", "same", "causal", "full"))
    eff = effective_size(filter_size, dilation)
    if mode in ("same", "causal"):
        length = input_length
    elif mode == "valid":
        length = input_length - eff + 1
    else:
        length = input_length + eff - 1
    return (length + stride - 1) // stride


def deconv_output_length(
    input_length: int | None,
    filter_size: int,
    padding: str,
    output_padding: int | None = None,
    stride: int = 0,
    dilation: int = 1,
) -> int | None:
    """Output length of a transposed conv (Keras ``conv_utils.deconv_output_length``).

    >>> deconv_output_length(5, 3, "same", stride=2), deconv_output_length(5, 3, "valid", 1, 2)
    (10, 12)
    """
    if input_length is None:
        return None
    mode = normalize_padding(padding, ("valid", "same", "full"))
    eff = effective_size(filter_size, dilation)
    if output_padding is None:
        if mode == "valid":
            return input_length * stride + max(eff - stride, 0)
        if mode == "full":
            return input_length * stride - (stride + eff - 2)
        return input_length * stride
    pad = {"same": eff // 2, "valid": 0, "full": eff - 1}[mode]
    return (input_length - 1) * stride + eff - 2 * pad + output_padding


def _spatial_args(
    x: np.ndarray, kernel: np.ndarray, strides: IntOrSeq, dilation_rate: IntOrSeq
) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    n = kernel.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(f"Kernel must have rank 3, 4 or 5, got shape {kernel.shape}")
    check_rank(x, n)
    return (
        n,
        normalize_tuple(strides, n, "strides"),
        normalize_tuple(dilation_rate, n, "dilation_rate"),
    )


def _conv_padding(padding: str, n: int) -> str:
    return normalize_padding(padding, ("valid", "same", "causal") if n == 1 else ("valid", "same"))


def _output_spatial(
    xp: np.ndarray, ksize: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> tuple[int, ...]:
    return tuple(
        window_count(xp.shape[1 + i], effective_size(k, d), s)
        for i, (k, s, d) in enumerate(zip(ksize, strides, dilation))
    )


def _tap_view(
    xp: np.ndarray,
    tap: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    out_sp: Sequence[int],
) -> np.ndarray:
    """``xp[:, taps..., :]``: the input pixels that kernel tap ``tap`` sees."""
    spatial = tuple(tap_slice(*args) for args in zip(tap, dilation, strides, out_sp))
    return xp[(slice(None), *spatial, slice(None))]


def _group_matmul(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(m, G, k) x (G, k, f) -> (m, G * f)``: one BLAS matmul per group."""
    if a.shape[1] == 1:
        return a[:, 0, :] @ w[0]
    out = np.matmul(a.transpose(1, 0, 2), w)
    return out.transpose(1, 0, 2).reshape(a.shape[0], -1)


def _conv_im2col(
    xp: np.ndarray, kernel: np.ndarray, strides: Sequence[int], dilation: Sequence[int], groups: int
) -> np.ndarray:
    n = kernel.ndim - 2
    ksize = kernel.shape[:n]
    eff = [effective_size(k, d) for k, d in zip(ksize, dilation)]
    win = sliding_window_view(xp, eff, axis=tuple(range(1, n + 1)))
    picks = (
        (slice(None),)
        + tuple(slice(None, None, s) for s in strides)
        + (slice(None),)
        + tuple(slice(None, None, d) for d in dilation)
    )
    patches = win[picks]  # (batch, *out, channels, *kernel_size), a strided view
    lead = patches.shape[: n + 1]
    # Split channels into (groups, channels/group) and gather tap-major, channel-minor
    # rows: the copy then moves contiguous channel runs and matches the kernel layout.
    split = patches.reshape(*lead, groups, -1, *ksize)
    order = (*range(n + 2), *range(n + 3, 2 * n + 3), n + 2)
    cols = split.transpose(order).reshape(math.prod(lead), groups, -1)
    w = kernel.reshape(-1, groups, kernel.shape[-1] // groups)
    return _group_matmul(cols, w.transpose(1, 0, 2))


def _conv_by_taps(
    xp: np.ndarray,
    kernel: np.ndarray,
    strides: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    out_sp: Sequence[int],
) -> np.ndarray:
    n = kernel.ndim - 2
    ksize, cg, filters = kernel.shape[:n], kernel.shape[-2], kernel.shape[-1]
    rows = xp.shape[0] * math.prod(out_sp)
    w_taps = kernel.reshape(-1, cg, groups, filters // groups).transpose(0, 2, 1, 3)
    out = np.zeros((rows, filters), dtype=xp.dtype)
    for t, tap in enumerate(np.ndindex(*ksize)):
        xs = _tap_view(xp, tap, strides, dilation, out_sp).reshape(rows, groups, cg)
        out += _group_matmul(xs, w_taps[t])
    return out


def _conv_channels_last(
    xp: np.ndarray, kernel: np.ndarray, strides: Sequence[int], dilation: Sequence[int], groups: int
) -> np.ndarray:
    n = kernel.ndim - 2
    out_sp = _output_spatial(xp, kernel.shape[:n], strides, dilation)
    rows = xp.shape[0] * math.prod(out_sp)
    if rows * xp.shape[-1] * math.prod(kernel.shape[:n]) <= IM2COL_MAX_ELEMENTS:
        out = _conv_im2col(xp, kernel, strides, dilation, groups)
    else:
        out = _conv_by_taps(xp, kernel, strides, dilation, groups, out_sp)
    return out.reshape(xp.shape[0], *out_sp, kernel.shape[-1])


def _check_groups(in_channels: int, kernel: np.ndarray, groups: int) -> None:
    cg, filters = kernel.shape[-2], kernel.shape[-1]
    if groups < 1 or cg * groups != in_channels or filters % groups:
        raise ValueError(
            f"Kernel {kernel.shape} with groups={groups} does not match "
            f"{in_channels} input channels (filters must also divide by groups)"
        )


def conv(
    x: ArrayLike,
    kernel: ArrayLike,
    strides: IntOrSeq = 1,
    padding: str = "valid",
    dilation_rate: IntOrSeq = 1,
    data_format: str | None = "channels_last",
    groups: int = 1,
) -> np.ndarray:
    """N-D convolution (N = 1, 2, 3) matching ``tf.nn.convolution`` / Keras ``ConvND``.

    ``kernel`` has shape ``(*kernel_size, in_channels // groups, filters)``; the rank
    of the kernel selects 1D/2D/3D.  ``padding`` is 'valid', 'same' or (1D only)
    'causal'.  Grouped convolution splits input channels and filters into ``groups``
    contiguous blocks, as TF does.  Strides and dilation may both exceed 1 (TF
    itself rejects that combination).

    >>> import numpy as np
    >>> x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    >>> conv(x, np.ones((3, 1, 1), np.float32), padding="same")[0, :, 0]
    array([1., 3., 6., 9., 7.], dtype=float32)
    >>> conv(x, np.ones((2, 1, 1), np.float32), padding="causal", dilation_rate=2)[0, :, 0]
    array([0., 1., 2., 4., 6.], dtype=float32)
    """
    x = as_float(x)
    kernel = np.asarray(kernel, dtype=x.dtype)
    n, strides, dilation = _spatial_args(x, kernel, strides, dilation_rate)
    mode, fmt = _conv_padding(padding, n), normalize_data_format(data_format)
    xl = to_channels_last(x, fmt)
    _check_groups(xl.shape[-1], kernel, groups)
    xp = pad_spatial(xl, kernel.shape[:n], strides, dilation, mode, range(1, n + 1))
    return from_channels_last(_conv_channels_last(xp, kernel, strides, dilation, groups), fmt)


def _transpose_output_spatial(
    in_sp: Sequence[int],
    ksize: Sequence[int],
    output_shape: IntOrSeq | None,
    strides: Sequence[int],
    padding: str,
    output_padding: IntOrSeq | None,
    dilation: Sequence[int],
) -> tuple[int, ...]:
    n = len(in_sp)
    if output_shape is None:
        pads = (None,) * n
        if output_padding is not None:
            pads = normalize_tuple(output_padding, n, "output_padding", min_value=0)
        out = tuple(
            deconv_output_length(*args)
            for args in zip(in_sp, ksize, (padding,) * n, pads, strides, dilation)
        )
    else:
        out = normalize_tuple(output_shape, n, "output_shape")
    for o, i, k, s, d in zip(out, in_sp, ksize, strides, dilation):
        if o < 1 or conv_output_length(o, k, padding, s, d) != i:
            raise ValueError(
                f"Transposed-conv output size {o} is inconsistent with input size {i} "
                f"(kernel {k}, stride {s}, dilation {d}, padding {padding!r})"
            )
    return out


def conv_transpose(
    x: ArrayLike,
    kernel: ArrayLike,
    output_shape: IntOrSeq | None = None,
    strides: IntOrSeq = 1,
    padding: str = "valid",
    output_padding: IntOrSeq | None = None,
    dilation_rate: IntOrSeq = 1,
    data_format: str | None = "channels_last",
) -> np.ndarray:
    """Transposed convolution (1D/2D/3D) matching ``tf.nn.conv{1,2,3}d_transpose``.

    ``kernel`` has the Keras layout ``(*kernel_size, filters, in_channels)``.
    ``output_shape`` is the spatial output size only; when None it follows Keras'
    ``deconv_output_length`` rule using ``output_padding`` (None = inferred).  Like TF,
    the SAME padding is that of the forward convolution mapping the output back to
    the input (extra pad at the end).  Note that Keras' ``Conv3DTranspose`` ignores
    its ``dilation_rate``: pass 1 here to reproduce that layer.

    >>> import numpy as np
    >>> x = np.array([[[1.0], [2.0]]], np.float32)
    >>> conv_transpose(x, np.ones((2, 1, 1), np.float32), strides=2)[0, :, 0]
    array([1., 1., 2., 2.], dtype=float32)
    >>> conv_transpose(x, np.ones((3, 1, 1), np.float32), padding="same")[0, :, 0]
    array([3., 3.], dtype=float32)
    """
    x = as_float(x)
    kernel = np.asarray(kernel, dtype=x.dtype)
    n, strides, dilation = _spatial_args(x, kernel, strides, dilation_rate)
    mode, fmt = normalize_padding(padding), normalize_data_format(data_format)
    xl = to_channels_last(x, fmt)
    ksize, filters, cin = kernel.shape[:n], kernel.shape[-2], kernel.shape[-1]
    if xl.shape[-1] != cin:
        raise ValueError(f"Kernel {kernel.shape} expects {cin} input channels, got {xl.shape}")
    in_sp = xl.shape[1 : n + 1]
    out_sp = _transpose_output_spatial(
        in_sp, ksize, output_shape, strides, mode, output_padding, dilation
    )
    contrib = (xl.reshape(-1, cin) @ kernel.reshape(-1, cin).T).reshape(
        xl.shape[0], *in_sp, *ksize, filters
    )
    eff = [effective_size(k, d) for k, d in zip(ksize, dilation)]
    full = [(i - 1) * s + e for i, s, e in zip(in_sp, strides, eff)]
    before = [max(f - o, 0) // 2 if mode == "same" else 0 for f, o in zip(full, out_sp)]
    size = [max(f, b + o) for f, b, o in zip(full, before, out_sp)]
    acc = np.zeros((xl.shape[0], *size, filters), dtype=x.dtype)
    for tap in np.ndindex(*ksize):
        spatial = tuple(tap_slice(*args) for args in zip(tap, dilation, strides, in_sp))
        acc[(slice(None), *spatial, slice(None))] += contrib[(Ellipsis, *tap, slice(None))]
    crop = tuple(slice(b, b + o) for b, o in zip(before, out_sp))
    return from_channels_last(acc[(slice(None), *crop, slice(None))], fmt)


def depthwise_conv(
    x: ArrayLike,
    depthwise_kernel: ArrayLike,
    strides: IntOrSeq = 1,
    padding: str = "valid",
    dilation_rate: IntOrSeq = 1,
    data_format: str | None = "channels_last",
) -> np.ndarray:
    """Depthwise convolution (1D/2D/3D) matching ``tf.nn.depthwise_conv2d``.

    ``depthwise_kernel`` is ``(*kernel_size, in_channels, depth_multiplier)``; output
    channel ``c * depth_multiplier + m`` is input channel ``c`` filtered by kernel
    ``[..., c, m]`` (TF's order).  'causal' padding is accepted for 1D.

    >>> import numpy as np
    >>> y = depthwise_conv(np.ones((1, 3, 3, 2), np.float32), np.ones((2, 2, 2, 3), np.float32))
    >>> y.shape, float(y.max())
    ((1, 2, 2, 6), 4.0)
    """
    x = as_float(x)
    kernel = np.asarray(depthwise_kernel, dtype=x.dtype)
    n, strides, dilation = _spatial_args(x, kernel, strides, dilation_rate)
    mode, fmt = _conv_padding(padding, n), normalize_data_format(data_format)
    xl = to_channels_last(x, fmt)
    channels, multiplier = kernel.shape[-2:]
    if xl.shape[-1] != channels:
        raise ValueError(f"Depthwise kernel {kernel.shape} does not match input {xl.shape}")
    xp = pad_spatial(xl, kernel.shape[:n], strides, dilation, mode, range(1, n + 1))
    out_sp = _output_spatial(xp, kernel.shape[:n], strides, dilation)
    # One (batch, *out, channels) accumulator per multiplier keeps the inner loops
    # contiguous over channels; output channel c * multiplier + m is interleaved last.
    acc = np.zeros((multiplier, xl.shape[0], *out_sp, channels), dtype=x.dtype)
    tmp = np.empty_like(acc[0])
    for tap in np.ndindex(*kernel.shape[:n]):
        xs = _tap_view(xp, tap, strides, dilation, out_sp)
        for m in range(multiplier):
            acc[m] += np.multiply(xs, kernel[(*tap, slice(None), m)], out=tmp)
    out = acc[0] if multiplier == 1 else np.stack(list(acc), axis=-1)
    return from_channels_last(out.reshape(*out.shape[: n + 1], -1), fmt)


def separable_conv(
    x: ArrayLike,
    depthwise_kernel: ArrayLike,
    pointwise_kernel: ArrayLike,
    strides: IntOrSeq = 1,
    padding: str = "valid",
    dilation_rate: IntOrSeq = 1,
    data_format: str | None = "channels_last",
) -> np.ndarray:
    """Depthwise conv followed by a 1x1 pointwise conv (``tf.nn.separable_conv2d``).

    ``pointwise_kernel`` is ``(1, ..., 1, in_channels * depth_multiplier, filters)``
    (any shape whose last two axes are those works).  Strides, padding and dilation
    apply to the depthwise step only, as in TF.

    >>> import numpy as np
    >>> dw, pw = np.ones((3, 1, 2), np.float32), np.full((1, 2, 4), 0.5, np.float32)
    >>> separable_conv(np.ones((1, 5, 1), np.float32), dw, pw, padding="same")[0, :, 0]
    array([2., 3., 3., 3., 2.], dtype=float32)
    """
    x = as_float(x)
    fmt = normalize_data_format(data_format)
    y = depthwise_conv(to_channels_last(x, fmt), depthwise_kernel, strides, padding, dilation_rate)
    pw = np.asarray(pointwise_kernel, dtype=x.dtype)
    pw = pw.reshape(-1, pw.shape[-1])
    if pw.shape[0] != y.shape[-1]:
        raise ValueError(f"Pointwise kernel expects {pw.shape[0]} channels, got {y.shape[-1]}")
    out = (y.reshape(-1, pw.shape[0]) @ pw).reshape(*y.shape[:-1], pw.shape[1])
    return from_channels_last(out, fmt)
