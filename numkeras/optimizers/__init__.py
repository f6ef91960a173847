"""Optimizers with tf-keras semantics: ``get``, ``serialize``, ``deserialize`` and the classes.

The tf-keras 2.11+ optimizers are here (``numkeras.optimizers.Adam`` ...); TF <= 2.10's
OptimizerV2 family is in :mod:`numkeras.optimizers.legacy`; learning-rate schedules are in
:mod:`numkeras.optimizers.schedules`.

>>> get("adam")
<numkeras.optimizers.Adam name='Adam'>
>>> get({"class_name": "SGD", "config": {"learning_rate": 0.5, "is_legacy_optimizer": False}})
<numkeras.optimizers.SGD name='SGD'>
>>> config = serialize(get("rmsprop"))
>>> config["class_name"], config["config"]["rho"]
('RMSprop', 0.9)
>>> type(deserialize(config)).__name__
'RMSprop'
>>> get("adamm")
Traceback (most recent call last):
...
ValueError: Unknown optimizer: 'adamm'. Known optimizers: adadelta, adagrad, adam, adamax, adamw, nadam, rmsprop, sgd.
"""

from __future__ import annotations

from numkeras.optimizers import legacy, schedules
from numkeras.optimizers.adagrad import Adadelta, Adagrad
from numkeras.optimizers.adam import Adam, Adamax, AdamW, Nadam
from numkeras.optimizers.legacy.optimizer_v2 import OptimizerV2
from numkeras.optimizers.optimizer import Optimizer
from numkeras.optimizers.rmsprop import RMSprop
from numkeras.optimizers.sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer",
           "RMSprop", "deserialize", "get", "legacy", "schedules", "serialize"]

_NEW = {"adadelta": Adadelta, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW,
        "adamax": Adamax, "nadam": Nadam, "rmsprop": RMSprop, "sgd": SGD,
        "experimentaladadelta": Adadelta, "experimentaladagrad": Adagrad,
        "experimentaladam": Adam, "experimentalsgd": SGD}
_LEGACY = {"adadelta": legacy.Adadelta, "adagrad": legacy.Adagrad, "adam": legacy.Adam,
           "adamax": legacy.Adamax, "nadam": legacy.Nadam, "rmsprop": legacy.RMSprop,
           "sgd": legacy.SGD, "experimentaladadelta": Adadelta, "experimentaladagrad": Adagrad,
           "experimentaladam": Adam, "experimentalsgd": SGD}
_PUBLIC_NAMES = sorted(k for k in _NEW if not k.startswith("experimental"))


def _plain(value):
    """NumPy scalars as Python numbers, recursively (configs must be JSON-able)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def serialize(optimizer) -> dict | None:
    """tf-keras's dict: ``{'module', 'class_name', 'config', 'registered_name'}``."""
    if optimizer is None:
        return None
    module = "keras.optimizers.legacy" if isinstance(optimizer, OptimizerV2) \
        else "keras.optimizers"
    return {"module": module, "class_name": type(optimizer).__name__,
            "config": _plain(optimizer.get_config()), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None,
                use_legacy_optimizer: bool = False, **kwargs):
    """An optimizer from :func:`serialize`'s dict (or an old-style ``class_name``/``config``).

    As in tf-keras, a non-empty ``config`` without ``is_legacy_optimizer`` means a legacy
    optimizer (TF <= 2.10 wrote no such key).
    """
    if kwargs:
        raise TypeError(f"Invalid keyword arguments: {kwargs}")
    inner = dict(config.get("config") or {})
    if inner:
        use_legacy_optimizer = inner.get("is_legacy_optimizer", True)
    name = config["class_name"]
    custom = (custom_objects or {}).get(name)
    if custom is not None:
        return custom.from_config(inner)
    classes = _LEGACY if use_legacy_optimizer else _NEW
    cls = classes.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: {name!r}. Known optimizers: "
                         f"{', '.join(_PUBLIC_NAMES)}.")
    return cls.from_config(inner, custom_objects=custom_objects)


def get(identifier, **kwargs):
    """An optimizer from an instance, a name (``'adam'``, case-insensitive) or a config dict."""
    use_legacy_optimizer = kwargs.pop("use_legacy_optimizer", False)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments: {kwargs}")
    if isinstance(identifier, (Optimizer, OptimizerV2)):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier, use_legacy_optimizer=use_legacy_optimizer)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}},
                           use_legacy_optimizer=use_legacy_optimizer)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
