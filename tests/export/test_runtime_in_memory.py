"""The ONNX Runtime engine gives large weights to the session as arrays (external
initializers), not through the proto's bytes: same outputs, a small proto."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras import Input, Model, layers
from numkeras.export import graph, to_onnx

pytest.importorskip("onnxruntime")


def _model():
    x = Input((8, 8, 3))
    h = layers.Conv2D(64, 3, activation="relu")(x)          # 6.9 KB kernel: in the proto
    h = layers.Dense(128)(layers.Flatten()(h))              # 1.2 MB kernel: in memory
    model = Model(x, layers.Dense(10, activation="softmax")(h))
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(rng.uniform(-0.2, 0.2, v.shape).astype(np.float32))
    return model


def test_large_constants_stay_out_of_the_proto():
    model = _model()
    arrays = {}
    proto = to_onnx(model, in_memory=arrays)
    big = {t.name for t in proto.graph.initializer if t.data_location == 1}
    assert big == set(arrays) and len(arrays) == 1
    assert all(a.nbytes >= graph.IN_MEMORY_BYTES for a in arrays.values())
    assert all(len(t.raw_data) < graph.IN_MEMORY_BYTES for t in proto.graph.initializer)
    kernel = np.asarray(model.layers[3].kernel.value)
    np.testing.assert_array_equal(next(iter(arrays.values())), kernel)
    # a plain export keeps every weight in the file
    assert all(t.data_location == 0 for t in to_onnx(model).graph.initializer)


def test_predict_with_in_memory_weights_matches_numpy():
    model = _model()
    x = np.random.default_rng(1).uniform(0, 1, (5, 8, 8, 3)).astype(np.float32)
    fast = model.predict(x, engine="onnx")
    assert model._ort_cache["runner"] is not None
    np.testing.assert_allclose(fast, model.predict(x, engine="numpy"), rtol=1e-5, atol=1e-6)
    model.layers[3].kernel.assign(np.zeros(model.layers[3].kernel.shape, np.float32))
    np.testing.assert_allclose(model.predict(x, engine="onnx"), model.predict(x, engine="numpy"),
                               rtol=1e-5, atol=1e-6)  # a new session after the assignment
