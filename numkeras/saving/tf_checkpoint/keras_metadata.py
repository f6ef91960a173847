"""Where a tf-keras SavedModel keeps its Keras metadata (the models' configs as JSON).

* tf-keras 2.5+ (and Keras 2.21): ``keras_metadata.pb``, a ``SavedMetadata`` message whose
  ``nodes`` (field 1) carry ``node_path`` (3) and ``metadata`` (5);
* TF 2.4 and older: inside ``saved_model.pb`` itself, in the object graph:
  ``SavedModel.meta_graphs`` (2) -> ``MetaGraphDef.object_graph_def`` (7) ->
  ``SavedObjectGraph.nodes`` (1; node 0 is the root) -> ``SavedObject.user_object`` (4) ->
  ``SavedUserObject.metadata`` (3).

Only the root object's metadata is needed to rebuild a model. Messages are walked with a
small wire-format reader over a memoryview (no copies, no protobuf classes), with the file
size capped.

>>> msg = bytes([0x0a, 0x02, 0x1a, 0x00])  # field 1 (bytes) "\\x1a\\x00", i.e. field 3 = b""
>>> [(n, bytes(v)) for n, v in fields(memoryview(msg), "x")]
[(1, b'\\x1a\\x00')]
"""

from __future__ import annotations

import os

KERAS_METADATA = "keras_metadata.pb"
SAVED_MODEL = "saved_model.pb"
#: Largest metadata file read whole (keras_metadata.pb / saved_model.pb).
MAX_BYTES = 512 * 2**20


def fields(data: memoryview, what: str):
    """``(field number, value)`` of a protobuf message: ints for varints, views for bytes."""

    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            if i >= len(data) or shift > 63:
                raise ValueError(f"{what} is truncated or corrupt (bad varint)")
            byte = data[i]
            value |= (byte & 0x7F) << shift
            shift, i = shift + 7, i + 1
            if byte < 0x80:
                return value, i

    i = 0
    while i < len(data):
        key, i = varint(i)
        wire = key & 7
        if wire == 0:
            value, i = varint(i)
        elif wire == 2:
            size, i = varint(i)
            if i + size > len(data):
                raise ValueError(f"{what} is truncated or corrupt (a field of {size} bytes at "
                                 f"offset {i} runs past the end)")
            value, i = data[i:i + size], i + size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
            value = None
        else:
            raise ValueError(f"{what} is corrupt (wire type {wire} at offset {i})")
        yield key >> 3, value


def _first(message: memoryview, number: int, what: str):
    for n, value in fields(message, what):
        if n == number and isinstance(value, memoryview):
            return value
    return None


def _read(path: str) -> memoryview:
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BYTES} bytes; refusing to read it")
    with open(path, "rb") as f:
        return memoryview(f.read())


def root_metadata(directory: str) -> tuple[bytes | None, str]:
    """``(the root object's metadata JSON or None, the file it was looked for in)``.

    ``keras_metadata.pb`` wins when present; otherwise ``saved_model.pb``'s object graph is
    read (TF 2.4-style SavedModels). Raises ``FileNotFoundError`` when the directory holds
    neither file.
    """
    path = os.path.join(directory, KERAS_METADATA)
    if os.path.isfile(path):
        for number, node in fields(_read(path), path):  # SavedMetadata.nodes (1)
            if number != 1 or not isinstance(node, memoryview):
                continue
            node_fields = dict(fields(node, path))  # node_path (3), metadata (5)
            if bytes(node_fields.get(3, b"")) == b"root":
                return bytes(node_fields.get(5, b"")), path
        return None, path
    path = os.path.join(directory, SAVED_MODEL)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    meta_graph = _first(_read(path), 2, path)  # SavedModel.meta_graphs[0]
    graph = _first(meta_graph, 7, path) if meta_graph is not None else None
    root = _first(graph, 1, path) if graph is not None else None  # nodes[0]
    user = _first(root, 4, path) if root is not None else None  # SavedObject.user_object
    metadata = _first(user, 3, path) if user is not None else None
    return (bytes(metadata) if metadata is not None and len(metadata) else None), path


def has_metadata(directory: str) -> bool:
    """Whether the SavedModel ``directory`` holds Keras metadata for its root object."""
    try:
        metadata, _ = root_metadata(directory)
    except (OSError, ValueError):
        return False
    return metadata is not None


__all__ = ["root_metadata", "has_metadata", "fields", "KERAS_METADATA", "SAVED_MODEL"]
