"""The per-format writers behind :func:`numkeras.saving.weights.write_weights`.

Everything is checked before a file is created; each format writes beside the target and
renames into place on success (nothing is left behind on failure).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

import numpy as np

_VARS_KEY = re.compile(r"^(?:(.+)/)?vars/(\d+)$")


def model_arrays(model, path) -> dict:
    """``{weight name: value}`` of ``model`` in ``model.weights`` order (names unique)."""
    model.assert_weights_created()
    arrays: dict = {}
    for v in model.weights:
        if v.name in arrays:
            raise ValueError(f"Cannot save {path} by weight name: model {model.name!r} has "
                             f"two weights named {v.name!r}. Give the layers unique names.")
        arrays[v.name] = v.value
    return arrays


def _check(weights: Mapping, path: str, fmt: str) -> list[str]:
    names = list(weights)
    specs = getattr(weights, "specs", {})
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Cannot write {path}: weight names must be non-empty strings, "
                             f"got {name!r}.")
        dtype = specs[name].dtype if name in specs else np.asarray(weights[name]).dtype
        if dtype.hasobject or dtype.kind in "SU":
            if fmt != "tf-checkpoint":
                raise ValueError(f"Cannot write {path}: {name!r} holds strings, which the "
                                 f"{fmt} format cannot hold without losing them.")
        if fmt in ("npz", "h5") and (dtype.name == "bfloat16" or dtype.name.startswith("float8")):
            raise ValueError(f"Cannot write {path}: {name!r} is {dtype.name}, which the {fmt} "
                             "format cannot hold. Write safetensors, or convert with --dtype "
                             "float32.")
    return names


def write(weights: Mapping, path: str, fmt: str, metadata: dict) -> list[str]:
    """Write ``weights`` as ``fmt`` (a :data:`~numkeras.saving.weights.WRITE_FORMATS` name)."""
    names = _check(weights, path, fmt)
    if fmt == "safetensors":
        from numkeras.saving import safetensors

        meta = dict(metadata)
        if hasattr(weights, "format"):
            meta.setdefault("source", str(weights.path))
            meta.setdefault("source_format", str(weights.format))
        groups = getattr(weights, "groups", None)
        if groups:
            meta[safetensors.GROUPS_KEY] = json.dumps(groups)
        safetensors.write({n: weights[n] for n in names}, path, meta)
        return [path]
    if fmt == "npz":
        from numkeras.saving import npz

        npz.write({n: weights[n] for n in names}, path)
        return [path]
    if fmt == "h5":
        return [write_legacy_h5(weights, names, path)]
    if fmt == "tf-checkpoint":
        return write_name_based(weights, names, path)
    if fmt == "weights.h5":
        return [write_vars_h5(weights, names, path)]
    raise ValueError(f"write_weights cannot write {fmt!r} without a model.")


def layer_groups(weights: Mapping, names: list[str]) -> list[tuple[str, list[str]]]:
    """``(layer group, names)`` in first-seen order: the recorded group, else the first part
    of the name (``dense/kernel:0`` -> ``dense``)."""
    recorded = getattr(weights, "groups", None) or {}
    out: dict[str, list[str]] = {}
    for name in names:
        group = recorded.get(name) or name.split("/", 1)[0].split(":", 1)[0]
        out.setdefault(group, []).append(name)
    return list(out.items())


def write_legacy_h5(weights: Mapping, names: list[str], path: str) -> str:
    """The Keras 2 ``save_weights('w.h5')`` layout from names alone."""
    from numkeras.saving.hdf5.layout import (
        BACKEND,
        KERAS_VERSION,
        TOP_LEVEL_GROUP,
        import_h5py,
        save_attributes,
        write_string_scalar,
    )
    from numkeras.saving.paths import atomic_write_path

    h5py = import_h5py("save")
    groups = layer_groups(weights, names)
    special = (TOP_LEVEL_GROUP, "optimizer_weights")
    with atomic_write_path(path) as tmp, h5py.File(tmp, "w") as f:
        save_attributes(f, "layer_names", [g for g, _ in groups if g not in special])
        write_string_scalar(f, "backend", BACKEND)
        write_string_scalar(f, "keras_version", KERAS_VERSION)
        for group, members in groups:
            g = f.create_group(group)
            save_attributes(g, "weight_names", members)
            for name in members:
                value = np.asarray(weights[name])
                dset = g.create_dataset(name, shape=value.shape, dtype=value.dtype)
                if value.size:
                    dset.write_direct(np.ascontiguousarray(value))
    return path


def write_name_based(weights: Mapping, names: list[str], prefix: str) -> list[str]:
    """A TF1-style checkpoint: key = name without ``:0``, no object graph."""
    from numkeras.saving.tf_checkpoint.bundle import BundleWriter, data_filename, index_filename

    keys = {}
    for name in names:
        key = name[:-2] if name.endswith(":0") else name
        if key in keys:
            raise ValueError(f"Cannot write {prefix}: {keys[key]!r} and {name!r} give the same "
                             f"checkpoint key {key!r}.")
        keys[key] = name
    with BundleWriter(prefix) as writer:
        for key, name in keys.items():
            writer.add(key, np.asarray(weights[name]))
    return [data_filename(prefix, 0, 1), index_filename(prefix)]


def write_vars_h5(weights: Mapping, names: list[str], path: str) -> str:
    """A ``.weights.h5`` from ``<path>/vars/<i>`` keys (or the keys they were read from)."""
    from numkeras.saving.keras_v3.h5io import import_h5py, write_dataset
    from numkeras.saving.paths import atomic_write_path

    origins = getattr(weights, "origins", None) or {}
    groups: dict[str, dict[int, str]] = {}
    for name in names:
        key = origins.get(name, name)
        match = _VARS_KEY.match(key)
        if match is None:
            raise ValueError(
                f"Cannot write {path} without a model: {name!r} is not a '<object path>/vars/"
                "<i>' key, so its place in the Keras 3 layout is unknown. Give the "
                "architecture (numkeras convert --model model.keras), or write safetensors, "
                ".npz, .h5 or a TF checkpoint.")
        groups.setdefault(match.group(1) or "", {})[int(match.group(2))] = name
    h5py = import_h5py()
    with atomic_write_path(path) as tmp, h5py.File(tmp, "w") as f:
        if "" not in groups:
            f.create_group("vars")
        for owner, members in groups.items():
            group = f.create_group(f"{owner}/vars" if owner else "vars")
            for i in sorted(members):
                write_dataset(group, str(i), np.asarray(weights[members[i]]))
    return os.fspath(path)
