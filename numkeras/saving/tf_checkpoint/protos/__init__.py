"""Protobuf message classes for the TensorFlow checkpoint format, in a private pool.

The ``.proto`` files in this folder are numkeras' own, wire- and text-compatible with
TensorFlow's (same package ``tensorflow``, same message names, field names and numbers;
tf-keras's ``SavedMetadata`` of ``keras_metadata.pb`` is in package ``tf_keras``).
``regen.sh`` compiles them with protoc into ``_descriptor_set.py``, a serialized
``FileDescriptorSet``.  Here that set is loaded into a **private** ``DescriptorPool``: the
process-wide default pool may already hold TensorFlow's own ``tensorflow.BundleEntryProto``
(when TensorFlow is imported in the same process), and registering a second definition
there fails with "duplicate symbol".  A private pool also keeps the code independent of
the protoc version: it runs on every protobuf runtime from 4.21 to 7.x.

Importing this module imports protobuf; nothing imports it at ``import numkeras`` time.

>>> header = BundleHeaderProto(num_shards=1)
>>> header.version.producer = 1
>>> header.SerializeToString().hex()
'08011a020801'
>>> BundleEntryProto.FromString(bytes.fromhex("0801120012020803")).dtype
1
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

from ._descriptor_set import FILE_DESCRIPTOR_SET

__all__ = [
    "POOL",
    "BundleEntryProto",
    "BundleHeaderProto",
    "CheckpointState",
    "SavedMetadata",
    "SavedModel",
    "TensorShapeProto",
    "TensorSliceProto",
    "TrackableObjectGraph",
    "VersionDef",
    "message_class",
]

#: The private descriptor pool holding numkeras' copies of the TensorFlow protos.
POOL = descriptor_pool.DescriptorPool()


def _load_pool() -> None:
    """Adds ``google/protobuf/wrappers.proto`` and our files to :data:`POOL`, deps first."""
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    POOL.Add(wrappers)
    pending = list(descriptor_pb2.FileDescriptorSet.FromString(FILE_DESCRIPTOR_SET).file)
    added = {wrappers.name}
    while pending:
        ready = [f for f in pending if set(f.dependency) <= added]
        if not ready:  # pragma: no cover - only a broken regeneration gets here
            raise ImportError(f"unresolvable proto imports in {[f.name for f in pending]}")
        for file_proto in ready:
            POOL.Add(file_proto)
            added.add(file_proto.name)
        pending = [f for f in pending if f.name not in added]


def message_class(full_name: str) -> Any:
    """Returns the Python class of the message ``full_name`` (e.g. ``"tensorflow.VersionDef"``).

    >>> message_class("tensorflow.TrackableObjectGraph").__name__
    'TrackableObjectGraph'
    """
    descriptor = POOL.FindMessageTypeByName(full_name)
    get_class = getattr(message_factory, "GetMessageClass", None)  # protobuf >= 4.22
    if get_class is not None:
        return get_class(descriptor)
    return message_factory.MessageFactory(POOL).GetPrototype(descriptor)  # protobuf 4.21


_load_pool()

VersionDef = message_class("tensorflow.VersionDef")
TensorShapeProto = message_class("tensorflow.TensorShapeProto")
TensorSliceProto = message_class("tensorflow.TensorSliceProto")
BundleHeaderProto = message_class("tensorflow.BundleHeaderProto")
BundleEntryProto = message_class("tensorflow.BundleEntryProto")
TrackableObjectGraph = message_class("tensorflow.TrackableObjectGraph")
CheckpointState = message_class("tensorflow.CheckpointState")
#: tf-keras's ``keras_metadata.pb`` in a SavedModel (package ``tf_keras`` here).
SavedMetadata = message_class("tf_keras.SavedMetadata")
#: ``saved_model.pb``, only the path to the root object's Keras metadata (TF 2.4 and older).
SavedModel = message_class("tensorflow.SavedModel")
