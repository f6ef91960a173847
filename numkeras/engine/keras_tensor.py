"""Symbolic tensors of the functional API, and masks carried by arrays.

A :class:`KerasTensor` has a shape (``None`` for unknown dimensions), a dtype and a
history ``(layer, node_index, tensor_index)`` saying which layer call produced it.

>>> import numpy as np
>>> t = KerasTensor((None, 3), "float32", name="input_1")
>>> t
<KerasTensor shape=(None, 3) dtype=float32 name='input_1'>
>>> x = with_mask(np.ones((2, 3)), np.array([[True, True, False]] * 2))
>>> get_mask(x).sum(), get_mask(np.ones(2))
(np.int64(4), None)

Python operators and indexing on a KerasTensor add TF-op layers, as in tf-keras:

>>> from numkeras import Input, backend
>>> backend.clear_session()
>>> y = (Input((4, 3)) * 2.0)[:, 1:, ::2]
>>> y.shape, y.node.layer.name, type(y.node.layer).__name__
((None, 3, 2), 'tf.__operators__.getitem', 'SlicingOpLambda')
"""

from __future__ import annotations

import numpy as np


class KerasTensor:
    """A placeholder for a value that will flow through a functional model."""

    def __init__(self, shape, dtype="float32", name: str | None = None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        if dtype == "string":  # text: NumPy object arrays of str/bytes
            dtype = np.dtype(object)
        self.dtype = np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype
        self.name = name
        self._keras_history = history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def node(self):
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} dtype={self.dtype.name} name={self.name!r}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"KerasTensor {self.name!r} is a symbolic placeholder of a functional model and has "
            "no value. Build a model with numkeras.Model(inputs, outputs) and call it on arrays."
        )

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:  # identity: KerasTensors are dict keys of the graph code
        return self is other

    __array_ufunc__ = None  # NumPy defers to the reflected operators below

    # Operators and indexing create TF-op layers, named and argued as tf-keras records them.
    def __add__(self, other):
        return _apply("__operators__.add", self, y=other, name=None)

    def __radd__(self, other):
        return _apply("__operators__.add", _like(other, self), y=self, name=None)

    def __sub__(self, other):
        return _apply("math.subtract", self, y=other, name=None)

    def __rsub__(self, other):
        return _apply("math.subtract", _like(other, self), y=self, name=None)

    def __mul__(self, other):
        return _apply("math.multiply", self, y=other, name=None)

    def __rmul__(self, other):
        return _apply("math.multiply", _like(other, self), y=self, name=None)

    def __truediv__(self, other):
        return _apply("math.truediv", self, y=other, name=None)

    def __rtruediv__(self, other):
        return _apply("math.truediv", _like(other, self), y=self, name=None)

    def __floordiv__(self, other):
        return _apply("compat.v1.floor_div", self, y=other, name=None)

    def __rfloordiv__(self, other):
        return _apply("compat.v1.floor_div", _like(other, self), y=self, name=None)

    def __mod__(self, other):
        return _apply("math.floormod", self, y=other, name=None)

    def __rmod__(self, other):
        return _apply("math.floormod", _like(other, self), y=self, name=None)

    def __pow__(self, other):
        return _apply("math.pow", self, y=other, name=None)

    def __rpow__(self, other):
        return _apply("math.pow", _like(other, self), y=self, name=None)

    def __matmul__(self, other):
        return _apply("linalg.matmul", self, b=other, name=None)

    def __rmatmul__(self, other):
        return _apply("linalg.matmul", _like(other, self), b=self, name=None)

    def __neg__(self):
        return _apply("math.negative", self, name=None)

    def __abs__(self):
        return _apply("math.abs", self, name=None)

    def __gt__(self, other):
        return _apply("math.greater", self, y=other, name=None)

    def __ge__(self, other):
        return _apply("math.greater_equal", self, y=other, name=None)

    def __lt__(self, other):
        return _apply("math.less", self, y=other, name=None)

    def __le__(self, other):
        return _apply("math.less_equal", self, y=other, name=None)

    def __invert__(self):
        return _apply("math.logical_not", self, name=None)

    def __and__(self, other):
        return _apply("math.logical_and", self, y=other, name=None)

    def __rand__(self, other):
        return _apply("math.logical_and", _like(other, self), y=self, name=None)

    def __or__(self, other):
        return _apply("math.logical_or", self, y=other, name=None)

    def __ror__(self, other):
        return _apply("math.logical_or", _like(other, self), y=self, name=None)

    def __xor__(self, other):
        return _apply("math.logical_xor", self, y=other, name=None)

    def __rxor__(self, other):
        return _apply("math.logical_xor", _like(other, self), y=self, name=None)

    def __getitem__(self, key):
        spec = list(key) if isinstance(key, tuple) else key
        return _apply("__operators__.getitem", self, slice_spec=spec)


#: ``(function name, *args, **kwargs) -> outputs``: set by ``numkeras.layers.tf_op_layer``
#: (layers sit above the engine, so the engine only holds the hook).
_OP_FACTORY = None


def set_op_factory(factory) -> None:
    """Install the function that turns a TF function call on KerasTensors into a layer call."""
    global _OP_FACTORY
    _OP_FACTORY = factory


def _like(value, tensor: KerasTensor):
    """A Python constant on the left of an operator, converted to the tensor's dtype as TF
    does before recording it (so ``2 * x`` on a float ``x`` stores ``2.0``)."""
    if isinstance(value, KerasTensor):
        return value
    return np.asarray(value, tensor.dtype).tolist()


def _apply(function: str, *args, **kwargs):
    if _OP_FACTORY is None:
        import importlib

        importlib.import_module("numkeras.layers")  # installs the factory (see above)
    return _OP_FACTORY(function, *args, **kwargs)


class _MaskedArray(np.ndarray):
    """An ndarray that carries a Keras mask (``_keras_mask``), like a masked tf tensor."""

    _keras_mask = None


def with_mask(x, mask):
    """``x`` carrying ``mask`` (or ``x`` unchanged when ``mask`` is None)."""
    if mask is None:
        return x
    out = np.asarray(x).view(_MaskedArray)
    out._keras_mask = np.asarray(mask)
    return out


def get_mask(x):
    """The mask ``x`` carries, or None."""
    return getattr(x, "_keras_mask", None)


def strip_mask(x):
    """A plain ndarray view of ``x``."""
    return x.view(np.ndarray) if isinstance(x, _MaskedArray) else x
