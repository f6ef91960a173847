"""numkeras.applications without TensorFlow: published parameter counts, architecture shapes,
the weights argument, input checks and ``preprocess_input`` (expected values from first
principles; layer-by-layer equality with tf-keras is in tests/interop)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from numkeras import Input, applications, layers
from numkeras.applications import imagenet_utils

# Parameter counts of the 224x224 ImageNet models, as published in the Keras Applications
# table (https://keras.io/api/applications/); VGG16 without its top from the 13 convolutions.
PARAMS = [
    ("ResNet50", {}, 25_636_712),
    ("ResNet50V2", {}, 25_613_800),
    ("MobileNetV2", {}, 3_538_984),
    ("DenseNet121", {}, 8_062_504),
    ("EfficientNetB0", {}, 5_330_571),
    ("VGG16", {"include_top": False}, 14_714_688),
]


@pytest.mark.parametrize("app,kwargs,count", PARAMS, ids=[p[0] for p in PARAMS])
def test_parameter_count(app, kwargs, count):
    assert getattr(applications, app)(weights=None, **kwargs).count_params() == count


# Feature maps of a 224x224 input: stride 32 and the published final widths.
FEATURES = [
    ("MobileNetV2", "mobilenetv2_1.00_224", 1280),
    ("ResNet50", "resnet50", 2048),
    ("ResNet50V2", "resnet50v2", 2048),
    ("VGG16", "vgg16", 512),
    ("DenseNet121", "densenet121", 1024),
    ("EfficientNetB0", "efficientnetb0", 1280),
]


@pytest.mark.parametrize("app,name,channels", FEATURES, ids=[f[0] for f in FEATURES])
def test_features_and_pooling(app, name, channels):
    build = getattr(applications, app)
    model = build(include_top=False, weights=None, input_shape=(224, 224, 3))
    assert model.name == name
    assert model.outputs[0].shape == (None, 7, 7, channels)
    for pooling in ("avg", "max"):
        pooled = build(include_top=False, weights=None, pooling=pooling)
        assert pooled.outputs[0].shape == (None, channels)
    assert build(include_top=False, weights=None).inputs[0].shape == (None, None, None, 3)


def test_resnet50_stage_shapes():
    model = applications.ResNet50(weights=None, include_top=False, input_shape=(224, 224, 3))
    shapes = {name: model.get_layer(name).output_shape for name in
              ("pool1_pool", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out",
               "conv5_block3_out")}
    assert shapes == {"pool1_pool": (None, 56, 56, 64), "conv2_block3_out": (None, 56, 56, 256),
                      "conv3_block4_out": (None, 28, 28, 512),
                      "conv4_block6_out": (None, 14, 14, 1024),
                      "conv5_block3_out": (None, 7, 7, 2048)}


def test_top_predicts_probabilities():
    model = applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=4,
                                     weights=None)
    assert model.inputs[0].shape == (None, 32, 32, 3)
    assert [layer.name for layer in model.layers[-2:]] == ["global_average_pooling2d",
                                                           "predictions"]
    y = model.predict(np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)))
    assert y.shape == (2, 4)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    logits = applications.ResNet50(input_shape=(32, 32, 3), classes=3,
                                   classifier_activation=None, weights=None)
    assert logits.get_layer("predictions").activation(np.float32(-2.0)) == -2.0


def test_default_input_shape_with_top():
    assert applications.DenseNet121(weights=None).inputs[0].shape == (None, 224, 224, 3)
    assert applications.EfficientNetB1(weights=None).inputs[0].shape == (None, 240, 240, 3)


def test_imagenet_weights_explain_that_nothing_is_downloaded():
    with pytest.raises(ValueError, match="never downloads") as info:
        applications.ResNet50(weights="imagenet")
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in str(info.value)
    with pytest.raises(ValueError, match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_"
                                         "224_no_top.h5"):
        applications.MobileNetV2(weights="imagenet", include_top=False)
    with pytest.raises(ValueError, match=r"efficientnetb0_notop\.h5"):
        applications.EfficientNetB0(weights="imagenet", include_top=False)


def test_missing_weights_file(tmp_path):
    with pytest.raises(ValueError, match="existing local weights file"):
        applications.VGG16(weights=str(tmp_path / "absent.h5"))


def test_weights_path_loads_the_file(tmp_path):
    kwargs = {"include_top": False, "input_shape": (32, 32, 3), "pooling": "avg"}
    source = applications.DenseNet121(weights=None, **kwargs)
    rng = np.random.default_rng(0)
    source.set_weights([rng.uniform(0.5, 1.0, w.shape).astype(w.dtype)
                        for w in source.get_weights()])
    path = tmp_path / "densenet.h5"
    source.save_weights(str(path))
    loaded = applications.DenseNet121(weights=path, **kwargs)
    for a, b in zip(loaded.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_pretrained_weights_allow_only_softmax_or_linear(tmp_path):
    model = applications.VGG16(input_shape=(32, 32, 3), classes=2, weights=None)
    path = str(tmp_path / "vgg.h5")
    model.save_weights(path)
    with pytest.raises(ValueError, match="classifier_activation"):
        applications.VGG16(input_shape=(32, 32, 3), classes=2, weights=path,
                           classifier_activation="sigmoid")
    applications.VGG16(input_shape=(32, 32, 3), classes=2, weights=path,
                       classifier_activation=None)


@pytest.mark.parametrize("kwargs,match", [
    ({"input_shape": (16, 16, 3)}, "at least 32x32"),
    ({"input_shape": (64, 64)}, "three integers"),
    ({"include_top": True, "input_shape": (None, None, 3)}, "static `input_shape`"),
])
def test_bad_input_shape(kwargs, match):
    with pytest.raises(ValueError, match=match):
        applications.ResNet50V2(weights=None, **kwargs)


def test_unknown_argument():
    with pytest.raises(ValueError, match="Unknown argument"):
        applications.MobileNetV2(weights=None, depth_multiplier=2)


def test_input_tensor():
    inp = Input((64, 64, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    model = applications.MobileNetV2(input_tensor=x, alpha=0.35, include_top=False,
                                     weights=None)
    assert model.inputs == [inp]
    assert [layer.name for layer in model.layers[:3]] == ["input_1", "rescaling", "Conv1"]
    with pytest.raises(ValueError, match="symbolic tensor"):
        applications.ResNet50(input_tensor=np.zeros((1, 64, 64, 3)), weights=None)


def test_preprocess_input_modes():
    rgb = np.array([[[[10.0, 20.0, 30.0]]]])
    caffe = applications.resnet.preprocess_input(rgb.copy())
    np.testing.assert_allclose(caffe, [[[[30 - 103.939, 20 - 116.779, 10 - 123.68]]]])
    tf_mode = applications.mobilenet_v2.preprocess_input(rgb.copy())
    np.testing.assert_allclose(tf_mode, rgb / 127.5 - 1)
    torch = applications.densenet.preprocess_input(rgb.copy())
    np.testing.assert_allclose(
        torch, (rgb / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225])
    ints = imagenet_utils.preprocess_input(np.full((1, 3, 2, 2), 255, np.uint8),
                                           data_format="channels_first", mode="torch")
    assert ints.dtype == np.float32
    np.testing.assert_allclose(ints[0, :, 0, 0], (1 - np.array([0.485, 0.456, 0.406]))
                               / [0.229, 0.224, 0.225], rtol=1e-6)
    assert applications.efficientnet.preprocess_input(rgb) is rgb


def test_correct_pad():
    # A 3x3 stride-2 "valid" convolution after this padding gives ceil(n / 2) outputs,
    # like "same", padding more at the end (TF's convention).
    assert imagenet_utils.correct_pad((None, 112, 112, 8), 3) == ((0, 1), (0, 1))
    assert imagenet_utils.correct_pad((None, 7, 8, 8), 5) == ((2, 2), (1, 2))
    assert imagenet_utils.correct_pad((None, None, None, 8), 3) == ((0, 1), (0, 1))


def test_decode_predictions(tmp_path, monkeypatch):
    index = {str(i): [f"n{i:08d}", f"class {i}"] for i in range(1000)}
    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps(index))
    preds = np.zeros((2, 1000), np.float32)
    preds[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    preds[1, 42] = 1.0
    decoded = applications.resnet.decode_predictions(preds, top=2, class_index_path=path)
    assert decoded == [[("n00000007", "class 7", np.float32(0.5)),
                        ("n00000003", "class 3", np.float32(0.3))],
                       [("n00000042", "class 42", np.float32(1.0)),
                        decoded[1][1]]]
    # The default is tf-keras's cache (~/.keras/models, or $KERAS_HOME/models).
    (tmp_path / "models").mkdir()
    path.rename(tmp_path / "models" / path.name)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert imagenet_utils.decode_predictions(preds[:1], top=1) == [[decoded[0][0]]]
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="never downloads"):
        imagenet_utils.decode_predictions(preds)
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        imagenet_utils.decode_predictions(preds[:, :10], class_index_path=path)
