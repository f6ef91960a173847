"""Masking: marks timesteps whose features all equal ``mask_value`` as skipped.

The output is the input with masked timesteps zeroed, carrying the boolean mask
``(batch, steps)`` that downstream layers (RNNs, GlobalAveragePooling1D, ...) use.

>>> import numpy as np
>>> from numkeras.engine.keras_tensor import get_mask
>>> x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], dtype="float32")
>>> get_mask(Masking()(x)).tolist()
[[True, False, True]]
"""

from __future__ import annotations

import numpy as np

from numkeras.engine.base_layer import Layer


class Masking(Layer):
    """Masks timesteps where every feature equals ``mask_value``."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = np.any(inputs != self.mask_value, axis=-1, keepdims=True)
        return inputs * keep.astype(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Masking"]
