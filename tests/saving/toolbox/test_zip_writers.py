"""Zips written from buffers (saving/zipio.py): .npz and .keras members as zipfile, NumPy
and the HDF5 encoder would make them; checked by Python's zipfile (CRCs included)."""

from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np
import pytest

import numkeras as nk
from numkeras.saving import npz, zipio
from numkeras.saving.keras_v3 import writing


def _write(path: str, members: dict) -> None:
    with open(path, "wb") as f:
        out = zipio.StoredZipWriter(f.fileno())
        for name, pieces in members.items():
            out.add(name, pieces)
        out.close()


@pytest.mark.parametrize("fast", [True, False])
def test_zipfile_reads_members_and_checks_their_crcs(tmp_path, monkeypatch, fast) -> None:
    if not fast:
        monkeypatch.setattr(zipio, "_fast_crc32", None)
    data = np.random.default_rng(0).integers(0, 255, 300_000, dtype=np.uint8)
    members = {"a.bin": [b"head", data, memoryview(b"tail")], "empty": [],
               "dir/é.txt": [b"non-ascii name"]}
    path = str(tmp_path / "a.zip")
    _write(path, members)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == list(members)
        assert zf.read("a.bin") == b"head" + data.tobytes() + b"tail"
        assert zf.getinfo("a.bin").CRC == zlib.crc32(b"head" + data.tobytes() + b"tail")
        assert zf.read("dir/é.txt") == b"non-ascii name"


def test_more_than_65535_members_use_zip64_end_records(tmp_path) -> None:
    path = str(tmp_path / "many.zip")
    _write(path, {f"m{i}": [str(i).encode()] for i in range(70_000)})
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 70_000
        assert zf.read("m69999") == b"69999"


def test_npz_members_are_numpys_own(tmp_path) -> None:
    arrays = {"k:0": np.arange(12, dtype=np.float32).reshape(3, 4), "s:0": np.float64(3.5),
              "e:0": np.zeros((0, 2), np.int8), "be:0": np.arange(5, dtype=">i4"),
              "b:0": np.array([True, False])}
    ours, theirs = str(tmp_path / "ours.npz"), str(tmp_path / "np.npz")
    npz.write(arrays, ours)
    np.savez(theirs, **arrays)
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
        assert a.testzip() is None
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    loaded = np.load(ours)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == np.asarray(value).dtype


def test_keras_archive_member_is_the_encoders_file(tmp_path) -> None:
    inp = nk.Input((3,))
    model = nk.Model(inp, nk.layers.Dense(2)(nk.layers.Dense(4)(inp)))
    pieces = writing.h5_member(model)
    assert b"".join(bytes(memoryview(p).cast("B")) for p in pieces) == writing.h5_bytes(model)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.namelist()[:3] == ["metadata.json", "config.json", "model.weights.h5"]
        member = zf.read("model.weights.h5")
    import h5py

    with h5py.File(io.BytesIO(member), "r") as f:
        names = []
        f.visit(names.append)
    assert any(n.endswith("vars/0") for n in names)
    from numkeras.saving import load_model

    loaded = load_model(path)
    for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
