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

The module is long because every convolution shares the same chunked im2col machinery
(padding, tap slices, reused buffers); split up, each kind would need a copy of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

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
    pad_amounts,
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

#: Largest im2col patch matrix (in elements) built at once (64 MiB of float32).  Bigger
#: convolutions build it chunk by chunk -- groups of whole images, or rows of one image --
#: into one reused buffer, with one matmul per chunk writing straight into the output.
IM2COL_MAX_ELEMENTS = 1 << 24

#: Output elements a depthwise convolution computes per chunk: small enough that the
#: chunk's padded input, accumulator and temporary stay in the CPU's L2 cache.
DEPTHWISE_CHUNK_ELEMENTS = 1 << 15


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


def _tap_slices(
    tap: Sequence[int], strides: Sequence[int], dilation: Sequence[int], counts: Sequence[int]
) -> tuple[slice, ...]:
    """Spatial slices picking kernel tap ``tap`` for ``counts`` output positions per axis."""
    return tuple(tap_slice(*args) for args in zip(tap, dilation, strides, counts))


def _group_matmul(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(m, G, k) x (G, k, f) -> (m, G * f)``: one BLAS matmul per group."""
    if a.shape[1] == 1:
        return a[:, 0, :] @ w[0]
    out = np.matmul(a.transpose(1, 0, 2), w)
    return out.transpose(1, 0, 2).reshape(a.shape[0], -1)


def _patches(
    xp: np.ndarray,
    ksize: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    groups: int,
) -> np.ndarray:
    """Strided im2col view ``(batch, *out, groups, *ksize, channels // groups)``.

    Tap-major, channel-minor like the kernel layout, so copying it moves contiguous
    channel runs.
    """
    n = len(ksize)
    eff = [effective_size(k, d) for k, d in zip(ksize, dilation)]
    win = sliding_window_view(xp, eff, axis=tuple(range(1, n + 1)))
    picks = (
        (slice(None),)
        + tuple(slice(None, None, s) for s in strides)
        + (slice(None),)
        + tuple(slice(None, None, d) for d in dilation)
    )
    patches = win[picks]  # (batch, *out, channels, *ksize)
    split = patches.reshape(*patches.shape[: n + 1], groups, -1, *ksize)
    return split.transpose(*range(n + 2), *range(n + 3, 2 * n + 3), n + 2)


def _im2col_chunks(
    batch: int, rows: int, row_elements: int, limit: int
) -> Iterator[tuple[int, int, int, int]]:
    """Split ``(batch, rows)`` into blocks ``(b0, b1, r0, r1)`` of at most ``limit`` patch
    elements: whole images grouped when one fits, else one image split by rows (at least
    one row per block, whatever ``limit``)."""
    image = rows * row_elements
    if image <= limit:
        step = max(1, limit // image)
        for b in range(0, batch, step):
            yield b, min(b + step, batch), 0, rows
        return
    step = max(1, limit // row_elements)
    for b in range(batch):
        for r in range(0, rows, step):
            yield b, b + 1, r, min(r + step, rows)


def _conv_im2col(
    x: np.ndarray,
    kernel: np.ndarray,
    strides: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    pads: Sequence[tuple[int, int]],
) -> np.ndarray:
    """Convolution as chunked im2col: per chunk, pad its input rows into a reused buffer,
    copy the patches into another, then one matmul writes the chunk's output."""
    n = kernel.ndim - 2
    ksize, filters = kernel.shape[:n], kernel.shape[-1]
    eff = [effective_size(k, d) for k, d in zip(ksize, dilation)]
    padded = [size + sum(p) for size, p in zip(x.shape[1:-1], pads)]
    out_sp = [window_count(*args) for args in zip(padded, eff, strides)]
    k_cols = math.prod(ksize) * x.shape[-1]
    row_elements = math.prod(out_sp[1:]) * k_cols
    out = np.empty((x.shape[0], *out_sp, filters), dtype=x.dtype)
    chunks = list(_im2col_chunks(x.shape[0], out_sp[0], row_elements, IM2COL_MAX_ELEMENTS))
    if not chunks:  # an empty batch
        return out
    images = max(b1 - b0 for b0, b1, _, _ in chunks)
    rows = max(r1 - r0 for _, _, r0, r1 in chunks)
    in_rows = (rows - 1) * strides[0] + eff[0]
    pad_buf = (
        np.zeros((images, in_rows, *padded[1:], x.shape[-1]), x.dtype)
        if any(any(p) for p in pads)
        else None
    )
    cols_buf = np.empty(images * rows * row_elements, dtype=x.dtype)
    w = kernel.reshape(-1, groups, filters // groups).transpose(1, 0, 2)
    for b0, b1, r0, r1 in chunks:
        first = r0 * strides[0]
        src = _padded_rows(pad_buf, x[b0:b1], first, (r1 - 1) * strides[0] + eff[0], pads)
        block = _patches(src, ksize, strides, dilation, groups)
        cols = cols_buf[: block.size].reshape(block.shape)
        np.copyto(cols, block)
        cols = cols.reshape(-1, groups, k_cols // groups)
        target = out[b0:b1, r0:r1].reshape(cols.shape[0], filters)
        if groups == 1:
            np.matmul(cols[:, 0, :], w[0], out=target)
        else:
            target[...] = _group_matmul(cols, w)
    return out


def _conv_channels_last(
    x: np.ndarray,
    kernel: np.ndarray,
    strides: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    pads: Sequence[tuple[int, int]],
) -> np.ndarray:
    n = kernel.ndim - 2
    pointwise = all(k == 1 for k in kernel.shape[:n]) and all(s == 1 for s in strides)
    if groups == 1 and pointwise and not any(any(p) for p in pads):
        # 1x1, stride 1: a plain matmul over the pixels (a view for a C-contiguous input).
        out = x.reshape(-1, x.shape[-1]) @ kernel.reshape(x.shape[-1], -1)
        return out.reshape(*x.shape[:-1], kernel.shape[-1])
    return _conv_im2col(x, kernel, strides, dilation, groups, pads)


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
    pads = _pad_widths(xl, kernel.shape[:n], strides, dilation, mode)
    return from_channels_last(_conv_channels_last(xl, kernel, strides, dilation, groups, pads), fmt)


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
    if multiplier > 1:  # output channel c * multiplier + m filters input channel c
        xl = np.repeat(xl, multiplier, axis=-1)
    weights = kernel.reshape(*kernel.shape[:n], channels * multiplier)
    if n == 1:  # a 1D input runs as 2D with height 1
        xl, weights = xl[:, None], weights[None]
        strides, dilation = (1, *strides), (1, *dilation)
    out = _depthwise_channels_last(xl, weights, strides, dilation, mode)
    return from_channels_last(out[:, 0] if n == 1 else out, fmt)


def _depthwise_channels_last(
    x: np.ndarray, weights: np.ndarray, strides: Sequence[int], dilation: Sequence[int], mode: str
) -> np.ndarray:
    """Multiplier-1 depthwise conv of ``(batch, *spatial, C)`` by ``weights (*ksize, C)``.

    Works chunk by chunk (one image, a few rows of the first spatial axis) so the
    chunk's data stays in cache: the chunk's rows are copied into a small zero-padded
    buffer (no padded copy of the whole input), then each kernel tap adds its strided
    view times the tap's weights into the output.
    """
    n = weights.ndim - 1
    eff = [effective_size(k, d) for k, d in zip(weights.shape[:n], dilation)]
    pads = _pad_widths(x, weights.shape[:n], strides, dilation, mode)
    padded = [size + sum(p) for size, p in zip(x.shape[1:-1], pads)]
    out_sp = [window_count(*args) for args in zip(padded, eff, strides)]
    out = np.empty((x.shape[0], *out_sp, x.shape[-1]), dtype=x.dtype)
    if out.size == 0:
        return out
    # Each tap's weights tiled along the last output axis: for a stride of 1 there, the
    # multiply's inner loop then spans whole rows instead of one pixel's channels.
    taps = list(np.ndindex(*weights.shape[:n]))
    tiled = [np.broadcast_to(weights[tap], (out_sp[-1], x.shape[-1])).copy() for tap in taps]
    rows = min(max(1, DEPTHWISE_CHUNK_ELEMENTS // math.prod(out.shape[2:])), out_sp[0])
    geometry = _DepthwiseGeometry(taps, strides, dilation, pads, rows, eff[0])
    _depthwise_chunks(x, tiled, out, geometry)
    return out


class _DepthwiseGeometry(NamedTuple):
    """What :func:`_depthwise_chunks` needs besides the arrays."""

    taps: list[tuple[int, ...]]
    strides: Sequence[int]
    dilation: Sequence[int]
    pads: Sequence[tuple[int, int]]
    rows: int  # output rows per chunk
    extent: int  # input rows one output row reads (dilated kernel height)


def _depthwise_chunks(
    x: np.ndarray, tiled: list[np.ndarray], out: np.ndarray, g: _DepthwiseGeometry
) -> None:
    """The loop of :func:`_depthwise_channels_last`: chunk by chunk, tap by tap."""
    s0 = g.strides[0]
    padded = [size + sum(p) for size, p in zip(x.shape[2:-1], g.pads[1:])]
    buf = np.zeros((1, (g.rows - 1) * s0 + g.extent, *padded, x.shape[-1]), x.dtype)
    tmp = np.empty((g.rows, *out.shape[2:]), dtype=x.dtype)
    full = [_tap_slices(tap, g.strides, g.dilation, tmp.shape[:-1]) for tap in g.taps]
    for b in range(x.shape[0]):
        for r0 in range(0, out.shape[1], g.rows):
            acc = out[b, r0 : r0 + g.rows]
            first = r0 * s0
            stop = first + (len(acc) - 1) * s0 + g.extent
            src = _padded_rows(buf, x[b : b + 1], first, stop, g.pads)[0]
            picks = full
            if len(acc) < g.rows:  # the short last chunk of an image
                picks = [_tap_slices(tap, g.strides, g.dilation, acc.shape[:-1]) for tap in g.taps]
            np.multiply(src[picks[0]], tiled[0], out=acc)
            for pick, w in zip(picks[1:], tiled[1:]):
                acc += np.multiply(src[pick], w, out=tmp[: len(acc)])


def _pad_widths(
    x: np.ndarray, ksize: Sequence[int], strides: Sequence[int], dilation: Sequence[int], mode: str
) -> list[tuple[int, int]]:
    """TF's ``(before, after)`` padding of each spatial axis of a channels_last ``x``."""
    return [
        pad_amounts(size, effective_size(k, d), s, mode)
        for size, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation)
    ]


def _padded_rows(
    buf: np.ndarray | None,
    images: np.ndarray,
    start: int,
    stop: int,
    pads: Sequence[tuple[int, int]],
) -> np.ndarray:
    """Rows ``[start, stop)`` (axis 1, padded coordinates) of ``images`` zero-padded by
    ``pads``: a view of ``images`` without padding, else written into ``buf``.

    ``buf``'s border along the other spatial axes is zero and never written, so stays so.
    """
    if not any(any(p) for p in pads):
        return images[:, start:stop]
    before = pads[0][0]
    lo, hi = max(start, before), min(stop, before + images.shape[1])
    view = buf[: len(images), : stop - start]
    view[:, : max(lo - start, 0)] = 0
    view[:, max(hi - start, 0) :] = 0
    if hi > lo:
        inner = tuple(slice(p[0], p[0] + size) for p, size in zip(pads[1:], images.shape[2:-1]))
        view[(slice(None), slice(lo - start, hi - start), *inner)] = images[
            :, lo - before : hi - before
        ]
    return view


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
