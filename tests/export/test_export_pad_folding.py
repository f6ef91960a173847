"""A ZeroPadding layer before a ``valid`` convolution (or a max pool of ReLU outputs) becomes
the convolution's own padding: no ONNX ``Pad`` node, same outputs as the NumPy engine."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy

from numkeras import Input, Model, layers
from numkeras.export import to_onnx


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.uniform(-1, 1, v.shape).astype(np.float32))
    return model


def _pads(model) -> int:
    return sum(n.op_type == "Pad" for n in to_onnx(model).graph.node)


def _x(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (2, *shape)).astype(np.float32)


CASES = {  # name: (build(x) -> y, Pad nodes left)
    "conv_stem": (lambda x: layers.Conv2D(4, 7, strides=2)(
        layers.ZeroPadding2D(((3, 2), (1, 3)))(x)), 0),
    "depthwise_stride2": (lambda x: layers.DepthwiseConv2D(3, strides=2)(
        layers.ZeroPadding2D(((0, 1), (0, 1)))(layers.Conv2D(4, 1)(x))), 0),
    "separable": (lambda x: layers.SeparableConv2D(4, 3)(layers.ZeroPadding2D(2)(x)), 1),
    "conv1d": (lambda x: layers.Conv1D(4, 3)(layers.ZeroPadding1D((2, 1))(
        layers.Reshape((90, 3))(x))), 0),
    "relu_max_pool": (lambda x: layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(
        layers.Activation("relu")(layers.Conv2D(4, 3)(x)))), 0),
    "relu6_layer_max_pool": (lambda x: layers.MaxPooling2D(3, strides=2)(
        layers.ZeroPadding2D(1)(layers.ReLU(6.0)(x))), 0),
    # kept: max of negative values, averages, 'same' convolutions, padding >= window
    "max_pool_of_signed": (lambda x: layers.MaxPooling2D(3, strides=2)(
        layers.ZeroPadding2D(1)(layers.Conv2D(4, 3)(x))), 1),
    "leaky_relu_max_pool": (lambda x: layers.MaxPooling2D(2)(layers.ZeroPadding2D(1)(
        layers.ReLU(negative_slope=0.1)(x))), 1),
    "average_pool": (lambda x: layers.AveragePooling2D(3, strides=2)(
        layers.ZeroPadding2D(1)(layers.Activation("relu")(x))), 1),
    "conv_same": (lambda x: layers.Conv2D(4, 3, padding="same")(layers.ZeroPadding2D(1)(x)), 1),
    "pool_padding_ge_window": (lambda x: layers.MaxPooling2D(2)(
        layers.ZeroPadding2D(2)(layers.Activation("relu")(x))), 1),
    "padded_value_also_read": (lambda x: layers.Concatenate()([
        layers.Conv2D(3, 3)(layers.Cropping2D(1)(p := layers.ZeroPadding2D(2)(x))),
        layers.Cropping2D(2)(p)]), 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_zero_padding_folding(case):
    build, pads_left = CASES[case]
    x = Input((10, 9, 3))
    model = _randomize(Model(x, build(x)))
    assert _pads(model) == pads_left
    check_matches_numpy(model, _x((10, 9, 3)) * 3)
