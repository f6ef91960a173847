"""TensorFlow-as-oracle helpers for the ``numkeras.ops`` tests.

TensorFlow is imported lazily here only.  Without it a test is skipped -- unless the
environment sets ``CI=true``, where a missing oracle is a failure, never a silent skip.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import numpy as np
import pytest

_TRUTHY = {"1", "true", "yes", "on"}


def in_ci() -> bool:
    """True when running under continuous integration (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in _TRUTHY


def require(module: str) -> ModuleType:
    """Import ``module`` (e.g. ``"tensorflow"``), skipping or failing when absent."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if in_ci():
            pytest.fail(f"{module} is required when CI=true: {exc}", pytrace=False)
        pytest.skip(f"{module} is not installed")


def import_tf() -> ModuleType:
    """The ``tensorflow`` module, or skip / fail (see module docstring)."""
    return require("tensorflow")


def import_tf_keras() -> ModuleType:
    """The ``tf_keras`` (Keras 2) module, or skip / fail (see module docstring)."""
    import_tf()
    return require("tf_keras")


def assert_close(ours: np.ndarray, ref, rtol: float = 1e-5, dtype=np.float32) -> None:
    """The project tolerance: ``rtol`` plus ``1e-5`` of the reference's output scale."""
    ref = np.asarray(ref)
    assert isinstance(ours, np.ndarray), type(ours)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    if dtype is not None:
        assert ours.dtype == dtype, ours.dtype
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-5 * scale)


def rand(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Standard-normal float32 array of ``shape`` times ``scale``."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def to_cf(x: np.ndarray) -> np.ndarray:
    """channels_last -> channels_first."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def to_cl(x: np.ndarray) -> np.ndarray:
    """channels_first -> channels_last."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))
