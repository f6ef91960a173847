"""TensorFlow as the oracle for the ``numkeras.ops`` tests, live or from golden files.

A test asks the :class:`Oracle` (the ``oracle`` fixture) for each reference value:
``ref = oracle("ref", lambda: tf_conv(oracle.tf, x, k, ...), x, k)``.

- With TensorFlow installed the function runs, so TF is compared live.
- Without TensorFlow the value TF computed for the same test and the same inputs is read from
  ``tests/data/ops/<test module>.npz`` (written by real TF 2.21 / tf-keras 2.21 through
  ``tests/data/regenerate.py``). The inputs are drawn from an RNG seeded by the test id, so they
  are the same on every machine; a digest of them is stored next to each value, and a test whose
  inputs no longer match its golden value fails (with or without TF) and names the script to
  rerun. A value missing from the golden files skips the test (fails when ``CI=true``).
- With ``NUMKERAS_GOLDEN_RECORD=1`` (set by the regenerate script) every live TF value is kept
  and written to the golden files at the end of the run.

The tolerance, :func:`assert_close`, is the same in both modes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

_TRUTHY = {"1", "true", "yes", "on"}
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "ops"
RECORD_ENV = "NUMKERAS_GOLDEN_RECORD"
REGENERATE = "TF_USE_LEGACY_KERAS=1 python tests/data/regenerate.py ops (with TensorFlow)"


def in_ci() -> bool:
    """True when running under continuous integration (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in _TRUTHY


def recording() -> bool:
    """True when live TF values are to be written to the golden files."""
    return os.environ.get(RECORD_ENV, "").strip().lower() in _TRUTHY


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


@functools.cache
def have_tf() -> bool:
    """Whether TensorFlow and tf_keras can be imported here."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        importlib.import_module("tensorflow")
        importlib.import_module("tf_keras")
    except ImportError:
        return False
    return True


# -- golden values: JSON structure + arrays in one .npz per test module ---------------------------


def _digest(inputs: tuple) -> str:
    h = hashlib.sha256()
    for item in inputs:
        if isinstance(item, np.ndarray):
            h.update(f"{item.dtype.str}{item.shape}".encode())
            h.update(np.ascontiguousarray(item).tobytes())
        else:
            h.update(repr(item).encode())
        h.update(b"|")
    return h.hexdigest()[:20]


def _encode(value: Any, arrays: dict[bytes, tuple[int, np.ndarray]]) -> Any:
    """JSON for ``value``; its arrays go to ``arrays`` (content -> (index, array)), each once."""
    if hasattr(value, "numpy"):  # a TF tensor
        value = value.numpy()
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        content = f"{array.dtype.str}{array.shape}".encode() + array.tobytes()
        index, _ = arrays.setdefault(content, (len(arrays), array))
        return {"array": index}
    if isinstance(value, tuple | list):
        return {"tuple" if isinstance(value, tuple) else "list": [_encode(v, arrays) for v in value]}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as a golden value")


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(node, dict):
        if "array" in node:
            return arrays[f"a{node['array']}"]
        if "tuple" in node:
            return tuple(_decode(v, arrays) for v in node["tuple"])
        return [_decode(v, arrays) for v in node["list"]]
    return node


@functools.cache
def _load(module: str) -> tuple[dict, dict[str, np.ndarray]]:
    path = GOLDEN_DIR / f"{module}.npz"
    if not path.exists():
        return {}, {}
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    index = json.loads(str(arrays.pop("index")))
    return index, arrays


_RECORDED: dict[str, dict[str, dict]] = {}  # module -> test name -> key -> (digest, value)


def write_recorded() -> list[Path]:
    """Write every recorded value to ``tests/data/ops/<module>.npz``; returns the paths."""
    written = []
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for module, tests in sorted(_RECORDED.items()):
        arrays: dict[bytes, tuple[int, np.ndarray]] = {}
        index = {
            test: {key: {"digest": d, "value": _encode(v, arrays)} for key, (d, v) in keys.items()}
            for test, keys in sorted(tests.items())
        }
        payload = {f"a{i}": a for i, a in arrays.values()}
        path = GOLDEN_DIR / f"{module}.npz"
        np.savez_compressed(path, index=np.array(json.dumps(index, sort_keys=True)), **payload)
        written.append(path)
    return written


class Oracle:
    """The reference values of one test: live from TF, or from the golden files."""

    def __init__(self, nodeid: str) -> None:
        path, _, self.test = nodeid.partition("::")
        self.module = Path(path).stem

    @property
    def tf(self) -> ModuleType:
        return import_tf()

    @property
    def tf_keras(self) -> ModuleType:
        return import_tf_keras()

    def __call__(self, key: str, compute: Callable[[], Any], *inputs: Any) -> Any:
        """TF's value for ``key``: ``compute()`` live, else the golden value for ``inputs``."""
        digest = _digest(inputs)
        stored = _load(self.module)[0].get(self.test, {}).get(key)
        if stored is not None and stored["digest"] != digest:
            pytest.fail(f"tests/data/ops/{self.module}.npz holds {self.test} [{key}] for other "
                        f"inputs than this test now makes: rerun {REGENERATE}", pytrace=False)
        if have_tf():
            value = compute()
            if hasattr(value, "numpy"):
                value = value.numpy()
            if recording():
                tests = _RECORDED.setdefault(self.module, {}).setdefault(self.test, {})
                tests[key] = (digest, value)
            return value
        if stored is None:
            message = (f"no TensorFlow and no golden value for {self.module}::{self.test} "
                       f"[{key}]: rerun {REGENERATE}")
            if in_ci():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        return _decode(stored["value"], _load(self.module)[1])


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
