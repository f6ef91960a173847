"""The config dialects: how tf-keras and Keras 3 spell a layer's arguments, and how numkeras
reads and writes both.

Reading (:func:`clean_layer_config`): Keras 3 dtype policies become dtype names,
``batch_shape`` becomes ``batch_input_shape``, options numkeras lacks are dropped when unset
or compute-only, nested layer configs are cleaned too. Writing Keras 3
(:func:`keras3_layer_config`): tf-keras-only arguments are dropped, arguments Keras 3's
constructors refuse are removed, and ``BatchNormalization``'s one-item axis list becomes an int.

The switch between the two is named ``style`` everywhere; its values :data:`KERAS3` and
:data:`TF_KERAS` are defined once in :mod:`numkeras.engine.graph_config`.

>>> from numkeras import layers
>>> keras3_layer_config(layers.InputLayer, {"batch_input_shape": (None, 3), "name": "x"})
{'name': 'x', 'batch_shape': [None, 3]}
"""

from __future__ import annotations

import warnings

from numkeras import initializers
from numkeras.engine.base_layer import Layer
from numkeras.engine.graph_config import (
    KERAS3,
    STYLES,
    TF_KERAS,
    constructor_keywords,
    own_constructor_keywords,
)
from numkeras.engine.input_layer import InputLayer
from numkeras.saving.registry import DTYPE_POLICIES, MODELS, TF_OP_CLASSES, layer_classes

__all__ = ["KERAS3", "TF_KERAS", "STYLES", "clean_layer_config", "keras3_layer_config",
           "tf_keras_layer_config", "read_keras3_activations", "config_style", "policy_dtype"]

_TF_KERAS_ONLY = {"batch_input_shape", "input_shape", "input_dim", "batch_size",
                  "input_length", "implementation", "time_major"}
_NOT_IN_KERAS3 = {"input_length", "implementation", "time_major"}
_IGNORABLE = frozenset({"use_cudnn", "flash_attention"})  # Keras 3 compute choices
# tf-keras config keys Keras 3's constructors refuse (inherited from Conv in tf-keras)
_KERAS3_REFUSES = {
    "SeparableConv1D": {"groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"},
    "SeparableConv2D": {"groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"},
    "DepthwiseConv1D": {"groups"}, "DepthwiseConv2D": {"groups"},
    "MultiHeadAttention": {"query_shape", "key_shape", "value_shape", "softmax_robust_masking"},
    "Discretization": {"trainable"},  # Keras 3's constructor takes no **kwargs
    "Conv1DTranspose": {"groups"}, "Conv2DTranspose": {"groups"}, "Conv3DTranspose": {"groups"},
    "SpatialDropout1D": {"trainable", "noise_shape"},
    "SpatialDropout2D": {"trainable", "noise_shape"},
    "SpatialDropout3D": {"trainable", "noise_shape"},
}
#: tf-keras arguments Keras 3 renamed: {class: {tf-keras name: Keras 3 name}}.
_KERAS3_RENAMES = {"LeakyReLU": {"alpha": "negative_slope"}}
#: tf-keras layer classes Keras 3 removed.
_NOT_IN_KERAS3_CLASSES = frozenset({"LocallyConnected1D", "LocallyConnected2D", "ThresholdedReLU",
                                    "RandomHeight", "RandomWidth", "CuDNNLSTM", "CuDNNGRU",
                                    "RandomFourierFeatures", "SyncBatchNormalization"})
#: Config keys holding an activation name (any layer, nested configs included).
_ACTIVATION_KEYS = frozenset({"activation", "recurrent_activation"})
_HARD_SIGMOIDS = ("tf-keras's hard_sigmoid is clip(0.2 * x + 0.5, 0, 1) and Keras 3's is "
                  "relu6(x + 3) / 6")


# -- activations: one name, two formulas ---------------------------------------------------
def read_keras3_activations(config):
    """A Keras 3 file's config with its ``"hard_sigmoid"`` activations named
    ``"keras3_hard_sigmoid"`` (the formula Keras 3 computes), at any depth.

    >>> read_keras3_activations({"class_name": "LSTM", "config": {
    ...     "activation": "tanh", "recurrent_activation": "hard_sigmoid"}})["config"]
    {'activation': 'tanh', 'recurrent_activation': 'keras3_hard_sigmoid'}
    """
    if isinstance(config, list):
        return [read_keras3_activations(v) for v in config]
    if not isinstance(config, dict):
        return config
    return {k: ("keras3_hard_sigmoid" if k in _ACTIVATION_KEYS and v == "hard_sigmoid"
                else read_keras3_activations(v)) for k, v in config.items()}


def config_style(config) -> str:
    """Which Keras wrote a model config: ``KERAS3`` if anything only Keras 3 writes appears
    (``batch_shape`` inputs, dtype-policy objects, ``{"args", "kwargs"}`` nodes), else
    ``TF_KERAS``.

    >>> config_style({"class_name": "Sequential", "config": {"layers": [{"class_name":
    ...     "InputLayer", "config": {"batch_shape": [None, 3]}}]}})
    'keras3'
    """
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if "batch_shape" in item or ("args" in item and "kwargs" in item) or \
                    item.get("class_name") == "DTypePolicy":
                return KERAS3
            stack.extend(item.values())
    return TF_KERAS


def _activations_for(config: dict, style: str) -> dict:
    """``config``'s activation names as ``style`` spells them; refuse what it cannot hold."""
    from numkeras import activations

    out = dict(config)
    for key in _ACTIVATION_KEYS & set(config):
        value = config[key]
        if not isinstance(value, str):
            continue
        if style == KERAS3:
            if value == "hard_sigmoid":
                raise ValueError(
                    f"Layer {config.get('name')!r}: {key}='hard_sigmoid' cannot be written for "
                    f"Keras 3: {_HARD_SIGMOIDS}, and Keras 3 has no activation computing "
                    "tf-keras's, so the model would compute something else there. Save it in "
                    "tf-keras style (model.save('m.h5'), or style='tf_keras').")
            if value == "keras3_hard_sigmoid":
                out[key] = "hard_sigmoid"
        elif value not in activations.TF_KERAS_NAMES and value != "linear":
            why = (_HARD_SIGMOIDS if value == "keras3_hard_sigmoid"
                   else "tf-keras has no activation of that name")
            raise ValueError(f"Layer {config.get('name')!r}: {key}={value!r} cannot be written "
                             f"for tf-keras ({why}). Save it in Keras 3 style (.keras).")
    return out


def tf_keras_layer_config(cls, config: dict) -> dict:
    """numkeras's ``get_config`` output as tf-keras takes it: activations tf-keras lacks (or
    computes differently) are refused, nested layer configs included."""
    config = _activations_for(config, TF_KERAS)
    return {k: _tf_keras_nested(v) for k, v in config.items()}


def _tf_keras_nested(value):
    if isinstance(value, list):
        return [_tf_keras_nested(v) for v in value]
    if not isinstance(value, dict):
        return value
    cls = layer_classes().get(value.get("class_name")) if "class_name" in value else None
    if cls is not None and isinstance(value.get("config"), dict) and \
            cls.__module__.startswith("numkeras."):
        return {**value, "config": tf_keras_layer_config(cls, value["config"])}
    return value


# -- reading: a file's config as numkeras's arguments ----------------------------------------
def policy_dtype(value):
    """A Keras 3 dtype policy (or a ``mixed_*`` name) as the dtype numkeras computes in."""
    if isinstance(value, dict) and value.get("class_name") in DTYPE_POLICIES:
        value = (value.get("config") or {}).get("name", "float32")
    if isinstance(value, str) and value.startswith("mixed_"):
        warnings.warn(f"numkeras computes in the variable dtype: policy {value!r} is loaded as "
                      "float32.", stacklevel=4)
        return "float32"
    return value


def _strip_sharing(value):
    if isinstance(value, dict):
        return {k: _strip_sharing(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_strip_sharing(v) for v in value]
    return value


def _clean_initializers(config: dict) -> dict:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and value.get("class_name") in initializers._CLASSES:
            cls = initializers._CLASSES[value["class_name"]]
            inner = _drop_unknown(cls, dict(value.get("config") or {}), value["class_name"])
            value = {**value, "config": inner}
        out[key] = value
    return out


def _overrides_from_config(cls) -> bool:
    return getattr(cls.from_config, "__func__", None) is not Layer.from_config.__func__


def _drop_unknown(cls, config: dict, label: str) -> dict:
    """Keep the options ``cls`` takes; drop unknown unset ones and compute-only ones.

    A class with its own ``from_config`` gets any other unknown option to decide on; for
    the rest an unknown option that is set is an error.
    """
    accepted, open_ended = constructor_keywords(cls)
    if open_ended:
        return config
    lenient = _overrides_from_config(cls)
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = value
        elif value in (None, False, {}, []) or key in _IGNORABLE:
            continue
        elif lenient:
            out[key] = value
        else:
            raise ValueError(f"{label}: option {key}={value!r} from the file is not supported by "
                             f"numkeras's {cls.__name__}.")
    return out


def _clean_nested(value, ctx):
    """Clean every nested layer spec (a wrapper's ``layer``, an RNN's ``cell``...) in place."""
    if isinstance(value, list):
        return [_clean_nested(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("config"), dict) and "class_name" in value:
        cls, builtin = ctx.lookup(value) if ctx is not None else (None, False)
        if cls is not None and builtin and value["class_name"] not in MODELS:
            return {**value, "config": clean_layer_config(cls, value["config"],
                                                          value["class_name"], ctx)}
    return {k: _clean_nested(v, ctx) for k, v in value.items()}


def clean_layer_config(cls, config: dict, class_name: str, ctx=None) -> dict:
    """A file's layer config as keyword arguments numkeras's ``cls`` accepts.

    Keras 3 dtype policies become dtype names, ``batch_shape`` becomes ``batch_input_shape``,
    initializer options numkeras lacks are dropped when unset, nested layer configs are
    cleaned too; other options numkeras does not have are dropped when unset or
    compute-only (``use_cudnn``...), and are an error otherwise.
    """
    config = _strip_sharing(dict(config))
    if "dtype" in config:
        config["dtype"] = policy_dtype(config["dtype"])
    if "batch_shape" in config and "batch_input_shape" not in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    config = _clean_initializers(config)
    config = {k: _clean_nested(v, ctx) for k, v in config.items()}
    return _drop_unknown(cls, config, f"{class_name} '{config.get('name')}'")


# -- writing: numkeras's config as Keras 3 takes it -----------------------------------------
def keras3_layer_config(cls, config: dict) -> dict:
    """tf-keras-style ``get_config`` output of a numkeras ``cls`` as Keras 3 takes it."""
    config = dict(config)
    if issubclass(cls, InputLayer):
        config["batch_shape"] = list(config.pop("batch_input_shape"))
        return config
    if cls.__name__ in TF_OP_CLASSES:
        raise ValueError(f"Layer {config.get('name')!r} calls TF function "
                         f"tf.{config.get('function')}, which Keras 3 files cannot hold (Keras 3 "
                         "has no TFOpLambda). Save in tf-keras style instead: model.save('m.h5') "
                         "or numkeras.saving.keras_v3.save_model(model, path, style='tf_keras').")
    if cls.__name__ in _NOT_IN_KERAS3_CLASSES:
        raise ValueError(f"Layer {config.get('name')!r}: Keras 3 has no {cls.__name__} layer, so "
                         "a Keras 3 file cannot hold it. Save in tf-keras style instead "
                         "(model.save('m.h5'), or style='tf_keras').")
    config = _activations_for(config, KERAS3)
    for old, new in _KERAS3_RENAMES.get(cls.__name__, {}).items():
        if old in config:
            config[new] = config.pop(old)
    own = own_constructor_keywords(cls)
    for key in _TF_KERAS_ONLY:
        if key in own and key not in _NOT_IN_KERAS3:
            continue
        value = config.pop(key, None)
        if key == "time_major" and value:
            raise ValueError(f"Layer {config.get('name')}: time_major=True cannot be saved for "
                             "Keras 3.")
    for key in _KERAS3_REFUSES.get(cls.__name__, ()):
        config.pop(key, None)
    if cls.__name__ == "BatchNormalization" and isinstance(config.get("axis"), list):
        if len(config["axis"]) != 1:
            raise ValueError(f"Layer {config.get('name')}: Keras 3's BatchNormalization takes "
                             f"one axis, not {config['axis']}.")
        config["axis"] = config["axis"][0]
    return {k: _keras3_nested(v) for k, v in config.items()}


def _keras3_nested(value):
    if isinstance(value, list):
        return [_keras3_nested(v) for v in value]
    if not isinstance(value, dict):
        return value
    cls = layer_classes().get(value.get("class_name")) if "class_name" in value else None
    if cls is not None and isinstance(value.get("config"), dict) and \
            cls.__module__.startswith("numkeras."):
        return {**value, "config": keras3_layer_config(cls, value["config"])}
    return {k: _keras3_nested(v) for k, v in value.items()}


