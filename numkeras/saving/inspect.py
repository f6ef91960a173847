"""Look inside any weights file numkeras reads, without building a model.

:func:`detect` names the format of a path; :func:`inspect` lists its entries (name, shape,
dtype, bytes) from metadata only; :func:`verify` reads every tensor fully and checks what the
format lets us check (TensorFlow's CRC-32Cs, the zip CRCs of a ``.keras`` archive, HDF5
readability and the consistency of the weight-name attributes).

Formats (the ``format`` strings used here and by ``numkeras inspect``):

- ``h5``: legacy Keras 2 weights (``model.save_weights('w.h5')``);
- ``h5-model``: a full-model ``.h5`` (``model.save('m.h5')``: ``model_config`` + weights);
- ``tf-checkpoint``: a TensorFlow checkpoint prefix (``<prefix>.index`` + data files), also
  reached from a folder holding a ``checkpoint`` state file (its latest checkpoint);
- ``saved-model``: a SavedModel folder (its ``variables/variables`` checkpoint);
- ``keras``: a ``.keras`` archive; ``weights.h5``: Keras 3 ``.weights.h5``;
  ``weights.json``: a sharded Keras 3 manifest and its shards.

>>> import os, tempfile
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
>>> model.save_weights(path)
>>> info = inspect(path)
>>> info.format, [(e.name, e.shape, e.dtype) for e in info.entries]
('h5', [('dense/kernel:0', (3, 2), 'float32'), ('dense/bias:0', (2,), 'float32')])
>>> info.count, info.parameters, info.nbytes
(2, 8, 32)
>>> verify(path).ok
True
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from numkeras.saving import formats
from numkeras.saving.damage import UNDOCUMENTED, named_errors
from numkeras.saving.formats import detect, has_architecture

__all__ = ["Entry", "Inventory", "VerifyResult", "detect", "inspect", "verify",
           "FORMATS", "ARCHITECTURE_FORMATS", "has_architecture", "Corrupt"]

#: Every format name :func:`detect` returns.
FORMATS = tuple(f.name for f in formats.FORMATS)
#: Formats that carry the model's architecture (``load_model`` can rebuild the model).
ARCHITECTURE_FORMATS = tuple(f.name for f in formats.FORMATS if f.architecture)


@dataclass
class Entry:
    """One stored tensor.

    ``name``: the weight name (HDF5: ``dense/kernel:0``), checkpoint key (TF) or HDF5 path
    (Keras 3: ``layers/dense/vars/0``). ``group``: the layer (HDF5), or the object path of
    the owning object (Keras 3). ``object_path``/``variable`` (TF checkpoints only): the node
    path TensorFlow prints (``(root).layer_with_weights-0.kernel``) and the variable's name.
    """

    name: str
    shape: tuple
    dtype: str
    nbytes: int
    group: str = ""
    object_path: str = ""
    variable: str = ""
    file: str = ""
    #: The Keras weight name (``dense/kernel:0``) of a ``vars/N`` entry, when known.
    keras_name: str = ""

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["shape"] = list(self.shape)
        return out


@dataclass
class Inventory:
    """What :func:`inspect` found: the format, the files read and the entries."""

    path: str
    format: str
    entries: list[Entry] = field(default_factory=list)
    #: The checkpoint prefix actually read (TF formats), else the file.
    resolved: str = ""
    files: list[str] = field(default_factory=list)
    #: Small facts from the file: ``keras_version``, ``backend``, ``layer_names``, ...
    attributes: dict = field(default_factory=dict)

    @property
    def has_architecture(self) -> bool:
        """Whether the file stores the model config (so the model can be rebuilt)."""
        return has_architecture(self.path, self.format)

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def parameters(self) -> int:
        """Elements of all numeric entries (strings such as the object graph excluded)."""
        return sum(e.size for e in self.entries if e.dtype not in ("string", "object"))

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "resolved": self.resolved,
                "has_architecture": self.has_architecture, "files": self.files,
                "attributes": self.attributes,
                "entries": [e.to_dict() for e in self.entries],
                "totals": {"count": self.count, "parameters": self.parameters,
                           "bytes": self.nbytes}}


@dataclass
class VerifyResult:
    """What :func:`verify` found: ``ok``, the first problem, and what was checked."""

    path: str
    format: str
    ok: bool
    checked: int = 0
    nbytes: int = 0
    problem: str = ""
    #: The file and key/dataset of the first corrupt entry (empty when ``ok``).
    file: str = ""
    key: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class Corrupt(Exception):
    """Raised by a format's ``verify`` for the first corrupt entry: the file, the key or
    dataset (may be empty) and what is wrong."""

    def __init__(self, file: str, key: str, message: str):
        super().__init__(message)
        self.file, self.key = file, key


# -- inspect and verify: the format's own functions ------------------------------------------

def inspect(path) -> Inventory:
    """The entries of the weights file at ``path``, from metadata only (no tensor data read).

    TF checkpoints also read their (small) object graph to name each key's object path.
    """
    path = os.fspath(path)
    with named_errors(path):
        fmt, resolved = detect(path)
        info = Inventory(path=path, format=fmt, resolved=resolved)
        formats.get(fmt).function("inspect")(info)
    return info


def verify(path) -> VerifyResult:
    """Read every tensor of ``path`` fully and check it; the first problem is reported.

    TF checkpoints: every entry's CRC-32C, sizes and offsets, every data file present.
    ``.keras``: the zip CRC of every member, then every dataset. HDF5 files: every dataset
    read, and every weight named by the ``weight_names`` attributes present. HDF5 stores no
    checksum of raw data, so a flipped bit inside an HDF5 dataset cannot be detected; values
    that are NaN or infinite are reported as warnings.
    """
    path = os.fspath(path)
    with named_errors(path):
        fmt, resolved = detect(path)
    result = VerifyResult(path=path, format=fmt, ok=True)
    try:
        formats.get(fmt).function("verify")(resolved, result)
    except Corrupt as exc:
        result.ok, result.problem, result.file, result.key = False, str(exc), exc.file, exc.key
    except (*UNDOCUMENTED, ValueError, OSError) as exc:  # damage the checks did not foresee
        result.ok, result.problem, result.file = False, (
            f"{path}: the file is damaged ({type(exc).__name__}: {exc})"), path
    return result


# -- helpers of the formats' inspect/verify ----------------------------------------------------

def dtype_name(dtype) -> str:
    """The dtype's name as listed (``string`` for bytes, str and object arrays)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "SUO":
        return "string"
    return dtype.name


def str_attr(value) -> str:
    """An HDF5 attribute value as ``str``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value.decode("utf8", "replace") if isinstance(value, (bytes, np.bytes_)) \
        else str(value)


#: Called once per tensor ``verify`` reads (the command line's progress bar), or ``None``.
on_tensor_checked = None


def note_values(result: VerifyResult, file: str, key: str, value: np.ndarray) -> None:
    """Count one tensor read by ``verify``; NaN/infinite values become warnings."""
    if on_tensor_checked is not None:
        on_tensor_checked()
    result.checked += 1
    result.nbytes += int(value.nbytes) if value.dtype != object else 0
    if value.dtype.kind in "fc" and value.size and not np.all(np.isfinite(value)):
        bad = int(value.size - np.count_nonzero(np.isfinite(value)))
        result.warnings.append(f"{file}: {key}: {bad} NaN/infinite value(s)")
