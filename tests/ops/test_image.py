"""numkeras.ops.image against tf.image.resize and Keras Resizing / UpSampling layers."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras.ops import image as I

from ._tf import assert_close, rand, to_cf, to_cl

SIZES = [
    ((5, 7), (10, 14)),
    ((8, 8), (3, 5)),
    ((7, 3), (7, 3)),
    ((4, 6), (9, 13)),
    ((1, 1), (3, 2)),
    ((11, 13), (4, 4)),
    ((6, 9), (17, 5)),
    ((32, 48), (31, 97)),
]


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("in_size,out_size", SIZES)
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_resize_matches_tf_image_resize(oracle, rng, method, in_size, out_size, fmt):
    x = rand(rng, 2, *in_size, 3, scale=5.0)
    ref = oracle(
        "ref", lambda: oracle.tf.image.resize(x, out_size, method=method, antialias=False), x
    )
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = I.resize(xin, out_size, method, fmt)
    ours = to_cl(ours) if fmt == "channels_first" else ours
    if method == "nearest":
        np.testing.assert_array_equal(ours, ref)
    assert_close(ours, ref)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
def test_resize_unbatched_and_dtypes(oracle, rng, method):
    x = (rng.random((6, 5, 2)) * 255).astype(np.uint8)
    ref = oracle("ref", lambda: oracle.tf.image.resize(x, (9, 4), method=method), x)
    ours = I.resize(x, (9, 4), method)
    assert ours.dtype == ref.dtype
    assert_close(ours, ref, dtype=ref.dtype)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("crop", [False, True])
@pytest.mark.parametrize(
    "in_size,out_size", [((9, 16), (5, 5)), ((13, 7), (4, 6)), ((8, 8), (3, 7))]
)
def test_keras_resizing_layer(oracle, rng, interpolation, crop, in_size, out_size):
    def resizing():
        layer = oracle.tf_keras.layers.Resizing(
            *out_size, interpolation=interpolation, crop_to_aspect_ratio=crop
        )
        return layer(x).numpy()

    x = rand(rng, 2, *in_size, 3)
    ours = I.resize(x, out_size, interpolation, crop_to_aspect_ratio=crop)
    assert_close(ours, oracle("ref", resizing, x))


@pytest.mark.parametrize(
    "layer,kwargs,shape",
    [
        ("UpSampling1D", dict(size=3), (2, 5, 3)),
        ("UpSampling2D", dict(size=(2, 3)), (2, 4, 5, 3)),
        ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 4, 5, 3)),
        ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear"), (2, 7, 3, 2)),
        ("UpSampling2D", dict(size=2, data_format="channels_first"), (2, 3, 4, 5)),
        (
            "UpSampling2D",
            dict(size=(2, 3), interpolation="bilinear", data_format="channels_first"),
            (2, 3, 4, 5),
        ),
        ("UpSampling3D", dict(size=(2, 1, 3)), (1, 3, 4, 2, 2)),
        ("UpSampling3D", dict(size=2, data_format="channels_first"), (1, 2, 3, 4, 2)),
    ],
)
def test_keras_upsampling_layers(oracle, rng, layer, kwargs, shape):
    x = rand(rng, *shape)
    ref = oracle("ref", lambda: getattr(oracle.tf_keras.layers, layer)(**kwargs)(x), x)
    ours = I.upsample(
        x,
        kwargs["size"],
        kwargs.get("data_format", "channels_last"),
        kwargs.get("interpolation", "nearest"),
    )
    assert_close(ours, ref)


def test_resize_rejects_unsupported():
    x = np.zeros((1, 4, 4, 1), np.float32)
    with pytest.raises(NotImplementedError):
        I.resize(x, (2, 2), "bicubic")
    with pytest.raises(NotImplementedError):
        I.upsample(x, 2, interpolation="area")
    with pytest.raises(ValueError):
        I.resize(np.zeros((4, 4), np.float32), (2, 2))
