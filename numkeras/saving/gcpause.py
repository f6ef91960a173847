"""Python's cyclic garbage collector paused while weights are saved or loaded.

A save or load creates many short-lived objects and no reference cycles; with a model of
thousands of layers alive, every automatic full collection walks all of it (10,000 layers:
half of an HDF5 save's time, and TF checkpoint saves grew faster than linearly). The
dispatcher (:mod:`numkeras.saving`) pauses the collector around every save and load.

>>> import gc
>>> with gc_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Disable the cyclic collector for the block (also a decorator); enabled again afterwards
    unless it was off before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
