"""Look inside any weights file numkeras reads, without building a model.

:func:`detect` names the format of a path; :func:`inspect` lists its entries (name, shape,
dtype, bytes) from metadata only; :func:`verify` reads every tensor fully and checks what the
format lets us check (TensorFlow's CRC-32Cs, the zip CRCs of a ``.keras`` archive, HDF5
readability and the consistency of the weight-name attributes).

Formats (the ``format`` strings used here and by ``numkeras inspect``):

- ``h5``: legacy Keras 2 weights (``model.save_weights('w.h5')``);
- ``h5-model``: a full-model ``.h5`` (``model.save('m.h5')``: ``model_config`` + weights);
- ``tf-checkpoint``: a TensorFlow checkpoint prefix (``<prefix>.index`` + data files), also
  reached from a folder holding a ``checkpoint`` state file (its latest checkpoint);
- ``saved-model``: a SavedModel folder (its ``variables/variables`` checkpoint);
- ``keras``: a ``.keras`` archive; ``weights.h5``: Keras 3 ``.weights.h5``;
  ``weights.json``: a sharded Keras 3 manifest and its shards.

>>> import os, tempfile
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
>>> model.save_weights(path)
>>> info = inspect(path)
>>> info.format, [(e.name, e.shape, e.dtype) for e in info.entries]
('h5', [('dense/kernel:0', (3, 2), 'float32'), ('dense/bias:0', (2,), 'float32')])
>>> info.count, info.parameters, info.nbytes
(2, 8, 32)
>>> verify(path).ok
True
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["Entry", "Inventory", "VerifyResult", "detect", "inspect", "verify",
           "FORMATS", "ARCHITECTURE_FORMATS", "has_architecture"]

#: Every format name :func:`detect` returns.
FORMATS = ("h5", "h5-model", "tf-checkpoint", "saved-model", "keras", "weights.h5",
           "weights.json")
#: Formats that carry the model's architecture (``load_model`` can rebuild the model).
ARCHITECTURE_FORMATS = ("h5-model", "keras")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_OPTIMIZER_GROUP = "optimizer_weights"
_TOP_LEVEL_GROUP = "top_level_model_weights"


@dataclass
class Entry:
    """One stored tensor.

    ``name``: the weight name (HDF5: ``dense/kernel:0``), checkpoint key (TF) or HDF5 path
    (Keras 3: ``layers/dense/vars/0``). ``group``: the layer (HDF5), or the object path of
    the owning object (Keras 3). ``object_path``/``variable`` (TF checkpoints only): the node
    path TensorFlow prints (``(root).layer_with_weights-0.kernel``) and the variable's name.
    """

    name: str
    shape: tuple
    dtype: str
    nbytes: int
    group: str = ""
    object_path: str = ""
    variable: str = ""
    file: str = ""

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["shape"] = list(self.shape)
        return out


@dataclass
class Inventory:
    """What :func:`inspect` found: the format, the files read and the entries."""

    path: str
    format: str
    entries: list[Entry] = field(default_factory=list)
    #: The checkpoint prefix actually read (TF formats), else the file.
    resolved: str = ""
    files: list[str] = field(default_factory=list)
    #: Small facts from the file: ``keras_version``, ``backend``, ``layer_names``, ...
    attributes: dict = field(default_factory=dict)

    @property
    def has_architecture(self) -> bool:
        """Whether the file stores the model config (so the model can be rebuilt)."""
        return has_architecture(self.path, self.format)

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def parameters(self) -> int:
        """Elements of all numeric entries (strings such as the object graph excluded)."""
        return sum(e.size for e in self.entries if e.dtype not in ("string", "object"))

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "resolved": self.resolved,
                "has_architecture": self.has_architecture, "files": self.files,
                "attributes": self.attributes,
                "entries": [e.to_dict() for e in self.entries],
                "totals": {"count": self.count, "parameters": self.parameters,
                           "bytes": self.nbytes}}


@dataclass
class VerifyResult:
    """What :func:`verify` found: ``ok``, the first problem, and what was checked."""

    path: str
    format: str
    ok: bool
    checked: int = 0
    nbytes: int = 0
    problem: str = ""
    #: The file and key/dataset of the first corrupt entry (empty when ``ok``).
    file: str = ""
    key: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class _Corrupt(Exception):
    """Raised inside :func:`verify` for the first corrupt entry."""

    def __init__(self, file: str, key: str, message: str):
        super().__init__(message)
        self.file, self.key = file, key


# -- detection --------------------------------------------------------------------------------

def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


def _h5_kind(path: str) -> str:
    """``h5``, ``h5-model`` or ``weights.h5`` for an HDF5 file, from its top-level layout."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError:  # unreadable: classify by name; inspect/verify then report the damage
        return "weights.h5" if path.endswith(".weights.h5") else "h5"
    with f:
        if "model_config" in f.attrs or "model_weights" in f:
            return "h5-model"
        if "layer_names" in f.attrs or "layer_names0" in f.attrs:
            return "h5"
        if any(k in f for k in ("layers", "vars", "_layer_checkpoint_dependencies")):
            return "weights.h5"
    return "h5"


def _missing(path: str) -> FileNotFoundError:
    folder = os.path.dirname(path) or "."
    looked = (f"looked for a file {path!r}, a TF checkpoint index {path + '.index'!r} and a "
              "folder of that name")
    hint = ("Pass an .h5/.keras/.weights.h5/.weights.json file, a TF checkpoint prefix (the "
            "path given to save_weights, without .index), or a checkpoint/SavedModel folder.")
    state = os.path.join(folder, "checkpoint")
    if os.path.isfile(state):
        from numkeras.saving.tf_checkpoint.state import latest_checkpoint

        latest = latest_checkpoint(folder)
        if latest:
            hint = f"The folder's 'checkpoint' file names {latest!r}: pass that prefix."
    return FileNotFoundError(f"No weights found at {path!r} ({looked}). {hint}")


def _strip_checkpoint_suffix(path: str) -> str:
    """``x.index`` / ``x.data-00000-of-00001`` -> ``x`` when that is a checkpoint prefix."""
    for marker in (".index", ".data-"):
        cut = path.rfind(marker)
        if cut > 0 and os.path.isfile(path[:cut] + ".index"):
            return path[:cut]
    return path


def detect(path) -> tuple[str, str]:
    """``(format, resolved path)`` of ``path`` (see the module docstring for the names).

    For TF checkpoints the resolved path is the bundle prefix. Raises
    ``FileNotFoundError`` naming what was looked for, and what to pass instead.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return _detect_folder(path)
    if path.endswith(".weights.json"):
        if not os.path.isfile(path):
            raise _missing(path)
        return "weights.json", path
    if os.path.isfile(path):
        stripped = _strip_checkpoint_suffix(path)
        if stripped != path:
            return "tf-checkpoint", stripped
        head = _head(path)
        if head[:4] == _ZIP_MAGIC:
            return "keras", path
        if head == _HDF5_MAGIC:
            return _h5_kind(path), path
        if os.path.isfile(path + ".index"):
            return "tf-checkpoint", path
        raise ValueError(f"{path!r} is neither an HDF5 file, a .keras (zip) archive nor a TF "
                         "checkpoint (no .index beside it); numkeras cannot read it.")
    if os.path.isfile(path + ".index"):
        return "tf-checkpoint", path
    raise _missing(path)


def _detect_folder(path: str) -> tuple[str, str]:
    path = os.path.normpath(path)
    variables = os.path.join(path, "variables", "variables")
    if os.path.isfile(variables + ".index"):
        return "saved-model", variables
    state = os.path.join(path, "checkpoint")
    if os.path.isfile(state):
        from numkeras.saving.tf_checkpoint.state import latest_checkpoint

        latest = latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(
                f"{state} names no checkpoint whose .index file exists; pass a checkpoint "
                "prefix explicitly.")
        return "tf-checkpoint", latest
    raise FileNotFoundError(
        f"{path!r} is a folder without a 'checkpoint' state file or variables/variables.index "
        "(SavedModel); pass a weights file or checkpoint prefix inside it.")


# -- inspect ----------------------------------------------------------------------------------

def has_architecture(path, fmt: str) -> bool:
    """Whether ``path`` (of format ``fmt``) stores the model config ``load_model`` rebuilds:
    ``.keras``, full-model ``.h5``, and SavedModels written by tf-keras (``keras_metadata.pb``).
    """
    if fmt == "saved-model":
        return os.path.isfile(os.path.join(os.fspath(path), "keras_metadata.pb"))
    return fmt in ARCHITECTURE_FORMATS


def inspect(path) -> Inventory:
    """The entries of the weights file at ``path``, from metadata only (no tensor data read).

    TF checkpoints also read their (small) object graph to name each key's object path.
    """
    path = os.fspath(path)
    fmt, resolved = detect(path)
    info = Inventory(path=path, format=fmt, resolved=resolved)
    _INSPECTORS[fmt](info)
    return info


def _dtype_name(dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype.kind in "SUO":
        return "string"
    return dtype.name


def _str_attr(value) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value.decode("utf8", "replace") if isinstance(value, (bytes, np.bytes_)) \
        else str(value)


def _h5_weight_entries(group, layer_names: list[str], file: str) -> list[Entry]:
    from numkeras.saving.hdf5.layout import load_attributes

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
            entries.append(Entry(name, tuple(ds.shape), _dtype_name(ds.dtype),
                                 int(ds.size) * ds.dtype.itemsize, group=layer, file=file))
    return entries


def _inspect_h5(info: Inventory) -> None:
    import h5py

    from numkeras.saving.hdf5.layout import load_attributes

    with h5py.File(info.resolved, "r") as f:
        root = f
        if info.format == "h5-model":
            root = f["model_weights"]
            info.attributes["has_model_config"] = "model_config" in f.attrs
        for key in ("keras_version", "backend"):
            if key in root.attrs:
                info.attributes[key] = _str_attr(root.attrs[key])
        layers = load_attributes(root, "layer_names")
        info.attributes["layer_names"] = layers
        extra = [_TOP_LEVEL_GROUP] if _TOP_LEVEL_GROUP in root else []
        info.entries = _h5_weight_entries(root, layers + extra, info.resolved)
        if info.format == "h5-model" and _OPTIMIZER_GROUP in f:
            opt = _h5_weight_entries(f, [_OPTIMIZER_GROUP], info.resolved)
            info.entries += opt
    info.files = [info.resolved]


def _object_graph_names(reader) -> dict[str, tuple[str, str]]:
    """``checkpoint key -> (object path, variable name)`` from the stored object graph."""
    if _OBJECT_GRAPH_KEY not in reader:
        return {}
    from numkeras.saving.tf_checkpoint import protos
    from numkeras.saving.tf_checkpoint.object_graph import node_names

    graph = protos.TrackableObjectGraph.FromString(reader.read_string(_OBJECT_GRAPH_KEY))
    names = node_names(graph)
    out = {}
    for node_id, node in enumerate(graph.nodes):
        for attribute in node.attributes:
            out[attribute.checkpoint_key] = (names.get(node_id, f"node {node_id}"),
                                             attribute.full_name)
    return out


def _checkpoint_files(prefix: str, num_shards: int) -> list[str]:
    from numkeras.saving.tf_checkpoint.bundle import data_filename, index_filename

    files = [index_filename(prefix)]
    files += [data_filename(prefix, i, num_shards) for i in range(num_shards)]
    state = os.path.join(os.path.dirname(prefix) or ".", "checkpoint")
    return files + ([state] if os.path.isfile(state) else [])


def _inspect_tf(info: Inventory) -> None:
    from numkeras.saving.tf_checkpoint.bundle import BundleReader, data_filename

    with BundleReader(info.resolved) as reader:
        names = _object_graph_names(reader)
        for key in reader.keys():
            e = reader.get_entry(key)
            dtype = _dtype_name(e.numpy_dtype) if _known_dtype(e) else f"DT_{e.dtype}"
            obj, var = names.get(key, ("", ""))
            info.entries.append(Entry(
                key, tuple(e.shape), dtype, int(e.size), object_path=obj, variable=var,
                file=os.path.basename(data_filename(info.resolved, e.shard_id,
                                                    reader.num_shards))))
        info.attributes["num_shards"] = reader.num_shards
        info.files = _checkpoint_files(info.resolved, reader.num_shards)


def _known_dtype(entry) -> bool:
    try:
        entry.numpy_dtype  # noqa: B018 - raises for dtypes NumPy cannot hold
    except ValueError:
        return False
    return True


def _v3_entries(index, files: list[str]) -> list[Entry]:
    entries = []
    for owner in sorted(index.groups):
        refs = index.groups[owner]
        for key in sorted(refs, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k)):
            ref = refs[key]
            dtype = "bfloat16" if ref.bfloat16 else _dtype_name(ref.dtype)
            nbytes = math.prod(ref.shape) * np.dtype(ref.dtype).itemsize
            entries.append(Entry(ref.name.lstrip("/"), tuple(ref.shape), dtype, nbytes,
                                 group=owner or "(model)", file=files[ref.source]))
    return entries


def _inspect_v3(info: Inventory) -> None:
    from numkeras.saving.keras_v3 import sources

    source = sources.open_source(info.resolved)
    try:
        index = source.index()
        if isinstance(source, sources.ShardedSource):
            info.files = [info.resolved] + [os.path.join(source.folder, n) for n in source.files]
            shard_names = list(source.files)
        else:
            info.files = [info.resolved]
            shard_names = [os.path.basename(info.resolved)] * max(1, source.count)
        if isinstance(source, sources.ArchiveSource):
            info.attributes.update(_archive_metadata(source))
            shard_names = ["model.weights.h5"]
        info.entries = _v3_entries(index, shard_names)
    finally:
        if hasattr(source, "close"):
            source.close()


def _archive_metadata(source) -> dict:
    from numkeras.saving.keras_v3 import archive

    out = {"has_model_config": source.config is not None,
           "members": source.zf.namelist()}
    if archive.METADATA in out["members"]:
        meta = archive.parse_json(archive.read_member(source.zf, archive.METADATA,
                                                      source.filename), "metadata.json")
        if isinstance(meta, dict):
            out.update({k: meta[k] for k in ("keras_version", "date_saved") if k in meta})
    if isinstance(source.config, dict):
        out["class_name"] = source.config.get("class_name")
    return out


_INSPECTORS = {
    "h5": _inspect_h5, "h5-model": _inspect_h5, "tf-checkpoint": _inspect_tf,
    "saved-model": _inspect_tf, "keras": _inspect_v3, "weights.h5": _inspect_v3,
    "weights.json": _inspect_v3,
}


# -- verify -----------------------------------------------------------------------------------

def verify(path) -> VerifyResult:
    """Read every tensor of ``path`` fully and check it; the first problem is reported.

    TF checkpoints: every entry's CRC-32C, sizes and offsets, every data file present.
    ``.keras``: the zip CRC of every member, then every dataset. HDF5 files: every dataset
    read, and every weight named by the ``weight_names`` attributes present. HDF5 stores no
    checksum of raw data, so a flipped bit inside an HDF5 dataset cannot be detected; values
    that are NaN or infinite are reported as warnings.
    """
    path = os.fspath(path)
    fmt, resolved = detect(path)
    result = VerifyResult(path=path, format=fmt, ok=True)
    try:
        _VERIFIERS[fmt](resolved, result)
    except _Corrupt as exc:
        result.ok, result.problem, result.file, result.key = False, str(exc), exc.file, exc.key
    return result


def _note_values(result: VerifyResult, file: str, key: str, value: np.ndarray) -> None:
    result.checked += 1
    result.nbytes += int(value.nbytes) if value.dtype != object else 0
    if value.dtype.kind in "fc" and value.size and not np.all(np.isfinite(value)):
        bad = int(value.size - np.count_nonzero(np.isfinite(value)))
        result.warnings.append(f"{file}: {key}: {bad} NaN/infinite value(s)")


def _verify_tf(prefix: str, result: VerifyResult) -> None:
    from numkeras.saving.tf_checkpoint.bundle import BundleReader, data_filename
    from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError

    try:
        reader = BundleReader(prefix)
    except (CheckpointFormatError, OSError) as exc:
        raise _Corrupt(prefix + ".index", "", f"cannot read the index: {exc}") from None
    for key in reader.keys():
        file = prefix + ".index"
        try:
            entry = reader.get_entry(key)
            file = data_filename(prefix, entry.shard_id, reader.num_shards)
            value = reader.read(key)
        except (CheckpointFormatError, ValueError, OSError) as exc:
            raise _Corrupt(file, key, str(exc)) from None
        _note_values(result, file, key, value)
    _verify_state_file(prefix)


def _verify_state_file(prefix: str) -> None:
    from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError
    from numkeras.saving.tf_checkpoint.state import get_checkpoint_state

    folder = os.path.dirname(prefix) or "."
    try:
        get_checkpoint_state(folder)
    except CheckpointFormatError as exc:
        raise _Corrupt(os.path.join(folder, "checkpoint"), "", str(exc)) from None


def _verify_h5_file(target, label: str, result: VerifyResult) -> None:
    """Open ``target`` with h5py and read every dataset fully."""
    import h5py

    try:
        f = h5py.File(target, "r")
    except OSError as exc:
        raise _Corrupt(label, "", f"not a readable HDF5 file: {exc}") from None
    with f:
        names: list[str] = []
        try:
            f.visit(names.append)
        except (OSError, RuntimeError, KeyError) as exc:
            raise _Corrupt(label, "", f"the HDF5 structure is unreadable: {exc}") from None
        for name in names:
            try:
                obj = f[name]
                if isinstance(obj, h5py.Dataset):
                    _note_values(result, label, name, np.asarray(obj[()]))
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                raise _Corrupt(label, name, f"cannot read {name!r}: {exc}") from None


def _verify_legacy_h5(path: str, result: VerifyResult) -> None:
    _verify_h5_file(path, path, result)
    try:
        inspect(path)  # the layer_names / weight_names attributes name existing datasets
    except (ValueError, KeyError, OSError) as exc:
        raise _Corrupt(path, "", str(exc)) from None


def _verify_zip(path: str, result: VerifyResult) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                try:
                    with zf.open(info) as member:
                        while member.read(1 << 20):
                            pass
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                    raise _Corrupt(path, info.filename, f"member {info.filename!r}: {exc}") \
                        from None
            if "config.json" in zf.namelist():
                _check_json(zf.read("config.json"), path, "config.json")
    except zipfile.BadZipFile as exc:
        raise _Corrupt(path, "", f"not a valid zip archive: {exc}") from None
    _verify_v3_values(path, result)


def _check_json(data: bytes, path: str, member: str) -> None:
    try:
        json.loads(data)
    except ValueError as exc:
        raise _Corrupt(path, member, f"{member} is not valid JSON: {exc}") from None


def _verify_v3_values(path: str, result: VerifyResult) -> None:
    """Index and read every dataset through the Keras v3 sources (archive, file or shards)."""
    from numkeras.saving.keras_v3 import sources

    try:
        source = sources.open_source(path)
    except (ValueError, OSError) as exc:
        raise _Corrupt(path, "", str(exc)) from None
    try:
        files = [os.path.join(source.folder, n) for n in source.files] \
            if isinstance(source, sources.ShardedSource) else [path]
        index = source.index()
        for owner in sorted(index.groups):
            for ref in index.groups[owner].values():
                label = files[ref.source] if len(files) > 1 else path
                try:
                    value = source.read([ref])[ref]
                except (OSError, RuntimeError, ValueError) as exc:
                    raise _Corrupt(label, ref.name, f"cannot read {ref.name!r}: {exc}") \
                        from None
                _note_values(result, label, ref.name, value)
    except (ValueError, OSError) as exc:
        raise _Corrupt(path, "", str(exc)) from None
    finally:
        if hasattr(source, "close"):
            source.close()


def _verify_v3_h5(path: str, result: VerifyResult) -> None:
    if path.endswith(".weights.json"):
        from numkeras.saving.keras_v3 import sharded

        try:
            manifest = sharded.read_manifest(path)
        except (ValueError, OSError) as exc:
            raise _Corrupt(path, "", str(exc)) from None
        folder = os.path.dirname(os.path.abspath(path))
        for name in sharded.shard_files(manifest):
            _verify_h5_file(os.path.join(folder, name), os.path.join(folder, name),
                            VerifyResult(path, "weights.h5", True))
    else:
        _verify_h5_file(path, path, VerifyResult(path, "weights.h5", True))
    _verify_v3_values(path, result)


_VERIFIERS = {
    "h5": _verify_legacy_h5, "h5-model": _verify_legacy_h5, "tf-checkpoint": _verify_tf,
    "saved-model": _verify_tf, "keras": _verify_zip, "weights.h5": _verify_v3_h5,
    "weights.json": _verify_v3_h5,
}
