"""Write a model's weights in the Keras 2 ``.h5`` layout, as tf-keras 2.21 does.

Layout (tf-keras ``save_weights_to_hdf5_group``): root attributes ``layer_names`` (names of
``model.layers`` in order, chunked past 64512 bytes), ``backend`` and ``keras_version``; one
group per layer, created in layer-name order and present for weightless layers too, with a
``weight_names`` attribute and one dataset per weight at the path its name gives
(``dense/dense/kernel:0``); then ``top_level_model_weights`` for the model's own variables.

Everything is checked before the file is created, the file is written beside the target and
renamed over it only when complete, and each weight is written straight from its variable's
buffer (no copy of the model is made). The file is encoded by
:mod:`numkeras.saving.h5raw_write` (libhdf5 is too slow for many small layers); what that
encoder does not cover (a ``bfloat16`` weight, an unusual name) is written with h5py.

>>> import os, tempfile, h5py, numpy as np
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dropout(0.5)])
>>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
>>> save_weights(model, path)
>>> with h5py.File(path, "r") as f:
...     print(list(f.attrs["layer_names"]), list(f), list(f["dense"].attrs["weight_names"]))
[np.bytes_(b'dense'), np.bytes_(b'dropout')] ['dense', 'dropout', 'top_level_model_weights'] [np.bytes_(b'dense/kernel:0'), np.bytes_(b'dense/bias:0')]
"""

from __future__ import annotations

import numpy as np

from numkeras.saving import h5raw_write, h5write
from numkeras.saving.hdf5.layout import (
    BACKEND,
    KERAS_VERSION,
    TOP_LEVEL_GROUP,
    chunk_string_list,
    import_h5py,
    legacy_weights,
    own_weights,
    save_attributes,
    write_string_scalar,
)
from numkeras.saving.paths import atomic_write_path


def save_weights(model, filepath: str, options=None, **kwargs) -> None:
    """Write ``model``'s weights to ``filepath`` (HDF5), replacing it only on success.

    ``options`` (a ``CheckpointOptions``) is accepted and ignored, as tf-keras ignores it
    for HDF5.
    """
    if kwargs:
        raise TypeError(f"save_weights() got unexpected keyword argument(s) for the HDF5 "
                        f"format: {sorted(kwargs)}")
    h5py = import_h5py("save")
    groups = plan_groups(model, h5py)
    tree = weights_tree(model, groups)
    with atomic_write_path(filepath) as tmp:  # a full disk is an OSError (h5write)
        if tree is not None:
            h5raw_write.write_file(tmp, tree)
        else:
            h5write.write_file(tmp, lambda f: write_groups(f, model, groups, filepath),
                               reserved(model, groups))


def weights_tree(model, groups: list[tuple[str, list]],
                 root: h5raw_write.Group | None = None) -> h5raw_write.Group | None:
    """What :func:`write_groups` writes, as a tree for :mod:`~numkeras.saving.h5raw_write`
    (into ``root`` when given); ``None`` when that encoder does not cover it."""
    root = h5raw_write.Group() if root is None else root
    try:
        string_list(root, "layer_names", [layer.name for layer in model.layers])
        root.attribute("backend", np.bytes_(BACKEND.encode("utf8")))
        root.attribute("keras_version", np.bytes_(KERAS_VERSION.encode("utf8")))
        for group_name, weights in groups:
            g = root.group(group_name)
            string_list(g, "weight_names", [w.name for w in weights])
            for w in weights:
                g.dataset(w.name, w.value)
    except h5raw_write.Unsupported:
        return None
    return root


def string_list(group, name: str, data: list[str]) -> None:
    """:func:`~numkeras.saving.hdf5.layout.save_attributes` for an encoder group."""
    chunks = chunk_string_list([s.encode("utf8") for s in data])
    for i, chunk in enumerate(chunks):
        group.attribute(name if len(chunks) == 1 else f"{name}{i}", chunk)


def reserved(model, groups: list[tuple[str, list]]) -> int:
    """An upper bound of the size of the file :func:`write_groups` writes (``h5write``)."""
    weights = [w for _, ws in groups for w in ws]
    text = sum(len(layer.name) + 8 for layer in model.layers) + sum(
        len(name) + 8 for name, _ in groups) + sum(2 * len(w.name) + 8 for w in weights)
    return h5write.reserve(sum(w.value.nbytes for w in weights),
                           len(groups) + 2 * len(weights), text)


def plan_groups(model, h5py=None) -> list[tuple[str, list]]:
    """``(group name, weights)`` in creation order, after checking every name and dtype.

    Raises ``ValueError`` naming the layer when two layers share a name, a layer is called
    ``top_level_model_weights``, two weights of one layer share a name, or a weight's dtype
    has no HDF5 equivalent.
    """
    h5py = h5py or import_h5py("save")
    layers = list(model.layers)
    seen: dict[str, object] = {}
    for layer in layers:
        if layer.name in seen and seen[layer.name] is not layer:
            raise ValueError(
                f"Cannot save weights of model {model.name!r} in HDF5 format: two layers are "
                f"named {layer.name!r}, and HDF5 stores one group per layer name. Give the "
                "layers unique names.")
        if layer.name == TOP_LEVEL_GROUP:
            raise ValueError(f"A layer cannot be named {TOP_LEVEL_GROUP!r} in an HDF5 weights "
                             "file: that group holds the model's own weights.")
        seen[layer.name] = layer
    groups = [(layer.name, legacy_weights(layer))
              for layer in sorted(seen.values(), key=lambda x: x.name)]
    groups.append((TOP_LEVEL_GROUP, own_weights(model)))
    storable: set = set()  # dtypes h5py has converted
    for group_name, weights in groups:
        names = set()
        for w in weights:
            if w.name in names:
                raise ValueError(
                    f"Cannot save layer {group_name!r} in HDF5 format: it has two weights "
                    f"named {w.name!r}, and each weight is stored as a dataset of that name. "
                    "Give the weights distinct names (add_weight(name=...)).")
            if not w.name or w.name.startswith("/"):
                raise ValueError(f"Weight name {w.name!r} of layer {group_name!r} cannot be "
                                 "used as an HDF5 dataset path.")
            names.add(w.name)
            dtype = w.dtype
            if dtype in storable:
                continue
            try:
                h5py.h5t.py_create(dtype, logical=True)
                storable.add(dtype)
            except TypeError as exc:
                raise ValueError(
                    f"Weight {w.name!r} of layer {group_name!r} has dtype {w.dtype}, which "
                    "HDF5 cannot store; save it in the TensorFlow format instead.") from exc
    return groups


def write_groups(f, model, groups: list[tuple[str, list]], filepath: str = "") -> None:
    """Write the root attributes and every layer group into the open HDF5 group ``f``.

    Also used for the ``model_weights`` group of a full-model file.
    """
    save_attributes(f, "layer_names", [layer.name for layer in model.layers])
    write_string_scalar(f, "backend", BACKEND)
    write_string_scalar(f, "keras_version", KERAS_VERSION)
    make = h5write.Creator()  # h5py's low-level API: many small layers save fast
    for group_name, weights in groups:
        g = make.group(f.id, group_name)
        for i, chunk in enumerate(chunks := chunk_string_list(
                [w.name.encode("utf8") for w in weights])):
            make.attribute(g, "weight_names" if len(chunks) == 1 else f"weight_names{i}",
                           chunk)
        for w in weights:
            try:
                _write_weight(make, g, w)
            except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
                raise type(exc)(f"Could not write weight {w.name!r} of layer {group_name!r} "
                                f"to {filepath or f.file.filename}: {exc}") from exc


def _write_weight(make, group, variable) -> None:
    """One dataset, written straight from the variable's buffer."""
    make.dataset(group, variable.name, variable.value)
