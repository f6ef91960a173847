"""A tf-keras model whose 3x3 convolutions are exported as Winograd F(2x2, 3x3)
(numkeras/export/winograd.py) gives TF's outputs in ONNX Runtime at the layer tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, tf_keras

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_winograd_convolutions_give_tf_outputs(tmp_path, monkeypatch):
    from numkeras import models
    from numkeras.export import to_onnx, winograd

    tfk = tf_keras()
    c = 32  # thresholds lowered: a small model takes the same path as VGG16's blocks 3-4
    monkeypatch.setattr(winograd, "MIN_CHANNELS", c)
    monkeypatch.setattr(winograd, "MIN_SIZE", 4)
    x = tfk.Input((10, 6, c))
    h = tfk.layers.Conv2D(c, 3, padding="same", activation="relu")(x)
    h = tfk.layers.Conv2D(c, 3, padding="same", activation="relu")(h)
    h = tfk.layers.MaxPooling2D()(h)
    theirs = tfk.Model(x, tfk.layers.Conv2D(8, 1)(h))
    rng = np.random.default_rng(3)
    theirs.set_weights([(rng.standard_normal(w.shape) * np.sqrt(2 / max(1, np.prod(w.shape[:-1]))))
                        .astype(np.float32) for w in theirs.get_weights()])
    inputs = rng.uniform(-1, 1, (2, 10, 6, c)).astype(np.float32)
    expected = np.asarray(theirs(inputs, training=False))
    theirs.save(tmp_path / "model.keras")

    proto = to_onnx(models.load_model(tmp_path / "model.keras"))
    assert sum(n.output[0].split("/")[-1].startswith("winograd_mm") for n in proto.graph.node) == 2
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    assert_close_outputs(got, expected, rtol=1e-5)
