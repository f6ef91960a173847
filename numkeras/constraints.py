"""``keras.constraints``: tf-keras's weight constraints (projections), computed with NumPy.

numkeras does not train, so layers never apply them after an update; they exist so that
tf.keras code (``kernel_constraint=keras.constraints.max_norm(3)``) runs unchanged and so that
configs carry tf-keras's exact entries. Calling one returns the projected weights:

>>> import numpy as np
>>> from numkeras import constraints
>>> constraints.NonNeg()(np.array([-1.0, 2.0], "float32")) + 0.0  # (-1 * 0 is -0.0, as in TF)
array([0., 2.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "RadialConstraint",
           "max_norm", "non_neg", "unit_norm", "min_max_norm", "radial_constraint", "maxnorm",
           "nonneg", "unitnorm", "serialize", "deserialize", "get"]

_EPSILON = 1e-7


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weights (unchanged by default)."""

    _keras_module = "keras.constraints"

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescales weights whose norm along ``axis`` exceeds ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype)

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zeroes negative weights."""

    def __call__(self, w):
        w = np.asarray(w)
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Scales weights to unit norm along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w)
        return (w / (_EPSILON + _norms(w, self.axis))).astype(w.dtype)

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves norms along ``axis`` into ``[min_value, max_value]`` at ``rate``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class RadialConstraint(Constraint):
    """Radially symmetric 2D conv kernels. Kept as configuration: calling it is not supported."""

    def __call__(self, w):
        raise NotImplementedError("RadialConstraint is kept as configuration only in numkeras; "
                                  "it cannot be applied to weights.")


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm
radial_constraint = RadialConstraint
maxnorm = max_norm
nonneg = non_neg
unitnorm = unit_norm

_CLASSES = {c.__name__: c for c in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm,
                                     RadialConstraint)}
_CLASSES.update({"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
                 "min_max_norm": MinMaxNorm, "radial_constraint": RadialConstraint,
                 "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm})


def serialize(constraint):
    """tf-keras's config dict (``{"module", "class_name", "config", "registered_name"}``)."""
    if constraint is None or isinstance(constraint, (str, dict)):
        return constraint
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


def deserialize(config, custom_objects: dict | None = None):
    """A constraint from a name (``"max_norm"``) or a config dict."""
    classes = {**_CLASSES, **(custom_objects or {})}
    if isinstance(config, str):
        if config not in classes:
            raise ValueError(f"Unknown constraint: {config!r}. Known: {sorted(_CLASSES)}; pass "
                             "custom ones in custom_objects.")
        return classes[config]()
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret constraint identifier: {config!r}")
    name = config["class_name"]
    if name not in classes:
        raise ValueError(f"Unknown constraint: {name!r}. Pass it in custom_objects.")
    return classes[name].from_config(config.get("config", {}))


def get(identifier):
    """``None``, a name, a config dict or a callable -> a constraint (or ``None``)."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier}")
