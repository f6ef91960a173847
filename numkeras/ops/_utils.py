"""Private argument-normalisation and padding helpers shared by the ops modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

IntOrSeq = int | Sequence[int]

_DATA_FORMATS = {
    None: "channels_last",
    "channels_last": "channels_last",
    "channels_first": "channels_first",
    "nhwc": "channels_last",
    "nwc": "channels_last",
    "ndhwc": "channels_last",
    "nchw": "channels_first",
    "ncw": "channels_first",
    "ncdhw": "channels_first",
}


def as_float(x: ArrayLike) -> np.ndarray:
    """Return ``x`` as a floating array.

    Float ndarrays keep their dtype; anything else (ints, lists, Python scalars)
    becomes float32, Keras' default float type.
    """
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return x
    return np.asarray(x, dtype=np.float32)


def normalize_tuple(value: IntOrSeq, n: int, name: str, min_value: int = 1) -> tuple[int, ...]:
    """Expand an int to an ``n``-tuple, or validate a length-``n`` sequence."""
    if isinstance(value, int | np.integer):
        out = (int(value),) * n
    else:
        out = tuple(int(v) for v in value)
        if len(out) == 1 and n > 1:
            out = out * n
    if len(out) != n or any(v < min_value for v in out):
        raise ValueError(f"`{name}` must be {n} integer(s) >= {min_value}, got {value!r}")
    return out


def normalize_padding(padding: str, allowed: Sequence[str] = ("valid", "same")) -> str:
    """Lower-case and validate a padding mode."""
    mode = str(padding).lower()
    if mode not in allowed:
        raise ValueError(f"`padding` must be one of {tuple(allowed)}, got {padding!r}")
    return mode


def normalize_data_format(data_format: str | None) -> str:
    """Map Keras / TF layout names to ``'channels_last'`` or ``'channels_first'``."""
    key = data_format.lower() if isinstance(data_format, str) else data_format
    if key not in _DATA_FORMATS:
        raise ValueError(f"Unknown `data_format`: {data_format!r}")
    return _DATA_FORMATS[key]


def check_rank(x: np.ndarray, n: int, what: str = "input") -> None:
    """Require ``x`` to be a batched ``n``-D spatial tensor (rank ``n + 2``)."""
    if x.ndim != n + 2:
        raise ValueError(f"{what} must have rank {n + 2} for a {n}D op, got shape {x.shape}")


def to_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    """View a channels_first tensor as channels_last (no-op for channels_last)."""
    if data_format == "channels_last":
        return x
    return np.moveaxis(x, 1, -1)


def from_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    """Inverse of :func:`to_channels_last`, returning a C-contiguous array."""
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    return np.ascontiguousarray(x)


def effective_size(k: int, dilation: int) -> int:
    """Size of a dilated window: ``k + (k - 1) * (dilation - 1)``."""
    return (k - 1) * dilation + 1


def pad_amounts(size: int, k_eff: int, stride: int, padding: str) -> tuple[int, int]:
    """TF's (before, after) padding; SAME puts the odd extra pad at the end."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return k_eff - 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def pad_spatial(
    x: np.ndarray,
    ksize: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    padding: str,
    axes: Sequence[int],
    value: float = 0.0,
) -> np.ndarray:
    """Pad the spatial ``axes`` of ``x`` the way TF does for ``padding``."""
    widths = [(0, 0)] * x.ndim
    for ax, k, s, d in zip(axes, ksize, strides, dilation):
        widths[ax] = pad_amounts(x.shape[ax], effective_size(k, d), s, padding)
    if all(w == (0, 0) for w in widths):
        return x
    return np.pad(x, widths, constant_values=value)


def window_count(size: int, k_eff: int, stride: int) -> int:
    """Number of stride-``stride`` windows of extent ``k_eff`` in a padded axis."""
    if size < k_eff:
        raise ValueError(
            f"Window of size {k_eff} does not fit in a (padded) axis of size {size}: "
            "the computed output size would be negative"
        )
    return (size - k_eff) // stride + 1


def tap_slice(tap: int, dilation: int, stride: int, count: int) -> slice:
    """Slice picking kernel tap ``tap`` for ``count`` consecutive output positions."""
    start = tap * dilation
    return slice(start, start + (count - 1) * stride + 1, stride)
