"""Issue 11 case 5: zip members are decompressed as a stream whose output is capped at the
member's declared size, for every compression method zip allows (stored, deflate, bzip2,
LZMA), in ``load_model``, ``load_weights``, ``inspect``, ``verify`` and ``convert``.

A bomb here is a member whose compressed data expands to ``BOMB`` bytes while the archive
declares a few hundred: before the fix, zipfile's bzip2/LZMA readers expanded each
compressed block in full (hundreds of MiB for a few KiB). The bound asserted is the traced
Python allocation peak (``tracemalloc``), far below the bomb's size.
"""

from __future__ import annotations

import bz2
import lzma
import os
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import numkeras as nk
from numkeras.saving.keras_v3.errors import KerasFileError
from tests.robustness.robustness_formats import small_model

BOMB = 64 << 20          # what the bomb member expands to
PEAK_LIMIT = 16 << 20    # what a load may allocate on its way to refusing it
METHODS = {"deflate": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2,
           "lzma": zipfile.ZIP_LZMA}


def _bombed(src: str, dst: str, member: str, method: int) -> None:
    """Copy the archive ``src`` to ``dst`` with ``member`` replaced by its own bytes followed
    by ``BOMB`` spaces (still valid JSON / trailing HDF5 slack), compressed with ``method``
    but declaring only the original size and CRC."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename != member:
                zout.writestr(info.filename, data)
                continue
            zi = zipfile.ZipInfo(member, date_time=info.date_time)
            zi.compress_type = method
            if method == zipfile.ZIP_DEFLATED:  # the original bytes, then the spaces
                c = zlib.compressobj(9, zlib.DEFLATED, -15)
                comp = c.compress(data) + b"".join(
                    c.compress(b" " * (1 << 20)) for _ in range(BOMB >> 20)) + c.flush()
            elif method == zipfile.ZIP_BZIP2:
                c = bz2.BZ2Compressor(9)
                comp = c.compress(data) + b"".join(
                    c.compress(b" " * (1 << 20)) for _ in range(BOMB >> 20)) + c.flush()
            else:
                props = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})
                c = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1}])
                comp = struct.pack("<BBH", 9, 4, len(props)) + props + c.compress(data) + \
                    b"".join(c.compress(b" " * (1 << 20)) for _ in range(BOMB >> 20)) + \
                    c.flush()
            zi.file_size, zi.compress_size, zi.CRC = len(data), len(comp), zlib.crc32(data)
            # write the header and the raw compressed bytes ourselves
            zout.fp.write(zi.FileHeader())
            zi.header_offset = zout.fp.tell() - len(zi.FileHeader())
            zout.fp.write(comp)
            zout.filelist.append(zi)
            zout.NameToInfo[member] = zi
            zout.start_dir = zout.fp.tell()
            zout._didModify = True
    assert os.path.getsize(dst) < BOMB // 50


@pytest.fixture(scope="module")
def archive_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bomb")
    path = str(folder / "m.keras")
    small_model(1).save(path)
    return path


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_bomb_member_is_refused_within_a_fixed_bound(tmp_path, archive_file, method, member):
    path = str(tmp_path / "bomb.keras")
    _bombed(archive_file, path, member, METHODS[method])
    model = small_model(2)
    before = model.get_weights()

    def load_model():
        with pytest.raises(KerasFileError, match=r"bomb\.keras.*(zip bomb|declared size)"):
            nk.saving.load_model(path)

    def load_weights():
        with pytest.raises(KerasFileError, match=r"bomb\.keras"):
            model.load_weights(path)

    def verify():
        from numkeras.saving.inspect import verify as run
        result = None
        try:
            result = run(path)
        except (ValueError, OSError) as exc:
            assert "bomb.keras" in str(exc)
        else:
            assert not result.ok

    for fn in (load_model, load_weights, verify):
        assert _peak(fn) < PEAK_LIMIT, fn.__name__
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED] + sorted(METHODS.values()))
def test_every_compression_method_still_loads(tmp_path, archive_file, method):
    """Honest archives compressed with each method load exactly as the stored original."""
    path = str(tmp_path / "c.keras")
    with zipfile.ZipFile(archive_file) as zin, zipfile.ZipFile(path, "w", method) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    expected = nk.saving.load_model(archive_file).get_weights()
    got = nk.saving.load_model(path).get_weights()
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
