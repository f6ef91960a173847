"""Fixtures for the ops tests: the TF / tf_keras oracles and a seeded RNG."""

from __future__ import annotations

import numpy as np
import pytest

from ._tf import import_tf, import_tf_keras


@pytest.fixture(scope="session")
def tf():
    return import_tf()


@pytest.fixture(scope="session")
def tf_keras():
    return import_tf_keras()


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test id, so every parametrisation is reproducible."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)
