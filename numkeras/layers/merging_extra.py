"""Dot: the batchwise dot product of two inputs along given axes (tf-keras ``batch_dot``).

>>> import numpy as np
>>> a, b = np.ones((2, 3), dtype="float32"), np.full((2, 3), 2.0, dtype="float32")
>>> Dot(axes=1)([a, b]).tolist()
[[6.0], [6.0]]
>>> Dot(axes=(2, 2)).compute_output_shape([(None, 4, 5), (None, 6, 5)])
(None, 4, 6)
"""

from __future__ import annotations

import numpy as np

from numkeras.layers.merging import _Merge


class Dot(_Merge):
    """Contracts axis ``axes[0]`` of the first input with ``axes[1]`` of the second."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an "
                                f"int. Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should be "
                                 f"integers. Received: axes={axes}")
        self.axes, self.normalize = axes, normalize

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"A `Dot` layer ({self.name}) should be called on a list of 2 "
                             f"inputs. Received: {inputs!r}")

    def _axes(self, ndims):
        axes = [self.axes] * 2 if isinstance(self.axes, int) else list(self.axes)
        return [a % n if a < 0 else a for a, n in zip(axes, ndims)]

    def build(self, input_shape):
        self._check(input_shape)
        (s1, s2), axes = input_shape, self._axes([len(s) for s in input_shape])
        if s1[axes[0]] is not None and s2[axes[1]] is not None and s1[axes[0]] != s2[axes[1]]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[axes[0]]} (at axis "
                             f"{axes[0]}) != {s2[axes[1]]} (at axis {axes[1]}). Full input "
                             f"shapes: {tuple(s1)}, {tuple(s2)}")
        self.built = True

    def _merge(self, inputs):
        x, y = inputs
        ax, ay = self._axes([x.ndim, y.ndim])
        if self.normalize:
            x, y = _l2_normalize(x, ax), _l2_normalize(y, ay)
        letters = "abcdefghijklmnopqrstuvwxyz"
        xs = "A" + letters[:x.ndim - 1]
        ys = "A" + letters[x.ndim - 1:x.ndim + y.ndim - 2]
        ys = ys[:ay] + xs[ax] + ys[ay + 1:]
        out = xs[:ax] + xs[ax + 1:] + "".join(c for c in ys[1:] if c != xs[ax])
        result = np.einsum(f"{xs},{ys}->{out}", x, y)
        return result[:, None] if result.ndim == 1 else result

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        ax, ay = self._axes([len(s1), len(s2)])
        s1.pop(ax)
        s2.pop(ay)
        s2.pop(0)
        out = s1 + s2
        return tuple(out + [1] if len(out) == 1 else out)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis):
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True)
    return x / np.sqrt(np.maximum(square_sum, np.asarray(1e-12, x.dtype)))


def dot(inputs, axes, normalize=False, **kwargs):
    """Functional interface to :class:`Dot`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


__all__ = ["Dot", "dot"]
