"""ONNX Runtime as numkeras's fast inference engine (behind ``Model.predict``).

:func:`runner_for` gives a model's :class:`OrtRunner`, built once and reused until a weight
of the model is assigned (each ``Variable`` counts its assignments) or its graph changes.
Inputs are checked against the model's ``Input`` specs before dispatching; anything that does
not match exactly (rank, known dimensions, dtype kind) is left to the NumPy engine, so wrong
inputs get the NumPy engine's errors. Writing into a weight's buffer directly
(``variable.value[...] = ...``) is not seen; use ``assign``/``set_weights``.

Tuning (measured with ONNX Runtime's per-node profiler on the applications, batch 8):

- :func:`session_options`: ``ORT_ENABLE_ALL``, which on x86 runs convolutions in ONNX
  Runtime's blocked channel layout (NCHWc) with bias, BatchNormalization and ReLU fused
  into them; intra-op threads = the CPUs of the process's affinity mask, sequential
  execution, ONNX Runtime's default thread spinning.
- The export keeps that layout unbroken: no ``Pad`` between convolutions (a ZeroPadding
  before a ``valid`` convolution is the convolution's own padding, ``conv.py``),
  BatchNormalization as ONNX ``BatchNormalization`` (``norm.py``). Direct convolutions then
  run close to the CPU's multiply-add peak, as TensorFlow's do; VGG16's large 3x3
  convolutions use Winograd F(2x2, 3x3) to do fewer multiply-adds (``winograd.py``).
- Weights of 64 KiB or more reach the session as arrays (external initializers, copied
  once by ONNX Runtime) instead of inside the serialized proto: peak RSS while the session
  is built is about one copy of the weights lower (VGG16: 2.45 -> 1.79 GB).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from numkeras.engine import functional
from numkeras.engine.variable import assignment_count


def available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` can be imported."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def session_options():
    """Full graph optimization, intra-op threads = the CPUs this process may use."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    so.intra_op_num_threads = max(1, cpus)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return so


class OrtRunner:
    """An ONNX Runtime session computing ``model``'s forward pass."""

    def __init__(self, model):
        import onnxruntime as ort

        from numkeras.export import input_names, output_names, to_onnx

        # the weights go to ONNX Runtime as arrays (it copies them once), not through the
        # proto and its serialized bytes (two more copies of every weight at the peak)
        arrays: dict = {}
        data = to_onnx(model, in_memory=arrays).SerializeToString()
        options = session_options()
        if arrays:
            options.add_external_initializers(
                list(arrays), [ort.OrtValue.ortvalue_from_numpy(a) for a in arrays.values()])
        self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        del data, arrays, options
        self.input_names = input_names(model)
        self.output_names = output_names(model)
        self.specs = [(t.shape, np.dtype(t.dtype)) for t in model.inputs]

    def feed(self, model, inputs) -> dict | None:
        """The session's feed for Keras ``inputs``, or None if they do not match the specs."""
        try:
            flat = functional._flatten_call_inputs(model, inputs)
        except ValueError:
            return None
        feed = {}
        for name, x, (shape, dtype) in zip(self.input_names, flat, self.specs):
            if getattr(x, "_keras_mask", None) is not None:
                return None
            x = np.asarray(x)
            if x.ndim != len(shape) or x.shape[0] == 0 or any(
                    d is not None and d != n for d, n in zip(shape, x.shape)):
                return None
            if x.dtype != dtype:
                same_kind = (x.dtype.kind == dtype.kind == "f") or (
                    x.dtype.kind in "iu" and dtype.kind in "iu")
                if not same_kind:
                    return None
                x = x.astype(dtype)
            feed[name] = np.ascontiguousarray(x)
        return feed

    def run(self, feed: dict) -> list[np.ndarray]:
        return self.session.run(self.output_names, feed)


def _weights_key(model) -> tuple:
    return tuple(v._version for v in model.weights)


def runner_for(model, strict: bool):
    """The model's cached runner, a fresh one if its weights changed, or None (use NumPy).

    ``strict`` (the engine was asked for explicitly): errors are raised instead of falling
    back; otherwise a model that cannot be lowered warns once and runs on NumPy.
    """
    from numkeras.export import LoweringError, require

    if strict:
        require("onnx")
        require("onnxruntime")
    elif not available() or not model.__dict__.get("_is_graph_network"):
        return None  # no onnxruntime, or a subclassed model (no graph): NumPy, silently
    cache = model.__dict__.get("_ort_cache")
    count = assignment_count()
    graph_key = tuple(id(t) for t in model.outputs) if model.__dict__.get(
        "_is_graph_network") else None
    if cache is not None and cache["graph"] == graph_key:
        if cache["count"] == count:
            return _cached(cache, strict)
        weights = _weights_key(model)
        if cache["weights"] == weights:
            cache["count"] = count
            return _cached(cache, strict)
    weights = _weights_key(model)
    try:
        runner, error = OrtRunner(model), None
    except LoweringError as exc:
        runner, error = None, exc
    except Exception as exc:  # ONNX Runtime refused the graph: a bug of a lowering, not fatal
        if not type(exc).__module__.startswith("onnxruntime"):
            raise
        runner, error = None, LoweringError(f"ONNX Runtime cannot load the graph exported "
                                            f"for model {model.name!r}: {exc}.")
    cache = {"graph": graph_key, "count": count, "weights": weights, "runner": runner,
             "error": error, "warned": False}
    object.__setattr__(model, "_ort_cache", cache)
    return _cached(cache, strict)


def _cached(cache: dict, strict: bool):
    if cache["runner"] is None:
        if strict:
            raise cache["error"]
        if not cache["warned"]:
            cache["warned"] = True
            warnings.warn(f"{cache['error']} Running on the NumPy engine instead "
                          "(this warning is shown once per model).", stacklevel=5)
    return cache["runner"]
