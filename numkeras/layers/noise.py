"""Noise and spatial-dropout layers; each is the identity unless called with ``training=True``.

* ``GaussianNoise(stddev)``: adds ``N(0, stddev)`` noise.
* ``GaussianDropout(rate)``: multiplies by ``N(1, sqrt(rate / (1 - rate)))`` noise.
* ``AlphaDropout(rate)``: SELU-preserving dropout (dropped units go to ``-alpha * scale``,
  then an affine map restores mean and variance).
* ``SpatialDropout1D/2D/3D(rate)``: drops whole feature maps (one draw per sample and channel).

>>> import numpy as np
>>> x = np.ones((2, 3, 4), dtype="float32")
>>> bool((GaussianNoise(1.0)(x) == x).all()), GaussianNoise(1.0)(x, training=True).shape
(True, (2, 3, 4))
>>> y = SpatialDropout1D(0.5, seed=1)(x, training=True)
>>> sorted(set(np.unique(y).tolist()))
[0.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers._conv_utils import normalize_data_format
from numkeras.layers._utils import check_rank
from numkeras.layers.core import Dropout


class _RandomLayer(Layer):
    """A shape-preserving layer with a seeded NumPy generator; masks pass through."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = backend.random_generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training:
            return inputs
        return self._noised(inputs).astype(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_RandomLayer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` when training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = stddev

    def _noised(self, inputs):
        return inputs + self._rng.normal(0.0, self.stddev, inputs.shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_RandomLayer):
    """Multiplies by 1-centred Gaussian noise of stddev ``sqrt(rate / (1 - rate))``."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = rate

    def _noised(self, inputs):
        if not 0 < self.rate < 1:
            return inputs
        stddev = np.sqrt(self.rate / (1.0 - self.rate))
        return inputs * self._rng.normal(1.0, stddev, inputs.shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_RandomLayer):
    """Dropout that keeps the self-normalizing property of SELU activations."""

    _ALPHA = 1.6732632423543772848170429916717
    _SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate, self.noise_shape = rate, noise_shape

    def _noised(self, inputs):
        rate = self.rate
        if not 0 < rate < 1:
            return inputs
        alpha_p = -self._ALPHA * self._SCALE
        kept = self._rng.random(self.noise_shape or inputs.shape) >= rate
        a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        return a * np.where(kept, inputs, alpha_p) + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class _SpatialDropout(Dropout):
    """Dropout with one keep/drop draw per sample and channel (whole feature maps)."""

    rank = 1

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = normalize_data_format(data_format)

    def build(self, input_shape):
        check_rank(self, input_shape, exact=self.rank + 2)
        self.built = True

    def call(self, inputs, training=None):
        check_rank(self, inputs.shape, exact=self.rank + 2)
        if not training or self.rate == 0:
            return inputs
        channel = -1 if self.data_format == "channels_last" else 1
        shape = [1] * inputs.ndim
        shape[0], shape[channel] = inputs.shape[0], inputs.shape[channel]
        keep = self._rng.random(shape) >= self.rate
        return (inputs * keep / (1.0 - self.rate)).astype(inputs.dtype)


class SpatialDropout1D(_SpatialDropout):
    """Drops entire 1D feature maps of a ``(batch, steps, channels)`` input."""

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops entire 2D feature maps."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops entire 3D feature maps."""

    rank = 3


__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D"]
