"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate.

>>> import numpy as np
>>> Add()([np.ones((1, 2)), np.ones((1, 2))])
array([[2., 2.]], dtype=float32)
>>> Concatenate()([np.ones((1, 2)), np.zeros((1, 1))])
array([[1., 1., 0.]], dtype=float32)
"""

from __future__ import annotations

import functools

import numpy as np

from numkeras.engine.base_layer import Layer


class _Merge(Layer):
    """Elementwise merge of a list of same-shaped (or broadcastable) inputs."""

    _min_inputs = 2

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer ({self.name}) should be called on a list of "
                             f"inputs. Received: inputs={inputs!r} (not a list of tensors)")
        if len(inputs) < self._min_inputs:
            raise ValueError(f"A merge layer ({self.name}) should be called on a list of at "
                             f"least {self._min_inputs} inputs. Got {len(inputs)} inputs.")

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs):
        self._check(inputs)
        return self._merge(list(inputs)).astype(inputs[0].dtype, copy=False)

    def _merge(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        out = list(shapes[0])
        for s in shapes[1:]:
            out = [a if b in (1, None) and a not in (1,) else b for a, b in zip(out, s)]
        return tuple(out)

    def output_dtype(self, inputs):
        return inputs[0].dtype

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        masks = [np.asarray(m) for m in mask if m is not None]
        return functools.reduce(np.logical_and, masks)


class Add(_Merge):
    def _merge(self, inputs):
        return functools.reduce(np.add, inputs)


class Subtract(_Merge):
    def _check(self, inputs):
        super()._check(inputs)
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer ({self.name}) should be called on exactly 2 "
                             f"inputs. Received: {len(inputs)} inputs.")

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    def _merge(self, inputs):
        return functools.reduce(np.multiply, inputs)


class Average(_Merge):
    def _merge(self, inputs):
        return functools.reduce(np.add, inputs) / len(inputs)


class Maximum(_Merge):
    def _merge(self, inputs):
        return functools.reduce(np.maximum, inputs)


class Minimum(_Merge):
    def _merge(self, inputs):
        return functools.reduce(np.minimum, inputs)


class Concatenate(_Merge):
    """Concatenates a list of inputs along ``axis``."""

    _min_inputs = 1

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _merge(self, inputs):
        return np.concatenate(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [list(s) for s in input_shape]
        out = list(shapes[0])
        axis = self.axis % len(out)
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = np.ones(np.shape(x), dtype=bool)
            m = np.asarray(m)
            while m.ndim < np.ndim(x):
                m = m[..., None] * np.ones(np.shape(x)[m.ndim:], dtype=bool)
            full.append(m)
        return np.all(np.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    """Functional interface to :class:`Add`."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to :class:`Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional interface to :class:`Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional interface to :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional interface to :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional interface to :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional interface to :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)
