"""Fixtures for the tf_checkpoint tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

# Load the helper by path under a unique name, so that it cannot clash with other test
# folders' helpers (the tests folders are not packages).
_spec = importlib.util.spec_from_file_location(
    "numkeras_tests_tf_checkpoint_tf", Path(__file__).with_name("_tf.py"))
assert _spec is not None and _spec.loader is not None
_tf_helper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tf_helper)


@pytest.fixture(scope="session")
def tf() -> Any:
    """The ``tensorflow`` module (skips without it; fails under CI=true)."""
    return _tf_helper.require_tensorflow()
