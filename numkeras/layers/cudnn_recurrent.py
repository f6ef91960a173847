"""CuDNNLSTM and CuDNNGRU: tf-keras's GPU-only recurrent layers, computed on NumPy.

Their weights are ``kernel (in, G*u)``, ``recurrent_kernel (u, G*u)`` and a doubled
``bias (2*G*u,)`` (cuDNN's separate input and recurrent biases; ``G`` = 4 for LSTM, 3 for
GRU), named ``cu_dnnlstm/kernel:0`` ... as in tf-keras. numkeras runs them as
``LSTM`` / ``GRU(reset_after=True)`` (sigmoid recurrent activation, tanh activation) on the
weights converted by :mod:`numkeras.ops.rnn_layouts`, the conversion tf-keras applies when it
loads CuDNN weights into those layers; masks are not supported (as in tf-keras).

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> layer = CuDNNLSTM(3, return_sequences=True)
>>> layer(np.zeros((2, 4, 5), "float32")).shape
(2, 4, 3)
>>> [(w.name, w.shape) for w in layer.weights]
[('cu_dnnlstm/kernel:0', (5, 12)), ('cu_dnnlstm/recurrent_kernel:0', (3, 12)), ('cu_dnnlstm/bias:0', (24,))]
"""

from __future__ import annotations

import numpy as np

from numkeras import backend, initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import serialize_initializer, serialize_object
from numkeras.ops import rnn_layouts


class _CuDNNRNN(Layer):
    _gates = 4

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, time_major=False, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if time_major:
            raise ValueError(f"{type(self).__name__}: time_major=True is not supported by "
                             "numkeras.")
        self.units = int(units)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.recurrent_regularizer = (kernel_regularizer,
                                                                recurrent_regularizer)
        self.bias_regularizer, self.activity_regularizer = bias_regularizer, activity_regularizer
        self.kernel_constraint, self.recurrent_constraint = (kernel_constraint,
                                                              recurrent_constraint)
        self.bias_constraint = bias_constraint
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.time_major = go_backwards, stateful, time_major

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        g, u = self._gates, self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], u * g),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, u * g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", (u * g * 2,), initializer=self._bias_init(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint)
        native = self._native_layer()
        with backend.name_scope(f"{self.name}_native"):
            native._maybe_build(tuple(input_shape))
        object.__setattr__(self, "_native", native)  # untracked: not part of any file
        self.built = True

    def _bias_init(self):
        return self.bias_initializer

    def _native_weights(self) -> list:
        raise NotImplementedError

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if isinstance(mask, list):
            mask = mask[0]
        if mask is not None:
            raise ValueError("Masking is not supported for CuDNN RNNs.")
        self._native.set_weights(self._native_weights())
        return self._native(inputs, initial_state=initial_state)

    def compute_output_shape(self, input_shape):
        return self._native_layer().compute_output_shape(input_shape) if not self.built \
            else self._native.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "time_major": self.time_major, "units": self.units,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "recurrent_initializer": serialize_initializer(self.recurrent_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
                **self._extra_config(),
                "kernel_regularizer": serialize_object(self.kernel_regularizer),
                "recurrent_regularizer": serialize_object(self.recurrent_regularizer),
                "bias_regularizer": serialize_object(self.bias_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "recurrent_constraint": serialize_object(self.recurrent_constraint),
                "bias_constraint": serialize_object(self.bias_constraint)}

    def _extra_config(self) -> dict:
        return {}


class CuDNNLSTM(_CuDNNRNN):
    """tf-keras's CuDNNLSTM (``unit_forget_bias``: the recurrent forget-gate bias starts at 1)."""

    _gates = 4

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        u, init = self.units, self.bias_initializer

        def bias(shape, dtype=None):  # tf-keras: 5u initializer values, u ones, 2u values
            return np.concatenate([np.asarray(init((u * 5,), dtype=dtype)), np.ones(u, dtype),
                                   np.asarray(init((u * 2,), dtype=dtype))])
        return bias

    def _native_layer(self):
        from numkeras.layers.recurrent import LSTM

        return LSTM(self.units, return_sequences=self.return_sequences,
                    return_state=self.return_state, go_backwards=self.go_backwards,
                    stateful=self.stateful, name=f"{self.name}_native", dtype=self._dtype)

    def _native_weights(self) -> list:
        kernel, recurrent = rnn_layouts.kernels_from_cudnn(self.kernel.value,
                                                           self.recurrent_kernel.value, 4)
        return [kernel, recurrent, rnn_layouts.lstm_bias_from_cudnn(self.bias.value)]

    def _extra_config(self) -> dict:
        return {"unit_forget_bias": self.unit_forget_bias}


class CuDNNGRU(_CuDNNRNN):
    """tf-keras's CuDNNGRU, computed as ``GRU(reset_after=True)``."""

    _gates = 3

    def _native_layer(self):
        from numkeras.layers.recurrent import GRU

        return GRU(self.units, reset_after=True, return_sequences=self.return_sequences,
                   return_state=self.return_state, go_backwards=self.go_backwards,
                   stateful=self.stateful, name=f"{self.name}_native", dtype=self._dtype)

    def _native_weights(self) -> list:
        kernel, recurrent = rnn_layouts.kernels_from_cudnn(self.kernel.value,
                                                           self.recurrent_kernel.value, 3)
        return [kernel, recurrent, np.asarray(self.bias.value).reshape(2, -1)]


__all__ = ["CuDNNLSTM", "CuDNNGRU"]
