"""The nine random image-augmentation layers of tf-keras (``RandomFlip`` ... ``RandomZoom``).

numkeras runs models for inference, where tf-keras and Keras 3 do not augment:

* ``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``,
  ``RandomContrast``, ``RandomBrightness``, ``RandomHeight``, ``RandomWidth``: the identity
  (inputs cast to the layer's compute dtype, as tf-keras does);
* ``RandomCrop``: in tf-keras, a centre crop to the target aspect ratio resized to
  ``(height, width)`` (``smart_resize``); Keras 3.15 returns the images unchanged at
  inference. A config with ``data_format`` (an argument only Keras 3's RandomCrop has) gets
  Keras 3's behaviour, any other tf-keras's.

None of them has weights in tf-keras 2.21 or Keras 3.15 files (their random state is not
saved). Calling one with ``training=True`` raises ``NotImplementedError``: the random
augmentations themselves are not implemented (see docs/compatibility.md). Configs accept both
tf-keras's arguments (``rng_type``, ``force_generator``) and Keras 3's (``data_format``,
``value_range``).

>>> import numpy as np
>>> x = np.arange(24, dtype="uint8").reshape(1, 2, 4, 3)
>>> y = RandomFlip(seed=1)(x)
>>> y.dtype, bool((y == x).all())
(dtype('float32'), True)
>>> RandomCrop(2, 2)(np.zeros((1, 4, 6, 3), "float32")).shape
(1, 2, 2, 3)
"""

from __future__ import annotations

import numpy as np

from numkeras.engine.base_layer import Layer
from numkeras.ops import image as image_ops


class _RandomAugmentation(Layer):
    """Identity at inference; refuses ``training=True``."""

    def __init__(self, seed=None, rng_type=None, force_generator=False, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng_type = rng_type
        self.data_format = data_format

    def call(self, inputs, training=None):
        if training:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': numkeras runs augmentation layers at "
                "inference only (they return their input there). Call the model with "
                "training=False (or without `training`).")
        return self._inference(np.asarray(inputs).astype(self.compute_dtype, copy=False))

    def _inference(self, x):
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def _base_config(self) -> dict:
        config = super().get_config()
        if self._rng_type is not None:
            config["rng_type"] = self._rng_type
        if self.data_format is not None:
            config["data_format"] = self.data_format
        return config

    def get_config(self):
        return {**self._base_config(), "seed": self.seed}


class RandomFlip(_RandomAugmentation):
    """Randomly flips images (``mode``: horizontal, vertical, horizontal_and_vertical)."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode "
                             f"argument {mode}")
        self.mode = mode

    def get_config(self):
        return {**self._base_config(), "mode": self.mode, "seed": self.seed}


class _Geometric(_RandomAugmentation):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.fill_mode, self.fill_value, self.interpolation = fill_mode, fill_value, interpolation

    def _fill_config(self) -> dict:
        return {"fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seed": self.seed}


class RandomRotation(_Geometric):
    """Randomly rotates images by up to ``factor * 2 pi``."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, value_range=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor, self.value_range = _listify(factor), _listify(value_range)

    def get_config(self):
        extra = {} if self.value_range is None else {"value_range": self.value_range}
        return {**self._base_config(), "factor": self.factor, **self._fill_config(), **extra}


class RandomZoom(_Geometric):
    """Randomly zooms images by ``height_factor`` / ``width_factor``."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor = _listify(height_factor)
        self.width_factor = _listify(width_factor)

    def get_config(self):
        return {**self._base_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._fill_config()}


class RandomTranslation(_Geometric):
    """Randomly translates images by up to ``height_factor`` / ``width_factor``."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor = _listify(height_factor)
        self.width_factor = _listify(width_factor)

    def get_config(self):
        return {**self._base_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._fill_config()}


class RandomContrast(_RandomAugmentation):
    """Randomly scales each channel's contrast by up to ``factor``."""

    def __init__(self, factor, seed=None, value_range=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor, self.value_range = _listify(factor), _listify(value_range)

    def get_config(self):
        extra = {} if self.value_range is None else {"value_range": self.value_range}
        return {**self._base_config(), "factor": self.factor, **extra, "seed": self.seed}


class RandomBrightness(_RandomAugmentation):
    """Randomly shifts brightness by up to ``factor`` of ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, (int, float)):
            factor = [-abs(factor), abs(factor)]
        self.factor, self.value_range = _listify(factor), _listify(value_range)

    def get_config(self):
        return {**self._base_config(), "factor": self.factor, "value_range": self.value_range,
                "seed": self.seed}


class _RandomSize(_RandomAugmentation):
    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor, self.interpolation = _listify(factor), interpolation

    def get_config(self):
        return {**self._base_config(), "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}


class RandomHeight(_RandomSize):
    """Randomly resizes the image height by up to ``factor`` (identity at inference)."""


class RandomWidth(_RandomSize):
    """Randomly resizes the image width by up to ``factor`` (identity at inference)."""


class RandomCrop(_RandomAugmentation):
    """Randomly crops ``(height, width)``; at inference a centre aspect-ratio crop + resize."""

    def __init__(self, height, width, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.height, self.width = int(height), int(width)

    def _inference(self, x):
        if self.data_format is not None:  # a Keras 3 RandomCrop: identity at inference
            return x
        if x.ndim not in (3, 4):
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=3 or ndim=4, found ndim={x.ndim}.")
        return image_ops.resize(x, (self.height, self.width), "bilinear",
                                crop_to_aspect_ratio=True).astype(self.compute_dtype, copy=False)

    def compute_output_shape(self, input_shape):
        if self.data_format is not None:
            return tuple(input_shape)
        shape = list(input_shape)
        shape[-3], shape[-2] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**self._base_config(), "height": self.height, "width": self.width,
                "seed": self.seed}


def _listify(value):
    return list(value) if isinstance(value, tuple) else value


__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
           "RandomBrightness", "RandomHeight", "RandomWidth", "RandomCrop"]
