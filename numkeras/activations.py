"""Activation functions by name, as ``tf.keras.activations``.

The math lives in :mod:`numkeras.ops.nn`; this module maps Keras names to it.

>>> import numpy as np
>>> get("relu")(np.array([-1.0, 2.0]))
array([0., 2.])
>>> serialize(get("linear"))
'linear'
"""

from __future__ import annotations

_NAMES = ("relu", "relu6", "elu", "selu", "gelu", "softplus", "softsign", "swish", "silu",
          "hard_sigmoid", "sigmoid", "tanh", "exponential", "softmax", "log_softmax", "mish",
          "leaky_relu")
#: Keras 3's activations that tf-keras lacks (``keras3_hard_sigmoid`` is Keras 3's
#: ``hard_sigmoid``; a file's origin decides which ``"hard_sigmoid"`` it means).
KERAS3_ONLY = ("keras3_hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "celu", "glu",
               "hard_shrink", "hard_tanh", "soft_shrink", "sparse_plus", "sparse_sigmoid",
               "squareplus", "tanh_shrink", "sparsemax")
#: The activation names tf-keras 2.21 itself resolves (its own, and tf.nn's relu6,
#: leaky_relu, log_softmax and silu).
TF_KERAS_NAMES = ("elu", "exponential", "gelu", "hard_sigmoid", "linear", "mish", "relu",
                  "selu", "sigmoid", "softmax", "softplus", "softsign", "swish", "tanh",
                  "relu6", "leaky_relu", "log_softmax", "silu")


def linear(x):
    """The identity: returns ``x`` unchanged."""
    return x


def _lookup(name: str):
    from numkeras.ops import nn, nn_keras3

    if name == "hard_swish":
        name = "hard_silu"
    return getattr(nn, name) if name in _NAMES else getattr(nn_keras3, name)


def __getattr__(name: str):
    if name in _NAMES or name in KERAS3_ONLY:
        return _lookup(name)
    raise AttributeError(f"module 'numkeras.activations' has no attribute {name!r}")


def get(identifier):
    """The activation function for a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", identifier.get("class_name"))
    if isinstance(identifier, str):
        if identifier == "linear":
            return linear
        if identifier not in _NAMES and identifier not in KERAS3_ONLY:
            raise ValueError(f"Unknown activation function: {identifier!r}. Known: "
                             f"{['linear', *_NAMES, *KERAS3_ONLY]}.")
        return _lookup(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r}.")


def serialize(activation) -> str:
    """The name of an activation function (as stored in layer configs)."""
    name = getattr(activation, "__name__", None)
    if name == "silu":
        return "swish"
    if name in _NAMES or name in KERAS3_ONLY or name == "linear":
        return name
    if hasattr(activation, "get_config"):
        return activation.get_config()
    raise ValueError(f"Cannot serialize activation {activation!r}: it is not a named Keras "
                     "activation.")


__all__ = ["get", "serialize", "linear", *_NAMES, *KERAS3_ONLY]
