"""``numkeras.saving.h5raw_write``: the HDF5 encoder behind ``.h5`` / ``.weights.h5`` saves.

The oracle is libhdf5 (through h5py), never this encoder's own reading: every file is opened
by h5py and compared, object by object, with what h5py itself writes for the same
operations (``h5write.Creator`` and ``attrs[...] =``, the path numkeras used before) or for
the same model (the h5py fallback of the savers); libhdf5 must also be able to *modify* the
files (insert into the B-trees, add attributes), which exercises every structure it parses.
"""

from __future__ import annotations

import io
import os

import h5py
import numpy as np
import pytest

import numkeras as nk
from numkeras.saving import formats, h5raw_write, h5write
from numkeras.saving.hdf5 import writer
from numkeras.saving.keras_v3 import writing

# -- an independent description of a file, as libhdf5 reports it --------------------------


def _attr_items(obj) -> list:
    out = []
    for name in obj.attrs:
        aid = h5py.h5a.open(obj.id, name.encode())
        value = obj.attrs[name]
        out.append((name, aid.get_type(), aid.shape, type(value).__name__,
                    np.asarray(value).dtype.str, np.asarray(value).tolist()))
    return out


def describe(f) -> list:
    """Every object in h5py's iteration order: path, kind, attributes (name, HDF5 type,
    shape, value), and for datasets the shape, HDF5 type, storage size and bytes."""
    out = []

    def visit(group, path):
        out.append((path, "group", _attr_items(group)))
        for key in group:
            obj = group[key]
            sub = f"{path}/{key}"
            if isinstance(obj, h5py.Group):
                visit(obj, sub)
            else:
                out.append((sub, "dataset", obj.shape, obj.id.get_type(), obj.dtype.str,
                            obj[()].tobytes() if obj.size else b"", _attr_items(obj)))

    visit(f, "")
    return out


def assert_same_files(ours, reference) -> None:
    """``ours`` and ``reference``: paths or a file's bytes."""
    def opened(x):
        return h5py.File(io.BytesIO(x) if isinstance(x, (bytes, bytearray)) else x, "r")

    with opened(ours) as a, opened(reference) as b:
        got, want = describe(a), describe(b)
    assert [g[0] for g in got] == [w[0] for w in want]
    for g, w in zip(got, want):
        assert g == w, (g, w)


# -- one list of operations, applied by the encoder and by h5py -----------------------------

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool"]


def _value(dtype: str, shape: tuple, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 50).astype(dtype)


def _operations() -> list:
    ops = [("attr", "", "layer_names", np.array([b"a", b"bb", b"ccc"])),
           ("attr", "", "backend", np.bytes_(b"tensorflow")),
           ("attr", "", "keras_version", "3.15.1"),
           ("attr", "", "model_config", b'{"class_name": "Functional"}'),
           ("attr", "", "empty_names", np.array([], dtype="float64")),
           ("attr", "", "empty_text", ""),
           ("attr", "", "unicode", "caf\u00e9 \u4e2d"),
           ("group", "no_weights"),
           ("group", "caf\u00e9/\u4e2d"),
           ("dataset", "caf\u00e9/k\u00e9rnel:0", np.ones(2)),
           ("group", "deep/er/still"),
           ("attr", "deep/er/still", "name", "still")]
    for i, dtype in enumerate(DTYPES):
        for shape in [(), (0,), (3, 0, 2), (5,), (2, 3, 4)]:
            ops.append(("dataset", f"types/{dtype}/{'x'.join(map(str, shape)) or 's'}",
                        _value(dtype, shape, i)))
    ops.append(("dataset", "types/fortran", np.asfortranarray(_value("float32", (3, 4)))))
    ops.append(("dataset", "types/strided", _value("float64", (6, 4))[::2, 1:]))
    long = "a_rather_long_layer_name_" * 12
    ops += [("group", long), ("dataset", f"{long}/{long}/kernel:0", _value("float32", (2, 2))),
            ("attr", long, "weight_names", np.array([f"{long}/kernel:0".encode()]))]
    return ops


def _apply_encoder(ops) -> h5raw_write.Group:
    root = h5raw_write.Group()
    for op in ops:
        if op[0] == "group":
            root.group(op[1])
        elif op[0] == "dataset":
            root.dataset(op[1], op[2])
        else:
            target = root.group(op[1], new=False) if op[1] else root
            target.attribute(op[2], op[3])
    return root


def _apply_h5py(ops, f) -> None:
    make = h5write.Creator()
    for op in ops:
        if op[0] == "group":
            make.group(f.id, op[1])
        elif op[0] == "dataset":
            make.dataset(f.id, op[1], op[2])
        else:
            (f[op[1]] if op[1] else f).attrs[op[2]] = op[3]


def _h5py_bytes(ops) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _apply_h5py(ops, f)
    return buf.getvalue()


def test_every_dtype_shape_and_attribute_kind_reads_back_as_h5py_wrote_it():
    ops = _operations()
    assert_same_files(h5raw_write.to_bytes(_apply_encoder(ops)), _h5py_bytes(ops))


@pytest.mark.parametrize("count", [0, 1, 8, 9, 33, 257, 3000])
def test_groups_with_many_children(count):
    """One symbol table node holds 8 entries and one B-tree node 32 children: these counts
    need zero, one, two and three B-tree levels."""
    ops = [("group", "g")]
    for i in range(count):
        ops.append(("group", f"g/layer_{i:05d}"))
        ops.append(("attr", f"g/layer_{i:05d}", "name", f"layer_{i}"))
        ops.append(("dataset", f"g/d_{(i * 7919) % max(count, 1):05d}_{i}",
                    np.full((2,), i, "int32")))
    ours = h5raw_write.to_bytes(_apply_encoder(ops))
    assert_same_files(ours, _h5py_bytes(ops))
    with h5py.File(io.BytesIO(ours), "r") as f:  # lookups by name go through the B-tree
        for i in range(0, count, max(1, count // 50)):
            assert f[f"g/layer_{i:05d}"].attrs["name"] == f"layer_{i}"
            assert f["g"].get(f"layer_{i:05d}x") is None


def test_libhdf5_can_modify_the_files(tmp_path):
    """libhdf5 inserts into the B-trees and heaps, and extends object headers, of a file the
    encoder wrote; the result is read back whole."""
    ops = [("group", "g"), ("attr", "", "note", "x")]
    ops += [("dataset", f"g/w_{i:04d}", np.arange(i % 5, dtype="float32")) for i in range(700)]
    path = str(tmp_path / "m.h5")
    h5raw_write.write_file(path, _apply_encoder(ops))
    with h5py.File(path, "r+") as f:
        for i in range(300):
            f["g"].create_group(f"new_{i:04d}")
            f["g"].create_dataset(f"w_{i:04d}_b", data=np.ones(3))
        f.attrs["more"] = np.arange(100)
        f["g/w_0003"].attrs["unit"] = "m"
        del f["g/w_0004"]
    with h5py.File(path, "r") as f:
        names = list(f["g"])
        assert len(names) == 700 + 600 - 1 and names == sorted(names)
        assert f["g/w_0003"].attrs["unit"] == "m" and f.attrs["note"] == "x"
        np.testing.assert_array_equal(f["g/w_0698"][()], np.arange(3, dtype="float32"))
        assert f.attrs["more"].sum() == 4950


def test_superblock_version_0_and_exact_size(tmp_path):
    path = str(tmp_path / "x.h5")
    h5raw_write.write_file(path, _apply_encoder(_operations()))
    with open(path, "rb") as f:
        head = f.read(16)
    assert head[:8] == formats.HDF5_MAGIC and head[8] == 0  # superblock version 0
    with h5py.File(path, "r") as f:
        assert f.id.get_filesize() == os.path.getsize(path)
        assert h5py.h5o.get_info(f.id).num_attrs == 7
        count = []
        f.visititems(lambda name, obj: count.append(h5py.h5o.get_info(obj.id).rc))
        assert count and set(count) == {1}  # every object linked once


def test_files_are_deterministic_and_data_is_aligned(tmp_path):
    ops = _operations()
    a = h5raw_write.to_bytes(_apply_encoder(ops))
    assert a == h5raw_write.to_bytes(_apply_encoder(ops))
    with h5py.File(io.BytesIO(a), "r") as f:
        offsets = [f[p].id.get_offset() for p in ("types/float32/2x3x4", "types/int8/5")]
    assert all(o % 64 == 0 for o in offsets)


@pytest.mark.parametrize("op", [
    ("dataset", "x", np.zeros(2, dtype=np.complex64)),
    ("dataset", "x", np.zeros(2, dtype=">f4")),
    ("dataset", "x", np.zeros(2, dtype=object)),
    ("dataset", "a//b", np.zeros(2)),
    ("attr", "", "big", np.zeros(9000)),
])
def test_what_is_not_covered_raises_unsupported_before_writing(op):
    with pytest.raises(h5raw_write.Unsupported):
        _apply_encoder([op])


def test_a_dataset_and_a_group_at_one_path_are_unsupported():
    root = h5raw_write.Group()
    root.dataset("a", np.zeros(1))
    with pytest.raises(h5raw_write.Unsupported):
        root.dataset("a/b", np.zeros(1))
    with pytest.raises(h5raw_write.Unsupported):
        root.group("a")


def test_tensors_are_written_from_their_buffers(monkeypatch, tmp_path):
    """The buffers given to ``pwritev`` are the arrays' own memory (no copy)."""
    big = np.arange(1 << 16, dtype="float32")
    root = h5raw_write.Group()
    root.dataset("big", big)
    seen = []
    real = os.pwritev

    def spy(fd, buffers, offset):
        seen.extend(buffers)
        return real(fd, buffers, offset)

    monkeypatch.setattr(h5raw_write.os, "pwritev", spy)
    h5raw_write.write_file(str(tmp_path / "b.h5"), root)
    assert any(np.shares_memory(np.frombuffer(b, dtype="uint8"), big) for b in seen)


def test_short_writes_are_resumed(monkeypatch, tmp_path):
    ops = _operations()
    real = os.pwritev

    def short(fd, buffers, offset):  # at most 100 bytes per call
        left, out = 100, []
        for b in buffers:
            b = memoryview(b)[:left]
            out.append(b)
            left -= len(b)
            if not left:
                break
        return real(fd, out, offset)

    monkeypatch.setattr(h5raw_write.os, "pwritev", short)
    path = str(tmp_path / "s.h5")
    h5raw_write.write_file(path, _apply_encoder(ops))
    with open(path, "rb") as f:
        assert f.read() == h5raw_write.to_bytes(_apply_encoder(ops))


# -- whole models: the savers' encoder path against their h5py path ------------------------


class _Typed(nk.layers.Layer):
    """A layer with weights of every dtype, a scalar and an empty one."""

    def build(self, input_shape):
        for dtype in DTYPES:
            self.add_weight(name=f"w_{dtype}", shape=(2, 3), dtype=dtype, initializer="ones")
        self.add_weight(name="scalar", shape=(), initializer="ones")
        self.add_weight(name="empty", shape=(0, 4), initializer="zeros")
        super().build(input_shape)

    def call(self, x):
        return x


def _models():
    nk.backend.clear_session()
    inp = nk.Input((4,))
    inner = nk.Sequential([nk.layers.Dense(3), nk.layers.BatchNormalization()], name="inner")
    x = nk.layers.Dense(4, name="first")(inp)
    x = nk.layers.Dropout(0.5)(x)
    x = _Typed(name="typed")(x)
    x = inner(x)
    nested = nk.Model(inp, nk.layers.Dense(2, name="x" * 300)(x))
    inp = nk.Input((3,))
    many = nk.Model(inp, [nk.layers.Dense(2, name=f"d{i:03d}")(inp) for i in range(300)])
    models = {"nested": nested, "many": many}
    for i, model in enumerate(models.values()):
        rng = np.random.default_rng(i)
        model.set_weights([(rng.standard_normal(w.shape) * 9).astype(w.dtype)
                           for w in model.get_weights()])
    return models


@pytest.mark.parametrize("name", ["nested", "many"])
@pytest.mark.parametrize("suffix", [".h5", ".weights.h5"])
def test_saved_model_files_read_back_as_the_h5py_path_wrote_them(tmp_path, monkeypatch,
                                                                 name, suffix):
    model = _models()[name]
    fast, slow = str(tmp_path / f"fast{suffix}"), str(tmp_path / f"slow{suffix}")
    model.save_weights(fast)
    with monkeypatch.context() as m:  # the savers' h5py path, as numkeras wrote before
        m.setattr(writer, "weights_tree", lambda *args: None)
        m.setattr(writing, "vars_tree", lambda *args: None)
        model.save_weights(slow)
    assert_same_files(fast, slow)
    fresh = _models()[name]
    fresh.load_weights(fast)
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_full_model_h5_reads_back_as_the_h5py_path_wrote_it(tmp_path, monkeypatch):
    """``model.save("m.h5")``: a config of more than 64 KiB (a variable-length string, in a
    global heap) and optimizer state."""
    from numkeras.saving.hdf5 import model_writer

    inp = nk.Input((3,))
    model = nk.Model(inp, [nk.layers.Dense(2, name=f"{i:03d}_" + "long_name" * 20)(inp)
                           for i in range(80)])
    model.compile(optimizer=nk.optimizers.Adam(0.01), loss="mse")
    grads = [np.full(v.shape, 0.1, v.dtype) for v in model.trainable_weights]
    model.optimizer.apply_gradients(zip(grads, model.trainable_weights))
    fast, slow = str(tmp_path / "fast.h5"), str(tmp_path / "slow.h5")
    model.save(fast)
    monkeypatch.setattr(model_writer, "_model_tree", lambda *args: None)
    model.save(slow)
    assert_same_files(fast, slow)
    with h5py.File(fast, "r") as f:
        assert len(f.attrs["model_config"]) > 1 << 16
        assert len(f["optimizer_weights"].attrs["weight_names"]) == 1 + 2 * 160


def test_keras_archive_weights_member_is_encoded(tmp_path, monkeypatch):
    model = _models()["nested"]
    fast = writing.h5_bytes(model)
    monkeypatch.setattr(writing, "vars_tree", lambda *args: None)
    assert_same_files(fast, writing.h5_bytes(model))


def test_bfloat16_falls_back_to_h5py(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")

    class Half(nk.layers.Layer):
        def build(self, input_shape):
            self.add_weight(name="b", shape=(3,), dtype=ml_dtypes.bfloat16, initializer="ones")
            super().build(input_shape)

        def call(self, x):
            return x

    inp = nk.Input((2,))
    model = nk.Model(inp, Half()(inp))
    assert writing.vars_tree(writing.union_entries(model)) is None
    path = str(tmp_path / "b.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert [f[p].attrs["dtype"] for p in _datasets(f)] == ["bfloat16"]


def _datasets(f) -> list:
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) else None)
    return out


def test_numkeras_fast_loader_checks_accept_the_files(tmp_path):
    """``h5scan``'s one-pass checks (used by the loaders) accept every number dataset."""
    from numkeras.saving import h5scan

    model = _models()["nested"]
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        tree = h5scan.hard_tree(f)
        assert tree is not None
        for p in _datasets(f):
            info = h5scan.plain_dataset(f.id, p, f.id.fileno, attributes=False)
            # (bool and 1-byte integers go the full checks, for files h5py writes too)
            if f[p].size and f[p].dtype.kind in "fiu" and f[p].dtype.itemsize > 1:
                assert info is not None and info.offset == f[p].id.get_offset(), p
