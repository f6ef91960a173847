"""The golden-value side of the ops oracle (``tests/ops/_tf.py``): stale or missing values
never pass silently."""

from __future__ import annotations

import numpy as np
import pytest

from . import _tf
from ._tf import Oracle

CASE = "tests/ops/test_pooling.py::test_global_avg_pool_large_spatial"


def _never():
    raise AssertionError("TF must not be asked when it is absent")


@pytest.fixture
def without_tf(monkeypatch):
    monkeypatch.setattr(_tf, "have_tf", lambda: False)
    monkeypatch.delenv("CI", raising=False)


def test_stale_inputs_fail_naming_the_script(without_tf):
    with pytest.raises(pytest.fail.Exception, match="regenerate.py"):
        Oracle(CASE)("ref", _never, np.zeros((2, 128, 128, 4), np.float32))


def test_missing_value_skips_or_fails_under_ci(without_tf, monkeypatch):
    with pytest.raises(pytest.skip.Exception, match="no golden value"):
        Oracle(CASE)("no such key", _never)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no golden value"):
        Oracle(CASE)("no such key", _never)


def test_stored_value_decodes_to_an_array(without_tf):
    index, _ = _tf._load("test_pooling")
    stored = index["test_global_avg_pool_large_spatial"]["ref"]
    assert set(stored) == {"digest", "value"}
    value = _tf._decode(stored["value"], _tf._load("test_pooling")[1])
    assert value.shape == (2, 4) and value.dtype == np.float32


def test_encode_decode_round_trip():
    arrays: dict = {}
    value = ((3, 3), "same", [np.arange(3.0), None, 2.5, True])
    node = _tf._encode(value, arrays)
    decoded = _tf._decode(node, {f"a{i}": a for i, a in arrays.values()})
    assert decoded[:2] == ((3, 3), "same")
    np.testing.assert_array_equal(decoded[2][0], np.arange(3.0))
    assert decoded[2][1:] == [None, 2.5, True]
