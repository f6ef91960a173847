"""``numkeras.saving.h5raw_read`` against libhdf5 (through h5py) as the oracle: for files
written by h5py under many settings and by TensorFlow (``tests/data/formats``), the tree
either is ``None`` (the loaders then use h5py) or says exactly what h5py says -- the same
members in the same order, the same attributes and values, the same plain datasets at the
same offsets (``h5scan.plain_dataset``). Damaged structures give ``None`` or a tree that
still agrees with h5py, never an exception, a hang or a read outside the file."""

from __future__ import annotations

import glob
import os
import struct

import h5py
import numpy as np
import pytest

from numkeras.saving import h5common, h5raw_read, h5scan

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "formats")


def _tree(path):
    with open(path, "rb") as f:
        return h5raw_read.tree_of_fd(f.fileno())


def _tree_of_bytes(data: bytes):
    return h5raw_read.read_tree(lambda at, n: data[at:at + n], len(data))


def assert_agrees(path, tree, damaged=False):
    """Every statement of ``tree`` is what h5py says of the file at ``path`` (``damaged``:
    the tree may leave more datasets to h5py than ``h5scan`` would)."""
    with h5py.File(path, "r") as f:
        stack = [("", f, tree)]
        while stack:
            name, obj, node = stack.pop()
            if obj is None:  # a dataset the tree leaves to h5py (libhdf5 may refuse it)
                assert node.kind != h5raw_read.GROUP and node.info is None, name
                continue
            _assert_attrs(obj, node, name)
            if node.kind == h5raw_read.GROUP:
                assert isinstance(obj, h5py.Group), name
                assert list(node.children) == list(obj), name  # h5py's iteration order
                for key, child in node.children.items():
                    assert isinstance(obj.get(key, getlink=True), h5py.HardLink)
                    opened = obj[key] if child.kind == h5raw_read.GROUP or child.info \
                        else _try_open(obj, key)
                    stack.append((f"{name}/{key}", opened, child))
            elif node.kind == h5raw_read.DATASET:
                assert isinstance(obj, h5py.Dataset), name
                expected = h5scan.plain_dataset(f.id, name.lstrip("/"), f.id.fileno)
                if node.info is None:
                    # (libhdf5 gives a dataset of no bytes an offset past 2**64 in a file
                    # with a user block, which wraps around: the tree leaves it to h5py)
                    assert expected is None or expected.size == 0 or damaged, name
                else:
                    assert expected is not None, name
                    assert (node.info.shape, node.info.dtype, node.info.offset,
                            node.info.size) == (expected.shape, expected.dtype,
                                                expected.offset, expected.size), name
                    raw = np.fromfile(path, node.info.dtype, int(np.prod(node.info.shape)),
                                      offset=node.info.offset)
                    np.testing.assert_array_equal(raw.reshape(node.info.shape), obj[()])
            else:
                assert isinstance(obj, h5py.Datatype), name


def _try_open(group, key):
    try:
        return group[key]
    except (KeyError, OSError, RuntimeError, ValueError):
        return None


def _assert_attrs(obj, node, name):
    if node.attrs is None:
        return
    assert sorted(node.attrs) == sorted(obj.attrs), name
    for key, value in node.attrs.items():
        if value is h5raw_read.UNREAD:
            continue
        expected = h5common.read_attr(obj, key)
        assert type(value) is type(expected), (name, key)
        if isinstance(expected, np.ndarray):
            assert value.dtype == expected.dtype and value.shape == expected.shape
            assert value.tolist() == expected.tolist(), (name, key)
        else:
            assert value == expected, (name, key)


def _fill(f, track_order=None):
    f.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
    f.attrs["keras_version"] = np.bytes_(b"2.21.0")
    f.attrs["backend"] = "tensorflow"  # a variable-length str
    f.attrs["number"] = 3.5
    f.attrs["empty"] = np.array([], dtype="float64")
    f.attrs.create("vlen_list", ["a", "bé", ""], dtype=h5py.string_dtype())
    f.attrs.create("ascii_vlen", [b"x", b"yz"], dtype=h5py.string_dtype("ascii"))
    f.attrs["fixed_utf8"] = np.array(["ü".encode()], dtype=h5py.string_dtype("utf-8", 4))
    g = f.create_group("dense", track_order=track_order)
    g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
    g.create_dataset("dense/kernel:0", data=np.arange(6, dtype="float32").reshape(2, 3))
    g.create_dataset("dense/bias:0", data=np.zeros(3, "float32"))
    for dtype in ("<f2", ">f4", "<f8", ">f8", "<i1", "<u2", ">i4", "<i8", "<u8"):
        f.create_dataset(f"types/{dtype}", data=np.arange(5).astype(dtype))
    f.create_dataset("types/bool", data=np.array([True, False]))
    f.create_dataset("types/complex", data=np.ones(2, "complex64"))
    f.create_dataset("types/strings", data=np.array([b"ab", b"c"]))
    f.create_dataset("types/scalar", data=np.float32(2))
    f.create_dataset("types/zero", data=np.zeros((0, 3), "float32"))
    f.create_dataset("types/unwritten", shape=(4,), dtype="float32")
    f.create_dataset("layout/chunked", data=np.ones(8, "float32"), chunks=(4,))
    f.create_dataset("layout/gzip", data=np.ones(8, "float32"), compression="gzip")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((3,))
    h5py.h5d.create(f.id, b"layout/compact", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    f.create_dataset("with_attr", data=np.ones(2, "float32")).attrs["dtype"] = "bfloat16"
    f["committed"] = np.dtype("float32")
    f.create_dataset("uses_committed", data=np.ones(2, "float32"), dtype=f["committed"])
    f.create_group("empty_group")
    many = f.create_group("many")
    for i in range(300):  # a B-tree of several levels
        many.create_dataset(f"w{i:03d}", data=np.full(2, i, "float32"))


SETTINGS = {
    "earliest": dict(libver="earliest"),
    "latest": dict(libver="latest"),
    "v108": dict(libver=("v108", "latest")),
    "userblock": dict(userblock_size=1024),
    "track_order": dict(track_order=True),
    "small_k": dict(fs_strategy="page"),  # another free-space strategy
}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_h5py_files_agree_with_h5py(tmp_path, setting):
    path = tmp_path / "f.h5"
    kwargs = dict(SETTINGS[setting])
    track = kwargs.pop("track_order", None)
    with h5py.File(path, "w", track_order=track, **kwargs) as f:
        _fill(f, track)
    tree = _tree(path)
    if setting in ("earliest", "userblock"):
        assert tree is not None  # h5py's defaults: the subset, read without h5py
        assert tree.children["many"].children.keys() == {f"w{i:03d}" for i in range(300)}
        info = tree.children["dense"].find("dense/kernel:0").info
        assert info.shape == (2, 3) and info.dtype == np.dtype("float32")
        assert tree.attrs["number"] is h5raw_read.UNREAD
        assert tree.children["committed"].kind == h5raw_read.OTHER
        assert tree.children["uses_committed"].info is None
    if tree is not None:
        assert_agrees(path, tree)


def test_attributes_in_dense_storage_give_none(tmp_path):
    path = tmp_path / "dense.h5"
    with h5py.File(path, "w") as f:
        f["plain"] = np.ones(2, "float32")
        dense = f.create_dataset("d", data=np.ones(2, "float32"), track_order=True)
        for i in range(20):  # past 8 attributes with creation order: a fractal heap
            dense.attrs[f"a{i:02d}"] = np.array([b"x" * 10])
    assert _tree(path) is None  # (its object header is a version 2 one)


def test_other_offset_sizes_give_none(tmp_path):
    path = tmp_path / "k.h5"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(4, 4)  # 4-byte offsets and lengths (Keras writers use 8)
    fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    with h5py.File(fid) as f:
        f["a"] = np.ones(2, "float32")
    assert _tree(path) is None


def test_links_other_than_hard_links_give_none(tmp_path):
    for kind in ("soft", "external", "twice"):
        path = tmp_path / f"{kind}.h5"
        with h5py.File(path, "w") as f:
            f["a"] = np.ones(2)
            if kind == "soft":
                f["b"] = h5py.SoftLink("/a")
            elif kind == "external":
                f["b"] = h5py.ExternalLink("other.h5", "/x")
            else:
                f["b"] = f["a"]
        assert _tree(path) is None, kind


def test_non_ascii_names(tmp_path):
    path = tmp_path / "u.h5"
    with h5py.File(path, "w") as f:
        f["dénse/kernel:0"] = np.ones(2, "float32")  # UTF-8 links make new-style groups
        f["plain"] = np.ones(2, "float32")
    tree = _tree(path)
    if tree is not None:
        assert_agrees(path, tree)


def test_attribute_names_and_values_in_every_message_version(tmp_path):
    path = tmp_path / "a.h5"
    with h5py.File(path, "w", libver=("earliest", "v108")) as f:
        f.attrs["ascii"] = np.array([b"a", b"bc"])
        f.attrs["näme"] = np.array([b"x"])  # attribute message version 3 (UTF-8 name)
        f.attrs["scalar"] = np.bytes_(b"s")
    tree = _tree(path)
    assert tree is not None
    assert tree.attrs["näme"].tolist() == [b"x"]
    assert_agrees(path, tree)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(DATA, "*.h5")))
                         + sorted(glob.glob(os.path.join(DATA, "*.weights.h5"))))
def test_tensorflow_written_files_agree(path):
    tree = _tree(path)
    assert tree is not None, path  # TF writes h5py's defaults
    assert_agrees(path, tree)


# -- damage --------------------------------------------------------------------------------

def _written(tmp_path, members=40) -> bytes:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"g"])
        g = f.create_group("g")
        g.attrs["weight_names"] = ["w0", "w1"]
        for i in range(members):
            g.create_dataset(f"w{i}", data=np.full(3, i, "float32"))
    return path.read_bytes()


def _find(data: bytes, sig: bytes, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = data.index(sig, at + 1)
    return at


def _check_damaged(data: bytes, tmp_path):
    """The tree of damaged bytes: ``None``, or one that h5py confirms."""
    tree = _tree_of_bytes(data)
    if tree is not None:
        path = tmp_path / "damaged.h5"
        path.write_bytes(data)
        try:
            h5py.File(path, "r").close()
        except OSError:
            return tree
        try:
            assert_agrees(path, tree, damaged=True)
        except (KeyError, RuntimeError, OSError):  # h5py cannot follow what the tree read
            pytest.fail("the tree read a structure libhdf5 refuses")
    return tree


def test_truncations_give_none_or_an_agreeing_tree(tmp_path):
    data = _written(tmp_path)
    for cut in range(0, len(data), max(1, len(data) // 97)):
        tree = _tree_of_bytes(data[:cut])
        if tree is not None:  # only possible if every structure lies before the cut
            for node in tree.children["g"].children.values():
                assert node.info is None or node.info.offset + node.info.size <= len(data)


def test_truncated_b_tree_gives_none(tmp_path):
    data = _written(tmp_path)
    at = _find(data, b"TREE", 1)  # the group's B-tree (the root's is the first)
    assert _tree_of_bytes(data[:at + 30]) is None


def test_cyclic_b_tree_gives_none(tmp_path):
    data = bytearray(_written(tmp_path, members=300))
    at = _find(data, b"TREE", 1)
    assert data[at + 5] == 1  # 300 members: a node over leaf nodes over symbol table nodes
    struct.pack_into("<Q", data, at + 24 + 8, at)  # child 0 -> this node
    assert _tree_of_bytes(bytes(data)) is None
    data[at + 5] = 2  # ... and it claims to be one level higher
    assert _tree_of_bytes(bytes(data)) is None


def test_cyclic_continuation_gives_none(tmp_path):
    data = bytearray(_written(tmp_path))
    # the group "g" has its attribute and symbol table in a continuation block: point the
    # continuation message at the object header itself
    with h5py.File(tmp_path / "d.h5", "r") as f:
        addr = h5py.h5o.get_info(f["g"].id).addr
    p = addr + 16
    kind, size = struct.unpack_from("<HH", data, p)
    while kind != 0x10:
        p += 8 + size
        kind, size = struct.unpack_from("<HH", data, p)
    struct.pack_into("<QQ", data, p + 8, addr + 16, struct.unpack_from("<I", data, addr + 8)[0])
    assert _tree_of_bytes(bytes(data)) is None


def test_offsets_past_the_end_give_none(tmp_path):
    data = bytearray(_written(tmp_path))
    at = _find(data, b"HEAP", 1)
    struct.pack_into("<Q", data, at + 24, len(data) + 4096)  # the heap's data segment
    assert _tree_of_bytes(bytes(data)) is None
    data = bytearray(_written(tmp_path))
    at = _find(data, b"SNOD", 0)
    struct.pack_into("<Q", data, at + 8 + 8, 1 << 62)  # an entry's object header
    assert _tree_of_bytes(bytes(data)) is None


def test_unsorted_keys_give_none(tmp_path):
    data = bytearray(_written(tmp_path))
    at = _find(data, b"SNOD", 0)
    first = struct.unpack_from("<Q", data, at + 8)[0]
    second = struct.unpack_from("<Q", data, at + 8 + 40)[0]
    struct.pack_into("<Q", data, at + 8, second)  # two entries with one name
    struct.pack_into("<Q", data, at + 8 + 40, first)
    assert _tree_of_bytes(bytes(data)) is None


def test_huge_dimensions_make_no_plain_dataset(tmp_path):
    data = bytearray(_written(tmp_path, members=1))
    with h5py.File(tmp_path / "d.h5", "r") as f:
        addr = h5py.h5o.get_info(f["g/w0"].id).addr
    p = addr + 16
    kind, size = struct.unpack_from("<HH", data, p)
    while kind != 0x01:
        p += 8 + size
        kind, size = struct.unpack_from("<HH", data, p)
    struct.pack_into("<Q", data, p + 8 + 8, 1 << 60)  # dims[0] past max dims[0]
    assert _tree_of_bytes(bytes(data)) is None  # (libhdf5 refuses to open it)
    struct.pack_into("<Q", data, p + 8 + 16, 1 << 60)  # max dims[0] too
    tree = _tree_of_bytes(bytes(data))
    assert tree is not None and tree.children["g"].children["w0"].info is None


def test_random_damage_never_raises(tmp_path):
    data = _written(tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(400):
        damaged = bytearray(data)
        for at in rng.integers(0, 4096, size=3):  # the metadata at the start
            damaged[at] = rng.integers(0, 256)
        _check_damaged(bytes(damaged), tmp_path)


def test_objects_are_counted(tmp_path, monkeypatch):
    data = _written(tmp_path)
    monkeypatch.setattr(h5raw_read, "MAX_OBJECTS", 10)
    assert _tree_of_bytes(data) is None


def test_big_files_are_read_structure_by_structure(tmp_path, monkeypatch):
    path = tmp_path / "b.h5"
    with h5py.File(path, "w") as f:
        _fill(f)
    monkeypatch.setattr(h5raw_read, "WHOLE_FILE", 0)
    reads = []
    data = path.read_bytes()

    def read_at(at, n):
        reads.append(n)
        return data[at:at + n]

    tree = h5raw_read.read_tree(read_at, len(data))
    assert tree is not None and max(reads) < len(data)
    assert_agrees(path, tree)


def test_groups_of_many_members(tmp_path):
    path = tmp_path / "many.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("g")
        for i in range(1000):  # symbol table nodes full, a B-tree of three levels
            g.create_group(f"{i:04d}")
    tree = _tree(path)
    assert tree is not None and len(tree.children["g"].children) == 1000
    assert_agrees(path, tree)


def test_entries_of_large_nodes_are_unpacked_without_a_format_per_count():
    rng = np.random.default_rng(0)
    fields = rng.integers(0, 2**32, size=(40, 5)).tolist()
    data = b"xx" + b"".join(struct.pack("<QQI4xQQ", *f) for f in fields)
    for count in (3, 17, 40):
        assert list(h5raw_read._entries(data, 2, count)) == \
            [v for f in fields[:count] for v in f]


def test_searching_names_has_one_budget_per_file(tmp_path):
    """Local heaps may share their data; the bytes searched for names' ends are counted for
    the whole file, so that many heaps over one segment without a terminator end quickly."""
    data = _written(tmp_path)
    reader = h5raw_read._Reader(lambda at, n: data[at:at + n], len(data))
    reader.name_budget = 8  # less than the names of this file need
    with pytest.raises(h5raw_read.Unsure):
        reader.root()
    assert _tree_of_bytes(data) is not None


@pytest.mark.parametrize("layout", ["chunked", "compact", "unwritten", "committed"])
def test_headers_of_one_layout_are_never_taken_for_plain_ones(tmp_path, layout):
    """Dataset headers of one layout are decoded from the first one seen (``learn``): a
    layout that is not plain must not make the next headers of that size plain."""
    path = tmp_path / "same.h5"
    with h5py.File(path, "w") as f:
        f["t"] = np.dtype("float32")
        for i in range(6):
            name = f"d{i}"
            if layout == "chunked":
                f.create_dataset(name, data=np.full(8, i, "float32"), chunks=(8,))
            elif layout == "compact":
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_layout(h5py.h5d.COMPACT)
                space = h5py.h5s.create_simple((8,))
                h5py.h5d.create(f.id, name.encode(), h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
            elif layout == "unwritten":
                f.create_dataset(name, shape=(8,), dtype="float32")
            else:
                f.create_dataset(name, data=np.full(8, i, "float32"), dtype=f["t"])
    tree = _tree(path)
    assert tree is not None
    assert all(tree.children[f"d{i}"].info is None for i in range(6))
    assert_agrees(path, tree)
