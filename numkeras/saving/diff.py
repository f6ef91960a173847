"""Compare two weights files (any formats) weight by weight: :func:`diff`.

Weights are paired by Keras weight name (``by_order=True``: by position in each file's
order). For each pair the shapes and dtypes are compared, then the values: a pair is equal
when every element satisfies ``|a - b| <= atol + rtol * |b|`` (NumPy's ``isclose`` rule;
with the default ``atol=rtol=0``, exactly equal; NaNs equal NaNs at the same places).
``max_abs`` is the largest ``|a - b|``, ``max_rel`` the largest ``|a - b| / |b|`` over the
elements that differ (``inf`` where ``b`` is 0).

>>> import numpy as np

from numkeras.saving.weights import read_weights, shape_and_dtype
>>> a = {"dense/kernel:0": np.array([1.0, 2.0]), "dense/bias:0": np.zeros(2), "old:0": np.ones(1)}
>>> b = {"dense/kernel:0": np.array([1.0, 2.5]), "dense/bias:0": np.zeros(2), "new:0": np.ones(1)}
>>> result = diff(a, b)
>>> result.equal, result.only_a, result.only_b, result.same
(False, ['old:0'], ['new:0'], 1)
>>> c = result.changed[0]
>>> c.name, c.max_abs, c.max_rel
('dense/kernel:0', 0.5, 0.2)
>>> print(result.to_text())
only in A: old:0
only in B: new:0
changed: dense/kernel:0  max abs 0.5  max rel 0.2  (1 of 2 elements)
1 weight(s) equal, 1 changed, 0 with other shape/dtype, 1 only in A, 1 only in B
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from numkeras.saving.weights import read_weights, shape_and_dtype

__all__ = ["diff", "DiffResult", "Changed", "Mismatch"]

#: Elements compared at a time (bounds the temporary memory of a large weight).
_CHUNK = 1 << 22


@dataclass
class Changed:
    """A weight whose values differ beyond the tolerance."""

    name: str
    max_abs: float
    max_rel: float
    count: int
    size: int
    name_b: str = ""


@dataclass
class Mismatch:
    """A weight whose shape or dtype differs (values not compared when shapes differ)."""

    name: str
    shape_a: tuple
    shape_b: tuple
    dtype_a: str
    dtype_b: str
    name_b: str = ""


@dataclass
class DiffResult:
    """What :func:`diff` found. ``equal``: nothing only on one side, no shape/dtype change,
    no value beyond the tolerance."""

    a: str = ""
    b: str = ""
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    mismatched: list[Mismatch] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    same: int = 0
    atol: float = 0.0
    rtol: float = 0.0

    @property
    def equal(self) -> bool:
        return not (self.only_a or self.only_b or self.mismatched or self.changed)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["equal"] = self.equal
        for m in out["mismatched"]:
            m["shape_a"], m["shape_b"] = list(m["shape_a"]), list(m["shape_b"])
        for c in out["changed"]:  # JSON has no inf
            c["max_rel"] = c["max_rel"] if np.isfinite(c["max_rel"]) else "inf"
        return out

    def to_text(self) -> str:
        def pair(name: str, other: str) -> str:
            return f"{name} -> {other}" if other and other != name else name

        lines = [f"only in A: {n}" for n in self.only_a]
        lines += [f"only in B: {n}" for n in self.only_b]
        for m in self.mismatched:
            lines.append(f"shape/dtype: {pair(m.name, m.name_b)}  {m.dtype_a}{list(m.shape_a)}"
                         f" -> {m.dtype_b}{list(m.shape_b)}")
        for c in self.changed:
            lines.append(f"changed: {pair(c.name, c.name_b)}  max abs {c.max_abs:.6g}  max rel "
                         f"{c.max_rel:.6g}  ({c.count} of {c.size} elements)")
        lines.append(f"{self.same} weight(s) equal, {len(self.changed)} changed, "
                     f"{len(self.mismatched)} with other shape/dtype, {len(self.only_a)} only "
                     f"in A, {len(self.only_b)} only in B")
        return "\n".join(lines)


def _as_mapping(source) -> tuple[Mapping, str]:
    if isinstance(source, Mapping):
        return source, getattr(source, "path", "")
    return read_weights(source), os.fspath(source)


def _compare(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> tuple[float, float, int]:
    """``(max abs, max rel, elements beyond tolerance)`` of two same-shape arrays."""
    a, b = a.reshape(-1), b.reshape(-1)
    numeric = a.dtype.kind in "biufc" and b.dtype.kind in "biufc"
    max_abs = max_rel = 0.0
    count = 0
    for start in range(0, max(a.size, 1), _CHUNK):
        x, y = a[start:start + _CHUNK], b[start:start + _CHUNK]
        if not numeric:
            count += int(np.count_nonzero(x != y))
            continue
        wide = np.complex128 if (x.dtype.kind == "c" or y.dtype.kind == "c") else np.float64
        x, y = x.astype(wide), y.astype(wide)
        both_nan = np.isnan(x) & np.isnan(y)
        delta = np.abs(x - y)
        delta[both_nan | (x == y)] = 0.0  # inf == inf: no difference
        bad = ~(delta <= atol + rtol * np.abs(y)) & ~both_nan
        count += int(np.count_nonzero(bad))
        differs = delta > 0
        if np.any(differs):
            max_abs = max(max_abs, float(np.nanmax(np.where(differs, delta, 0)).real))
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(differs, delta / np.abs(y), 0)
            rel = np.where(np.isnan(rel), np.inf, rel)
            max_rel = max(max_rel, float(np.max(rel).real))
    return max_abs, max_rel, count


def diff(a: str | os.PathLike | Mapping, b: str | os.PathLike | Mapping, by_order: bool = False,
         atol: float = 0.0, rtol: float = 0.0,
         progress: Callable | None = None) -> DiffResult:
    """Compare the weights of ``a`` and ``b`` (paths of any readable format, or mappings).

    ``progress(iterable, total)``: wraps the loop over pairs (a progress bar).
    """
    ma, pa = _as_mapping(a)
    mb, pb = _as_mapping(b)
    result = DiffResult(pa, pb, atol=atol, rtol=rtol)
    names_a, names_b = list(ma), list(mb)
    if by_order:
        pairs = list(zip(names_a, names_b))
        result.only_a = names_a[len(pairs):]
        result.only_b = names_b[len(pairs):]
    else:
        in_b = set(names_b)
        in_a = set(names_a)
        pairs = [(n, n) for n in names_a if n in in_b]
        result.only_a = [n for n in names_a if n not in in_b]
        result.only_b = [n for n in names_b if n not in in_a]
    iterable = progress(pairs, len(pairs)) if progress is not None else pairs
    for name_a, name_b in iterable:
        shape_a, dtype_a = shape_and_dtype(ma, name_a)
        shape_b, dtype_b = shape_and_dtype(mb, name_b)
        other = name_b if name_b != name_a else ""
        if shape_a != shape_b or dtype_a != dtype_b:
            result.mismatched.append(Mismatch(name_a, shape_a, shape_b, dtype_a.name,
                                              dtype_b.name, other))
            if shape_a != shape_b:
                continue
        max_abs, max_rel, count = _compare(np.asarray(ma[name_a]), np.asarray(mb[name_b]),
                                           atol, rtol)
        if count:
            size = int(np.prod(shape_a, dtype=np.int64))
            result.changed.append(Changed(name_a, max_abs, max_rel, count, size, other))
        elif dtype_a == dtype_b:
            result.same += 1
    return result
