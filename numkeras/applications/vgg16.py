"""VGG16 (Simonyan & Zisserman, 2014) as ``tf_keras.applications.VGG16``; the builder also
makes VGG19 (:mod:`numkeras.applications.vgg19`).

>>> from numkeras import backend
>>> from numkeras.applications import VGG16
>>> backend.clear_session()
>>> model = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max")
>>> model.name, [layer.name for layer in model.layers][:4], model.outputs[0].shape
('vgg16', ['input_1', 'block1_conv1', 'block1_conv2', 'block1_pool'], (None, 512))
"""

from __future__ import annotations

from numkeras import layers
from numkeras.applications import imagenet_utils as utils

_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


def VGG(convs_per_block, model_name, include_top=True, weights=None, input_tensor=None,
        input_shape=None, pooling=None, classes=1000, classifier_activation="softmax"):
    """Five blocks of ``convs_per_block[i]`` 3x3 ReLU convolutions (64..512 filters), each
    followed by 2x2 max pooling; the top is Flatten and Dense fc1, fc2 (4096) and predictions.
    """
    suffix = "" if include_top else "_notop"
    file_name = f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    weights_path = utils.check_weights(weights, file_name, f"{_URL}{model_name}/{file_name}")
    input_shape = utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                           require_flatten=include_top, weights=weights)
    img_input = utils.image_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block)):
        for i in range(convs):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block + 1}_conv{i + 1}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block + 1}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = utils.classifier_top(x, False, pooling, classes, classifier_activation, weights)
    return utils.finish(input_tensor, img_input, x, model_name, weights_path)


def VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax"):
    """VGG16, named ``vgg16``.

    ``weights``: ``None`` or the path of a local weights file (``'imagenet'`` raises: numkeras
    never downloads). Inputs are expected as ``preprocess_input`` (caffe mode) makes them.
    """
    return VGG((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation)


decode_predictions = utils.decode_predictions


def preprocess_input(x, data_format=None):
    """RGB to BGR, then subtract the ImageNet channel means (caffe mode)."""
    return utils.preprocess_input(x, data_format=data_format, mode="caffe")


__all__ = ["VGG16", "decode_predictions", "preprocess_input"]
