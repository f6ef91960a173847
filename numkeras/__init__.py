"""numkeras: the Keras 2 model & weights system on NumPy.

Write ``import numkeras as keras`` and keep your tf.keras code: build models, then
``get_weights``/``set_weights``, ``save_weights``/``load_weights`` in every format tf.keras
uses, file-compatible with TensorFlow in both directions, without TensorFlow installed.

Submodules load on first use, so ``import numkeras`` costs little more than NumPy.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"activations", "applications", "backend", "config", "constraints", "initializers",
               "layers", "models", "ops", "optimizers", "regularizers", "saving", "train", "utils",
               "cli"}
_ATTRS = {
    "Model": ("numkeras.engine.training", "Model"),
    "Sequential": ("numkeras.engine.sequential", "Sequential"),
    "Input": ("numkeras.engine.input_layer", "Input"),
    "Variable": ("numkeras.engine.variable", "Variable"),
    "convert_to_tensor": ("numkeras.engine.tensors", "convert_to_tensor"),
    "constant_initializer": ("numkeras.initializers", "Constant"),
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"numkeras.{name}")
    if name in _ATTRS:
        module, attr = _ATTRS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'numkeras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_ATTRS))


__all__ = sorted(_SUBMODULES | set(_ATTRS))
