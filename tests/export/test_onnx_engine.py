"""predict on ONNX Runtime: the default when possible, forced off by argument or config,
one session per model reused until a weight changes, NumPy's errors for bad inputs."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

import numkeras  # noqa: E402
from numkeras import Input, Model, Sequential, config, layers  # noqa: E402
from numkeras.export import LoweringError  # noqa: E402


def _model():
    x = Input((4,), name="features")
    return Model(x, layers.Dense(3, name="scores")(layers.Dense(5, activation="relu")(x)))


class Doubler(layers.Layer):
    def call(self, inputs):
        return inputs * 2


def test_predict_uses_onnxruntime_by_default_and_reuses_the_session():
    model = _model()
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    expected = model.predict(x, engine="numpy")
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6, atol=1e-6)
    session = model._ort_cache["runner"].session
    model.predict(x, batch_size=3)
    assert model._ort_cache["runner"].session is session


def test_session_is_rebuilt_when_a_weight_changes():
    model = _model()
    x = np.ones((2, 4), np.float32)
    model.predict(x)
    runner = model._ort_cache["runner"]
    kernel, bias = model.get_layer("scores").get_weights()
    model.get_layer("scores").set_weights([kernel, bias + 1.0])
    np.testing.assert_allclose(model.predict(x), model.predict(x, engine="numpy"), rtol=1e-6)
    assert model._ort_cache["runner"] is not runner
    other = _model()
    other.predict(x)  # weights of another model changing do not rebuild this one's session
    runner = model._ort_cache["runner"]
    other.get_layer("scores").bias.assign(np.zeros(3))
    model.predict(x)
    assert model._ort_cache["runner"] is runner


def test_engine_numpy_by_argument_and_by_config():
    model = _model()
    x = np.ones((2, 4), np.float32)
    model.predict(x, engine="numpy")
    assert "_ort_cache" not in model.__dict__
    config.set_inference_engine("numpy")
    try:
        model.predict(x)
        assert "_ort_cache" not in model.__dict__
    finally:
        config.set_inference_engine("auto")
    with pytest.raises(ValueError, match="Unknown inference engine 'tf'"):
        model.predict(x, engine="tf")


def test_model_call_stays_numpy_unless_config_says_onnx():
    model = _model()
    x = np.ones((2, 4), np.float32)
    model(x)
    assert "_ort_cache" not in model.__dict__
    config.set_inference_engine("onnx")
    try:
        np.testing.assert_allclose(model(x), model.predict(x, engine="numpy"), rtol=1e-6)
        assert model._ort_cache["runner"] is not None
    finally:
        config.set_inference_engine("auto")


def test_unlowerable_layer_falls_back_with_one_warning():
    x = Input((3,))
    model = Model(x, layers.Dense(2)(Doubler(name="doubler")(x)))
    data = np.ones((2, 3), np.float32)
    with pytest.warns(UserWarning, match=r"'doubler' \(class Doubler\).*NumPy engine"):
        out = model.predict(data)
    np.testing.assert_allclose(out, model.predict(data, engine="numpy"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(data)
    with pytest.raises(LoweringError, match=r"'doubler' \(class Doubler\)"):
        model.predict(data, engine="onnx")


def test_export_refuses_before_writing(tmp_path):
    x = Input((3,))
    model = Model(x, Doubler(name="doubler")(x))
    path = tmp_path / "m.onnx"
    with pytest.raises(LoweringError, match=r"Layer 'doubler' \(class Doubler\)"):
        model.export(path, format="onnx")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="Unsupported export format 'tf_saved_model'"):
        _model().export(path, format="tf_saved_model")


def test_export_writes_a_checked_file(tmp_path):
    import onnx

    model = _model()
    path = tmp_path / "m.onnx"
    model.export(path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["scores"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.opset_import[0].version >= 17
    assert any(n.name.startswith("scores/") for n in proto.graph.node)


@pytest.mark.parametrize("bad,message", [
    (np.ones((2, 5), np.float32), "expected axis -1 of input shape to have value 4"),
    (np.ones((2, 4, 1), np.float32), "expected shape=\\(None, 4\\), found shape=\\(2, 4, 1\\)"),
])
def test_bad_inputs_get_the_numpy_engines_errors(bad, message):
    model = _model()
    model.predict(np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match=message):
        model.predict(bad)
    with pytest.raises(ValueError, match=message):
        model.predict(bad, engine="numpy")


def test_float64_and_dict_inputs_and_sequential():
    model = _model()
    x = np.random.default_rng(1).normal(size=(3, 4))
    np.testing.assert_allclose(model.predict({"features": x}),
                               model.predict(x.astype(np.float32), engine="numpy"), rtol=1e-6)
    seq = Sequential([layers.Dense(2, input_shape=(4,))])
    np.testing.assert_allclose(seq.predict(x), seq.predict(x, engine="numpy"), rtol=1e-6)
    assert seq._ort_cache["runner"] is not None


def test_missing_onnxruntime_is_a_one_line_error_when_asked_for(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    monkeypatch.setattr("numkeras.export.runtime.available", lambda: False)
    model = _model()
    with pytest.raises(ImportError, match=r"'onnxruntime' package: pip install 'numkeras\[onnx\]'"):
        model.predict(np.ones((1, 4), np.float32), engine="onnx")
    assert model.predict(np.ones((1, 4), np.float32)).shape == (1, 3)  # auto: NumPy
    assert numkeras.config.inference_engine() == "auto"


@pytest.mark.parametrize("suffix", [".h5", ".weights.h5", ""])
def test_loading_weights_refreshes_the_session(tmp_path, suffix):
    """Loaders read straight into the weight buffers; the session must still be rebuilt."""
    source, target = _model(), _model()
    for w in source.weights:
        w.assign(np.random.default_rng(3).normal(size=w.shape))
    path = str(tmp_path / f"w{suffix or '_ckpt'}")
    source.save_weights(path)
    x = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    target.predict(x)
    target.load_weights(path)
    np.testing.assert_allclose(target.predict(x), source.predict(x, engine="numpy"), rtol=1e-6)
