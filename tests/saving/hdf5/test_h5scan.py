"""``numkeras.saving.h5scan``: the fast paths accept only plain contiguous datasets of
standard number types reached through hard links (everything else goes to the full checks,
whose refusals ``tests/robustness/test_hdf5_features.py`` covers), and ``read_into`` fills
buffers with the right bytes or fails naming the file."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from numkeras.saving import h5scan


@pytest.fixture()
def h5(tmp_path):
    path = tmp_path / "f.h5"
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=np.ones(3, "float32"))
    with h5py.File(path, "w") as f:
        f.create_dataset("plain", data=np.arange(6, dtype="float32").reshape(2, 3))
        f.create_dataset("big_endian", data=np.arange(4, dtype=">f8"))
        f.create_dataset("int", data=np.arange(4, dtype="int64"))
        f.create_dataset("chunked", data=np.ones(4, "float32"), chunks=(2,))
        f.create_dataset("gzip", data=np.ones(4, "float32"), compression="gzip")
        f.create_dataset("compact", data=np.ones(4, "float32"),
                         dcpl=_compact_dcpl())
        f.create_dataset("strings", data=np.array([b"a", b"b"]))
        f.create_dataset("bools", data=np.array([True, False]))
        f.create_dataset("empty", shape=(3,), dtype="float32")  # never written
        f.create_dataset("with_attr", data=np.ones(2, "float32")).attrs["dtype"] = "x"
        f["soft"] = h5py.SoftLink("/plain")
        f["external"] = h5py.ExternalLink(str(other), "x")
        f["g/nested"] = np.ones(2, "float32")
    with h5py.File(path, "r") as f:
        yield f


def _compact_dcpl():
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    return dcpl


def test_plain_datasets_are_accepted_with_their_offsets(h5):
    raw = open(h5.filename, "rb").read()
    for name, dtype in [("plain", "<f4"), ("big_endian", ">f8"), ("int", "<i8"),
                        ("g/nested", "<f4")]:
        info = h5scan.plain_dataset(h5.id, name, h5.id.fileno)
        assert info is not None, name
        assert info.dtype == np.dtype(dtype) and info.shape == h5[name].shape
        stored = np.frombuffer(raw[info.offset:info.offset + info.size], dtype)
        np.testing.assert_array_equal(stored.reshape(info.shape), h5[name][()])


@pytest.mark.parametrize("name", ["chunked", "gzip", "compact", "strings", "bools", "empty",
                                  "soft", "external", "missing"])
def test_everything_else_goes_to_the_full_checks(h5, name):
    assert h5scan.plain_dataset(h5.id, name, h5.id.fileno) is None


def test_datasets_with_attributes_only_when_allowed(h5):
    assert h5scan.plain_dataset(h5.id, "with_attr", h5.id.fileno) is not None
    assert h5scan.plain_dataset(h5.id, "with_attr", h5.id.fileno, attributes=False) is None


def test_hard_tree_lists_objects_only_without_other_links(h5, tmp_path):
    assert h5scan.hard_tree(h5) is None  # soft and external links
    path = tmp_path / "hard.h5"
    with h5py.File(path, "w") as f:
        f["a/b"] = np.ones(2)
        f["c"] = np.ones(2)
    with h5py.File(path, "r") as f:
        assert h5scan.hard_tree(f) == {"a": h5py.h5o.TYPE_GROUP, "a/b": h5py.h5o.TYPE_DATASET,
                                       "c": h5py.h5o.TYPE_DATASET}
    with h5py.File(path, "a") as f:
        f["d"] = f["c"]  # a second hard link to one dataset
    with h5py.File(path, "r") as f:
        assert h5scan.hard_tree(f) is None


def test_read_into_fills_buffers_across_gaps(tmp_path):
    data = np.random.default_rng(0).integers(0, 255, 300_000, dtype=np.uint8)
    path = tmp_path / "d.bin"
    data.tofile(path)
    spans = [(0, 10), (10, 20), (100, 50), (1000, 4), (200_000, 99_999), (160, 0)]
    bufs = [np.zeros(n, np.uint8) for _, n in spans]
    fd = os.open(path, os.O_RDONLY)
    try:
        h5scan.read_into(fd, [(off, b) for (off, _), b in zip(spans, bufs)], "d.bin")
        for (off, n), buf in zip(spans, bufs):
            np.testing.assert_array_equal(buf, data[off:off + n])
        with pytest.raises(OSError, match=r"d\.bin: the file ended at byte 300000"):
            h5scan.read_into(fd, [(299_990, np.zeros(20, np.uint8))], "d.bin")
    finally:
        os.close(fd)


def test_read_into_splits_more_buffers_than_one_call_takes(tmp_path):
    data = np.arange(5000, dtype=np.uint8)
    path = tmp_path / "d.bin"
    data.tofile(path)
    bufs = [np.zeros(2, np.uint8) for _ in range(2000)]  # 2,000 neighbouring ranges
    fd = os.open(path, os.O_RDONLY)
    try:
        h5scan.read_into(fd, [(2 * i, b) for i, b in enumerate(bufs)], "d.bin")
    finally:
        os.close(fd)
    np.testing.assert_array_equal(np.concatenate(bufs), data[:4000])


@pytest.mark.parametrize("suffix", [".h5", ".weights.h5"])
@pytest.mark.parametrize("preadv", [True, False])
def test_loads_with_and_without_preadv(tmp_path, monkeypatch, suffix, preadv):
    """Without ``os.preadv`` (Windows) the loaders read with h5py's ``read_direct``."""
    import numkeras as nk

    def model(seed):
        inp = nk.Input((3,))
        m = nk.Model(inp, [nk.layers.Dense(2)(inp) for _ in range(3)])
        rng = np.random.default_rng(seed)
        m.set_weights([rng.standard_normal(w.shape).astype("float32")
                       for w in m.get_weights()])
        return m

    path = str(tmp_path / f"w{suffix}")
    saved = model(1)
    saved.save_weights(path)
    monkeypatch.setattr(h5scan, "HAVE_PREADV", preadv)
    target = model(2)
    target.load_weights(path)
    for got, want in zip(target.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(got, want)
