"""Private argument-normalisation and padding helpers shared by the ops modules (and, with
tf-keras's strictness, by the layers: :mod:`numkeras.layers._conv_utils`)."""

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


def normalize_tuple(value: IntOrSeq, n: int, name: str, min_value: int = 1,
                    broadcast: bool = True) -> tuple[int, ...]:
    """An int or a length-``n`` sequence of ints as an ``n``-tuple, each ``>= min_value``,
    with tf-keras's messages naming the argument. ``broadcast``: a one-item sequence stands for
    all ``n`` (the ops accept it; layers, as tf-keras, do not).

    >>> normalize_tuple(3, 2, "kernel_size"), normalize_tuple([2], 2, "strides")
    ((3, 3), (2, 2))
    """
    if isinstance(value, int | np.integer):
        out = (int(value),) * n
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {name}={value!r}") from None
        if broadcast and len(out) == 1 and n > 1:
            out = out * n
        if len(out) != n:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {name}={value!r}")
    if any(v < min_value for v in out):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers >= "
                         f"{min_value}. Received: {name}={value!r}")
    return out


def normalize_padding(padding: str, allowed: Sequence[str] = ("valid", "same")) -> str:
    """Lower-case and validate a padding mode (tf-keras's message).

    >>> normalize_padding("SAME")
    'same'
    """
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"The `padding` argument must be one of {list(allowed)}. "
                         f"Received: padding={padding!r}")
    return mode


def normalize_data_format(data_format: str | None, aliases: bool = True) -> str:
    """``'channels_last'`` or ``'channels_first'`` (``None`` is channels_last); ``aliases``:
    TF's layout names (``NHWC``, ``NCHW``, ...) are accepted too (the ops do; layers, as
    tf-keras, do not).

    >>> normalize_data_format(None), normalize_data_format("NCHW")
    ('channels_last', 'channels_first')
    """
    key = data_format.lower() if isinstance(data_format, str) else data_format
    if key not in _DATA_FORMATS or (not aliases and key not in (None, "channels_last",
                                                                "channels_first")):
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: data_format={data_format!r}')
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
