"""TF checkpoint bundles against what TensorFlow wrote, without needing TensorFlow.

``tests/data/tf_checkpoint/`` (written by ``tests/data/regenerate.py checkpoint``) holds bundles
TF 2.21 wrote, the SHA-256 of the files ``SaveV2`` writes for the same tensors we write here,
and TF's own readings (object graphs, keys, checkpoint states, proto descriptors, dtype enums).
The live comparisons are in ``tests/interop/test_bundle_tf_interop.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import descriptor_pb2, text_format

from numkeras.saving.tf_checkpoint import protos
from numkeras.saving.tf_checkpoint.bundle import BundleReader, index_filename, write_bundle
from numkeras.saving.tf_checkpoint.dtypes import DataType, from_numpy_dtype, to_numpy_dtype
from numkeras.saving.tf_checkpoint.slice_keys import decode_tensor_name_slice
from numkeras.saving.tf_checkpoint.sstable import read_table_file
from numkeras.saving.tf_checkpoint.state import (
    format_checkpoint_state,
    get_checkpoint_state,
    latest_checkpoint,
    parse_checkpoint_state,
    update_checkpoint_state,
)

DATA = Path(__file__).resolve().parents[2] / "data"
GOLDEN = DATA / "tf_checkpoint"
_spec = importlib.util.spec_from_file_location("numkeras_tests_golden_bundles",
                                               DATA / "golden_bundles.py")
assert _spec is not None and _spec.loader is not None
gb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gb)
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())


def _digests(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        out[path.name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    return out


@pytest.mark.parametrize("name,items", [
    ("all_dtypes", gb.all_dtype_items),
    ("many_keys", gb.many_keys_items),
    ("large", gb.large_items),
])
def test_byte_identical_to_tf_save_v2(tmp_path: Path, name: str, items: Any) -> None:
    """Same files, same bytes as TF's SaveV2 (every dtype; an index of several blocks; a key
    and a tensor larger than two blocks)."""
    write_bundle(str(tmp_path / "ckpt"), items())
    assert _digests(tmp_path) == MANIFEST["bundles"][name]


def test_byte_identical_all_dtypes_file_by_file(tmp_path: Path) -> None:
    write_bundle(str(tmp_path / "tf"), gb.all_dtype_items())
    for name in ("tf.index", "tf.data-00000-of-00001"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / "all_dtypes" / name).read_bytes()


def test_several_blocks_really_written(tmp_path: Path) -> None:
    write_bundle(str(tmp_path / "ckpt"), gb.many_keys_items())
    assert len(read_table_file(index_filename(tmp_path / "ckpt"))) == 3001
    assert os.path.getsize(index_filename(tmp_path / "ckpt")) > 2 * gb.BLOCK_SIZE


def test_we_read_tf_every_dtype() -> None:
    items = gb.all_dtype_items()
    with BundleReader(str(GOLDEN / "all_dtypes" / "tf")) as reader:
        assert reader.keys() == sorted(k for k, _ in items)
        for key, value in items:
            entry = reader.get_entry(key)
            assert entry.shape == np.shape(value)
            assert gb.same(reader.read(key), value), key
            if entry.dtype != DataType.DT_STRING:
                out = np.empty(entry.shape, entry.numpy_dtype)
                assert reader.read(key, out=out) is out
                assert gb.same(out, value), key


@pytest.mark.parametrize("label", ["w", "s"])
def test_we_read_tf_checkpoint_write_and_save(label: str) -> None:
    recorded = MANIFEST["write_and_save"][label]
    kernel = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    reader = BundleReader(str(GOLDEN / "write_and_save" / recorded["prefix"]))
    extra = ["save_counter/.ATTRIBUTES/VARIABLE_VALUE"] if label == "s" else []
    expected = sorted(["_CHECKPOINTABLE_OBJECT_GRAPH", "v/.ATTRIBUTES/VARIABLE_VALUE",
                       "step/.ATTRIBUTES/VARIABLE_VALUE", "nested/s/.ATTRIBUTES/VARIABLE_VALUE",
                       *extra])
    assert reader.keys() == expected
    assert gb.same(reader.read("v/.ATTRIBUTES/VARIABLE_VALUE"), kernel)
    assert reader.read("step/.ATTRIBUTES/VARIABLE_VALUE") == 7
    assert reader.read_string("nested/s/.ATTRIBUTES/VARIABLE_VALUE") == b"text"
    raw = reader.read_string("_CHECKPOINTABLE_OBJECT_GRAPH")
    graph = protos.TrackableObjectGraph.FromString(raw)
    assert graph.SerializeToString() == raw
    assert text_format.MessageToString(graph) == recorded["graph_text"]
    assert [c.local_name for c in graph.nodes[0].children][:3] == ["nested", "step", "v"]
    assert all(n.HasField("has_checkpoint_values") for n in graph.nodes)
    keys = {a.checkpoint_key for n in graph.nodes for a in n.attributes}
    assert keys == set(expected) - {"_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_we_read_tf_sliced_multi_shard_bundle() -> None:
    v = np.random.default_rng(6).standard_normal((50, 20)).astype(np.float32)
    prefix = str(GOLDEN / "sliced" / MANIFEST["sliced"]["prefix"])
    reader = BundleReader(prefix)
    assert reader.num_shards > 1
    assert reader.keys() == MANIFEST["sliced"]["keys"]
    key = "v/.ATTRIBUTES/VARIABLE_VALUE"
    entry = reader.get_entry(key)
    assert len(entry.slices) > 1  # TF did partition the tensor
    raw_keys = [k for k, _ in read_table_file(index_filename(prefix))]
    slice_keys = [k for k in raw_keys if k.startswith(b"\x00")]
    assert len(slice_keys) == len(entry.slices)
    decoded = sorted(decode_tensor_name_slice(k) for k in slice_keys)
    assert decoded == sorted((key.encode(), list(e)) for e in entry.slices)
    assert gb.same(reader.read(key), v)
    out = np.full((50, 20), np.nan, np.float32)
    assert reader.read(key, out=out) is out
    assert gb.same(out, v)
    fortran = np.asfortranarray(np.zeros((50, 20), np.float32))
    assert gb.same(reader.read(key, out=fortran), v)
    assert gb.same(reader.read("w/.ATTRIBUTES/VARIABLE_VALUE"), np.arange(10, dtype=np.int64))
    assert reader.read_string("s/.ATTRIBUTES/VARIABLE_VALUE") == b"a string"


def _stripped(descriptor: Any) -> str:
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
    return text_format.MessageToString(proto)


@pytest.mark.parametrize("name", sorted(MANIFEST["protos"]))
def test_our_protos_match_tf(name: str) -> None:
    assert _stripped(getattr(protos, name).DESCRIPTOR) == MANIFEST["protos"][name]


def test_datatype_enum_matches_tf() -> None:
    theirs = MANIFEST["datatype_enum"]
    ours = {v.name: v.number for v in protos.POOL.FindEnumTypeByName("tensorflow.DataType").values}
    assert ours == theirs
    assert {m.name: m.value for m in DataType} == {k: v for k, v in theirs.items() if v < 100}


def test_numpy_dtype_mapping_matches_tf() -> None:
    for dt in gb.NUMERIC_DTYPES:
        enum = MANIFEST["numpy_dtypes"][np.dtype(dt).name]
        assert from_numpy_dtype(dt) == enum, dt
        assert to_numpy_dtype(enum) == np.dtype(dt)
    for name, (enum, size) in MANIFEST["quantized"].items():
        assert to_numpy_dtype(enum).itemsize == size, name


def test_parse_tf_checkpoint_manager_file(tmp_path: Path) -> None:
    for path in (GOLDEN / "manager").iterdir():
        shutil.copy(path, tmp_path / path.name)
    text = (tmp_path / "checkpoint").read_text()
    theirs = {k: v.replace("{dir}", str(tmp_path)) if isinstance(v, str) else v
              for k, v in MANIFEST["manager"].items()}
    assert "all_model_checkpoint_timestamps" in text and "last_preserved_timestamp" in text
    raw = parse_checkpoint_state(text)
    assert raw.model_checkpoint_path == "ckpt-3"
    assert raw.all_model_checkpoint_paths == ("ckpt-2", "ckpt-3")
    assert len(raw.all_model_checkpoint_timestamps) == 2
    assert format_checkpoint_state(raw) == text  # byte-identical round trip
    ours = get_checkpoint_state(tmp_path)
    assert ours is not None
    assert ours.model_checkpoint_path == theirs["model_checkpoint_path"]
    assert list(ours.all_model_checkpoint_paths) == [
        p.replace("{dir}", str(tmp_path)) for p in theirs["all_model_checkpoint_paths"]]
    assert list(ours.all_model_checkpoint_timestamps) == theirs["all_model_checkpoint_timestamps"]
    assert ours.last_preserved_timestamp == theirs["last_preserved_timestamp"]
    assert latest_checkpoint(tmp_path) == theirs["latest_checkpoint"]


def test_our_state_file_is_tf_text(tmp_path: Path) -> None:
    update_checkpoint_state(tmp_path, str(tmp_path / "ckpt-7"), [str(tmp_path / "ckpt-6")],
                            all_model_checkpoint_timestamps=[1795896248.959174, 1795896249.5],
                            last_preserved_timestamp=1795896000.125)
    assert (tmp_path / "checkpoint").read_text() == MANIFEST["state_text"]
