"""NumPy ``.npz`` archives: weights by Keras weight name, as ``np.load`` reads them.

Written as NumPy's ``write_array`` writes them (its own ``.npy`` header, then the array's
bytes straight from its buffer) into an uncompressed zip (:mod:`~numkeras.saving.zipio`),
one member ``<name>.npy`` per weight in model order, so
``np.load("w.npz")["dense/kernel:0"]`` works. Pickled (object) arrays are never written nor
read; bfloat16 is refused (``.npy`` has no bfloat16 type: use safetensors).

Reading indexes the members' ``.npy`` headers only (NumPy's own header reader, on at most
10,000 bytes counted first, every failure an :class:`NpzError` naming the file); stored
(uncompressed) members are memory-mapped, compressed ones (``np.savez_compressed``) are read
on access, never beyond the declared size.

>>> import os, tempfile
>>> import numpy as np
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
>>> model.save_weights(path)
>>> np.load(path).files
['dense/kernel:0', 'dense/bias:0']
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import zipfile
import zlib

import numpy as np

from numkeras.saving.formats import ZIP_MAGIC
from numkeras.saving.weights import WeightsMapping, WeightSpec, memmap

__all__ = ["save_weights", "load_weights", "read_weights", "write", "inspect", "verify",
           "sniff", "NpzError"]

_MAX_MEMBERS = 1_000_000


class NpzError(ValueError):
    """A malformed ``.npz`` file (the message names the file and the member)."""


#: What zipfile and the .npy reader raise for damaged bytes.
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error,
           OSError, ValueError, RuntimeError, OverflowError, KeyError, SyntaxError)


@contextlib.contextmanager
def _damage_is_an_error(path: str):
    try:
        yield
    except (NpzError, FileNotFoundError):
        raise
    except _DAMAGE as exc:
        raise NpzError(f"{path} is damaged or not a valid .npz file: "
                       f"{type(exc).__name__}: {exc}") from None


def sniff(path: str) -> bool:
    """A zip whose members are all ``.npy`` files (``np.savez`` output)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, ValueError, *_DAMAGE):
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


#: ``.npy`` headers are parsed by NumPy's own reader (``numpy.lib.format``), given at most
#: ``_MAX_NPY_HEADER`` bytes that were read and counted first. Under that bound its parse is
#: a few milliseconds at worst (a 10 kB header of Python 2 longs or deep brackets), but a
#: damaged header makes it raise whatever its parsers raise (ValueError, SyntaxError,
#: tokenize.TokenError from its Python 2 header rewriting, RecursionError, MemoryError from
#: the compiler's own stack limit): every one becomes an :class:`NpzError` naming the file.
#: What it accepts is then narrowed to numbers (no object, string or structured dtype) and a
#: shape of at most 32 non-negative ints (NumPy lets through negative and bool dimensions).
_MAX_NPY_HEADER = 10_000  # NumPy's own default limit
_NPY_VERSIONS = {(1, 0): 2, (2, 0): 4, (3, 0): 4}  # version -> bytes of the header length


@functools.lru_cache(maxsize=1024)
def _parse_header(version: tuple, data: bytes) -> tuple[tuple, bool, np.dtype]:
    """NumPy's parse of a header (length + text); remembered, as the members of one file
    mostly share a few headers (NumPy compiles each one: slow for thousands)."""
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
        np.lib.format.read_array_header_2_0
    return reader(io.BytesIO(data), max_header_size=_MAX_NPY_HEADER)


def _header(fp, path: str, member: str) -> tuple[tuple, bool, np.dtype]:
    """``(shape, fortran order, dtype)`` of a member's ``.npy`` header (versions 1 to 3) as
    NumPy reads it, for a numeric dtype and a valid shape; anything else is an
    :class:`NpzError`."""
    def bad(what: str) -> NpzError:
        return NpzError(f"{path}: member {member!r} is not a valid .npy file: {what}.")

    try:
        version = np.lib.format.read_magic(fp)
        if version not in _NPY_VERSIONS:
            raise bad(f".npy version {version} (numkeras reads 1.0 to 3.0)")
        length = fp.read(_NPY_VERSIONS[version])
        size = int.from_bytes(length, "little")
        if size > _MAX_NPY_HEADER:
            raise bad(f"a header of {size} bytes (at most {_MAX_NPY_HEADER})")
        raw = fp.read(size)
        if len(length) != _NPY_VERSIONS[version] or len(raw) != size:
            raise bad("the header is truncated")
        # version 3 differs from 2 only by UTF-8 text, which no numeric header needs
        if version == (3, 0) and not raw.isascii():
            raise bad("a version 3.0 header that is not ASCII")
        shape, fortran, dtype = _parse_header(version, length + raw)
    except NpzError:
        raise
    except Exception as exc:  # any failure of NumPy's parse: a damaged header
        raise bad(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if dtype.hasobject:
        raise bad("a pickled object array (numkeras never unpickles: it could run code)")
    if dtype.kind not in "biufc":
        raise bad(f"dtype {str(dtype)[:80]} is not a numeric type (numkeras reads numbers)")
    if not all(type(d) is int and d >= 0 for d in shape) or len(shape) > 32:
        raise bad(f"shape {str(shape)[:80]} is invalid")
    return shape, fortran, dtype


class _Window:
    """The ``size`` bytes of ``raw`` from ``start`` as a readable file (a stored member's
    data, read without zipfile's per-member setup)."""

    def __init__(self, raw, start: int, size: int) -> None:
        self.raw, self.start, self.size, self.pos = raw, start, size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        self.raw.seek(self.start + self.pos)
        data = self.raw.read(n)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos


def _stored_header(raw, info: zipfile.ZipInfo, path: str):
    """``(shape, fortran, dtype, header length)`` of a plain stored member, read in place
    (zipfile's per-member setup is slow for thousands); ``None`` for any other member or
    any doubt (then zipfile opens it, with its own checks and errors)."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        return None
    try:
        start = _stored_offset(raw, info)
        raw.seek(info.header_offset + 30)
        if raw.read(len(info.orig_filename.encode("utf-8"))) != \
                info.orig_filename.encode("utf-8"):
            return None
        fp = _Window(raw, start, info.file_size)
        shape, fortran, dtype = _header(fp, path, info.filename)
    except (*_DAMAGE, NpzError):
        return None
    return shape, fortran, dtype, fp.tell()


def _stored_offset(raw, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header, name and extra field."""
    raw.seek(info.header_offset)
    local = raw.read(30)
    if len(local) != 30 or local[:4] != ZIP_MAGIC:
        raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return info.header_offset + 30 + name_len + extra_len


def read_weights(path: str) -> WeightsMapping:
    """The arrays of ``path`` by member name (``.npy`` dropped), in member order."""
    size = os.path.getsize(path)
    specs = []
    with _damage_is_an_error(path), open(path, "rb") as raw, zipfile.ZipFile(raw) as zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise NpzError(f"{path}: {len(infos)} members, more than {_MAX_MEMBERS}.")
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise NpzError(f"{path}: member {info.filename!r} is not a .npy array.")
            fast = _stored_header(raw, info, path)
            if fast is not None:
                shape, fortran, dtype, header_len = fast
            else:  # zipfile's checks of the member, and their errors
                with zf.open(info) as fp:
                    shape, fortran, dtype = _header(fp, path, info.filename)
                    header_len = fp.tell()
            name = info.filename[:-4]
            if dtype.hasobject:
                raise NpzError(f"{path}: {name!r} is a pickled object array; numkeras "
                               "never unpickles (it could run code).")
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if nbytes + header_len > info.file_size:
                raise NpzError(f"{path}: {name!r} declares {nbytes} bytes of data but the "
                               f"member holds {info.file_size - header_len}; the file is "
                               "truncated or damaged.")
            offset = None
            if info.compress_type == zipfile.ZIP_STORED and not fortran and \
                    dtype.byteorder != ">":
                offset = _stored_offset(raw, info) + header_len
                if offset + nbytes > size:
                    raise NpzError(f"{path}: the data of {name!r} lies past the end of "
                                   "the file; the file is truncated.")
            specs.append(WeightSpec(name, info.filename, shape, dtype, file=path,
                                    offset=offset))

    def read_one(spec: WeightSpec) -> np.ndarray:
        if spec.offset is not None:
            return memmap(spec)
        with _damage_is_an_error(path), zipfile.ZipFile(path) as zf, zf.open(spec.key) as fp:
            _, fortran, _ = _header(fp, path, spec.key)
            data = fp.read(spec.nbytes)
        if len(data) != spec.nbytes:
            raise NpzError(f"{path}: {spec.key!r} is truncated.")
        return np.frombuffer(data, spec.dtype).reshape(spec.shape,
                                                        order="F" if fortran else "C").copy()
    return WeightsMapping(path, "npz", specs, read_one)


def write(arrays: dict, path: str, metadata: dict | None = None) -> None:
    """Write ``arrays`` (name -> numeric array, in order) atomically as a stored ``.npz``."""
    from numkeras.saving.paths import atomic_write_path

    values = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.hasobject or value.dtype.kind in "SUV":
            raise ValueError(f"Cannot write {name!r} ({value.dtype}) to {path}: .npz files "
                             "written here hold numeric arrays only.")
        if value.dtype.name == "bfloat16" or value.dtype.name.startswith("float8"):
            raise ValueError(f"Cannot write {name!r} ({value.dtype.name}) to {path}: .npy has "
                             f"no {value.dtype.name} type. Write safetensors, or convert with "
                             "--dtype float32.")
        values[name] = value
    from numkeras.saving.zipio import StoredZipWriter

    with atomic_write_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        try:
            out = StoredZipWriter(fd)
            for name, value in values.items():  # each array from its own buffer
                if not value.flags.c_contiguous:  # (ascontiguousarray would make 0-d 1-d)
                    value = value.copy(order="C")
                out.add(name + ".npy", [_npy_header(value), value.reshape(-1).view(np.uint8)])
            out.close()
        finally:
            os.close(fd)


def _npy_header(value: np.ndarray) -> bytes:
    """The ``.npy`` header NumPy's ``write_array`` puts before a C-ordered ``value``."""
    header = io.BytesIO()
    meta = np.lib.format.header_data_from_array_1_0(value)
    try:
        np.lib.format.write_array_header_1_0(header, meta)
    except ValueError:  # a header over 64 KiB: version 2.0, as write_array does
        header = io.BytesIO()
        np.lib.format.write_array_header_2_0(header, meta)
    return header.getvalue()


def save_weights(model, path, options=None, **kwargs) -> None:
    """``model.save_weights('w.npz')``: every weight under its Keras name, in model order."""
    if kwargs:
        raise TypeError(f"save_weights() got unexpected keyword arguments {sorted(kwargs)} for "
                        ".npz.")
    from numkeras.saving.weight_writers import model_arrays

    write(model_arrays(model, path), os.fspath(path))


def load_weights(model, path, skip_mismatch: bool = False, by_name: bool = False,
                 options=None):
    """``model.load_weights('w.npz')``: by Keras weight name, all or nothing."""
    from numkeras.saving.by_name import load_mapping

    path = os.fspath(path)
    return load_mapping(model, read_weights(path), path, skip_mismatch=skip_mismatch,
                        direct=True)


def inspect(info) -> None:
    """Fill an :class:`~numkeras.saving.inspect.Inventory` from the members' headers."""
    from numkeras.saving.inspect import Entry, dtype_name

    for spec in read_weights(info.resolved).specs.values():
        info.entries.append(Entry(spec.name, spec.shape, dtype_name(spec.dtype), spec.nbytes,
                                  file=os.path.basename(spec.file)))
    info.files = [info.resolved]


def verify(path: str, result) -> None:
    """Check every member's zip CRC and ``.npy`` header, then read every array."""
    from numkeras.saving.inspect import Corrupt, note_values

    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
        if bad is not None:
            raise Corrupt(path, bad, f"member {bad!r} fails its zip CRC check.")
        mapping = read_weights(path)
        for name in mapping:
            note_values(result, path, name, np.asarray(mapping[name]))
    except (NpzError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise Corrupt(path, "", str(exc)) from None
