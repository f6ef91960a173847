"""A NumPy-backed variable with the interface of ``tf.Variable`` that Keras code uses.

>>> import numpy as np
>>> v = Variable(np.zeros((2, 3)), name="dense/kernel:0", dtype="float32")
>>> v.name, v.shape, v.dtype, v.trainable
('dense/kernel:0', (2, 3), dtype('float32'), True)
>>> v.assign(np.ones((2, 3)))
>>> v.numpy().sum()
np.float32(6.0)
>>> v.assign(np.ones((3, 2)))
Traceback (most recent call last):
...
ValueError: Cannot assign a value of shape (3, 2) to variable 'dense/kernel:0' of shape (2, 3).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

import numpy as np

from numkeras.engine.tracking import Trackable

#: ``[bytes left, make_error]`` while :func:`allocation_budget` is active.
_BUDGET: contextvars.ContextVar = contextvars.ContextVar("numkeras_variable_budget",
                                                         default=None)


@contextlib.contextmanager
def allocation_budget(nbytes: int, make_error: Callable[[str, int], Exception]
                      ) -> Iterator[None]:
    """Within the block, creating variables of more than ``nbytes`` bytes in all raises
    ``make_error(what, nbytes)`` *before* the variable is allocated (a model rebuilt from a
    file's config is bounded by the size of the file's weights).

    >>> with allocation_budget(100, lambda what, n: ValueError(f"{what}: {n} bytes")):
    ...     charge(80, "a")
    ...     charge(80, "b")
    Traceback (most recent call last):
    ...
    ValueError: b: 80 bytes
    """
    token = _BUDGET.set([int(nbytes), make_error])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def charge(nbytes: int, what: str) -> None:
    """Count ``nbytes`` against the active :func:`allocation_budget` (if any)."""
    budget = _BUDGET.get()
    if budget is None:
        return
    budget[0] -= nbytes
    if budget[0] < 0:
        raise budget[1](what, nbytes)


_ASSIGNMENTS = [0]  # assignments to any Variable so far: a cheap "did any weight change?"


def assignment_count() -> int:
    """How many times any Variable was assigned (ONNX Runtime sessions use it to stay fresh)."""
    return _ASSIGNMENTS[0]


def _as_dtype(dtype) -> np.dtype:
    if dtype == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(dtype)


class Variable(Trackable):
    """A named, mutable NumPy array; ``assign`` writes into the same buffer."""

    def __init__(self, initial_value, name: str = "Variable:0", trainable: bool = True,
                 dtype=None, shape=None):
        super().__init__()
        value = np.asarray(initial_value() if callable(initial_value) else initial_value)
        dtype = _as_dtype(dtype) if dtype is not None else value.dtype
        if shape is not None and tuple(shape) != value.shape:
            value = np.broadcast_to(value, tuple(shape))
        self._value = np.array(value, dtype=dtype, order="C", copy=True)
        self._name = name if name.endswith(":0") else name + ":0"
        self._trainable = bool(trainable)
        self._version = 0  # bumped by every assign: the inference engine's cache key

    @classmethod
    def zeros(cls, shape: tuple, name: str = "Variable:0", trainable: bool = True,
              dtype="float32") -> Variable:
        """A variable of zeros whose buffer is allocated, not written (no pass over it)."""
        var = cls(np.zeros((), dtype=_as_dtype(dtype)), name=name, trainable=trainable)
        var._value = np.zeros(tuple(shape), dtype=_as_dtype(dtype))
        return var

    # -- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Full TF-style name, e.g. ``dense/kernel:0``."""
        return self._name

    @property
    def path(self) -> str:
        """Name without the ``:0`` suffix (Keras 3 calls this the path)."""
        return self._name[:-2]

    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def size(self) -> int:
        return self._value.size

    @property
    def nbytes(self) -> int:
        return self._value.nbytes

    # -- values ---------------------------------------------------------------------------
    @property
    def value(self) -> np.ndarray:
        """The live buffer (not a copy). Use :meth:`numpy` for a copy."""
        return self._value

    def numpy(self) -> np.ndarray:
        """A copy of the current value."""
        return self._value.copy()

    read_value = numpy

    def check_assignable(self, value) -> np.ndarray:
        """Return ``value`` as an array ready for :meth:`assign`, or raise without changing anything."""
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable '{self._name}' "
                f"of shape {self._value.shape}."
            )
        return value

    def assign(self, value) -> None:
        """Copy ``value`` (cast to this variable's dtype) into the variable's buffer."""
        value = self.check_assignable(value)
        np.copyto(self._value, value, casting="unsafe")
        self.mark_changed()

    def mark_changed(self) -> None:
        """Record a change of value; call it after writing into :attr:`value` in place (the
        inference engine rebuilds its ONNX Runtime session for models using this variable)."""
        self._version += 1
        _ASSIGNMENTS[0] += 1

    def assign_add(self, delta) -> None:
        self._value += np.asarray(delta, dtype=self._value.dtype)
        self.mark_changed()

    def assign_sub(self, delta) -> None:
        self._value -= np.asarray(delta, dtype=self._value.dtype)
        self.mark_changed()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            return self._value.astype(dtype)
        return self._value.copy() if copy else self._value

    def __repr__(self) -> str:
        shown = repr(self._value.item()) if self._value.ndim == 0 else "\n" + repr(self._value)
        return (f"<numkeras.Variable '{self._name}' shape={self.shape} "
                f"dtype={self.dtype.name}, numpy={shown}>")

    # -- arithmetic delegates to the value, so user layers can write ``x @ self.w + self.b`` --
    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __getitem__(self, item):
        return self._value[item]

    def __len__(self) -> int:
        return len(self._value)

    def __neg__(self):
        return -self._value

    def __add__(self, o):
        return self._value + np.asarray(o)

    def __radd__(self, o):
        return np.asarray(o) + self._value

    def __sub__(self, o):
        return self._value - np.asarray(o)

    def __rsub__(self, o):
        return np.asarray(o) - self._value

    def __mul__(self, o):
        return self._value * np.asarray(o)

    def __rmul__(self, o):
        return np.asarray(o) * self._value

    def __truediv__(self, o):
        return self._value / np.asarray(o)

    def __rtruediv__(self, o):
        return np.asarray(o) / self._value

    def __matmul__(self, o):
        return self._value @ np.asarray(o)

    def __rmatmul__(self, o):
        return np.asarray(o) @ self._value

    def __pow__(self, o):
        return self._value ** np.asarray(o)
