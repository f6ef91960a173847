"""``keras.utils``: the helpers tf.keras tutorials call before building a model.

>>> import numkeras as keras
>>> keras.utils.to_categorical([0, 2, 1], num_classes=3)
array([[1., 0., 0.],
       [0., 0., 1.],
       [0., 1., 0.]], dtype=float32)
"""

from __future__ import annotations

import random

import numpy as np

from numkeras.saving.registry import (
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    register_keras_serializable,
)

__all__ = ["set_random_seed", "to_categorical", "normalize", "register_keras_serializable",
           "get_custom_objects", "custom_object_scope", "get_registered_name"]


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and numkeras's unseeded initializers,
    dropout and noise layers (as ``tf.keras.utils.set_random_seed`` seeds TF's). The numbers
    differ from TensorFlow's; runs of the same program are reproducible."""
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} "
                         f"(of type {type(seed)})")
    from numkeras import backend

    random.seed(seed)
    np.random.seed(seed)
    backend.set_global_seed(seed)


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """Class vector (integers) to one-hot matrix, as tf-keras's ``to_categorical``."""
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(y)) + 1
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left as 1)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
