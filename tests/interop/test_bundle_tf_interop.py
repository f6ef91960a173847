"""TensorFlow as the oracle: byte-identical bundles, and reading each other's files."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import ml_dtypes
import numpy as np
import pytest
import tf_side
from google.protobuf import text_format

from numkeras.saving.tf_checkpoint import protos
from numkeras.saving.tf_checkpoint.bundle import (
    BundleReader,
    data_filename,
    index_filename,
    write_bundle,
)
from numkeras.saving.tf_checkpoint.dtypes import DataType
from numkeras.saving.tf_checkpoint.slice_keys import decode_tensor_name_slice
from numkeras.saving.tf_checkpoint.sstable import BLOCK_SIZE, read_table_file

RNG = np.random.default_rng(1234)
_spec = importlib.util.spec_from_file_location(
    "numkeras_tests_golden_bundles",
    os.path.join(os.path.dirname(__file__), os.pardir, "data", "golden_bundles.py"))
_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_golden)


@pytest.fixture(scope="module")
def tf() -> Any:
    """Live TensorFlow (skips without it; fails under CI=true). The same checks against
    TF-written files, without TF: tests/saving/tf_checkpoint/test_bundle_golden.py."""
    return tf_side.tensorflow()


def _numeric(dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    return _golden.numeric(RNG, dtype, shape)  # the generator the golden files use


NUMERIC_DTYPES = [
    np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.complex64, np.complex128,
    np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_,
    ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e4m3fnuz,
    ml_dtypes.float8_e4m3b11fnuz, ml_dtypes.float8_e5m2fnuz, ml_dtypes.int4, ml_dtypes.uint4,
    ml_dtypes.int2, ml_dtypes.uint2, ml_dtypes.float4_e2m1fn,
]


def _all_dtype_items() -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for dt in NUMERIC_DTYPES:
        name = np.dtype(dt).name
        items.append((f"{name}/matrix", _numeric(dt, (3, 5))))
        items.append((f"{name}/scalar", _numeric(dt, ())))
        items.append((f"{name}/empty", _numeric(dt, (0, 4))))
        items.append((f"{name}/cube", _numeric(dt, (2, 3, 4))))
    items += [
        ("str/scalar", np.array(b"hello", dtype=object)),
        ("str/empty_string", np.array(b"", dtype=object)),
        ("str/vector", np.array([b"a", b"", b"\x00\xff binary", "ünïcode".encode(),
                                 b"x" * 300], dtype=object)),
        ("str/matrix", np.array([[b"ab", b"c"], [b"", b"defg"]], dtype=object)),
        ("str/zero_elements", np.empty((0, 2), dtype=object)),
    ]
    # Data order != key order, like a real checkpoint.
    order = RNG.permutation(len(items))
    return [items[i] for i in order]


def _tf_save(tf: Any, prefix: str, items: list[tuple[str, Any]]) -> None:
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=[k for k, _ in items],
                      shape_and_slices=[""] * len(items),
                      tensors=[tf.constant(v) for _, v in items])


def _files(prefix: str) -> tuple[bytes, bytes]:
    with open(index_filename(prefix), "rb") as f:
        index = f.read()
    with open(data_filename(prefix, 0, 1), "rb") as f:
        data = f.read()
    return index, data


def _same(a: Any, b: Any) -> bool:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype == object or b.dtype == object:
        return [bytes(x) for x in a.reshape(-1)] == [bytes(x) for x in b.reshape(-1)]
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _assert_byte_identical(tf: Any, tmp_path: Any, items: list[tuple[str, Any]]) -> None:
    ours = str(tmp_path / "ours" / "ckpt")
    theirs = str(tmp_path / "theirs" / "ckpt")
    write_bundle(ours, items)
    _tf_save(tf, theirs, items)
    ours_index, ours_data = _files(ours)
    tf_index, tf_data = _files(theirs)
    assert ours_data == tf_data
    assert ours_index == tf_index
    assert sorted(os.listdir(os.path.dirname(ours))) == sorted(os.listdir(os.path.dirname(theirs)))


def test_byte_identical_all_dtypes(tf: Any, tmp_path: Any) -> None:
    _assert_byte_identical(tf, tmp_path, _all_dtype_items())


def test_byte_identical_many_keys_several_blocks(tf: Any, tmp_path: Any) -> None:
    items = [(f"model/layer_{i:05d}/" + "k" * 150 + "/.ATTRIBUTES/VARIABLE_VALUE",
              np.full((2,), i, dtype=np.float32)) for i in range(3000)]
    _assert_byte_identical(tf, tmp_path, items)
    table = read_table_file(index_filename(tmp_path / "ours" / "ckpt"))
    assert len(table) == 3001
    assert os.path.getsize(index_filename(tmp_path / "ours" / "ckpt")) > 2 * BLOCK_SIZE


def test_byte_identical_large_tensor_and_huge_key(tf: Any, tmp_path: Any) -> None:
    big = RNG.standard_normal(3 * BLOCK_SIZE // 4 + 17).astype(np.float32)  # > 2*block_size
    items = [("a", np.arange(3, dtype=np.int64)), ("b" * (2 * BLOCK_SIZE + 5), big),
             ("c", np.ones((2, 2), np.float16)), ("big", big[::-1].copy())]
    _assert_byte_identical(tf, tmp_path, items)


def test_tf_reads_ours_every_dtype(tf: Any, tmp_path: Any) -> None:
    items = _all_dtype_items()
    prefix = str(tmp_path / "ckpt")
    write_bundle(prefix, items)
    restored = tf.raw_ops.RestoreV2(
        prefix=prefix, tensor_names=[k for k, _ in items], shape_and_slices=[""] * len(items),
        dtypes=[tf.constant(v).dtype for _, v in items])
    for (key, value), tensor in zip(items, restored, strict=True):
        assert _same(tensor.numpy(), value), key
    reader = tf.train.load_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(k for k, _ in items)
    assert _same(reader.get_tensor("float32/matrix"), dict(items)["float32/matrix"])
    assert _same(reader.get_tensor("str/vector"), dict(items)["str/vector"])


def test_tf_reads_our_multi_shard_bundle(tf: Any, tmp_path: Any) -> None:
    items = [(f"v{i}", _numeric(np.float32, (i + 1, 7))) for i in range(10)]
    items.append(("names", np.array([b"x", b"yz"], dtype=object)))
    prefix = str(tmp_path / "sharded")
    write_bundle(prefix, items, num_shards=3)
    names = sorted(os.listdir(tmp_path))
    assert names == ["sharded.data-00000-of-00003", "sharded.data-00001-of-00003",
                     "sharded.data-00002-of-00003", "sharded.index"]
    reader = tf.train.load_checkpoint(prefix)
    for key, value in items:
        assert _same(reader.get_tensor(key), value), key
    ours = BundleReader(prefix)
    assert ours.num_shards == 3
    assert {ours.get_entry(k).shard_id for k, _ in items} == {0, 1, 2}
    for key, value in items:
        assert _same(ours.read(key), value)


def test_tf_reads_our_big_endian_bundle(tf: Any, tmp_path: Any) -> None:
    from numkeras.saving.tf_checkpoint.bundle import BundleWriter

    # TensorFlow byte-swaps only its classic dtypes (not float8/int4/...).
    classic = {np.dtype(d).name for d in NUMERIC_DTYPES[:15]} | {"str"}
    items = [(k, v) for k, v in _all_dtype_items() if k.split("/")[0] in classic]
    prefix = str(tmp_path / "be")
    with BundleWriter(prefix, endianness="big") as writer:
        for key, value in items:
            writer.add(key, value)
    restored = tf.raw_ops.RestoreV2(
        prefix=prefix, tensor_names=[k for k, _ in items], shape_and_slices=[""] * len(items),
        dtypes=[tf.constant(v).dtype for _, v in items])
    for (key, value), tensor in zip(items, restored, strict=True):
        assert _same(tensor.numpy(), value), key
    with BundleReader(prefix) as reader:
        assert reader.endianness == "big"
        for key, value in items:
            assert _same(reader.read(key), value), key


def test_we_read_tf_every_dtype(tf: Any, tmp_path: Any) -> None:
    items = _all_dtype_items()
    prefix = str(tmp_path / "tf")
    _tf_save(tf, prefix, items)
    with BundleReader(prefix) as reader:
        assert reader.keys() == sorted(k for k, _ in items)
        for key, value in items:
            entry = reader.get_entry(key)
            assert entry.shape == np.shape(value)
            result = reader.read(key)
            assert _same(result, value), key
            if entry.dtype != DataType.DT_STRING:
                out = np.empty(entry.shape, entry.numpy_dtype)
                assert reader.read(key, out=out) is out
                assert _same(out, value), key


def _graph_text(proto: Any) -> str:
    return text_format.MessageToString(proto)


def test_we_read_tf_checkpoint_write_and_save(tf: Any, tmp_path: Any) -> None:
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    kernel = RNG.standard_normal((3, 4)).astype(np.float32)
    ckpt = tf.train.Checkpoint(v=tf.Variable(kernel), step=tf.Variable(np.int64(7)),
                               nested=tf.train.Checkpoint(s=tf.Variable(b"text")))
    written = ckpt.write(str(tmp_path / "w" / "weights"))
    saved = ckpt.save(str(tmp_path / "s" / "ckpt"))
    assert saved.endswith("ckpt-1")
    for prefix, extra in [(written, []), (saved, ["save_counter/.ATTRIBUTES/VARIABLE_VALUE"])]:
        reader = BundleReader(prefix)
        expected = sorted(["_CHECKPOINTABLE_OBJECT_GRAPH", "v/.ATTRIBUTES/VARIABLE_VALUE",
                           "step/.ATTRIBUTES/VARIABLE_VALUE",
                           "nested/s/.ATTRIBUTES/VARIABLE_VALUE", *extra])
        assert reader.keys() == expected
        assert _same(reader.read("v/.ATTRIBUTES/VARIABLE_VALUE"), kernel)
        assert reader.read("step/.ATTRIBUTES/VARIABLE_VALUE") == 7
        assert reader.read_string("nested/s/.ATTRIBUTES/VARIABLE_VALUE") == b"text"
        raw = reader.read_string("_CHECKPOINTABLE_OBJECT_GRAPH")
        graph = protos.TrackableObjectGraph.FromString(raw)
        assert graph.SerializeToString() == raw
        theirs = trackable_object_graph_pb2.TrackableObjectGraph.FromString(raw)
        assert _graph_text(graph) == _graph_text(theirs)
        root_children = [c.local_name for c in graph.nodes[0].children]
        assert root_children[:3] == ["nested", "step", "v"]
        assert all(n.HasField("has_checkpoint_values") for n in graph.nodes)
        keys = {a.checkpoint_key for n in graph.nodes for a in n.attributes}
        assert keys == set(expected) - {"_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_we_read_tf_sliced_multi_shard_bundle(tf: Any, tmp_path: Any) -> None:
    v = RNG.standard_normal((50, 20)).astype(np.float32)
    w = np.arange(10, dtype=np.int64)
    s = tf.Variable(b"a string")
    ckpt = tf.train.Checkpoint(v=tf.Variable(v), w=tf.Variable(w), s=s)
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=1000)
    prefix = ckpt.write(str(tmp_path / "ck"),
                        options=tf.train.CheckpointOptions(experimental_sharding_callback=policy))
    reader = BundleReader(prefix)
    assert reader.num_shards > 1
    tf_reader = tf.train.load_checkpoint(prefix)
    assert reader.keys() == sorted(tf_reader.get_variable_to_shape_map())
    key = "v/.ATTRIBUTES/VARIABLE_VALUE"
    entry = reader.get_entry(key)
    assert len(entry.slices) > 1  # TF did partition the tensor
    # Our slice-key encoding reproduces every key TF wrote for the slices.
    raw_keys = [k for k, _ in read_table_file(index_filename(prefix))]
    slice_keys = [k for k in raw_keys if k.startswith(b"\x00")]
    assert len(slice_keys) == len(entry.slices)
    decoded = sorted(decode_tensor_name_slice(k) for k in slice_keys)
    assert decoded == sorted((key.encode(), list(e)) for e in entry.slices)
    assert _same(reader.read(key), v)
    out = np.full((50, 20), np.nan, np.float32)
    assert reader.read(key, out=out) is out
    assert _same(out, v)
    fortran = np.asfortranarray(np.zeros((50, 20), np.float32))
    assert _same(reader.read(key, out=fortran), v)
    assert _same(reader.read("w/.ATTRIBUTES/VARIABLE_VALUE"), w)
    assert reader.read_string("s/.ATTRIBUTES/VARIABLE_VALUE") == b"a string"


def test_tf_and_our_protos_agree(tf: Any) -> None:
    from google.protobuf import descriptor_pb2
    from tensorflow.core.framework import (
        tensor_shape_pb2,
        tensor_slice_pb2,
        types_pb2,
        versions_pb2,
    )
    from tensorflow.core.protobuf import tensor_bundle_pb2, trackable_object_graph_pb2
    from tensorflow.python.training import checkpoint_state_pb2

    def shape(descriptor: Any) -> Any:
        proto = descriptor_pb2.DescriptorProto()
        descriptor.CopyToProto(proto)
        proto.ClearField("options")

        def strip(message: Any) -> None:
            for f in message.field:
                f.ClearField("json_name")
                if f.type_name:
                    f.type_name = f.type_name.rsplit(".", 1)[-1]
            for nested in message.nested_type:
                strip(nested)

        strip(proto)
        return proto

    for ours, theirs in [
        (protos.BundleHeaderProto, tensor_bundle_pb2.BundleHeaderProto),
        (protos.BundleEntryProto, tensor_bundle_pb2.BundleEntryProto),
        (protos.TrackableObjectGraph, trackable_object_graph_pb2.TrackableObjectGraph),
        (protos.CheckpointState, checkpoint_state_pb2.CheckpointState),
        (protos.TensorShapeProto, tensor_shape_pb2.TensorShapeProto),
        (protos.TensorSliceProto, tensor_slice_pb2.TensorSliceProto),
        (protos.VersionDef, versions_pb2.VersionDef),
    ]:
        assert shape(ours.DESCRIPTOR) == shape(theirs.DESCRIPTOR), ours.DESCRIPTOR.full_name
    ours_enum = {v.name: v.number for v in protos.POOL.FindEnumTypeByName(
        "tensorflow.DataType").values}
    theirs_enum = {v.name: v.number for v in types_pb2.DataType.DESCRIPTOR.values}
    assert ours_enum == theirs_enum
    assert {m.name: m.value for m in DataType} == {k: v for k, v in theirs_enum.items()
                                                   if v < 100}


def test_numpy_dtype_mapping_matches_tf(tf: Any) -> None:
    from numkeras.saving.tf_checkpoint.dtypes import from_numpy_dtype, to_numpy_dtype

    for dt in NUMERIC_DTYPES:
        tf_dtype = tf.as_dtype(np.dtype(dt))
        assert from_numpy_dtype(dt) == tf_dtype.as_datatype_enum, dt
        assert to_numpy_dtype(tf_dtype.as_datatype_enum) == np.dtype(dt)
    for name in ["qint8", "quint8", "qint32", "qint16", "quint16"]:
        tf_dtype = getattr(tf, name)
        assert to_numpy_dtype(tf_dtype.as_datatype_enum).itemsize == tf_dtype.size


@pytest.mark.parametrize("num_shards", [1, 2])
def test_tf_restores_variables_from_our_checkpoint(tf: Any, tmp_path: Any,
                                                   num_shards: int) -> None:
    """A hand-built object graph + our bundle loads through tf.train.Checkpoint.read."""
    value = RNG.standard_normal((2, 3)).astype(np.float32)
    graph = protos.TrackableObjectGraph()
    root = graph.nodes.add()
    root.children.add(node_id=1, local_name="v")
    root.has_checkpoint_values.value = True
    var = graph.nodes.add()
    var.attributes.add(name="VARIABLE_VALUE", full_name="v",
                       checkpoint_key="v/.ATTRIBUTES/VARIABLE_VALUE")
    var.has_checkpoint_values.value = True
    prefix = str(tmp_path / "obj")
    write_bundle(prefix, [("v/.ATTRIBUTES/VARIABLE_VALUE", value),
                          ("_CHECKPOINTABLE_OBJECT_GRAPH", graph.SerializeToString())],
                 num_shards=num_shards)
    target = tf.Variable(np.zeros((2, 3), np.float32))
    tf.train.Checkpoint(v=target).read(prefix).assert_consumed()
    assert _same(target.numpy(), value)
