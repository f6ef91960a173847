"""Preprocessing layers: Rescaling, Resizing, CenterCrop and Normalization (with ``adapt``).

Normalization's state is three non-trainable weights, ``mean``, ``variance`` (the kept-axis
shape) and ``count`` (int64 scalar), as in tf-keras; ``adapt(data)`` computes them.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> Rescaling(1 / 255.0)(np.full((1, 2), 255.0)).tolist()
[[1.0, 1.0]]
>>> norm = Normalization()
>>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
>>> norm(np.array([[1.0, 20.0]])).tolist(), int(norm.count.numpy())
([[0.0, 0.0]], 2)
>>> CenterCrop(2, 2)(np.zeros((1, 4, 5, 3))).shape
(1, 2, 2, 3)
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import check_rank
from numkeras.layers.reshaping import check_interpolation
from numkeras.ops import image as image_ops


class Rescaling(Layer):
    """``inputs * scale + offset``."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        dtype = self.compute_dtype
        x = np.asarray(inputs).astype(dtype, copy=False)
        return x * np.asarray(self.scale, dtype) + np.asarray(self.offset, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class _ImageLayer(Layer):
    """Images ``(..., height, width, channels)``, rank 3 (unbatched) or 4; Keras 3's
    ``data_format='channels_first'`` takes ``(..., channels, height, width)``."""

    def _set_format(self, data_format) -> None:
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', not "
                             f"{data_format!r}.")
        self.data_format = data_format

    def _last(self, x):
        return np.moveaxis(x, -3, -1) if self.data_format == "channels_first" else x

    def _back(self, x):
        return np.moveaxis(x, -1, -3) if self.data_format == "channels_first" else x

    def _format_config(self) -> dict:  # tf-keras has no data_format: written only when set
        return {} if self.data_format == "channels_last" else {"data_format": self.data_format}

    def _check(self, shape):
        check_rank(self, shape, min_rank=3)
        if len(shape) > 4:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=3 or ndim=4, found ndim={len(shape)}. Full shape "
                             f"received: {tuple(shape)}")

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_first":
            return tuple(input_shape[:-2]) + (self.height, self.width)
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                **self._format_config()}


class Resizing(_ImageLayer):
    """Resizes images to ``(height, width)`` (``tf.image.resize``; channels last)."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 data_format=None, pad_to_aspect_ratio=False, fill_mode="constant",
                 fill_value=0.0, antialias=False, **kwargs):
        super().__init__(**kwargs)
        if pad_to_aspect_ratio or antialias:  # Keras 3 options; fill_* only act when padding
            raise ValueError(f"Resizing {self.name!r}: pad_to_aspect_ratio=True and "
                             "antialias=True (Keras 3 options) are not supported by numkeras.")
        self._set_format(data_format)
        self.height, self.width = height, width
        self.interpolation = check_interpolation(interpolation)
        self.crop_to_aspect_ratio = crop_to_aspect_ratio

    def call(self, inputs):
        self._check(inputs.shape)
        if self.interpolation != "nearest":
            inputs = inputs.astype(np.float32, copy=False)
        out = image_ops.resize(self._last(inputs), (self.height, self.width),
                               self.interpolation, crop_to_aspect_ratio=self.crop_to_aspect_ratio)
        return self._back(out.astype(self.compute_dtype, copy=False))

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio}


class CenterCrop(_ImageLayer):
    """Crops the central ``(height, width)`` window; smaller images are resized up first."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(autocast=False, **kwargs)
        self._set_format(data_format)
        self.height, self.width = height, width

    def call(self, inputs):
        self._check(inputs.shape)
        return self._back(self._crop(self._last(np.asarray(inputs))))

    def _crop(self, x):
        x = x.astype(self.compute_dtype, copy=False)
        rows, cols = x.shape[-3], x.shape[-2]
        if rows < self.height or cols < self.width:
            out = image_ops.resize(x, (self.height, self.width), "bilinear",
                                   crop_to_aspect_ratio=True)
            return out.astype(self.compute_dtype, copy=False)
        top, left = (rows - self.height) // 2, (cols - self.width) // 2
        return x[..., top:top + self.height, left:left + self.width, :]


class Normalization(Layer):
    """``(inputs - mean) / sqrt(variance)`` per ``axis`` entry (``invert=True``: the inverse)."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = (axis,) if isinstance(axis, int) else tuple(axis)
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Got mean: {mean} and variance: {variance}")
        self.input_mean, self.input_variance, self.invert = mean, variance, invert

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Found "
                             f"ndim: `{ndim}`, axis: {self.axis}")
        self._keep_axis = sorted(a % ndim for a in self.axis)
        for a in self._keep_axis:
            if input_shape[a] is None:
                raise ValueError("All `axis` values to be kept must have known shape. Got axis:"
                                 f" {self.axis}, input shape: {input_shape}, with unknown axis "
                                 f"at index: {a}")
        self._reduce_axis = [d for d in range(ndim) if d not in self._keep_axis]
        self._reduce_axis_mask = [0 if d in self._keep_axis else 1 for d in range(ndim)]
        self._broadcast_shape = [input_shape[d] if d in self._keep_axis else 1
                                 for d in range(ndim)]
        shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight("variance", shape, initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight("count", (), dtype="int64", initializer="zeros",
                                         trainable=False)
            self.finalize_state()
        else:
            dtype = self.compute_dtype
            ones = np.ones(shape)
            self._mean = (self.input_mean * ones).reshape(self._broadcast_shape).astype(dtype)
            self._variance = (self.input_variance * ones).reshape(
                self._broadcast_shape).astype(dtype)
        self.built = True

    @property
    def mean(self) -> np.ndarray:
        """The mean, broadcastable against the inputs."""
        return self._mean

    @property
    def variance(self) -> np.ndarray:
        """The variance, broadcastable against the inputs."""
        return self._variance

    # -- adapt -------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Compute ``mean``, ``variance`` and ``count`` from ``data``.

        ``data`` is an array (processed in batches of ``batch_size``, default 32) or an
        iterable of arrays (at most ``steps`` batches are used).
        """
        if self.input_mean is not None:
            raise ValueError("Cannot `adapt` a Normalization layer that is initialized with "
                             f"static `mean` and `variance`, you passed mean "
                             f"{self.input_mean} and variance {self.input_variance}.")
        batches = _batches(data, batch_size, steps)
        if not self.built:
            first = batches[0]
            if getattr(self, "_batch_input_shape", None) is None:
                object.__setattr__(self, "_batch_input_shape", (None,) * first.ndim)
            self.build(first.shape)
        self.reset_state()
        for batch in batches:
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        data = np.asarray(data).astype(self.adapt_mean.dtype, copy=False)
        axes = tuple(self._reduce_axis)
        batch_mean = data.mean(axis=axes, dtype=np.float64)
        batch_var = data.var(axis=axes, dtype=np.float64)
        batch_count = int(np.prod([data.shape[a] for a in axes])) if axes else 1
        total = batch_count + int(self.count.numpy())
        w_new = batch_count / total
        w_old = 1.0 - w_new
        old_mean = self.adapt_mean.numpy().astype(np.float64)
        old_var = self.adapt_variance.numpy().astype(np.float64)
        mean = old_mean * w_old + batch_mean * w_new
        var = ((old_var + (old_mean - mean) ** 2) * w_old
               + (batch_var + (batch_mean - mean) ** 2) * w_new)
        self.adapt_mean.assign(mean.astype(self.adapt_mean.dtype))
        self.adapt_variance.assign(var.astype(self.adapt_variance.dtype))
        self.count.assign(np.asarray(total, dtype=np.int64))

    def reset_state(self) -> None:
        if self.input_mean is not None or not self.built:
            return
        self.adapt_mean.assign(np.zeros(self.adapt_mean.shape, self.adapt_mean.dtype))
        self.adapt_variance.assign(np.ones(self.adapt_variance.shape, self.adapt_variance.dtype))
        self.count.assign(np.zeros((), np.int64))

    def finalize_state(self) -> None:
        """Refresh the broadcast ``mean``/``variance`` from the weights (after loading too)."""
        if self.input_mean is not None or not self.built:
            return
        dtype = self.compute_dtype
        self._mean = self.adapt_mean.numpy().reshape(self._broadcast_shape).astype(dtype)
        self._variance = self.adapt_variance.numpy().reshape(self._broadcast_shape).astype(dtype)

    # -- forward -----------------------------------------------------------------------------
    def call(self, inputs):
        if self.input_mean is None:
            self.finalize_state()  # weights may have been set or loaded since
        x = np.asarray(inputs).astype(self.compute_dtype, copy=False)
        std = np.maximum(np.sqrt(self._variance), np.asarray(backend.epsilon(), x.dtype))
        if self.invert:
            return self._mean + x * std
        return (x - self._mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": _listify(self.input_mean), "variance": _listify(self.input_variance)}


def _listify(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def _batches(data, batch_size, steps) -> list[np.ndarray]:
    if isinstance(data, np.ndarray) or (isinstance(data, (list, tuple)) and data
                                        and not isinstance(data[0], np.ndarray)):
        data = np.asarray(data)
        size = batch_size or 32
        out = [data[i:i + size] for i in range(0, max(len(data), 1), size)]
    else:
        out = [np.asarray(b) for b in data]
    return out[:steps] if steps is not None else out


__all__ = ["Rescaling", "Resizing", "CenterCrop", "Normalization"]
