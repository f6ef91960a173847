"""Loading a name -> array mapping into a model by Keras weight name (``dense/kernel:0``).

What ``model.load_weights`` does for formats that store weights by name only (safetensors,
``.npz``): every model weight is looked up by its name, every shape and dtype is checked,
and every value is read and converted before the first variable is assigned, so a failed
load changes nothing. ``skip_mismatch=True`` skips (with a warning and an entry in the
report) weights whose shape or dtype does not fit and weights the file lacks.

>>> import numpy as np
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> report = load_mapping(model, {"dense/kernel:0": np.ones((3, 2)), "dense/bias:0": np.ones(2),
...                               "extra:0": np.zeros(1)}, "w.npz")
>>> print(report)
Loaded weights from w.npz: 2 layer(s) loaded, 0 skipped.
  in the file but not in the model: extra:0
>>> float(model.weights[0].value.sum())
6.0
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np

from numkeras.saving.h5common import castable
from numkeras.saving.report import LoadReport
from numkeras.saving.weights import shape_and_dtype

_LISTED = 10



def _listed(names: list[str]) -> str:
    more = f" (and {len(names) - _LISTED} more)" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more


def _direct_reads(weights: Mapping, pairs: list) -> dict[int, tuple[str, int, np.ndarray]]:
    """``id(variable) -> (file, offset, buffer)`` for the values read straight into their
    variable (same dtype and shape, contiguous bytes in the file)."""
    from numkeras.saving.direct_read import suitable

    specs = getattr(weights, "specs", None) or {}
    sizes: dict[str, int] = {}
    out = {}
    for v in pairs:
        spec = specs.get(v.name)
        if spec is None or spec.offset is None or not spec.file:
            continue
        if spec.file not in sizes:
            try:
                sizes[spec.file] = os.path.getsize(spec.file)
            except OSError:
                sizes[spec.file] = -1
        buffer = v.value
        # Bytes past the end: left to the reading path below, which raises its own error.
        if tuple(spec.shape) == buffer.shape and suitable(buffer, np.dtype(spec.dtype)) and \
                0 <= spec.offset and spec.offset + buffer.nbytes <= sizes[spec.file]:
            out[id(v)] = (spec.file, spec.offset, buffer)
    return out


def load_mapping(model, weights: Mapping, filepath: str,
                 skip_mismatch: bool = False, direct: bool = False) -> LoadReport:
    """Assign ``weights[variable.name]`` to every weight of ``model``; all or nothing.

    ``direct``: ``weights`` is a :class:`~numkeras.saving.weights.WeightsMapping` whose specs
    with an ``offset`` hold their raw bytes there (safetensors, stored ``.npz`` members):
    those of the variables' dtype are read straight into the variables' buffers
    (:mod:`~numkeras.saving.direct_read`), after every check and every other value.
    """
    model.assert_weights_created()
    variables = list(model.weights)
    counts: dict[str, int] = {}
    for v in variables:
        counts[v.name] = counts.get(v.name, 0) + 1
    twice = sorted(n for n, c in counts.items() if c > 1)
    if twice:
        raise ValueError(f"Cannot load {filepath} by weight name: the model has several "
                         f"weights named {_listed(twice)}. Give the layers unique names.")
    report = LoadReport(filepath)
    missing = [v.name for v in variables if v.name not in weights]
    problems = []
    pairs = []
    for v in variables:
        if v.name not in weights:
            continue
        shape, dtype = shape_and_dtype(weights, v.name)
        want = np.dtype(v.dtype)
        if shape != tuple(v.shape):
            problems.append((v.name, f"weight {v.name!r} has shape {tuple(v.shape)} in the "
                                     f"model, but {shape} in {filepath}"))
        elif not castable(dtype, want):
            problems.append((v.name, f"weight {v.name!r} is {want.name} in the model, but "
                                     f"{filepath} holds {dtype} values that cannot be cast"))
        else:
            pairs.append(v)
    if not skip_mismatch:
        if missing:
            raise ValueError(f"{filepath} has no value for {len(missing)} weight(s) of model "
                             f"{model.name!r}: {_listed(missing)}. The file holds "
                             f"{_listed(list(weights))}. Pass skip_mismatch=True to load the "
                             "others.")
        if problems:
            first = problems[0][1]
            raise ValueError(f"Cannot load {filepath} into model {model.name!r}: {first}"
                             + (f" ({len(problems) - 1} more mismatches)"
                                if len(problems) > 1 else "")
                             + ". Pass skip_mismatch=True to skip mismatched weights.")
    for name, reason in problems:
        warnings.warn(f"Skipping weight {name}: {reason}.", UserWarning, stacklevel=3)
        report.skip(name, reason)
    for name in missing:
        report.skip(name, f"not in {filepath}")
    report.missing.extend(missing)
    reads = _direct_reads(weights, pairs) if direct else {}
    staged = []
    for v in pairs:  # read and convert everything before assigning anything
        if id(v) in reads:
            continue
        value = np.asarray(weights[v.name])
        if value.shape != tuple(v.shape):
            raise ValueError(f"{filepath}: weight {v.name!r} changed shape while reading.")
        staged.append((v, value.astype(np.dtype(v.dtype), copy=value.dtype != v.dtype)))
    if reads:
        from numkeras.saving.direct_read import read_into

        read_into(list(reads.values()))
        for v in pairs:
            if id(v) in reads:
                v.mark_changed()  # read in place: tell the inference engine
    for v, value in staged:
        v.assign(value)
    report.loaded.extend(v.name for v in pairs)
    known = set(counts)
    report.unexpected.extend(n for n in weights if n not in known)
    return report
