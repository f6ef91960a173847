"""Issue 11 cases 1, 2, 6 and 15: every HDF5-based loader accepts only plain datasets of
numbers stored in the file itself, and checks that for every weight before reading any.

Each hostile file is a valid file of the format whose last weight (``d2``'s bias, the only
``(2,)`` dataset) is replaced by: a float type HDF5 cannot convert (normalization bits
flipped), external storage, an external link, a soft link, a virtual dataset whose source
is missing, or a committed datatype. Every loader must raise a documented error naming the
file and leave every weight as it was. Case 6: a global heap object of size 0 made HDF5
loop forever while reading tf-keras's variable-length ``keras_version`` attribute.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

from numkeras.saving.inspect import inspect, verify
from tests.robustness.robustness_formats import CLEAN_ERRORS, FORMATS, small_model, weights

HDF5_FORMATS = ["h5", "weights_h5", "weights_json", "keras"]
#: tf-keras stores an IEEE float32 big-endian type as these bytes (datatype message v1,
#: class float, byte order BE, implied normalization (0b10 << 4), sign at bit 31, size 4).
_F32BE = b"\x11\x21\x1f\x00\x04\x00\x00\x00"
_F32BE_BAD_NORM = b"\x11\x31\x1f\x00\x04\x00\x00\x00"   # normalization 0b11: not valid


def _hdf5_files(fmt: str, path: str) -> list[str]:
    if fmt == "weights_json":
        folder = os.path.dirname(path)
        return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                      if n.endswith(".weights.h5"))
    return [path]


def _target(f):
    found = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset)
                 and obj.shape == (2,) else None)
    return found[0] if found else None


def _tamper(fmt: str, path: str, change, patch=None) -> None:
    """Apply ``change(h5file, name)`` to the HDF5 file holding the ``(2,)`` dataset of the
    saved file (for ``.keras``: rewrite the archive's member), then ``patch(bytes)``."""
    if fmt == "keras":
        member = path + ".member.h5"
        with zipfile.ZipFile(path) as zf:
            data = zf.read("model.weights.h5")
            others = {n: zf.read(n) for n in zf.namelist() if n != "model.weights.h5"}
        with open(member, "wb") as out:
            out.write(data)
        _tamper("h5", member, change, patch)
        with zipfile.ZipFile(path, "w") as zf:
            for name, value in others.items():
                zf.writestr(name, value)
            with open(member, "rb") as src:
                zf.writestr("model.weights.h5", src.read())
        os.remove(member)
        return
    for file in _hdf5_files(fmt, path):
        with h5py.File(file, "r+") as f:
            name = _target(f)
            if name is not None:
                change(f, name)
                break
    else:
        raise AssertionError("no (2,) dataset")
    if patch:
        with open(file, "rb") as src:
            data = src.read()
        with open(file, "wb") as out:
            out.write(patch(data))


def _other_h5(folder):
    other = os.path.join(folder, "elsewhere.h5")
    with h5py.File(other, "w") as f:
        f["x"] = np.array([1234.5, -42.0], "float32")
    raw = os.path.join(folder, "elsewhere.bin")
    with open(raw, "wb") as out:
        out.write(np.array([1234.5, -42.0], "float32").tobytes())
    return other, raw


def _bad_norm(f, name):
    del f[name]
    f.create_dataset(name, data=np.array([1.0, 2.0], ">f4"))


def _external(folder):
    def change(f, name):
        del f[name]
        f.create_dataset(name, (2,), "<f4", external=[(_other_h5(folder)[1], 0, 8)])
    return change


def _external_link(folder):
    def change(f, name):
        del f[name]
        f[name] = h5py.ExternalLink(_other_h5(folder)[0], "/x")
    return change


def _soft_link(f, name):
    f.move(name, name + "_moved")
    f[name] = h5py.SoftLink("/" + name + "_moved")


def _virtual(folder):
    def change(f, name):
        del f[name]
        layout = h5py.VirtualLayout(shape=(2,), dtype="<f4")
        layout[:] = h5py.VirtualSource(os.path.join(folder, "missing.h5"), "x", shape=(2,))
        f.create_virtual_dataset(name, layout, fillvalue=7.0)
    return change


def _committed(f, name):
    del f[name]
    f[name] = np.dtype("<f4")


CASES = ["bad_norm", "external", "external_link", "soft_link", "virtual", "committed"]


def _make(kind, folder):
    return {"bad_norm": (_bad_norm, lambda d: d.replace(_F32BE, _F32BE_BAD_NORM)),
            "external": (_external(folder), None),
            "external_link": (_external_link(folder), None),
            "soft_link": (_soft_link, None),
            "virtual": (_virtual(folder), None),
            "committed": (_committed, None)}[kind]


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("fmt", HDF5_FORMATS)
def test_hostile_dataset_is_refused_before_any_weight_changes(tmp_path, fmt, kind):
    folder = str(tmp_path)
    path = FORMATS[fmt].save(small_model(1), folder)
    change, patch = _make(kind, folder)
    _tamper(fmt, path, change, patch)
    model = small_model(2)
    before = weights(model)
    with pytest.raises(CLEAN_ERRORS) as info:
        model.load_weights(path)
    names = [os.path.basename(p) for p in [path] + _hdf5_files(fmt, path)]
    assert any(name in str(info.value) for name in names), info.value
    assert not isinstance(info.value, (KeyError, AttributeError, TypeError))
    for a, b in zip(before, weights(model)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["external", "external_link", "virtual", "committed"])
@pytest.mark.parametrize("fmt", HDF5_FORMATS)
def test_inspect_and_verify_report_hostile_datasets_cleanly(tmp_path, fmt, kind):
    folder = str(tmp_path)
    path = FORMATS[fmt].save(small_model(1), folder)
    change, patch = _make(kind, folder)
    _tamper(fmt, path, change, patch)
    try:
        inspect(path)
    except CLEAN_ERRORS as exc:
        assert os.path.basename(path) in str(exc) or "weights.h5" in str(exc)
    try:
        result = verify(path)
    except CLEAN_ERRORS as exc:
        assert os.path.basename(path) in str(exc) or "weights.h5" in str(exc)
    else:
        assert not result.ok


def _heap_of_size_zero(path: str) -> None:
    """Give the free-space object of the first global heap collection size 0."""
    with open(path, "rb") as src:
        data = bytearray(src.read())
    start = data.find(b"GCOL")
    assert start >= 0, "no global heap: the file has no variable-length strings"
    size = int.from_bytes(data[start + 8:start + 16], "little")
    p = start + 16
    while p + 16 <= start + size:
        index = int.from_bytes(data[p:p + 2], "little")
        obj = int.from_bytes(data[p + 8:p + 16], "little")
        if index == 0:
            data[p + 8:p + 16] = bytes(8)
            break
        p += 16 + (obj + 7) // 8 * 8
    else:
        raise AssertionError("no free-space object")
    with open(path, "wb") as out:
        out.write(data)


#: Root attributes tf-keras writes as variable-length strings (in HDF5's global heap).
HEAP_STRINGS = {"keras_version": "2.21.0", "backend": "tensorflow",
                "model_config": '{"class_name": "Sequential", "config": {"layers": []}}'}


def _weights_with_heap_strings(path: str, names: tuple[str, ...]) -> None:
    """A legacy .h5 weights file with the ``HEAP_STRINGS`` attributes ``names``."""
    small_model(1).save_weights(path)
    with h5py.File(path, "r+") as f:
        for name in names:
            f.attrs[name] = HEAP_STRINGS[name]


def _in_fresh_python(code: str, hang: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter that imports this checkout; fail the test with
    ``hang`` if it takes over 120 s."""
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env=env, cwd=os.getcwd())
    except subprocess.TimeoutExpired:
        pytest.fail(hang)


@pytest.mark.parametrize("call", ["load_weights", "load_model", "inspect", "verify"])
def test_zero_size_global_heap_object_does_not_hang(tmp_path, call):
    """tf-keras writes ``keras_version``/``backend``/``model_config`` as variable-length
    strings (in HDF5's global heap); one size set to 0 hung HDF5 at 100% CPU forever."""
    path = str(tmp_path / "w.h5")
    _weights_with_heap_strings(path, ("keras_version", "backend", "model_config"))
    _heap_of_size_zero(path)
    code = textwrap.dedent(f"""
        import numkeras as nk
        from numkeras.saving.inspect import inspect, verify
        from tests.robustness.robustness_formats import small_model
        path = {path!r}
        try:
            if {call!r} == "load_weights":
                small_model(2).load_weights(path)
            elif {call!r} == "load_model":
                nk.saving.load_model(path)
            elif {call!r} == "inspect":
                inspect(path)
            else:
                r = verify(path)
                assert not r.ok, r
                raise ValueError(path + " " + str(r))
        except (ValueError, OSError) as exc:
            assert path in str(exc), exc
            print("CLEAN", type(exc).__name__)
    """)
    out = _in_fresh_python(code, f"{call} hung on a global heap object of size 0")
    assert "CLEAN" in out.stdout, out.stderr[-2000:]


def _hide_heap_in_a_dataset(path: str) -> None:
    """Point the first contiguous dataset's storage at the global heap collection, so its
    extent covers the collection's signature (a crafted header, not random damage)."""
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        dset = max((f[n] for n in names), key=lambda d: d.id.get_storage_size())
        offset, size = dset.id.get_offset(), dset.id.get_storage_size()
    with open(path, "rb") as src:
        data = bytearray(src.read())
    heap = data.find(b"GCOL")
    layout = bytes([3, 1]) + offset.to_bytes(8, "little") + size.to_bytes(8, "little")
    at = data.find(layout)  # Data Layout message v3, contiguous: address, size
    assert at >= 0 and size > 16, "no contiguous layout message found"
    data[at + 2:at + 10] = (heap - 8).to_bytes(8, "little")
    with open(path, "wb") as out:
        out.write(data)


def test_global_heap_hidden_under_a_dataset_extent_is_still_checked(tmp_path):
    """The hang check skips dataset values for speed; a dataset header claiming the bytes of
    a damaged global heap collection must not hide it: the collections the attributes
    reference are checked wherever they lie (numkeras/saving/h5heaps.py)."""
    from numkeras.saving import h5common

    path = str(tmp_path / "w.h5")
    _weights_with_heap_strings(path, ("keras_version", "model_config"))
    _hide_heap_in_a_dataset(path)
    _heap_of_size_zero(path)
    with open(path, "rb") as f:
        heap = f.read().find(b"GCOL")
    with h5py.File(path, "r") as f:  # the hiding works: the extent covers the signature
        assert any(lo <= heap and heap + 4 <= hi for lo, hi in h5common.raw_data_extents(f))
    code = textwrap.dedent(f"""
        import numkeras as nk
        from tests.robustness.robustness_formats import small_model
        path = {path!r}
        for call in (lambda: small_model(2).load_weights(path),
                     lambda: nk.saving.load_model(path)):
            try:
                call()
            except (ValueError, OSError) as exc:
                assert path in str(exc) and "global heap" in str(exc), exc
                print("CLEAN", type(exc).__name__)
    """)
    out = _in_fresh_python(
        code, "HDF5 hung on a damaged global heap hidden under a dataset's extent")
    assert out.stdout.count("CLEAN") == 2, out.stderr[-2000:]


@pytest.mark.parametrize("kind", ["external", "external_link", "soft_link", "virtual",
                                  "committed"])
@pytest.mark.parametrize("fmt", HDF5_FORMATS)
def test_read_weights_refuses_hostile_datasets(tmp_path, fmt, kind):
    """read_weights (and diff/convert through it) accepts the same HDF5 features as the
    loaders: the legacy .h5 reader read a bias from an external file or a virtual
    dataset's fill value."""
    from numkeras.saving.weights import read_weights

    folder = str(tmp_path)
    path = FORMATS[fmt].save(small_model(1), folder)
    change, patch = _make(kind, folder)
    _tamper(fmt, path, change, patch)
    with pytest.raises(CLEAN_ERRORS) as info:
        with read_weights(path) as mapping:
            values = {name: np.asarray(mapping[name]) for name in mapping}
            raise AssertionError(f"read without error: {values}")
    assert not isinstance(info.value, AssertionError), info.value
    names = [os.path.basename(p) for p in [path] + _hdf5_files(fmt, path)]
    assert any(name in str(info.value) for name in names), info.value
