"""The error raised for malformed or hostile Keras v3 files."""

from __future__ import annotations


class KerasFileError(ValueError):
    """A ``.keras`` archive, ``.weights.h5`` or ``.weights.json`` is malformed or unsafe.

    The message names the file and the entry at fault. Nothing has been assigned or
    extracted when it is raised.
    """
