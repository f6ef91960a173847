"""The format registry: one :class:`FileFormat` record per file format numkeras reads or writes.

This module is the only place that knows the suffixes and magic bytes of the formats, and
how a path is matched to a format. The dispatcher (:mod:`numkeras.saving`), ``load_model``,
:mod:`numkeras.saving.inspect` and the ``numkeras`` command line all ask it.

A record names its code by dotted paths that are imported only when used (``"pkg.mod"`` for
the package with ``save_weights``/``load_weights``/``save_model``, ``"pkg.mod:function"`` for
``inspect``/``verify``/``sniff``), so ``import numkeras`` stays cheap and a new format is one
folder under ``numkeras/saving/`` plus one record in :data:`FORMATS`.

>>> [f.name for f in FORMATS]
['h5', 'h5-model', 'tf-checkpoint', 'saved-model', 'npz', 'keras', 'weights.h5', 'weights.json', 'safetensors', 'onnx']
>>> get("keras").architecture, get("weights.h5").suffixes
(True, ('.weights.h5',))
>>> save_format_for("w.h5"), save_format_for("ckpt/w"), save_format_for("m.weights.h5")
('h5', 'tf', 'keras_v3')
>>> save_format_for("w.safetensors"), save_format_for("w.npz")
('safetensors', 'npz')
>>> target_for("m.keras").name, target_for("w.hdf5").name, target_for("ckpt/w").name
('keras', 'h5', 'tf-checkpoint')
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FileFormat", "FORMATS", "HDF5_MAGIC", "ZIP_MAGIC", "get", "by_family",
           "family_module", "save_format_for", "load_format_for", "model_family_for",
           "target_for", "detect", "has_architecture", "head"]

#: The first 8 bytes of every HDF5 file (the HDF5 superblock signature).
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: The first 4 bytes of a zip archive (local file header signature).
ZIP_MAGIC = b"PK\x03\x04"
#: What TensorFlow adds to a checkpoint prefix for its index and data files.
INDEX_SUFFIX = ".index"
DATA_MARKER = ".data-"


@dataclass(frozen=True)
class FileFormat:
    """One file format.

    ``name``: the name :func:`detect`, ``numkeras inspect`` and ``convert --format`` use.
    ``family``: the key of the dispatcher (``'h5'``, ``'tf'``, ``'keras_v3'``: tf.keras's
    ``save_format`` names plus Keras 3's), all records of a family share ``package``.
    ``suffixes``: what a path of this format ends with (``()`` for checkpoint prefixes).
    ``magic``: the first bytes of the file (``b''`` when none). ``architecture``: whether it
    stores the model config. ``writes``: ``'weights'`` (``Model.save_weights``), ``'model'``
    (``Model.save``), ``'export'`` (``Model.export``) or ``''`` (read-only).
    ``inspect``/``verify``/``sniff``: lazily imported ``"module:function"`` paths;
    ``sniff(path) -> bool`` tells this format from others with the same magic bytes.
    """

    name: str
    label: str
    family: str
    package: str
    suffixes: tuple = ()
    magic: bytes = b""
    architecture: bool = False
    writes: str = ""
    #: The name of ``numkeras convert --format`` (empty: not a conversion target).
    cli_name: str = ""
    #: What convert's error says a path of this format needs (default: its first suffix).
    path_hint: str = ""
    #: Whether the format checksums its data bytes (a flipped data bit is detected on load).
    checksummed: bool = False
    #: The suffixes ``Model.save_weights`` writes this format for (tf.keras's rule).
    weights_suffixes: tuple = ()
    #: The format assumed for a file with these magic bytes that no ``sniff`` recognises.
    fallback: bool = False
    inspect: str = ""
    verify: str = ""
    sniff: str = ""
    #: ``"module:function"(path) -> bool`` when whether a config is stored depends on the file.
    architecture_check: str = ""

    def matches(self, path: str) -> bool:
        """Whether ``path`` ends with one of the suffixes."""
        return bool(self.suffixes) and path.endswith(self.suffixes)

    def marker(self, path: str) -> str:
        """The file whose existence means something of this format is at ``path``."""
        return path + INDEX_SUFFIX if self.family == "tf" else path

    def module(self):
        """The package with ``save_weights``/``load_weights`` (and ``save_model``)."""
        return importlib.import_module(self.package)

    def function(self, which: str) -> Callable:
        """``inspect``, ``verify``, ``sniff`` or ``architecture_check``, imported."""
        spec = getattr(self, which)
        if not spec:
            raise NotImplementedError(f"{self.name}: no {which} function.")
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)


_H5 = "numkeras.saving.hdf5"
_TF = "numkeras.saving.tf_checkpoint"
_V3 = "numkeras.saving.keras_v3"
_ST = "numkeras.saving.safetensors"
_NPZ = "numkeras.saving.npz"

#: Every format, in the order :func:`detect` tries the ones sharing magic bytes.
FORMATS: tuple[FileFormat, ...] = (
    FileFormat("h5", "Keras 2 HDF5 weights (save_weights .h5)", "h5", _H5,
               suffixes=(".h5", ".hdf5"), weights_suffixes=(".h5", ".keras", ".hdf5"),
               magic=HDF5_MAGIC, fallback=True, writes="weights", cli_name="h5",
               inspect=f"{_H5}.inspect:inspect", verify=f"{_H5}.inspect:verify",
               sniff=f"{_H5}.inspect:is_weights_file"),
    FileFormat("h5-model", "Keras 2 full-model HDF5 (model.save .h5: config + weights)", "h5",
               _H5, suffixes=(".h5", ".hdf5"), magic=HDF5_MAGIC, architecture=True,
               inspect=f"{_H5}.inspect:inspect", verify=f"{_H5}.inspect:verify",
               sniff=f"{_H5}.inspect:is_model_file"),
    FileFormat("tf-checkpoint", "TensorFlow checkpoint (TensorBundle)", "tf", _TF,
               writes="weights", cli_name="tf", checksummed=True,
               path_hint="no .h5/.keras suffix (a checkpoint prefix)",
               inspect=f"{_TF}.inspect:inspect", verify=f"{_TF}.inspect:verify"),
    FileFormat("saved-model", "SavedModel (variables/variables checkpoint)", "tf", _TF,
               checksummed=True, inspect=f"{_TF}.inspect:inspect",
               verify=f"{_TF}.inspect:verify",
               architecture_check=f"{_TF}.inspect:has_keras_metadata"),
    # before "keras": both are zip files, an .npz is told apart by its members
    FileFormat("npz", "NumPy .npz (weights by Keras weight name)", "npz", _NPZ,
               suffixes=(".npz",), magic=ZIP_MAGIC, writes="weights", cli_name="npz",
               inspect=f"{_NPZ}:inspect", verify=f"{_NPZ}:verify", sniff=f"{_NPZ}:sniff"),
    FileFormat("keras", "Keras v3 .keras archive (config + weights)", "keras_v3", _V3,
               suffixes=(".keras",), magic=ZIP_MAGIC, architecture=True, writes="model",
               cli_name="keras", inspect=f"{_V3}.inspect:inspect",
               verify=f"{_V3}.inspect:verify_archive"),
    FileFormat("weights.h5", "Keras v3 .weights.h5", "keras_v3", _V3,
               suffixes=(".weights.h5",), magic=HDF5_MAGIC, writes="weights",
               cli_name="weights.h5", inspect=f"{_V3}.inspect:inspect",
               verify=f"{_V3}.inspect:verify_h5", sniff=f"{_V3}.inspect:is_weights_file"),
    FileFormat("weights.json", "Keras v3 sharded weights (.weights.json manifest + shards)",
               "keras_v3", _V3, suffixes=(".weights.json",), writes="weights",
               cli_name="weights.json", inspect=f"{_V3}.inspect:inspect",
               verify=f"{_V3}.inspect:verify_h5"),
    FileFormat("safetensors", "safetensors (weights by Keras weight name)", "safetensors",
               _ST, suffixes=(".safetensors",), writes="weights", cli_name="safetensors",
               inspect=f"{_ST}:inspect", verify=f"{_ST}:verify", sniff=f"{_ST}:sniff"),
    # export only: the inference graph for ONNX Runtime (numkeras.export), never read back
    FileFormat("onnx", "ONNX model (export only: model.export(path, format='onnx'))", "onnx",
               "numkeras.export", suffixes=(".onnx",), writes="export", cli_name="onnx"),
)

_BY_NAME = {f.name: f for f in FORMATS}
#: The names of the formats whose suffix alone decides (a longer suffix of a shorter one).
_DECIDING = tuple(f for f in FORMATS if (f.family == "keras_v3" and f.name != "keras")
                  or f.family in ("safetensors", "npz"))
_H5_WEIGHTS_SUFFIXES = _BY_NAME["h5"].weights_suffixes


def get(name: str) -> FileFormat:
    """The record named ``name`` (a :func:`detect` name or a ``convert --format`` name)."""
    for f in FORMATS:
        if name in (f.name, f.cli_name):
            return f
    raise KeyError(name)


def by_family(family: str) -> list[FileFormat]:
    """The records of one dispatcher family (``'h5'``, ``'tf'``, ``'keras_v3'``)."""
    return [f for f in FORMATS if f.family == family]


def family_module(family: str):
    """The package that saves and loads the ``family`` formats (imported now)."""
    return by_family(family)[0].module()


def head(path: str, size: int = 8) -> bytes:
    """The first ``size`` bytes of the file at ``path`` (``b''`` when unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _suffix_decides(path: str) -> FileFormat | None:
    for f in _DECIDING:
        if f.matches(path):
            return f
    return None


# -- the dispatcher's rules (tf.keras 2.21) ----------------------------------------------------

def save_format_for(filepath: str, save_format=None) -> str:
    """The family ``save_weights`` writes: ``'h5'``, ``'tf'`` or ``'keras_v3'``."""
    decided = _suffix_decides(filepath)
    if decided is not None:
        return decided.family
    if save_format is None:
        return "h5" if filepath.endswith(_H5_WEIGHTS_SUFFIXES) else "tf"
    fmt = str(save_format).lower().strip()
    if fmt in ("tf", "tensorflow"):
        if filepath.endswith(_H5_WEIGHTS_SUFFIXES):
            raise ValueError(
                f'save_weights got save_format="{save_format}", but the filepath ({filepath}) '
                'looks like an HDF5 file. Omit the ".h5"/".keras" when saving in TensorFlow '
                "format.")
        return "tf"
    if fmt in ("h5", "hdf5", "keras"):
        return "h5"
    raise ValueError(f'Unknown format. Received: `save_format`={save_format}. Was expecting '
                     'one of {"tf", "h5"}.')


def model_family_for(filepath: str, save_format=None) -> str:
    """The family ``model.save`` writes: full-model ``'h5'`` or a ``'keras_v3'`` archive."""
    h5 = _BY_NAME["h5-model"]
    return "h5" if (save_format in ("h5", "hdf5") or h5.matches(filepath)) else "keras_v3"


def load_format_for(filepath: str) -> str:
    """The family of an existing weights file or checkpoint prefix (sniffed where needed)."""
    decided = _suffix_decides(filepath)
    if decided is not None:
        return decided.family
    keras = _BY_NAME["keras"]
    if keras.matches(filepath) and head(filepath, len(keras.magic)) == keras.magic:
        return keras.family
    if filepath.endswith(_H5_WEIGHTS_SUFFIXES):
        return "h5"
    if os.path.isfile(filepath + INDEX_SUFFIX) or os.path.isdir(filepath):
        return "tf"
    from numkeras.saving.crashsafe import backup_name

    if os.path.isfile(backup_name(os.path.abspath(filepath + INDEX_SUFFIX))):
        return "tf"  # a save replacing it was killed; the loader puts the previous back
    if os.path.isfile(filepath):
        start = head(filepath)
        if start == HDF5_MAGIC:
            return "h5"
        if start[:len(ZIP_MAGIC)] == ZIP_MAGIC:
            return keras.family
    if os.path.isfile(os.path.join(os.path.dirname(filepath) or ".", "checkpoint")) and not \
            os.path.exists(filepath):
        raise FileNotFoundError(
            f"No checkpoint at {filepath!r}: neither {filepath + '.index'!r} nor a file of that "
            "name exists. Pass the checkpoint prefix (the path given to save_weights), e.g. "
            "numkeras.train.latest_checkpoint(directory).")
    raise FileNotFoundError(f"No weights file found at {filepath!r} (looked for an HDF5 or "
                            f".keras file, a TF checkpoint prefix with a .index file, or a "
                            "SavedModel directory).")


def target_for(path: str) -> FileFormat:
    """The format ``numkeras convert`` writes to ``path``: the conversion target with the
    longest matching suffix, else a TF checkpoint prefix."""
    found, best = _BY_NAME["tf-checkpoint"], 0
    for f in FORMATS:
        if not f.cli_name:
            continue
        for suffix in f.suffixes:
            if path.endswith(suffix) and len(suffix) > best:
                found, best = f, len(suffix)
    return found


# -- detection from the content (inspect, verify, convert) -------------------------------------

def _strip_checkpoint_suffix(path: str) -> str:
    """``x.index`` / ``x.data-00000-of-00001`` -> ``x`` when that is a checkpoint prefix."""
    for marker in (INDEX_SUFFIX, DATA_MARKER):
        cut = path.rfind(marker)
        if cut > 0 and os.path.isfile(path[:cut] + INDEX_SUFFIX):
            return path[:cut]
    return path


def _missing(path: str) -> FileNotFoundError:
    folder = os.path.dirname(path) or "."
    looked = (f"looked for a file {path!r}, a TF checkpoint index {path + '.index'!r} and a "
              "folder of that name")
    hint = ("Pass an .h5/.keras/.weights.h5/.weights.json file, a TF checkpoint prefix (the "
            "path given to save_weights, without .index), or a checkpoint/SavedModel folder.")
    if os.path.isfile(os.path.join(folder, "checkpoint")):
        from numkeras.saving.tf_checkpoint.state import latest_checkpoint

        latest = latest_checkpoint(folder)
        if latest:
            hint = f"The folder's 'checkpoint' file names {latest!r}: pass that prefix."
    return FileNotFoundError(f"No weights found at {path!r} ({looked}). {hint}")


def _by_magic(path: str, start: bytes) -> FileFormat | None:
    """The first format whose magic bytes start the file and whose ``sniff`` agrees, else the
    ``fallback`` one with those magic bytes (a file too damaged to tell apart)."""
    fallback = None
    for f in FORMATS:
        if not f.magic or start[:len(f.magic)] != f.magic:
            continue
        if not f.sniff or f.function("sniff")(path):
            return f
        if f.fallback:
            fallback = f
    return fallback


def _by_sniff(path: str) -> FileFormat | None:
    """The first format without magic bytes whose ``sniff`` recognises the file, else the
    one its suffix names (a damaged file: its reader then says what is wrong)."""
    for f in FORMATS:
        if not f.magic and f.sniff and f.function("sniff")(path):
            return f
    for f in FORMATS:
        if not f.magic and f.matches(path):
            return f
    return None


def detect(path) -> tuple[str, str]:
    """``(format name, resolved path)`` of ``path``; for TF checkpoints the resolved path is
    the bundle prefix. Raises ``FileNotFoundError`` naming what was looked for, and what to
    pass instead."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return _detect_folder(path)
    sharded = _BY_NAME["weights.json"]
    if sharded.matches(path):
        if not os.path.isfile(path):
            raise _missing(path)
        return sharded.name, path
    if os.path.isfile(path):
        stripped = _strip_checkpoint_suffix(path)
        if stripped != path:
            return "tf-checkpoint", stripped
        for name in ("npz", "safetensors"):  # their suffix decides: a damaged file's error
            if _BY_NAME[name].matches(path):  # then comes from its own reader
                return name, path
        found = _by_magic(path, head(path)) or _by_sniff(path)
        if found is not None:
            return found.name, path
        if os.path.isfile(path + INDEX_SUFFIX):
            return "tf-checkpoint", path
        raise ValueError(f"{path!r} is neither an HDF5 file, a zip (.keras/.npz), a "
                         "safetensors file nor a TF checkpoint (no .index beside it); numkeras cannot read it.")
    if os.path.isfile(path + INDEX_SUFFIX):
        return "tf-checkpoint", path
    raise _missing(path)


def saved_model_variables(folder: str) -> str:
    """The checkpoint prefix of a SavedModel folder's variables."""
    return os.path.join(folder, "variables", "variables")


def _detect_folder(path: str) -> tuple[str, str]:
    path = os.path.normpath(path)
    variables = saved_model_variables(path)
    if os.path.isfile(variables + INDEX_SUFFIX):
        return "saved-model", variables
    state = os.path.join(path, "checkpoint")
    if os.path.isfile(state):
        from numkeras.saving.tf_checkpoint.state import latest_checkpoint

        latest = latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(
                f"{state} names no checkpoint whose .index file exists; pass a checkpoint "
                "prefix explicitly.")
        return "tf-checkpoint", latest
    raise FileNotFoundError(
        f"{path!r} is a folder without a 'checkpoint' state file or variables/variables.index "
        "(SavedModel); pass a weights file or checkpoint prefix inside it.")


def has_architecture(path, name: str) -> bool:
    """Whether ``path`` (of format ``name``) stores the model config ``load_model`` rebuilds:
    ``.keras``, full-model ``.h5``, and SavedModels written by tf-keras (``keras_metadata.pb``).
    """
    f = get(name)
    if f.architecture_check:
        return bool(f.function("architecture_check")(os.fspath(path)))
    return f.architecture
