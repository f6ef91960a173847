"""Keras 3 spellings numkeras's layers accept: LeakyReLU(negative_slope=), data_format on
Resizing/CenterCrop. Expected values from first principles."""

import numpy as np
import pytest

from numkeras import backend, layers


@pytest.fixture(autouse=True)
def _fresh():
    backend.clear_session()


def test_leaky_relu_negative_slope_is_alpha():
    layer = layers.LeakyReLU(negative_slope=0.1)
    out = layer(np.array([-10.0, 2.0], np.float32))
    np.testing.assert_allclose(out, [-1.0, 2.0])
    assert layer.get_config()["alpha"] == pytest.approx(0.1)
    assert layers.LeakyReLU().get_config()["alpha"] == pytest.approx(0.3)


def test_center_crop_channels_first_crops_the_last_two_axes():
    x = np.arange(2 * 3 * 6 * 5, dtype=np.float32).reshape(2, 3, 6, 5)
    layer = layers.CenterCrop(2, 3, data_format="channels_first")
    np.testing.assert_array_equal(layer(x), x[:, :, 2:4, 1:4])
    assert layer.compute_output_shape((None, 3, 6, 5)) == (None, 3, 2, 3)
    assert layer.get_config()["data_format"] == "channels_first"
    assert "data_format" not in layers.CenterCrop(2, 3, data_format="channels_last").get_config()


def test_resizing_channels_first_matches_channels_last_transposed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 4, 4, 2)).astype(np.float32)
    last = layers.Resizing(8, 6)(x)
    first = layers.Resizing(8, 6, data_format="channels_first")(np.moveaxis(x, -1, 1))
    np.testing.assert_array_equal(np.moveaxis(first, 1, -1), last)
    with pytest.raises(ValueError, match="data_format"):
        layers.Resizing(2, 2, data_format="nchw")
