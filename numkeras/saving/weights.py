"""Weights without a model: :func:`read_weights` and :func:`write_weights` for every format.

:func:`read_weights` returns a :class:`WeightsMapping`: a read-only ``Mapping[str,
np.ndarray]`` keyed by Keras weight names (``dense/kernel:0``) where the file, its config or
a model given with ``model=`` lets them be derived, else by the file's own keys. Values are
read when they are looked up (``mapping[name]``); where the format stores a tensor
contiguous and uncompressed it is memory-mapped (read-only) instead of read.

Per format (keys; values):

- legacy ``.h5``: the ``weight_names`` (``dense/kernel:0``); memory-mapped if contiguous;
- ``.weights.h5``/``.weights.json``: names through ``model=``, else ``layers/dense/vars/0``;
  memory-mapped if contiguous (``.weights.h5``);
- ``.keras``: names through the archive's config; read from the archive;
- TF checkpoint / SavedModel: the variables' names + ``:0`` from the object graph (TF1
  checkpoints: key + ``:0``); read and CRC-32C checked;
- ``.safetensors``: the stored names; memory-mapped;
- ``.npz``: the stored names; memory-mapped when stored uncompressed.

:func:`write_weights` writes a mapping where no architecture is needed (see its docstring).

>>> import os, tempfile
>>> import numpy as np
>>> folder = tempfile.mkdtemp()
>>> weights = {"dense/kernel:0": np.ones((3, 2), "float32"), "dense/bias:0": np.zeros(2, "float32")}
>>> write_weights(weights, os.path.join(folder, "w.safetensors"))
[...w.safetensors']
>>> with read_weights(os.path.join(folder, "w.safetensors")) as read:
...     list(read), read["dense/kernel:0"].shape, read.format
(['dense/kernel:0', 'dense/bias:0'], (3, 2), 'safetensors')
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


def shape_and_dtype(weights: Mapping, name: str) -> tuple[tuple, np.dtype]:
    """The shape and dtype of ``weights[name]``, from the file's metadata when ``weights``
    came from :func:`read_weights` (nothing is read), else from the value.

    >>> shape_and_dtype({"w": np.zeros((2, 3), "float16")}, "w")
    ((2, 3), dtype('float16'))
    """
    specs = getattr(weights, "specs", None)
    if specs is not None and name in specs:
        return tuple(specs[name].shape), np.dtype(specs[name].dtype)
    value = np.asarray(weights[name])
    return value.shape, value.dtype

__all__ = ["WeightsMapping", "WeightSpec", "read_weights", "write_weights", "WRITE_FORMATS",
           "write_format_for"]

#: The formats :func:`write_weights` writes (no architecture needed).
WRITE_FORMATS = ("safetensors", "npz", "h5", "tf-checkpoint", "weights.h5")


@dataclass(frozen=True)
class WeightSpec:
    """What is known about one stored tensor without reading it.

    ``key``: the file's own key (HDF5 path, checkpoint key, ``layers/x/vars/0``, stored name).
    ``group``: the legacy ``.h5`` layer group holding it (``''`` elsewhere). ``offset``: where
    its bytes start in ``file`` when it can be memory-mapped, else ``None``.
    """

    name: str
    key: str
    shape: tuple
    dtype: np.dtype
    group: str = ""
    file: str = ""
    offset: int | None = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def memmap(spec: WeightSpec) -> np.ndarray:
    """The tensor of ``spec`` memory-mapped read-only (``spec.offset`` must be set)."""
    if spec.nbytes == 0:
        return np.empty(spec.shape, spec.dtype)
    return np.memmap(spec.file, dtype=spec.dtype, mode="r", offset=spec.offset,
                     shape=spec.shape)


class WeightsMapping(Mapping):
    """A read-only, lazily read ``Mapping[str, np.ndarray]`` of one weights file.

    Iteration follows the file's weight order (the model's order where known). ``specs``
    gives shape and dtype without reading; ``metadata`` holds what the file says about
    itself (safetensors metadata). Close it (or use ``with``) to release open files early.
    """

    def __init__(self, path: str, format: str, specs: list[WeightSpec],
                 read: Callable[[WeightSpec], np.ndarray], close: Callable[[], None] | None = None,
                 metadata: dict | None = None):
        self.path = path
        self.format = format
        self.specs: dict[str, WeightSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise ValueError(f"{path}: two tensors are both named {spec.name!r}.")
            self.specs[spec.name] = spec
        self.metadata: dict = dict(metadata or {})
        self._read = read
        self._finalizer = weakref.finalize(self, close) if close is not None else None

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            spec = self.specs[name]
        except KeyError:
            raise KeyError(f"{self.path} has no weight named {name!r}.") from None
        from numkeras.saving.damage import named_errors

        with named_errors(spec.file or self.path):
            return self._read(spec)

    def __contains__(self, name: object) -> bool:
        return name in self.specs  # (Mapping's default would read the value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __repr__(self) -> str:
        return f"<WeightsMapping {self.path!r} [{self.format}]: {len(self)} weights>"

    @property
    def groups(self) -> dict[str, str]:
        """``name -> legacy .h5 layer group`` where the file records one."""
        return {n: s.group for n, s in self.specs.items() if s.group}

    @property
    def origins(self) -> dict[str, str]:
        """``name -> the file's own key``."""
        return {n: s.key for n, s in self.specs.items()}

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> WeightsMapping:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_weights(path: str | os.PathLike, model: Any = None) -> WeightsMapping:
    """The weights stored at ``path`` (any format :func:`numkeras.saving.inspect.detect`
    knows, a ``.safetensors`` or ``.npz`` file), keyed by Keras weight name where possible.

    ``model``: a built model (or a path to a ``.keras``/full-model ``.h5``) whose structure
    names the ``vars`` groups of a ``.weights.h5``/``.weights.json`` file (a ``.keras`` archive
    uses its own config). Without one those keep their ``layers/<name>/vars/<i>`` keys.
    """
    from numkeras.saving import formats, weight_readers
    from numkeras.saving.damage import named_errors

    path = os.fspath(path)
    if model is not None and not hasattr(model, "weights"):
        from numkeras.saving import load_model

        model = load_model(os.fspath(model))
    with named_errors(path):  # damage the readers did not foresee: a ValueError naming it
        fmt, resolved = formats.detect(path)
        return weight_readers.read(resolved, fmt, model)


def write_format_for(path: str, format: str | None = None) -> str:
    """The :data:`WRITE_FORMATS` name for ``path`` (``format`` wins when given).

    >>> [write_format_for(p) for p in ("a.safetensors", "b.npz", "c.h5", "d.weights.h5", "ckpt")]
    ['safetensors', 'npz', 'h5', 'weights.h5', 'tf-checkpoint']
    """
    from numkeras.saving import formats

    if format is not None:
        name = formats.get(format).name
        if name not in WRITE_FORMATS:
            raise ValueError(f"write_weights cannot write {name!r}: it needs a model "
                             f"(use model.save). It writes {', '.join(WRITE_FORMATS)}.")
        return name
    return formats.target_for(os.fspath(path)).name


def write_weights(weights: Mapping[str, np.ndarray], path: str | os.PathLike,
                  format: str | None = None, *,
                  metadata: dict | None = None) -> list[str]:
    """Write ``weights`` (name -> array) to ``path`` with no model; returns the files written.

    The format follows ``path`` (or ``format``):

    - ``safetensors``, ``npz``: every name as given; safetensors metadata records the order,
      ``metadata`` and, for a :class:`WeightsMapping`, the source file and format;
    - ``h5`` (legacy Keras 2 weights): one layer group per weight's recorded group (a mapping
      read from a legacy ``.h5`` or a safetensors file written here), else per the first part
      of its name (``dense/kernel:0`` -> layer ``dense``), in first-seen order; tf-keras loads
      it topologically when that is the model's layer order, or ``by_name=True``;
    - ``tf-checkpoint``: a TF1-style name-based checkpoint (keys are the names without
      ``:0``, no object graph), which ``tf.train.load_checkpoint``, TF1 ``Saver`` and
      numkeras's ``load_weights`` read by variable name;
    - ``weights.h5``: only when every key is (or, for a mapping read from a Keras 3 file,
      came from) a ``<path>/vars/<i>`` key.

    Strings, object arrays and values a format cannot hold (bfloat16 in ``.npz``) are refused
    before anything is written; the write is atomic (nothing is left on failure).
    """
    from numkeras.saving import weight_writers

    path = os.fspath(path)
    fmt = write_format_for(path, format)
    return weight_writers.write(weights, path, fmt, metadata or {})
