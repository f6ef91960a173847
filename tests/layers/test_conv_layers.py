"""Convolution layers: weights, shapes, first-principles outputs and bad-input errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from numkeras import layers
from numkeras.engine import base_layer
from numkeras.engine.input_layer import Input
from numkeras.models import Model


def naive_conv2d(x, kernel, stride=1, groups=1):
    """Direct 'valid' 2D convolution (cross-correlation), channels_last, by definition."""
    kh, kw, cg, filters = kernel.shape
    n, h, w, _ = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    fg = filters // groups
    out = np.zeros((n, oh, ow, filters))
    for b, i, j, f in itertools.product(range(n), range(oh), range(ow), range(filters)):
        g = f // fg
        patch = x[b, i * stride:i * stride + kh, j * stride:j * stride + kw, g * cg:(g + 1) * cg]
        out[b, i, j, f] = np.sum(patch * kernel[..., f])
    return out


def naive_conv2d_transpose(x, kernel, stride):
    """'valid' transposed convolution: every input pixel scatters ``kernel * value``."""
    kh, kw, filters, _ = kernel.shape
    n, h, w, _ = x.shape
    out = np.zeros((n, (h - 1) * stride + kh, (w - 1) * stride + kw, filters))
    for b, i, j in itertools.product(range(n), range(h), range(w)):
        out[b, i * stride:i * stride + kh, j * stride:j * stride + kw] += kernel @ x[b, i, j]
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_weight_names_and_shapes():
    x2, x1 = np.zeros((1, 6, 6, 3), "float32"), np.zeros((1, 6, 3), "float32")
    cases = [
        (layers.Conv2D(4, (3, 2)), x2, [("kernel", (3, 2, 3, 4)), ("bias", (4,))]),
        (layers.Conv1D(6, 3, groups=3), x1, [("kernel", (3, 1, 6)), ("bias", (6,))]),
        (layers.Conv2DTranspose(5, 3), x2, [("kernel", (3, 3, 5, 3)), ("bias", (5,))]),
        (layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False), x2,
         [("depthwise_kernel", (3, 3, 3, 2))]),
        (layers.SeparableConv1D(4, 3, depth_multiplier=2), x1,
         [("depthwise_kernel", (3, 3, 2)), ("pointwise_kernel", (1, 6, 4)), ("bias", (4,))]),
    ]
    for layer, x, expected in cases:
        layer(x)
        assert [(w.name.split("/")[-1][:-2], w.shape) for w in layer.weights] == expected


def test_conv1d_causal_and_same_by_hand():
    x = np.arange(5, dtype="float32").reshape(1, 5, 1)
    causal = layers.Conv1D(1, 2, padding="causal", dilation_rate=2, use_bias=False,
                           kernel_initializer="ones")
    # out[t] = x[t - 2] + x[t] with zeros before the start
    assert causal(x)[0, :, 0].tolist() == [0.0, 1.0, 2.0, 4.0, 6.0]
    same = layers.Conv1D(1, 3, padding="same", kernel_initializer="ones",
                         bias_initializer="ones")
    assert same(x)[0, :, 0].tolist() == [2.0, 4.0, 7.0, 10.0, 8.0]


@pytest.mark.parametrize("groups,stride", [(1, 1), (2, 2)])
def test_conv2d_equals_direct_definition(rng, groups, stride):
    x = rng.standard_normal((2, 7, 6, 4)).astype("float32")
    layer = layers.Conv2D(6, 3, strides=stride, groups=groups, use_bias=False)
    out = layer(x)
    np.testing.assert_allclose(out, naive_conv2d(x, layer.kernel.numpy(), stride, groups),
                               rtol=1e-5, atol=1e-5)


def test_channels_first_is_transposed_channels_last(rng):
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    last = layers.Conv2D(4, 3, padding="same", strides=2, activation="relu")
    first = layers.Conv2D(4, 3, padding="same", strides=2, activation="relu",
                          data_format="channels_first")
    y_last = last(x)
    first(np.moveaxis(x, -1, 1))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(np.moveaxis(x, -1, 1)), np.moveaxis(y_last, -1, 1),
                               rtol=1e-6, atol=1e-6)


def test_extra_batch_dimensions(rng):
    x = rng.standard_normal((2, 3, 5, 5, 2)).astype("float32")
    layer = layers.Conv2D(3, 3)
    out = layer(x)
    assert out.shape == (2, 3, 3, 3, 3)
    np.testing.assert_allclose(out[1, 2], layer(x[1, 2][None])[0], rtol=1e-6)


def test_conv2d_transpose_equals_scatter_definition(rng):
    x = rng.standard_normal((1, 3, 4, 2)).astype("float32")
    layer = layers.Conv2DTranspose(3, 3, strides=2, use_bias=False)
    out = layer(x)
    np.testing.assert_allclose(out, naive_conv2d_transpose(x, layer.kernel.numpy(), 2),
                               rtol=1e-5, atol=1e-5)


def test_depthwise_is_per_channel_conv(rng):
    x = rng.standard_normal((1, 6, 6, 2)).astype("float32")
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)
    out = layer(x)
    k = layer.depthwise_kernel.numpy()
    for c, m in itertools.product(range(2), range(2)):
        ref = naive_conv2d(x[..., c:c + 1], k[:, :, c:c + 1, m:m + 1])
        np.testing.assert_allclose(out[..., c * 2 + m], ref[..., 0], rtol=1e-5, atol=1e-5)


def test_separable_is_depthwise_then_pointwise(rng):
    x = rng.standard_normal((1, 6, 6, 2)).astype("float32")
    sep = layers.SeparableConv2D(3, 3, depth_multiplier=2, bias_initializer="ones")
    out = sep(x)
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)
    dw(x)
    dw.set_weights([sep.depthwise_kernel.numpy()])
    expected = dw(x) @ sep.pointwise_kernel.numpy()[0, 0] + 1.0
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make,argument", [
    (lambda: layers.Conv2D(2, 3, padding="causal"), "padding"),
    (lambda: layers.DepthwiseConv1D(3, padding="causal"), "padding"),
    (lambda: layers.Conv1D(2, 3, padding="full"), "padding"),
    (lambda: layers.Conv2D(2, 3, activation="nope"), "activation"),
    (lambda: layers.SeparableConv2D(2, 3, data_format="NHWC?"), "data_format"),
    (lambda: layers.Conv2D(2, 0), "kernel_size"),
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(3, 3, groups=2), "groups"),
    (lambda: layers.Conv2D(3, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.Conv2DTranspose(3, 3, strides=2, output_padding=2), "output padding"),
])
def test_bad_arguments_raise_at_construction(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_wrong_rank_at_call_names_layer_and_rank():
    layer = layers.Conv2D(2, 3, name="my_conv")
    with pytest.raises(ValueError, match=r"my_conv.*min_ndim=4"):
        layer(np.zeros((1, 5, 3), "float32"))
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"my_conv.*min_ndim=4"):
        layer(np.zeros((5, 5, 3), "float32"))
    dw = layers.DepthwiseConv2D(3, name="dw")
    with pytest.raises(ValueError, match=r"dw.*ndim=4"):
        dw(np.zeros((1, 5, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="channels"):
        layer(np.zeros((1, 5, 5, 4), "float32"))


def test_output_shape_too_small_input():
    with pytest.raises(ValueError, match="<= 0"):
        layers.Conv2D(2, 5)(np.zeros((1, 3, 3, 1), "float32"))


def test_symbolic_graph_uses_compute_output_shape(monkeypatch):
    def no_dummy(*args, **kwargs):
        raise AssertionError("compute_output_shape should be used, not a dummy forward pass")

    monkeypatch.setattr(base_layer.Layer, "_dummy_call", no_dummy)
    inp = Input((None, None, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = layers.DepthwiseConv2D(3, padding="same")(x)
    x = layers.SeparableConv2D(4, 3)(x)
    x = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(x)
    assert x.shape == (None, None, None, 2)
    inp = Input((32, 30, 3))
    y = layers.Conv2D(8, 3, strides=2, padding="same")(inp)
    y = layers.Conv2DTranspose(2, 3, strides=2, output_padding=1)(y)
    assert y.shape == (None, 34, 32, 2)
    model = Model(inp, y)
    assert model.predict(np.zeros((1, 32, 30, 3), "float32")).shape == (1, 34, 32, 2)


@pytest.mark.parametrize("cls,args", [
    (layers.Conv1D, (3, 2)), (layers.Conv3D, (3, 2)), (layers.Conv1DTranspose, (3, 2)),
    (layers.Conv3DTranspose, (3, 2)), (layers.DepthwiseConv1D, (3,)),
    (layers.SeparableConv1D, (3, 2)),
])
def test_config_round_trip(cls, args):
    layer = cls(*args, padding="same", use_bias=False, name="x")
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_aliases():
    assert layers.Convolution2D is layers.Conv2D
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.Convolution3DTranspose is layers.Conv3DTranspose
