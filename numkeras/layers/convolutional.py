"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

Weights, names and shapes are tf-keras's: ``kernel (*kernel_size, in // groups, filters)``
(transposed: ``(*kernel_size, filters, in)``), ``depthwise_kernel (*kernel_size, in, dm)``,
``pointwise_kernel ((1,) * rank + (in * dm, filters))``, then ``bias``. The maths is in
:mod:`numkeras.ops.conv`.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> conv = Conv2D(4, 3, padding="same", strides=2)
>>> conv(np.ones((1, 5, 5, 3))).shape
(1, 3, 3, 4)
>>> [(w.name, w.shape) for w in conv.weights]
[('conv2d/kernel:0', (3, 3, 3, 4)), ('conv2d/bias:0', (4,))]
>>> Conv1D(2, 3, padding="causal").compute_output_shape((None, 7, 5))
(None, 7, 2)
"""

from __future__ import annotations

import numpy as np

from numkeras import initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._conv_utils import (
    channel_dim,
    get_activation,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
)
from numkeras.layers._utils import (
    check_rank,
    serialize_activation,
    serialize_initializer,
    serialize_object,
)
from numkeras.ops import conv as conv_ops
from numkeras.ops import nn as nn_ops


class Conv(Layer):
    """Base of the N-D convolutions (``rank`` is set by each subclass)."""

    rank = 2
    _padding_modes = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(filters, float):
            filters = int(filters)
        if filters is not None and filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        self.filters = filters
        self.groups = groups or 1
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        if isinstance(padding, str) and padding.lower() == "causal" \
                and "causal" not in self._padding_modes:
            raise ValueError("Causal padding is only supported for `Conv1D` and "
                             f"`SeparableConv1D`. Received: padding={padding!r} for "
                             f"{type(self).__name__}.")
        self.padding = normalize_padding(padding, self._padding_modes)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        self.activation = get_activation(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        if self.filters is not None and self.filters % self.groups:
            raise ValueError("The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > "
                             f"1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")

    # -- shapes ------------------------------------------------------------------------------
    def _min_rank(self):
        return self.rank + 2

    def _spatial_out(self, lengths):
        out = [conv_ops.conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
               zip(lengths, self.kernel_size, self.strides, self.dilation_rate)]
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"One of the dimensions in the output is <= 0 due to downsampling "
                             f"in {self.name}. Consider increasing the input size. Received "
                             f"input shape {list(lengths)}, which would produce output shape "
                             f"with a zero or negative value in a dimension.")
        return out

    def _out_channels(self, in_channels):
        return self.filters

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        lead = len(shape) - self.rank - 1  # batch dimensions (tf-keras allows more than one)
        if self.data_format == "channels_last":
            spatial = self._spatial_out(shape[lead:-1])
            return tuple(shape[:lead] + spatial + [self._out_channels(shape[-1])])
        spatial = self._spatial_out(shape[lead + 1:])
        return tuple(shape[:lead] + [self._out_channels(shape[lead])] + spatial)

    # -- weights -----------------------------------------------------------------------------
    def build(self, input_shape):
        check_rank(self, input_shape, min_rank=self._min_rank())
        channels = channel_dim(self, input_shape, self.data_format, self.rank)
        if channels % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {channels} channels (full input shape is {input_shape}).")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (
            channels // self.groups, self.filters), initializer=self.kernel_initializer)
        self._add_bias(self.filters)
        self._in_channels = channels
        self.built = True

    def _add_bias(self, size):
        self.bias = self.add_weight("bias", (size,), initializer=self.bias_initializer) \
            if self.use_bias else None

    # -- forward -----------------------------------------------------------------------------
    def _check_call(self, inputs):
        check_rank(self, inputs.shape, min_rank=self._min_rank())
        channels = inputs.shape[-1 if self.data_format == "channels_last" else -self.rank - 1]
        if channels != self._in_channels:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected {self._in_channels} channels, found {channels}. Full "
                             f"shape received: {tuple(inputs.shape)}")

    def _finish(self, outputs):
        """Bias and activation; ``outputs`` is the op's fresh array, so updated in place."""
        if self.use_bias:
            bias = self.bias.value
            if self.data_format == "channels_first":
                outputs = outputs + bias.reshape((-1,) + (1,) * self.rank)
            elif np.result_type(outputs, bias) == outputs.dtype:
                outputs = nn_ops.channel_affine(outputs, None, bias, out=outputs)
            else:
                outputs = outputs + bias
        return self.activation(outputs)

    def _convolve(self, x):
        return conv_ops.conv(x, self.kernel.value, self.strides, self.padding,
                             self.dilation_rate, self.data_format, self.groups)

    def call(self, inputs):
        self._check_call(inputs)
        lead = inputs.shape[:inputs.ndim - self.rank - 1]
        x = inputs.reshape((-1,) + inputs.shape[len(lead):]) if len(lead) != 1 else inputs
        outputs = self._finish(self._convolve(x))
        return outputs.reshape(lead + outputs.shape[1:]) if len(lead) != 1 else outputs

    # -- config ------------------------------------------------------------------------------
    def _base_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": serialize_activation(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
                "kernel_regularizer": serialize_object(self.kernel_regularizer),
                "bias_regularizer": serialize_object(self.bias_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "bias_constraint": serialize_object(self.bias_constraint)}

    def get_config(self):
        return self._base_config()


class Conv1D(Conv):
    """1D convolution over ``(batch, steps, channels)``; ``padding`` may be ``'causal'``."""

    rank = 1
    _padding_modes = ("valid", "same", "causal")


class Conv2D(Conv):
    """2D convolution over ``(batch, rows, cols, channels)`` (or channels_first)."""

    rank = 2


class Conv3D(Conv):
    """3D convolution over ``(batch, d1, d2, d3, channels)`` (or channels_first)."""

    rank = 3


class ConvTranspose(Conv):
    """Base of the transposed convolutions: kernel ``(*kernel_size, filters, in)``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
        self.output_padding = output_padding
        if output_padding is not None:
            self.output_padding = normalize_tuple(output_padding, self.rank, "output_padding",
                                                  allow_zero=True)
            if any(p >= s for s, p in zip(self.strides, self.output_padding)):
                raise ValueError("Strides must be greater than output padding. Received "
                                 f"strides={self.strides}, "
                                 f"output_padding={self.output_padding}.")

    def _min_rank(self):
        return None

    def _dilation(self):
        return self.dilation_rate

    def _spatial_out(self, lengths):
        pads = self.output_padding or (None,) * self.rank
        return [conv_ops.deconv_output_length(n, k, self.padding, p, s, d) for n, k, p, s, d in
                zip(lengths, self.kernel_size, pads, self.strides, self._dilation())]

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self.rank + 2)
        channels = channel_dim(self, input_shape, self.data_format, self.rank)
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer)
        self._add_bias(self.filters)
        self._in_channels = channels
        self.built = True

    def _check_call(self, inputs):
        check_rank(self, inputs.shape, exact=self.rank + 2)
        super()._check_call(inputs)

    def _convolve(self, x):
        return conv_ops.conv_transpose(x, self.kernel.value, None, self.strides, self.padding,
                                       self.output_padding, self._dilation(), self.data_format)

    def get_config(self):
        return {**self._base_config(), "output_padding": self.output_padding}


class Conv1DTranspose(ConvTranspose):
    """Transposed 1D convolution (a.k.a. deconvolution)."""

    rank = 1


class Conv2DTranspose(ConvTranspose):
    """Transposed 2D convolution (a.k.a. deconvolution)."""

    rank = 2


class Conv3DTranspose(ConvTranspose):
    """Transposed 3D convolution; like tf-keras it ignores ``dilation_rate``."""

    rank = 3

    def _dilation(self):
        return (1,) * self.rank

    def get_config(self):
        config = super().get_config()
        del config["dilation_rate"]
        return config


class DepthwiseConv(Conv):
    """Base of the depthwise convolutions: ``depthwise_kernel (*kernel_size, in, dm)``."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(None, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = depthwise_regularizer
        self.depthwise_constraint = depthwise_constraint

    def _out_channels(self, in_channels):
        return None if in_channels is None else in_channels * self.depth_multiplier

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self.rank + 2)
        channels = channel_dim(self, input_shape, self.data_format, self.rank)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer)
        self._add_bias(channels * self.depth_multiplier)
        self._in_channels = channels
        self.built = True

    def _check_call(self, inputs):
        check_rank(self, inputs.shape, exact=self.rank + 2)
        super()._check_call(inputs)

    def _convolve(self, x):
        return conv_ops.depthwise_conv(x, self.depthwise_kernel.value, self.strides,
                                       self.padding, self.dilation_rate, self.data_format)

    def get_config(self):
        config = self._base_config()
        for key in ("filters", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            del config[key]
        return {**config, "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": serialize_initializer(self.depthwise_initializer),
                "depthwise_regularizer": serialize_object(self.depthwise_regularizer),
                "depthwise_constraint": serialize_object(self.depthwise_constraint)}


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1D convolution: each input channel gets ``depth_multiplier`` filters."""

    rank = 1


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2D convolution: each input channel gets ``depth_multiplier`` filters."""

    rank = 2


class SeparableConv(Conv):
    """Base of the separable convolutions: a depthwise then a pointwise (1x1) convolution."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = depthwise_regularizer
        self.pointwise_regularizer = pointwise_regularizer
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self.rank + 2)
        channels = channel_dim(self, input_shape, self.data_format, self.rank)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier,
                                                    self.filters),
            initializer=self.pointwise_initializer)
        self._add_bias(self.filters)
        self._in_channels = channels
        self.built = True

    def _check_call(self, inputs):
        check_rank(self, inputs.shape, exact=self.rank + 2)
        super()._check_call(inputs)

    def _convolve(self, x):
        return conv_ops.separable_conv(x, self.depthwise_kernel.value,
                                       self.pointwise_kernel.value, self.strides, self.padding,
                                       self.dilation_rate, self.data_format)

    def get_config(self):
        return {**self._base_config(), "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": serialize_initializer(self.depthwise_initializer),
                "pointwise_initializer": serialize_initializer(self.pointwise_initializer),
                "depthwise_regularizer": serialize_object(self.depthwise_regularizer),
                "pointwise_regularizer": serialize_object(self.pointwise_regularizer),
                "depthwise_constraint": serialize_object(self.depthwise_constraint),
                "pointwise_constraint": serialize_object(self.pointwise_constraint)}


class SeparableConv1D(SeparableConv):
    """Separable 1D convolution; ``padding`` may be ``'causal'``."""

    rank = 1
    _padding_modes = ("valid", "same", "causal")


class SeparableConv2D(SeparableConv):
    """Separable 2D convolution."""

    rank = 2


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose",
    "Convolution2DTranspose", "Convolution3DTranspose", "SeparableConvolution1D",
    "SeparableConvolution2D",
]
