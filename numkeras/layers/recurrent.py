"""SimpleRNN, LSTM and GRU: an :class:`~numkeras.layers.rnn.RNN` around the matching cell.

The cell is named ``simple_rnn_cell`` / ``lstm_cell`` / ``gru_cell`` (fixed names, as in
tf-keras), so weights are ``lstm/lstm_cell/kernel:0`` and so on. Constructor arguments and
``get_config`` keys are tf-keras 2.21's.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> lstm = LSTM(3, return_sequences=True)
>>> lstm(np.zeros((2, 5, 4), "float32")).shape
(2, 5, 3)
>>> [(w.name, w.shape) for w in lstm.weights]
[('lstm/lstm_cell/kernel:0', (4, 12)), ('lstm/lstm_cell/recurrent_kernel:0', (3, 12)), ('lstm/lstm_cell/bias:0', (12,))]
>>> GRU(2, reset_after=False)(np.zeros((1, 3, 4), "float32")).shape
(1, 2)
"""

from __future__ import annotations

from numkeras.layers._utils import serialize_activation, serialize_initializer, serialize_object
from numkeras.layers.rnn import RNN
from numkeras.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell

_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
             "time_major")


def _cell_property(name: str):
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's ``{name}``.")


class _CellLayer(RNN):
    """An RNN whose constructor takes the cell's arguments (SimpleRNN, LSTM, GRU)."""

    _cell_class: type = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, cell_kwargs: dict, rnn_kwargs: dict, activity_regularizer=None,
                 **kwargs):
        implementation = kwargs.pop("implementation", None)
        if implementation is not None and self._cell_class is not SimpleRNNCell:
            cell_kwargs["implementation"] = 1 if implementation == 0 else implementation
        kwargs.pop("enable_caching_device", None)
        cell = self._cell_class(**cell_kwargs, dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True), name=self._cell_name)
        super().__init__(cell, **rnn_kwargs, **kwargs)
        self.activity_regularizer = activity_regularizer

    def _cell_config(self) -> dict:
        cell = self.cell
        config = {"units": cell.units, "activation": serialize_activation(cell.activation)}
        if hasattr(cell, "recurrent_activation"):
            config["recurrent_activation"] = serialize_activation(cell.recurrent_activation)
        config.update({
            "use_bias": cell.use_bias,
            "kernel_initializer": serialize_initializer(cell.kernel_initializer),
            "recurrent_initializer": serialize_initializer(cell.recurrent_initializer),
            "bias_initializer": serialize_initializer(cell.bias_initializer)})
        if hasattr(cell, "unit_forget_bias"):
            config["unit_forget_bias"] = cell.unit_forget_bias
        config.update({
            "kernel_regularizer": serialize_object(cell.kernel_regularizer),
            "recurrent_regularizer": serialize_object(cell.recurrent_regularizer),
            "bias_regularizer": serialize_object(cell.bias_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "kernel_constraint": serialize_object(cell.kernel_constraint),
            "recurrent_constraint": serialize_object(cell.recurrent_constraint),
            "bias_constraint": serialize_object(cell.bias_constraint),
            "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout})
        if hasattr(cell, "implementation"):
            config["implementation"] = cell.implementation
        if hasattr(cell, "reset_after"):
            config["reset_after"] = cell.reset_after
        return config

    def get_config(self):
        return {**self._rnn_config(), **self._cell_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if config.get("implementation") == 0:
            config["implementation"] = 1
        return cls(**config)

    units = _cell_property("units")
    activation = _cell_property("activation")
    use_bias = _cell_property("use_bias")
    kernel_initializer = _cell_property("kernel_initializer")
    recurrent_initializer = _cell_property("recurrent_initializer")
    bias_initializer = _cell_property("bias_initializer")
    kernel_regularizer = _cell_property("kernel_regularizer")
    recurrent_regularizer = _cell_property("recurrent_regularizer")
    bias_regularizer = _cell_property("bias_regularizer")
    kernel_constraint = _cell_property("kernel_constraint")
    recurrent_constraint = _cell_property("recurrent_constraint")
    bias_constraint = _cell_property("bias_constraint")
    dropout = _cell_property("dropout")
    recurrent_dropout = _cell_property("recurrent_dropout")


class SimpleRNN(_CellLayer):
    """Fully-connected RNN whose output is fed back as its state."""

    _cell_class, _cell_name = SimpleRNNCell, "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, unroll=unroll)
        super().__init__(cell_kwargs, rnn_kwargs, activity_regularizer, **kwargs)


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter 1997); states ``[h, c]``."""

    _cell_class, _cell_name = LSTMCell, "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, time_major=False, unroll=False, **kwargs):
        kwargs.pop("return_runtime", None)
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, time_major=time_major,
                          unroll=unroll)
        super().__init__(cell_kwargs, rnn_kwargs, activity_regularizer, **kwargs)

    recurrent_activation = _cell_property("recurrent_activation")
    unit_forget_bias = _cell_property("unit_forget_bias")
    implementation = _cell_property("implementation")


class GRU(_CellLayer):
    """Gated recurrent unit (Cho 2014); ``reset_after=True`` is TF2's cuDNN-compatible form."""

    _cell_class, _cell_name = GRUCell, "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, time_major=False,
                 reset_after=True, **kwargs):
        kwargs.pop("return_runtime", None)
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                          time_major=time_major)
        super().__init__(cell_kwargs, rnn_kwargs, activity_regularizer, **kwargs)

    recurrent_activation = _cell_property("recurrent_activation")
    implementation = _cell_property("implementation")
    reset_after = _cell_property("reset_after")


__all__ = ["SimpleRNN", "LSTM", "GRU"]
