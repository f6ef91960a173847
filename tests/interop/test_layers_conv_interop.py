"""Non-recurrent layers vs real tf-keras 2.21: weight names/order/shapes, configs, output shapes
and forward outputs (tf-keras weights copied into numkeras) on a grid of key options."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, random_weights, tf_keras

from numkeras import layers
from numkeras.engine.keras_tensor import get_mask

CF = {"data_format": "channels_first"}

# (layer class name, constructor kwargs, input shape(s))
CASES = [
    # -- convolutions --
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 9, 3)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (2, 9, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "padding": "same", **CF}, (2, 3, 7)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "relu",
                "use_bias": False}, (2, 9, 4)),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 8, 7, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": (3, 2), "padding": "same", "strides": (2, 1)},
     (2, 8, 7, 3)),
    ("Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same", "dilation_rate": 2},
     (2, 8, 7, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, **CF}, (2, 3, 8, 7)),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 3, "padding": "same"}, (2, 6, 5, 6)),
    ("Conv2D", {"filters": 5, "kernel_size": 1, "activation": "relu6"}, (2, 6, 5, 3)),
    ("Conv2D", {"filters": 5, "kernel_size": 1, "strides": 2, **CF}, (2, 3, 6, 5)),
    ("Conv3D", {"filters": 2, "kernel_size": 3}, (2, 5, 6, 4, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "padding": "same", "strides": 2, **CF},
     (2, 2, 5, 6, 4)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3}, (2, 6, 4)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "padding": "same", "strides": 2},
     (2, 6, 4)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 3, "output_padding": 1,
                         **CF}, (2, 4, 6)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3}, (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": (3, 2), "padding": "same",
                         "strides": 2}, (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1},
     (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2}, (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "padding": "same", "strides": 2,
                         **CF}, (2, 2, 5, 4)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2}, (2, 3, 4, 3, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "padding": "same", "strides": 2},
     (2, 3, 4, 3, 2)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2}, (2, 9, 3)),
    ("DepthwiseConv1D", {"kernel_size": 3, "padding": "same", "strides": 2, **CF}, (2, 3, 9)),
    ("DepthwiseConv2D", {"kernel_size": 3}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "padding": "same", "strides": 2,
                         "depth_multiplier": 2}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "dilation_rate": 2, "activation": "relu6"},
     (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "padding": "same", **CF}, (2, 3, 7, 6)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"}, (2, 9, 3)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2,
                         "depth_multiplier": 2, **CF}, (2, 3, 9)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (2, 7, 6, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2,
                         "depth_multiplier": 2}, (2, 7, 6, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (2, 7, 6, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "padding": "same", **CF},
     (2, 3, 7, 6)),
    # -- pooling --
    ("MaxPooling1D", {}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same", **CF}, (2, 3, 9)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 3)),
    ("AveragePooling2D", {}, (2, 7, 8, 3)),
    ("AveragePooling2D", {"pool_size": (3, 2), "padding": "same", **CF}, (2, 3, 7, 8)),
    ("MaxPooling3D", {"pool_size": 2, "padding": "same", **CF}, (2, 2, 5, 4, 3)),
    ("AveragePooling3D", {"pool_size": (2, 3, 2), "strides": 1}, (2, 5, 4, 3, 2)),
    ("GlobalAveragePooling1D", {}, (2, 9, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True, **CF}, (2, 3, 9)),
    ("GlobalMaxPooling1D", {}, (2, 9, 3)),
    ("GlobalAveragePooling2D", {}, (2, 5, 4, 3)),
    ("GlobalMaxPooling2D", {"keepdims": True, **CF}, (2, 3, 5, 4)),
    ("GlobalAveragePooling3D", {**CF}, (2, 3, 5, 4, 2)),
    ("GlobalMaxPooling3D", {"keepdims": True}, (2, 5, 4, 2, 3)),
    # -- reshaping --
    ("Permute", {"dims": (2, 1)}, (2, 4, 3)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 4, 3, 5)),
    ("RepeatVector", {"n": 3}, (2, 5)),
    ("Cropping1D", {"cropping": (1, 2)}, (2, 7, 3)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 6, 7, 3)),
    ("Cropping2D", {"cropping": 1, **CF}, (2, 3, 6, 7)),
    ("Cropping3D", {"cropping": ((1, 0), (0, 1), (1, 1))}, (2, 4, 5, 6, 2)),
    ("ZeroPadding1D", {"padding": (1, 2)}, (2, 5, 3)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 1))}, (2, 4, 5, 3)),
    ("ZeroPadding2D", {"padding": 2, **CF}, (2, 3, 4, 5)),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}, (2, 3, 4, 2, 2)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {"size": (2, 3)}, (2, 4, 5, 3)),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 4, 5, 3)),
    ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear", **CF}, (2, 3, 4, 5)),
    ("UpSampling3D", {"size": (1, 2, 3), **CF}, (2, 2, 3, 4, 2)),
    # -- activations --
    ("ReLU", {}, (2, 5, 4)),
    ("ReLU", {"max_value": 6.0}, (2, 5, 4)),
    ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}, (2, 5, 4)),
    ("LeakyReLU", {}, (2, 5, 4)),
    ("LeakyReLU", {"alpha": 0.1}, (2, 5, 4)),
    ("ELU", {}, (2, 5, 4)),
    ("ELU", {"alpha": 0.5}, (2, 5, 4)),
    ("Softmax", {}, (2, 5, 4)),
    ("Softmax", {"axis": 1}, (2, 5, 4)),
    ("Softmax", {"axis": [1, 2]}, (2, 5, 4)),
    ("ThresholdedReLU", {"theta": 0.5}, (2, 5, 4)),
    ("PReLU", {}, (2, 5, 4)),
    ("PReLU", {"shared_axes": [1, 2]}, (2, 5, 4, 3)),
    # -- noise (inference: identity) --
    ("GaussianNoise", {"stddev": 0.3}, (2, 5, 4)),
    ("GaussianDropout", {"rate": 0.3}, (2, 5, 4)),
    ("AlphaDropout", {"rate": 0.2}, (2, 5, 4)),
    ("SpatialDropout1D", {"rate": 0.3}, (2, 5, 4)),
    ("SpatialDropout2D", {"rate": 0.3, **CF}, (2, 3, 5, 4)),
    ("SpatialDropout3D", {"rate": 0.3}, (2, 3, 5, 4, 2)),
    # -- normalization --
    ("BatchNormalization", {}, (2, 5, 4, 3)),
    ("BatchNormalization", {"axis": 1}, (2, 3, 5, 4)),
    ("BatchNormalization", {"center": False, "epsilon": 1e-5}, (2, 5, 4)),
    ("BatchNormalization", {"scale": False}, (2, 3, 4, 2, 5)),
    ("GroupNormalization", {"groups": 2}, (2, 5, 4)),
    ("GroupNormalization", {"groups": -1, "epsilon": 1e-5}, (2, 5, 3, 4)),
    ("GroupNormalization", {"groups": 3, "axis": 1, "center": False}, (2, 6, 4, 3)),
    ("GroupNormalization", {"groups": 2, "scale": False}, (2, 3, 4, 5, 4)),
    ("UnitNormalization", {}, (2, 5, 4)),
    ("UnitNormalization", {"axis": [1, 2]}, (2, 5, 4)),
    # -- preprocessing --
    ("Rescaling", {"scale": 1 / 255.0, "offset": -1.0}, (2, 4, 5, 3)),
    ("Resizing", {"height": 5, "width": 7}, (2, 4, 9, 3)),
    ("Resizing", {"height": 6, "width": 3, "interpolation": "nearest"}, (2, 4, 9, 3)),
    ("Resizing", {"height": 5, "width": 5, "crop_to_aspect_ratio": True}, (2, 4, 9, 3)),
    ("CenterCrop", {"height": 3, "width": 4}, (2, 6, 9, 3)),
    ("CenterCrop", {"height": 5, "width": 4}, (2, 3, 8, 3)),
    ("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [4.0, 1.0, 0.25]}, (2, 5, 3)),
    ("Normalization", {"axis": None, "mean": 2.0, "variance": 9.0, "invert": True}, (2, 5, 3)),
    # -- masking, Dot --
    ("Masking", {"mask_value": 0.0}, (2, 5, 3)),
    ("Dot", {"axes": 1}, [(2, 5), (2, 5)]),
    ("Dot", {"axes": (2, 2)}, [(2, 3, 4), (2, 5, 4)]),
    ("Dot", {"axes": (1, 2), "normalize": True}, [(2, 4, 3), (2, 5, 4)]),
]


def _ids(case):
    name, kwargs, _ = case
    opts = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}({opts})".replace(" ", "")


def _plain(value):
    """Config values as plain Python: tuples as lists, NumPy scalars/arrays as lists/floats."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return _plain(value.tolist())
    return value


def _inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    if isinstance(shape, list):
        return [rng.standard_normal(s).astype("float32") for s in shape]
    x = rng.standard_normal(shape).astype("float32")
    if len(shape) == 3:  # some all-zero timesteps, for Masking
        x[0, 1] = 0.0
        x[1, -1] = 0.0
    return x


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_layer_matches_tf_keras(case):
    name, kwargs, shape = case
    tfk = tf_keras()
    theirs = getattr(tfk.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    x = _inputs(shape)

    theirs(x)  # builds
    ours(x)
    assert [w.name.split("/", 1)[-1] for w in ours.weights] == \
        [w.name.split("/", 1)[-1] for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.trainable_weights] == [w.name for w in theirs.trainable_weights]

    if theirs.weights:
        theirs.set_weights(random_weights(theirs, seed=1))
        ours.set_weights(theirs.get_weights())
    expected = theirs(x)
    got = ours(x)
    assert_close_outputs(got, np.asarray(expected))
    assert _plain(ours.get_config()) == _plain(theirs.get_config())

    batch_free = [(None,) + tuple(s[1:]) for s in shape] if isinstance(shape, list) \
        else (None,) + tuple(shape[1:])
    want = theirs.compute_output_shape(batch_free)
    want = tuple(want.as_list()) if hasattr(want, "as_list") else tuple(want)
    assert tuple(ours.compute_output_shape(batch_free)) == want
    assert tuple(ours.compute_output_shape(shape)) == np.shape(got)


@pytest.mark.parametrize("layer_name", ["Conv2D", "DepthwiseConv2D", "SeparableConv2D",
                                        "Conv2DTranspose"])
def test_bad_padding_matches_tf_keras(layer_name):
    tfk = tf_keras()
    args = () if layer_name.startswith("Depthwise") else (2,)
    with pytest.raises(ValueError):
        getattr(tfk.layers, layer_name)(*args, 3, padding="causal")
    with pytest.raises(ValueError, match="padding"):
        getattr(layers, layer_name)(*args, 3, padding="causal")


def test_masked_layers_match_tf_keras():
    tfk = tf_keras()
    x = _inputs((3, 6, 4))
    x[2, 2:] = 0.0
    ours = layers.Masking()(x)
    theirs = tfk.layers.Masking()(x)
    np.testing.assert_array_equal(get_mask(ours), theirs._keras_mask.numpy())
    mask = theirs._keras_mask
    for ours_layer, their_layer in [
        (layers.GlobalAveragePooling1D(), tfk.layers.GlobalAveragePooling1D()),
        (layers.Softmax(axis=1), tfk.layers.Softmax(axis=1)),
    ]:
        m = mask if isinstance(ours_layer, layers.GlobalAveragePooling1D) else mask[..., None]
        assert_close_outputs(ours_layer(x, mask=np.asarray(m)), their_layer(x, mask=m).numpy())
    # the mask flows from Masking into the pooling layer automatically
    assert_close_outputs(layers.GlobalAveragePooling1D()(ours),
                         tfk.layers.GlobalAveragePooling1D()(theirs).numpy())


def test_normalization_adapt_matches_tf_keras():
    tfk = tf_keras()
    data = np.random.default_rng(3).normal(2.0, 3.0, (100, 4, 3)).astype("float32")
    for kwargs in ({}, {"axis": (1, 2)}, {"axis": None}):
        theirs = tfk.layers.Normalization(**kwargs)
        ours = layers.Normalization(**kwargs)
        theirs.adapt(data, batch_size=16)
        ours.adapt(data, batch_size=16)
        assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5)
        assert _plain(ours.get_config()) == _plain(theirs.get_config())
        assert_close_outputs(ours(data[:5]), theirs(data[:5]).numpy())


def _small_cnn(lib):
    L = lib.layers
    inp = L.Input((16, 15, 3))
    x = L.Rescaling(1 / 2.0)(inp)
    x = L.ZeroPadding2D(1)(x)
    x = L.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.GroupNormalization(groups=4)(x)
    x = L.PReLU(shared_axes=[1, 2])(x)
    y = L.SeparableConv2D(8, 3, padding="same", depth_multiplier=2)(x)
    x = L.Add()([x, y])
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.UpSampling2D(interpolation="bilinear")(x)
    x = L.Cropping2D(((1, 0), (0, 1)))(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(3, activation="softmax")(x)
    return lib.Model(inp, out)


def test_small_cnn_model_matches_tf_keras(tmp_path):
    import numkeras

    tfk = tf_keras()
    theirs, ours = _small_cnn(tfk), _small_cnn(numkeras)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    theirs.set_weights(random_weights(theirs, seed=2))
    theirs.save_weights(tmp_path / "cnn.h5")
    ours.load_weights(tmp_path / "cnn.h5")
    x = np.random.default_rng(4).uniform(0, 2, (4, 16, 15, 3)).astype("float32")
    assert_close_outputs(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
