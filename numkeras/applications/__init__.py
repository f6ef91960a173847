"""Keras Applications on NumPy: the architectures of ``tf_keras.applications`` with the same
layer names, order and weights, so that weights files move between tf-keras and numkeras.

numkeras never downloads: ``weights='imagenet'`` raises and names the file to fetch; pass
the path of a local file instead (``weights='/path/to/resnet50_weights_...h5'``).

>>> import numpy as np
>>> from numkeras import applications, backend
>>> backend.clear_session()
>>> model = applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=3)
>>> model.predict(np.zeros((2, 32, 32, 3))).shape
(2, 3)
"""

from numkeras.applications import (
    densenet,
    efficientnet,
    imagenet_utils,
    mobilenet_v2,
    resnet,
    resnet_v2,
    vgg16,
    vgg19,
)
from numkeras.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from numkeras.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from numkeras.applications.mobilenet_v2 import MobileNetV2
from numkeras.applications.resnet import ResNet50, ResNet101, ResNet152
from numkeras.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from numkeras.applications.vgg16 import VGG16
from numkeras.applications.vgg19 import VGG19

resnet50 = resnet

__all__ = [
    "DenseNet121", "DenseNet169", "DenseNet201", "EfficientNetB0", "EfficientNetB1",
    "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5", "EfficientNetB6",
    "EfficientNetB7", "MobileNetV2", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2",
    "ResNet101V2", "ResNet152V2", "VGG16", "VGG19", "densenet", "efficientnet",
    "imagenet_utils", "mobilenet_v2", "resnet", "resnet50", "resnet_v2", "vgg16", "vgg19",
]
