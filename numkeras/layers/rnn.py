"""The ``RNN`` layer: runs a recurrent cell over the time axis, as tf-keras 2.21 does.

Weights live in the cell, built inside a name scope named after the cell, so an
``RNN(LSTMCell(4))`` called ``rnn`` has ``rnn/lstm_cell/kernel:0``. Masked time steps
(e.g. after ``Embedding(mask_zero=True)``) leave the states unchanged and repeat the previous
output (zeros before the first unmasked step), as ``tf.keras.backend.rnn`` does.

>>> import numpy as np
>>> from numkeras import backend
>>> from numkeras.layers.rnn_cells import SimpleRNNCell
>>> backend.clear_session()
>>> rnn = RNN(SimpleRNNCell(2, kernel_initializer="ones", recurrent_initializer="zeros"),
...           return_sequences=True)
>>> rnn(np.ones((1, 3, 1), "float32")).shape
(1, 3, 2)
>>> [w.name for w in rnn.weights]
['rnn/simple_rnn_cell/kernel:0', 'rnn/simple_rnn_cell/recurrent_kernel:0', 'rnn/simple_rnn_cell/bias:0']
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine import nest
from numkeras.engine.base_layer import Layer
from numkeras.engine.keras_tensor import KerasTensor, strip_mask, with_mask

# -- nested layer configs ({'class_name': ..., 'config': ...}) ----------------------------------


def serialize_layer(layer) -> dict:
    """tf-keras's ``serialize_keras_object`` form of a layer (with ``build_config`` when the
    shape it was built for is known)."""
    out = {"module": "keras.layers", "class_name": type(layer).__name__,
           "config": layer.get_config(), "registered_name": None}
    shape = layer.__dict__.get("_build_shape")
    if layer.built and shape is not None:
        out["build_config"] = {"input_shape": tuple(shape)}
    return out


def deserialize_layer(config, custom_objects=None):
    """A layer from :func:`serialize_layer` output (or a legacy ``{'class_name', 'config'}``),
    looked up by class name among ``numkeras.layers`` (and ``custom_objects``)."""
    if isinstance(config, Layer):
        return config
    from numkeras import layers

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize layer from {config!r}: expected a dict with "
                         "'class_name' and 'config'.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or getattr(layers, name, None)
    if cls is None:
        from numkeras.layers import rnn_cells

        cls = getattr(rnn_cells, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"Unknown layer class {name!r}: it is not a numkeras layer. Pass it "
                         "in `custom_objects`.")
    inner = dict(config.get("config", {}))
    try:
        return cls.from_config(inner, custom_objects=custom_objects)
    except TypeError:
        return cls.from_config(inner)


def set_build_shape(layer, shape) -> None:
    """Remember the shape ``layer`` was built for (reported as its ``build_config``)."""
    object.__setattr__(layer, "_build_shape", None if shape is None else tuple(shape))


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _cell_output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is None:
        size = _as_list(cell.state_size)[0]
    return size


def _flat_state_sizes(cell) -> list:
    return nest.flatten(_as_list(cell.state_size))


class RNN(Layer):
    """Runs ``cell`` over inputs of shape ``(batch, time, ...)`` (``(time, batch, ...)`` when
    ``time_major``). ``cell`` may be a list of cells (wrapped in ``StackedRNNCells``).

    ``unroll`` is accepted and ignored (the result is the same). ``stateful=True`` keeps the
    final states of one call as the initial states of the next (``reset_states()`` clears them).
    Constants (``constants=``) are not supported.
    """

    #: Whether the cell is built inside a name scope named after it (ConvRNN layers do not).
    _cell_scope = True
    _input_rank: int | None = 3

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, time_major=False, **kwargs):
        from numkeras.layers.rnn_cells import StackedRNNCells

        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(f"Argument `cell` should have a `call` method. The RNN was passed: "
                             f"cell={cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError("The RNN cell should have a `state_size` attribute (tuple of "
                             f"integers, one integer per RNN state). Received: cell={cell}")
        zero_output_for_mask = kwargs.pop("zero_output_for_mask", False)
        if kwargs.pop("num_constants", 0):
            raise ValueError("numkeras RNN layers do not support `constants`.")
        if "input_shape" not in kwargs and ("input_dim" in kwargs or "input_length" in kwargs):
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim", None))
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.time_major = bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        object.__setattr__(self, "_states", None)

    # -- building ------------------------------------------------------------------------------
    def _main_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0],
                                                                       (list, tuple)):
            return tuple(input_shape[0])
        return tuple(input_shape)

    def _check_input_rank(self, shape) -> None:
        rank = self._input_rank
        if rank is not None and len(shape) != rank:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim={rank}, found ndim={len(shape)}. Full shape "
                             f"received: {tuple(shape)}")

    def _step_input_shape(self, shape):
        return shape[1:] if self.time_major else (shape[0],) + tuple(shape[2:])

    def build(self, input_shape):
        shape = self._main_shape(input_shape)
        self._check_input_rank(shape)
        step_shape = self._step_input_shape(shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            if self._cell_scope:
                with backend.name_scope(self.cell.name):
                    self.cell.build(step_shape)
            else:
                self.cell.build(step_shape)
            self.cell.built = True
            set_build_shape(self.cell, step_shape)
        self.state_spec = [(None,) + tuple(_as_list(s)) for s in _flat_state_sizes(self.cell)]
        self.built = True

    # -- states --------------------------------------------------------------------------------
    @property
    def states(self):
        if self._states is None:
            return [None] * len(_flat_state_sizes(self.cell))
        return list(self._states)

    def reset_states(self, states=None) -> None:
        """Clear (or set) the kept states of a stateful RNN."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if states is None:
            if self._states is not None:
                object.__setattr__(self, "_states", [np.zeros_like(s) for s in self._states])
            return
        states = [np.asarray(s) for s in nest.flatten(_as_list(states))]
        if self._states is not None:
            if len(states) != len(self._states):
                raise ValueError(f"Layer {self.name} expects {len(self._states)} states, but "
                                 f"it received {len(states)} state values.")
            for i, (new, old) in enumerate(zip(states, self._states)):
                if new.shape != old.shape:
                    raise ValueError(f"State {i} is incompatible with layer {self.name}: "
                                     f"expected shape={old.shape} but found shape={new.shape}")
        object.__setattr__(self, "_states", [s.astype(self.dtype) for s in states])

    def get_initial_state(self, inputs):
        batch = inputs.shape[1] if self.time_major else inputs.shape[0]
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            states = fn(inputs=None, batch_size=batch, dtype=inputs.dtype)
        else:
            states = [np.zeros((batch,) + tuple(_as_list(s)), dtype=inputs.dtype)
                      for s in _flat_state_sizes(self.cell)]
        return nest.flatten(_as_list(states))

    # -- calling -------------------------------------------------------------------------------
    def _split_inputs(self, inputs, initial_state):
        if isinstance(inputs, list):
            if len(inputs) > 1 and initial_state is None:
                initial_state = inputs[1:]
            inputs = inputs[0]
        return inputs, initial_state

    def _run(self, inputs, mask, training, initial_state):
        """Run the cell; returns ``(last_output, outputs or None, final_states)``."""
        x = strip_mask(np.asarray(inputs))
        self._check_input_rank(x.shape)
        if initial_state is None and self.stateful and self._states is not None:
            initial_state = self._states
        if initial_state is None:
            states = self.get_initial_state(x)
        else:
            states = [strip_mask(np.asarray(s, dtype=x.dtype))
                      for s in nest.flatten(_as_list(initial_state))]
            expected = len(_flat_state_sizes(self.cell))
            if len(states) != expected:
                raise ValueError(f"Layer has {expected} states but was passed {len(states)} "
                                 f"initial states. Received: initial_state={initial_state}")
        xt = x if self.time_major else np.swapaxes(x, 0, 1)
        m = None
        if mask is not None:
            m = np.asarray(nest.flatten(mask)[0]).astype(bool)
            if not self.time_major:
                m = m.T
        if self.go_backwards:
            xt = xt[::-1]
            m = None if m is None else m[::-1]
        steps, batch = xt.shape[0], xt.shape[1]
        if steps == 0:
            raise ValueError(f"Layer {self.name} received an input with 0 time steps.")
        cell = self.cell
        fast = hasattr(cell, "_project") and hasattr(cell, "_step")
        if hasattr(cell, "_reset_masks"):
            cell._reset_masks(batch, xt.shape[-1] if fast else None, xt.dtype, training)
        if fast:
            proj = cell._project(xt)

            def step(t, st):
                return cell._step(proj[t], st)
        else:
            kwargs = {"training": training} if _accepts(cell.call, "training") else {}
            multi = isinstance(cell.state_size, (list, tuple))

            def step(t, st):
                out, new = cell.call(xt[t], st if multi else st[0], **kwargs)
                return out, nest.flatten(_as_list(new))

        outputs = [] if self.return_sequences else None
        prev = None
        for t in range(steps):
            out, new = step(t, states)
            if m is not None:
                keep = m[t].reshape((batch,) + (1,) * (out.ndim - 1))
                if prev is None:
                    prev = np.zeros_like(out)
                out = np.where(keep, out, np.zeros_like(out) if self.zero_output_for_mask
                               else prev)
                new = [np.where(keep.reshape((batch,) + (1,) * (n.ndim - 1)), n, s)
                       for n, s in zip(new, states)]
            prev, states = out, list(new)
            if outputs is not None:
                outputs.append(out)
        if outputs is not None:
            outputs = np.stack(outputs, axis=0)
            if not self.time_major:
                outputs = np.swapaxes(outputs, 0, 1)
        if self.stateful:
            object.__setattr__(self, "_states", [np.array(s) for s in states])
        return prev, outputs, states

    def _structure_states(self, states):
        from numkeras.layers.rnn_cells import StackedRNNCells

        if not isinstance(self.cell, StackedRNNCells):
            return list(states)
        out, i = [], 0
        for cell in self.cell.cells:
            n = len(_flat_state_sizes(cell))
            out.append(list(states[i:i + n]) if n > 1 else states[i])
            i += n
        return out

    def call(self, inputs, mask=None, training=None, initial_state=None):
        inputs, initial_state = self._split_inputs(inputs, initial_state)
        last, outputs, states = self._run(inputs, mask, training, initial_state)
        output = outputs if self.return_sequences else last
        if not self.return_state:
            return output
        if mask is not None and self.return_sequences:
            output = with_mask(output, np.asarray(nest.flatten(mask)[0]))
        return [output] + self._structure_states(states)

    def compute_mask(self, inputs, mask=None):
        mask = None if mask is None else nest.flatten(mask)[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(_flat_state_sizes(self.cell))
        return output_mask

    # -- shapes --------------------------------------------------------------------------------
    def _output_step_shape(self, shape):
        return (_cell_output_size(self.cell),)

    def _state_shapes(self, batch, shape):
        return [(batch,) + tuple(_as_list(s)) for s in _flat_state_sizes(self.cell)]

    def compute_output_shape(self, input_shape):
        shape = self._main_shape(input_shape)
        batch, steps = shape[0], shape[1]
        if self.time_major:
            batch, steps = steps, batch
        feat = self._output_step_shape(shape)
        if self.return_sequences:
            out = (steps, batch) + feat if self.time_major else (batch, steps) + feat
        else:
            out = (batch,) + feat
        if not self.return_state:
            return out
        return [out] + self._structure_states(self._state_shapes(batch, shape))

    def compute_output_spec(self, *args, **kwargs):
        inputs = args[0]
        shapes = self.compute_output_shape(nest.map_structure(lambda t: t.shape, inputs))
        if not self.return_state:
            return KerasTensor(shapes, self.dtype)
        return [_shape_to_tensor(s, self.dtype) for s in shapes]

    # -- config --------------------------------------------------------------------------------
    def _rnn_config(self) -> dict:
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "unroll": self.unroll,
                  "time_major": self.time_major}
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        return config

    def get_config(self):
        return {**self._rnn_config(), "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _shape_to_tensor(shape, dtype):
    if isinstance(shape, list):
        return [_shape_to_tensor(s, dtype) for s in shape]
    return KerasTensor(shape, dtype)


def _accepts(fn, arg: str) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


__all__ = ["RNN", "serialize_layer", "deserialize_layer"]
