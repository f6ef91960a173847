"""DenseNet121/169/201 (Huang et al., 2017) as ``tf_keras.applications.densenet``.

Layer names contain ``/`` (``conv1/conv``, ``conv2_block1_0_bn``...), as in tf-keras.

>>> from numkeras import backend
>>> from numkeras.applications import DenseNet121
>>> backend.clear_session()
>>> model = DenseNet121(include_top=False, weights=None, input_shape=(32, 32, 3))
>>> model.name, len(model.layers), [layer.name for layer in model.layers][1:4]
('densenet121', 427, ['zero_padding2d', 'conv1/conv', 'conv1/bn'])
"""

from __future__ import annotations

from numkeras import layers
from numkeras.applications import imagenet_utils as utils

_URL = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
_EPS = 1.001e-5
_NAMES = {(6, 12, 24, 16): "densenet121", (6, 12, 32, 32): "densenet169",
          (6, 12, 48, 32): "densenet201"}


def _bn(name):
    return layers.BatchNormalization(axis=3, epsilon=_EPS, name=name)


def _conv_block(x, growth_rate, name):
    x1 = _bn(name + "_0_bn")(x)
    x1 = layers.Activation("relu", name=name + "_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=name + "_1_conv")(x1)
    x1 = _bn(name + "_1_bn")(x1)
    x1 = layers.Activation("relu", name=name + "_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                       name=name + "_2_conv")(x1)
    return layers.Concatenate(axis=3, name=name + "_concat")([x, x1])


def _transition_block(x, reduction, name):
    x = _bn(name + "_bn")(x)
    x = layers.Activation("relu", name=name + "_relu")(x)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=name + "_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=name + "_pool")(x)


def DenseNet(blocks, include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax"):
    """A DenseNet with ``blocks[i]`` conv blocks (growth rate 32) in dense block ``i``."""
    model_name = _NAMES.get(tuple(blocks), "densenet")
    suffix = "" if include_top else "_notop"
    file_name = f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    weights_path = utils.check_weights(weights, file_name, _URL + file_name)
    input_shape = utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                           require_flatten=include_top, weights=weights)
    img_input = utils.image_input(input_tensor, input_shape)

    x = layers.ZeroPadding2D(((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1/conv")(x)
    x = _bn("conv1/bn")(x)
    x = layers.Activation("relu", name="conv1/relu")(x)
    x = layers.ZeroPadding2D(((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for i, n in enumerate(blocks):
        for j in range(n):
            x = _conv_block(x, 32, name=f"conv{i + 2}_block{j + 1}")
        if i < len(blocks) - 1:
            x = _transition_block(x, 0.5, name=f"pool{i + 2}")
    x = _bn("bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = utils.classifier_top(x, include_top, pooling, classes, classifier_activation, weights,
                             pool_names=("avg_pool", "max_pool"))
    return utils.finish(input_tensor, img_input, x, model_name, weights_path)


def _densenet(blocks, public_name):
    def build(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax"):
        return DenseNet(list(blocks), include_top, weights, input_tensor, input_shape, pooling,
                        classes, classifier_activation)

    build.__name__ = build.__qualname__ = public_name
    build.__doc__ = (
        f"{public_name} (``tf_keras.applications.{public_name}``), named "
        f"``{public_name.lower()}``.\n\n``weights``: ``None`` or the path of a local weights "
        "file (``'imagenet'`` raises: numkeras never downloads). Inputs are expected as "
        "``preprocess_input`` (torch mode) makes them.\n")
    return build


DenseNet121 = _densenet((6, 12, 24, 16), "DenseNet121")
DenseNet169 = _densenet((6, 12, 32, 32), "DenseNet169")
DenseNet201 = _densenet((6, 12, 48, 32), "DenseNet201")


decode_predictions = utils.decode_predictions


def preprocess_input(x, data_format=None):
    """Scale pixels (0..255) to [0, 1], then standardise each channel (torch mode)."""
    return utils.preprocess_input(x, data_format=data_format, mode="torch")


__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions",
           "preprocess_input"]
