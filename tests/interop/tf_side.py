"""The TensorFlow side of the interop tests: real TF 2.21, tf-keras 2.21 and Keras 3.

Real TensorFlow is the oracle. Tests get it through these helpers: on a developer machine
without TensorFlow the test is skipped; under CI (``CI=true``) it fails instead, so a
broken install can never turn the interop suite green.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"interop test needs {module!r} under CI but it cannot be imported: "
                        f"{exc}", pytrace=False)
        pytest.skip(f"{module} not installed")


def tensorflow():
    """The ``tensorflow`` module (skip, or fail under CI, if missing)."""
    return _require("tensorflow")


def tf_keras():
    """``tf_keras`` (Keras 2.21) with a fresh session (layer names restart at ``dense``)."""
    tensorflow()
    tfk = _require("tf_keras")
    tfk.backend.clear_session()
    return tfk


def keras3():
    """Keras 3 (``import keras``, installed with TensorFlow) with a fresh session."""
    tensorflow()
    k3 = _require("keras")
    k3.utils.clear_session()
    return k3


def assert_same_weights(ours: list, theirs: list) -> None:
    """Same count, shapes, dtypes and exactly equal values, in order."""
    assert len(ours) == len(theirs), f"{len(ours)} weights vs {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"weight {i}: shape {a.shape} vs {b.shape}"
        assert a.dtype == b.dtype, f"weight {i}: dtype {a.dtype} vs {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")


def assert_close_outputs(ours, theirs, rtol: float = 1e-5) -> None:
    """Forward outputs equal within ``rtol`` relative to the output scale."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{ours.shape} vs {theirs.shape}"
    scale = max(1.0, float(np.abs(theirs).max())) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


def random_weights(model, seed: int = 0) -> list:
    """Distinct random values for every weight of a numkeras or tf-keras model.

    Variances (BatchNormalization's ``moving_variance``) get positive values.
    """
    rng = np.random.default_rng(seed)
    out = []
    for var in model.weights:
        shape = tuple(var.shape)
        dtype = np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))
        if "variance" in var.name:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.uniform(-1.0, 1.0, shape)
        out.append(value.astype(dtype))
    return out


def tf_outputs(model, inputs):
    """A model's outputs on ``inputs`` as NumPy: a list for several outputs, one array for
    one (a direct call with ``training=False``: no predict-loop tracing)."""
    out = model(inputs, training=False)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else np.asarray(out)


def outputs_then_save(model, inputs, path: str, seed: int = 0):
    """Give a tf-keras or Keras 3 ``model`` :func:`random_weights`, save it to ``path``; its
    outputs on ``inputs`` (:func:`tf_outputs`), what a loaded copy must compute."""
    model.set_weights(random_weights(model, seed))
    expected = tf_outputs(model, inputs)
    model.save(path)
    return expected


def x_ids_dense(k, steps: int, features: int):
    """Inputs ``x`` (float, ``(steps, features)``) and ``ids`` (int32, ``(steps,)``) and
    ``Dense(features, name="dense")(x)``, built with ``k``: tf_keras, Keras 3 or numkeras."""
    x = k.Input((steps, features), name="x")
    ids = k.Input((steps,), dtype="int32", name="ids")
    return x, ids, k.layers.Dense(features, name="dense")(x)
