"""``inspect``/``verify`` of TensorFlow checkpoints and SavedModel ``variables/``.

Used through the format registry (:mod:`numkeras.saving.formats`) by
:mod:`numkeras.saving.inspect`.
"""

from __future__ import annotations

import os

from numkeras.saving.inspect import Corrupt, Entry, Inventory, VerifyResult, dtype_name, note_values
from numkeras.saving.tf_checkpoint.bundle import BundleReader, data_filename, index_filename
from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError
from numkeras.saving.tf_checkpoint.keras_metadata import KERAS_METADATA, has_metadata

_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def has_keras_metadata(folder: str) -> bool:
    """Whether the SavedModel ``folder`` was written by tf-keras (it holds model configs, in
    ``keras_metadata.pb`` or, from TF 2.4 and older, inside ``saved_model.pb``)."""
    if os.path.isfile(os.path.join(folder, KERAS_METADATA)):
        return True
    return has_metadata(folder)


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
    files = [index_filename(prefix)]
    files += [data_filename(prefix, i, num_shards) for i in range(num_shards)]
    state = os.path.join(os.path.dirname(prefix) or ".", "checkpoint")
    return files + ([state] if os.path.isfile(state) else [])


def _known_dtype(entry) -> bool:
    try:
        entry.numpy_dtype  # noqa: B018 - raises for dtypes NumPy cannot hold
    except ValueError:
        return False
    return True


def inspect(info: Inventory) -> None:
    """Fill ``info`` from the bundle's index and object graph (no tensor data read)."""
    with BundleReader(info.resolved) as reader:
        names = _object_graph_names(reader)
        for key in reader.keys():
            e = reader.get_entry(key)
            dtype = dtype_name(e.numpy_dtype) if _known_dtype(e) else f"DT_{e.dtype}"
            obj, var = names.get(key, ("", ""))
            info.entries.append(Entry(
                key, tuple(e.shape), dtype, int(e.size), object_path=obj, variable=var,
                file=os.path.basename(data_filename(info.resolved, e.shard_id,
                                                    reader.num_shards))))
        info.attributes["num_shards"] = reader.num_shards
        info.files = _checkpoint_files(info.resolved, reader.num_shards)


def verify(prefix: str, result: VerifyResult) -> None:
    """Read every entry (checking its CRC-32C, size and offset), then the state file."""
    try:
        reader = BundleReader(prefix)
    except (CheckpointFormatError, OSError) as exc:
        raise Corrupt(index_filename(prefix), "", f"cannot read the index: {exc}") from None
    for key in reader.keys():
        file = index_filename(prefix)
        try:
            entry = reader.get_entry(key)
            file = data_filename(prefix, entry.shard_id, reader.num_shards)
            value = reader.read(key)
        except (CheckpointFormatError, ValueError, OSError) as exc:
            raise Corrupt(file, key, str(exc)) from None
        note_values(result, file, key, value)
    _verify_state_file(prefix)


def _verify_state_file(prefix: str) -> None:
    from numkeras.saving.tf_checkpoint.state import get_checkpoint_state

    folder = os.path.dirname(prefix) or "."
    try:
        get_checkpoint_state(folder)
    except CheckpointFormatError as exc:
        raise Corrupt(os.path.join(folder, "checkpoint"), "", str(exc)) from None
