"""Progress bars on stderr for long command-line operations (tqdm, else rich, else none).

Bars are shown only when stderr is a terminal and ``quiet`` is false, so pipes, logs and
tests see clean output.

>>> list(bar([1, 2, 3], total=3, desc="x", enabled=False))
[1, 2, 3]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping

__all__ = ["bar", "enabled", "TickingMapping"]


def enabled(quiet: bool = False) -> bool:
    """Whether to draw bars: not ``quiet`` and stderr is a terminal."""
    try:
        return not quiet and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def bar(iterable: Iterable, total: int | None = None, desc: str = "",
        enabled: bool = True) -> Iterator:
    """``iterable`` with a progress bar on stderr (plain iteration when not ``enabled`` or
    when neither tqdm nor rich is installed)."""
    if not enabled:
        yield from iterable
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False,
                        unit="weight")
        return
    try:
        from rich.progress import track
    except ImportError:
        yield from iterable
        return
    yield from track(iterable, total=total, description=desc, transient=True)


class TickingMapping(Mapping):
    """A mapping whose lookups advance a progress bar (for writers that read each value once)."""

    def __init__(self, mapping: Mapping, desc: str, on: bool):
        self._mapping = mapping
        self._names = list(mapping)
        self._ticks = bar(iter(self._names), total=len(self._names), desc=desc, enabled=on)

    def __getattr__(self, name):  # specs, groups, origins, path, format of the source
        return getattr(self._mapping, name)

    def __getitem__(self, name):
        value = self._mapping[name]
        next(self._ticks, None)
        return value

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)
