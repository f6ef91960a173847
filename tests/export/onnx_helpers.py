"""Shared checks: ONNX Runtime vs the NumPy engine on the same model and inputs."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_ort(model, proto, inputs: list[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def check_matches_numpy(model, inputs, rtol=1e-5, atol=1e-5) -> list[np.ndarray]:
    """Export ``model``, check the file with the full checker, compare ORT with NumPy."""
    from numkeras.export import to_onnx

    inputs = inputs if isinstance(inputs, list) else [inputs]
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    got = run_ort(model, proto, inputs)
    expected = model.predict(inputs if len(inputs) > 1 else inputs[0], engine="numpy")
    expected = expected if isinstance(expected, list) else [expected]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    return got


def randomize(model, rng: np.random.Generator):
    """Give ``model``'s float weights values drawn from ``rng``: N(0, 0.5), variances
    U(0.5, 1.5) (positive); returns the model."""
    for w in model.weights:
        if w.dtype.kind == "f":
            w.assign(rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name
                     else rng.normal(0, 0.5, w.shape))
    return model
