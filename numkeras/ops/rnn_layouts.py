"""CuDNN RNN weight layouts <-> Keras LSTM/GRU layouts (array maths only).

The ``CuDNNLSTM``/``CuDNNGRU`` layers hand each gate's ``(input, units)`` kernel slice to
cuDNN flattened row-major, and cuDNN reads that buffer as a ``(units, input)`` row-major
matrix. The Keras kernel computing the same thing is therefore
``k.T.reshape(k.shape, order="F")`` per gate; recurrent kernels are square and simply
transposed. CuDNN keeps separate input and recurrent biases: LSTM sums them, GRU
(``reset_after=True``) keeps them as two rows. These are the conversions tf-keras's
``.h5`` loader applies.

>>> import numpy as np
>>> k = np.arange(6.0).reshape(2, 3)  # one gate, input 2, units 3
>>> _gate_from_cudnn(k).tolist()
[[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
>>> np.array_equal(_gate_to_cudnn(_gate_from_cudnn(k)), k)
True
"""

from __future__ import annotations

import numpy as np


def _gate_from_cudnn(k: np.ndarray) -> np.ndarray:
    return k.T.reshape(k.shape, order="F")


def _gate_to_cudnn(k: np.ndarray) -> np.ndarray:
    return k.T.reshape(k.shape, order="C")


def _per_gate(kernel: np.ndarray, fn, n_gates: int) -> np.ndarray:
    return np.hstack([fn(k) for k in np.hsplit(kernel, n_gates)])


def kernels_from_cudnn(kernel, recurrent_kernel, n_gates: int) -> tuple:
    """``(kernel, recurrent_kernel)`` of a CuDNN layer in Keras LSTM/GRU layout."""
    return (_per_gate(np.asarray(kernel), _gate_from_cudnn, n_gates),
            _per_gate(np.asarray(recurrent_kernel), np.transpose, n_gates))


def kernels_to_cudnn(kernel, recurrent_kernel, n_gates: int) -> tuple:
    """The inverse of :func:`kernels_from_cudnn`."""
    return (_per_gate(np.asarray(kernel), _gate_to_cudnn, n_gates),
            _per_gate(np.asarray(recurrent_kernel), np.transpose, n_gates))


def lstm_bias_from_cudnn(bias) -> np.ndarray:
    """``(8u,)`` input + recurrent biases -> LSTM's ``(4u,)`` sum."""
    bias = np.asarray(bias)
    return np.sum(np.split(bias, 2, axis=0), axis=0).astype(bias.dtype, copy=False)


def lstm_bias_to_cudnn(bias) -> np.ndarray:
    """LSTM's ``(4u,)`` bias split evenly between cuDNN's input and recurrent halves."""
    bias = np.asarray(bias)
    return np.tile(0.5 * bias, 2).astype(bias.dtype, copy=False)


__all__ = ["kernels_from_cudnn", "kernels_to_cudnn", "lstm_bias_from_cudnn",
           "lstm_bias_to_cudnn"]
