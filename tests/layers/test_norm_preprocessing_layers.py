"""GroupNormalization, UnitNormalization, preprocessing layers, Masking and Dot."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras import layers
from numkeras.engine.input_layer import Input
from numkeras.engine.keras_tensor import get_mask
from numkeras.models import Model


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_group_normalization_standardizes_each_group(rng):
    x = rng.normal(3.0, 2.0, (2, 5, 6)).astype("float32")
    out = layers.GroupNormalization(groups=3, epsilon=0.0)(x)
    groups = out.reshape(2, 5, 3, 2)
    np.testing.assert_allclose(groups.mean(axis=(1, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(groups.var(axis=(1, 3)), 1, atol=1e-4)
    ref = x.reshape(2, 5, 3, 2)
    ref = (ref - ref.mean(axis=(1, 3), keepdims=True)) / ref.std(axis=(1, 3), keepdims=True)
    np.testing.assert_allclose(out, ref.reshape(x.shape), rtol=1e-4, atol=1e-4)


def test_group_normalization_weights_and_errors(rng):
    layer = layers.GroupNormalization(groups=-1, axis=1)
    layer(rng.standard_normal((2, 4, 3, 3)).astype("float32"))
    assert layer.groups == 4
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("group_normalization/gamma:0", (4,)), ("group_normalization/beta:0", (4,))]
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=4)(np.zeros((1, 2, 6), "float32"))
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=8)(np.zeros((1, 2, 6), "float32"))


def test_unit_normalization(rng):
    x = rng.standard_normal((3, 4, 5)).astype("float32")
    out = layers.UnitNormalization(axis=[1, 2])(x)
    np.testing.assert_allclose(np.sqrt((out**2).sum(axis=(1, 2))), 1, rtol=1e-6)
    assert (layers.UnitNormalization()(np.zeros((1, 3), "float32")) == 0).all()


def test_rescaling_resizing_center_crop(rng):
    x = rng.uniform(0, 255, (2, 4, 6, 3)).astype("float32")
    np.testing.assert_allclose(layers.Rescaling(1 / 127.5, -1)(x), x / 127.5 - 1, atol=1e-6)
    nearest = layers.Resizing(8, 12, interpolation="nearest")(x)
    np.testing.assert_array_equal(nearest, x.repeat(2, axis=1).repeat(2, axis=2))
    assert layers.Resizing(3, 5)(x).shape == (2, 3, 5, 3)
    np.testing.assert_array_equal(layers.CenterCrop(2, 2)(x), x[:, 1:3, 2:4])
    assert layers.CenterCrop(6, 4)(x).shape == (2, 6, 4, 3)  # too small: resized up
    with pytest.raises(ValueError, match="interpolation"):
        layers.Resizing(2, 2, interpolation="sideways")


def test_normalization_adapt_weights_and_formula(rng):
    data = rng.normal(5.0, 2.0, (50, 3)).astype("float32")
    norm = layers.Normalization()
    norm.adapt(data, batch_size=7)
    assert [w.name for w in norm.weights] == ["mean:0", "variance:0", "count:0"]
    mean, var, count = norm.get_weights()
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(var, data.var(0), rtol=1e-4)
    assert count.dtype == np.int64 and count == 50
    np.testing.assert_allclose(norm(data), (data - data.mean(0)) / data.std(0), atol=1e-4)
    norm.set_weights([np.zeros(3, "float32"), np.full(3, 4.0, "float32"), np.int64(1)])
    np.testing.assert_allclose(norm(np.full((1, 3), 2.0)), [[1.0, 1.0, 1.0]])


def test_normalization_in_a_model_and_static(rng):
    inp = Input((3,))
    Model(inp, layers.Normalization(name="norm")(inp))
    norm = layers.Normalization(axis=None, mean=1.0, variance=4.0, invert=True)
    np.testing.assert_allclose(norm(np.array([[0.0, 1.0]])), [[1.0, 3.0]])
    assert norm.weights == []
    with pytest.raises(ValueError, match="static"):
        norm.adapt(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="mean"):
        layers.Normalization(mean=1.0)


def test_masking_output_and_mask():
    x = np.array([[[1.0, 0.0], [0.0, 0.0], [0.5, 0.5]]], "float32")
    out = layers.Masking()(x)
    assert get_mask(out).tolist() == [[True, False, True]]
    np.testing.assert_array_equal(out, x)
    x[0, 1] = 7.0
    out = layers.Masking(mask_value=7.0)(x)
    assert get_mask(out).tolist() == [[True, False, True]] and (out[0, 1] == 0).all()


def test_dot(rng):
    a = rng.standard_normal((2, 3, 4)).astype("float32")
    b = rng.standard_normal((2, 5, 4)).astype("float32")
    np.testing.assert_allclose(layers.Dot(axes=2)([a, b]), np.einsum("bik,bjk->bij", a, b),
                               rtol=1e-5)
    np.testing.assert_allclose(layers.Dot(axes=(1, 2))([b.transpose(0, 2, 1), b]),
                               np.einsum("bki,bjk->bij", b.transpose(0, 2, 1), b), rtol=1e-5)
    cos = layers.Dot(axes=1, normalize=True)([a[:, 0], a[:, 0]])
    np.testing.assert_allclose(cos, np.ones((2, 1)), rtol=1e-6)
    with pytest.raises(ValueError, match="axes"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="Incompatible"):
        layers.Dot(axes=1)([a, b])
