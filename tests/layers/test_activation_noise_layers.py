"""Activation layers (formulas) and noise layers (training statistics, inference identity)."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras import layers
from numkeras.engine.keras_tensor import get_mask, with_mask


@pytest.fixture
def x():
    return np.linspace(-3, 3, 13, dtype="float32").reshape(1, 13)


def test_relu_family_formulas(x):
    np.testing.assert_allclose(layers.ReLU()(x), np.maximum(x, 0))
    np.testing.assert_allclose(layers.ReLU(max_value=1.0)(x), np.clip(x, 0, 1))
    out = layers.ReLU(negative_slope=0.1, threshold=0.5)(x)
    np.testing.assert_allclose(out, np.where(x > 0.5, x, 0.1 * (x - 0.5)), rtol=1e-6)
    np.testing.assert_allclose(layers.LeakyReLU()(x), np.where(x > 0, x, 0.3 * x), rtol=1e-6)
    np.testing.assert_allclose(layers.ELU(0.5)(x), np.where(x > 0, x, 0.5 * np.expm1(x)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layers.ThresholdedReLU(1.0)(x), np.where(x > 1, x, 0))
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-1)
    with pytest.raises(ValueError, match="theta"):
        layers.ThresholdedReLU(-1.0)


def test_softmax_and_mask(x):
    out = layers.Softmax()(x)
    np.testing.assert_allclose(out, np.exp(x) / np.exp(x).sum(), rtol=1e-6)
    mask = np.arange(13)[None] < 5
    masked = layers.Softmax()(x, mask=mask)
    np.testing.assert_allclose(masked[0, :5], np.exp(x[0, :5]) / np.exp(x[0, :5]).sum(),
                               rtol=1e-5)
    assert masked[0, 5:].max() < 1e-30


def test_prelu_weight_shape_and_formula():
    layer = layers.PReLU(alpha_initializer="ones", shared_axes=[1, 2])
    data = -np.ones((2, 4, 5, 3), "float32")
    layer(data)
    assert [(w.name, w.shape) for w in layer.weights] == [("p_re_lu/alpha:0", (1, 1, 3))]
    layer.set_weights([np.array([[[0.1, 0.2, 0.3]]], "float32")])
    np.testing.assert_allclose(layer(data)[0, 0, 0], [-0.1, -0.2, -0.3], rtol=1e-6)
    assert (layer(-data) == 1).all()


def test_activation_layers_pass_masks(x):
    mask = np.ones((1, 13), bool)
    for layer in (layers.ReLU(), layers.ELU(), layers.LeakyReLU(), layers.GaussianNoise(1.0)):
        assert get_mask(layer(with_mask(x, mask))) is not None


def test_noise_layers_are_identity_at_inference():
    data = np.random.default_rng(0).standard_normal((4, 6, 6, 3)).astype("float32")
    for layer in (layers.GaussianNoise(0.5), layers.GaussianDropout(0.5),
                  layers.AlphaDropout(0.5), layers.SpatialDropout2D(0.5)):
        np.testing.assert_array_equal(layer(data), data)
        np.testing.assert_array_equal(layer(data, training=False), data)


def test_gaussian_noise_and_dropout_statistics():
    ones = np.ones((200, 500), "float32")
    noisy = layers.GaussianNoise(0.5, seed=1)(ones, training=True)
    assert noisy.dtype == np.float32
    assert abs(noisy.mean() - 1) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    dropped = layers.GaussianDropout(0.2, seed=2)(ones, training=True)
    assert abs(dropped.mean() - 1) < 0.01 and abs(dropped.std() - np.sqrt(0.25)) < 0.01


def test_alpha_dropout_keeps_mean_and_variance():
    data = np.random.default_rng(3).standard_normal((400, 500)).astype("float32")
    out = layers.AlphaDropout(0.2, seed=4)(data, training=True)
    assert abs(out.mean()) < 0.02 and abs(out.var() - 1) < 0.03


@pytest.mark.parametrize("layer,shape,channel_axis", [
    (layers.SpatialDropout1D(0.4, seed=5), (64, 7, 50), 2),
    (layers.SpatialDropout2D(0.4, seed=5), (64, 5, 6, 50), 3),
    (layers.SpatialDropout2D(0.4, data_format="channels_first", seed=5), (64, 50, 5, 6), 1),
    (layers.SpatialDropout3D(0.4, seed=5), (32, 3, 4, 5, 50), 4),
])
def test_spatial_dropout_drops_whole_feature_maps(layer, shape, channel_axis):
    out = layer(np.ones(shape, "float32"), training=True)
    values = np.unique(out)
    assert len(values) == 2 and values[0] == 0
    np.testing.assert_allclose(values[1], 1 / 0.6, rtol=1e-6)
    maps = np.moveaxis(out, channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    assert (maps == maps[..., :1]).all()  # each (sample, channel) map is all kept or all zero
    assert abs((maps[..., 0] == 0).mean() - 0.4) < 0.05
    with pytest.raises(ValueError, match="ndim"):
        layer(np.ones(shape[:-1], "float32"), training=True)
