"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Embedding.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> Dense(2, kernel_initializer="ones", bias_initializer="ones")(np.ones((1, 3)))
array([[4., 4.]], dtype=float32)
>>> Flatten()(np.zeros((2, 3, 4))).shape
(2, 12)
>>> Reshape((-1, 2))(np.zeros((2, 6))).shape
(2, 3, 2)
"""

from __future__ import annotations

import math

import numpy as np

from numkeras import activations, backend, initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import (
    check_rank,
    serialize_activation,
    serialize_initializer,
    serialize_object,
)


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; kernel ``(in, units)``, bias ``(units,)``."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.supports_masking = True

    def build(self, input_shape):
        check_rank(self, input_shape, min_rank=2)
        last = input_shape[-1]
        if last is None:
            raise ValueError("The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        self.kernel = self.add_weight("kernel", shape=(last, self.units),
                                      initializer=self.kernel_initializer)
        self.bias = self.add_weight("bias", shape=(self.units,),
                                    initializer=self.bias_initializer) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        kernel = self.kernel.value
        if inputs.shape[-1] != kernel.shape[0]:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"axis -1 of input shape to have value {kernel.shape[0]}, but received input "
                f"with shape {tuple(inputs.shape)}")
        out = inputs @ kernel
        if self.use_bias:
            out = out + self.bias.value
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": serialize_activation(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
                "kernel_regularizer": serialize_object(self.kernel_regularizer),
                "bias_regularizer": serialize_object(self.bias_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "bias_constraint": serialize_object(self.bias_constraint)}


class Activation(Layer):
    """Applies an activation function by name or callable."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": serialize_activation(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of inputs when ``training=True``; identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self._rng = backend.random_generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else tuple(
            s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = self._rng.random(shape) >= self.rate
        return (inputs * keep / (1.0 - self.rate)).astype(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def output_dtype(self, inputs):
        return inputs.dtype

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Flatten(Layer):
    """Flattens all but the batch dimension (channels_first inputs are moved to last first)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Invalid data_format {data_format!r}: expected 'channels_last' "
                             "or 'channels_first'.")

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = np.moveaxis(inputs, 1, -1)
        return inputs.reshape(inputs.shape[0], -1) if inputs.ndim > 1 else inputs[:, None]

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if not rest:
            return (input_shape[0], 1)
        return (input_shape[0], None if None in rest else math.prod(rest))

    def output_dtype(self, inputs):
        return inputs.dtype

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes to ``(batch,) + target_shape``; one dimension may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def _resolve(self, input_shape):
        rest = input_shape[1:]
        if None in rest:
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known == 0 or total % known:
                raise ValueError(f"Layer {self.name}: total size of new array must be unchanged,"
                                 f" input_shape = {list(rest)}, output_shape = "
                                 f"{list(self.target_shape)}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(f"Layer {self.name}: total size of new array must be unchanged, "
                             f"input_shape = {list(rest)}, output_shape = "
                             f"{list(self.target_shape)}")
        return self.target_shape

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self._resolve(inputs.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def output_dtype(self, inputs):
        return inputs.dtype

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Embedding(Layer):
    """Looks up rows of ``embeddings (input_dim, output_dim)`` for integer inputs."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, sparse=False,
                 **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            lengths = input_length if isinstance(input_length, (list, tuple)) else [input_length]
            kwargs["input_shape"] = tuple(lengths)  # (None,) without input_length, as tf.keras
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if input_dim <= 0 or output_dim <= 0:
            raise ValueError("Both `input_dim` and `output_dim` should be positive, received "
                             f"input_dim={input_dim} and output_dim={output_dim}")
        if sparse:
            raise ValueError("numkeras has no sparse tensors: Embedding(sparse=True) is not "
                             "supported.")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = embeddings_regularizer
        self.activity_regularizer = activity_regularizer
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero, self.input_length = mask_zero, input_length
        self._autocast = False

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer)
        self.built = True

    def call(self, inputs):
        ids = np.asarray(inputs).astype(np.int64, copy=False)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids[(ids < 0) | (ids >= self.input_dim)].ravel()[0]
            raise ValueError(f"Layer {self.name}: index {bad} is out of range [0, "
                             f"{self.input_dim}) of the embedding table.")
        return self.embeddings.value[ids]

    def compute_mask(self, inputs, mask=None):
        return np.asarray(inputs) != 0 if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
                "embeddings_regularizer": serialize_object(self.embeddings_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "embeddings_constraint": serialize_object(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "input_length": self.input_length}
