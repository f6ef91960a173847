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
from numkeras.ops import _utils
from numkeras.ops._utils import normalize_padding

__all__ = ["normalize_tuple", "normalize_padding", "normalize_data_format", "get_activation",
           "spatial_axes", "check_input", "channel_dim"]


def normalize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a length-``n`` sequence of ints as an ``n``-tuple (tf-keras ``normalize_tuple``:
    a one-item sequence for ``n > 1`` is an error; zeros only with ``allow_zero``)."""
    return _utils.normalize_tuple(value, n, name, 0 if allow_zero else 1, broadcast=False)


def normalize_data_format(data_format) -> str:
    """``channels_last`` (also for ``None``) or ``channels_first``; TF's ``NHWC``... refused."""
    return _utils.normalize_data_format(data_format, aliases=False)


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
