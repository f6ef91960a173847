"""EfficientNetB0..B7 (Tan & Le, 2019) as ``tf_keras.applications.efficientnet``.

The model rescales its inputs itself (``Rescaling(1/255)`` and a ``Normalization`` layer
whose mean/variance are weights), so it takes pixels in 0..255. As in tf-keras with a weights
path (not ``'imagenet'``), no extra ``1/sqrt(stddev)`` multiply follows the normalization.

>>> from numkeras import backend
>>> from numkeras.applications import EfficientNetB0
>>> backend.clear_session()
>>> model = EfficientNetB0(include_top=False, weights=None, input_shape=(32, 32, 3))
>>> model.name, len(model.layers), [layer.name for layer in model.layers][1:4]
('efficientnetb0', 237, ['rescaling', 'normalization', 'stem_conv_pad'])
"""

from __future__ import annotations

import math

from numkeras import layers
from numkeras.applications import imagenet_utils as utils

_URL = "https://storage.googleapis.com/keras-applications/"

# (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides); every block has
# se_ratio 0.25 and an identity skip when its shape allows.
_BLOCKS = [(3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
           (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2),
           (3, 1, 192, 320, 6, 1)]
_SE_RATIO = 0.25

_CONV_INIT = {"class_name": "VarianceScaling",
              "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
_DENSE_INIT = {"class_name": "VarianceScaling",
               "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}


def _conv(filters, kernel, name, **kwargs):
    return layers.Conv2D(filters, kernel, kernel_initializer=_CONV_INIT, name=name, **kwargs)


def _block(inputs, activation, drop_rate, name, filters_in, filters_out, kernel_size, strides,
           expand_ratio):
    """Mobile inverted bottleneck with squeeze-and-excitation."""
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = _conv(filters, 1, name + "expand_conv", padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(axis=3, name=name + "expand_bn")(x)
        x = layers.Activation(activation, name=name + "expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(utils.correct_pad(x, kernel_size), name=name + "dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                               padding="valid" if strides == 2 else "same", use_bias=False,
                               depthwise_initializer=_CONV_INIT, name=name + "dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=name + "bn")(x)
    x = layers.Activation(activation, name=name + "activation")(x)

    se = layers.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=name + "se_reshape")(se)
    se = _conv(max(1, int(filters_in * _SE_RATIO)), 1, name + "se_reduce", padding="same",
               activation=activation)(se)
    se = _conv(filters, 1, name + "se_expand", padding="same", activation="sigmoid")(se)
    x = layers.Multiply(name=name + "se_excite")([x, se])

    x = _conv(filters_out, 1, name + "project_conv", padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(axis=3, name=name + "project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = layers.Add(name=name + "add")([x, inputs])
    return x


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                 drop_connect_rate=0.2, depth_divisor=8, activation="swish",
                 model_name="efficientnet", include_top=True, weights=None, input_tensor=None,
                 input_shape=None, pooling=None, classes=1000, classifier_activation="softmax"):
    """An EfficientNet scaled by ``width_coefficient`` (filters) and ``depth_coefficient``."""
    suffix = ".h5" if include_top else "_notop.h5"
    weights_path = utils.check_weights(weights, model_name + suffix, _URL + model_name + suffix)
    input_shape = utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                           require_flatten=include_top, weights=weights)
    img_input = utils.image_input(input_tensor, input_shape)

    def round_filters(filters):
        filters *= width_coefficient
        new = max(depth_divisor, int(filters + depth_divisor / 2) // depth_divisor
                  * depth_divisor)
        return int(new + depth_divisor if new < 0.9 * filters else new)

    def round_repeats(repeats):
        return int(math.ceil(depth_coefficient * repeats))

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=3)(x)
    x = layers.ZeroPadding2D(utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = _conv(round_filters(32), 3, "stem_conv", strides=2, padding="valid", use_bias=False)(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    total = float(sum(round_repeats(spec[1]) for spec in _BLOCKS))
    b = 0
    for i, (kernel, repeats, f_in, f_out, expand, strides) in enumerate(_BLOCKS):
        f_in, f_out = round_filters(f_in), round_filters(f_out)
        for j in range(round_repeats(repeats)):
            x = _block(x, activation, drop_connect_rate * b / total,
                       name=f"block{i + 1}{chr(j + 97)}_",
                       filters_in=f_in if j == 0 else f_out, filters_out=f_out,
                       kernel_size=kernel, strides=strides if j == 0 else 1,
                       expand_ratio=expand)
            b += 1

    x = _conv(round_filters(1280), 1, "top_conv", padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=_DENSE_INIT, name="predictions")(x)
    else:
        x = utils.classifier_top(x, False, pooling, classes, classifier_activation, weights,
                                 pool_names=("avg_pool", "max_pool"))
    return utils.finish(input_tensor, img_input, x, model_name, weights_path)


def _efficientnet(index, width, depth, size, dropout):
    public = f"EfficientNetB{index}"

    def build(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", **kwargs):
        utils.check_unknown_kwargs(kwargs)
        return EfficientNet(width, depth, size, dropout, model_name=public.lower(),
                            include_top=include_top, weights=weights, input_tensor=input_tensor,
                            input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation)

    build.__name__ = build.__qualname__ = public
    build.__doc__ = (
        f"{public} (``tf_keras.applications.{public}``), named ``{public.lower()}``, default "
        f"input {size}x{size}.\n\n``weights``: ``None`` or the path of a local weights file "
        "(``'imagenet'`` raises: numkeras never downloads). Inputs are pixels in 0..255.\n")
    return build


EfficientNetB0 = _efficientnet(0, 1.0, 1.0, 224, 0.2)
EfficientNetB1 = _efficientnet(1, 1.0, 1.1, 240, 0.2)
EfficientNetB2 = _efficientnet(2, 1.1, 1.2, 260, 0.3)
EfficientNetB3 = _efficientnet(3, 1.2, 1.4, 300, 0.3)
EfficientNetB4 = _efficientnet(4, 1.4, 1.8, 380, 0.4)
EfficientNetB5 = _efficientnet(5, 1.6, 2.2, 456, 0.4)
EfficientNetB6 = _efficientnet(6, 1.8, 2.6, 528, 0.5)
EfficientNetB7 = _efficientnet(7, 2.0, 3.1, 600, 0.5)


decode_predictions = utils.decode_predictions


def preprocess_input(x, data_format=None):
    """A placeholder, as in tf-keras: EfficientNet models rescale their inputs themselves."""
    return x


__all__ = [f"EfficientNetB{i}" for i in range(8)] + ["decode_predictions",
                                                  "preprocess_input"]
