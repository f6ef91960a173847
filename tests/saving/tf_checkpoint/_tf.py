"""TensorFlow as a test oracle: skip when it is missing, but fail under CI (CI=true)."""

from __future__ import annotations

import os
from typing import Any

import pytest


def require_tensorflow() -> Any:
    """Imports and returns ``tensorflow``; skips the test if absent (fails if ``CI=true``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"TensorFlow is required for interop tests under CI: {exc}")
        pytest.skip(f"TensorFlow not installed: {exc}")
    return tf
