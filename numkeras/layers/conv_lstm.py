"""Convolutional LSTMs: ConvLSTM1D, ConvLSTM2D, ConvLSTM3D (tf-keras 2.21).

The input-to-state and state-to-state transforms of the LSTM are convolutions. Unlike the
dense RNNs, tf-keras builds the cell without a cell name scope, so the weights are
``conv_lstm2d/kernel:0`` (``kernel_size + (in, 4 * filters)``),
``conv_lstm2d/recurrent_kernel:0`` (``kernel_size + (filters, 4 * filters)``) and
``conv_lstm2d/bias:0``. The default ``recurrent_activation`` is ``'hard_sigmoid'``.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> layer = ConvLSTM2D(3, (3, 3), padding="same", return_sequences=True)
>>> layer(np.zeros((2, 4, 6, 6, 2), "float32")).shape
(2, 4, 6, 6, 3)
>>> [(w.name, w.shape) for w in layer.weights]
[('conv_lstm2d/kernel:0', (3, 3, 2, 12)), ('conv_lstm2d/recurrent_kernel:0', (3, 3, 3, 12)), ('conv_lstm2d/bias:0', (12,))]
"""

from __future__ import annotations

import numpy as np

from numkeras import activations
from numkeras.engine.base_layer import Layer
from numkeras.layers._conv_utils import normalize_tuple
from numkeras.layers._utils import serialize_activation, serialize_initializer, serialize_object
from numkeras.layers.recurrent import _cell_property
from numkeras.layers.rnn import RNN
from numkeras.layers.rnn_cells import _check_units, _DropoutCell
from numkeras.ops.conv import conv, conv_output_length


class ConvLSTMCell(_DropoutCell):
    """One step of a convolutional LSTM over ``rank`` spatial dimensions."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        filters = _check_units(filters, "filters")
        super().__init__(filters, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)
        self.rank = int(rank)
        self.filters = filters
        object.__setattr__(self, "kernel_size", normalize_tuple(kernel_size, rank,
                                                                 "kernel_size"))
        object.__setattr__(self, "strides", normalize_tuple(strides, rank, "strides"))
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"The `padding` argument must be 'valid' or 'same'. Received: "
                             f"padding={padding!r}")
        self.padding = padding
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError("The `data_format` argument must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format
        object.__setattr__(self, "dilation_rate", normalize_tuple(dilation_rate, rank,
                                                                   "dilation_rate"))
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` is not compatible with `dilation_rate > 1`. "
                             f"Received: strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        object.__setattr__(self, "state_size", (self.filters, self.filters))
        self.output_size = None

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        input_dim = input_shape[self._channel_axis]
        if input_dim is None:
            raise ValueError("The channel dimension of the inputs (last axis) should be "
                             f"defined. Found None. Full input shape received: "
                             f"input_shape={input_shape}")
        object.__setattr__(self, "kernel_shape", self.kernel_size + (input_dim,
                                                                     4 * self.filters))
        self.kernel = self.add_weight("kernel", shape=self.kernel_shape,
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", shape=self.kernel_size + (self.filters, 4 * self.filters),
            initializer=self.recurrent_initializer)
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                f, base = self.filters, self.bias_initializer

                def init(_, dtype=None, **kwargs):
                    return np.concatenate([base((f,), dtype=dtype), np.ones((f,), dtype=dtype),
                                           base((2 * f,), dtype=dtype)])
            self.bias = self.add_weight("bias", shape=(4 * self.filters,), initializer=init)
        else:
            self.bias = None
        self.built = True

    def _reset_masks(self, batch_size, input_dim, dtype, training):
        object.__setattr__(self, "_dp_mask", None)
        object.__setattr__(self, "_rec_dp_mask", None)
        object.__setattr__(self, "_training", bool(training))

    def _bias_shape(self, ndim):
        shape = [1] * ndim
        shape[self._channel_axis] = 4 * self.filters
        return shape

    def _project(self, x):
        """Input convolutions of all leading (time, batch) positions at once."""
        lead = x.shape[:x.ndim - self.rank - 1]
        flat = x.reshape((-1,) + x.shape[len(lead):])
        if self.__dict__.get("_training") and 0 < self.dropout < 1:
            keep = self._rng.random(flat.shape[1:]) >= self.dropout
            flat = (flat * keep / (1.0 - self.dropout)).astype(flat.dtype)
        out = conv(flat, self.kernel.value, strides=self.strides, padding=self.padding,
                   dilation_rate=self.dilation_rate, data_format=self.data_format)
        if self.use_bias:
            out = out + self.bias.value.reshape(self._bias_shape(out.ndim))
        return out.reshape(tuple(lead) + out.shape[1:])

    def _step(self, p, states):
        h_tm1, c_tm1 = states[0], states[1]
        if self.__dict__.get("_training") and 0 < self.recurrent_dropout < 1:
            keep = self._rng.random(h_tm1.shape) >= self.recurrent_dropout
            h_tm1 = (h_tm1 * keep / (1.0 - self.recurrent_dropout)).astype(h_tm1.dtype)
        z = p + conv(h_tm1, self.recurrent_kernel.value, strides=1, padding="same",
                     data_format=self.data_format)
        i, f, c, o = np.split(z, 4, axis=self._channel_axis)
        i = self.recurrent_activation(i)
        f = self.recurrent_activation(f)
        c = f * c_tm1 + i * self.activation(c)
        o = self.recurrent_activation(o)
        h = o * self.activation(c)
        return h, [h, c]

    def output_spatial(self, spatial) -> tuple:
        return tuple(conv_output_length(s, k, self.padding, st, d) for s, k, st, d in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def get_config(self):
        return {**Layer.get_config(self), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": serialize_activation(self.activation),
                "recurrent_activation": serialize_activation(self.recurrent_activation),
                "use_bias": self.use_bias, **self._tail_config(),
                "unit_forget_bias": self.unit_forget_bias, **self._reg_config(),
                **self._constraint_config()}


class ConvLSTM(RNN):
    """Base of ConvLSTM1D/2D/3D: inputs ``(batch, time, *spatial, channels)`` (or channels
    first)."""

    _cell_scope = False
    _rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        cell = ConvLSTMCell(
            rank=self._rank, filters=filters, kernel_size=kernel_size, strides=strides,
            padding=padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, name="conv_lstm_cell",
            dtype=kwargs.get("dtype"))
        if kwargs.get("time_major"):
            raise ValueError("ConvLSTM layers do not support `time_major=True`.")
        kwargs.pop("time_major", None)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)
        self.activity_regularizer = activity_regularizer

    @property
    def _input_rank(self):
        return self._rank + 3

    def _spatial(self, shape):
        return shape[2:-1] if self.cell.data_format == "channels_last" else shape[3:]

    def _feature_shape(self, shape):
        spatial = self.cell.output_spatial(self._spatial(shape))
        f = self.cell.filters
        return spatial + (f,) if self.cell.data_format == "channels_last" else (f,) + spatial

    def get_initial_state(self, inputs):
        zeros = np.zeros((inputs.shape[0],) + self._feature_shape(inputs.shape), inputs.dtype)
        return [zeros, zeros.copy()]

    def _output_step_shape(self, shape):
        return self._feature_shape(shape)

    def _state_shapes(self, batch, shape):
        return [(batch,) + self._feature_shape(shape)] * 2

    def get_config(self):
        cell = self.cell
        return {**self._rnn_config(), "filters": cell.filters, "kernel_size": cell.kernel_size,
                "strides": cell.strides, "padding": cell.padding,
                "data_format": cell.data_format, "dilation_rate": cell.dilation_rate,
                "activation": serialize_activation(cell.activation),
                "recurrent_activation": serialize_activation(cell.recurrent_activation),
                "use_bias": cell.use_bias,
                "kernel_initializer": serialize_initializer(cell.kernel_initializer),
                "recurrent_initializer": serialize_initializer(cell.recurrent_initializer),
                "bias_initializer": serialize_initializer(cell.bias_initializer),
                "unit_forget_bias": cell.unit_forget_bias,
                "kernel_regularizer": serialize_object(cell.kernel_regularizer),
                "recurrent_regularizer": serialize_object(cell.recurrent_regularizer),
                "bias_regularizer": serialize_object(cell.bias_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "kernel_constraint": serialize_object(cell.kernel_constraint),
                "recurrent_constraint": serialize_object(cell.recurrent_constraint),
                "bias_constraint": serialize_object(cell.bias_constraint),
                "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("unroll", None)
        return cls(**config)

    filters = _cell_property("filters")
    kernel_size = _cell_property("kernel_size")
    strides = _cell_property("strides")
    padding = _cell_property("padding")
    data_format = _cell_property("data_format")
    dilation_rate = _cell_property("dilation_rate")
    activation = _cell_property("activation")
    recurrent_activation = _cell_property("recurrent_activation")
    use_bias = _cell_property("use_bias")
    unit_forget_bias = _cell_property("unit_forget_bias")


class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM: inputs ``(batch, time, rows, channels)``."""

    _rank = 1


class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM: inputs ``(batch, time, rows, cols, channels)``."""

    _rank = 2


class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM: inputs ``(batch, time, d1, d2, d3, channels)``."""

    _rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
