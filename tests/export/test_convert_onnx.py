"""``numkeras convert SRC model.onnx``: from a .keras archive or weights + --config."""

from __future__ import annotations

import os

import numpy as np
import pytest
from onnx_helpers import ort

from numkeras import Input, Model, cli, layers


def _model():
    x = Input((6,), name="x")
    return Model(x, layers.Dense(3, activation="tanh", name="y")(layers.Dense(4)(x)))


def _ort(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_convert_keras_archive_to_onnx(tmp_path, capsys):
    model = _model()
    src, dst = tmp_path / "m.keras", tmp_path / "m.onnx"
    model.save(src)
    assert cli.main(["convert", str(src), str(dst)]) == 0
    assert "[onnx]" in capsys.readouterr().out
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(_ort(dst, x), model.predict(x, engine="numpy"), rtol=1e-5,
                               atol=1e-6)


def test_convert_weights_with_config_to_onnx(tmp_path):
    model = _model()
    src, config, dst = tmp_path / "w.h5", tmp_path / "m.json", tmp_path / "m.onnx"
    model.save_weights(src)
    config.write_text(model.to_json())
    assert cli.main(["convert", str(src), str(dst), "--model", str(config)]) == 0
    x = np.ones((2, 6), np.float32)
    np.testing.assert_allclose(_ort(dst, x), model.predict(x, engine="numpy"), rtol=1e-5,
                               atol=1e-6)


def test_convert_refuses_a_format_suffix_mismatch(tmp_path, capsys):
    model = _model()
    src = tmp_path / "m.keras"
    model.save(src)
    assert cli.main(["convert", str(src), str(tmp_path / "m.h5"), "--format", "onnx"]) == 2
    assert "needs a path with .onnx" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


@pytest.mark.parametrize("existing", [False, True])
def test_unlowerable_model_writes_nothing(tmp_path, capsys, existing):
    class Double(layers.Layer):
        def call(self, inputs):
            return inputs * 2

    x = Input((3,))
    model = Model(x, Double(name="double")(x))
    dst = tmp_path / "m.onnx"
    if existing:
        dst.write_bytes(b"previous")
    with pytest.raises(ValueError, match=r"Layer 'double' \(class Double\)"):
        model.export(dst)
    assert sorted(os.listdir(tmp_path)) == (["m.onnx"] if existing else [])
    if existing:
        assert dst.read_bytes() == b"previous"
