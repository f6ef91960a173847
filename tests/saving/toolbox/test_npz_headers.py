"""``.npz`` members' ``.npy`` headers: NumPy's reader under a size bound, every failure a
:class:`~numkeras.saving.npz.NpzError` naming the file.

Each file is a zip holding one ``x.npy`` whose header text is given here; what NumPy's own
``np.load`` makes of the valid ones is the expected answer.
"""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pytest

from numkeras.saving.npz import NpzError
from numkeras.saving.weights import read_weights

BASE = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }"


def _npz(tmp_path, header: str, version: int = 1, data: bytes = b"\0" * 64):
    raw = header.encode("latin-1") + b"\n"
    width = 2 if version == 1 else 4
    member = b"\x93NUMPY" + bytes([version, 0]) + len(raw).to_bytes(width, "little") + raw
    path = tmp_path / "h.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", member + data)
    return str(path)


# What each damaged header makes NumPy's parse raise (checked here so that a NumPy which
# stops raising it shows up as a failure of this table, not as a silent pass).
DAMAGED = {
    "token-error": ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n}",
                    "TokenError"),
    "memory-error": (BASE % ("-" * 9000 + "1,"), "MemoryError"),
    "recursion-error": (BASE % ("-" * 5000 + "3,"), "RecursionError"),
    "deep-brackets": ("(" * 4000 + ")" * 4000, "ValueError"),
    "not-a-dict": ("[1, 2]", "ValueError"),
    "bad-descr": ("{'descr': '<U99999999999', 'fortran_order': False, 'shape': (3,), }",
                  "ValueError"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_header_is_an_npz_error_naming_the_file(tmp_path, case):
    header, raised = DAMAGED[case]
    path = _npz(tmp_path, header)
    with pytest.raises(NpzError, match=rf"'x\.npy' is not a valid \.npy file: {raised}") as err:
        read_weights(path)
    assert path in str(err.value) and len(str(err.value)) < 400


@pytest.mark.parametrize("header, match", [
    (BASE % "-3,", "shape"),
    (BASE % "True,", "shape"),
    (BASE % ("1," * 33), "shape"),
    ("{'descr': '<U3', 'fortran_order': False, 'shape': (3,), }", "not a numeric type"),
    ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
     "not a numeric type"),
    ("{'descr': ('<f4', (2,)), 'fortran_order': False, 'shape': (3,), }",
     "not a numeric type"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "pickled object array"),
])
def test_what_numpy_accepts_is_narrowed_to_numbers(tmp_path, header, match):
    path = _npz(tmp_path, header)
    with pytest.raises(NpzError, match=match) as err:
        read_weights(path)
    assert path in str(err.value)


def test_the_header_size_is_bounded_before_it_is_read(tmp_path):
    path = _npz(tmp_path, BASE % "3," + " " * 20_000, version=2)
    with pytest.raises(NpzError, match="a header of 20.* bytes"):
        read_weights(path)


@pytest.mark.parametrize("version", [3, 4])
def test_versions(tmp_path, version):
    header = BASE % "2," + (" é" if version == 3 else "")
    path = _npz(tmp_path, header, version=version)
    match = "not ASCII" if version == 3 else r"\.npy version \(4, 0\)"
    with pytest.raises(NpzError, match=match):
        read_weights(path)


@pytest.mark.parametrize("header, version", [
    (BASE % "2, 3", 1), (BASE % "2, 3", 2), (BASE % "2, 3", 3),
    ("{'descr': 'float32', 'fortran_order': False, 'shape': (2, 3), }", 1),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 1),  # Python 2
])
def test_valid_headers_read_as_numpy_reads_them(tmp_path, header, version):
    data = np.arange(6, dtype="<f4").tobytes()
    path = _npz(tmp_path, header, version=version, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NumPy's note on Python 2 headers
        with np.load(path) as expected:
            want = expected["x"]
        got = np.asarray(read_weights(path)["x"])
    assert got.dtype == want.dtype and np.array_equal(got, want)
