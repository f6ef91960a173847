"""``numkeras.saving.h5write``: HDF5 saves written straight to disk, a full disk being an
``OSError`` even when the size reserved up front was too small (HDF5 never sees a failed
write), and the file cut to its real size.

A full disk is simulated with ``RLIMIT_FSIZE`` in a forked child (``SIGXFSZ`` ignored).
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import numkeras as nk
from numkeras.saving import h5write
from tests._child import outcome_with_file_limit


def _model(seed: int, layers: int = 4):
    inp = nk.Input((64,))
    x = inp
    for i in range(layers):
        x = nk.layers.Dense(64, name=f"d{i}")(x)
    model = nk.Model(inp, x)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


@pytest.mark.parametrize("suffix", [".h5", ".weights.h5"])
@pytest.mark.parametrize("limit", [3000, 20_000, 60_000])
def test_write_failing_inside_hdf5_is_an_oserror(tmp_path, monkeypatch, suffix, limit):
    """No room is reserved (as if the estimate were far too small): the disk refuses one of
    HDF5's own writes; the save still raises OSError and the previous file loads."""
    path = str(tmp_path / f"w{suffix}")
    model = _model(1)  # about 67 KB of weights
    model.save_weights(path)
    before = [w.copy() for w in model.get_weights()]
    monkeypatch.setattr(h5write, "reserve", lambda *args, **kwargs: 0)
    fresh = _model(2)
    outcome = outcome_with_file_limit(lambda: fresh.save_weights(path), limit)
    assert outcome.startswith("OSError"), outcome
    assert "nothing was replaced" in outcome
    target = _model(3)
    target.load_weights(path)
    for got, want in zip(target.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert sorted(os.listdir(tmp_path)) == [f"w{suffix}"]  # no temporary file left


def test_reservation_failing_is_an_oserror_before_hdf5_runs(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(h5py, "File", lambda *a, **k: calls.append(a))
    outcome = outcome_with_file_limit(
        lambda: h5write.write_file(str(tmp_path / "x.h5"), lambda f: None, 1 << 20), 4096)
    assert outcome.startswith("OSError") and "needs up to 1048576 bytes" in outcome, outcome
    assert calls == []


def test_file_is_cut_to_its_size_and_reads_back(tmp_path):
    path = str(tmp_path / "x.h5")
    data = np.arange(3000, dtype="float64")

    def build(f):
        f.create_dataset("a/b", data=data)
        f.attrs["note"] = "x" * 100

    h5write.write_file(path, build, 50 << 20)
    assert os.path.getsize(path) < 64 << 10
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["a/b"][()], data)
        assert f.attrs["note"] == "x" * 100


def test_guarded_file_reads_back_what_was_written_after_a_failure(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        g = h5write.GuardedFile(fd)
        g.seek(4)
        assert g.write(b"abcd") == 4
        os.close(fd)  # every later write fails (EBADF)
        fd = os.open(tmp_path / "f", os.O_RDONLY)
        g.fd = -1
        g.seek(6)
        assert g.write(b"XYZ") == 3
        assert isinstance(g.error, OSError)
        g.fd = fd
        g.seek(0)
        buf = bytearray(10)
        assert g.readinto(buf) == 9  # the size HDF5 sees: 9 bytes
        assert bytes(buf) == b"\0\0\0\0abXYZ\0"
    finally:
        os.close(fd)


def test_saved_files_are_not_larger_than_reserved(tmp_path):
    """The reservation is an upper bound for both HDF5 formats (many small layers, long
    names)."""
    from numkeras.saving.hdf5.writer import plan_groups, reserved
    from numkeras.saving.keras_v3 import writing
    from numkeras.saving.keras_v3.walk import union_entries

    inp = nk.Input((3,))
    outs = [nk.layers.Dense(2, name=f"layer_with_a_rather_long_name_{i:04d}")(inp)
            for i in range(300)]
    model = nk.Model(inp, outs)
    model.save_weights(str(tmp_path / "w.h5"))
    model.save_weights(str(tmp_path / "w.weights.h5"))
    assert os.path.getsize(tmp_path / "w.h5") <= reserved(model, plan_groups(model))
    assert os.path.getsize(tmp_path / "w.weights.h5") <= writing.reserved(union_entries(model))
