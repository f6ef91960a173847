"""Saving and loading weights: one subpackage per file format behind one dispatcher.

``Model.save_weights`` / ``Model.load_weights`` call :func:`save_weights` /
:func:`load_weights` here, which choose the format from the path and ``save_format``
(the rules of tf.keras 2.21) and hand over to the format's module:

- ``numkeras.saving.hdf5``: legacy Keras 2 ``.h5`` weights (and full-model ``.h5`` files);
- ``numkeras.saving.tf_checkpoint``: TensorFlow checkpoints and SavedModel ``variables/``;
- ``numkeras.saving.keras_v3``: ``.keras`` archives, ``.weights.h5`` and ``.weights.json``.

Each format module provides ``save_weights(model, path, **options)`` and
``load_weights(model, path, skip_mismatch=..., by_name=..., options=...)``.
"""

from __future__ import annotations

import importlib
import os
import sys

from numkeras.saving.paths import ask_to_proceed_with_overwrite, path_to_string

_H5_SUFFIXES = (".h5", ".keras", ".hdf5")
_FORMAT_MODULES = {
    "h5": "numkeras.saving.hdf5",
    "tf": "numkeras.saving.tf_checkpoint",
    "keras_v3": "numkeras.saving.keras_v3",
}


def _format_module(fmt: str):
    return importlib.import_module(_FORMAT_MODULES[fmt])


def save_format_for(filepath: str, save_format=None) -> str:
    """The format ``save_weights`` writes: ``'h5'``, ``'tf'`` or ``'keras_v3'``.

    >>> save_format_for("w.h5"), save_format_for("ckpt/w"), save_format_for("m.weights.h5")
    ('h5', 'tf', 'keras_v3')
    """
    if filepath.endswith((".weights.h5", ".weights.json")):
        return "keras_v3"
    if save_format is None:
        return "h5" if filepath.endswith(_H5_SUFFIXES) else "tf"
    fmt = str(save_format).lower().strip()
    if fmt in ("tf", "tensorflow"):
        if filepath.endswith(_H5_SUFFIXES):
            raise ValueError(
                f'save_weights got save_format="{save_format}", but the filepath ({filepath}) '
                'looks like an HDF5 file. Omit the ".h5"/".keras" when saving in TensorFlow '
                "format.")
        return "tf"
    if fmt in ("h5", "hdf5", "keras"):
        return "h5"
    raise ValueError(f'Unknown format. Received: `save_format`={save_format}. Was expecting '
                     'one of {"tf", "h5"}.')


def save_weights(model, filepath, overwrite: bool = True, save_format=None, options=None,
                 **kwargs):
    """Write ``model``'s weights to ``filepath`` in the format the path/``save_format`` pick."""
    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.save_weights(model, filepath, overwrite=overwrite,
                                   save_format=save_format, options=options, **kwargs)
    fmt = save_format_for(filepath, save_format)
    model._assert_weights_created()
    target = filepath + ".index" if fmt == "tf" else filepath
    if not overwrite and os.path.isfile(target) and not ask_to_proceed_with_overwrite(target):
        return None
    return _format_module(fmt).save_weights(model, filepath, options=options, **kwargs)


def load_format_for(filepath: str) -> str:
    """The format of an existing weights file or checkpoint prefix (sniffed where needed)."""
    if filepath.endswith((".weights.h5", ".weights.json")):
        return "keras_v3"
    if filepath.endswith(".keras") and _is_zip(filepath):
        return "keras_v3"
    if filepath.endswith(_H5_SUFFIXES):
        return "h5"
    if os.path.isfile(filepath + ".index") or os.path.isdir(filepath):
        return "tf"
    if os.path.isfile(filepath):
        with open(filepath, "rb") as f:
            head = f.read(8)
        if head == b"\x89HDF\r\n\x1a\n":
            return "h5"
        if head[:4] == b"PK\x03\x04":
            return "keras_v3"
    if os.path.isfile(os.path.join(os.path.dirname(filepath) or ".", "checkpoint")) and not \
            os.path.exists(filepath):
        raise FileNotFoundError(
            f"No checkpoint at {filepath!r}: neither {filepath + '.index'!r} nor a file of that "
            "name exists. Pass the checkpoint prefix (the path given to save_weights), e.g. "
            "numkeras.train.latest_checkpoint(directory).")
    raise FileNotFoundError(f"No weights file found at {filepath!r} (looked for an HDF5 or "
                            f".keras file, a TF checkpoint prefix with a .index file, or a "
                            "SavedModel directory).")


def _is_remote(filepath) -> bool:
    """A ``gs://``, ``s3://``, ``memory://`` ... URL: staged by :mod:`.remote` (fsspec)."""
    from numkeras.saving.remote import is_remote

    return is_remote(filepath)


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """``numkeras.models.load_model`` that also accepts remote URLs (staged locally)."""
    from numkeras.saving import serialization

    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode)
    return serialization.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                    safe_mode=safe_mode)


def _is_zip(filepath: str) -> bool:
    try:
        with open(filepath, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def load_weights(model, filepath, skip_mismatch: bool = False, by_name: bool = False,
                 options=None):
    """Load weights from any supported file into ``model``; returns a load report/status."""
    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.load_weights(model, filepath, skip_mismatch=skip_mismatch,
                                   by_name=by_name, options=options)
    _wait_for_async_save(model)
    fmt = load_format_for(filepath)
    return _format_module(fmt).load_weights(model, filepath, skip_mismatch=skip_mismatch,
                                            by_name=by_name, options=options)


def _wait_for_async_save(model) -> None:
    """Finish ``model``'s pending asynchronous TF-format save (if any) before reading files."""
    writer = sys.modules.get("numkeras.train._writer")  # loaded only if async saves were used
    if writer is not None:
        writer.sync(model)


def save_model(model, filepath, overwrite: bool = True, save_format=None, **kwargs):
    """``model.save``: a ``.keras`` archive, or a full-model ``.h5`` file."""
    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.save_model(model, filepath, overwrite=overwrite, save_format=save_format,
                                 **kwargs)
    fmt = "h5" if (save_format in ("h5", "hdf5") or filepath.endswith((".h5", ".hdf5"))) \
        else "keras_v3"
    if not overwrite and os.path.exists(filepath) and not ask_to_proceed_with_overwrite(
            filepath):
        return None
    module = _format_module(fmt)
    if not hasattr(module, "save_model"):
        raise NotImplementedError(f"model.save() to {filepath!r} ({fmt}) is not supported yet.")
    return module.save_model(model, filepath, **kwargs)


__all__ = ["save_weights", "load_weights", "save_model", "load_model", "save_format_for",
           "load_format_for"]
