"""The Layer base class: weights, building, calling, naming — as tf.keras 2 does it.

>>> import numpy as np
>>> from numkeras import backend, layers
>>> backend.clear_session()
>>> dense = layers.Dense(2, kernel_initializer="ones")
>>> dense(np.ones((1, 3)))
array([[3., 3.]], dtype=float32)
>>> [w.name for w in dense.weights]
['dense/kernel:0', 'dense/bias:0']
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from numkeras import backend
from numkeras.engine import nest
from numkeras.engine.keras_tensor import KerasTensor, get_mask, strip_mask, with_mask
from numkeras.engine.node import Node
from numkeras.engine.saving_protocol import OwnState
from numkeras.engine.tracking import Trackable, tracked_objects
from numkeras.engine.variable import Variable, _as_dtype, charge

_ALLOWED_KWARGS = {
    "input_dim", "input_shape", "batch_input_shape", "batch_size", "weights",
    "activity_regularizer", "autocast", "implementation",
}


def _dedup(variables) -> list:
    seen: set[int] = set()
    out = []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


@functools.lru_cache(maxsize=4096)
def _signature_accepts(fn, arg: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _accepts(method, arg: str) -> bool:
    """Whether a (bound) ``call`` method takes the keyword ``arg``."""
    return _signature_accepts(getattr(method, "__func__", method), arg)



def _dtype_name(dtype) -> str:
    """``np.dtype(dtype).name``, with one ``ValueError`` for anything NumPy cannot parse
    (NumPy raises ``TypeError``, or ``SyntaxError`` for some strings)."""
    try:
        return np.dtype(dtype).name
    except (TypeError, ValueError, SyntaxError) as exc:
        raise ValueError(f"Invalid dtype {dtype!r} ({exc}).") from None

class Layer(OwnState, Trackable):
    """Base class of all layers. Subclasses implement ``build``, ``call`` and ``get_config``.

    The saving-protocol methods (``own_variables``, ``child_layers``, ``save_own_variables``,
    ``load_own_variables``) come from :class:`~numkeras.engine.saving_protocol.OwnState`.
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype=None,
                 dynamic: bool = False, **kwargs):
        super().__init__()
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(
                f"Keyword argument not understood by {type(self).__name__}: "
                f"{sorted(unknown)}. Allowed extra arguments: {sorted(_ALLOWED_KWARGS)}."
            )
        set_ = object.__setattr__
        set_(self, "_trainable", bool(trainable))
        set_(self, "_trainable_weights", [])
        set_(self, "_non_trainable_weights", [])
        set_(self, "_inbound_nodes", [])
        set_(self, "_outbound_nodes", [])
        set_(self, "built", False)
        set_(self, "_dtype", dtype if dtype in ("bfloat16", "string")  # string: text inputs
             else _dtype_name(dtype or backend.floatx()))
        set_(self, "_name", name or self._default_name())
        set_(self, "_initial_weights", kwargs.get("weights"))
        set_(self, "_autocast", kwargs.get("autocast", True))
        set_(self, "supports_masking", False)
        set_(self, "stateful", False)
        set_(self, "dynamic", dynamic)
        if "batch_input_shape" in kwargs or "input_shape" in kwargs or "input_dim" in kwargs:
            if "batch_input_shape" in kwargs:
                shape = tuple(kwargs["batch_input_shape"])
            else:
                inner = kwargs.get("input_shape") or (kwargs["input_dim"],)
                shape = (kwargs.get("batch_size"),) + tuple(inner)
            set_(self, "_batch_input_shape", shape)

    def _default_name(self) -> str:
        return backend.unique_object_name(backend.to_snake_case(type(self).__name__))

    # -- identity --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights, e.g. ``'float32'``."""
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self._flatten_layers():
            object.__setattr__(layer, "_trainable", bool(value))

    # -- sub-layers ------------------------------------------------------------------------
    @property
    def _layers(self) -> list:
        """Direct sub-layers, in tracking order (``_self_tracked_trackables`` in tf-keras)."""
        return tracked_objects(self, Layer)

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True):
        """This layer and its sub-layers, depth first, each once."""
        seen: set[int] = set()
        stack = [self]
        first = True
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if include_self or not first:
                yield layer
            if recursive or first:
                stack.extend(reversed(layer._layers))
            first = False

    @property
    def submodules(self) -> list:
        return list(self._flatten_layers(include_self=False))

    # -- weights ---------------------------------------------------------------------------
    def add_weight(self, name: str | None = None, shape=None, dtype=None, initializer=None,
                   regularizer=None, trainable: bool | None = None, constraint=None,
                   **kwargs) -> Variable:
        """Create a weight, named ``<scope>/<name>:0``, tracked under ``name``."""
        from numkeras import initializers

        name = name or "Variable"
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = dtype or self._dtype
        if trainable is None:
            trainable = True
        if initializer is None:
            is_float = np.issubdtype(np.dtype(dtype), np.floating) or dtype == "bfloat16"
            initializer = "glorot_uniform" if is_float else "zeros"
        init = initializers.get(initializer)
        charge(int(np.prod(shape, dtype=np.float64)) * _as_dtype(dtype).itemsize,
               f"weight {name!r} of shape {shape} in layer {self.name!r}")
        if backend.zeroing_weights():
            var = Variable.zeros(shape, name=backend.scoped_name(name), trainable=trainable,
                                 dtype=dtype)
        else:
            value = init(shape, dtype=dtype)
            var = Variable(value, name=backend.scoped_name(name), trainable=trainable,
                           dtype=dtype)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        self._track(name, var)
        return var

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        children = [v for layer in self._layers for v in layer.trainable_weights]
        return _dedup(self._trainable_weights + children)

    @property
    def non_trainable_weights(self) -> list:
        if self.trainable:
            children = [v for layer in self._layers for v in layer.non_trainable_weights]
            return _dedup(self._non_trainable_weights + children)
        children = [v for layer in self._layers for v in layer.weights]
        return _dedup(self._trainable_weights + self._non_trainable_weights + children)

    @property
    def weights(self) -> list:
        """All weights: trainable first, then non-trainable (tf-keras order)."""
        return _dedup(self.trainable_weights + self.non_trainable_weights)

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable_variables(self) -> list:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        return self.non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights as a list of NumPy arrays (copies), in creation order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Set the weights from a list of arrays matching :meth:`get_weights` in count and shapes.

        Everything is checked before anything is assigned: on error no weight changes.
        """
        params = self.weights
        weights = list(weights)
        if not params and weights and not self.built:
            raise ValueError(
                f'Layer "{self.name}" has not been built yet, so it has no weights to set. '
                "Call the layer on an input (or call `build(input_shape)`) first."
            )
        if len(params) != len(weights):
            raise ValueError(
                f'You called `set_weights(weights)` on layer "{self.name}" with a weight list '
                f"of length {len(weights)}, but the layer was expecting {len(params)} weights. "
                f"Provided weights: {str(weights)[:50]}..."
            )
        values = []
        for var, value in zip(params, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {var.shape} is not compatible with "
                    f"provided weight shape {value.shape}."
                )
            values.append(value)
        for var, value in zip(params, values):
            var.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer {self.name}, but the layer isn't "
                "built. You can build it manually via: `layer.build(batch_input_shape)`."
            )
        return int(sum(v.size for v in self.weights))

    # -- building and calling --------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape``. Subclasses call ``add_weight``."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def _maybe_build(self, input_shapes) -> None:
        if self.built:
            return
        if not getattr(type(self).build, "_is_default", False):
            self.build(input_shapes)
        object.__setattr__(self, "built", True)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            object.__setattr__(self, "_initial_weights", None)

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise ValueError(f"Layer {self.name} was called without inputs.")
            args = (kwargs.pop("inputs"),)
        if any(isinstance(t, KerasTensor) for t in nest.flatten([list(args), kwargs])):
            return self._symbolic_call(args, kwargs)
        return self._eager_call(args, kwargs)

    def _prepare_kwargs(self, kwargs: dict, inputs) -> dict:
        kwargs = dict(kwargs)
        for arg in ("training", "mask"):
            if arg in kwargs and not _accepts(self.call, arg):
                kwargs.pop(arg)
        if "mask" not in kwargs and _accepts(self.call, "mask"):
            masks = [get_mask(x) for x in nest.flatten(inputs)]
            if any(m is not None for m in masks):
                kwargs["mask"] = masks[0] if not nest.is_nested(inputs) else nest.pack_sequence_as(
                    inputs, masks)
        return kwargs

    def _convert_input(self, x):
        if isinstance(x, Variable):
            x = x.value
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
            if x.dtype == np.float64:
                x = x.astype(backend.floatx())
        if self._autocast and x.dtype.kind == "f" and np.dtype(self._dtype).kind == "f" \
                and x.dtype != np.dtype(self._dtype):
            x = x.astype(self._dtype)
        return x

    def _eager_call(self, args, kwargs):
        inputs = nest.map_structure(self._convert_input, args[0])
        kwargs = self._prepare_kwargs(kwargs, inputs)
        input_masks = nest.map_structure(get_mask, inputs)
        with backend.name_scope(self.name):
            if not self.built:
                self._maybe_build(nest.map_structure(lambda x: tuple(x.shape), inputs))
            outputs = self.call(inputs, *args[1:], **kwargs)
            out_mask = self.compute_mask(inputs, kwargs.get("mask", _first(input_masks)))
        if out_mask is not None and not nest.is_nested(outputs):
            return with_mask(strip_mask(outputs), out_mask)
        return outputs

    def _symbolic_call(self, args, kwargs):
        inputs = args[0]
        for t in nest.flatten(inputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"Layer {self.name} was called with a mix of symbolic inputs "
                    f"(keras.Input) and concrete values ({type(t).__name__}). "
                    "Pass only KerasTensors when building a functional model."
                )
        with backend.name_scope(self.name), backend.scratch_names():
            if not self.built:
                self._maybe_build(nest.map_structure(lambda t: t.shape, inputs))
            spec = self.compute_output_spec(*args, **kwargs)
        outputs = nest.map_structure(
            lambda s: KerasTensor(s.shape, s.dtype, name=self.name), spec)
        Node(self, call_args=args, call_kwargs=kwargs, outputs=outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; the default runs the layer once on zeros."""
        return nest.map_structure(lambda s: s.shape, self._dummy_call(
            (nest.map_structure(lambda s: KerasTensor(s, self._dtype), input_shape,),), {}))

    def compute_output_spec(self, *args, **kwargs):
        """Output KerasTensors (shape and dtype) for symbolic ``args``."""
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            inputs = args[0]
            shapes = self.compute_output_shape(nest.map_structure(lambda t: t.shape, inputs))
            dtype = self.output_dtype(inputs)
            if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
                return KerasTensor(shapes, dtype)
            return _map_shapes(shapes, lambda s: KerasTensor(s, dtype))
        return self._dummy_call(args, kwargs)

    def output_dtype(self, inputs) -> str:
        """dtype of the outputs when ``compute_output_shape`` is defined (the layer's dtype)."""
        return self._dtype

    def _dummy_call(self, args, kwargs):
        def zeros(t):
            shape = tuple(1 if d is None else d for d in t.shape)
            return np.zeros(shape, dtype=t.dtype)

        values = nest.map_structure(
            lambda v: zeros(v) if isinstance(v, KerasTensor) else v, [list(args), kwargs])
        call_args, call_kwargs = values
        call_kwargs = self._prepare_kwargs({**call_kwargs, "training": False}, call_args[0])
        outputs = self.call(*call_args, **call_kwargs)
        return nest.map_structure(
            lambda o: KerasTensor((None,) + tuple(np.shape(o))[1:], np.asarray(o).dtype), outputs)

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: passed through if ``supports_masking``, else dropped."""
        return mask if self.supports_masking else None

    # -- symbolic-graph views --------------------------------------------------------------
    @property
    def inbound_nodes(self) -> list:
        return self._inbound_nodes

    @property
    def outbound_nodes(self) -> list:
        return self._outbound_nodes

    def _single_node(self, what: str):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to return.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer {self.name} has multiple inbound nodes, hence the notion of "
                f'"layer {what}" is ill-defined. Use `get_{what}_at(node_index)` instead.')
        return self._inbound_nodes[0]

    @property
    def input(self):
        node = self._single_node("input")
        return node.keras_inputs[0] if len(node.keras_inputs) == 1 else node.keras_inputs

    @property
    def output(self):
        return self._single_node("output").outputs

    def _shared_shape(self, what: str):
        """The ``input``/``output`` shape of every inbound node when they all agree (tf-keras:
        a shared layer called on same-shaped inputs has an ``output_shape``)."""
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has '
                                 f"no defined {what} shape.")
        shapes = [getattr(node, f"{what}_shapes") for node in self._inbound_nodes]
        if len({str(s) for s in shapes}) > 1:
            raise AttributeError(
                f'The layer "{self.name}" has multiple inbound nodes, with different {what} '
                f'shapes. Hence the notion of "{what} shape" is ill-defined for the layer. '
                f"Use `get_{what}_shape_at(node_index)` instead.")
        return shapes[0]

    @property
    def input_shape(self):
        return self._shared_shape("input")

    @property
    def output_shape(self):
        return self._shared_shape("output")

    # -- serialization ---------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if hasattr(self, "_batch_input_shape"):
            config["batch_input_shape"] = self._batch_input_shape
        config["dtype"] = self._dtype
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _first(structure):
    """A single mask, a structure of masks, or None when no input carries one."""
    flat = nest.flatten(structure)
    if all(m is None for m in flat):
        return None
    return flat[0] if len(flat) == 1 else structure


def _map_shapes(shapes, fn):
    if isinstance(shapes, dict):
        return {k: _map_shapes(v, fn) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple)):
        return type(shapes)(_map_shapes(s, fn) for s in shapes)
    return fn(tuple(shapes))
