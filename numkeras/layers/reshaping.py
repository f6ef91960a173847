"""Reshaping layers: Permute, RepeatVector, Cropping, ZeroPadding and UpSampling 1D/2D/3D.

>>> import numpy as np
>>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
>>> Permute((2, 1))(x).shape, RepeatVector(4)(x[:, 0]).shape
((1, 2, 3), (1, 4, 2))
>>> ZeroPadding1D((1, 2))(x).shape, Cropping1D((1, 0))(x).shape, UpSampling1D(2)(x).shape
((1, 6, 2), (1, 2, 2), (1, 6, 2))
"""

from __future__ import annotations

import numpy as np

from numkeras.engine.base_layer import Layer
from numkeras.layers._conv_utils import normalize_data_format, normalize_tuple, spatial_axes
from numkeras.layers._utils import check_rank
from numkeras.ops import image as image_ops


class _ShapeLayer(Layer):
    """A weightless layer of fixed input rank ``_ndim`` that keeps its input's dtype."""

    _ndim: int | None = None

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self._ndim)
        self.built = True

    def call(self, inputs):
        check_rank(self, inputs.shape, exact=self._ndim)
        return self._apply(inputs)

    def output_dtype(self, inputs):
        return inputs.dtype


class Permute(_ShapeLayer):
    """Permutes the non-batch axes; ``dims`` is 1-based, e.g. ``(2, 1)``."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set "
                             "of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self._ndim = len(self.dims) + 1

    def _apply(self, inputs):
        return np.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(_ShapeLayer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``."""

    _ndim = 2

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        self.n = n

    def _apply(self, inputs):
        return np.repeat(inputs[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def _pairs(value, rank: int, name: str) -> tuple:
    """``int``, ``rank`` ints or ``rank`` pairs as ``rank`` (before, after) pairs."""
    if isinstance(value, int):
        return ((value, value),) * rank
    if not hasattr(value, "__len__") or len(value) != rank:
        raise ValueError(f"`{name}` should be an int, a tuple of {rank} ints or a tuple of "
                         f"{rank} tuples of 2 ints. Received: {name}={value!r}.")
    ordinals = ("1st", "2nd", "3rd")
    return tuple(normalize_tuple(v, 2, f"{ordinals[i]} entry of {name}", allow_zero=True)
                 for i, v in enumerate(value))


class _Spatial(_ShapeLayer):
    """Base of the per-spatial-axis layers (``rank`` spatial axes, a ``data_format``)."""

    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self._ndim = self.rank + 2

    def _axes(self):
        return spatial_axes(self.rank, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, change in zip(self._axes(), self._changes()):
            shape[axis] = None if shape[axis] is None else change(shape[axis])
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _Cropping(_Spatial):
    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping")

    def _changes(self):
        return [lambda n, c=c: n - c[0] - c[1] for c in self.cropping]

    def _apply(self, inputs):
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._axes(), self.cropping):
            if before + after >= inputs.shape[axis]:
                raise ValueError(f"Argument `cropping` of {self.name} must be smaller than the "
                                 f"input shape. Received: inputs.shape={inputs.shape}, and "
                                 f"cropping={self.cropping}")
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]

    def get_config(self):
        return {**Layer.get_config(self), "cropping": self.cropping,
                "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Crops ``(before, after)`` steps of a ``(batch, steps, features)`` input."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__((normalize_tuple(cropping, 2, "cropping", allow_zero=True),),
                         **kwargs)

    def get_config(self):
        return {**Layer.get_config(self), "cropping": self.cropping[0]}


class Cropping2D(_Cropping):
    """Crops rows and columns: ``((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crops the three spatial axes: three (before, after) pairs."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class _ZeroPadding(_Spatial):
    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding")

    def _changes(self):
        return [lambda n, p=p: n + p[0] + p[1] for p in self.padding]

    def _apply(self, inputs):
        widths = [(0, 0)] * inputs.ndim
        for axis, pad in zip(self._axes(), self.padding):
            widths[axis] = pad
        return np.pad(inputs, widths)

    def get_config(self):
        return {**Layer.get_config(self), "padding": self.padding,
                "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Pads ``(before, after)`` zero steps around a ``(batch, steps, features)`` input."""

    rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__((normalize_tuple(padding, 2, "padding", allow_zero=True),), **kwargs)

    def get_config(self):
        return {**Layer.get_config(self), "padding": self.padding[0]}


class ZeroPadding2D(_ZeroPadding):
    """Pads zero rows and columns: ``((top, bottom), (left, right))``."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pads zeros around the three spatial axes."""

    rank = 3

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _UpSampling(_Spatial):
    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, self.rank, "size")

    def _changes(self):
        return [lambda n, f=f: n * f for f in self.size]

    def _apply(self, inputs):
        return image_ops.upsample(inputs, self.size, self.data_format)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling1D(_UpSampling):
    """Repeats each step ``size`` times."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(int(size), **kwargs)

    def get_config(self):
        return {**Layer.get_config(self), "size": self.size[0]}


_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                   "gaussian", "mitchellcubic")


def check_interpolation(interpolation: str, supported=("bilinear", "nearest")) -> str:
    """tf-keras's interpolation names; numkeras computes ``supported`` ones only."""
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Value not recognized for `interpolation`: {interpolation!r}. "
                         f"Supported values are: {list(_INTERPOLATIONS)}")
    if interpolation not in supported:
        raise ValueError(f"`interpolation={interpolation!r}` is not implemented by numkeras; "
                         f"use one of {list(supported)}.")
    return interpolation


class UpSampling2D(_UpSampling):
    """Repeats rows and columns (``'nearest'``) or resizes (``'bilinear'``) by ``size``."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        self.interpolation = check_interpolation(interpolation)

    def _apply(self, inputs):
        return image_ops.upsample(inputs, self.size, self.data_format, self.interpolation)

    def output_dtype(self, inputs):
        return inputs.dtype if self.interpolation == "nearest" else "float32"

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeats each of the three spatial axes ``size`` times."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)


__all__ = [
    "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
]
