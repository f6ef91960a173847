"""Fixtures for the ops tests: the TF oracle (live or golden) and a seeded RNG."""

from __future__ import annotations

import numpy as np
import pytest

from ._tf import Oracle, import_tf, import_tf_keras, recording, write_recorded


@pytest.fixture(scope="session")
def tf():
    """Live TensorFlow only (skips without it): prefer ``oracle``, which has golden values."""
    return import_tf()


@pytest.fixture(scope="session")
def tf_keras():
    """Live tf_keras only (skips without it): prefer ``oracle``, which has golden values."""
    return import_tf_keras()


@pytest.fixture
def oracle(request) -> Oracle:
    """TF's reference values for this test (see ``tests/ops/_tf.py``)."""
    return Oracle(request.node.nodeid)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test id, so every parametrisation is reproducible.

    The two data layouts of one case draw the same inputs (the layout is only a view of the
    data), so they share TF's reference value and the golden files store it once.
    """
    callspec = getattr(request.node, "callspec", None)
    params = sorted(callspec.params.items()) if callspec else []
    same = [(k, "channels_last" if v == "channels_first" else v) for k, v in params]
    text = f"{request.node.nodeid.partition('[')[0]}{same!r}"
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(text)) % (2**32)
    return np.random.default_rng(seed)


def pytest_sessionfinish(session, exitstatus):
    if recording():
        for path in write_recorded():
            print(f"\nwrote {path}")
