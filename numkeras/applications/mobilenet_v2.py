"""MobileNetV2 (Sandler et al., 2018), layer for layer as ``tf_keras.applications.MobileNetV2``.

>>> from numkeras import backend
>>> from numkeras.applications import MobileNetV2
>>> backend.clear_session()
>>> model = MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)
>>> model.name, len(model.layers), model.layers[-1].name
('mobilenetv2_0.35_96', 156, 'predictions')
"""

from __future__ import annotations

from numkeras import layers
from numkeras.applications import imagenet_utils as utils

_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"

# (filters, stride, expansion) of the 17 inverted residual blocks.
_BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]


def _make_divisible(v, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _bn(name):
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _inverted_res_block(inputs, filters, stride, expansion, alpha, block_id):
    in_channels = inputs.shape[-1]
    out_channels = _make_divisible(int(filters * alpha), 8)
    x = inputs
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False,
                          name=prefix + "expand")(x)
        x = _bn(prefix + "expand_BN")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(utils.correct_pad(x, 3), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=prefix + "depthwise")(x)
    x = _bn(prefix + "depthwise_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False,
                      name=prefix + "project")(x)
    x = _bn(prefix + "project_BN")(x)
    if in_channels == out_channels and stride == 1:
        x = layers.Add(name=prefix + "add")([inputs, x])
    return x


def _default_size(input_shape, input_tensor) -> int:
    shape = input_shape
    if shape is None and input_tensor is not None:
        shape = tuple(input_tensor.shape[1:])
    if shape is not None and len(shape) == 3:
        rows, cols = shape[0], shape[1]
        if rows == cols and rows in (96, 128, 160, 192, 224):
            return rows
    return 224


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights=None, input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax", **kwargs):
    """MobileNetV2 with width multiplier ``alpha``; named ``mobilenetv2_<alpha>_<rows>``.

    ``weights``: ``None`` or the path of a local weights file (``'imagenet'`` raises: numkeras
    never downloads). Inputs are expected in [-1, 1] (``preprocess_input``).
    """
    utils.check_unknown_kwargs(kwargs)
    default_size = _default_size(input_shape, input_tensor)
    input_shape = utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                           require_flatten=include_top, weights=weights)
    rows = input_shape[0]
    size = rows if rows in (96, 128, 160, 192, 224) and rows == input_shape[1] else 224
    file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}"
                 f"{'' if include_top else '_no_top'}.h5")
    weights_path = utils.check_weights(weights, file_name, _URL + file_name)
    img_input = utils.image_input(input_tensor, input_shape)

    x = layers.Conv2D(_make_divisible(32 * alpha, 8), 3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(img_input)
    x = _bn("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, filters, stride, expansion, alpha, block_id)
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = utils.classifier_top(x, include_top, pooling, classes, classifier_activation, weights)
    return utils.finish(input_tensor, img_input, x, f"mobilenetv2_{alpha:0.2f}_{rows}",
                        weights_path)


decode_predictions = utils.decode_predictions


def preprocess_input(x, data_format=None):
    """Scale pixels (0..255) to [-1, 1]."""
    return utils.preprocess_input(x, data_format=data_format, mode="tf")


__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]
