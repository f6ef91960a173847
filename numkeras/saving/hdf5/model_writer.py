"""``model.save("m.h5")``: the full-model HDF5 file of tf-keras 2.21 (``save_model_to_hdf5``).

Layout:

* root attributes ``keras_version`` and ``backend``, ``model_config`` (JSON of
  ``{"class_name", "config"}`` in tf-keras's *legacy* serialization: no ``module`` /
  ``registered_name`` / ``build_config`` keys, as tf-keras writes with
  ``use_legacy_config``), and ``training_config`` when the model was compiled with an
  optimizer (``loss``, ``metrics``, ``weighted_metrics``, ``loss_weights``,
  ``optimizer_config``);
* group ``model_weights``: exactly the weights file of :mod:`.writer`;
* group ``optimizer_weights`` when the optimizer has variables: attribute ``weight_names`` and
  one dataset per variable at the path its name gives (``iteration:0``,
  ``Adam/m/dense/kernel:0``).

The file is written beside the target and renamed over it only when complete.

>>> import os, tempfile, h5py
>>> from numkeras import Input, Model, backend, layers
>>> backend.clear_session()
>>> x = Input((3,))
>>> model = Model(x, layers.Dense(2)(x))
>>> path = os.path.join(tempfile.mkdtemp(), "m.h5")
>>> model.save(path)
>>> with h5py.File(path, "r") as f:
...     print(sorted(f.attrs), list(f))
['backend', 'keras_version', 'model_config'] ['model_weights']
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from numkeras.saving import h5raw_write, h5write
from numkeras.saving.hdf5.layout import import_h5py, save_attributes
from numkeras.saving.hdf5.writer import (
    plan_groups,
    reserved,
    string_list,
    weights_tree,
    write_groups,
)
from numkeras.saving.paths import atomic_write_path

_NEW_STYLE_KEYS = ("module", "registered_name", "build_config", "compile_config")


def legacy_config(spec):
    """A tf-keras 2.13+ model/layer spec as tf-keras's legacy (``.h5``) serialization spells it.

    Layer specs (the model, every entry of a ``layers`` list, a wrapper's ``layer``) lose
    ``module`` / ``registered_name`` / ``build_config``; nested objects such as initializers
    keep theirs, as tf-keras 2.21 writes them.
    """
    if isinstance(spec, list):
        return [legacy_config(v) for v in spec]
    if not isinstance(spec, dict):
        return spec
    out = {k: v for k, v in spec.items() if k not in _NEW_STYLE_KEYS}
    config = out.get("config")
    if isinstance(config, dict):
        config = dict(config)
        for key in ("layers", "layer", "backward_layer"):
            if isinstance(config.get(key), (dict, list)):
                config[key] = legacy_config(config[key])
        out["config"] = config
    return out


def model_metadata(model, include_optimizer: bool = True) -> dict:
    """The root attributes tf-keras writes (``saving_utils.model_metadata``)."""
    from numkeras.saving import serialization

    spec = serialization.serialize_model(model, style=serialization.TF_KERAS)
    meta = {"keras_version": "2.21.0", "backend": "tensorflow",
            "model_config": legacy_config({"class_name": spec["class_name"],
                                           "config": spec["config"]})}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(model, "compiled", False):
        args = model.compile_args()
        training = {"loss": args["loss"], "metrics": args["metrics"],
                    "weighted_metrics": args["weighted_metrics"],
                    "loss_weights": args["loss_weights"],
                    "optimizer_config": optimizer_config(optimizer)}
        try:
            json.dumps(training, default=_json_default)
        except TypeError:
            warnings.warn(f"model.save: the compile settings of {model.name!r} are not plain "
                          "data (a loss or metric object?); the file gets no "
                          "training_config, so tf-keras loads it uncompiled.", stacklevel=3)
        else:
            meta["training_config"] = training
    return meta


def _json_default(value):
    """NumPy scalars and arrays as JSON numbers and lists (tf-keras's ``get_json_type``)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def optimizer_config(optimizer) -> dict:
    """``{"class_name", "config"}`` as tf-keras 2.21 writes it in ``training_config``.

    tf-keras registers its 2.11+ optimizers under the ``Custom>`` package, so their class
    name is written ``Custom>Adam``; legacy optimizers are written by plain class name.
    """
    config = optimizer.get_config()
    name = type(optimizer).__name__
    if config.get("is_legacy_optimizer") is False:
        name = f"Custom>{name}"
    return {"class_name": name, "config": config}


def _optimizer_variables(optimizer) -> list:
    variables = getattr(optimizer, "variables", None)
    if callable(variables):
        variables = variables()
    return list(variables or [])


def save_model(model, filepath: str, include_optimizer: bool = True, overwrite: bool = True,
               save_format=None, signatures=None, options=None, save_traces: bool = True,
               **kwargs) -> None:
    """Write ``model`` (config, weights, compile settings, optimizer state) to ``filepath``."""
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword argument(s) for the HDF5 format: "
                        f"{sorted(kwargs)}")
    h5py = import_h5py("save")
    model.assert_weights_created()
    meta = model_metadata(model, include_optimizer)
    groups = plan_groups(model, h5py)
    optimizer = getattr(model, "optimizer", None)
    opt_vars = _optimizer_variables(optimizer) if include_optimizer and optimizer is not None \
        else []
    attrs = {key: json.dumps(value, default=_json_default).encode("utf8") if isinstance(
        value, (dict, list, tuple)) else value for key, value in meta.items()}

    def build(f):
        for key, value in attrs.items():  # as tf-keras: JSON as UTF-8 bytes, others as str
            f.attrs[key] = value
        write_groups(f.create_group("model_weights"), model, groups, filepath)
        if opt_vars:
            group = f.create_group("optimizer_weights")
            save_attributes(group, "weight_names", [v.name for v in opt_vars])
            for var in opt_vars:
                value = np.asarray(var.value)
                dset = group.create_dataset(var.name, shape=value.shape, dtype=value.dtype)
                if value.size:
                    dset[()] = value

    tree = _model_tree(model, groups, attrs, opt_vars)
    size = reserved(model, groups) + h5write.reserve(
        sum(np.asarray(v.value).nbytes for v in opt_vars), 2 * len(opt_vars) + 2,
        sum(len(v) for v in attrs.values()) + sum(2 * len(v.name) + 8 for v in opt_vars))
    with atomic_write_path(filepath) as tmp:  # a full disk is an OSError (h5write)
        if tree is not None:  # the fast encoder; h5py for what it does not cover
            h5raw_write.write_file(tmp, tree)
        else:
            h5write.write_file(tmp, build, size)


def _model_tree(model, groups, attrs: dict, opt_vars: list) -> h5raw_write.Group | None:
    """What ``build`` in :func:`save_model` writes, as a tree for
    :mod:`~numkeras.saving.h5raw_write`; ``None`` when that encoder does not cover it."""
    root = h5raw_write.Group()
    try:
        for key, value in attrs.items():
            root.attribute(key, value)
        if weights_tree(model, groups, root.group("model_weights")) is None:
            return None
        if opt_vars:
            group = root.group("optimizer_weights")
            string_list(group, "weight_names", [v.name for v in opt_vars])
            for var in opt_vars:
                group.dataset(var.name, np.asarray(var.value))
    except h5raw_write.Unsupported:
        return None
    return root


__all__ = ["save_model", "model_metadata", "legacy_config", "optimizer_config"]
