"""``inspect``/``verify`` of legacy Keras 2 ``.h5`` files (weights only, or full models), and
the sniffers that tell them from Keras 3 ``.weights.h5`` files (all are HDF5).

Used through the format registry (:mod:`numkeras.saving.formats`) by
:mod:`numkeras.saving.inspect`.
"""

from __future__ import annotations

from numkeras.saving import h5common
from numkeras.saving.hdf5.layout import TOP_LEVEL_GROUP, load_attributes
from numkeras.saving.inspect import (
    Corrupt,
    Entry,
    Inventory,
    VerifyResult,
    dtype_name,
    note_values,
    str_attr,
)

_MODEL_MARKERS = ("model_config", "model_weights")
_WEIGHTS_MARKERS = ("layer_names", "layer_names0")
_OPTIMIZER_GROUP = "optimizer_weights"


def is_model_file(path: str) -> bool:
    """A full-model file (``model.save('m.h5')``): ``model_config`` or ``model_weights``."""
    names = h5common.layout_of(path)
    return names is not None and any(k in names for k in _MODEL_MARKERS)


def is_weights_file(path: str) -> bool:
    """A weights file (``save_weights('w.h5')``): a ``layer_names`` attribute at the top
    (and not a full-model file)."""
    names = h5common.layout_of(path)
    return names is not None and any(k in names for k in _WEIGHTS_MARKERS) and \
        not any(k in names for k in _MODEL_MARKERS)


def _weight_entries(group, layer_names: list[str], file: str) -> list[Entry]:
    entries = []
    for layer in layer_names:
        if layer not in group:
            raise ValueError(f"{file}: layer_names lists {layer!r}, but there is no such group.")
        g = group[layer]
        for name in load_attributes(g, "weight_names"):
            ds = g[name] if name in g else None
            if ds is None:
                raise ValueError(f"{file}: layer {layer!r} lists weight {name!r}, but the "
                                 "dataset is missing.")
            h5common.check_dataset(ds, file, f"weight {name!r} of layer {layer!r}",
                                   link=g.get(name, getlink=True), file=group.file)
            entries.append(Entry(name, tuple(ds.shape), dtype_name(ds.dtype),
                                 int(ds.size) * ds.dtype.itemsize, group=layer, file=file))
    return entries


def inspect(info: Inventory) -> None:
    """Fill ``info`` from the ``layer_names``/``weight_names`` attributes (no data read)."""
    with h5common.open_file(info.resolved, info.resolved) as f:
        root = f
        if info.format == "h5-model":
            root = f["model_weights"]
            info.attributes["has_model_config"] = "model_config" in f.attrs
        for key in ("keras_version", "backend"):
            if key in root.attrs:
                info.attributes[key] = str_attr(h5common.read_attr(root, key))
        layers = load_attributes(root, "layer_names")
        info.attributes["layer_names"] = layers
        extra = [TOP_LEVEL_GROUP] if TOP_LEVEL_GROUP in root else []
        info.entries = _weight_entries(root, layers + extra, info.resolved)
        if info.format == "h5-model" and _OPTIMIZER_GROUP in f:
            opt = _weight_entries(f, [_OPTIMIZER_GROUP], info.resolved)
            info.entries += opt
    info.files = [info.resolved]


def verify(path: str, result: VerifyResult) -> None:
    """Read every dataset; check that the names the attributes list exist."""
    h5common.read_every_dataset(path, path, lambda *a: note_values(result, *a), Corrupt)
    try:
        inspect(Inventory(path=path, format=result.format, resolved=path))
    except (ValueError, KeyError, OSError) as exc:
        raise Corrupt(path, "", str(exc)) from None
