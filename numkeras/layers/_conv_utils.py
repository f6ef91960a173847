"""Argument checks shared by the convolution, pooling and reshaping layers (tf-keras rules).

Every check raises a ``ValueError`` that names the offending argument, at construction time.

>>> normalize_tuple(3, 2, "kernel_size")
(3, 3)
>>> normalize_padding("SAME")
'same'
>>> normalize_data_format(None)
'channels_last'
"""

from __future__ import annotations

from numkeras import activations
from numkeras.layers._utils import check_rank


def normalize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a length-``n`` sequence of ints as an ``n``-tuple (tf-keras ``normalize_tuple``)."""
    if isinstance(value, int):
        out = (value,) * n
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {name}={value!r}") from None
        if len(out) != n:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received: {name}={value!r}")
    low = 0 if allow_zero else 1
    if any(v < low for v in out):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers >= {low}. "
                         f"Received: {name}={value!r}")
    return out


def normalize_padding(padding, allowed=("valid", "same", "causal")) -> str:
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"The `padding` argument must be one of {list(allowed)}. "
                         f"Received: padding={padding!r}")
    return mode


def normalize_data_format(data_format) -> str:
    fmt = "channels_last" if data_format is None else str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: data_format={data_format!r}')
    return fmt


def get_activation(activation):
    """``activations.get`` with an error that names the ``activation`` argument."""
    try:
        return activations.get(activation)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Invalid value for argument `activation`: {exc}") from None


def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """Positions of the ``rank`` spatial axes in a batched tensor."""
    start = 1 if data_format == "channels_last" else 2
    return tuple(range(start, start + rank))


def check_input(layer, shape, ndim: int) -> None:
    """Raise a ValueError naming ``layer`` unless ``shape`` has exactly ``ndim`` dimensions."""
    check_rank(layer, shape, exact=ndim)


def channel_dim(layer, shape, data_format: str, rank: int) -> int:
    """The (defined) channel dimension of ``shape`` for a ``rank``-D spatial layer."""
    axis = -1 if data_format == "channels_last" else -1 - rank
    if shape[axis] is None:
        raise ValueError(f"The channel dimension of the inputs to {layer.name} should be "
                         f"defined. The input_shape received is {tuple(shape)}, where axis "
                         f"{axis} (0-based) is the channel dimension, which found to be `None`.")
    return int(shape[axis])
