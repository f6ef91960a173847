"""Write ``tests/data/tf_checkpoint/``: TF checkpoint bundles and facts, written by TensorFlow.

Run through ``tests/data/regenerate.py checkpoint`` (see its docstring) in the venv with
TensorFlow 2.21. ``tests/saving/tf_checkpoint/test_bundle_golden.py`` reads the result.

- ``all_dtypes/tf.*``: ``SaveV2`` of ``golden_bundles.all_dtype_items()`` (every dtype, strings);
- ``write_and_save/``: ``tf.train.Checkpoint(v, step, nested.s)`` written with ``write`` (``w/``)
  and ``save`` (``s/``);
- ``sliced/``: the same kind of checkpoint split by ``MaxShardSizePolicy(1000)`` (sliced tensor);
- ``manager/``: three ``CheckpointManager(max_to_keep=2, keep_checkpoint_every_n_hours=1)`` saves;
- ``manifest.json``: SHA-256 and size of the files TF's ``SaveV2`` writes for
  ``all_dtype_items``, ``many_keys_items`` and ``large_items`` (the last two are too big to
  commit), TF's own parse of the object graphs, key lists, checkpoint states (``{dir}`` stands
  for the folder), the descriptors of TF's protos and TF's dtype enum values.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "tf_checkpoint"


def _digest(path: Path) -> dict:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def strip_descriptor(descriptor):
    """The message's DescriptorProto without options, json names and package prefixes."""
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(proto)
    proto.ClearField("options")

    def strip(message) -> None:
        for f in message.field:
            f.ClearField("json_name")
            if f.type_name:
                f.type_name = f.type_name.rsplit(".", 1)[-1]
        for nested in message.nested_type:
            strip(nested)

    strip(proto)
    return proto


PROTO_MODULES = {
    "BundleHeaderProto": "tensorflow.core.protobuf.tensor_bundle_pb2",
    "BundleEntryProto": "tensorflow.core.protobuf.tensor_bundle_pb2",
    "TrackableObjectGraph": "tensorflow.core.protobuf.trackable_object_graph_pb2",
    "CheckpointState": "tensorflow.python.training.checkpoint_state_pb2",
    "TensorShapeProto": "tensorflow.core.framework.tensor_shape_pb2",
    "TensorSliceProto": "tensorflow.core.framework.tensor_slice_pb2",
    "VersionDef": "tensorflow.core.framework.versions_pb2",
}


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import importlib

    import numpy as np
    import tensorflow as tf
    from google.protobuf import text_format
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import trackable_object_graph_pb2
    from tensorflow.python.checkpoint import checkpoint_management

    sys.path.insert(0, str(HERE))
    import golden_bundles as gb

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    manifest: dict = {"tensorflow": tf.__version__, "bundles": {}}

    def save_v2(prefix: str, items) -> None:
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=[k for k, _ in items],
                          shape_and_slices=[""] * len(items),
                          tensors=[tf.constant(v) for _, v in items])

    save_v2(str(OUT / "all_dtypes" / "tf"), gb.all_dtype_items())
    with tempfile.TemporaryDirectory() as tmp:
        for name, items in [("all_dtypes", gb.all_dtype_items()),
                            ("many_keys", gb.many_keys_items()), ("large", gb.large_items())]:
            folder = Path(tmp) / name
            save_v2(str(folder / "ckpt"), items)
            manifest["bundles"][name] = {p.name: _digest(p) for p in sorted(folder.iterdir())}

    # tf.train.Checkpoint write() and save(), and TF's own parse of their object graphs.
    kernel = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    ckpt = tf.train.Checkpoint(v=tf.Variable(kernel), step=tf.Variable(np.int64(7)),
                               nested=tf.train.Checkpoint(s=tf.Variable(b"text")))
    ws = OUT / "write_and_save"
    written = ckpt.write(str(ws / "w" / "weights"))
    saved = ckpt.save(str(ws / "s" / "ckpt"))
    graphs = {}
    for label, prefix in (("w", written), ("s", saved)):
        raw = tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
        graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(raw)
        graphs[label] = {"prefix": os.path.relpath(prefix, ws),
                         "graph_text": text_format.MessageToString(graph)}
    manifest["write_and_save"] = graphs

    # A sliced tensor over several shards.
    v = np.random.default_rng(6).standard_normal((50, 20)).astype(np.float32)
    sliced = tf.train.Checkpoint(v=tf.Variable(v), w=tf.Variable(np.arange(10, dtype=np.int64)),
                                 s=tf.Variable(b"a string"))
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=1000)
    prefix = sliced.write(str(OUT / "sliced" / "ck"),
                          options=tf.train.CheckpointOptions(experimental_sharding_callback=policy))
    manifest["sliced"] = {
        "prefix": os.path.basename(prefix),
        "keys": sorted(tf.train.load_checkpoint(prefix).get_variable_to_shape_map()),
    }

    # CheckpointManager's state file and TF's reading of it.
    folder = OUT / "manager"
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(folder),
                                         max_to_keep=2, keep_checkpoint_every_n_hours=1)
    for _ in range(3):
        manager.save()
    state = tf.train.get_checkpoint_state(str(folder))

    def rel(path: str) -> str:
        return path.replace(str(folder), "{dir}")

    manifest["manager"] = {
        "model_checkpoint_path": rel(state.model_checkpoint_path),
        "all_model_checkpoint_paths": [rel(p) for p in state.all_model_checkpoint_paths],
        "all_model_checkpoint_timestamps": list(state.all_model_checkpoint_timestamps),
        "last_preserved_timestamp": state.last_preserved_timestamp,
        "latest_checkpoint": rel(tf.train.latest_checkpoint(str(folder))),
    }

    # The text TF's own writer produces for a given state (relative paths).
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint_management.update_checkpoint_state_internal(
            tmp, os.path.join(tmp, "ckpt-7"),
            all_model_checkpoint_paths=[os.path.join(tmp, "ckpt-6"), os.path.join(tmp, "ckpt-7")],
            save_relative_paths=True,
            all_model_checkpoint_timestamps=[1795896248.959174, 1795896249.5],
            last_preserved_timestamp=1795896000.125)
        manifest["state_text"] = Path(tmp, "checkpoint").read_text()

    manifest["protos"] = {
        name: text_format.MessageToString(strip_descriptor(
            getattr(importlib.import_module(module), name).DESCRIPTOR))
        for name, module in PROTO_MODULES.items()
    }
    manifest["datatype_enum"] = {v.name: v.number for v in types_pb2.DataType.DESCRIPTOR.values}
    manifest["numpy_dtypes"] = {np.dtype(dt).name: tf.as_dtype(np.dtype(dt)).as_datatype_enum
                                for dt in gb.NUMERIC_DTYPES}
    manifest["quantized"] = {name: [getattr(tf, name).as_datatype_enum, getattr(tf, name).size]
                             for name in gb.QUANTIZED}

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:8d} {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
