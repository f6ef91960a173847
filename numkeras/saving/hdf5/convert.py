"""Saved values -> the target layer's weights: tf-keras's ``preprocess_weights_for_loading``.

tf-keras converts saved values per target layer, keyed by the layer's **class name**. This
module keeps that as a small table and knows nothing else about layer classes:

====================================  ==========================================================
class name                            rule
====================================  ==========================================================
``Bidirectional``                     first half of the values -> ``forward_layer``, second
                                      half -> ``backward_layer`` (each converted in turn)
``TimeDistributed``                   convert for the wrapped ``layer``
``Model``/``Sequential``/``Functional`` split into each sub-layer's trainable and non-trainable
                                      parts, convert each, reassemble in file order
``Conv1D/2D/3D``, ``Conv2DTranspose`` a rank-4 kernel whose shape differs from the layer's is
                                      transposed with axes (3, 2, 0, 1) (old Theano-era layout)
``ConvLSTM2D``                        the same for the kernel and the recurrent kernel
``LSTM``/``GRU`` (and CuDNN classes)  CuDNN <-> native conversions (:mod:`.legacy_layouts`),
                                      recognized by the bias shape
====================================  ==========================================================

Keras 1 files (no ``keras_version``): conv kernels and per-gate RNN arrays are converted
first, as tf-keras does (:mod:`.legacy_layouts`). Difference from tf-keras, on purpose: the
conv transposition is applied only when it makes the shape fit (tf-keras transposes blindly,
then fails on assignment).

Values are :class:`Saved` handles: shape and dtype are known without reading the data, which
is read only when a rule needs it (or later, straight into the variable).

>>> import numpy as np
>>> s = Saved("k:0", array=np.zeros((4, 3, 2, 2)))
>>> s.shape, transposed(s, (3, 2, 0, 1)).shape
((4, 3, 2, 2), (2, 2, 4, 3))
"""

from __future__ import annotations

import numpy as np

from numkeras.saving.hdf5 import legacy_layouts
from numkeras.saving.hdf5.layout import legacy_weights


class ConversionError(ValueError):
    """Saved values cannot be converted for the target layer."""


class Saved:
    """One saved weight: name, shape and dtype; its data read lazily (or held converted)."""

    __slots__ = ("name", "dataset", "array", "shape", "dtype")

    def __init__(self, name: str, dataset=None, array: np.ndarray | None = None):
        self.name = name
        self.dataset = dataset
        self.array = array
        source = array if array is not None else dataset
        shape = source.shape
        self.shape = tuple(shape) if shape is not None else None
        self.dtype = np.dtype(source.dtype)

    def read(self) -> np.ndarray:
        """The value as an array (reads the dataset if it is not held in memory)."""
        if self.array is not None:
            return self.array
        return np.asarray(self.dataset[()])

    def __repr__(self) -> str:
        return f"Saved({self.name!r}, shape={self.shape}, dtype={self.dtype})"


def transposed(saved: Saved, axes: tuple) -> Saved:
    """A converted copy of ``saved`` with its axes permuted."""
    return Saved(saved.name, array=np.transpose(saved.read(), axes))


# -- rules --------------------------------------------------------------------------------

def _expected_shapes(layer) -> list[tuple]:
    return [tuple(w.shape) for w in legacy_weights(layer)]


def _bidirectional(layer, values, version):
    half = len(values) // 2
    return (preprocess(layer.forward_layer, values[:half], version)
            + preprocess(layer.backward_layer, values[half:], version))


def _time_distributed(layer, values, version):
    return preprocess(layer.layer, values, version)


def _nested_model(layer, values, version):
    n_trainable = len(layer.trainable_weights)
    trainable, non_trainable = values[:n_trainable], values[n_trainable:]
    new_trainable: list = []
    new_non_trainable: list = []
    for sub in layer.layers:
        nt, nn = len(sub.trainable_weights), len(sub.non_trainable_weights)
        if not nt + nn:
            continue
        converted = preprocess(sub, trainable[:nt] + non_trainable[:nn], version)
        new_trainable += converted[:nt]
        new_non_trainable += converted[nt:]
        trainable, non_trainable = trainable[nt:], non_trainable[nn:]
    return new_trainable + trainable + new_non_trainable + non_trainable


def _conv(n_kernels: int):
    def rule(layer, values, version):
        expected = _expected_shapes(layer)
        out = list(values)
        for i in range(min(n_kernels, len(out), len(expected))):
            shape = out[i].shape
            if shape is not None and shape != expected[i] and len(shape) == 4 and \
                    tuple(shape[a] for a in (3, 2, 0, 1)) == expected[i]:
                out[i] = transposed(out[i], (3, 2, 0, 1))
        return out
    return rule


def _rnn(layer, values, version):
    """CuDNN <-> native LSTM/GRU weights (see :mod:`.legacy_layouts`), when the bias differs."""
    expected = _expected_shapes(layer)
    if len(values) != 3 or len(expected) != 3 or values[2].shape == expected[2]:
        return values
    try:
        arrays = legacy_layouts.convert_rnn(layer, [v.read() for v in values])
    except legacy_layouts.LayoutError as exc:
        raise ConversionError(str(exc)) from None
    return [Saved(v.name, array=a) for v, a in zip(values, arrays)]


_RULES = {
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
    "Model": _nested_model,
    "Sequential": _nested_model,
    "Functional": _nested_model,
    "Conv1D": _conv(1),
    "Conv2D": _conv(1),
    "Conv3D": _conv(1),
    "Conv2DTranspose": _conv(1),
    "ConvLSTM2D": _conv(2),
    "LSTM": _rnn,
    "CuDNNLSTM": _rnn,
    "GRU": _rnn,
    "CuDNNGRU": _rnn,
}
#: Classes whose Keras 1 layout tf-keras converts (see :mod:`.legacy_layouts`).
_KERAS1_CONVERTED = {"Conv1D", "Conv2D", "Conv2DTranspose", "Conv3D", "GRU", "LSTM",
                     "ConvLSTM2D"}


def preprocess(layer, values: list[Saved], version: str = "2") -> list[Saved]:
    """Convert ``values`` (file order) into ``layer``'s ``legacy_weights`` order and layout.

    ``version`` is the file's ``keras_version`` (``"1"`` when absent). Values whose count
    does not match are returned unchanged, for the caller to report.
    """
    name = type(layer).__name__
    if version == "1" and name == "TimeDistributed":
        values = preprocess(layer.layer, values, version)
    if version == "1" and name in _KERAS1_CONVERTED and values:
        arrays = legacy_layouts.keras1(layer, [v.read() for v in values])
        values = [Saved(v.name, array=a) for v, a in zip(values, arrays)]
    rule = _RULES.get(name)
    if rule is not None and len(values) == len(legacy_weights(layer)):
        values = rule(layer, list(values), version)
    return values
