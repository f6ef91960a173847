"""Matching a model's objects to the ``vars`` groups of a file, then loading all or nothing.

The model is walked in both styles (tf-keras and Keras 3, see :mod:`.walk`); each object's
group is looked up at its path, or at the tf-keras 2.12 – 2.14 spelling
(``_layer_checkpoint_dependencies/...``). The style with fewer problems wins (ties go to
Keras 3 when the file carries Keras 3's ``name`` attributes, else to tf-keras). Counts and
shapes of every object are checked before any value is read; values are then read and
assigned together, so a failed load changes nothing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from numkeras.saving.h5common import castable
from numkeras.saving.keras_v3.walk import (
    KERAS3,
    LEGACY_LAYERS,
    STYLES,
    TF_KERAS,
    Entry,
    legacy_path,
    walk,
)
from numkeras.saving.report import LoadReport


@dataclass
class Plan:
    """What a load would do in one style."""

    style: str
    assignments: list = field(default_factory=list)   # (variable, DatasetRef, label)
    hooks: list = field(default_factory=list)         # (entry, [(value, DatasetRef)]): custom
    problems: list = field(default_factory=list)      # (entry, message) for layers
    notes: list = field(default_factory=list)         # (entry, message) for optimizers
    loaded: list = field(default_factory=list)
    used: set = field(default_factory=set)


def _label(entry: Entry) -> str:
    name = getattr(entry.obj, "name", None)
    return name if isinstance(name, str) else type(entry.obj).__name__


def _is_layer(obj) -> bool:
    from numkeras.engine.base_layer import Layer

    return isinstance(obj, Layer)


def _var_name(value, key: str) -> str:
    """A stored value's variable name (a custom hook may store plain arrays: its key)."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else key


def _match(entry: Entry, group: dict | None, filename: str) -> tuple[list, str | None]:
    """``([(variable, ref)], None)`` or ``([], problem)`` for one object."""
    group = group or {}
    expected = entry.variables
    if len(group) != len(expected) or set(group) != set(entry.keys):
        kind = "Layer" if _is_layer(entry.obj) else type(entry.obj).__name__
        return [], (f"{kind} '{_label(entry)}' expected {len(expected)} variables, but "
                    f"received {len(group)} variables during loading (group "
                    f"'{entry.group}' of {filename}). Expected: "
                    f"{[_var_name(v, k) for k, v in zip(entry.keys, expected)]}")
    pairs = []
    for key, var in zip(entry.keys, expected):
        ref = group[key]
        if tuple(ref.shape) != tuple(var.shape):
            return [], (f"Cannot load weights into '{_label(entry)}': variable "
                        f"'{_var_name(var, key)}' has shape {tuple(var.shape)}, but "
                        f"'{entry.group}/{key}' in {filename} has shape {tuple(ref.shape)}.")
        if not _castable(ref, np.dtype(var.dtype)):
            return [], (f"Cannot load weights into '{_label(entry)}': variable "
                        f"'{_var_name(var, key)}' has dtype {np.dtype(var.dtype).name}, but "
                        f"'{entry.group}/{key}' in {filename} holds {ref.dtype} values, which "
                        "cannot be cast to it.")
        pairs.append((var, ref))
    return pairs, None


def _castable(ref, dst: np.dtype) -> bool:
    """Whether a saved value converts sensibly to a variable of dtype ``dst``."""
    return castable(np.dtype(ref.dtype), dst, bfloat16=ref.bfloat16)


def make_plan(model, index, style: str) -> Plan:
    """Match every object of ``model`` (walked in ``style``) against ``index``."""
    plan = Plan(style)
    for entry in walk(model, style):
        path, group = _locate(index, entry.path)
        if not entry.variables and not group:
            continue
        pairs, problem = _match(entry, group, index.filename)
        if problem is not None:
            (plan.problems if _is_layer(entry.obj) else plan.notes).append((entry, problem))
            continue
        plan.used.add(path)
        if entry.direct:
            plan.assignments.extend((var, ref, _label(entry)) for var, ref in pairs)
        elif pairs:
            plan.hooks.append((entry, pairs))
        if pairs:
            plan.loaded.append(_label(entry))
    return plan


def _public(path: str) -> str:
    """Keras 3 exposes private sub-layers through public properties (``query_dense`` for
    ``_query_dense``) and visits those first: the path with the underscores dropped."""
    return "/".join(p[1:] if p.startswith("_") and p != LEGACY_LAYERS else p
                    for p in path.split("/"))


def _locate(index, path: str) -> tuple[str, dict | None]:
    """The group of the object at ``path``, trying the other spellings only if missing."""
    group = index.groups.get(path)
    if group is not None or not path:
        return path, group
    for candidate in (legacy_path(path), _public(path), legacy_path(_public(path))):
        group = index.find(candidate)
        if group is not None:
            return candidate, group
    return path, None


def choose_plan(model, index) -> Plan:
    """The style whose paths fit the file best (see the module docstring)."""
    preferred = KERAS3 if index.has_name_attrs else TF_KERAS
    order = [preferred] + [f for f in STYLES if f != preferred]
    plans = [make_plan(model, index, preferred)]
    if plans[0].problems or plans[0].notes:  # (else no other style can do better)
        plans += [make_plan(model, index, style) for style in order[1:]]
    return min(plans, key=lambda p: (len(p.problems), len(p.notes)))


def _fail(plan: Plan, filename: str) -> None:
    first = plan.problems[0][1]
    if len(plan.problems) == 1:
        raise ValueError(first)
    names = [_label(entry) for entry, _ in plan.problems]
    raise ValueError(f"A total of {len(plan.problems)} objects could not be loaded from "
                     f"{filename}. Example error message:\n\n{first}\n\nList of objects that "
                     f"could not be loaded:\n{names}")


def execute(model, source, skip_mismatch: bool = False) -> LoadReport:
    """Plan, check, read and assign; returns a :class:`LoadReport`."""
    index = source.index()
    plan = choose_plan(model, index)
    report = LoadReport(source.filename)
    if plan.problems and not skip_mismatch:
        _fail(plan, source.filename)
    for entry, message in plan.problems:
        warnings.warn(f"Could not load weights in object {_label(entry)}. Skipping object. "
                      f"Exception encountered: {message}", UserWarning, stacklevel=3)
        report.skip(_label(entry), message)
    for entry, message in plan.notes:
        warnings.warn(f"Skipping variable loading for {type(entry.obj).__name__} "
                      f"'{_label(entry)}': {message}", UserWarning, stacklevel=3)
        report.skip(_label(entry), message)
    _load_all(plan, source)
    report.loaded.extend(plan.loaded)
    report.unexpected.extend(sorted(p or "/" for p, g in index.groups.items()
                                    if g and p not in plan.used))
    return report


def _cast(value: np.ndarray, var) -> np.ndarray:
    """``value`` in the variable's dtype, converted before any variable is assigned (so that
    the assignments that follow cannot fail half-way)."""
    value = np.asarray(value)
    name = _var_name(var, "?")
    if value.shape != tuple(var.shape):  # the file changed under us
        raise ValueError(f"Variable '{name}': file value has shape {value.shape}, expected "
                         f"{tuple(var.shape)}.")
    dtype = np.dtype(var.dtype)
    if value.dtype != dtype:
        try:
            value = value.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Variable '{name}': cannot cast the file's {value.dtype} "
                             f"values to {dtype}: {exc}") from exc
    return value


def _load_all(plan: Plan, source) -> None:
    """Assign the plan: objects with custom ``load_own_variables`` get their values through
    it (read first; their variables are put back if anything later fails), every other
    object is filled straight from the file."""
    hooked = []
    if plan.hooks:
        values = source.read([ref for _, pairs in plan.hooks for _, ref in pairs])
        for entry, pairs in plan.hooks:
            store = {key: _cast(values[ref], var)
                     for key, (var, ref) in zip(entry.keys, pairs)}
            hooked.append((entry.obj, store))
    saved = [(v, v.numpy()) for obj, _ in hooked for v in _variables_of(obj)]
    try:
        for obj, store in hooked:
            obj.load_own_variables(store)
        source.assign([(var, ref) for var, ref, _ in plan.assignments], _cast)
    except BaseException:
        for variable, value in saved:
            variable.assign(value)
        raise


def _variables_of(obj) -> list:
    """Every variable a custom ``load_own_variables`` of ``obj`` might change."""
    from numkeras.engine.variable import Variable

    store: dict = {}
    obj.save_own_variables(store)
    found = [v for v in store.values() if isinstance(v, Variable)]
    found += list(getattr(obj, "weights", None) or []) if _is_layer(obj) else []
    seen: set[int] = set()
    return [v for v in found if not (id(v) in seen or seen.add(id(v)))]
