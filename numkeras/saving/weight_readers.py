"""The per-format readers behind :func:`numkeras.saving.weights.read_weights`.

Each builds the :class:`~numkeras.saving.weights.WeightSpec` list from metadata only and a
function that reads one tensor when asked.
"""

from __future__ import annotations

import numpy as np

from numkeras.saving.weights import WeightsMapping, WeightSpec, memmap

#: The checkpoint key of TF2's object graph (metadata, not a weight).
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def read(path: str, fmt: str, model=None) -> WeightsMapping:
    """Dispatch on the :mod:`~numkeras.saving.formats` name ``fmt``."""
    if fmt in ("h5", "h5-model"):
        return read_h5(path, fmt)
    if fmt in ("keras", "weights.h5", "weights.json"):
        return read_keras_v3(path, fmt, model)
    if fmt in ("tf-checkpoint", "saved-model"):
        return read_tf(path, fmt)
    if fmt == "safetensors":
        from numkeras.saving.safetensors import read_weights

        return read_weights(path)
    if fmt == "npz":
        from numkeras.saving.npz import read_weights

        return read_weights(path)
    raise ValueError(f"{path}: numkeras cannot read weights of format {fmt!r}.")


# -- HDF5 helpers -------------------------------------------------------------------------------

def h5_offset(dset, size: int, dtype: np.dtype) -> int | None:
    """The file offset of ``dset``'s bytes when it can be memory-mapped, else ``None``."""
    from numkeras.saving import h5common

    h5py = h5common.import_h5py()
    if dtype.kind not in "biufc" or dtype.byteorder == ">" or not dset.size:
        return None
    plist = dset.id.get_create_plist()
    if plist.get_layout() != h5py.h5d.CONTIGUOUS or plist.get_nfilters():
        return None
    offset = dset.id.get_offset()
    if offset is None or h5common.data_past_end(dset, size):
        return None
    return dset.file.id.get_create_plist().get_userblock() + offset


def _h5_reader(path: str):
    def read_one(spec: WeightSpec) -> np.ndarray:
        if spec.offset is not None:
            return memmap(spec)
        from numkeras.saving import h5common

        with h5common.open_file(path, path) as f:  # checked as when it was indexed
            return np.asarray(f[spec.key][()])
    return read_one


# -- legacy Keras 2 .h5 -------------------------------------------------------------------------

def read_h5(path: str, fmt: str) -> WeightsMapping:
    """Legacy ``.h5``: names from ``weight_names``, groups from ``layer_names``."""
    import os

    from numkeras.saving import h5common
    from numkeras.saving.hdf5.layout import TOP_LEVEL_GROUP, load_attributes

    size = os.path.getsize(path)
    specs: list[WeightSpec] = []
    with h5common.open_file(path, path) as f:  # hanging global heaps refused first
        root = f["model_weights"] if fmt == "h5-model" else f
        layers = load_attributes(root, "layer_names")
        groups = [(root, name) for name in layers]
        if TOP_LEVEL_GROUP in root:
            groups.append((root, TOP_LEVEL_GROUP))
        if fmt == "h5-model" and "optimizer_weights" in f:
            groups.append((f, "optimizer_weights"))
        seen: set[str] = set()
        for parent, layer in groups:
            if layer not in parent:
                raise ValueError(f"{path}: layer_names lists {layer!r}, but there is no such "
                                 "group.")
            g = parent[layer]
            for name in load_attributes(g, "weight_names"):
                if name not in g:
                    raise ValueError(f"{path}: layer {layer!r} lists weight {name!r}, but the "
                                     "dataset is missing.")
                ds = g[name]
                # the loaders' accepted features: numbers stored in this file, nothing
                # external, linked or virtual (read_weights must not read another file)
                h5common.check_dataset(ds, path, f"weight {name!r} of layer {layer!r}",
                                       link=g.get(name, getlink=True), file=f, dtypes=True)
                dtype = np.dtype(ds.dtype)
                key = name if name not in seen else f"{layer}/{name}"
                seen.add(key)
                specs.append(WeightSpec(key, ds.name, tuple(ds.shape), dtype, group=layer,
                                        file=path, offset=h5_offset(ds, size, dtype)))
    return WeightsMapping(path, fmt, specs, _h5_reader(path))


# -- Keras 3 .keras / .weights.h5 / .weights.json ----------------------------------------------

def _model_from_archive(source):
    """The model the archive's config describes, or ``None`` when numkeras cannot build it."""
    config = getattr(source, "config", None)
    if not isinstance(config, dict):
        return None
    from numkeras import backend
    from numkeras.saving.serialization import deserialize_model

    try:
        with backend.zero_weights():  # only names and shapes are needed
            model = deserialize_model(config)
        model.assert_weights_created()
    except Exception:  # an unknown class or unbuilt model: keep the file's own keys
        return None
    return model


def _ref_order(index) -> list:
    refs = []
    for owner in sorted(index.groups):
        group = index.groups[owner]
        for k in sorted(group, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k)):
            refs.append(group[k])
    return refs


def _indexed_offset(ref, dtype: np.dtype, file: str, sizes: dict) -> int | None:
    """The file offset of a dataset the ``vars`` index found contiguous and plain, when its
    bytes lie inside ``file`` and can be memory-mapped as ``dtype``; else ``None``."""
    if ref.offset is None or ref.bfloat16 or dtype.kind not in "biufc" or \
            dtype.byteorder == ">":
        return None
    nbytes = int(np.prod(ref.shape, dtype=np.int64)) * dtype.itemsize
    if not nbytes:
        return None
    if file not in sizes:
        import os

        sizes[file] = os.path.getsize(file)
    return ref.offset if 0 <= ref.offset and ref.offset + nbytes <= sizes[file] else None


def read_keras_v3(path: str, fmt: str, model=None) -> WeightsMapping:
    """``vars`` datasets named through ``model`` (or the archive's config) where it fits."""
    import os

    from numkeras.saving.keras_v3 import loading, sources

    source = sources.open_source(path)
    try:
        index = source.index()
        if model is None and isinstance(source, sources.ArchiveSource):
            model = _model_from_archive(source)
        names: dict = {}
        order: list = []
        if model is not None:
            plan = loading.choose_plan(model, index)
            for var, ref, _ in plan.assignments:
                names[ref] = var.name
                order.append(ref)
        seen = set(order)
        order += [r for r in _ref_order(index) if r not in seen]
        single = isinstance(source, sources.H5Source)
        size = os.path.getsize(path) if single else 0
        sharded = isinstance(source, sources.ShardedSource)
        sizes: dict = {}
        refs = {}
        specs = []
        h5 = None
        try:
            for ref in order:
                key = ref.name.lstrip("/")
                dtype = _bfloat16() if ref.bfloat16 else np.dtype(ref.dtype)
                file = os.path.join(source.folder, source.files[ref.source]) if sharded \
                    else path
                # where the index found plain contiguous data (h5scan), map it from there
                offset = _indexed_offset(ref, dtype, file, sizes) if single or sharded \
                    else None
                if offset is None and single:
                    if h5 is None:
                        from numkeras.saving import h5common

                        h5 = h5common.import_h5py().File(path, "r")
                    offset = h5_offset(h5[ref.name], size, dtype)
                spec = WeightSpec(names.get(ref, key), key, tuple(ref.shape), dtype,
                                  file=file if offset is not None else path, offset=offset)
                refs[spec.name] = ref
                specs.append(spec)
        finally:
            if h5 is not None:
                h5.close()
    except BaseException:
        if hasattr(source, "close"):
            source.close()
        raise
    keep_open = isinstance(source, sources.ArchiveSource)
    if not keep_open and hasattr(source, "close"):
        source.close()

    def read_one(spec: WeightSpec) -> np.ndarray:
        if spec.offset is not None:
            return memmap(spec)
        ref = refs[spec.name]
        if keep_open:
            return source.read([ref])[ref]
        fresh = sources.open_source(path)
        try:
            return fresh.read([ref])[ref]
        finally:
            if hasattr(fresh, "close"):
                fresh.close()

    return WeightsMapping(path, fmt, specs, read_one,
                          close=source.close if keep_open else None)


def _bfloat16() -> np.dtype:
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


# -- TF checkpoints and SavedModel variables ------------------------------------------------------

def _graph_names(reader, prefix: str) -> tuple[dict[str, str], dict[str, int]]:
    """``(checkpoint key -> variable name, checkpoint key -> position)`` from the object
    graph: positions follow a depth-first walk from the root through each node's children in
    order, which gives the model's layer order and each layer's variable order."""
    from numkeras.saving.tf_checkpoint.restore import read_object_graph

    graph = read_object_graph(reader, prefix)
    names, order = {}, {}
    seen, stack = set(), [0]
    while stack:
        node_id = stack.pop()
        if node_id in seen or not 0 <= node_id < len(graph.nodes):
            continue
        seen.add(node_id)
        node = graph.nodes[node_id]
        for attribute in node.attributes:
            order.setdefault(attribute.checkpoint_key, len(order))
            if attribute.full_name:
                names[attribute.checkpoint_key] = attribute.full_name
        stack.extend(reversed([c.node_id for c in node.children]))
    for node in graph.nodes:  # slot variables and unreachable nodes: their names only
        for attribute in node.attributes:
            if attribute.full_name:
                names.setdefault(attribute.checkpoint_key, attribute.full_name)
    return names, order


def read_tf(prefix: str, fmt: str) -> WeightsMapping:
    """Every tensor but the object graph, named ``<variable name>:0`` (checkpoint key + ``:0``
    in TF1 name-based checkpoints) in the object graph's depth-first order (TF1: key order);
    values are read and CRC-checked on access."""
    from numkeras.saving.tf_checkpoint.bundle import BundleReader

    reader = BundleReader(prefix)
    try:
        graph = OBJECT_GRAPH_KEY in reader
        full, order = _graph_names(reader, prefix) if graph else ({}, {})
        wanted = [k for k in reader.keys() if k != OBJECT_GRAPH_KEY]
        wanted.sort(key=lambda k: order.get(k, len(order)))  # stable: the rest by key
        counts: dict[str, int] = {}
        for key in wanted:
            name = full.get(key, "" if graph else key)
            counts[name] = counts.get(name, 0) + 1
        specs = []
        for key in wanted:
            entry = reader.get_entry(key)
            try:
                dtype = entry.numpy_dtype
            except ValueError:
                dtype = np.dtype(object)
            name = full.get(key, "" if graph else key)
            name = f"{name}:0" if name and counts[name] == 1 else key
            specs.append(WeightSpec(name, key, tuple(entry.shape), np.dtype(dtype), file=prefix))
    except BaseException:
        reader.close()
        raise
    return WeightsMapping(prefix, fmt, specs, lambda spec: reader.read(spec.key),
                          close=reader.close)
