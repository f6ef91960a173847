"""Hostile sizes: small files declaring huge shapes, sizes and numbers fail fast and cheaply.

Each file is tiny on disk but declares something enormous: an HDF5 dataset of 2**40
elements (no storage allocated), a TF index entry whose size, offset or shape is huge, a
sharded manifest full of huge or absurd numbers. Loading must raise a clean error
(``ValueError``/``OSError`` naming the file) within seconds, leave the model unchanged, and
allocate little: the peak of Python/NumPy allocations (``tracemalloc``) stays under 50 MB,
so no loader sized a buffer from a declared number before checking it.
"""

from __future__ import annotations

import json
import os
import tracemalloc

import h5py
import pytest
from robustness_formats import CLEAN_ERRORS, FORMATS, assert_same, deadline, small_model, weights

from numkeras.saving.tf_checkpoint import protos
from numkeras.saving.tf_checkpoint.sstable import build_table, read_table_file

PEAK_LIMIT = 50 << 20
HUGE = 2 ** 40


def expect_clean_failure(path: str, name: str = "", load=None):
    """Load ``path`` into a fresh model: clean error naming the file, cheap and quick."""
    target = small_model(2)
    before = weights(target)
    load = load or (lambda m, p: m.load_weights(p))
    tracemalloc.start()
    try:
        with deadline(5.0), pytest.raises(CLEAN_ERRORS) as info:
            load(target, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"peak allocation {peak} bytes"
    assert (name or os.path.basename(path)) in str(info.value), info.value
    assert_same(weights(target), before)
    return info.value


# -- HDF5 -----------------------------------------------------------------------------------

def _huge_dataset(group, name):
    """A float32 dataset of 2**40 elements whose storage is never allocated (chunked)."""
    return group.create_dataset(name, shape=(HUGE,), dtype="float32", chunks=(1024,))


def test_h5_dataset_declaring_2_to_the_40_elements(tmp_path):
    path = FORMATS["h5"].save(small_model(1), str(tmp_path))
    with h5py.File(path, "r+") as f:
        del f["d2/d2/bias:0"]
        _huge_dataset(f["d2/d2"], "bias:0")
    assert os.path.getsize(path) < 1 << 20
    expect_clean_failure(path)


def test_h5_by_name_and_skip_mismatch_with_a_huge_dataset(tmp_path):
    path = FORMATS["h5"].save(small_model(1), str(tmp_path))
    with h5py.File(path, "r+") as f:
        del f["d1/d1/kernel:0"]
        _huge_dataset(f["d1/d1"], "kernel:0")
    expect_clean_failure(path, load=lambda m, p: m.load_weights(p, by_name=True))
    target = small_model(2)
    before = weights(target)
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="d1"):
            target.load_weights(path, by_name=True, skip_mismatch=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT
    assert_same(weights(target)[:2], before[:2])  # the huge layer was skipped


@pytest.mark.parametrize("name", ["weights_h5", "weights_json"])
def test_keras_v3_dataset_declaring_2_to_the_40_elements(tmp_path, name):
    path = FORMATS[name].save(small_model(1), str(tmp_path))
    done = False
    for file in FORMATS[name].files(str(tmp_path)):
        if file.endswith(".h5"):
            with h5py.File(file, "r+") as f:
                if "layers/dense_1/vars/1" in f:
                    del f["layers/dense_1/vars/1"]
                    _huge_dataset(f["layers/dense_1/vars"], "1")
                    done = True
    assert done
    expect_clean_failure(path, name="layers/dense_1")


def test_keras_archive_with_a_huge_weights_dataset(tmp_path):
    import io
    import zipfile

    path = FORMATS["keras"].save(small_model(1), str(tmp_path))
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        del f["layers/dense_1/vars/0"]
        _huge_dataset(f["layers/dense_1/vars"], "0")
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    expect_clean_failure(path)


# -- TF checkpoints -------------------------------------------------------------------------

def _rewrite_entry(prefix: str, key: str, **changes) -> None:
    """Rewrite one BundleEntryProto of ``<prefix>.index`` (table CRCs stay valid)."""
    items = []
    for raw_key, value in read_table_file(prefix + ".index"):
        if raw_key == key.encode():
            entry = protos.BundleEntryProto.FromString(value)
            shape = changes.pop("shape", None)
            if shape is not None:
                del entry.shape.dim[:]
                for dim in shape:
                    entry.shape.dim.add(size=dim)
            for field, val in changes.items():
                setattr(entry, field, val)
            value = entry.SerializeToString()
        items.append((raw_key, value))
    with open(prefix + ".index", "wb") as f:
        f.write(build_table(items))


BIAS = "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE"
GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


@pytest.mark.parametrize("key,changes", [
    (BIAS, {"size": 2 ** 62}),
    (BIAS, {"offset": 2 ** 62}),
    (BIAS, {"shape": [HUGE]}),
    (BIAS, {"shape": [HUGE], "size": HUGE * 4}),
    (BIAS, {"shape": [2 ** 31, 2 ** 31, 2 ** 31]}),
    (GRAPH, {"size": 2 ** 62}),
    (GRAPH, {"shape": [HUGE]}),
    (GRAPH, {"shape": [HUGE], "size": HUGE + 4}),
    (BIAS, {"shard_id": 2 ** 31 - 1}),
], ids=["size", "offset", "shape", "shape+size", "overflowing-shape", "graph-size",
        "graph-shape", "graph-shape+size", "shard-id"])
def test_tf_index_entry_with_huge_numbers(tmp_path, key, changes):
    prefix = FORMATS["tf"].save(small_model(1), str(tmp_path))
    _rewrite_entry(prefix, key, **changes)
    expect_clean_failure(prefix, name=os.path.basename(prefix))


def test_tf_index_footer_with_huge_block_handle(tmp_path):
    prefix = FORMATS["tf"].save(small_model(1), str(tmp_path))
    index = prefix + ".index"
    with open(index, "rb") as f:
        data = bytearray(f.read())
    # footer = metaindex handle, index handle (varints), padding, magic: make the index
    # block's size varint claim ~2**62 bytes.
    footer = len(data) - 48
    huge = bytearray()
    value = 2 ** 62
    while value >= 0x80:
        huge.append((value & 0x7F) | 0x80)
        value >>= 7
    huge.append(value)
    data[footer:footer + 40] = (bytes([0, 0]) + bytes([0]) + bytes(huge)).ljust(40, b"\0")
    with open(index, "wb") as f:
        f.write(data)
    expect_clean_failure(prefix, name="w.index")


# -- sharded manifests ----------------------------------------------------------------------

def _edit_manifest(path: str, edit) -> None:
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(edit(text, json.loads(text)))


@pytest.mark.parametrize("case", ["shard-is-a-number", "shard-list-of-numbers",
                                  "group-maps-to-huge-int", "huge-int-digits",
                                  "deep-nesting"])
def test_manifest_with_huge_numbers(tmp_path, case):
    path = FORMATS["weights_json"].save(small_model(1), str(tmp_path))

    def edit(text, manifest):
        first = next(iter(manifest["weight_map"]))
        if case == "shard-is-a-number":
            manifest["weight_map"][first] = 1e308
        elif case == "shard-list-of-numbers":
            manifest["weight_map"][first] = [2 ** 63, -1, 1e308]
        else:
            raw = {"group-maps-to-huge-int": "9" * 3000,
                   "huge-int-digits": "9" * 100_000,
                   "deep-nesting": "[" * 200_000 + "]" * 200_000}[case]
            manifest["weight_map"][first] = "@RAW@"
            return json.dumps(manifest).replace('"@RAW@"', raw)
        return json.dumps(manifest)

    _edit_manifest(path, edit)
    expect_clean_failure(path)


@pytest.mark.parametrize("total", ["1e999", "-1", "9" * 100_000, "\"huge\"", "null"])
def test_manifest_total_size_is_never_trusted(tmp_path, total):
    """``metadata.total_size`` is informative: absurd values never size anything -- the
    load either succeeds with the right weights or fails cleanly naming the file."""
    source = small_model(1)
    path = FORMATS["weights_json"].save(source, str(tmp_path))
    with open(path) as f:
        manifest = json.load(f)
    text = json.dumps(manifest).replace(json.dumps(manifest["metadata"]["total_size"]), total, 1)
    with open(path, "w") as f:
        f.write(text)
    target = small_model(2)
    before = weights(target)
    tracemalloc.start()
    try:
        with deadline(5.0):
            try:
                target.load_weights(path)
            except CLEAN_ERRORS as exc:
                assert os.path.basename(path) in str(exc), exc
                assert_same(weights(target), before)
            else:
                assert_same(weights(target), weights(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT



def test_verify_does_not_expand_unwritten_chunks(tmp_path):
    """A 30 KB .weights.h5 with a chunked dataset declared 1 GiB but never written (HDF5
    returns fill values): verify allocated 1.3 GB reading it. Datasets declaring more than
    any filter expands their storage to are reported, not read."""
    import shutil

    from numkeras.saving.inspect import verify

    path = str(tmp_path / "w.weights.h5")
    data = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "formats")
    shutil.copy(os.path.join(data, "conv_k3.weights.h5"), path)
    with h5py.File(path, "r+") as f:
        del f["layers/separable_conv2d/vars/2"]
        f["layers/separable_conv2d/vars"].create_dataset("2", shape=(1 << 28,), dtype="f4",
                                                         chunks=(1 << 16,))
    tracemalloc.start()
    try:
        result = verify(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert "separable_conv2d/vars/2" in str(result)
    assert peak < 64 << 20, f"verify allocated {peak >> 20} MiB"
