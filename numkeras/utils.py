"""``keras.utils``: the helpers tf.keras tutorials call before building a model.

>>> import numkeras as keras
>>> keras.utils.to_categorical([0, 2, 1], num_classes=3)
array([[1., 0., 0.],
       [0., 0., 1.],
       [0., 1., 0.]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import random

import numpy as np

__all__ = ["set_random_seed", "to_categorical", "normalize", "register_keras_serializable",
           "get_custom_objects", "custom_object_scope", "get_registered_name"]

_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}


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


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Register a class or function under ``"package>name"`` so ``load_model`` finds it
    without ``custom_objects`` (the files of tf-keras and Keras 3 record that name)."""
    if ">" in package:
        raise ValueError("Invalid package name: '>' is not allowed in package names.")

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered = f"{package}>{class_name}"
        if isinstance(arg, type) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[registered] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """The ``"package>name"`` ``obj`` was registered under, else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_custom_objects() -> dict:
    """The global registry (``{"package>name": class}``); may be updated in place."""
    return _GLOBAL_CUSTOM_OBJECTS


@contextlib.contextmanager
def custom_object_scope(*scopes: dict):
    """Temporarily add the ``scopes`` dicts to the global registry."""
    saved = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in scopes:
        _GLOBAL_CUSTOM_OBJECTS.update(scope or {})
    try:
        yield
    finally:
        _GLOBAL_CUSTOM_OBJECTS.clear()
        _GLOBAL_CUSTOM_OBJECTS.update(saved)
