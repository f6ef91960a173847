"""``load_model``: a model rebuilt from a ``.keras`` archive, a full-model ``.h5`` file or a
tf-keras SavedModel directory (``keras_metadata.pb``), with its weights loaded.

The format is told by the registry (:mod:`.formats`); the config is rebuilt by
:mod:`.serialization` (no code from the file runs); the weights are loaded by the format.
"""

from __future__ import annotations

import json
import os

import numpy as np

from numkeras import saving
from numkeras.saving import formats, h5common
from numkeras.saving.damage import named_errors
from numkeras.saving.keras_v3 import assets, loading
from numkeras.saving.keras_v3.errors import KerasFileError, ModelConfigError
from numkeras.saving.keras_v3.sources import ArchiveSource
from numkeras.saving.paths import path_to_string
from numkeras.saving.serialization import UnknownClassError, deserialize_model
from numkeras.saving.tf_checkpoint.keras_metadata import KERAS_METADATA, root_metadata

__all__ = ["load_model"]


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """A model rebuilt from a ``.keras`` archive or a full-model ``.h5`` file, weights loaded.

    No code from the file is run: ``safe_mode`` is always on (``safe_mode=False`` changes
    nothing). Optimizer state is not restored (``compile`` is accepted for compatibility).
    """
    filepath = path_to_string(filepath)
    if not os.path.exists(filepath):
        hint = (" It is a TF checkpoint prefix, which holds weights only: build the model in "
                "code and call model.load_weights(...)." if os.path.isfile(
                    formats.get("tf-checkpoint").marker(filepath))
                else "")
        raise FileNotFoundError(f"No model file at {filepath!r}: load_model reads a .keras "
                                "archive, a full-model .h5 file or a tf-keras SavedModel "
                                f"directory.{hint}")
    head = b"" if os.path.isdir(filepath) else formats.head(filepath)
    try:
        with named_errors(filepath):
            if os.path.isdir(filepath):
                return _load_saved_model(filepath, custom_objects)
            if head[:len(formats.ZIP_MAGIC)] == formats.ZIP_MAGIC:
                return _load_archive(filepath, custom_objects)
            if head == formats.HDF5_MAGIC:
                return _load_h5(filepath, custom_objects)
    except UnknownClassError as err:  # name the file (once) in the one error listing everything
        if str(err).startswith(str(filepath)):
            raise
        raise UnknownClassError(f"{filepath}: {err}") from None
    except ModelConfigError as err:
        if filepath in str(err):
            raise
        raise ModelConfigError(f"{filepath}: {err}") from err.__cause__
    raise ValueError(f"{filepath} is neither a .keras archive nor an HDF5 file; load_model "
                     "reads those two formats (use load_weights for TF checkpoints).")


def _load_saved_model(directory: str, custom_objects):
    """A model rebuilt from a tf-keras SavedModel's Keras metadata (the root's config, from
    ``keras_metadata.pb`` or, TF 2.4-style, ``saved_model.pb``'s object graph), with the
    weights read from ``variables/``. No graph or function of the SavedModel runs."""
    try:  # keras_metadata.pb, or (TF 2.4) the object graph inside saved_model.pb
        root, path = root_metadata(directory)
    except FileNotFoundError:
        root, path = None, None
    if path is None or (root is None and not path.endswith(KERAS_METADATA)):
        what = ("a SavedModel without Keras metadata (written by tf.saved_model.save or Keras "
                "3 export, not by tf-keras model.save)" if path is not None
                else "not a SavedModel")
        raise ValueError(f"Cannot rebuild a model from the directory {directory!r}: it is {what}"
                         ". Build the model in code and call model.load_weights(path) with the "
                         "SavedModel directory or checkpoint prefix.")
    if root is None:
        raise ValueError(f"{path} has no metadata for the root object; build the model in code "
                         "and call model.load_weights(directory).")

    def decode(obj: dict):  # tf-keras json_utils.Encoder's tuples and shapes
        kind = obj.get("class_name")
        if kind in ("__tuple__", "TensorShape") and "items" in obj:
            return None if obj["items"] is None else tuple(obj["items"])
        if kind == "__ellipsis__":
            return Ellipsis
        return obj

    try:
        meta = json.loads(root, object_hook=decode)
    except ValueError as exc:
        raise ValueError(f"{path}: the root object's metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "config" not in meta or "class_name" not in meta:
        kind = meta.get("class_name", "?") if isinstance(meta, dict) else "?"
        raise ValueError(f"{path}: the root object ({kind}) "
                         "was saved without a config (a subclassed model without get_config), so "
                         "it cannot be rebuilt. Build the model in code and call "
                         "model.load_weights(directory).")
    model = deserialize_model({"class_name": meta["class_name"], "config": meta["config"]},
                              custom_objects)
    status = saving.load_weights(model, directory)
    status.expect_partial()  # the optimizer's values have no model to go to (as compile=False)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as exc:  # same type as tf-keras, but naming the SavedModel
        raise AssertionError(f"{directory}: the model rebuilt from its Keras metadata does not "
                             f"match the SavedModel's variables: {exc}") from exc
    return model


def _load_archive(filepath: str, custom_objects):
    with ArchiveSource(filepath) as source:
        if source.config is None:
            raise KerasFileError(f"{filepath}: the archive has no 'config.json' entry, so the "
                                 "model cannot be rebuilt (load_weights can still read it).")
        total = sum(int(np.prod(ref.shape, dtype=np.float64)) * ref.dtype.itemsize
                    for refs in source.index().groups.values() for ref in refs.values())
        with _bounded_by_file(filepath, total):
            model = deserialize_model(source.config, custom_objects)
        loading.execute(model, source)
        assets.load_assets(model, source.zf, filepath)  # lookup layers' vocabularies
    return model


#: A model rebuilt from a file may create at most this many bytes of variables more than
#: twice what the file's weights hold (checked before each variable is allocated).
BUILD_SLACK_BYTES = 16 << 20


def _bounded_by_file(filepath: str, total: int):
    """Building a model from ``filepath``'s config may not allocate variables beyond what
    its weights (``total`` bytes) can fill: a config declaring huge layers over a small
    file is refused before the allocation (not after hundreds of MiB, or a MemoryError)."""
    from numkeras.engine.variable import allocation_budget

    def refuse(what: str, nbytes: int) -> Exception:
        return ModelConfigError(
            f"{filepath}: the config declares {what} ({nbytes} bytes), but the file's weights "
            f"hold only {total} bytes in all: the config does not match its weights "
            "(refused before allocating it).")

    return allocation_budget(2 * total + BUILD_SLACK_BYTES, refuse)


def _h5_weight_bytes(filepath: str) -> int:
    """Bytes of every dataset in an HDF5 file (metadata only, nothing read)."""
    h5py = h5common.import_h5py()
    sizes = []
    with h5common.open_file(filepath, filepath) as f:
        f.visititems(lambda _, obj: sizes.append(int(obj.size) * obj.dtype.itemsize)
                     if isinstance(obj, h5py.Dataset) and obj.shape is not None else None)
    return sum(sizes)


def _load_h5(filepath: str, custom_objects):
    with h5common.open_file(filepath, filepath) as f:
        raw = h5common.read_attr(f, "model_config")
    if raw is None:
        raise ValueError(f"No model config found in the file at {filepath}: it holds weights "
                         "only. Build the model in code and call model.load_weights().")
    if isinstance(raw, np.ndarray):
        raw = raw.item()
    with _bounded_by_file(filepath, _h5_weight_bytes(filepath)):
        model = deserialize_model(raw if isinstance(raw, bytes) else str(raw).encode(),
                                  custom_objects)
    saving.load_weights(model, filepath)
    return model
