"""GroupNormalization and UnitNormalization.

GroupNormalization splits the ``axis`` channels into ``groups`` and normalizes each sample's
group over its channels and all other non-batch axes; weights ``gamma`` then ``beta``, shape
``(channels,)``. UnitNormalization scales each sample to unit L2 norm over ``axis``.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> gn = GroupNormalization(groups=2)
>>> y = gn(np.arange(8, dtype="float32").reshape(1, 2, 4))
>>> [w.name for w in gn.weights]
['group_normalization/gamma:0', 'group_normalization/beta:0']
>>> UnitNormalization()(np.array([[3.0, 4.0]], dtype="float32")).tolist()
[[0.6000000238418579, 0.800000011920929]]
"""

from __future__ import annotations

import numpy as np

from numkeras import initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import normalize_axes, serialize_initializer, serialize_object
from numkeras.ops import nn


class GroupNormalization(Layer):
    """Normalizes groups of channels per sample (``groups=-1``: one group per channel)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def build(self, input_shape):
        (self._axis,) = normalize_axes(self.axis, len(input_shape), self.name)
        dim = input_shape[self._axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape {input_shape}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}).")
        if dim % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        self.gamma = self.add_weight("gamma", (dim,), initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", (dim,), initializer=self.beta_initializer) \
            if self.center else None
        self._rank = len(input_shape)
        self.built = True

    def _grouped(self, shape):
        a = self._axis
        return tuple(shape[:a]) + (self.groups, shape[a] // self.groups) + tuple(shape[a + 1:])

    def call(self, inputs, mask=None):
        if inputs.ndim != self._rank:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim={self._rank}, found ndim={inputs.ndim}. Full "
                             f"shape received: {tuple(inputs.shape)}")
        grouped = self._grouped(inputs.shape)
        x = inputs.reshape(grouped)
        reduce = tuple(i for i in range(1, x.ndim) if i != self._axis)
        if mask is None:
            mean, var = nn.moments(x, reduce, keepdims=True)
        else:
            w = np.broadcast_to(np.asarray(mask), inputs.shape).reshape(grouped)
            w = w.astype(np.float64)
            total = w.sum(axis=reduce, keepdims=True)
            mean = (x * w).sum(axis=reduce, keepdims=True) / total
            var = (w * (x - mean) ** 2).sum(axis=reduce, keepdims=True) / total
            mean, var = mean.astype(inputs.dtype), var.astype(inputs.dtype)
        param_shape = [1] * x.ndim
        param_shape[self._axis:self._axis + 2] = grouped[self._axis:self._axis + 2]
        gamma = self.gamma.value.reshape(param_shape) if self.scale else None
        beta = self.beta.value.reshape(param_shape) if self.center else None
        out = nn.batch_normalization(x, mean, var, beta, gamma, self.epsilon)
        return out.reshape(inputs.shape).astype(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": serialize_initializer(self.beta_initializer),
                "gamma_initializer": serialize_initializer(self.gamma_initializer),
                "beta_regularizer": serialize_object(self.beta_regularizer),
                "gamma_regularizer": serialize_object(self.gamma_regularizer),
                "beta_constraint": serialize_object(self.beta_constraint),
                "gamma_constraint": serialize_object(self.gamma_constraint)}


class UnitNormalization(Layer):
    """``x / max(||x||, 1e-6)`` over ``axis`` (``tf.linalg.l2_normalize``)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Invalid value for `axis` argument: expected an int or a "
                            f"list/tuple of ints. Received: axis={axis}")
        self.supports_masking = True

    def build(self, input_shape):
        normalize_axes(self.axis, len(input_shape), self.name)
        self.built = True

    def call(self, inputs):
        axes = tuple(normalize_axes(self.axis, inputs.ndim, self.name))
        square_sum = np.sum(np.square(inputs), axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(np.maximum(square_sum, np.asarray(1e-12, inputs.dtype)))
        return (inputs * inv).astype(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["GroupNormalization", "UnitNormalization"]
