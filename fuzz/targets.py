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


# -- formats added after the first targets: safetensors, .npz, SavedModel metadata, the lazy
# reader (read_weights/diff) and convert. Their seeds are written from TensorFlow's golden
# conv.h5 by the reference writers (the safetensors package, NumPy), once per process.
_SEEDS: dict[str, bytes] = {}


def _golden_arrays() -> dict:
    from numkeras.saving.weights import read_weights

    with read_weights(os.path.join(DATA, "conv.h5")) as mapping:
        return {name: np.array(mapping[name]) for name in mapping}


def _written(name: str) -> bytes:
    """The bytes of ``conv.h5``'s weights written as ``name`` by the format's own library."""
    if name not in _SEEDS:
        arrays = _golden_arrays()
        path = os.path.join(_WORK, "seed-" + name)
        if name == "conv.safetensors":
            from safetensors.numpy import save_file

            save_file(arrays, path)
        elif name == "conv_numkeras.safetensors":  # with numkeras's order/groups metadata
            from numkeras.saving.weights import read_weights, write_weights

            with read_weights(os.path.join(DATA, "conv.h5")) as mapping:
                write_weights(mapping, path)
        elif name == "conv.npz":
            np.savez(path, **arrays)
        elif name == "conv_compressed.npz":
            np.savez_compressed(path, **arrays)
        elif name == "saved_model.pb":  # a TF 2.4-style SavedModel: metadata in the graph
            from numkeras.saving.tf_checkpoint import protos
            from numkeras.saving.tf_checkpoint.keras_metadata import root_metadata

            metadata, _ = root_metadata(os.path.join(DATA, "conv_savedmodel"))
            saved = protos.SavedModel()
            saved.meta_graphs.add().object_graph_def.nodes.add().user_object.metadata = \
                metadata
            with open(path, "wb") as f:
                f.write(saved.SerializeToString())
        with open(path, "rb") as f:
            _SEEDS[name] = f.read()
    return _SEEDS[name]


def _weights_and_verify(name: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from numkeras.saving.inspect import verify

        path = _write(name, data)
        model = _model()
        _expect_clean(lambda: model.load_weights(path), path, model)
        _expect_clean(lambda: verify(path), path)
    return run


def _saved_model(which: str) -> Callable[[bytes], None]:
    """``load_model`` on a copy of ``conv_savedmodel`` whose ``which`` file is ``data``."""
    def run(data: bytes) -> None:
        import numkeras as nk

        folder = os.path.join(_WORK, "sm-" + which)
        if not os.path.isdir(folder):
            shutil.copytree(os.path.join(DATA, "conv_savedmodel"), folder)
            if which == "saved_model.pb":
                os.remove(os.path.join(folder, "keras_metadata.pb"))
        path = os.path.join(folder, which)
        with open(path, "wb") as f:
            f.write(data)
        _expect_clean(lambda: nk.saving.load_model(folder), folder)
    return run


#: What the first byte of a ``read_weights``/``convert`` input selects: where the rest goes.
_SOURCES = ("r.h5", "r.weights.h5", "r.keras", "ckpt/weights.index",
            "ckpt/weights.data-00000-of-00001", "r.safetensors", "r.npz")


def _source(data: bytes) -> str:
    """Write ``data[1:]`` as the source ``data[0]`` selects; returns the path to read."""
    name = _SOURCES[data[0] % len(_SOURCES)] if data else _SOURCES[0]
    if name.startswith("ckpt/"):
        folder = os.path.join(_WORK, "src-ckpt")
        if not os.path.isdir(folder):
            shutil.copytree(os.path.join(DATA, "conv_ckpt"), folder)
        for other in os.listdir(os.path.join(DATA, "conv_ckpt")):  # undo the last input
            shutil.copy(os.path.join(DATA, "conv_ckpt", other), folder)
        with open(os.path.join(folder, os.path.basename(name)), "wb") as f:
            f.write(data[1:])
        return os.path.join(folder, "weights")
    return _write(name, data[1:])


def _source_seeds() -> list[bytes]:
    files = {0: "conv.h5", 1: "conv_k3.weights.h5", 2: "conv_k3.keras",
             3: "conv_ckpt/weights.index", 4: "conv_ckpt/weights.data-00000-of-00001"}
    out = [bytes([i]) + _read(name)[0] for i, name in files.items()]
    out += [b"\x05" + _written("conv_numkeras.safetensors"), b"\x06" + _written("conv.npz")]
    return out


_REFERENCE: dict = {}


def _read_weights(data: bytes) -> None:
    """``read_weights`` of any format, every value read, compared by ``diff``."""
    from numkeras.saving.diff import diff

    if not _REFERENCE:
        _REFERENCE.update(_golden_arrays())
    path = _source(data)
    _expect_clean(lambda: diff(path, _REFERENCE), path)


def _convert(data: bytes) -> None:
    """``convert`` (what ``numkeras convert`` runs) of any format to safetensors."""
    from numkeras.saving.convert import convert

    path = _source(data)
    out = os.path.join(_WORK, "out.safetensors")
    _expect_clean(lambda: convert(path, out), path)


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
    "safetensors": Target(lambda: [_written("conv.safetensors"),
                                   _written("conv_numkeras.safetensors")],
                          _weights_and_verify("w.safetensors")),
    "npz": Target(lambda: [_written("conv.npz"), _written("conv_compressed.npz")],
                  _weights_and_verify("w.npz")),
    "keras_metadata": Target(lambda: _read("conv_savedmodel/keras_metadata.pb"),
                             _saved_model("keras_metadata.pb")),
    "saved_model_pb": Target(lambda: [_written("saved_model.pb")],
                             _saved_model("saved_model.pb")),
    "read_weights": Target(_source_seeds, _read_weights),
    "convert": Target(_source_seeds, _convert),
}
