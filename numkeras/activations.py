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


def linear(x):
    """The identity: returns ``x`` unchanged."""
    return x


def _lookup(name: str):
    from numkeras.ops import nn

    return getattr(nn, name)


def __getattr__(name: str):
    if name in _NAMES:
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
        if identifier not in _NAMES:
            raise ValueError(f"Unknown activation function: {identifier!r}. Known: "
                             f"{['linear', *_NAMES]}.")
        return _lookup(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r}.")


def serialize(activation) -> str:
    """The name of an activation function (as stored in layer configs)."""
    name = getattr(activation, "__name__", None)
    if name == "silu":
        return "swish"
    if name in _NAMES or name == "linear":
        return name
    if hasattr(activation, "get_config"):
        return activation.get_config()
    raise ValueError(f"Cannot serialize activation {activation!r}: it is not a named Keras "
                     "activation.")


__all__ = ["get", "serialize", "linear", *_NAMES]
