"""Test-wide fixtures: every test starts with fresh layer-name counters."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


@pytest.fixture(autouse=True)
def _fresh_numkeras_session():
    from numkeras import backend

    backend.clear_session()
    yield
