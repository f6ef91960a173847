"""``keras.regularizers``: tf-keras's weight penalties, computed with NumPy.

numkeras does not train, so layers never add these penalties to a loss; they exist so that
tf.keras code (``kernel_regularizer=keras.regularizers.l2(1e-4)``) runs unchanged and so that
configs carry tf-keras's exact entries. Calling one returns the penalty tf-keras computes:

>>> import numpy as np
>>> from numkeras import regularizers
>>> float(regularizers.L2(2.0)(np.ones((5, 5), "float32")))
50.0
>>> regularizers.serialize(regularizers.l1_l2())["config"]  # float32 values, as tf-keras
{'l1': 0.009999999776482582, 'l2': 0.009999999776482582}
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "serialize", "deserialize", "get"]


def _check_penalty_number(x) -> None:
    if not isinstance(x, (float, int)):
        raise ValueError(f"Value {x} is not a valid regularization penalty number, expected an "
                         "int or float value.")
    if math.isinf(x) or math.isnan(x):
        raise ValueError(f"Value {x} is not a valid regularization penalty number, an infinite "
                         "number or NaN are not valid values.")


def _floatx(x) -> float:
    return float(np.float32(x))  # tf-keras stores the factor as a float32


class Regularizer:
    """Base class: ``__call__(x)`` returns a penalty, ``get_config()`` its arguments."""

    _keras_module = "keras.regularizers"

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{self} does not implement get_config()")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)`` (defaults 0: ``L1L2(l2=0.1)`` has no L1 term)."""

    def __init__(self, l1=0.0, l2=0.0):
        l1 = 0.0 if l1 is None else l1
        l2 = 0.0 if l2 is None else l2
        _check_penalty_number(l1)
        _check_penalty_number(l2)
        self.l1, self.l2 = _floatx(l1), _floatx(l2)

    def __call__(self, x):
        x = np.asarray(x)
        out = np.zeros((), x.dtype)
        if self.l1:
            out = out + np.asarray(self.l1, x.dtype) * np.sum(np.abs(x))
        if self.l2:
            out = out + np.asarray(self.l2, x.dtype) * np.sum(np.square(x))
        return out

    def get_config(self) -> dict:
        return {"l1": float(self.l1), "l2": float(self.l2)}


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01, **kwargs):
        l1 = kwargs.pop("l", l1)  # tf-keras's backwards-compatible spelling
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        l1 = 0.01 if l1 is None else l1
        _check_penalty_number(l1)
        self.l1 = _floatx(l1)

    def __call__(self, x):
        x = np.asarray(x)
        return np.asarray(self.l1, x.dtype) * np.sum(np.abs(x))

    def get_config(self) -> dict:
        return {"l1": float(self.l1)}


class L2(Regularizer):
    """``l2 * sum(x**2)``."""

    def __init__(self, l2=0.01, **kwargs):
        l2 = kwargs.pop("l", l2)
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        l2 = 0.01 if l2 is None else l2
        _check_penalty_number(l2)
        self.l2 = _floatx(l2)

    def __call__(self, x):
        x = np.asarray(x)
        return np.asarray(self.l2, x.dtype) * np.sum(np.square(x))

    def get_config(self) -> dict:
        return {"l2": float(self.l2)}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (``mode="rows"``) or columns of a rank-2 kernel."""

    def __init__(self, factor=0.01, mode="rows"):
        _check_penalty_number(factor)
        self.factor = _floatx(factor)
        if mode not in {"rows", "columns"}:
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", '
                             f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def __call__(self, inputs):
        x = np.asarray(inputs)
        if x.ndim != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape == {x.shape}")
        axis = 1 if self.mode == "rows" else 0
        norm = np.sqrt(np.maximum(np.sum(np.square(x), axis=axis, keepdims=True), 1e-12))
        x = x / norm
        product = x @ x.T if self.mode == "rows" else x.T @ x
        size = product.shape[0]
        off_diagonal = product * (1.0 - np.eye(size, dtype=x.dtype))
        pairs = size * (size - 1.0) / 2.0
        return (np.asarray(self.factor * 0.5, x.dtype) * np.sum(np.abs(off_diagonal))
                / np.asarray(pairs, x.dtype))

    def get_config(self) -> dict:
        return {"factor": float(self.factor), "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01) -> L1L2:
    """An :class:`L1L2` with both factors (0.01 by default, unlike the class)."""
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
            "l1": L1, "l2": L2, "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer):
    """tf-keras's config dict (``{"module", "class_name", "config", "registered_name"}``)."""
    if regularizer is None or isinstance(regularizer, (str, dict)):
        return regularizer
    return {"module": getattr(regularizer, "_keras_module", "keras.regularizers"),
            "class_name": type(regularizer).__name__, "config": regularizer.get_config(),
            "registered_name": None}


def deserialize(config, custom_objects: dict | None = None):
    """A regularizer from a name (``"l2"``) or a config dict."""
    if config == "l1_l2":
        return L1L2(l1=0.01, l2=0.01)  # the string's defaults differ from the class's
    classes = {**_CLASSES, **(custom_objects or {})}
    if isinstance(config, str):
        if config not in classes:
            raise ValueError(f"Unknown regularizer: {config!r}. Known: {sorted(_CLASSES)} and "
                             "'l1_l2'; pass custom ones in custom_objects.")
        return classes[config]()
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret regularizer identifier: {config!r}")
    name = config["class_name"]
    if name not in classes:
        raise ValueError(f"Unknown regularizer: {name!r}. Pass it in custom_objects.")
    cls = classes[name]
    args = config.get("config", {})
    return cls.from_config(args) if hasattr(cls, "from_config") else cls(**args)


def get(identifier):
    """``None``, a name, a config dict or a callable -> a regularizer (or ``None``)."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
