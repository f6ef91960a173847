"""Bit flips: a damaged byte gives a clean error, or (HDF5 data, no checksum) a load.

Bytes of each format's files are flipped one at a time (every byte of TF checkpoint files,
a dense sample of the larger HDF5 files and archives). The load must raise a
``ValueError``/``OSError`` subclass naming the file with the model unchanged, or succeed.

- TF checkpoints (``save_weights`` prefix, ``Checkpoint.save``) carry a CRC-32C per tensor
  and per index block: every flip of a data byte must be detected, and a flip anywhere may
  only load if the loaded weights are exactly the saved ones (e.g. footer padding).
- ``.keras`` archives carry the zip CRC-32 of ``model.weights.h5``: a flipped weights byte
  must be detected too.
- HDF5 files (``.h5``, ``.weights.h5``, ``.weights.json`` shards) store no checksum of
  their data, so a flip may load other values; it must still never crash or hang.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from robustness_formats import FORMATS, damage_sweep, fill, small_model

from numkeras.saving.tf_checkpoint.bundle import BundleReader

SWEPT = ["h5", "tf", "weights_h5", "weights_json", "keras", "train_ckpt", "safetensors", "npz"]


def positions(size: int, seed: int) -> list[int]:
    if size <= 2048:
        return list(range(size))
    rng = np.random.default_rng(seed)
    picked = set(range(64)) | set(range(size - 32, size))
    picked |= {int(x) for x in rng.choice(size, 250, replace=False)}
    return sorted(picked)


def flip_sweep(name, tmp_path, flip=0xFF):
    fmt = FORMATS[name]
    source = small_model(1)
    good = fill(source, 1)
    path = fmt.save(source, str(tmp_path))
    contents = {}
    for damaged in fmt.files(str(tmp_path)):
        if os.path.basename(damaged) != "checkpoint":
            with open(damaged, "rb") as f:
                contents[damaged] = f.read()

    def make(case):
        damaged, pos = case
        bad = bytearray(contents[damaged])
        bad[pos] ^= flip
        return damaged, bytes(bad)

    cases = [(damaged, pos) for damaged, data in contents.items()
             for pos in positions(len(data), seed=len(data))]
    results = damage_sweep(name, path, cases, make, good,
                           allow_other_values=not fmt.checksummed and name != "keras")
    return path, {(os.path.basename(f), pos): r for (f, pos), r in results.items()}


@pytest.mark.parametrize("name", SWEPT)
def test_flipped_byte_is_detected_or_harmless(tmp_path, name):
    path, results = flip_sweep(name, tmp_path)
    assert "error" in results.values()
    if name in ("tf", "train_ckpt"):
        prefix = path
        with BundleReader(prefix) as reader:
            entries = [reader.get_entry(k) for k in reader.keys()]
        data_name = os.path.basename(prefix) + ".data-00000-of-00001"
        for entry in entries:
            for pos in range(entry.offset, entry.offset + entry.size):
                assert results[(data_name, pos)] == "error", (entry.key, pos)


@pytest.mark.parametrize("name", ["tf", "keras"])
def test_single_bit_flips_in_data_are_detected(tmp_path, name):
    """The lowest bit (a tiny change of one float) is caught by the checksum too."""
    _, results = flip_sweep(name, tmp_path, flip=0x01)
    wrong = [k for k, v in results.items() if v == "other"]
    assert not wrong


def _flip_in_member(path, member, offset_in_member):
    import zipfile

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(f.read(4), "<u2")
        pos = info.header_offset + 30 + int(name_len) + int(extra_len) + offset_in_member
        f.seek(pos)
        byte = f.read(1)[0]
        f.seek(pos)
        f.write(bytes([byte ^ 0x01]))


@pytest.mark.parametrize("member", ["model.weights.h5", "config.json"])
def test_keras_archive_member_crc_is_checked(tmp_path, member):
    """Regression: a flipped byte in a .keras member loaded silently (weights, read in place
    without the zip CRC) or raised zipfile.BadZipFile (config.json)."""
    model = small_model(1)
    path = str(tmp_path / "m.keras")
    model.save(path)
    size = __import__("zipfile").ZipFile(path).getinfo(member).file_size
    _flip_in_member(path, member, size - 40)
    target = small_model(2)
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(ValueError, match=f"m.keras.*{member}.*damaged"):
        target.load_weights(path)
    for a, b in zip(target.get_weights(), before):
        np.testing.assert_array_equal(a, b)
