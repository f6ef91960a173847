"""RandomFourierFeatures (tf-keras ``layers.experimental.RandomFourierFeatures``).

``cos(x @ (unscaled_kernel / kernel_scale) + bias)``: weights ``unscaled_kernel (in, out)``
and ``bias (out,)`` (never trainable) and ``kernel_scale (1,)`` (trainable with the layer,
created last, listed first as tf-keras lists a layer's trainable-by-creation weights), all
float32; the default scale is ``sqrt(in / 2)`` for the ``"gaussian"``
kernel and 1 for ``"laplacian"``.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> rff = RandomFourierFeatures(4)
>>> rff(np.zeros((2, 3), "float32")).shape, [w.name for w in rff.weights]
((2, 4), ['random_fourier_features/kernel_scale:0', 'random_fourier_features/unscaled_kernel:0', 'random_fourier_features/bias:0'])
"""

from __future__ import annotations

import numpy as np

from numkeras import initializers
from numkeras.engine.base_layer import Layer

_KERNELS = ("gaussian", "laplacian")


class RandomFourierFeatures(Layer):
    """Random Fourier features approximating a shift-invariant kernel."""

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False,
                 name=None, **kwargs):
        if output_dim <= 0:
            raise ValueError(f"`output_dim` should be a positive integer. Received: {output_dim}")
        if isinstance(kernel_initializer, str) and kernel_initializer.lower() not in _KERNELS:
            raise ValueError(f"Unsupported `kernel_initializer`: {kernel_initializer} Expected "
                             f"one of: {list(_KERNELS)}")
        if scale is not None and scale <= 0.0:
            raise ValueError(f"When provided, `scale` should be a positive float. Received: "
                             f"{scale}")
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.output_dim, self.kernel_initializer, self.scale = output_dim, kernel_initializer, scale

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError("The rank of the input tensor should be 2 with a defined last "
                             f"dimension. Full input shape received: {tuple(input_shape)}")
        n_in = int(input_shape[-1])
        init = self.kernel_initializer
        if isinstance(init, str) and init.lower() == "gaussian":
            init = initializers.RandomNormal(stddev=1.0)
        elif isinstance(init, str):  # laplacian: Cauchy samples, as tf-keras draws them
            probs = np.random.uniform(0.0, 1.0, (n_in, self.output_dim))
            init = initializers.Constant(np.tan(np.pi * (probs - 0.5)))
        self.unscaled_kernel = self.add_weight("unscaled_kernel", (n_in, self.output_dim),
                                               dtype="float32", initializer=init,
                                               trainable=False)
        self.bias = self.add_weight("bias", (self.output_dim,), dtype="float32",
                                    initializer=initializers.RandomUniform(0.0, 2 * np.pi),
                                    trainable=False)
        if self.scale is None:
            gaussian = isinstance(self.kernel_initializer, str) and \
                self.kernel_initializer.lower() == "gaussian"
            self.scale = float(np.sqrt(n_in / 2.0)) if gaussian else 1.0
        self.kernel_scale = self.add_weight("kernel_scale", (1,), dtype="float32",
                                            initializer=initializers.Constant(self.scale),
                                            trainable=True)
        self.built = True

    def call(self, inputs):
        x = np.asarray(inputs).astype(np.float32, copy=False)
        kernel = (np.float32(1.0) / self.kernel_scale.value) * self.unscaled_kernel.value
        return np.cos(x @ kernel + self.bias.value)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        init = self.kernel_initializer
        if not isinstance(init, str):
            from numkeras.layers._utils import serialize_initializer

            init = serialize_initializer(init)
        return {**super().get_config(), "output_dim": self.output_dim,
                "kernel_initializer": init, "scale": self.scale}


__all__ = ["RandomFourierFeatures"]
