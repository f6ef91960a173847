"""Pooling and reshaping layers: values from first principles, shapes and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras import layers
from numkeras.engine.keras_tensor import with_mask


def test_max_and_average_pooling_by_hand():
    x = np.array([1, 5, 2, 4, 3], "float32").reshape(1, 5, 1)
    assert layers.MaxPooling1D(2, padding="same")(x)[0, :, 0].tolist() == [5.0, 4.0, 3.0]
    # 'same' pads at the end and leaves the pad out of the mean: (3 + ...)/1 for the last
    assert layers.AveragePooling1D(2, padding="same")(x)[0, :, 0].tolist() == [3.0, 3.0, 3.0]
    img = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    assert layers.MaxPooling2D()(img)[0, :, :, 0].tolist() == [[5.0, 7.0], [13.0, 15.0]]
    assert layers.AveragePooling2D()(img)[0, :, :, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_global_pooling_and_mask():
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(x), x.max(axis=1))
    np.testing.assert_allclose(layers.GlobalAveragePooling1D(keepdims=True)(x),
                               x.mean(axis=1, keepdims=True))
    mask = np.array([[True, True, False], [True, False, False]])
    out = layers.GlobalAveragePooling1D()(with_mask(x, mask))
    np.testing.assert_allclose(out, [x[0, :2].mean(0), x[1, 0]])
    cf = layers.GlobalAveragePooling2D(data_format="channels_first")
    np.testing.assert_allclose(cf(np.ones((2, 3, 4, 5), "float32")), np.ones((2, 3)))


def test_pooling_bad_input():
    with pytest.raises(ValueError, match="padding"):
        layers.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match="data_format"):
        layers.AveragePooling3D(data_format="channels_middle")
    with pytest.raises(ValueError, match=r"max_pooling2d.*ndim=4"):
        layers.MaxPooling2D()(np.zeros((1, 4, 4), "float32"))
    with pytest.raises(ValueError, match=r"global_average_pooling3d.*ndim=5"):
        layers.GlobalAveragePooling3D()(np.zeros((1, 4, 4, 2), "float32"))


def test_permute_and_repeat_vector():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Permute((2, 1))(x), x.transpose(0, 2, 1))
    out = layers.RepeatVector(3)(x[:, 0])
    assert out.shape == (2, 3, 4) and (out == x[:, :1]).all()
    with pytest.raises(ValueError, match="dims"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"repeat_vector.*ndim=2"):
        layers.RepeatVector(2)(x)


def test_cropping_and_padding_are_inverse():
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype("float32")
    padded = layers.ZeroPadding2D(((1, 2), (0, 3)))(x)
    assert padded.shape == (2, 7, 8, 3)
    assert padded[:, 0].sum() == 0 and padded[:, :, -3:].sum() == 0
    np.testing.assert_array_equal(layers.Cropping2D(((1, 2), (0, 3)))(padded), x)
    cf = layers.ZeroPadding3D(1, data_format="channels_first")(np.ones((1, 2, 2, 2, 2)))
    assert cf.shape == (1, 2, 4, 4, 4) and cf.sum() == 16
    seq = np.arange(6, dtype="float32").reshape(1, 6, 1)
    assert layers.Cropping1D((1, 2))(seq)[0, :, 0].tolist() == [1.0, 2.0, 3.0]
    assert layers.ZeroPadding1D(1)(seq).shape == (1, 8, 1)
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping1D((3, 3))(seq)
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D(((1, 2, 3), (0, 0)))


def test_upsampling():
    x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    out = layers.UpSampling2D((2, 3))(x)[0, :, :, 0]
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x[0, :, :, 0], 2, 0), 3, 1))
    assert layers.UpSampling1D(3)(np.ones((2, 4, 3))).shape == (2, 12, 3)
    assert layers.UpSampling3D(data_format="channels_first")(np.ones((1, 2, 1, 2, 3))).shape \
        == (1, 2, 2, 4, 6)
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="cubicle")


@pytest.mark.parametrize("layer,shape", [
    (layers.MaxPooling2D(3, 2, "same"), (None, None, 7, 3)),
    (layers.GlobalMaxPooling3D(keepdims=True), (None, 4, 5, 6, 2)),
    (layers.Permute((3, 1, 2)), (None, 2, 3, 4)),
    (layers.Cropping3D(1), (None, 5, None, 6, 2)),
    (layers.UpSampling2D(2, "channels_first"), (None, 2, None, 3)),
])
def test_compute_output_shape_matches_call(layer, shape):
    predicted = layer.compute_output_shape(shape)
    concrete = tuple(4 if d is None else d for d in shape)
    actual = layer(np.zeros(concrete, "float32")).shape
    assert len(predicted) == len(actual)
    assert all(p is None or p == a for p, a in zip(predicted, actual))
