"""Every lowered layer: ONNX Runtime gives the NumPy engine's outputs, the file passes the
full ONNX checker."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy, randomize

from numkeras import Input, Model, Sequential, layers

RNG = np.random.default_rng(0)


def _rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def _model(layer, shape):
    x = Input(shape)
    return Model(x, layer(x))


ACTIVATIONS = ["relu", "relu6", "elu", "selu", "gelu", "softplus", "softsign", "swish", "silu",
               "hard_sigmoid", "sigmoid", "tanh", "exponential", "softmax", "log_softmax",
               "mish", "leaky_relu", "linear"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations(name):
    model = _model(layers.Activation(name), (6, 5))
    check_matches_numpy(model, _rand(3, 6, 5, low=-6, high=6))


@pytest.mark.parametrize("layer", [
    lambda: layers.ReLU(), lambda: layers.ReLU(max_value=3.0),
    lambda: layers.ReLU(negative_slope=0.1, threshold=0.5),
    lambda: layers.ReLU(max_value=4.0, negative_slope=0.2, threshold=1.0),
    lambda: layers.LeakyReLU(0.3), lambda: layers.ELU(0.7), lambda: layers.ThresholdedReLU(0.4),
    lambda: layers.Softmax(axis=1), lambda: layers.Softmax(axis=[1, 2]),
    lambda: layers.PReLU(shared_axes=[1]),
], ids=["relu", "relu_max", "relu_slope_threshold", "relu_all", "leaky", "elu", "thresholded",
        "softmax_axis1", "softmax_axes", "prelu"])
def test_activation_layers(layer):
    model = randomize(_model(layer(), (4, 5)), RNG)
    check_matches_numpy(model, _rand(2, 4, 5, low=-6, high=6))


@pytest.mark.parametrize("activation", ["gelu", "swish", "softmax"])
def test_activation_after_conv_uses_channel_axis(activation):
    x = Input((6, 6, 3))
    y = layers.Conv2D(4, 3, activation=activation)(x)
    check_matches_numpy(randomize(Model(x, y), RNG), _rand(2, 6, 6, 3))


def test_dense_on_rank_3_and_images():
    x = Input((5, 7))
    y = layers.Dense(3, activation="tanh")(x)
    check_matches_numpy(randomize(Model(x, y), RNG), _rand(2, 5, 7))
    x = Input((4, 4, 2))
    y = layers.Dense(3)(layers.Conv2D(3, 1)(x))
    check_matches_numpy(randomize(Model(x, y), RNG), _rand(2, 4, 4, 2))


CONVS = {
    "conv1d": (lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (9, 3)),
    "conv1d_causal": (lambda: layers.Conv1D(4, 3, padding="causal", dilation_rate=2), (9, 3)),
    "conv1d_cf": (lambda: layers.Conv1D(4, 3, data_format="channels_first"), (3, 9)),
    "conv2d_valid": (lambda: layers.Conv2D(5, (3, 2), strides=(2, 1)), (9, 8, 3)),
    "conv2d_same": (lambda: layers.Conv2D(5, 3, strides=2, padding="same"), (9, 8, 3)),
    "conv2d_dilated": (lambda: layers.Conv2D(4, 3, dilation_rate=2, padding="same"), (9, 9, 2)),
    "conv2d_grouped": (lambda: layers.Conv2D(6, 3, groups=3, use_bias=False), (7, 7, 6)),
    "conv2d_cf": (lambda: layers.Conv2D(4, 3, data_format="channels_first"), (2, 7, 7)),
    "conv3d": (lambda: layers.Conv3D(3, 2, padding="same", strides=2), (5, 5, 5, 2)),
    "conv1d_transpose": (lambda: layers.Conv1DTranspose(3, 3, strides=2), (5, 2)),
    "conv2d_transpose_same": (lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
                              (5, 4, 2)),
    "conv2d_transpose_valid": (lambda: layers.Conv2DTranspose(3, (2, 3), strides=(3, 2)),
                               (4, 4, 2)),
    "conv2d_transpose_outpad": (lambda: layers.Conv2DTranspose(
        3, 3, strides=2, padding="same", output_padding=1), (4, 4, 2)),
    "conv2d_transpose_dilated": (lambda: layers.Conv2DTranspose(
        2, 3, dilation_rate=2, padding="same"), (5, 5, 2)),
    "conv3d_transpose": (lambda: layers.Conv3DTranspose(2, 2, strides=2), (3, 3, 3, 2)),
    "depthwise2d": (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                                                   strides=2), (7, 7, 3)),
    "depthwise1d": (lambda: layers.DepthwiseConv1D(3, depth_multiplier=2), (8, 3)),
    "separable2d": (lambda: layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same",
                                                   activation="relu"), (7, 7, 3)),
    "separable1d": (lambda: layers.SeparableConv1D(4, 3, dilation_rate=2), (9, 3)),
}


@pytest.mark.parametrize("case", sorted(CONVS))
def test_convolutions(case):
    make, shape = CONVS[case]
    model = randomize(_model(make(), shape), RNG)
    check_matches_numpy(model, _rand(2, *shape), rtol=1e-4, atol=1e-4)


POOLS = {
    "max2d_same": (lambda: layers.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 3)),
    "avg2d_same": (lambda: layers.AveragePooling2D(3, strides=2, padding="same"), (7, 6, 3)),
    "avg2d_valid": (lambda: layers.AveragePooling2D(2), (6, 6, 3)),
    "max1d": (lambda: layers.MaxPooling1D(2), (8, 3)),
    "avg1d_same": (lambda: layers.AveragePooling1D(3, strides=2, padding="same"), (8, 3)),
    "max3d": (lambda: layers.MaxPooling3D(2), (4, 4, 4, 2)),
    "avg3d": (lambda: layers.AveragePooling3D(2, padding="same"), (5, 4, 4, 2)),
    "gap2d": (lambda: layers.GlobalAveragePooling2D(), (5, 5, 3)),
    "gap2d_keepdims": (lambda: layers.GlobalAveragePooling2D(keepdims=True), (5, 5, 3)),
    "gmp2d": (lambda: layers.GlobalMaxPooling2D(), (5, 5, 3)),
    "gap1d": (lambda: layers.GlobalAveragePooling1D(), (5, 3)),
    "gmp1d_cf": (lambda: layers.GlobalMaxPooling1D(data_format="channels_first"), (5, 3)),
    "gap3d": (lambda: layers.GlobalAveragePooling3D(), (3, 3, 3, 2)),
    "zeropad2d": (lambda: layers.ZeroPadding2D(((1, 2), (0, 3))), (4, 4, 2)),
    "zeropad1d": (lambda: layers.ZeroPadding1D(2), (4, 2)),
    "zeropad3d": (lambda: layers.ZeroPadding3D(1), (2, 2, 2, 2)),
    "crop2d": (lambda: layers.Cropping2D(((1, 0), (1, 2))), (5, 5, 2)),
    "crop1d": (lambda: layers.Cropping1D((1, 1)), (5, 2)),
    "crop3d": (lambda: layers.Cropping3D(1), (4, 4, 4, 2)),
    "upsample2d": (lambda: layers.UpSampling2D((2, 3)), (3, 3, 2)),
    "upsample2d_bilinear": (lambda: layers.UpSampling2D(2, interpolation="bilinear"), (3, 4, 2)),
    "upsample1d": (lambda: layers.UpSampling1D(3), (3, 2)),
    "upsample3d": (lambda: layers.UpSampling3D(2), (2, 2, 2, 2)),
}


@pytest.mark.parametrize("case", sorted(POOLS))
def test_pooling_padding_cropping_upsampling(case):
    make, shape = POOLS[case]
    check_matches_numpy(_model(make(), shape), _rand(2, *shape))


@pytest.mark.parametrize("case", ["zeropad2d", "crop2d", "upsample2d", "max2d_same"])
def test_spatial_layers_on_channels_first_values(case):
    """After a Conv2D the value is held channels first: axes must still be Keras's."""
    make, shape = POOLS[case]
    x = Input(shape)
    model = randomize(Model(x, make()(layers.Conv2D(shape[-1], 1)(x))), RNG)
    check_matches_numpy(model, _rand(2, *shape))


@pytest.mark.parametrize("make", [
    lambda: layers.BatchNormalization(), lambda: layers.BatchNormalization(axis=1),
    lambda: layers.BatchNormalization(axis=[1, 3], center=False),
    lambda: layers.LayerNormalization(), lambda: layers.LayerNormalization(axis=[1, 2]),
    lambda: layers.LayerNormalization(scale=False, epsilon=1e-5),
    lambda: layers.GroupNormalization(groups=2), lambda: layers.GroupNormalization(groups=-1),
    lambda: layers.UnitNormalization(), lambda: layers.UnitNormalization(axis=[1, 2]),
], ids=["bn", "bn_axis1", "bn_two_axes", "ln", "ln_two_axes", "ln_noscale", "gn", "gn_each",
        "unit", "unit_two_axes"])
def test_normalizations(make):
    model = randomize(_model(make(), (3, 4, 6)), RNG)
    check_matches_numpy(model, _rand(2, 3, 4, 6), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make", [lambda: layers.BatchNormalization(),
                                  lambda: layers.LayerNormalization(),
                                  lambda: layers.GroupNormalization(groups=3)])
def test_normalizations_after_conv(make):
    x = Input((5, 5, 3))
    model = randomize(Model(x, make()(layers.Conv2D(6, 3)(x))), RNG)
    check_matches_numpy(model, _rand(2, 5, 5, 3), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                   "Minimum", "Concatenate"])
def test_merging(merge):
    a, b = Input((3, 3, 2)), Input((3, 3, 2))
    conv = layers.Conv2D(2, 1)(a)  # one channels-first input, one in Keras's layout
    y = getattr(layers, merge)()([conv, b])
    model = randomize(Model([a, b], y), RNG)
    check_matches_numpy(model, [_rand(2, 3, 3, 2), _rand(2, 3, 3, 2)])


def test_concatenate_channels_first_values_on_any_axis():
    a = Input((3, 3, 2))
    c1, c2 = layers.Conv2D(2, 1)(a), layers.Conv2D(3, 1)(a)
    y = layers.Concatenate(axis=-1)([c1, c2])
    z = layers.Concatenate(axis=1)([layers.Conv2D(2, 1)(a), layers.Conv2D(2, 1)(a)])
    model = randomize(Model(a, [y, z]), RNG)
    check_matches_numpy(model, _rand(2, 3, 3, 2))


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Flatten(), (3, 4, 2)),
    (lambda: layers.Flatten(data_format="channels_first"), (3, 4, 2)),
    (lambda: layers.Reshape((4, 6)), (3, 4, 2)),
    (lambda: layers.Reshape((-1, 2)), (3, 4, 2)),
    (lambda: layers.Permute((3, 1, 2)), (3, 4, 2)),
    (lambda: layers.RepeatVector(3), (5,)),
    (lambda: layers.Rescaling(1 / 127.5, offset=-1), (3, 4, 2)),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.25]), (3, 4, 2)),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0], invert=True), (3, 4, 2)),
    (lambda: layers.Dropout(0.5), (3, 4, 2)),
    (lambda: layers.SpatialDropout2D(0.5), (3, 4, 2)),
    (lambda: layers.GaussianNoise(1.0), (3, 4, 2)),
], ids=["flatten", "flatten_cf", "reshape", "reshape_minus1", "permute", "repeat", "rescaling",
        "normalization", "normalization_invert", "dropout", "spatial_dropout", "noise"])
def test_shape_and_preprocessing_layers(make, shape):
    x = Input(shape)
    y = make()(layers.Conv2D(shape[-1], 1)(x) if len(shape) == 3 else x)
    check_matches_numpy(randomize(Model(x, y), RNG), _rand(2, *shape))


def test_squeeze_excite_reshape_keeps_channels_first():
    x = Input((4, 4, 3))
    h = layers.Conv2D(6, 1)(x)
    se = layers.Reshape((1, 1, 6))(layers.GlobalAveragePooling2D()(h))
    y = layers.Multiply()([h, layers.Conv2D(6, 1, activation="sigmoid")(se)])
    check_matches_numpy(randomize(Model(x, y), RNG), _rand(2, 4, 4, 3))


def test_embedding_and_int_inputs():
    x = Input((5,), dtype="int32")
    model = randomize(Model(x, layers.Embedding(10, 4)(x)), RNG)
    check_matches_numpy(model, RNG.integers(0, 10, (3, 5)).astype(np.int32))


def test_nested_models_and_sequential():
    inner = Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)])
    x = Input((3,))
    sub_in = Input((2,))
    sub = Model(sub_in, layers.Dense(2, activation="sigmoid")(sub_in), name="sub")
    y = sub(inner(x))
    model = randomize(Model(x, [y, inner(x)]), RNG)
    check_matches_numpy(model, _rand(4, 3))
    check_matches_numpy(randomize(inner, RNG), _rand(4, 3))
