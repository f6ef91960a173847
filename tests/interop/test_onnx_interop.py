"""Models written by tf-keras (.keras, full-model .h5), exported to ONNX here, give TF's
outputs in ONNX Runtime (and through predict's ONNX Runtime engine)."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, random_weights, tf_keras

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _cnn(k):
    x = k.Input((16, 16, 3), name="image")
    h = k.layers.Rescaling(1 / 127.5, offset=-1)(x)
    h = k.layers.ZeroPadding2D(1)(h)
    h = k.layers.Conv2D(8, 3, strides=2, activation="swish", name="stem")(h)
    h = k.layers.BatchNormalization()(h)
    d = k.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(h)
    s = k.layers.SeparableConv2D(8, 3, padding="same", activation="gelu")(h)
    h = k.layers.Add()([d, s])
    se = k.layers.Reshape((1, 1, 8))(k.layers.GlobalAveragePooling2D()(h))
    se = k.layers.Conv2D(8, 1, activation="hard_sigmoid")(se)
    h = k.layers.Multiply()([h, se])
    h = k.layers.Concatenate()([k.layers.MaxPooling2D(padding="same")(h),
                                k.layers.AveragePooling2D()(h)])
    h = k.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="elu")(h)
    h = k.layers.LayerNormalization()(h)
    flat = k.layers.Flatten()(h)
    out = k.layers.Dense(5, activation="softmax", name="probs")(k.layers.Dropout(0.2)(flat))
    aux = k.layers.Dense(2, name="aux")(k.layers.GlobalMaxPooling2D()(h))
    return k.Model(x, [out, aux])


def _mobilenet(k):
    return k.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35,
                                      classes=7, classifier_activation=None)


def _efficientnet(k):
    return k.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=6,
                                         classifier_activation=None)


MODELS = {"cnn": (_cnn, (16, 16, 3)), "mobilenet_v2": (_mobilenet, (32, 32, 3)),
          "efficientnet_b0": (_efficientnet, (32, 32, 3))}


def _ort_outputs(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


@pytest.mark.parametrize("name,suffix", [("cnn", ".keras"), ("cnn", ".h5"),
                                         ("mobilenet_v2", ".h5"), ("efficientnet_b0", ".keras")])
def test_tf_keras_file_exported_here_gives_tf_outputs(name, suffix, tmp_path):
    from numkeras import cli, models

    tfk = tf_keras()
    build, shape = MODELS[name]
    theirs = build(tfk)
    theirs.set_weights([w * 0.5 for w in random_weights(theirs, seed=7)])
    x = np.random.default_rng(0).uniform(0, 255, (3, *shape)).astype(np.float32)
    expected = theirs(x, training=False)
    expected = [np.asarray(e) for e in (expected if isinstance(expected, list) else [expected])]
    src = tmp_path / f"model{suffix}"
    theirs.save(src)

    dst = tmp_path / "model.onnx"
    assert cli.main(["convert", str(src), str(dst)]) == 0
    proto = onnx.load(dst)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == [t.name.split(":")[0] for t in theirs.inputs] \
        or [i.name for i in proto.graph.input] == [layer.name for layer in theirs._input_layers]
    assert [o.name for o in proto.graph.output] == theirs.output_names
    got = _ort_outputs(dst, x)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_close_outputs(g, e, rtol=1e-4)

    ours = models.load_model(src)
    fast = ours.predict(x)
    fast = fast if isinstance(fast, list) else [fast]
    assert ours._ort_cache["runner"] is not None
    for g, e in zip(fast, expected):
        assert_close_outputs(g, e, rtol=1e-4)
