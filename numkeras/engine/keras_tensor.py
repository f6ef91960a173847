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
"""

from __future__ import annotations

import numpy as np


class KerasTensor:
    """A placeholder for a value that will flow through a functional model."""

    def __init__(self, shape, dtype="float32", name: str | None = None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
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

    def __eq__(self, other) -> bool:
        return self is other


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
