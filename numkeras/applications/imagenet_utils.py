"""Shared pieces of the applications: input shapes, weights arguments, the classifier top, and
ImageNet ``preprocess_input`` (NumPy), as ``tf_keras.applications.imagenet_utils`` has them.

Only ``channels_last`` images are supported (numkeras has no global image data format).

>>> import numpy as np
>>> preprocess_input(np.array([[[0, 51, 255]]], dtype=np.uint8), mode="tf")
array([[[-1. , -0.6,  1. ]]], dtype=float32)
>>> obtain_input_shape(None, default_size=224, min_size=32, require_flatten=False)
(None, None, 3)
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from numkeras import backend
from numkeras.engine.input_layer import Input
from numkeras.engine.keras_tensor import KerasTensor

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                    "imagenet_class_index.json")
_CLASS_INDEX: dict[str, dict] = {}


# -- preprocessing -------------------------------------------------------------------------
def preprocess_input(x, data_format=None, mode: str = "caffe"):
    """Preprocess a batch of RGB images (values in 0..255) as the ImageNet weights expect.

    ``mode='caffe'``: RGB to BGR, then subtract the ImageNet channel means (ResNet, VGG);
    ``'tf'``: scale to [-1, 1] (MobileNetV2, ResNetV2); ``'torch'``: scale to [0, 1] and
    standardise each channel (DenseNet). Integer inputs are converted to float32; as in
    tf-keras, a float array may be modified in place (pass a copy to keep it).
    """
    data_format = data_format or "channels_last"
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Unknown data_format " + str(data_format))
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: "
                         f"mode={mode}")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(backend.floatx())
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    channel_axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        x = np.flip(x, axis=channel_axis).copy()
        mean, std = _CAFFE_MEAN_BGR, None
    x -= np.asarray(mean, x.dtype).reshape(shape)
    if std is not None:
        x /= np.asarray(std, x.dtype).reshape(shape)
    return x


def decode_predictions(preds, top: int = 5, class_index_path=None) -> list:
    """The ``top`` classes of each row of ``preds`` (shape ``(samples, 1000)``), as lists of
    ``(class_name, class_description, score)`` tuples, best first.

    The class names come from ``imagenet_class_index.json``: ``class_index_path``, or by
    default the copy tf-keras caches in ``~/.keras/models`` (``$KERAS_HOME/models``).
    numkeras never downloads it.
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Found array with shape: {preds.shape}")
    if class_index_path is None:
        home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        class_index_path = os.path.join(home, "models", "imagenet_class_index.json")
    path = os.fspath(class_index_path)
    if path not in _CLASS_INDEX:
        if not os.path.exists(path):
            raise ValueError(f"decode_predictions needs the ImageNet class index {path}, which "
                             "does not exist; numkeras never downloads. Fetch it from "
                             f"{_CLASS_INDEX_URL} and pass `class_index_path=`.")
        with open(path) as f:
            _CLASS_INDEX[path] = json.load(f)
    index = _CLASS_INDEX[path]
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        results.append(sorted((tuple(index[str(i)]) + (pred[i],) for i in best),
                              key=lambda r: r[2], reverse=True))
    return results


# -- building blocks -----------------------------------------------------------------------
def obtain_input_shape(input_shape, default_size: int, min_size: int, data_format=None,
                       require_flatten: bool = False, weights=None) -> tuple:
    """The model's input shape (``(rows, cols, channels)``), checked as tf-keras checks it."""
    if data_format not in (None, "channels_last"):
        raise ValueError("numkeras applications support only data_format='channels_last'.")
    if input_shape is not None:
        input_shape = tuple(input_shape)
    if input_shape and len(input_shape) == 3:
        if input_shape[-1] not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                          f"passed an input_shape with {input_shape[-1]} input channels.",
                          stacklevel=3)
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        if any(d is not None and d < min_size for d in input_shape[:2]):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    else:
        input_shape = default_shape if require_flatten else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(shape, kernel_size) -> tuple:
    """``ZeroPadding2D`` padding before a stride-2 ``valid`` convolution, as tf-keras pads.

    ``shape`` is a tensor's shape ``(batch, rows, cols, channels)`` (or the tensor).

    >>> correct_pad((None, 112, 112, 16), 3)
    ((0, 1), (0, 1))
    """
    shape = getattr(shape, "shape", shape)
    rows, cols = shape[1], shape[2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation, weights) -> None:
    """Pretrained weights allow only a ``None`` or ``'softmax'`` classifier activation."""
    if weights is None:
        return
    from numkeras import activations

    act = activations.get(classifier_activation)
    if act not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, with "
                         f"`include_top=True`; Received: classifier_activation="
                         f"{classifier_activation}")


def check_weights(weights, file_name: str, url: str):
    """Validate ``weights``: ``None`` or the path of an existing local file.

    ``'imagenet'`` raises: numkeras never downloads. The message names the file tf-keras
    would download (``file_name`` from ``url``) so that the user can fetch it.
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError(
            "weights='imagenet': numkeras never downloads anything. Download the ImageNet "
            f"weights file yourself ({file_name}, published by tf-keras at {url}) and pass its "
            f"local path instead, e.g. weights='/path/to/{file_name}'. Or pass weights=None "
            "for a randomly initialized model.")
    if not isinstance(weights, (str, os.PathLike)) or not os.path.exists(weights):
        raise ValueError(
            "The `weights` argument should be either `None` (random initialization) or the "
            "path to an existing local weights file to be loaded (numkeras never downloads, "
            f"so `imagenet` is not accepted). Received `weights={weights}`")
    return os.fspath(weights)


def image_input(input_tensor, input_shape) -> KerasTensor:
    """The image tensor the model starts from: ``input_tensor`` or a new ``Input``."""
    if input_tensor is None:
        return Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError("input_tensor must be a numkeras symbolic tensor (from "
                         f"`numkeras.Input()` or a layer call); Received {input_tensor!r} of "
                         f"type {type(input_tensor).__name__}")
    return input_tensor


def source_inputs(tensor: KerasTensor) -> list:
    """The ``Input`` tensors ``tensor`` is computed from (tf-keras ``get_source_inputs``)."""
    if tensor.node.is_input:
        return [tensor]
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        node = t.node
        if node.is_input:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack.extend(reversed(node.keras_inputs))
    return found


def classifier_top(x, include_top: bool, pooling, classes: int, classifier_activation,
                   weights, pool_names=(None, None)):
    """Global pooling + ``Dense(classes, name='predictions')``, or the ``pooling`` head.

    ``pool_names`` are the (average, max) pooling layer names; ``None`` gives default names.
    """
    from numkeras import layers

    avg_name, max_name = pool_names
    if include_top:
        x = layers.GlobalAveragePooling2D(name=avg_name)(x)
        validate_activation(classifier_activation, weights)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def finish(input_tensor, img_input, x, name: str, weights_path):
    """The functional model from the inputs to ``x``, with ``weights_path`` loaded if given."""
    from numkeras.engine.training import Model

    inputs = source_inputs(input_tensor) if input_tensor is not None else img_input
    model = Model(inputs, x, name=name)
    if weights_path is not None:
        model.load_weights(weights_path)
    return model


def check_unknown_kwargs(kwargs: dict) -> None:
    if kwargs:
        raise ValueError(f"Unknown argument(s): {kwargs}")


__all__ = ["preprocess_input", "decode_predictions", "obtain_input_shape", "correct_pad",
           "validate_activation"]
