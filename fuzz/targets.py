"""The fuzz targets: ``TARGETS[name] = Target(seeds, run)``.

``seeds()`` gives the valid inputs the corpus starts from; ``run(data)`` feeds ``data`` to
one parser and raises :class:`Unclean` (or lets an unexpected exception through) when the
parser fails in an undocumented way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "formats")
#: The documented error types of numkeras's loaders (see ``docs/reliability.md``).
CLEAN = (ValueError, OSError, AssertionError)


class Unclean(Exception):
    """A parser failed in an undocumented way (wrong type, unnamed file, changed weights)."""


@dataclass(frozen=True)
class Target:
    seeds: Callable[[], list[bytes]]
    run: Callable[[bytes], None]


_WORK = tempfile.mkdtemp(prefix="numkeras-fuzz-")
_MODELS: dict = {}


def _read(*names: str) -> list[bytes]:
    out = []
    for name in names:
        path = os.path.join(DATA, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out.append(f.read())
    return out


def _model(kind: str = "conv"):
    """The numkeras model behind the golden files (built once per process)."""
    if kind not in _MODELS:
        import sys

        import numkeras as nk

        sys.path.insert(0, os.path.join(ROOT, "tests", "data"))
        from golden_models import BUILDERS

        _MODELS[kind] = BUILDERS[kind](nk)
    return _MODELS[kind]


def _write(name: str, data: bytes) -> str:
    path = os.path.join(_WORK, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _expect_clean(call: Callable[[], object], path: str, model=None) -> None:
    before = [w.copy() for w in model.get_weights()] if model is not None else None
    try:
        call()
    except CLEAN as exc:
        text = str(exc)
        if os.path.basename(path) not in text and _WORK not in text:
            raise Unclean(f"{type(exc).__name__} does not name the file: {text[:300]}") from exc
        if before is not None and not all(
                np.array_equal(a, b, equal_nan=True) for a, b in
                zip(before, model.get_weights())):
            raise Unclean(f"a failed load changed weights: {type(exc).__name__}: {exc}") \
                from exc


def _load_weights(name: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        path = _write(name, data)
        model = _model()
        _expect_clean(lambda: model.load_weights(path), path, model)
    return run


def _load_model(name: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        import numkeras as nk

        path = _write(name, data)
        _expect_clean(lambda: nk.saving.load_model(path), path)
    return run


def _inspect(name: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from numkeras.saving.inspect import inspect, verify

        path = _write(name, data)
        _expect_clean(lambda: inspect(path), path)
        _expect_clean(lambda: verify(path), path)
    return run


def _sharded_manifest(data: bytes) -> None:
    folder = os.path.join(_WORK, "sharded")
    os.makedirs(folder, exist_ok=True)
    for shard in ("conv_k3_sharded_00000.weights.h5", "conv_k3_sharded_00001.weights.h5"):
        if not os.path.exists(os.path.join(folder, shard)):
            shutil.copy(os.path.join(DATA, shard), folder)
    path = os.path.join(folder, "conv_k3_sharded.weights.json")
    with open(path, "wb") as f:
        f.write(data)
    model = _model()
    _expect_clean(lambda: model.load_weights(path), path, model)


def _tf_file(which: str) -> Callable[[bytes], None]:
    """Mutate one file of the TF checkpoint ``conv_ckpt`` (the others stay valid)."""
    def run(data: bytes) -> None:
        folder = os.path.join(_WORK, "ckpt-" + which)
        if not os.path.isdir(folder):
            shutil.copytree(os.path.join(DATA, "conv_ckpt"), folder)
        target = {"index": "weights.index", "data": "weights.data-00000-of-00001",
                  "state": "checkpoint"}[which]
        path = os.path.join(folder, target)
        with open(path, "wb") as f:
            f.write(data)
        model = _model()
        prefix = os.path.join(folder, "weights")
        if which == "state":
            import numkeras as nk

            try:
                nk.train.latest_checkpoint(folder)
            except CLEAN as exc:
                raise Unclean(f"latest_checkpoint raised on a damaged state file: {exc!r}") \
                    from exc
            return
        _expect_clean(lambda: model.load_weights(prefix), prefix, model)
    return run


def _config_json(data: bytes) -> None:
    import numkeras as nk

    try:
        nk.models.model_from_json(data.decode("utf-8", "replace"))
    except CLEAN:
        pass


def _config_seeds() -> list[bytes]:
    out = []
    for name in ("conv_k3.keras", "conv_tfkeras.keras", "recurrent_k3.keras",
                 "recurrent_tfkeras.keras"):
        with zipfile.ZipFile(os.path.join(DATA, name)) as zf:
            out.append(zf.read("config.json"))
    return out


def _one_json_seed() -> list[bytes]:
    return [json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2,
                                           "batch_input_shape": [None, 3]}}]}}).encode()]


TARGETS: dict[str, Target] = {
    "h5_weights": Target(lambda: _read("conv.h5", "conv_model.h5"), _load_weights("w.h5")),
    "h5_model": Target(lambda: _read("conv_model.h5"), _load_model("m.h5")),
    "weights_h5": Target(lambda: _read("conv_k3.weights.h5", "conv_tfkeras.weights.h5"),
                         _load_weights("w.weights.h5")),
    "keras_model": Target(lambda: _read("conv_k3.keras", "conv_tfkeras.keras"),
                          _load_model("m.keras")),
    "keras_weights": Target(lambda: _read("conv_k3.keras", "conv_tfkeras.keras"),
                            _load_weights("w.keras")),
    "weights_json": Target(lambda: _read("conv_k3_sharded.weights.json"), _sharded_manifest),
    "tf_index": Target(lambda: _read("conv_ckpt/weights.index"), _tf_file("index")),
    "tf_data": Target(lambda: _read("conv_ckpt/weights.data-00000-of-00001"), _tf_file("data")),
    "tf_state": Target(lambda: _read("conv_ckpt/checkpoint"), _tf_file("state")),
    "config_json": Target(lambda: _config_seeds() + _one_json_seed(), _config_json),
    "inspect_h5": Target(lambda: _read("conv.h5", "conv_k3.weights.h5"), _inspect("i.h5")),
    "inspect_keras": Target(lambda: _read("conv_k3.keras"), _inspect("i.keras")),
}
