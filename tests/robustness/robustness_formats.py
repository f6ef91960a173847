"""Shared helpers of the robustness tests: one small model, every file format, timeouts.

Each format is a :class:`Format` with ``save(model, folder)`` (returns the path a user would
load) and ``load(model, path)``; ``files(folder)`` lists the files of the format that a
loader reads (what truncation and bit-flip sweeps damage).

Formats: ``h5`` (legacy ``.h5``), ``tf`` (``save_weights`` to a TF checkpoint prefix),
``weights_h5`` (Keras 3 ``.weights.h5``), ``weights_json`` (sharded ``.weights.json``),
``keras`` (``model.save`` to a ``.keras`` archive), ``safetensors``, ``npz``, ``train_ckpt``
(``numkeras.train.Checkpoint.save``) and ``manager`` (``CheckpointManager.save``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import select
import signal
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import numkeras as nk
from numkeras import layers
from numkeras.saving import formats as registry

#: Errors a loader may raise for a damaged file (``KerasFileError`` and
#: ``CheckpointFormatError`` are ``ValueError`` subclasses).
CLEAN_ERRORS = (ValueError, OSError)


def small_model(seed: int = 0, width: int = 3):
    """Dense -> BatchNormalization -> Dense, weights drawn from ``seed`` (built, 4 inputs)."""
    model = nk.Sequential([
        layers.Dense(width, input_shape=(4,), name="d1"),
        layers.BatchNormalization(name="bn"),
        layers.Dense(2, name="d2"),
    ], name="m")
    fill(model, seed)
    return model


def fill(model, seed: int) -> list[np.ndarray]:
    """Set every weight of ``model`` to values drawn from ``seed``; returns them."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(w.shape).astype(w.dtype) + (seed % 7) for w in
              model.get_weights()]
    model.set_weights(values)
    return [v.copy() for v in values]


def weights(model) -> list[np.ndarray]:
    return [np.array(w, copy=True) for w in model.get_weights()]


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype and
                                    np.array_equal(x, y) for x, y in zip(a, b))


def assert_same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


# -- formats --------------------------------------------------------------------------------

def _train_load(model, path):
    status = nk.train.Checkpoint(model=model).restore(path)
    status.assert_existing_objects_matched()
    return status


def _latest(folder: str) -> str | None:
    return nk.train.latest_checkpoint(folder)


@dataclass(frozen=True)
class Format:
    name: str
    #: ``saver(model, folder)`` -> a callable that saves ``model`` and returns the path to load;
    #: calling it again saves the model's current weights again (as a training loop does).
    saver: Callable
    load: Callable  # (model, path) -> status/report
    files: Callable  # (folder) -> data files a loader reads
    #: whether the loader checks data bytes (a flipped data byte must be detected)
    checksummed: bool = False

    def save(self, model, folder: str) -> str:
        return self.saver(model, folder)()

    def __repr__(self) -> str:
        return self.name


def _weights_saver(filename: str, **kwargs):
    def saver(model, folder):
        path = os.path.join(folder, filename)
        os.makedirs(os.path.dirname(path), exist_ok=True)

        def save():
            model.save_weights(path, **kwargs)
            return path
        return save
    return saver


def _keras_saver(filename: str):
    def saver(model, folder):
        path = os.path.join(folder, filename)
        os.makedirs(folder, exist_ok=True)

        def save():
            model.save(path)
            return path
        return save
    return saver


def _train_saver(model, folder):
    ckpt = nk.train.Checkpoint(model=model)
    prefix = os.path.join(folder, "tc", "ckpt")
    return lambda: ckpt.save(prefix)


def _manager_saver(model, folder):
    manager = nk.train.CheckpointManager(nk.train.Checkpoint(model=model),
                                         os.path.join(folder, "mgr"), max_to_keep=1)
    return manager.save


def _load_weights(model, path):
    return model.load_weights(path)


def _load_latest(model, path):
    folder = os.path.dirname(path)
    latest = _latest(folder)
    if latest is None:
        raise FileNotFoundError(f"no complete checkpoint in {folder}")
    return _train_load(model, latest)


def _files_glob(*patterns):
    def files(folder):
        out = []
        for pattern in patterns:
            out += glob.glob(os.path.join(folder, pattern))
        return sorted(p for p in out if not os.path.basename(p).startswith(".") and
                      not p.endswith(".tmp"))
    return files


#: 64 bytes per shard: several shards for the small models (largest variable: 60 bytes)
SHARD_GB = 64 / 1024 ** 3

#: The registry record (:mod:`numkeras.saving.formats`) behind each format written by
#: ``model.save_weights``/``model.save``.
REGISTRY_NAMES = {"h5": "h5", "tf": "tf-checkpoint", "weights_h5": "weights.h5",
                  "weights_json": "weights.json", "keras": "keras",
                  "safetensors": "safetensors", "npz": "npz"}


def _registry_format(key: str, stem: str, *extra_files: str, **save_kwargs) -> Format:
    """A :class:`Format` from the registry record: the file is ``stem`` plus the format's
    suffix, saved with ``model.save`` or ``model.save_weights`` as the record says."""
    record = registry.get(REGISTRY_NAMES[key])
    filename = stem + (record.suffixes[0] if record.suffixes else "")
    saver = _keras_saver(filename) if record.writes == "model" else \
        _weights_saver(filename, **save_kwargs)
    pattern = filename if record.suffixes else filename + ".*"
    return Format(key, saver, _load_weights, _files_glob(pattern, *extra_files),
                  checksummed=record.checksummed)


FORMATS = {
    "h5": _registry_format("h5", "w"),
    "tf": _registry_format("tf", "ckpt/w"),
    "weights_h5": _registry_format("weights_h5", "w"),
    "weights_json": _registry_format("weights_json", "w", "w_*.weights.h5",
                                     max_shard_size=SHARD_GB),
    "keras": _registry_format("keras", "m"),
    "safetensors": _registry_format("safetensors", "w"),
    "npz": _registry_format("npz", "w"),
    "train_ckpt": Format("train_ckpt", _train_saver, _load_latest,
                         _files_glob("tc/ckpt-*", "tc/checkpoint"), checksummed=True),
    "manager": Format("manager", _manager_saver, _load_latest,
                      _files_glob("mgr/ckpt-*", "mgr/checkpoint"), checksummed=True),
}
#: Formats written by ``model.save_weights``/``model.save`` and read by ``load_weights``.
WEIGHT_FORMATS = list(REGISTRY_NAMES)


# -- timeouts -------------------------------------------------------------------------------

class Hang(Exception):
    """Raised by :func:`deadline` when a case runs too long (not an OSError/ValueError)."""


@contextlib.contextmanager
def deadline(seconds: float = 5.0):
    """Fail the block with :class:`Hang` after ``seconds`` (SIGALRM; main thread only)."""

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def load_outcome(fmt: Format, path: str, seed_model: int = 99):
    """Load ``path`` into a fresh model: ``("ok", weights)`` or ``("error", exc)``.

    Any exception other than a clean error fails the test; so does a failed load that
    changed the model.
    """
    model = small_model(seed_model)
    before = weights(model)
    try:
        with deadline():
            fmt.load(model, path)
    except CLEAN_ERRORS as exc:
        assert_same(weights(model), before)
        return "error", exc
    return "ok", weights(model)


# -- damaged files ---------------------------------------------------------------------------

def direct_loader(name: str):
    """``(model, path)`` loader that reads ``path`` itself (no ``latest_checkpoint`` step)."""
    if name in ("train_ckpt", "manager"):
        return _train_load
    return _load_weights


def damage_sweep(name: str, path: str, cases: list, make, good,
                 allow_other_values: bool = False, timeout: float = 10.0) -> dict:
    """Load ``path`` once per damaged variant of its files; returns ``{case: outcome}``.

    ``make(case)`` gives ``(file, damaged bytes)``; the file is overwritten with them, loaded
    into a model, then restored. Each outcome must be a clean error (``ValueError``/
    ``OSError``) naming the damaged file or the loaded path, with the model unchanged
    (``"error"``); or a load giving exactly the saved weights ``good`` (``"same"``), or --
    only with ``allow_other_values``, for formats without checksums -- other values
    (``"other"``). Anything else (another exception type, a half-changed model) fails.

    The sweep runs in one forked child watched by the parent: a case that takes more than
    ``timeout`` seconds -- even a hang inside a C library, which ``SIGALRM`` cannot
    interrupt -- fails the test, naming the case.
    """
    originals = {}
    for case in cases:
        damaged = make(case)[0]
        if damaged not in originals:
            with open(damaged, "rb") as f:
                originals[damaged] = f.read()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            target = small_model(2)
            before = weights(target)
            for case in cases:
                damaged, data = make(case)
                with open(damaged, "wb") as f:
                    f.write(data)
                try:
                    result = _damaged_load_in_child(name, path, damaged, target, before, good,
                                                    allow_other_values)
                except BaseException as exc:  # noqa: B036 - reported to the parent
                    result = f"FAIL {type(exc).__name__}: {exc}"
                    target.set_weights(before)
                with open(damaged, "wb") as f:
                    f.write(originals[damaged])
                os.write(write_end, (result.replace("\n", " ")[:4000] + "\n").encode())
        finally:
            os._exit(0)
    os.close(write_end)
    results: dict = {}
    buffer = b""
    try:
        while len(results) < len(cases):
            if not select.select([read_end], [], [], timeout)[0]:
                raise AssertionError(f"{name}: the load hung (> {timeout} s) for case "
                                     f"{cases[len(results)]!r}")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                raise AssertionError(f"{name}: the sweep's child died at case "
                                     f"{cases[len(results)]!r}")
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                case = cases[len(results)]
                text = line.decode()
                assert text in ("error", "same", "other"), f"{name}, case {case!r}: {text}"
                results[case] = text
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os.close(read_end)
        os.waitpid(pid, 0)
        for damaged, data in originals.items():
            with open(damaged, "wb") as f:
                f.write(data)
    return results


def _damaged_load_in_child(name, path, damaged, target, before, good,
                           allow_other_values) -> str:
    load = direct_loader(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load(target, path)
    except CLEAN_ERRORS as exc:
        assert_same(weights(target), before)
        text = str(exc)
        names = {os.path.basename(damaged), os.path.basename(path)}
        assert any(n in text for n in names), f"error does not name {names}: {exc!r}"
        return "error"
    got = weights(target)
    target.set_weights(before)
    if same(got, good):
        return "same"
    assert allow_other_values, "loaded without error but with wrong values"
    return "other"
