"""ResNet50V2/101V2/152V2 (He et al., 2016: pre-activation) as ``tf_keras.applications``.

>>> from numkeras import backend
>>> from numkeras.applications import ResNet50V2
>>> backend.clear_session()
>>> model = ResNet50V2(include_top=False, weights=None, input_shape=(64, 64, 3))
>>> model.name, len(model.layers), model.layers[-1].name
('resnet50v2', 190, 'post_relu')
"""

from __future__ import annotations

from numkeras.applications import imagenet_utils as utils
from numkeras.applications.resnet import ResNet


def _resnet_v2(depths, model_name):
    def build(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax"):
        return ResNet(depths, True, True, model_name, include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation)

    build.__name__ = build.__qualname__ = model_name.replace("resnet", "ResNet").replace(
        "v2", "V2")
    build.__doc__ = (
        f"{build.__name__} (``tf_keras.applications.{build.__name__}``), named "
        f"``{model_name}``.\n\n``weights``: ``None`` or the path of a local weights file "
        "(``'imagenet'`` raises: numkeras never downloads). Inputs are expected in [-1, 1] "
        "(``preprocess_input``).\n")
    return build


ResNet50V2 = _resnet_v2((3, 4, 6, 3), "resnet50v2")
ResNet101V2 = _resnet_v2((3, 4, 23, 3), "resnet101v2")
ResNet152V2 = _resnet_v2((3, 8, 36, 3), "resnet152v2")


decode_predictions = utils.decode_predictions


def preprocess_input(x, data_format=None):
    """Scale pixels (0..255) to [-1, 1]."""
    return utils.preprocess_input(x, data_format=data_format, mode="tf")


__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions",
           "preprocess_input"]
