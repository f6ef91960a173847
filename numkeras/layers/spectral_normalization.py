"""SpectralNormalization: the tf-keras wrapper that divides a kernel by its spectral norm.

The wrapped layer is built in the wrapper's name scope (``spectral_normalization/kernel:0``)
and the wrapper adds one non-trainable ``vector_u`` of shape ``(1, kernel.shape[-1])``, so
the weights are ``[<wrapped layer's weights>..., vector_u]``. Like tf-keras, the wrapper also
tracks the wrapped kernel as its own ``kernel`` attribute and own weight, so object-based
files (``.keras`` ``vars``, TF checkpoints) list that variable under the wrapper as well
(``layer.weights`` lists it once). At inference tf-keras calls the
wrapped layer with its kernel as stored (the kernel is normalized in place only when
training), and so does numkeras; ``normalize_weights()`` gives the normalized kernel, which
a call with ``training=True`` writes into the kernel (and the new ``vector_u``) first, as
tf-keras does (a kernel of zeros is left alone).

>>> import numpy as np
>>> from numkeras import backend
>>> from numkeras.layers.core import Dense
>>> backend.clear_session()
>>> sn = SpectralNormalization(Dense(3))
>>> sn(np.ones((2, 4), "float32")).shape
(2, 3)
>>> [w.name for w in sn.weights]
['spectral_normalization/kernel:0', 'spectral_normalization/bias:0', 'spectral_normalization/vector_u:0']
"""

from __future__ import annotations

import numpy as np

from numkeras.layers.rnn import set_build_shape
from numkeras.layers.wrappers import Wrapper


def _l2_normalize(x, epsilon=1e-12):
    return x / np.sqrt(np.maximum(np.sum(x * x), epsilon))


class SpectralNormalization(Wrapper):
    """Spectral normalization of ``layer``'s ``kernel`` (or ``embeddings``)."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        if not self.layer.built:
            self.layer._maybe_build(tuple(input_shape))
            set_build_shape(self.layer, tuple(input_shape))
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "nor 'embeddings'")
        self.kernel = kernel  # tracked here too, as tf-keras does (files list it twice)
        (self._trainable_weights if kernel.trainable else self._non_trainable_weights).append(
            kernel)
        self.vector_u = self.add_weight("vector_u", (1, kernel.shape[-1]), trainable=False,
                                        initializer={"class_name": "TruncatedNormal",
                                                     "config": {"stddev": 0.02}},
                                        dtype=kernel.dtype)
        self.built = True

    def call(self, inputs, training=False):
        if training and np.any(np.asarray(self.kernel.value) != 0):
            kernel, u = self.normalize_weights()  # tf-keras: normalized in place, then called
            self.kernel.assign(kernel)
            self.vector_u.assign(u)
        return self.layer(inputs)

    def normalize_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(normalized kernel, new vector_u)`` by ``power_iterations`` power iterations."""
        kernel = np.asarray(self.kernel.value)
        weights = kernel.reshape(-1, kernel.shape[-1])
        u = np.asarray(self.vector_u.value)
        v = u
        for _ in range(self.power_iterations):
            v = _l2_normalize(u @ weights.T)
            u = _l2_normalize(v @ weights)
        sigma = (v @ weights) @ u.T
        return (weights / sigma).reshape(kernel.shape), u

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


__all__ = ["SpectralNormalization"]
