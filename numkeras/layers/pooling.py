"""Pooling layers: Max/Average pooling 1D/2D/3D and their global versions (no weights).

The maths is in :mod:`numkeras.ops.pooling` (TF's 'same' padding: pads never win a max and
are left out of an average).

>>> import numpy as np
>>> x = np.arange(8, dtype="float32").reshape(1, 4, 2)
>>> MaxPooling1D()(x)[0].tolist()
[[2.0, 3.0], [6.0, 7.0]]
>>> GlobalAveragePooling1D()(x).tolist()
[[3.0, 4.0]]
>>> AveragePooling2D(padding="same").compute_output_shape((None, 5, 5, 3))
(None, 3, 3, 3)
"""

from __future__ import annotations

from numkeras.engine.base_layer import Layer
from numkeras.layers._conv_utils import (
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    spatial_axes,
)
from numkeras.layers._utils import check_rank
from numkeras.ops import conv as conv_ops
from numkeras.ops import pooling as pool_ops


class Pooling(Layer):
    """Base of the windowed poolings (``rank`` and ``_op`` are set by each subclass)."""

    rank = 2
    _op = staticmethod(pool_ops.max_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = normalize_tuple(pool_size if strides is None else strides, self.rank,
                                       "strides")
        self.padding = normalize_padding(padding, ("valid", "same"))
        self.data_format = normalize_data_format(data_format)

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self.rank + 2)
        self.built = True

    def call(self, inputs):
        check_rank(self, inputs.shape, exact=self.rank + 2)
        return self._op(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, k, s in zip(spatial_axes(self.rank, self.data_format), self.pool_size,
                              self.strides):
            shape[axis] = conv_ops.conv_output_length(shape[axis], k, self.padding, s)
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class _Pooling1D(Pooling):
    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last",
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def get_config(self):  # tf-keras puts strides first for the 1D poolings
        config = super().get_config()
        return {**{k: config[k] for k in ("name", "trainable", "dtype") if k in config},
                "strides": self.strides, **config}


class MaxPooling1D(_Pooling1D):
    """Max over windows of ``pool_size`` steps."""


class AveragePooling1D(_Pooling1D):
    """Mean over windows of ``pool_size`` steps."""

    _op = staticmethod(pool_ops.avg_pool)


class MaxPooling2D(Pooling):
    """Max over ``pool_size`` windows of an image."""


class AveragePooling2D(Pooling):
    """Mean over ``pool_size`` windows of an image."""

    _op = staticmethod(pool_ops.avg_pool)


class MaxPooling3D(Pooling):
    """Max over ``pool_size`` windows of a volume."""

    rank = 3


class AveragePooling3D(Pooling):
    """Mean over ``pool_size`` windows of a volume."""

    rank = 3
    _op = staticmethod(pool_ops.avg_pool)


class GlobalPooling(Layer):
    """Base of the global poolings: reduce every spatial axis."""

    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.keepdims = keepdims

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self.rank + 2)
        self.built = True

    def call(self, inputs):
        check_rank(self, inputs.shape, exact=self.rank + 2)
        return self._reduce(inputs, None)

    def compute_output_shape(self, input_shape):
        axes = spatial_axes(self.rank, self.data_format)
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class _GlobalMax:
    def _reduce(self, inputs, mask):
        return pool_ops.global_max_pool(inputs, self.data_format, self.keepdims)


class _GlobalAverage:
    def _reduce(self, inputs, mask):
        return pool_ops.global_avg_pool(inputs, self.data_format, self.keepdims, mask=mask)


class GlobalAveragePooling1D(_GlobalAverage, GlobalPooling):
    """Mean over steps; with a mask, the mean over the unmasked steps only."""

    rank = 1

    def __init__(self, data_format="channels_last", **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        check_rank(self, inputs.shape, exact=3)
        return self._reduce(inputs, mask)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling1D(_GlobalMax, GlobalPooling):
    """Max over steps."""

    rank = 1

    def __init__(self, data_format="channels_last", **kwargs):
        super().__init__(data_format=data_format, **kwargs)


class GlobalAveragePooling2D(_GlobalAverage, GlobalPooling):
    """Mean over rows and columns."""


class GlobalMaxPooling2D(_GlobalMax, GlobalPooling):
    """Max over rows and columns."""


class GlobalAveragePooling3D(_GlobalAverage, GlobalPooling):
    """Mean over the three spatial axes."""

    rank = 3


class GlobalMaxPooling3D(_GlobalMax, GlobalPooling):
    """Max over the three spatial axes."""

    rank = 3


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "MaxPool1D",
    "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "GlobalMaxPool1D",
    "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalAvgPool3D",
]
