"""ResNet50/101/152 (He et al., 2015) as ``tf_keras.applications.resnet``; the shared builder
also makes the V2 (pre-activation) models of :mod:`numkeras.applications.resnet_v2`.

>>> from numkeras import backend
>>> from numkeras.applications import ResNet50
>>> backend.clear_session()
>>> model = ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
>>> model.name, len(model.layers), model.outputs[0].shape
('resnet50', 176, (None, 2048))
"""

from __future__ import annotations

from numkeras import layers
from numkeras.applications import imagenet_utils as utils

_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
_EPS = 1.001e-5


def _bn(name):
    return layers.BatchNormalization(axis=3, epsilon=_EPS, name=name)


def _block1(x, filters, stride=1, conv_shortcut=True, name=""):
    """Post-activation bottleneck block (ResNet v1)."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = _bn(name + "_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = _bn(name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="SAME", name=name + "_2_conv")(x)
    x = _bn(name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = _bn(name + "_3_bn")(x)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def _block2(x, filters, stride=1, conv_shortcut=False, name=""):
    """Pre-activation bottleneck block (ResNet v2); the stride is on the last block."""
    preact = _bn(name + "_preact_bn")(x)
    preact = layers.Activation("relu", name=name + "_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=name + "_1_conv")(preact)
    x = _bn(name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.ZeroPadding2D(((1, 1), (1, 1)), name=name + "_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=name + "_2_conv")(x)
    x = _bn(name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    return layers.Add(name=name + "_out")([shortcut, x])


def _stack1(x, filters, blocks, stride1=2, name=""):
    x = _block1(x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = _block1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def _stack2(x, filters, blocks, stride1=2, name=""):
    x = _block2(x, filters, conv_shortcut=True, name=name + "_block1")
    for i in range(2, blocks):
        x = _block2(x, filters, name=f"{name}_block{i}")
    return _block2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def ResNet(depths, preact: bool, use_bias: bool, model_name: str = "resnet",
           include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
           classes=1000, classifier_activation="softmax", **kwargs):
    """A ResNet with ``depths`` bottleneck blocks in stages conv2..conv5 (64..512 filters).

    ``preact=False`` gives v1 (post-activation, ``stack1``) and ``True`` v2 (``stack2``).
    """
    utils.check_unknown_kwargs(kwargs)
    suffix = "" if include_top else "_notop"
    file_name = f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    weights_path = utils.check_weights(weights, file_name, _URL + file_name)
    input_shape = utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                           require_flatten=include_top, weights=weights)
    img_input = utils.image_input(input_tensor, input_shape)

    x = layers.ZeroPadding2D(((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths)):
        name = f"conv{stage + 2}"
        if preact:
            x = _stack2(x, filters, blocks, stride1=1 if stage == 3 else 2, name=name)
        else:
            x = _stack1(x, filters, blocks, stride1=1 if stage == 0 else 2, name=name)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = utils.classifier_top(x, include_top, pooling, classes, classifier_activation, weights,
                             pool_names=("avg_pool", "max_pool"))
    return utils.finish(input_tensor, img_input, x, model_name, weights_path)


def _resnet(depths, model_name):
    def build(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", **kwargs):
        return ResNet(depths, False, True, model_name, include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation, **kwargs)

    build.__name__ = build.__qualname__ = model_name.replace("resnet", "ResNet")
    build.__doc__ = (
        f"{build.__name__} (``tf_keras.applications.{build.__name__}``), named "
        f"``{model_name}``.\n\n``weights``: ``None`` or the path of a local weights file "
        "(``'imagenet'`` raises: numkeras never downloads). Inputs are expected as "
        "``preprocess_input`` (caffe mode) makes them.\n")
    return build


ResNet50 = _resnet((3, 4, 6, 3), "resnet50")
ResNet101 = _resnet((3, 4, 23, 3), "resnet101")
ResNet152 = _resnet((3, 8, 36, 3), "resnet152")


decode_predictions = utils.decode_predictions


def preprocess_input(x, data_format=None):
    """RGB to BGR, then subtract the ImageNet channel means (caffe mode)."""
    return utils.preprocess_input(x, data_format=data_format, mode="caffe")


__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions",
           "preprocess_input"]
