"""BatchNormalization and LayerNormalization.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> bn = BatchNormalization()
>>> _ = bn(np.ones((2, 3)))
>>> [w.name for w in bn.weights]
['batch_normalization/gamma:0', 'batch_normalization/beta:0', 'batch_normalization/moving_mean:0', 'batch_normalization/moving_variance:0']
>>> [w.name for w in bn.trainable_weights]
['batch_normalization/gamma:0', 'batch_normalization/beta:0']
"""

from __future__ import annotations

import numpy as np

from numkeras import initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import normalize_axes, serialize_initializer, serialize_object
from numkeras.ops import nn as nn_ops


class BatchNormalization(Layer):
    """Normalizes with batch statistics when training, moving statistics at inference."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99,
                 fused=None, trainable=True, virtual_batch_size=None, adjustment=None,
                 synchronized=False, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        if virtual_batch_size or adjustment is not None:
            raise ValueError("BatchNormalization(virtual_batch_size=..., adjustment=...) is not "
                             "supported by numkeras yet.")
        if renorm and fused:
            raise ValueError("Passing both `fused=True` and `renorm=True` is not supported")
        if renorm and set(renorm_clipping or {}) - {"rmax", "rmin", "dmax"}:
            raise ValueError("Received invalid keys for `renorm_clipping` argument: "
                             f"{renorm_clipping}. Supported values: ['rmax', 'rmin', 'dmax'].")
        self.renorm = bool(renorm)
        self.renorm_clipping = renorm_clipping or {}
        self.renorm_momentum = renorm_momentum
        self.axis = axis
        self.momentum, self.epsilon = momentum, epsilon
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.fused = fused
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        self.axis = normalize_axes(self.axis, rank, self.name)  # a list, as tf-keras keeps it
        for a in self.axis:
            if input_shape[a] is None:
                raise ValueError(f"Axis {a} of input tensor should have a defined dimension but "
                                 f"the layer received an input with shape {input_shape}.")
        if len(self.axis) == 1:
            shape = (input_shape[self.axis[0]],)
        else:
            shape = tuple(input_shape[i] if i in self.axis else 1 for i in range(rank))
            shape = (1,) + shape[1:] if 0 not in self.axis else shape
        self._param_shape = shape
        self.gamma = self.add_weight("gamma", shape, initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, initializer=self.beta_initializer) \
            if self.center else None
        self.moving_mean = self.add_weight("moving_mean", shape, trainable=False,
                                           initializer=self.moving_mean_initializer)
        self.moving_variance = self.add_weight("moving_variance", shape, trainable=False,
                                               initializer=self.moving_variance_initializer)
        if self.renorm:  # tf-keras's order: moving_stddev, renorm_mean, renorm_stddev
            stddev = np.sqrt(self.moving_variance.numpy())
            self.moving_stddev = self.add_weight("moving_stddev", shape, trainable=False,
                                                 initializer="ones")
            self.moving_stddev.assign(stddev)
            self.renorm_mean = self.add_weight("renorm_mean", shape, trainable=False,
                                               initializer=self.moving_mean_initializer)
            self.renorm_stddev = self.add_weight("renorm_stddev", shape, trainable=False,
                                                 initializer="ones")
            self.renorm_stddev.assign(stddev)
        self._fused = (self.fused is not False and rank == 4 and len(self.axis) == 1
                       and self.axis[0] in (1, 3))
        self.built = True

    def _broadcast(self, v, rank):
        if len(self.axis) != 1:
            return v
        shape = [1] * rank
        shape[self.axis[0]] = v.shape[0]
        return v.reshape(shape)

    def call(self, inputs, training=None, mask=None):
        rank = inputs.ndim
        reduce = tuple(i for i in range(rank) if i not in self.axis)
        r = d = None
        if training and self.trainable:
            mean = inputs.mean(axis=reduce, keepdims=True, dtype=np.float64)
            var = ((inputs - mean) ** 2).mean(axis=reduce, keepdims=True, dtype=np.float64)
            count = int(np.prod([inputs.shape[i] for i in reduce]))
            if self.renorm:
                r, d = self._renorm_update(mean, var)
            else:
                self._update_moving(mean, var, count)
            mean, var = mean.astype(inputs.dtype), var.astype(inputs.dtype)
        else:
            mean = self._broadcast(self.moving_mean.value, rank)
            var = self._broadcast(self.moving_variance.value, rank)
        inv = 1.0 / np.sqrt(var + np.asarray(self.epsilon, dtype=inputs.dtype))
        gamma = self._broadcast(self.gamma.value, rank) if self.scale else None
        beta = self._broadcast(self.beta.value, rank) if self.center else None
        if r is not None:  # renorm: (x_hat * r + d) * gamma + beta
            r, d = self._broadcast(r, rank), self._broadcast(d, rank)
            beta = d * gamma + (beta if beta is not None else 0) if gamma is not None \
                else d + (beta if beta is not None else 0)
            gamma = r * gamma if gamma is not None else r
        if gamma is not None:
            inv = inv * gamma
        offset = -mean * inv
        if beta is not None:
            offset = offset + beta
        inv = inv.astype(inputs.dtype, copy=False)
        offset = offset.astype(inputs.dtype, copy=False)
        if len(self.axis) == 1 and self.axis[0] == rank - 1:  # per-channel, channels last
            return nn_ops.channel_affine(inputs, inv.reshape(-1), offset.reshape(-1))
        out = np.multiply(inputs, inv)
        out += offset
        return out

    def _renorm_update(self, mean, var):
        """Batch renormalization's corrections ``(r, d)`` from the statistics before this
        batch, then tf-keras's updates of the renorm and moving statistics."""
        shape, dtype = self.moving_mean.shape, self.moving_mean.dtype
        mean = mean.reshape(shape).astype(dtype)
        stddev = np.sqrt(var.reshape(shape).astype(dtype) + np.asarray(self.epsilon, dtype))
        renorm_stddev = np.maximum(self.renorm_stddev.value, np.sqrt(np.asarray(self.epsilon,
                                                                                dtype)))
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean.value) / renorm_stddev
        clip = self.renorm_clipping
        if clip.get("rmin") is not None:
            r = np.maximum(r, np.asarray(clip["rmin"], dtype))
        if clip.get("rmax") is not None:
            r = np.minimum(r, np.asarray(clip["rmax"], dtype))
        if clip.get("dmax") is not None:
            d = np.clip(d, -np.asarray(clip["dmax"], dtype), np.asarray(clip["dmax"], dtype))
        for var_, value, momentum in ((self.renorm_mean, mean, self.renorm_momentum),
                                      (self.renorm_stddev, stddev, self.renorm_momentum),
                                      (self.moving_mean, mean, self.momentum),
                                      (self.moving_stddev, stddev, self.momentum)):
            var_.assign_sub((var_.value - value) * np.asarray(1.0 - momentum, dtype))
        moving = self.moving_stddev.value
        self.moving_variance.assign(np.maximum(moving * moving - np.asarray(self.epsilon,
                                                                            dtype), 0))
        return r, d

    def _update_moving(self, mean, var, count):
        if self._fused and count > 1:
            var = var * (count / (count - 1))  # the fused kernel keeps Bessel's correction
        shape = self.moving_mean.shape
        decay = 1.0 - self.momentum
        for moving, value in ((self.moving_mean, mean), (self.moving_variance, var)):
            value = value.reshape(shape).astype(moving.dtype)
            moving.assign_sub((moving.value - value) * np.asarray(decay, moving.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                "axis": self.axis,
                "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": serialize_initializer(self.beta_initializer),
                "gamma_initializer": serialize_initializer(self.gamma_initializer),
                "moving_mean_initializer": serialize_initializer(self.moving_mean_initializer),
                "moving_variance_initializer":
                    serialize_initializer(self.moving_variance_initializer),
                "beta_regularizer": serialize_object(self.beta_regularizer),
                "gamma_regularizer": serialize_object(self.gamma_regularizer),
                "beta_constraint": serialize_object(self.beta_constraint),
                "gamma_constraint": serialize_object(self.gamma_constraint),
                **({"renorm": True, "renorm_clipping": self.renorm_clipping,
                    "renorm_momentum": self.renorm_momentum} if self.renorm else {})}


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis``; weights ``gamma`` then ``beta``."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon, self.center, self.scale = epsilon, center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.supports_masking = True

    def build(self, input_shape):
        self.axis = normalize_axes(self.axis, len(input_shape), self.name)
        shape = tuple(input_shape[a] for a in self.axis)
        self.gamma = self.add_weight("gamma", shape, initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, initializer=self.beta_initializer) \
            if self.center else None
        self.built = True

    def call(self, inputs):
        rank = inputs.ndim
        axes = tuple(self.axis)
        shape = [inputs.shape[i] if i in axes else 1 for i in range(rank)]
        mean = inputs.mean(axis=axes, keepdims=True)
        var = ((inputs - mean) ** 2).mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + np.asarray(self.epsilon, dtype=inputs.dtype))
        if self.scale:
            inv = inv * self.gamma.value.reshape(shape)
        out = inputs * inv - mean * inv
        if self.center:
            out = out + self.beta.value.reshape(shape)
        return out.astype(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": serialize_initializer(self.beta_initializer),
                "gamma_initializer": serialize_initializer(self.gamma_initializer),
                "beta_regularizer": serialize_object(self.beta_regularizer),
                "gamma_regularizer": serialize_object(self.gamma_regularizer),
                "beta_constraint": serialize_object(self.beta_constraint),
                "gamma_constraint": serialize_object(self.gamma_constraint)}


class SyncBatchNormalization(BatchNormalization):
    """tf-keras's deprecated ``layers.experimental.SyncBatchNormalization``: at inference (and
    on one device) the same computation and weights as ``BatchNormalization``."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        kwargs.pop("synchronized", None)
        super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, center=center,
                         scale=scale, synchronized=True, **kwargs)
