"""The private-pool proto classes: generated descriptors are current and self-consistent."""

from __future__ import annotations

import hashlib
from pathlib import Path

from numkeras.saving.tf_checkpoint import protos
from numkeras.saving.tf_checkpoint.protos import _descriptor_set

PROTO_DIR = Path(protos.__file__).parent


def test_descriptor_set_is_up_to_date() -> None:
    """Fails when a .proto changed without running protos/regen.sh."""
    on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
               for p in PROTO_DIR.glob("*.proto")}
    assert on_disk == _descriptor_set.PROTO_SOURCES_SHA256


def test_private_pool_does_not_touch_default_pool() -> None:
    from google.protobuf import descriptor_pool

    assert protos.POOL is not descriptor_pool.Default()
    assert protos.BundleEntryProto.DESCRIPTOR.file.pool is protos.POOL


def test_wire_examples_from_spec() -> None:
    header = protos.BundleHeaderProto(num_shards=1)
    header.version.producer = 1
    assert header.SerializeToString() == bytes.fromhex("08011a020801")
    graph = protos.TrackableObjectGraph()
    root = graph.nodes.add()
    root.children.add(node_id=0, local_name="root")
    root.has_checkpoint_values.SetInParent()
    assert graph.SerializeToString() == bytes.fromhex("0a0a") + bytes.fromhex(
        "0a061204") + b"root" + bytes.fromhex("2a00")
    extent = protos.TensorSliceProto().extent.add(start=3)
    assert not extent.HasField("length")
    extent.length = 0
    assert extent.HasField("length")
