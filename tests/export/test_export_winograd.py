"""3x3 convolutions with many channels are exported as Winograd F(2x2, 3x3)
(numkeras/export/winograd.py): same outputs as the NumPy engine at the layer tolerance,
and only where the conditions hold."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy, run_ort

from numkeras import Input, Model, layers
from numkeras.export import to_onnx, winograd

C = 32  # the thresholds are lowered for these tests (small, fast models)


@pytest.fixture(autouse=True)
def _small_thresholds(monkeypatch):
    monkeypatch.setattr(winograd, "MIN_CHANNELS", C)
    monkeypatch.setattr(winograd, "MIN_SIZE", 4)


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:  # He-scaled kernels keep activations of order 1
        fan_in = int(np.prod(v.shape[:-1])) if len(v.shape) > 1 else 1
        v.assign((rng.standard_normal(v.shape) * np.sqrt(2 / fan_in)).astype(np.float32))
    return model


def _uses_winograd(model) -> int:
    return sum(n.output[0].split("/")[-1].startswith("winograd_mm") for n in to_onnx(model).graph.node)


def _chain(shape, data_format):
    x = Input(shape)
    h = layers.Conv2D(C, 3, padding="same", activation="relu", data_format=data_format)(x)
    h = layers.Conv2D(C + 16, 3, padding="same", data_format=data_format)(h)
    h = layers.MaxPooling2D(data_format=data_format)(h)  # on the tall layout
    h = layers.Conv2D(C, 3, padding="same", use_bias=False, activation="tanh",
                      data_format=data_format)(h)
    pooled = layers.MaxPooling2D(data_format=data_format)(h)
    return _randomize(Model(x, [layers.Flatten(data_format=data_format)(pooled), h]))


def test_thresholds_of_the_applications():
    """VGG16's blocks 3 and 4 (128-512 input and 256-512 output channels, 56x56 and 28x28)
    use it, and block 5 (14x14) because its input is already in the tall layout; a 14x14
    convolution entered from the usual layout (ResNet50's) and layers with 128 output
    channels or 64 input channels do not."""
    winograd.MIN_CHANNELS, winograd.MIN_SIZE = 256, 28  # restored by monkeypatch
    for cin, cout, expected in [(128, 256, True), (128, 128, False), (64, 256, False),
                                (512, 128, False)]:
        conv = layers.Conv2D(cout, 3, padding="same")
        conv(Input((28, 28, cin)))
        assert winograd.worthwhile(conv, _value((None, 28, 28, cin)), "same") == expected
    conv = layers.Conv2D(256, 3, padding="same")
    conv(Input((28, 28, 256)))
    assert winograd.worthwhile(conv, _value((None, 28, 28, 256)), "same")
    assert not winograd.worthwhile(conv, _value((None, 14, 14, 256)), "same")
    assert winograd.worthwhile(conv, _value((None, 14, 14, 256), tall=(256, 14, 14)), "same")
    assert not winograd.worthwhile(conv, _value((None, 14, 14, 256), tall=(128, 14, 14)),
                                   "same")
    assert not winograd.worthwhile(conv, _value((None, 12, 12, 256), tall=(256, 12, 12)),
                                   "same")


def test_vgg16_block5_continues_the_tall_layout(monkeypatch):
    """VGG16's blocks 3-5 (the convolutions with 256-512 output channels) are Winograd; the
    tall layout is left once, after block 5's pool."""
    from numkeras.applications import VGG16

    monkeypatch.setattr(winograd, "MIN_CHANNELS", 256)
    monkeypatch.setattr(winograd, "MIN_SIZE", 28)
    monkeypatch.setattr(winograd, "MIN_CHAINED_SIZE", 14)
    proto = to_onnx(VGG16(weights=None))
    wino = sorted(n.name.split("/")[0] for n in proto.graph.node
                  if n.output[0].split("/")[-1].startswith("winograd_mm"))
    assert wino == ["block3_conv1", "block3_conv2", "block3_conv3", "block4_conv1",
                    "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2",
                    "block5_conv3"]
    assert [n.name.split("/")[0] for n in proto.graph.node
            if n.op_type == "Transpose" and n.attribute[0].ints == [1, 0, 2, 3]] == [
                "block3_conv1", "block5_pool"]
    # the Where zeroing garbage rows is only needed between convolutions
    assert sum(n.op_type == "Where" for n in proto.graph.node) == 6


def _value(shape, tall=None):
    from numkeras.export.graph import Value

    v = Value("x", shape, np.float32)
    if tall is not None:
        v._layouts[winograd.TALL] = ("tall", *tall)
    return v


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_winograd_chain_matches_numpy(data_format):
    shape = (8, 8, C) if data_format == "channels_last" else (C, 8, 8)
    model = _chain(shape, data_format)
    assert _uses_winograd(model) == 3
    x = np.random.default_rng(1).uniform(-1, 1, (3, *shape)).astype(np.float32)
    check_matches_numpy(model, x)


def test_nan_and_inf_stay_in_their_image():
    """Images are stacked in one tensor between Winograd layers: a NaN/inf image must not
    reach its neighbours (as in the NumPy engine)."""
    model = _chain((8, 8, C), "channels_last")
    x = np.random.default_rng(1).uniform(-1, 1, (4, 8, 8, C)).astype(np.float32)
    x[1, 3, 2, 5], x[2, 7, 3, 1] = np.nan, np.inf
    got = check_matches_numpy(model, x[[0, 3]])
    ours = run_ort(model, to_onnx(model), [x])
    for g, o in zip(got, ours):
        np.testing.assert_allclose(o[[0, 3]], g, rtol=1e-6, atol=1e-6)
        assert not np.isfinite(o[1]).all() and not np.isfinite(o[2]).all()


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(C, 3, padding="same"), (7, 8, C)),          # odd output height
    (lambda: layers.Conv2D(C, 3, padding="valid"), (8, 8, C)),
    (lambda: layers.Conv2D(C, 3, padding="same", activation="softmax"), (8, 8, C)),
    (lambda: layers.Conv2D(C, 3, strides=2, padding="same"), (8, 8, C)),
    (lambda: layers.Conv2D(C, 3, dilation_rate=2, padding="same"), (8, 8, C)),
    (lambda: layers.Conv2D(C, 3, groups=2, padding="same"), (8, 8, C)),
    (lambda: layers.Conv2D(C // 2, 3, padding="same"), (8, 8, C)),     # few output channels
    (lambda: layers.Conv2D(C, (3, 1), padding="same"), (8, 8, C)),
    (lambda: layers.Conv2D(C, 3, padding="same"), (None, None, C)),   # unknown size
    (lambda: layers.Conv2D(C, 3, padding="same"), (2, 8, C)),          # small
])
def test_direct_convolution_elsewhere(make, shape):
    x = Input(shape)
    model = _randomize(Model(x, make()(x)))
    assert _uses_winograd(model) == 0
    size = [8 if d is None else d for d in shape]
    check_matches_numpy(model, np.random.default_rng(2).uniform(-1, 1, (2, *size))
                        .astype(np.float32))
