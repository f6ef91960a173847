"""Advanced activation layers: ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU and PReLU.

All pass masks through. PReLU has one weight, ``alpha`` (``input_shape[1:]`` with
``shared_axes`` set to 1). The maths is in :mod:`numkeras.ops.nn`.

>>> import numpy as np
>>> x = np.array([[-2.0, 0.5, 8.0]], dtype="float32")
>>> ReLU(max_value=6.0)(x).tolist(), LeakyReLU(0.5)(x).tolist()
([[0.0, 0.5, 6.0]], [[-1.0, 0.5, 8.0]])
>>> ThresholdedReLU(theta=1.0)(x).tolist()
[[-0.0, 0.0, 8.0]]
"""

from __future__ import annotations

import numpy as np

from numkeras import backend, initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import serialize_initializer, serialize_object
from numkeras.ops import nn


class _Elementwise(Layer):
    """A weightless activation layer: same shape out, masks passed through."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


def _non_negative(value, what: str, layer: str):
    if value is None or value < 0:
        raise ValueError(f"{what} of a {layer} layer cannot be a negative value. "
                         f"Received: {what}={value}")


class ReLU(_Elementwise):
    """``max(x, 0)`` with an optional ``max_value``, ``negative_slope`` and ``threshold``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None:
            _non_negative(max_value, "max_value", "ReLU")
            max_value = backend.cast_to_floatx(max_value)
        _non_negative(negative_slope, "negative_slope", "ReLU")
        _non_negative(threshold, "threshold", "ReLU")
        self.max_value = max_value
        self.negative_slope = backend.cast_to_floatx(negative_slope)
        self.threshold = backend.cast_to_floatx(threshold)

    def call(self, inputs):
        max_value = None if self.max_value is None else float(self.max_value)
        return nn.relu(inputs, float(self.negative_slope), max_value, float(self.threshold))

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """``x if x > 0 else alpha * x`` (tf-keras 2 default ``alpha=0.3``; Keras 3 calls it
    ``negative_slope``, accepted too)."""

    def __init__(self, alpha=0.3, negative_slope=None, **kwargs):
        super().__init__(**kwargs)
        if negative_slope is not None:
            alpha = negative_slope
        if alpha is None:
            raise ValueError("The alpha value of a Leaky ReLU layer cannot be None, Expecting "
                             f"a float. Received: alpha={alpha}")
        self.alpha = backend.cast_to_floatx(alpha)

    def call(self, inputs):
        return nn.leaky_relu(inputs, float(self.alpha))

    def get_config(self):
        return {**super().get_config(), "alpha": float(self.alpha)}


class ELU(_Elementwise):
    """``x if x > 0 else alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError("Alpha of an ELU layer cannot be None, expecting a float. "
                             f"Received: alpha={alpha}")
        self.alpha = backend.cast_to_floatx(alpha)

    def call(self, inputs):
        return nn.elu(inputs, float(self.alpha))

    def get_config(self):
        return {**super().get_config(), "alpha": float(self.alpha)}


class ThresholdedReLU(_Elementwise):
    """``x if x > theta else 0``."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None:
            raise ValueError("Theta of a Thresholded ReLU layer cannot be None, expecting a "
                             f"float. Received: theta={theta}")
        if theta < 0:
            raise ValueError("The theta value of a Thresholded ReLU layer should be >=0. "
                             f"Received: theta={theta}")
        self.theta = backend.cast_to_floatx(theta)

    def call(self, inputs):
        return inputs * (inputs > self.theta).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "theta": float(self.theta)}


class Softmax(_Elementwise):
    """Softmax over ``axis``; masked positions (``mask`` False) get ~zero probability."""

    def __init__(self, axis=-1, robust_masking=False, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.robust_masking = axis, robust_masking

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = np.asarray(mask)
            big_negative = np.asarray(-1e9, inputs.dtype)
            if self.robust_masking:
                keep = mask if mask.dtype == bool else mask > 0.5
                inputs = np.where(keep, inputs, big_negative)
            else:
                inputs = inputs + (1.0 - mask.astype(inputs.dtype)) * big_negative
        if isinstance(self.axis, (tuple, list)) and len(self.axis) > 1:
            return np.exp(inputs - nn.logsumexp(inputs, axis=tuple(self.axis), keepdims=True))
        axis = self.axis[0] if isinstance(self.axis, (tuple, list)) else self.axis
        return nn.softmax(inputs, axis=axis)

    def get_config(self):
        config = {**super().get_config(), "axis": self.axis}
        if self.robust_masking:
            config["robust_masking"] = True
        return config


class PReLU(_Elementwise):
    """``x if x > 0 else alpha * x`` with a learned ``alpha`` per element (or shared axes)."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer, self.alpha_constraint = alpha_regularizer, alpha_constraint
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"Layer {self.name}: every non-shared input axis must be defined "
                             f"to create `alpha`. Received input_shape={tuple(input_shape)}.")
        self.alpha = self.add_weight("alpha", shape, initializer=self.alpha_initializer)
        self._input_ndim = len(input_shape)
        self.built = True

    def call(self, inputs):
        if inputs.ndim != self._input_ndim:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim={self._input_ndim}, found ndim={inputs.ndim}. "
                             f"Full shape received: {tuple(inputs.shape)}")
        return nn.relu(inputs) - self.alpha.value * nn.relu(-inputs)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": serialize_initializer(self.alpha_initializer),
                "alpha_regularizer": serialize_object(self.alpha_regularizer),
                "alpha_constraint": serialize_object(self.alpha_constraint),
                "shared_axes": self.shared_axes}


__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU", "PReLU"]
