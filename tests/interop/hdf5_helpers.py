"""Helpers for the HDF5 interop tests: an independent view of a Keras ``.h5`` file's layout.

Deliberately does not use ``numkeras.saving.hdf5`` (the code under test).
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import h5py
import numpy as np


def _strings(value) -> list[str]:
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    return [x.decode("utf8") if isinstance(x, bytes) else str(x) for x in arr.reshape(-1)]


def _attr_list(group, name: str) -> list[str]:
    if name in group.attrs:
        return _strings(group.attrs[name])
    out, i = [], 0
    while f"{name}{i}" in group.attrs:
        out += _strings(group.attrs[f"{name}{i}"])
        i += 1
    return out


def layout(path: str) -> dict:
    """Layer names, root attribute names, and for each object its weight names/shape/dtype."""
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f and "layer_names" not in f.attrs \
            and "layer_names0" not in f.attrs else f
        objects = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                objects[name] = (obj.shape, obj.dtype.str)
            else:
                objects[name] = ("group", _attr_list(obj, "weight_names"))

        root.visititems(visit)
        return {
            "attrs": sorted(root.attrs),
            "layer_names": _attr_list(root, "layer_names"),
            "backend": _strings(root.attrs["backend"]),
            "keras_version": _strings(root.attrs["keras_version"]),
            "objects": objects,
        }


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(record.getMessage())


@contextlib.contextmanager
def no_tf_warnings():
    """Fail if the body emits a Python warning or a TF/absl log record at WARNING or above."""
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("tensorflow", "absl", "")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    relevant = [str(w.message) for w in caught
                if not issubclass(w.category, DeprecationWarning)]
    assert not relevant, f"warnings: {relevant}"
    assert not handler.records, f"log records: {handler.records}"


@contextlib.contextmanager
def tf_log_records():
    """Collect TF/absl log messages (tf-keras warns through logging, not ``warnings``)."""
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("tensorflow", "absl")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler.records
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
