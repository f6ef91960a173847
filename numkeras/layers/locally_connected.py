"""LocallyConnected1D / LocallyConnected2D: convolutions whose weights are not shared.

tf-keras keeps the kernel in one of three layouts, chosen by ``implementation``:

* ``1``: ``(output positions, kernel positions * channels_in, filters)``; the patch of each
  output position is flattened in the input's own order (``(k..., c_in)`` channels last,
  ``(c_in, k...)`` channels first); ``padding='valid'`` only.
* ``2``: a dense ``(input dims..., output dims...)`` kernel (channel axis placed as in the
  data format) multiplied by the 0/1 connectivity mask.
* ``3``: the connected entries only, ``(n,)``, in ascending ``(output index, input index)``
  order of the flattened input and output.

Every layout is turned into one dense ``(input size, output size)`` matrix here, so the three
compute the same thing. The bias is ``(output dims..., filters)``; with ``channels_first``
tf-keras adds it *reshaped* (not transposed) to ``(filters, output dims...)``, and so do we.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> layer = LocallyConnected1D(2, 3)
>>> layer(np.ones((1, 5, 4), "float32")).shape
(1, 3, 2)
>>> [(w.name, w.shape) for w in layer.weights]
[('locally_connected1d/kernel:0', (3, 12, 2)), ('locally_connected1d/bias:0', (3, 2))]
"""

from __future__ import annotations

import itertools

import numpy as np

from numkeras import activations, initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._conv_utils import normalize_data_format, normalize_padding, normalize_tuple
from numkeras.layers._utils import serialize_activation, serialize_initializer, serialize_object


def _output_length(length: int, kernel: int, padding: str, stride: int) -> int:
    if padding == "same":
        return (length + stride - 1) // stride
    return (length - kernel + stride) // stride


def _connected(in_shape, kernel, strides, padding, out_pos):
    """The input ranges connected to one output position (tf-keras's rule)."""
    ranges = []
    for d, size in enumerate(in_shape):
        left = kernel[d] // 2
        right = kernel[d] - left
        center = out_pos[d] * strides[d] + (left if padding == "valid" else 0)
        ranges.append(range(max(0, center - left), min(size, center + right)))
    return ranges


class _LocallyConnected(Layer):
    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides", allow_zero=True)
        self.padding = normalize_padding(padding, ("valid", "same"))
        if self.padding != "valid" and implementation == 1:
            raise ValueError(f"Invalid border mode for {type(self).__name__} (only \"valid\" is "
                             f"supported if implementation is 1): {padding}")
        if implementation not in (1, 2, 3):
            raise ValueError(f"Unrecognized implementation mode: {implementation}.")
        self.data_format = normalize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.implementation = implementation

    def _split(self, shape):
        """``(spatial dims, channels)`` of an input shape."""
        if self.data_format == "channels_first":
            return tuple(shape[2:]), shape[1]
        return tuple(shape[1:-1]), shape[-1]

    def _out_dims(self, spatial):
        return tuple(_output_length(n, k, self.padding, s) if n is not None else None
                     for n, k, s in zip(spatial, self.kernel_size, self.strides))

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim={self.rank + 2}, found ndim={len(input_shape)}. "
                             f"Full shape received: {tuple(input_shape)}")
        spatial, cin = self._split(input_shape)
        if cin is None or any(d is None for d in spatial):
            raise ValueError(f"{type(self).__name__} needs fully defined spatial and channel "
                             f"dimensions. Found shape: {tuple(input_shape)}")
        out = self._out_dims(spatial)
        if any(d <= 0 for d in out):
            raise ValueError("One of the dimensions in the output is <= 0 due to downsampling "
                             f"in {self.name}. Consider increasing the input size. Received "
                             f"input shape {tuple(input_shape)} which would produce output "
                             "shape with a zero or negative value in a dimension.")
        self._spatial, self._cin, self._out = spatial, cin, out
        cf = self.data_format == "channels_first"
        if self.implementation == 1:
            shape = (int(np.prod(out)), int(np.prod(self.kernel_size)) * cin, self.filters)
        elif self.implementation == 2:
            shape = ((cin, *spatial, self.filters, *out) if cf
                     else (*spatial, cin, *out, self.filters))
        else:
            self._idxs = self._kernel_idxs()
            shape = (len(self._idxs),)
        self.kernel = self.add_weight("kernel", shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (*out, self.filters),
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    # -- the connectivity ------------------------------------------------------------------
    def _pairs(self):
        """``(output position, input position)`` of every connected pair of spatial sites."""
        for out_pos in itertools.product(*(range(d) for d in self._out)):
            ranges = _connected(self._spatial, self.kernel_size, self.strides, self.padding,
                                out_pos)
            for in_pos in itertools.product(*ranges):
                yield out_pos, in_pos

    def _flat(self, pos, channel, dims, channels):
        full = (channel, *pos) if self.data_format == "channels_first" else (*pos, channel)
        shape = (channels, *dims) if self.data_format == "channels_first" else (*dims, channels)
        return int(np.ravel_multi_index(full, shape))

    def _kernel_idxs(self) -> list:
        idxs = []
        for out_pos, in_pos in self._pairs():
            for cin in range(self._cin):
                for f in range(self.filters):
                    idxs.append((self._flat(out_pos, f, self._out, self.filters),
                                 self._flat(in_pos, cin, self._spatial, self._cin)))
        return sorted(idxs)

    def _mask(self):
        mask = np.zeros((*self._spatial, *self._out), dtype=bool)
        for out_pos, in_pos in self._pairs():
            mask[(*in_pos, *out_pos)] = True
        n = self.rank
        if self.data_format == "channels_first":
            return mask.reshape((1, *self._spatial, 1, *self._out))
        return np.expand_dims(np.expand_dims(mask, n), -1)

    def _matrix(self, dtype) -> np.ndarray:
        """The kernel as ``(input size, output size)`` in the data format's flat order."""
        in_size = int(np.prod(self._spatial)) * self._cin
        out_size = int(np.prod(self._out)) * self.filters
        kernel = np.asarray(self.kernel.value)
        if self.implementation == 2:
            return (kernel * self._mask()).reshape(in_size, out_size).astype(dtype, copy=False)
        if self.implementation == 3:
            rows, cols = np.asarray(self._idxs, dtype=np.int64).T
            matrix = np.zeros((in_size, out_size), dtype)
            matrix[cols, rows] = kernel
            return matrix
        return None

    def call(self, inputs):
        x = np.asarray(inputs)
        dtype = self.compute_dtype
        x = x.astype(dtype, copy=False)
        batch = x.shape[0]
        cf = self.data_format == "channels_first"
        if self.implementation == 1:
            patches = []
            for pos in itertools.product(*(range(d) for d in self._out)):
                window = tuple(slice(p * s, p * s + k)
                               for p, s, k in zip(pos, self.strides, self.kernel_size))
                index = (slice(None), slice(None), *window) if cf else (slice(None), *window)
                patches.append(x[index].reshape(batch, -1))
            stacked = np.stack(patches, axis=1)  # (batch, positions, features)
            out = np.einsum("bpk,pkf->bpf", stacked, np.asarray(self.kernel.value, dtype))
            out = out.reshape((batch, *self._out, self.filters))
            if cf:
                out = np.moveaxis(out, -1, 1)
        else:
            out = x.reshape(batch, -1) @ self._matrix(dtype)
            shape = (self.filters, *self._out) if cf else (*self._out, self.filters)
            out = out.reshape((batch, *shape))
        if self.use_bias:
            bias = np.asarray(self.bias.value, dtype)
            if cf:
                out = out + bias.reshape((1, self.filters, *self._out))  # tf-keras's reshape
            else:
                out = out + bias
        return self.activation(out).astype(dtype, copy=False)

    def compute_output_shape(self, input_shape):
        spatial, _ = self._split(input_shape)
        out = self._out_dims(spatial)
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters, *out)
        return (input_shape[0], *out, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "activation": serialize_activation(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
                "kernel_regularizer": serialize_object(self.kernel_regularizer),
                "bias_regularizer": serialize_object(self.bias_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "bias_constraint": serialize_object(self.bias_constraint),
                "implementation": self.implementation}


class LocallyConnected1D(_LocallyConnected):
    """Unshared 1D convolution over ``(batch, steps, channels)``."""

    rank = 1


class LocallyConnected2D(_LocallyConnected):
    """Unshared 2D convolution over ``(batch, rows, cols, channels)``."""

    rank = 2


__all__ = ["LocallyConnected1D", "LocallyConnected2D"]
