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
``LSTM``/``GRU`` (and CuDNN classes)  CuDNN <-> native conversions are **not** implemented:
                                      a CuDNN-shaped bias is reported as a clear error
====================================  ==========================================================

Differences from tf-keras, on purpose: the conv transposition is applied only when it makes
the shape fit (tf-keras transposes blindly, then fails on assignment); Keras 1 files (no
``keras_version``) are read as they are, and a Keras 1 conv/RNN layer whose values do not fit
is reported as "Keras 1 layout not supported" instead of being converted.

Values are :class:`Saved` handles: shape and dtype are known without reading the data, which
is read only when a rule needs it (or later, straight into the variable).

>>> import numpy as np
>>> s = Saved("k:0", array=np.zeros((4, 3, 2, 2)))
>>> s.shape, transposed(s, (3, 2, 0, 1)).shape
((4, 3, 2, 2), (2, 2, 4, 3))
"""

from __future__ import annotations

import numpy as np

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


def _lstm(layer, values, version):
    expected = _expected_shapes(layer)
    if len(values) == 3 == len(expected) and values[2].shape != expected[2]:
        units = expected[1][0] if len(expected[1]) == 2 else None
        if units and values[2].shape == (8 * units,):
            raise ConversionError(
                f"the saved weights come from a CuDNNLSTM layer (bias of shape "
                f"{values[2].shape}); converting CuDNN weights to {type(layer).__name__} is "
                "not supported by numkeras. Load them in TensorFlow and re-save.")
        if units and expected[2] == (8 * units,):
            raise ConversionError("converting LSTM weights to CuDNNLSTM is not supported.")
    return values


def _gru(layer, values, version):
    expected = _expected_shapes(layer)
    if len(values) == 3 == len(expected) and values[2].shape != expected[2]:
        units = expected[1][0] if len(expected[1]) == 2 else None
        got = values[2].shape
        if units and (got == (6 * units,) or expected[2] == (6 * units,)):
            raise ConversionError(
                f"the saved GRU bias has shape {got} and the layer's has shape {expected[2]}: "
                "converting between CuDNNGRU and GRU weights is not supported by numkeras.")
        if units and {got, expected[2]} == {(3 * units,), (2, 3 * units)}:
            raise ConversionError(
                "GRU(reset_after=False) is not compatible with GRU(reset_after=True)")
    return values


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
    "LSTM": _lstm,
    "CuDNNLSTM": _lstm,
    "GRU": _gru,
    "CuDNNGRU": _gru,
}
#: Classes whose Keras 1 layout tf-keras converts (numkeras reports them instead).
_KERAS1_CONVERTED = {"Conv1D", "Conv2D", "Conv2DTranspose", "Conv3D", "GRU", "LSTM",
                     "ConvLSTM2D", "TimeDistributed"}


def preprocess(layer, values: list[Saved], version: str = "2") -> list[Saved]:
    """Convert ``values`` (file order) into ``layer``'s ``legacy_weights`` order and layout.

    ``version`` is the file's ``keras_version`` (``"1"`` when absent). Values whose count
    does not match are returned unchanged, for the caller to report.
    """
    rule = _RULES.get(type(layer).__name__)
    if rule is not None and len(values) == len(legacy_weights(layer)):
        values = rule(layer, list(values), version)
    if version == "1" and type(layer).__name__ in _KERAS1_CONVERTED:
        expected = _expected_shapes(layer)
        if len(values) != len(expected) or [v.shape for v in values] != expected:
            raise ConversionError(
                f"the file has no keras_version attribute, so it was written by Keras 1, and "
                f"converting Keras 1 {type(layer).__name__} weights is not supported by "
                "numkeras. Load the file in Keras 2 and re-save it.")
    return values
