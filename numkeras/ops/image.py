"""Image resizing with ``tf.image.resize`` semantics (antialias=False), in NumPy.

TF2's ``tf.image.resize`` -- used by Keras ``Resizing`` and by ``UpSampling2D``'s
'bilinear' mode -- runs ``ResizeBilinear`` / ``ResizeNearestNeighbor`` with
``half_pixel_centers=True, align_corners=False``.  Sampling positions are computed
in float32 exactly as TF's kernels do, and bilinear blending interpolates along the
width first and then the height, with the same float32 operation order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._utils import IntOrSeq, as_float, normalize_data_format, normalize_tuple

__all__ = ["resize", "upsample"]

_INTERPOLATIONS = ("nearest", "bilinear")


def _image_axes(ndim: int, data_format: str) -> tuple[int, int]:
    """Height/width axes of a ``(batch,) H, W, C`` or ``(batch,) C, H, W`` image."""
    if ndim not in (3, 4):
        raise ValueError(f"Images must have rank 3 or 4, got rank {ndim}")
    first = ndim - 3 if data_format == "channels_last" else ndim - 2
    return first, first + 1


def _half_pixel_source(in_size: int, out_size: int) -> np.ndarray:
    """``(o + 0.5) * (in / out)`` in float32, as TF's half-pixel scalers compute."""
    scale = np.float32(in_size) / np.float32(out_size)
    return (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale


def _nearest_along(x: np.ndarray, axis: int, out_size: int) -> np.ndarray:
    in_size = x.shape[axis]
    src = np.floor(_half_pixel_source(in_size, out_size)).astype(np.int64)
    return np.take(x, np.clip(src, 0, in_size - 1), axis=axis)


def _linear_along(x: np.ndarray, axis: int, out_size: int) -> np.ndarray:
    in_size = x.shape[axis]
    src = _half_pixel_source(in_size, out_size) - np.float32(0.5)
    floor = np.floor(src)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
    lerp = (src - floor).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    low = np.take(x, lower, axis=axis)
    out = np.take(x, upper, axis=axis)
    out -= low  # low + (high - low) * lerp, TF's operation order, in place
    out *= lerp
    out += low
    return out


def _crop_to_aspect(x: np.ndarray, axes: tuple[int, int], size: Sequence[int]) -> np.ndarray:
    """Centre crop of Keras ``smart_resize`` (float32 arithmetic, int truncation)."""
    (height, width), (target_h, target_w) = (x.shape[a] for a in axes), size
    crop_h = min(height, int(np.float32(width * target_h) / np.float32(target_w)))
    crop_w = min(width, int(np.float32(height * target_w) / np.float32(target_h)))
    start_h = int(np.float32(height - crop_h) / np.float32(2))
    start_w = int(np.float32(width - crop_w) / np.float32(2))
    index = [slice(None)] * x.ndim
    index[axes[0]] = slice(start_h, start_h + crop_h)
    index[axes[1]] = slice(start_w, start_w + crop_w)
    return x[tuple(index)]


def resize(
    images: ArrayLike,
    size: IntOrSeq,
    interpolation: str = "bilinear",
    data_format: str | None = "channels_last",
    crop_to_aspect_ratio: bool = False,
) -> np.ndarray:
    """Resize images to ``size = (height, width)`` like ``tf.image.resize``.

    ``images`` is ``(batch, H, W, C)`` or ``(H, W, C)`` (channels_first: channel axis
    before H).  'bilinear' returns float32 (as TF does); 'nearest' keeps the input
    dtype.  ``crop_to_aspect_ratio`` first takes Keras ``smart_resize``'s centre crop,
    reproducing ``Resizing(..., crop_to_aspect_ratio=True)``.

    >>> import numpy as np
    >>> x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
    >>> resize(x, (4, 4))[0, 1, :, 0].tolist()
    [0.5, 0.75, 1.25, 1.5]
    >>> resize(np.arange(3.0).reshape(1, 3, 1), (1, 2), "nearest")[..., 0].tolist()
    [[0.0, 2.0]]
    """
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError(
            f"interpolation={interpolation!r} is not supported; use one of {_INTERPOLATIONS}"
        )
    x = np.asarray(images)
    axes = _image_axes(x.ndim, normalize_data_format(data_format))
    out_h, out_w = normalize_tuple(size, 2, "size")
    if crop_to_aspect_ratio:
        x = _crop_to_aspect(x, axes, (out_h, out_w))
    if interpolation == "nearest":
        return _nearest_along(_nearest_along(x, axes[0], out_h), axes[1], out_w)
    x = x.astype(np.float32, copy=False)
    return _linear_along(_linear_along(x, axes[1], out_w), axes[0], out_h)


def upsample(
    x: ArrayLike,
    size: IntOrSeq,
    data_format: str | None = "channels_last",
    interpolation: str = "nearest",
) -> np.ndarray:
    """Keras ``UpSampling1D/2D/3D``: integer upscaling of every spatial axis.

    'nearest' repeats each element ``size`` times per axis (identical to TF's
    half-pixel nearest resize for integer factors).  'bilinear' (2D only) is
    :func:`resize` to ``(H * size[0], W * size[1])``.  UpSampling1D has no
    ``data_format``: its steps axis is always axis 1.

    >>> import numpy as np
    >>> upsample(np.array([[[1.0], [2.0]]], np.float32), 2)[0, :, 0]
    array([1., 1., 2., 2.], dtype=float32)
    """
    x = as_float(x)
    fmt = normalize_data_format(data_format)
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(f"upsample needs a batched 1D/2D/3D input, got shape {x.shape}")
    factors = normalize_tuple(size, n, "size")
    axes = range(1, n + 1) if fmt == "channels_last" or n == 1 else range(2, n + 2)
    if interpolation == "bilinear" and n == 2:
        out = [x.shape[a] * f for a, f in zip(axes, factors)]
        return resize(x, out, "bilinear", fmt)
    if interpolation != "nearest":
        raise NotImplementedError(f"upsample interpolation={interpolation!r} (rank {n + 2})")
    for axis, f in zip(axes, factors):
        x = np.repeat(x, f, axis=axis)
    return x
