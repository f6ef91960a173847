"""Old weight layouts tf-keras still converts on ``.h5`` load (``preprocess_weights_for_loading``).

* **CuDNN RNNs.** ``CuDNNLSTM`` keeps ``kernel (in, 4u)``, ``recurrent_kernel (u, 4u)`` and a
  doubled ``bias (8u,)`` (input and recurrent biases); ``CuDNNGRU`` a ``bias (6u,)``. Towards
  ``LSTM`` / ``GRU(reset_after=True)``: each gate's input kernel ``k`` becomes
  ``k.T.reshape(k.shape, order="F")``, each gate's recurrent kernel is transposed, the LSTM
  bias halves are summed and the GRU bias is reshaped to ``(2, 3u)``
  (:mod:`numkeras.ops.rnn_layouts`). The other way: the inverse reshape (``order="C"``), the
  LSTM bias is ``tile(0.5 * b, 2)`` and the GRU bias flattened. The source is recognized by the bias shape; ``GRU(reset_after=False)`` cannot be
  converted either way (an error says so).
* **Keras 1** (a file without ``keras_version``): LSTM / ConvLSTM2D stored 12 arrays (input,
  recurrent, bias per gate, gates in the order i, c, f, o) and GRU 9 (z, r, h), concatenated
  here into one kernel / recurrent kernel / bias in Keras 2's gate order; Keras 1 ``Conv1D``
  kernels ``(k, 1, in, out)`` lose their dummy axis (``(out, in, k, 1)`` ones are transposed
  first); channels-first ``Conv2D`` / ``Conv3D`` / ``ConvLSTM2D`` and ``Conv2DTranspose``
  kernels are transposed as tf-keras does.

Functions take and return lists of NumPy arrays in file order; ``layer`` is only read for its
class name and options (``reset_after``, ``data_format``, ``kernel_size``, ``filters``).

>>> import numpy as np
>>> u = 2
>>> w = [np.zeros((3, 4 * u)), np.zeros((u, 4 * u)), np.arange(8 * u, dtype=float)]
>>> class LSTM:  # only the class name matters
...     pass
>>> [a.shape for a in convert_rnn(LSTM(), w)], convert_rnn(LSTM(), w)[2][:2].tolist()
([(3, 8), (2, 8), (8,)], [8.0, 10.0])
"""

from __future__ import annotations

import numpy as np

from numkeras.ops import rnn_layouts


class LayoutError(ValueError):
    """Saved RNN weights cannot be converted to the target layer's layout."""


def _kernels(values, from_cudnn: bool, n_gates: int) -> list:
    convert = rnn_layouts.kernels_from_cudnn if from_cudnn else rnn_layouts.kernels_to_cudnn
    return list(convert(values[0], values[1], n_gates))


def convert_rnn(layer, values: list) -> list:
    """CuDNN <-> native conversion for an ``LSTM``/``GRU``/``CuDNN*`` target (else unchanged)."""
    target = type(layer).__name__
    if len(values) != 3:
        return values
    units = values[1].shape[0]
    bias = tuple(values[2].shape)
    if target in ("LSTM", "CuDNNLSTM"):
        if bias == (8 * units,):
            source = "CuDNNLSTM"
        elif bias == (4 * units,):
            source = "LSTM"
        else:
            raise LayoutError(f"Invalid bias shape: {bias} (expected {(4 * units,)} for LSTM or "
                              f"{(8 * units,)} for CuDNNLSTM weights)")
        if source == target:
            return values
        from_cudnn = source == "CuDNNLSTM"
        b = (rnn_layouts.lstm_bias_from_cudnn if from_cudnn
             else rnn_layouts.lstm_bias_to_cudnn)(values[2])
        return _kernels(values, from_cudnn, 4) + [b]
    if target in ("GRU", "CuDNNGRU"):
        if bias == (6 * units,):
            source = "CuDNNGRU"
        elif bias == (2, 3 * units):
            source = "GRU(reset_after=True)"
        elif bias == (3 * units,):
            source = "GRU(reset_after=False)"
        else:
            raise LayoutError(f"Invalid bias shape: {bias}")
        if target == "CuDNNGRU":
            wanted = "CuDNNGRU"
        else:
            wanted = "GRU(reset_after=True)" if getattr(layer, "reset_after", True) \
                else "GRU(reset_after=False)"
        if source == wanted:
            return values
        if "GRU(reset_after=False)" in (source, wanted):
            raise LayoutError(f"{source} is not compatible with {wanted}")
        from_cudnn = source == "CuDNNGRU"
        b = np.asarray(values[2]).reshape((2, -1) if from_cudnn else -1)
        return _kernels(values, from_cudnn, 3) + [b]
    return values


def _concat(values, order) -> list:
    return [np.concatenate([values[i] for i in idx], axis=-1) for idx in order]


_LSTM_ORDER = ([0, 6, 3, 9], [1, 7, 4, 10], [2, 8, 5, 11])  # Keras 1: i, c, f, o -> i, f, c, o
_GRU_ORDER = ([0, 3, 6], [1, 4, 7], [2, 5, 8])


def keras1(layer, values: list) -> list:
    """Keras 1 layouts to Keras 2 ones, keyed by the target layer's class name."""
    name = type(layer).__name__
    values = list(values)
    if name == "Conv1D" and values:
        shape = values[0].shape
        kernel_size = getattr(layer, "kernel_size", (shape[0],))[0]
        if len(shape) == 4:
            if shape[:2] != (kernel_size, 1) or shape[3] != getattr(layer, "filters", shape[3]):
                values[0] = np.transpose(values[0], (2, 3, 1, 0))
            values[0] = values[0][:, 0, :, :]
    elif name == "Conv2D" and values and _channels_first(layer):
        values[0] = np.transpose(values[0], (2, 3, 1, 0))
    elif name == "Conv2DTranspose" and values:
        values[0] = np.transpose(values[0], (2, 3, 0, 1) if _channels_first(layer)
                                 else (0, 1, 3, 2))
    elif name == "Conv3D" and values and _channels_first(layer):
        values[0] = np.transpose(values[0], (2, 3, 4, 1, 0))
    elif name == "GRU" and len(values) == 9:
        values = _concat(values, _GRU_ORDER)
    elif name in ("LSTM", "ConvLSTM2D") and len(values) == 12:
        values = _concat(values, _LSTM_ORDER)
        if name == "ConvLSTM2D" and _channels_first(layer):
            values[0] = np.transpose(values[0], (2, 3, 1, 0))
            values[1] = np.transpose(values[1], (2, 3, 1, 0))
    return values


def _channels_first(layer) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_first"


__all__ = ["convert_rnn", "keras1", "LayoutError"]
