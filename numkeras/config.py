"""Global settings: which engine runs inference.

``"auto"`` (the default): ``model.predict`` runs on ONNX Runtime when ``onnxruntime`` is
installed and every layer of the model has an ONNX lowering, otherwise on NumPy;
``model(x)`` runs on NumPy. ``"onnx"``: both ``predict`` and ``model(x)`` run on ONNX Runtime
(an error if they cannot). ``"numpy"``: always the NumPy reference engine. The environment
variable ``NUMKERAS_ENGINE`` sets the starting value.

>>> set_inference_engine("numpy")
>>> inference_engine()
'numpy'
>>> set_inference_engine("auto")
>>> set_inference_engine("tensorflow")
Traceback (most recent call last):
...
ValueError: Unknown inference engine 'tensorflow': expected one of ('auto', 'onnx', 'numpy').
"""

from __future__ import annotations

import os

ENGINES = ("auto", "onnx", "numpy")
_STATE = {"engine": os.environ.get("NUMKERAS_ENGINE", "auto").lower()}


def check_engine(name: str) -> str:
    if name not in ENGINES:
        raise ValueError(f"Unknown inference engine {name!r}: expected one of {ENGINES}.")
    return name


def set_inference_engine(name: str) -> None:
    """Choose the engine of ``predict`` and ``model(x)``: ``"auto"``, ``"onnx"``, ``"numpy"``."""
    _STATE["engine"] = check_engine(name)


def inference_engine() -> str:
    """The current engine setting (``"auto"`` unless changed)."""
    return check_engine(_STATE["engine"])


__all__ = ["set_inference_engine", "inference_engine", "ENGINES"]
