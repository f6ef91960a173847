"""The error raised for malformed or hostile Keras v3 files."""

from __future__ import annotations


class KerasFileError(ValueError):
    """A ``.keras`` archive, ``.weights.h5`` or ``.weights.json`` is malformed or unsafe.

    The message names the file and the entry at fault. Nothing has been assigned or
    extracted when it is raised.
    """


class ModelConfigError(KerasFileError):
    """A model config (``config.json`` of a ``.keras`` archive, ``model_config`` of a
    full-model ``.h5`` file, or a JSON string) cannot be rebuilt: it is not the shape of a
    Keras config, a layer's entry is malformed, or its arguments are invalid.

    The message names the layer (class and name) at fault and, when loading a file, the
    file. No model is returned and no file is changed.

    >>> issubclass(ModelConfigError, ValueError)
    True
    """
