"""``TFOpLambda`` / ``SlicingOpLambda``: a TensorFlow function called on Keras tensors.

tf-keras turns ``x * 2.0``, ``tf.nn.relu(x)``, ``x[:, :2]``, ``tf.concat([a, b], -1)``... on
Keras tensors into these layers. The config names the function (``"math.multiply"``); the
node carries its arguments. numkeras runs the NumPy implementation from the fixed table
:mod:`numkeras.ops.tf_api` and refuses any other name; nothing is imported or evaluated.

>>> import numpy as np
>>> from numkeras import Input, Model, backend
>>> backend.clear_session()
>>> x = Input((3,))
>>> y = TFOpLambda("math.multiply")(x, y=2.0, name=None)
>>> y.shape, y.node.layer.name
((None, 3), 'tf.math.multiply')
>>> Model(x, y)(np.ones((1, 3), np.float32))
array([[2., 2., 2.]], dtype=float32)
>>> TFOpLambda("io.read_file")
Traceback (most recent call last):
...
ValueError: TF function tf.io.read_file is not supported by numkeras (it only runs the functions of its fixed table, numkeras.ops.tf_api).
"""

from __future__ import annotations

import inspect

import numpy as np

from numkeras import backend
from numkeras.engine import nest
from numkeras.engine.base_layer import Layer
from numkeras.engine.keras_tensor import KerasTensor, set_op_factory, strip_mask
from numkeras.engine.node import Node
from numkeras.ops import keras3, tf_api, tf_keras3

__all__ = ["TFOpLambda", "SlicingOpLambda", "OperationLayer"]

_SAMPLE_LIMIT = 4096  # int/bool outputs up to this size keep example values (shape maths)
_FILLS = (2, 3)  # unknown dimensions take these sizes in the two shape-inference runs


def _example(t: KerasTensor, run: int) -> np.ndarray:
    samples = getattr(t, "_tf_samples", None)
    if samples is not None:
        return samples[run]
    shape = tuple(_FILLS[run] if d is None else d for d in t.shape)
    return np.zeros(shape, t.dtype)


def _merge(first: np.ndarray, second: np.ndarray, name: str) -> KerasTensor:
    a, b = np.shape(first), np.shape(second)
    if len(a) != len(b):
        shape = (None,) * len(a)
    else:
        shape = tuple(x if x == y else None for x, y in zip(a, b))
    out = KerasTensor(shape, np.asarray(first).dtype, name=name)
    first, second = np.asarray(first), np.asarray(second)
    if first.dtype.kind in "biu" and max(first.size, second.size) <= _SAMPLE_LIMIT:
        out._tf_samples = (first, second)
    return out


class TFOpLambda(Layer):
    """Runs the TF API function ``function`` (a name such as ``"math.reduce_mean"``)."""

    #: tf-keras saves the first argument's structure as is (a one-element list stays a list).
    _preserve_input_structure_in_config = True

    def __init__(self, function: str, **kwargs):
        if not isinstance(function, str):
            raise TypeError(f"TFOpLambda takes the TF function's name (e.g. 'nn.relu'), not "
                            f"{type(function).__name__}.")
        if function.startswith("tf."):
            function = function[3:]
        self._fn = tf_api.lookup(function)
        if "name" not in kwargs or kwargs["name"] is None:
            kwargs["name"] = backend.unique_object_name("tf." + function)
        kwargs["autocast"] = False
        super().__init__(**kwargs)
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "built", True)

    def _convert(self, value):
        return value

    def call(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def _run(self, args, kwargs):
        args, kwargs = self._convert(list(args)), self._convert(dict(kwargs))
        return self._fn(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        kwargs.pop("training", None)
        if any(isinstance(t, KerasTensor) for t in nest.flatten([list(args), kwargs])):
            return self._symbolic(args, kwargs)
        args, kwargs = nest.map_structure(strip_mask, [list(args), kwargs])
        try:
            return self._run(args, kwargs)
        except (TypeError, ValueError, IndexError) as err:
            raise type(err)(f"Layer {self.name} ({self._label()}): {err}") from None

    def _symbolic(self, args, kwargs):
        runs = []
        for run in range(len(_FILLS)):
            values = nest.map_structure(
                lambda v, run=run: _example(v, run) if isinstance(v, KerasTensor) else v,
                [list(args), kwargs])
            try:
                runs.append(self._run(*values))
            except (TypeError, ValueError, IndexError, np.exceptions.AxisError) as err:
                raise type(err)(f"Layer {self.name} ({self._label()}) cannot be applied to "
                                f"these inputs: {err}") from None
        flat = [_merge(a, b, self.name) for a, b in
                zip(nest.flatten(runs[0]), nest.flatten(runs[1]))]
        outputs = nest.pack_sequence_as(runs[0], flat)
        if isinstance(outputs, tuple):  # a namedtuple (top_k) is saved as a list
            outputs = list(outputs)
        Node(self, call_args=args, call_kwargs=kwargs, outputs=outputs)
        return outputs

    def compute_mask(self, inputs, mask=None):
        return None

    def tf_call(self, args, kwargs) -> tuple:
        """``(first argument, keywords)`` of a call as tf-keras saves it."""
        return self.split_first_arg(args, kwargs)

    def as_operation(self, args, kwargs) -> tuple:
        """``(class name, module, config, args, kwargs)`` of this call as Keras 3 saves the
        same computation (:mod:`numkeras.ops.tf_keras3`), or a ValueError saying why Keras 3
        has no exact equivalent."""
        first, kwargs = self.split_first_arg(args, kwargs)
        kwargs = self._convert(dict(kwargs))  # a file's slice dicts as slices
        try:
            operation, config, args, kwargs = tf_keras3.to_keras3(self.function, first, kwargs)
        except tf_keras3.Untranslatable as err:
            raise _untranslatable(self, "Keras 3", str(err)) from None
        return (operation, keras3.OPERATIONS[operation].module, config, args, kwargs)

    def _label(self) -> str:
        return f"tf.{self.function}" if isinstance(self, TFOpLambda) and \
            not isinstance(self, OperationLayer) else f"Keras 3 operation {self.function}"

    def split_first_arg(self, args, kwargs) -> tuple:
        """``(first argument, keywords)`` with the other positional arguments named by the
        TF function's parameters, as tf-keras saves a call."""
        names = [p.name for p in inspect.signature(self._fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(args) - 1 > max(len(names) - 1, 0):
            raise ValueError(f"Layer {self.name}: tf.{self.function} received "
                             f"{len(args)} positional arguments; it takes {len(names)}.")
        named = dict(zip(names[1:], args[1:]))
        return (args[0] if args else None), {**named, **kwargs}

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                "function": self.function}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        return cls(config.pop("function"), **config)


def _untranslatable(layer, style: str, reason: str = ""):
    other = "tf-keras style (model.save('m.h5'))" if style == "Keras 3" else \
        "Keras 3 style (.keras)"
    why = f" ({reason})" if reason else ""
    return ValueError(f"Layer {layer.name!r} ({layer._label()}) has no exact {style} "
                      f"equivalent{why}; save the model in {other} instead.")


def _to_slice(value):
    """tf-keras stores a slice as ``{"start", "stop", "step"}`` (and Ellipsis as
    ``{"class_name": "__ellipsis__"}``); turn them back, one level deep as tf-keras does."""
    from numkeras.ops.tf_array import _slice_entry

    if isinstance(value, dict) and (set(value) <= {"start", "stop", "step"} or
                                    value.get("class_name") in ("__ellipsis__", "__slice__")):
        return _slice_entry(value)
    if isinstance(value, (list, tuple)):
        return [_to_slice(v) if isinstance(v, dict) else v for v in value]
    return value


class SlicingOpLambda(TFOpLambda):
    """A ``TFOpLambda`` whose arguments may hold slices (``tf.__operators__.getitem``)."""

    def _convert(self, value):
        if isinstance(value, dict):
            return {k: _to_slice(v) for k, v in value.items()}
        return [_to_slice(v) for v in value]


def apply_function(function: str, *args, **kwargs):
    """Call TF function ``function`` on ``args``: a new op layer on KerasTensors, the NumPy
    result on arrays (the engine's hook behind KerasTensor operators)."""
    cls = SlicingOpLambda if function in tf_api.SLICING_FUNCTIONS else TFOpLambda
    if any(isinstance(t, KerasTensor) for t in nest.flatten([list(args), kwargs])):
        return cls(function)(*args, **kwargs)
    return tf_api.lookup(function)(*args, **kwargs)


set_op_factory(apply_function)


class OperationLayer(TFOpLambda):
    """A Keras 3 operation node (``keras.ops.mean(x, axis=-1)`` on a Keras tensor): the
    operation's class name (``"Mean"``) and constructor arguments (``axis=-1``); calls run
    :mod:`numkeras.ops.keras3` with Keras 3's semantics.

    >>> import numpy as np
    >>> from numkeras import Input, Model, backend, ops
    >>> backend.clear_session()
    >>> x = Input((3,))
    >>> y = ops.mean(x, axis=-1)
    >>> layer = y.node.layer
    >>> type(layer).__name__, layer.operation, layer.get_config()
    ('OperationLayer', 'Mean', {'name': 'mean', 'axis': -1, 'keepdims': False})
    >>> Model(x, y)(np.array([[1.0, 2.0, 6.0]], np.float32))
    array([3.], dtype=float32)
    """

    _preserve_input_structure_in_config = False

    def __init__(self, operation: str, name: str | None = None, **config):
        spec = keras3.OPERATIONS.get(operation)
        if spec is None:
            raise ValueError(f"Keras 3 operation {operation!r} is not supported by numkeras (it "
                             "only runs the operations of numkeras.ops.keras3.OPERATIONS).")
        unknown = sorted(set(config) - set(spec.config))
        if unknown:
            raise ValueError(f"Keras 3 operation {operation} {name!r}: unknown arguments "
                             f"{unknown}; it takes {list(spec.config)}.")
        fn = getattr(spec.function, "__wrapped__", spec.function)
        defaults = {k: p.default for k, p in inspect.signature(fn).parameters.items()
                    if k in spec.config and p.default is not p.empty}
        missing = [k for k in spec.config if k not in config and k not in defaults]
        if missing:
            raise ValueError(f"Keras 3 operation {operation} {name!r}: missing arguments "
                             f"{missing}.")
        Layer.__init__(self, name=name or backend.unique_object_name(
            backend.to_snake_case(operation)), autocast=False)
        set_ = object.__setattr__
        set_(self, "_fn", fn)
        set_(self, "operation", operation)
        set_(self, "module", spec.module)
        set_(self, "function", operation)
        set_(self, "op_config", {**defaults, **config})
        set_(self, "built", True)

    def _run(self, args, kwargs):
        return keras3.call_operation(self._fn, args, kwargs, self.op_config)

    def get_config(self) -> dict:
        return {"name": self.name, **self.op_config}

    def as_operation(self, args, kwargs) -> tuple:
        return (self.operation, self.module, dict(self.op_config), list(args), dict(kwargs))

    def tf_function(self) -> str:
        """The TF function tf-keras would record for this operation's first call (or a
        ValueError saying why there is none)."""
        node = next((n for n in self._inbound_nodes if not n.is_input), None)
        if node is None:
            name = tf_keras3.tf_name_of(self.operation)
            if name is None:
                raise _untranslatable(self, "tf-keras")
            return name
        return self._to_tf(node.call_args, node.call_kwargs)[0]

    def _to_tf(self, args, kwargs) -> tuple:
        try:
            return tf_keras3.to_tf(self.operation, self.op_config, list(args), dict(kwargs))
        except tf_keras3.Untranslatable as err:
            raise _untranslatable(self, "tf-keras", str(err)) from None

    def tf_call(self, args, kwargs) -> tuple:
        _, first, tf_kwargs = self._to_tf(args, kwargs)
        return first, tf_kwargs

    @classmethod
    def from_config(cls, config: dict, operation: str | None = None):
        config = dict(config)
        return cls(operation or config.pop("operation"), **config)


def _operation_node(operation: str, args: list, config: dict):
    return OperationLayer(operation, **config)(*args)


keras3.set_symbolic_hook(_operation_node)
