"""Saving and loading weights: one subpackage per file format behind one dispatcher.

``Model.save_weights`` / ``Model.load_weights`` call :func:`save_weights` /
:func:`load_weights` here, which choose the format from the path and ``save_format``
(the rules of tf.keras 2.21, kept with the suffixes and magic bytes of every format in the
format registry :mod:`numkeras.saving.formats`) and hand over to the format's package:

- ``numkeras.saving.hdf5``: legacy Keras 2 ``.h5`` weights (and full-model ``.h5`` files);
- ``numkeras.saving.tf_checkpoint``: TensorFlow checkpoints and SavedModel ``variables/``;
- ``numkeras.saving.keras_v3``: ``.keras`` archives, ``.weights.h5`` and ``.weights.json``.

Every save and load runs with Python's cyclic garbage collector paused
(:mod:`numkeras.saving.gcpause`). Each format module provides ``save_weights(model, path, **options)`` and
``load_weights(model, path, skip_mismatch=..., by_name=..., options=...)``.
"""

from __future__ import annotations

import os

from numkeras.engine.graph_config import UntranslatableLayersError
from numkeras.saving import formats
from numkeras.saving.formats import load_format_for, save_format_for
from numkeras.saving.gcpause import gc_paused
from numkeras.saving.paths import ask_to_proceed_with_overwrite, path_to_string
from numkeras.saving.weights import read_weights, write_weights
from numkeras.train import _writer


@gc_paused()
def save_weights(model, filepath, overwrite: bool = True, save_format=None, options=None,
                 **kwargs):
    """Write ``model``'s weights to ``filepath`` in the format the path/``save_format`` pick."""
    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.save_weights(model, filepath, overwrite=overwrite,
                                   save_format=save_format, options=options, **kwargs)
    fmt = save_format_for(filepath, save_format)
    model.assert_weights_created()
    target = formats.by_family(fmt)[0].marker(filepath)
    if not overwrite and os.path.isfile(target) and not ask_to_proceed_with_overwrite(target):
        return None
    return formats.family_module(fmt).save_weights(model, filepath, options=options, **kwargs)


def _is_remote(filepath) -> bool:
    """A ``gs://``, ``s3://``, ``memory://`` ... URL: staged by :mod:`.remote` (fsspec)."""
    from numkeras.saving.remote import is_remote

    return is_remote(filepath)


@gc_paused()
def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """``numkeras.models.load_model`` that also accepts remote URLs (staged locally)."""
    from numkeras.saving import model_loading

    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode)
    return model_loading.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                    safe_mode=safe_mode)


@gc_paused()
def load_weights(model, filepath, skip_mismatch: bool = False, by_name: bool = False,
                 options=None):
    """Load weights from any supported file into ``model``; returns a load report/status."""
    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.load_weights(model, filepath, skip_mismatch=skip_mismatch,
                                   by_name=by_name, options=options)
    from numkeras.saving.damage import named_errors

    _wait_for_async_save(model)
    with named_errors(filepath):
        fmt = load_format_for(filepath)
        return formats.family_module(fmt).load_weights(
            model, filepath, skip_mismatch=skip_mismatch, by_name=by_name, options=options)


def _wait_for_async_save(model) -> None:
    """Finish ``model``'s pending asynchronous TF-format save (if any) before reading files."""
    _writer.sync(model)


@gc_paused()
def save_model(model, filepath, overwrite: bool = True, save_format=None, **kwargs):
    """``model.save``: a ``.keras`` archive, or a full-model ``.h5`` file."""
    filepath = path_to_string(filepath)
    if _is_remote(filepath):
        from numkeras.saving import remote

        return remote.save_model(model, filepath, overwrite=overwrite, save_format=save_format,
                                 **kwargs)
    fmt = formats.model_family_for(filepath, save_format)
    if not overwrite and os.path.exists(filepath) and not ask_to_proceed_with_overwrite(
            filepath):
        return None
    module = formats.family_module(fmt)
    if not hasattr(module, "save_model"):
        raise NotImplementedError(f"model.save() to {filepath!r} ({fmt}) is not supported yet.")
    try:
        return module.save_model(model, filepath, **kwargs)
    except UntranslatableLayersError as err:  # say which file was not written
        raise UntranslatableLayersError(err.problems, err.style, filepath) from None


__all__ = ["save_weights", "load_weights", "save_model", "load_model", "save_format_for",
           "load_format_for", "read_weights", "write_weights"]
