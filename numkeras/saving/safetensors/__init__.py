"""safetensors files (``.safetensors``): weights by Keras weight name, for PyTorch/JAX users.

Written here in the safetensors layout (any safetensors reader loads them; the package is
the oracle of the tests), each tensor's bytes straight from its buffer, in model order; the
keys are Keras weight names (``dense/kernel:0``) and the ``__metadata__`` records the writer,
the source file and format, and the weight order.

Read here without the package: the header (8-byte little-endian length, then JSON) is
parsed with bounds checks and every tensor is memory-mapped, read-only.

Layout: ``<u64 header length><JSON header>{data}``; the header maps each name to
``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` relative to the data.

>>> import os, tempfile
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> model.save_weights(path)
>>> from safetensors.numpy import load_file
>>> sorted(load_file(path))
['dense/bias:0', 'dense/kernel:0']
>>> print(model.load_weights(path))
Loaded weights from ...w.safetensors: 2 layer(s) loaded, 0 skipped.
"""

from __future__ import annotations

import json
import os
import struct
import sys

import numpy as np

from numkeras.saving.weights import WeightsMapping, WeightSpec, memmap

__all__ = ["save_weights", "load_weights", "read_weights", "write", "inspect", "verify",
           "sniff", "SafetensorsError"]

#: The largest header read (the safetensors library's own limit is 100 MB).
MAX_HEADER = 100 * 2**20
ORDER_KEY = "numkeras.order"
GROUPS_KEY = "numkeras.groups"

_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64",
           "U64": "uint64", "I32": "int32", "U32": "uint32", "I16": "int16", "U16": "uint16",
           "I8": "int8", "U8": "uint8", "BOOL": "bool", "C64": "complex64",
           "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}


class SafetensorsError(ValueError):
    """A malformed safetensors file (the message names the file and what is wrong)."""


def _dtype(name: str) -> np.dtype:
    if name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))
    return np.dtype(name)


def sniff(path: str) -> bool:
    """Whether ``path`` starts like a safetensors file (a sane length, then ``{``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 2 <= n <= min(MAX_HEADER, size - 8)


def read_header(path: str) -> tuple[dict, dict, int]:
    """``(tensors, metadata, data start)``: the checked header of the file at ``path``."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path}: too short for a safetensors file ({size} bytes).")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > size - 8:
            raise SafetensorsError(f"{path}: the header length {n} is larger than the file or "
                                   f"the {MAX_HEADER}-byte limit; the file is truncated or "
                                   "not a safetensors file.")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SafetensorsError(f"{path}: the header is not valid JSON ({exc}).") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: the header is not a JSON object.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SafetensorsError(f"{path}: __metadata__ is not a JSON object.")
    start, data_size = 8 + n, size - 8 - n
    tensors = {}
    for name, info in header.items():
        tensors[name] = _check_entry(path, name, info, data_size)
    return tensors, metadata, start


def _check_entry(path: str, name: str, info, data_size: int) -> tuple:
    try:
        dtype = _dtype(_DTYPES[info["dtype"]])
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SafetensorsError(f"{path}: tensor {name!r} has an invalid header entry {info!r} "
                               f"({type(exc).__name__}: {exc}).") from None
    if any(d < 0 for d in shape):
        raise SafetensorsError(f"{path}: tensor {name!r} has a negative dimension {shape}.")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if not 0 <= begin <= end <= data_size or end - begin != nbytes:
        raise SafetensorsError(f"{path}: tensor {name!r} ({info['dtype']} {list(shape)}, "
                               f"{nbytes} bytes) has data_offsets [{begin}, {end}] outside the "
                               f"{data_size} data bytes or of the wrong size; the file is "
                               "truncated or damaged.")
    return dtype, shape, begin


def _order(names: list[str], metadata: dict) -> list[str]:
    try:
        order = json.loads(metadata.get(ORDER_KEY, "null"))
    except ValueError:
        order = None
    if isinstance(order, list) and sorted(order) == sorted(names):
        return order
    return names


def read_weights(path: str) -> WeightsMapping:
    """The tensors of ``path`` by stored name, memory-mapped read-only."""
    tensors, metadata, start = read_header(path)
    try:
        groups = json.loads(metadata.get(GROUPS_KEY, "{}"))
    except ValueError:
        groups = {}
    groups = groups if isinstance(groups, dict) else {}
    specs = []
    for name in _order(list(tensors), metadata):
        dtype, shape, begin = tensors[name]
        specs.append(WeightSpec(name, name, shape, dtype, group=str(groups.get(name, "")),
                                file=path, offset=start + begin))
    return WeightsMapping(path, "safetensors", specs, memmap, metadata=metadata)


def write(arrays: dict, path: str, metadata: dict | None = None) -> None:
    """Write ``arrays`` (name -> numeric array, in order) atomically with ``metadata``.

    The bytes go from the arrays' own buffers to the file (no copy of a C-contiguous
    little-endian array), in the given order; the header is the safetensors library's
    layout (compact JSON, space-padded to 8 bytes).
    """
    from numkeras.saving.paths import atomic_write_path

    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.setdefault("writer", "numkeras")
    meta[ORDER_KEY] = json.dumps(list(arrays))
    codes = {v: k for k, v in _DTYPES.items()}
    header: dict = {"__metadata__": meta}
    buffers = []
    offset = 0
    for name, value in arrays.items():
        value = np.asarray(value)
        code = codes.get(value.dtype.name)
        if code is None:
            if value.dtype.kind in "OSUV":
                raise ValueError(f"Cannot write {name!r} ({value.dtype}) to {path}: "
                                 "safetensors holds numeric tensors only.")
            raise ValueError(f"Cannot write {name!r} to {path}: safetensors has no "
                             f"{value.dtype.name} type.")
        if value.dtype.byteorder == ">" or (value.dtype.byteorder == "=" and
                                            sys.byteorder == "big"):
            value = value.astype(value.dtype.newbyteorder("<"))  # safetensors is little-endian
        value = np.ascontiguousarray(value)
        header[str(name)] = {"dtype": code, "shape": list(value.shape),
                             "data_offsets": [offset, offset + value.nbytes]}
        offset += value.nbytes
        buffers.append(value)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with atomic_write_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        try:
            _write_all(fd, struct.pack("<Q", len(text)) + text)
            for value in buffers:
                if value.nbytes:
                    _write_all(fd, memoryview(value.reshape(-1).view(np.uint8)))
        finally:
            os.close(fd)


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view):]


def save_weights(model, path, options=None, **kwargs) -> None:
    """``model.save_weights('w.safetensors')``: every weight under its Keras name."""
    if kwargs:
        raise TypeError(f"save_weights() got unexpected keyword arguments {sorted(kwargs)} for "
                        "safetensors.")
    from numkeras.saving.weight_writers import model_arrays

    write(model_arrays(model, path), os.fspath(path),
          {"source": f"model {model.name}", "source_format": "numkeras model"})


def load_weights(model, path, skip_mismatch: bool = False, by_name: bool = False,
                 options=None):
    """``model.load_weights('w.safetensors')``: by Keras weight name (``by_name`` is
    implied), all or nothing; returns a :class:`~numkeras.saving.report.LoadReport`."""
    from numkeras.saving.by_name import load_mapping

    path = os.fspath(path)
    return load_mapping(model, read_weights(path), path, skip_mismatch=skip_mismatch,
                        direct=True)


def inspect(info) -> None:
    """Fill an :class:`~numkeras.saving.inspect.Inventory` from the header."""
    from numkeras.saving.inspect import Entry, dtype_name

    mapping = read_weights(info.resolved)
    for spec in mapping.specs.values():
        info.entries.append(Entry(spec.name, spec.shape, dtype_name(spec.dtype), spec.nbytes,
                                  group=spec.group, file=os.path.basename(spec.file)))
    info.attributes.update({k: v for k, v in mapping.metadata.items()
                            if k not in (ORDER_KEY, GROUPS_KEY)})
    info.files = [info.resolved]


def verify(path: str, result) -> None:
    """Check the header and read every tensor (safetensors stores no checksum)."""
    from numkeras.saving.inspect import Corrupt, note_values

    try:
        mapping = read_weights(path)
        for name in mapping:
            note_values(result, path, name, np.asarray(mapping[name]))
    except (SafetensorsError, OSError, ValueError) as exc:
        raise Corrupt(path, "", str(exc)) from None
