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
saved). Called with ``training=True`` they augment as tf-keras 2.21 does, drawing from the same
distributions with NumPy's generator (``seed``, else ``numkeras.utils.set_random_seed``), so
the numbers differ from TF's: flips, rotations, zooms, translations and brightness shifts per
image, one contrast factor, height/width factor or crop offset per call; geometric layers
use TF's projective transform with its fill modes and interpolation
(``numkeras.layers._image_transform``). Called without ``training`` they stay the identity
(tf-keras's default there is ``training=True``). Configs accept both tf-keras's arguments
(``rng_type``, ``force_generator``) and Keras 3's (``data_format``, ``value_range``).

>>> import numpy as np
>>> x = np.arange(24, dtype="uint8").reshape(1, 2, 4, 3)
>>> y = RandomFlip(seed=1)(x)
>>> y.dtype, bool((y == x).all())
(dtype('float32'), True)
>>> RandomCrop(2, 2)(np.zeros((1, 4, 6, 3), "float32")).shape
(1, 2, 2, 3)
>>> flipped = RandomFlip("horizontal", seed=0)(x, training=True)
>>> all((img == x[0]).all() or (img == x[0, :, ::-1]).all() for img in flipped)
True
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers import _image_transform as xf
from numkeras.ops import image as image_ops


class _RandomAugmentation(Layer):
    """Identity at inference; augments with ``training=True``."""

    def __init__(self, seed=None, rng_type=None, force_generator=False, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng_type = rng_type
        self.data_format = data_format
        self._rng = backend.random_generator(seed)

    def call(self, inputs, training=None):
        x = np.asarray(inputs).astype(self.compute_dtype, copy=False)
        if not training:
            return self._inference(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected images of rank 3 "
                             f"or 4 (channels last), got shape {x.shape}.")
        if self.data_format == "channels_first":
            raise ValueError(f"{type(self).__name__} '{self.name}': numkeras augments "
                             "channels_last images only.")
        batch = x if x.ndim == 4 else x[None]
        out = self._augment(batch)
        return out if x.ndim == 4 else out[0]

    def _inference(self, x):
        return x

    def _augment(self, x):
        return x

    def _uniform(self, low, high, size=None):
        return np.asarray(self._rng.uniform(low, high, size), np.float32)

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

    def _augment(self, x):
        out = x.copy()
        if self.mode != "vertical":
            flip = self._rng.random(len(x)) < 0.5
            out[flip] = out[flip][:, :, ::-1]
        if self.mode != "horizontal":
            flip = self._rng.random(len(x)) < 0.5
            out[flip] = out[flip][:, ::-1]
        return out

    def get_config(self):
        return {**self._base_config(), "mode": self.mode, "seed": self.seed}


class _Geometric(_RandomAugmentation):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.fill_mode, self.fill_value, self.interpolation = fill_mode, fill_value, interpolation

    def _apply(self, x, matrices):
        return xf.transform(x, matrices, self.interpolation, self.fill_mode,
                            self.fill_value).astype(x.dtype, copy=False)

    def _fill_config(self) -> dict:
        return {"fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seed": self.seed}


class RandomRotation(_Geometric):
    """Randomly rotates images by up to ``factor * 2 pi``."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, value_range=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor, self.value_range = _listify(factor), _listify(value_range)

    def _augment(self, x):
        low, high = _bounds(self.factor)
        angles = self._uniform(low * 2.0 * np.pi, high * 2.0 * np.pi, len(x))
        return self._apply(x, xf.rotation_matrices(angles, x.shape[1], x.shape[2]))

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

    def _augment(self, x):
        low, high = _bounds(self.height_factor)
        zy = self._uniform(1.0 + low, 1.0 + high, len(x))
        if self.width_factor is None:
            zx = zy
        else:
            low, high = _bounds(self.width_factor)
            zx = self._uniform(1.0 + low, 1.0 + high, len(x))
        return self._apply(x, xf.zoom_matrices(np.stack([zx, zy], 1), x.shape[1], x.shape[2]))

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

    def _augment(self, x):
        low, high = _bounds(self.height_factor)
        dy = self._uniform(low, high, len(x)) * np.float32(x.shape[1])
        low, high = _bounds(self.width_factor)
        dx = self._uniform(low, high, len(x)) * np.float32(x.shape[2])
        return self._apply(x, xf.translation_matrices(np.stack([dx, dy], 1)))

    def get_config(self):
        return {**self._base_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._fill_config()}


class RandomContrast(_RandomAugmentation):
    """Randomly scales each channel's contrast by up to ``factor``."""

    def __init__(self, factor, seed=None, value_range=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor, self.value_range = _listify(factor), _listify(value_range)

    def _augment(self, x):
        low, high = self.factor if isinstance(self.factor, list) else (self.factor,) * 2
        factor = self._uniform(1.0 - low, 1.0 + high)  # one factor per call, as tf-keras
        mean = x.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(x.dtype)
        bottom, top = self.value_range if self.value_range is not None else (0, 255)
        return np.clip((x - mean) * factor + mean, bottom, top).astype(x.dtype, copy=False)

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

    def _augment(self, x):
        low, high = sorted(self.factor)
        bottom, top = self.value_range
        delta = self._uniform(low, high, (len(x), 1, 1, 1)) * np.float32(top - bottom)
        return np.clip(x + delta.astype(x.dtype), bottom, top).astype(x.dtype, copy=False)

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


    def _augment(self, x):
        low, high = _bounds(self.factor)
        axis = 1 if isinstance(self, RandomHeight) else 2
        scale = self._uniform(1.0 + low, 1.0 + high)  # one size per call, as tf-keras
        size = [x.shape[1], x.shape[2]]
        size[axis - 1] = int(scale * np.float32(x.shape[axis]))
        return image_ops.resize(x, tuple(size), self.interpolation).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[-3 if isinstance(self, RandomHeight) else -2] = None
        return tuple(shape)


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

    def _augment(self, x):
        h_diff, w_diff = x.shape[1] - self.height, x.shape[2] - self.width
        if h_diff < 0 or w_diff < 0:  # tf-keras resizes an image smaller than the crop
            return image_ops.resize(x, (self.height, self.width), "bilinear",
                                    crop_to_aspect_ratio=True).astype(self.compute_dtype)
        top = int(self._rng.integers(0, h_diff + 1))  # one offset per call, as tf-keras
        left = int(self._rng.integers(0, w_diff + 1))
        return x[:, top:top + self.height, left:left + self.width]

    def compute_output_shape(self, input_shape):
        if self.data_format is not None:
            return tuple(input_shape)
        shape = list(input_shape)
        shape[-3], shape[-2] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**self._base_config(), "height": self.height, "width": self.width,
                "seed": self.seed}


def _bounds(factor) -> tuple[float, float]:
    """``(lower, upper)`` of a factor: a pair as given, a number ``f`` as ``(-f, f)``."""
    if isinstance(factor, (list, tuple)):
        return float(factor[0]), float(factor[1])
    return -abs(float(factor)), abs(float(factor))


def _listify(value):
    return list(value) if isinstance(value, tuple) else value


__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
           "RandomBrightness", "RandomHeight", "RandomWidth", "RandomCrop"]
