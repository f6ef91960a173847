"""Convert weights between formats: :func:`convert` (what ``numkeras convert`` runs).

An architecture (a model) is used only where the target needs one:

==================  ======================================================================
target              how it is written
==================  ======================================================================
``.safetensors``    by Keras weight name, no model (:func:`~.weights.write_weights`)
``.npz``            by Keras weight name, no model
``.h5`` (legacy)    from the model when one is known (exact tf-keras layout), else from names
TF checkpoint       from the model when one is known (object-based, what ``load_weights``
                    of tf-keras reads), else a TF1 name-based checkpoint
``.weights.h5``     from the model; without one only from a Keras 3 file's ``vars`` keys
``.weights.json``   from the model
``.keras``          from the model (its config: ``keras_style`` ``"keras3"`` or ``"tf_keras"``)
==================  ======================================================================

The model comes from ``architecture`` (a ``.keras``, full-model ``.h5``, tf-keras
SavedModel, or a ``model.to_json()`` file), else from the source itself when it stores one.
A conversion that would lose information is refused (:class:`LossyConversion`): narrowing a
dtype without ``dtype=``, strings into safetensors, bfloat16 into ``.npz``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["convert", "ConvertResult", "NeedsArchitecture", "LossyConversion",
           "model_from", "FLOAT_DTYPES"]

#: ``dtype=`` choices (floating weights are cast to it; integer and bool weights are kept).
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
_MODEL_TARGETS = ("keras", "weights.json", "onnx")


class NeedsArchitecture(ValueError):
    """The target needs a model and neither the source nor ``architecture`` gives one."""


class LossyConversion(ValueError):
    """The conversion would change values (narrowing, strings dropped) and was not asked to."""


@dataclass
class ConvertResult:
    src: str
    src_format: str
    dst: str
    dst_format: str
    count: int = 0
    model: str = ""
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _config_file(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            config = json.loads(f.read())
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(config, dict) and "class_name" not in config and "layers" in config:
        kind = "Functional" if "input_layers" in config else "Sequential"
        config = {"class_name": kind, "config": config}
    return config


def model_from(path: str):
    """A built model from a ``.keras``/full-model ``.h5``/SavedModel or a JSON config file."""
    from numkeras.saving import formats, load_model

    path = os.fspath(path)
    if path.endswith(".json") and not formats.get("weights.json").matches(path):
        from numkeras.saving.serialization import deserialize_model

        model = deserialize_model(_config_file(path))
        try:
            model.assert_weights_created()
        except ValueError as exc:
            raise ValueError(f"the model in {path} has no weights yet ({exc}); give its "
                             "Input/input_shape in the config.") from None
        return model
    return load_model(path)


def _needs(target: str, src_format: str) -> bool:
    if target in _MODEL_TARGETS:
        return True
    return target == "weights.h5" and src_format not in ("weights.h5", "weights.json", "keras")


def _check_narrowing(mapping: Mapping, model, src: str) -> None:
    specs = getattr(mapping, "specs", {})
    for v in model.weights:
        spec = specs.get(v.name)
        if spec is None:
            continue
        want = np.dtype(v.dtype)
        if spec.dtype != want and not np.can_cast(spec.dtype, want, "safe"):
            raise LossyConversion(f"{src}: weight {v.name!r} is {spec.dtype} but the model "
                                  f"holds {want.name}; converting through the model would "
                                  "narrow it. Convert to .safetensors/.npz/.h5 (no model) "
                                  "instead, with --dtype to narrow on purpose.")


def _cast(mapping: Mapping, dtype: str | None, src: str) -> Mapping:
    if dtype is None:
        return mapping
    from numkeras.saving.safetensors import _dtype

    target = _dtype(dtype)

    class Cast(Mapping):
        groups = getattr(mapping, "groups", {})
        origins = getattr(mapping, "origins", {})
        path, format = getattr(mapping, "path", src), getattr(mapping, "format", "")

        def __getitem__(self, name):
            value = np.asarray(mapping[name])
            kind = value.dtype.kind
            return value.astype(target) if kind == "f" or value.dtype.name == "bfloat16" or \
                value.dtype.name.startswith("float8") else value

        def __iter__(self):
            return iter(mapping)

        def __len__(self):
            return len(mapping)
    return Cast()


def convert(src, dst, format: str | None = None, dtype: str | None = None,
            architecture=None, keras_style: str = "keras3",
            max_shard_size: float | None = None,
            wrap: Callable[[Mapping], Mapping] | None = None) -> ConvertResult:
    """Convert the weights at local path ``src`` into ``dst`` (a local path, written in
    place: the caller stages it) as ``format`` (a ``numkeras.saving.formats`` name).

    ``wrap(mapping)``: wraps the mapping before it is written (a progress bar).
    """
    from numkeras.saving import formats
    from numkeras.saving.weights import read_weights, write_weights

    src, dst = os.fspath(src), os.fspath(dst)
    src_format, _ = formats.detect(src)
    target = formats.get(format).name if format else formats.target_for(dst).name
    result = ConvertResult(src, src_format, dst, target)
    model = None
    if architecture is not None:
        model = model_from(os.fspath(architecture))
    elif formats.has_architecture(src, src_format):
        model = model_from(src)
    if _needs(target, src_format) and model is None:
        raise NeedsArchitecture(
            f"{formats.get(target).label} needs the model's architecture, and {src} "
            f"({src_format}) holds weights only. Pass --model with the .keras archive, "
            "full-model .h5 or tf-keras SavedModel of the model these weights belong to, or "
            "--model model.json (the output of model.to_json()).")
    by_model = model is not None and target not in ("safetensors", "npz")
    if by_model and dtype is not None:
        raise ValueError(f"--dtype converts weights without a model, but {target} is written "
                         "from the model here. Convert to .safetensors/.npz first, or drop "
                         "--dtype.")
    if by_model:
        if architecture is not None or src_format not in ("keras", "h5-model", "saved-model"):
            with read_weights(src, model=model) as mapping:
                _check_narrowing(mapping, model, src)
            from numkeras.saving import load_weights

            load_weights(model, src)
        _write_model(model, dst, target, keras_style, max_shard_size)
        result.count, result.model = len(model.weights), model.name
        return result
    if target == "tf-checkpoint":
        result.notes.append("no architecture given: wrote a TF1 name-based checkpoint (keys "
                            "are the weight names); pass --model for an object-based one.")
    with read_weights(src, model=model if src_format in ("weights.h5", "weights.json")
                      else None) as mapping:
        source = _cast(mapping, dtype, src)
        if wrap is not None:
            source = wrap(source)
        try:
            write_weights(source, dst, target)
        except ValueError as exc:
            if "cannot hold" in str(exc) or "strings" in str(exc):
                raise LossyConversion(str(exc)) from None
            raise
        result.count = len(mapping)
    return result


def _write_model(model, path: str, target: str, keras_style: str,
                 max_shard_size: float | None) -> None:
    from numkeras.saving import formats

    record = formats.get(target)
    if record.writes == "export":  # ONNX: the inference graph (numkeras.export)
        model.export(path, format=record.name)
    elif record.name == "keras":
        from numkeras.saving.keras_v3 import save_model

        save_model(model, path, style=keras_style)
    elif record.name == "weights.json":
        model.save_weights(path, max_shard_size=max_shard_size or 5)
    else:
        model.save_weights(path, save_format={"h5": "h5", "tf": "tf"}.get(record.family))
