"""Recurrent cells: SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells (tf-keras 2.21).

A cell computes one time step: ``call(inputs, states) -> (output, new_states)``. The
:class:`~numkeras.layers.rnn.RNN` layer runs a cell over a sequence; for speed it asks the
built-in cells to project all time steps at once (``_project``: ``x @ kernel + bias``) and
then runs only the recurrent part per step (``_step``). Gate orders are tf-keras's: LSTM
``i, f, c, o``, GRU ``z, r, h``.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> cell = LSTMCell(2, kernel_initializer="ones", recurrent_initializer="zeros")
>>> cell.build((None, 3))
>>> [(w.name, w.shape) for w in cell.weights]
[('kernel:0', (3, 8)), ('recurrent_kernel:0', (2, 8)), ('bias:0', (8,))]
>>> h, (h2, c) = cell.call(np.zeros((1, 3), "float32"), [np.zeros((1, 2), "float32")] * 2)
>>> h.shape, c.shape
((1, 2), (1, 2))
"""

from __future__ import annotations

import numpy as np

from numkeras import activations, backend, initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import serialize_activation, serialize_initializer, serialize_object


def _check_units(units, name: str = "units") -> int:
    if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer, got {units}.")
    return int(units)


def _check_rate(value, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Argument `{name}` must be a float in [0, 1], got {value!r}.") \
            from None
    return min(1.0, max(0.0, value))


class _DropoutCell(Layer):
    """Shared pieces of the built-in cells: dropout masks, config, zero initial states.

    Dropout masks are drawn once per sequence (as tf-keras's ``DropoutRNNCellMixin``): the
    RNN layer calls :meth:`_reset_masks` before running the sequence. At inference
    (``training`` falsy) dropout is the identity.
    """

    def __init__(self, units, activation, use_bias, kernel_initializer,
                 recurrent_initializer, bias_initializer, kernel_regularizer,
                 recurrent_regularizer, bias_regularizer, kernel_constraint,
                 recurrent_constraint, bias_constraint, dropout, recurrent_dropout, **kwargs):
        kwargs.pop("enable_caching_device", None)
        super().__init__(**kwargs)
        self.units = _check_units(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = _check_rate(dropout, "dropout")
        self.recurrent_dropout = _check_rate(recurrent_dropout, "recurrent_dropout")
        object.__setattr__(self, "_rng", backend.random_generator())
        object.__setattr__(self, "_dp_mask", None)
        object.__setattr__(self, "_rec_dp_mask", None)

    # -- dropout -------------------------------------------------------------------------------
    def _draw(self, shape, rate, dtype):
        keep = self._rng.random(shape) >= rate
        return (keep / (1.0 - rate)).astype(dtype)

    def _reset_masks(self, batch_size: int, input_dim: int, dtype, training) -> None:
        """Draw this sequence's dropout masks (or clear them when not training)."""
        use = bool(training)
        dp = self._draw((batch_size, input_dim), self.dropout, dtype) \
            if use and 0 < self.dropout < 1 else None
        rec = self._draw((batch_size, self.units), self.recurrent_dropout, dtype) \
            if use and 0 < self.recurrent_dropout < 1 else None
        object.__setattr__(self, "_dp_mask", dp)
        object.__setattr__(self, "_rec_dp_mask", rec)

    def _drop_inputs(self, x):
        return x if self._dp_mask is None else x * self._dp_mask

    def _drop_state(self, h):
        return h if self._rec_dp_mask is None else h * self._rec_dp_mask

    # -- shared API ----------------------------------------------------------------------------
    def _add_kernels(self, input_dim: int, gates: int):
        self.kernel = self.add_weight("kernel", shape=(input_dim, gates * self.units),
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel",
                                                shape=(self.units, gates * self.units),
                                                initializer=self.recurrent_initializer)

    def _check_input(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Layer {self.name} expects step inputs of shape (batch, features) "
                             f"with a known last dimension; received {tuple(input_shape)}.")
        return int(input_shape[-1])

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """Zero states, one ``(batch_size, size)`` array per entry of ``state_size``."""
        dtype = dtype or self.dtype
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) \
            else [self.state_size]
        states = [np.zeros((batch_size, s), dtype=dtype) for s in sizes]
        return states if isinstance(self.state_size, (list, tuple)) else states[0]

    def call(self, inputs, states, training=None):
        """One time step: ``(output, new_states)`` for ``inputs`` of shape (batch, features)."""
        flat = list(states) if isinstance(states, (list, tuple)) else [states]
        inputs = np.asarray(inputs)
        self._reset_masks(inputs.shape[0], inputs.shape[-1], inputs.dtype, training)
        out, new = self._step(self._project(inputs), flat)
        if not isinstance(states, (list, tuple)):
            new = new[0]
        return out, new

    def _base_config(self) -> dict:
        return {"units": self.units, "activation": serialize_activation(self.activation)}

    def _tail_config(self) -> dict:
        return {"kernel_initializer": serialize_initializer(self.kernel_initializer),
                "recurrent_initializer": serialize_initializer(self.recurrent_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer)}

    def _reg_config(self) -> dict:
        return {"kernel_regularizer": serialize_object(self.kernel_regularizer),
                "recurrent_regularizer": serialize_object(self.recurrent_regularizer),
                "bias_regularizer": serialize_object(self.bias_regularizer)}

    def _constraint_config(self) -> dict:
        return {"kernel_constraint": serialize_object(self.kernel_constraint),
                "recurrent_constraint": serialize_object(self.recurrent_constraint),
                "bias_constraint": serialize_object(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}


class SimpleRNNCell(_DropoutCell):
    """``h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)``."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = self._check_input(input_shape)
        self._add_kernels(input_dim, 1)
        self.bias = self.add_weight("bias", shape=(self.units,),
                                    initializer=self.bias_initializer) if self.use_bias else None
        self.built = True

    def _project(self, x):
        out = self._drop_inputs(x) @ self.kernel.value
        return out + self.bias.value if self.use_bias else out

    def _step(self, p, states):
        h = self.activation(p + self._drop_state(states[0]) @ self.recurrent_kernel.value)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), **self._base_config(), "use_bias": self.use_bias,
                **self._tail_config(), **self._reg_config(), **self._constraint_config()}


class LSTMCell(_DropoutCell):
    """Long short-term memory step; gates ``i, f, c, o`` along the last kernel axis."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout != 0 and implementation != 1 \
            else implementation
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = self._check_input(input_shape)
        self._add_kernels(input_dim, 4)
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                units, base = self.units, self.bias_initializer

                def init(_, dtype=None, **kwargs):
                    return np.concatenate([base((units,), dtype=dtype),
                                           np.ones((units,), dtype=dtype),
                                           base((units * 2,), dtype=dtype)])
            self.bias = self.add_weight("bias", shape=(4 * self.units,), initializer=init)
        else:
            self.bias = None
        self.built = True

    def _project(self, x):
        out = self._drop_inputs(x) @ self.kernel.value
        return out + self.bias.value if self.use_bias else out

    def _step(self, p, states):
        h_tm1, c_tm1 = states[0], states[1]
        z = p + self._drop_state(h_tm1) @ self.recurrent_kernel.value
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        c = f * c_tm1 + i * self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), **self._base_config(),
                "recurrent_activation": serialize_activation(self.recurrent_activation),
                "use_bias": self.use_bias, **self._tail_config(),
                "unit_forget_bias": self.unit_forget_bias, **self._reg_config(),
                **self._constraint_config(), "implementation": self.implementation}


class GRUCell(_DropoutCell):
    """Gated recurrent unit step; gates ``z, r, h``. ``reset_after=True`` (TF2 default) keeps
    separate input and recurrent biases (bias shape ``(2, 3 * units)``) and applies the reset
    gate after the recurrent matmul; ``False`` is the original GRU (bias ``(3 * units,)``)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.implementation = 1 if self.recurrent_dropout != 0 and implementation != 1 \
            else implementation
        self.reset_after = bool(reset_after)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = self._check_input(input_shape)
        self._add_kernels(input_dim, 3)
        if self.use_bias:
            shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self.bias = self.add_weight("bias", shape=shape, initializer=self.bias_initializer)
        else:
            self.bias = None
        self.built = True

    def _project(self, x):
        out = self._drop_inputs(x) @ self.kernel.value
        if not self.use_bias:
            return out
        bias = self.bias.value
        return out + (bias[0] if self.reset_after else bias)

    def _step(self, p, states):
        h_tm1 = states[0]
        u = self.units
        rk = self.recurrent_kernel.value
        h_in = self._drop_state(h_tm1)
        if self.reset_after:
            inner = h_in @ rk
            if self.use_bias:
                inner = inner + self.bias.value[1]
        else:
            inner = h_in @ rk[:, :2 * u]
        z = self.recurrent_activation(p[:, :u] + inner[:, :u])
        r = self.recurrent_activation(p[:, u:2 * u] + inner[:, u:2 * u])
        if self.reset_after:
            rec_h = r * inner[:, 2 * u:]
        else:
            rec_h = (r * h_in) @ rk[:, 2 * u:]
        hh = self.activation(p[:, 2 * u:] + rec_h)
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]

    def get_config(self):
        return {**super().get_config(), **self._base_config(),
                "recurrent_activation": serialize_activation(self.recurrent_activation),
                "use_bias": self.use_bias, **self._tail_config(), **self._reg_config(),
                **self._constraint_config(), "implementation": self.implementation,
                "reset_after": self.reset_after}


def _state_list(size) -> list:
    return list(size) if isinstance(size, (list, tuple)) else [size]


class StackedRNNCells(Layer):
    """Several cells run as one: each cell's output is the next cell's input.

    Its ``state_size`` is the cells' state sizes, concatenated (flattened).
    """

    def __init__(self, cells, **kwargs):
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError("All cells must have a `call` method and a `state_size` "
                                 f"attribute. Received cells={cells}")
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self):
        return tuple(s for cell in self.cells for s in _state_list(cell.state_size))

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _state_list(last.state_size)[0]

    def build(self, input_shape):
        from numkeras import backend

        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                with backend.name_scope(cell.name):
                    cell.build(shape)
                    cell.built = True
                object.__setattr__(cell, "_build_shape", shape)
            out = getattr(cell, "output_size", None) or _state_list(cell.state_size)[0]
            shape = (shape[0], out)
        self.built = True

    def _split_states(self, states):
        out, i = [], 0
        for cell in self.cells:
            n = len(_state_list(cell.state_size))
            out.append(list(states[i:i + n]))
            i += n
        return out

    def _reset_masks(self, batch_size, input_dim, dtype, training):
        dim = input_dim
        for cell in self.cells:
            if hasattr(cell, "_reset_masks"):
                cell._reset_masks(batch_size, dim, dtype, training)
            dim = getattr(cell, "output_size", None) or _state_list(cell.state_size)[0]

    def _project(self, x):
        first = self.cells[0]
        return first._project(x) if hasattr(first, "_project") else x

    def _step(self, p, states, training=None):
        new_states = []
        x = p
        for k, (cell, cell_states) in enumerate(zip(self.cells, self._split_states(states))):
            if k == 0 and hasattr(cell, "_step"):
                x, new = cell._step(x, cell_states)
            elif hasattr(cell, "_step"):
                x, new = cell._step(cell._project(x), cell_states)
            else:
                arg = cell_states if isinstance(cell.state_size, (list, tuple)) \
                    else cell_states[0]
                x, new = cell.call(x, arg)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
            new_states.extend(new)
        return x, new_states

    def call(self, inputs, states, training=None):
        out, new = self._step(self._project(np.asarray(inputs)), list(states), training)
        return out, new

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        dtype = dtype or self.dtype
        return [np.zeros((batch_size, s), dtype=dtype) for s in self.state_size]

    def get_config(self):
        from numkeras.layers.rnn import serialize_layer

        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from numkeras.layers.rnn import deserialize_layer

        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)
