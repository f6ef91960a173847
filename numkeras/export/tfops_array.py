"""Shape and indexing functions of TF-op layers and Keras 3 operations (for
:mod:`numkeras.export.tfops`): ``cast identity reshape shape argmax argmin cumsum gather pad
transpose expand_dims squeeze tile getitem``, with the NumPy functions' argument rules."""

from __future__ import annotations

import numpy as np

from numkeras.export.graph import LoweringError, Value, _elem_type


def _arg(a: dict, *names, index: int | None = None, default=None):
    for n in names:
        if n in a and a[n] is not None:
            return a[n]
    pos = a.get("*", [])
    if index is not None and len(pos) > index:
        return pos[index]
    return default


def _axes(axis, ndim: int) -> list[int] | None:
    if axis is None:
        return None
    axes = np.asarray(axis).reshape(-1).tolist()
    return [int(a) % ndim for a in axes]


def _scalar(b, value, dtype) -> str:
    """A 0-d constant (``Constant`` node: the builder's initializers are at least 1-D)."""
    from onnx import numpy_helper

    return b.op("Constant", [], "scalar",
                value=numpy_helper.from_array(np.array(value, dtype=dtype)))


def _target_shape(b, shape) -> str:
    """A reshape target: constant ints, or a list mixing ints and int Keras tensors."""
    if isinstance(shape, Value):
        return b.op("Cast", [b.native(shape)], to=_elem_type(np.int64))
    entries = list(shape) if isinstance(shape, (list, tuple)) else \
        np.asarray(shape).reshape(-1).tolist()
    if not any(isinstance(e, Value) for e in entries):
        if 0 in entries:
            raise LoweringError("a zero-sized target shape is not lowered")
        return b.ints(entries)
    parts = []
    for e in entries:
        if isinstance(e, Value):
            v = b.op("Cast", [b.native(e)], to=_elem_type(np.int64))
            parts.append(b.op("Reshape", [v, b.ints([1])]))
        elif int(e) == 0:
            raise LoweringError("a zero-sized target shape is not lowered")
        else:
            parts.append(b.ints([int(e)]))
    return b.op("Concat", parts, "target_shape", axis=0)


def _getitem(b, x: Value, spec) -> str:
    if not isinstance(spec, (list, tuple)):
        spec = [spec]
    from numkeras.ops.tf_array import _slice_entry

    key = [_slice_entry(e) for e in spec]
    if any(isinstance(k, (np.ndarray, Value, bool)) for k in key):
        raise LoweringError("tensor or boolean indices are not lowered")
    n_axes = sum(1 for k in key if k is not None and k is not Ellipsis)
    starts, ends, steps, axes, squeeze, unsqueeze = [], [], [], [], [], []
    i = o = 0
    big = np.iinfo(np.int64).max
    for k in key:
        if k is Ellipsis:
            span = x.ndim - n_axes
            i, o = i + span, o + span
        elif k is None:
            unsqueeze.append(o)
            o += 1
        elif isinstance(k, int):
            starts.append(k)
            ends.append(k + 1 if k != -1 else big)
            steps.append(1)
            axes.append(i)
            squeeze.append(i)
            i += 1
        else:
            step = 1 if k.step is None else int(k.step)
            if step > 0:
                start = 0 if k.start is None else int(k.start)
                stop = big if k.stop is None else int(k.stop)
            else:
                start = -1 if k.start is None else int(k.start)
                stop = -big - 1 if k.stop is None else int(k.stop)
            starts.append(start)
            ends.append(stop)
            steps.append(step)
            axes.append(i)
            i, o = i + 1, o + 1
    y = b.native(x)
    if axes:
        y = b.op("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)],
                 "getitem")
    if squeeze:
        y = b.op("Squeeze", [y, b.ints(squeeze)])
    if unsqueeze:
        y = b.op("Unsqueeze", [y, b.ints(unsqueeze)])
    return y


def lower_array(b, name: str, a: dict, x: Value, src: str, spec) -> str | None:  # noqa: C901
    """The ONNX tensor of array function ``name`` on ``x`` (None: not an array function)."""
    if name == "cast":
        from numkeras.ops.tf_array import dtype_of

        target = dtype_of(a["dtype"])  # float -> int: ONNX's Cast truncates, as TF
        return b.op("Cast", [src], to=_elem_type(target))
    if name == "identity":
        return b.op("Identity", [src])
    if name == "reshape":
        return b.op("Reshape", [src, _target_shape(b, a.get("shape"))])
    if name == "shape":
        out = a.get("out_type")
        from numkeras.ops.tf_array import dtype_of

        return b.op("Cast", [b.op("Shape", [src])], "shape",
                    to=_elem_type(dtype_of(out) or np.int32))
    if name in ("argmax", "argmin"):
        axis = _arg(a, "axis", "dimension")
        y = b.op("ArgMax" if name == "argmax" else "ArgMin", [src], name,
                 axis=0 if axis is None else int(axis) % x.ndim, keepdims=0)
        out = np.dtype(str(a.get("output_type") or "int64").replace("tf.", ""))
        return y if out == np.int64 else b.op("Cast", [y], to=_elem_type(out))
    if name == "cumsum":
        return b.op("CumSum", [src, _scalar(b, int(_arg(a, "axis", default=0)), np.int64)],
                    "cumsum", exclusive=int(bool(a.get("exclusive"))),
                    reverse=int(bool(a.get("reverse"))))
    if name == "gather":
        indices, axis = a.get("indices"), _arg(a, "axis", default=0)
        if a.get("batch_dims"):
            raise LoweringError("gather with batch_dims is not lowered")
        idx = b.native(indices) if isinstance(indices, Value) else b.ints(
            np.asarray(indices).tolist())
        if isinstance(indices, Value) and indices.dtype != np.int64:
            idx = b.op("Cast", [idx], to=_elem_type(np.int64))
        # negative indices are an error in the NumPy engine; ONNX would count from the end
        idx = b.op("Where", [b.op("Less", [idx, b.ints(0)]), b.ints(2**62), idx])
        return b.op("Gather", [src, idx], "gather", axis=int(axis) % x.ndim)
    if name == "pad":
        mode = str(a.get("mode", "CONSTANT")).upper()
        if mode not in ("CONSTANT", "REFLECT") or isinstance(a.get("paddings"), Value):
            raise LoweringError(f"pad mode {mode} (or computed paddings) is not lowered")
        widths = np.asarray(a["paddings"]).astype(np.int64).reshape(-1, 2)
        pads = b.ints(list(widths[:, 0]) + list(widths[:, 1]))
        if mode == "REFLECT":
            return b.op("Pad", [src, pads], "pad", mode="reflect")
        value = _scalar(b, a.get("constant_values", 0), x.dtype)
        return b.op("Pad", [src, pads, value], "pad", mode="constant")
    if name == "transpose":
        perm = _arg(a, "perm")
        perm = list(range(x.ndim))[::-1] if perm is None else [int(p) for p in perm]
        return b.op("Transpose", [src], perm=perm)
    if name == "expand_dims":
        axis = int(_arg(a, "axis", "dim"))
        return b.op("Unsqueeze", [src, b.ints([axis % (x.ndim + 1)])])
    if name == "squeeze":
        axes = _arg(a, "axis", "squeeze_dims")
        if axes is None:
            if None in spec.shape[1:] or None in x.shape[1:]:
                raise LoweringError("squeeze without axes over unknown sizes is not lowered")
            axes = [i for i, d in enumerate(x.shape) if d == 1]
        return b.op("Squeeze", [src, b.ints(_axes(axes, x.ndim))])
    if name == "tile":
        mult = a.get("multiples")
        if isinstance(mult, Value):
            raise LoweringError("computed multiples are not lowered")
        return b.op("Tile", [src, b.ints(np.asarray(mult).reshape(-1).tolist())])
    if name == "getitem":
        return _getitem(b, x, _arg(a, "slice_spec", index=1))
    return None
