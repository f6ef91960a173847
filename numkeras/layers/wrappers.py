"""Layer wrappers: Bidirectional and TimeDistributed (tf-keras 2.21).

``Bidirectional(layer)`` runs a copy of ``layer`` forwards and another backwards, named
``forward_<name>`` and ``backward_<name>`` and built in name scopes of those names
(``bidirectional/forward_lstm/lstm_cell/kernel:0``). ``TimeDistributed(layer)`` applies
``layer`` to every time step; the inner layer is built directly in the wrapper's scope
(``time_distributed/kernel:0``).

>>> import numpy as np
>>> from numkeras import backend
>>> from numkeras.layers.core import Dense
>>> from numkeras.layers.recurrent import LSTM
>>> backend.clear_session()
>>> bi = Bidirectional(LSTM(2, return_sequences=True))
>>> bi(np.zeros((1, 4, 3), "float32")).shape
(1, 4, 4)
>>> [w.name for w in bi.weights][::3]
['bidirectional/forward_lstm/lstm_cell/kernel:0', 'bidirectional/backward_lstm/lstm_cell/kernel:0']
>>> td = TimeDistributed(Dense(5))
>>> td(np.zeros((2, 4, 3), "float32")).shape
(2, 4, 5)
>>> [w.name for w in td.weights]
['time_distributed/kernel:0', 'time_distributed/bias:0']
"""

from __future__ import annotations

import inspect

import numpy as np

from numkeras import backend
from numkeras.engine import nest
from numkeras.engine.base_layer import Layer
from numkeras.engine.keras_tensor import KerasTensor, strip_mask, with_mask
from numkeras.layers.rnn import deserialize_layer, serialize_layer, set_build_shape

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _accepts(fn, arg: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _is_shape(s) -> bool:
    return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _to_spec(shapes, dtype):
    if _is_shape(shapes):
        return KerasTensor(shapes, dtype)
    return [_to_spec(s, dtype) for s in shapes]


def _build_child(layer, shape, scope: str | None) -> None:
    """Build ``layer`` for ``shape`` (in name scope ``scope`` when given), once."""
    if layer.built:
        return
    if scope is None:
        layer._maybe_build(shape)
    else:
        with backend.name_scope(scope):
            layer._maybe_build(shape)
    set_build_shape(layer, shape if _is_shape(shape) else None)


class Wrapper(Layer):
    """Base of layers that wrap another layer (held in ``self.layer``)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to wrapper is not a supported layer type. "
                             "Please ensure wrapped layer is a valid numkeras Layer.")
        super().__init__(**kwargs)
        self.layer = layer

    @property
    def activity_regularizer(self):
        return getattr(self.layer, "activity_regularizer", None)

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)


class Bidirectional(Wrapper):
    """Runs ``layer`` forwards and a copy backwards and merges the two outputs.

    ``merge_mode`` is ``'concat'`` (default), ``'sum'``, ``'mul'``, ``'ave'`` or ``None`` (a
    list of both outputs). ``backward_layer`` replaces the automatic backward copy.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`numkeras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `numkeras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             'one of {"sum", "mul", "ave", "concat", None}')
        for attr in ("go_backwards", "return_sequences", "return_state", "stateful"):
            if not hasattr(layer, attr):
                raise ValueError(f"`Bidirectional` needs a recurrent layer (with `{attr}`); "
                                 f"received {type(layer).__name__}.")
        Layer.__init__(self, **kwargs)
        object.__setattr__(self, "layer", layer)  # not tracked, as in tf-keras
        self.forward_layer = self._recreate_layer_from_config(layer)
        if backward_layer is None:
            self.backward_layer = self._recreate_layer_from_config(layer, go_backwards=True)
        else:
            self.backward_layer = backward_layer
            self._backward_layer_config = serialize_layer(backward_layer)
        object.__setattr__(self.forward_layer, "_name", "forward_" + self.forward_layer.name)
        object.__setattr__(self.backward_layer, "_name", "backward_" + self.backward_layer.name)
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        if weights:
            half = len(weights) // 2
            object.__setattr__(self.forward_layer, "_initial_weights", list(weights[:half]))
            object.__setattr__(self.backward_layer, "_initial_weights", list(weights[half:]))
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        object.__setattr__(self, "_trainable", bool(kwargs.get("trainable", layer.trainable)))

    def _recreate_layer_from_config(self, layer, go_backwards=False):
        config = layer.get_config()
        if go_backwards:
            config["go_backwards"] = not config["go_backwards"]
        custom = {}
        cell = getattr(layer, "cell", None)
        if cell is not None:
            custom[type(cell).__name__] = type(cell)
            for c in getattr(cell, "cells", []):
                custom[type(c).__name__] = type(c)
        if _accepts(type(layer).from_config, "custom_objects"):
            return type(layer).from_config(config, custom_objects=custom)
        return type(layer).from_config(config)

    def _verify_layer_config(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             f"`go_backwards` value. forward_layer.go_backwards = "
                             f"{fwd.go_backwards}, backward_layer.go_backwards = "
                             f"{bwd.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, a) != getattr(bwd, a):
                raise ValueError("Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{a}", got "{getattr(fwd, a)}" for '
                                 f'forward layer and "{getattr(bwd, a)}" for backward layer')

    def build(self, input_shape):
        _build_child(self.forward_layer, input_shape, self.forward_layer.name)
        _build_child(self.backward_layer, input_shape, self.backward_layer.name)
        self.built = True

    def call(self, inputs, training=None, mask=None, initial_state=None):
        kwargs = {}
        if _accepts(self.forward_layer.call, "training"):
            kwargs["training"] = training
        if _accepts(self.forward_layer.call, "mask"):
            kwargs["mask"] = mask
        forward_inputs = backward_inputs = inputs
        forward_state = backward_state = None
        if isinstance(inputs, list) and len(inputs) > 1:
            pivot = (len(inputs)) // 2 + 1
            forward_inputs = [inputs[0]] + list(inputs[1:pivot])
            backward_inputs = [inputs[0]] + list(inputs[pivot:])
        elif initial_state is not None:
            initial_state = list(initial_state)
            if len(initial_state) % 2:
                raise ValueError("When passing `initial_state` to a Bidirectional RNN, the state "
                                 "should be a list containing the states of the underlying "
                                 f"RNNs. Received: {initial_state}")
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        if forward_state is not None:
            y = self.forward_layer(forward_inputs, initial_state=forward_state, **kwargs)
            y_rev = self.backward_layer(backward_inputs, initial_state=backward_state, **kwargs)
        else:
            y = self.forward_layer(forward_inputs, **kwargs)
            y_rev = self.backward_layer(backward_inputs, **kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y, y_rev = strip_mask(np.asarray(y)), strip_mask(np.asarray(y_rev))
        if self.return_sequences:
            time_axis = 0 if getattr(self.forward_layer, "time_major", False) else 1
            y_rev = np.flip(y_rev, axis=time_axis)
        if self.merge_mode == "concat":
            output = np.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / np.asarray(2, y.dtype)
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        out_mask = None
        if mask is not None and self.return_sequences:
            out_mask = np.asarray(nest.flatten(mask)[0])
        if self.merge_mode is None:
            output = [with_mask(o, out_mask) for o in output]
            return output + states if self.return_state else output
        if self.return_state:
            return [with_mask(output, out_mask)] + states
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            output_mask = mask if self.merge_mode else [mask, mask]
        else:
            output_mask = None if self.merge_mode else [None, None]
        if self.return_state:
            n = len(self.forward_layer.states)
            head = output_mask if isinstance(output_mask, list) else [output_mask]
            return head + [None] * (2 * n)
        return output_mask

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.return_state:
            out, state_shapes = shape[0], list(shape[1:])
        else:
            out, state_shapes = shape, []
        out = tuple(out)
        if self.merge_mode == "concat":
            out = out[:-1] + (None if out[-1] is None else 2 * out[-1],)
            outs = [out]
        elif self.merge_mode is None:
            outs = [out, out]
        else:
            outs = [out]
        if self.return_state:
            return outs + state_shapes + list(state_shapes)
        return outs[0] if self.merge_mode is not None else outs

    def compute_output_spec(self, *args, **kwargs):
        shapes = self.compute_output_shape(nest.map_structure(lambda t: t.shape, args[0]))
        return _to_spec(shapes, self.dtype)

    def reset_states(self, states=None):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    def get_config(self):
        config = {**super().get_config(), "merge_mode": self.merge_mode}
        if "_backward_layer_config" in self.__dict__:
            config["backward_layer"] = self._backward_layer_config
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("num_constants", None)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every temporal slice (axis 1) of inputs of rank >= 3."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a "
                             f"`numkeras.layers.Layer` instance. Received: {layer}")
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    @staticmethod
    def _child_shape(shape):
        return (shape[0],) + tuple(shape[2:])

    def _check(self, shape):
        if len(shape) < 3:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions (expected min_ndim=3), received: "
                             f"{tuple(shape)}")

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        child = self._child_shape(shape)
        if not self.layer.built:
            self.layer._maybe_build(child)
            set_build_shape(self.layer, child)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x = strip_mask(np.asarray(inputs))
        self._check(x.shape)
        batch, steps = x.shape[0], x.shape[1]
        kwargs = {}
        if _accepts(self.layer.call, "training"):
            kwargs["training"] = training
        if mask is not None and _accepts(self.layer.call, "mask"):
            m = np.asarray(mask)
            kwargs["mask"] = m.reshape((-1,) + m.shape[2:])
        y = self.layer(x.reshape((-1,) + x.shape[2:]), **kwargs)
        return nest.map_structure(
            lambda o: strip_mask(np.asarray(o)).reshape((batch, steps) + np.shape(o)[1:]), y)

    def compute_mask(self, inputs, mask=None):
        x = np.asarray(inputs)
        inner_mask = None
        if mask is not None:
            m = np.asarray(mask)
            inner_mask = m.reshape((-1,) + m.shape[2:])
        inner = self.layer.compute_mask(x.reshape((-1,) + x.shape[2:]), inner_mask)
        if inner is None:
            if mask is None:
                return None
            out = np.asarray(mask)
            while out.ndim > 2:
                out = out.any(axis=-1)
            return out
        inner = np.asarray(inner)
        return inner.reshape((x.shape[0], x.shape[1]) + inner.shape[1:])

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        child = self.layer.compute_output_spec(KerasTensor(self._child_shape(shape), self.dtype))

        def insert(t):
            return (shape[0], shape[1]) + tuple(t.shape[1:])

        return nest.map_structure(insert, child)

    def compute_output_spec(self, *args, **kwargs):
        shape = tuple(args[0].shape)
        self._check(shape)
        child = self.layer.compute_output_spec(KerasTensor(self._child_shape(shape), self.dtype))
        return nest.map_structure(
            lambda t: KerasTensor((shape[0], shape[1]) + tuple(t.shape[1:]), t.dtype), child)


__all__ = ["Wrapper", "Bidirectional", "TimeDistributed"]
