"""Where a tf-keras SavedModel keeps its Keras metadata (the models' configs as JSON).

* tf-keras 2.5+ (and Keras 2.21): ``keras_metadata.pb``, a ``SavedMetadata`` message whose
  ``nodes`` carry ``node_path`` and ``metadata``;
* TF 2.4 and older: inside ``saved_model.pb`` itself, in the object graph:
  ``SavedModel.meta_graphs[0].object_graph_def.nodes[0]`` (the root) ``.user_object.metadata``.

Only the root object's metadata is needed to rebuild a model. Both files are parsed with
numkeras's copies of the protos (:mod:`.protos`: ``saved_metadata.proto``,
``saved_model.proto``, which keep only the fields on that path), with the file size capped.

>>> import os, tempfile
>>> from numkeras.saving.tf_checkpoint import protos
>>> folder = tempfile.mkdtemp()
>>> saved = protos.SavedMetadata()
>>> node = saved.nodes.add(node_path="root", metadata=b'{"class_name": "Sequential"}')
>>> with open(os.path.join(folder, KERAS_METADATA), "wb") as f:
...     _ = f.write(saved.SerializeToString())
>>> root_metadata(folder)[0]
b'{"class_name": "Sequential"}'
"""

from __future__ import annotations

import os

KERAS_METADATA = "keras_metadata.pb"
SAVED_MODEL = "saved_model.pb"
#: Largest metadata file read whole (keras_metadata.pb / saved_model.pb).
MAX_BYTES = 512 * 2**20


def _parse(message_class, path: str):
    from google.protobuf.message import DecodeError

    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BYTES} bytes; refusing to read it")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return message_class.FromString(data)
    except (DecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is truncated or corrupt (a field is malformed or runs past "
                         f"the end of the file: {exc})") from None


def root_metadata(directory: str) -> tuple[bytes | None, str]:
    """``(the root object's metadata JSON or None, the file it was looked for in)``.

    ``keras_metadata.pb`` wins when present; otherwise ``saved_model.pb``'s object graph is
    read (TF 2.4-style SavedModels). Raises ``FileNotFoundError`` when the directory holds
    neither file.
    """
    from numkeras.saving.tf_checkpoint import protos

    path = os.path.join(directory, KERAS_METADATA)
    if os.path.isfile(path):
        for node in _parse(protos.SavedMetadata, path).nodes:
            if node.node_path == "root":
                return bytes(node.metadata), path
        return None, path
    path = os.path.join(directory, SAVED_MODEL)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    saved_model = _parse(protos.SavedModel, path)
    if not saved_model.meta_graphs or not saved_model.meta_graphs[0].object_graph_def.nodes:
        return None, path
    metadata = saved_model.meta_graphs[0].object_graph_def.nodes[0].user_object.metadata
    return (bytes(metadata) if metadata else None), path


def has_metadata(directory: str) -> bool:
    """Whether the SavedModel ``directory`` holds Keras metadata for its root object."""
    try:
        metadata, _ = root_metadata(directory)
    except (OSError, ValueError):
        return False
    return metadata is not None


__all__ = ["root_metadata", "has_metadata", "KERAS_METADATA", "SAVED_MODEL"]
