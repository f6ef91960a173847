"""VGG19 as ``tf_keras.applications.VGG19`` (blocks 3 to 5 have four convolutions).

>>> from numkeras import backend
>>> from numkeras.applications import VGG19
>>> backend.clear_session()
>>> VGG19(include_top=False, weights=None).layers[-2].name
'block5_conv4'
"""

from __future__ import annotations

from numkeras.applications.vgg16 import VGG, decode_predictions, preprocess_input


def VGG19(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax"):
    """VGG19, named ``vgg19``.

    ``weights``: ``None`` or the path of a local weights file (``'imagenet'`` raises: numkeras
    never downloads). Inputs are expected as ``preprocess_input`` (caffe mode) makes them.
    """
    return VGG((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation)


__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
