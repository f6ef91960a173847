"""TensorFlow's array functions (shapes, joining, indexing, casting) on NumPy arrays.

Argument names are TensorFlow's (tf-keras stores ``TFOpLambda`` call arguments by name);
where tf-keras records the ``tf.compat.v1`` spelling of a function (``transpose``,
``gather``, ``pad``, ``squeeze``, ``shape``...), the v1 keywords are accepted too.

>>> import numpy as np
>>> x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
>>> getitem(x, [slice(None), slice(None, None, -1), 0])
array([[3., 0.]], dtype=float32)
>>> concat([x, x], axis=-1).shape, transpose(x, [0, 2, 1]).shape
((1, 2, 6), (1, 3, 2))
>>> [a.shape for a in split(x, [1, 2], axis=2)]
[(1, 2, 1), (1, 2, 2)]
"""

from __future__ import annotations

import numpy as np

from numkeras.ops import nn
from numkeras.ops.tf_math import to_tensor


def dtype_of(dtype) -> np.dtype:
    """A NumPy dtype for a TF dtype as configs store it (``'float32'``, ``'tf.int32'``...)."""
    if dtype is None:
        return None
    if isinstance(dtype, dict):  # Keras 3 / tf-keras serialized DType
        dtype = dtype.get("config", {}).get("name", dtype.get("class_name"))
    name = str(dtype).replace("tf.", "").replace("<dtype: '", "").rstrip("'>")
    if name == "bfloat16":
        raise TypeError("bfloat16 tensors are not supported by numkeras's TF functions.")
    return np.dtype(name)


def _ints(value) -> list:
    return [int(v) for v in np.asarray(value).reshape(-1)]


def cast(x, dtype, name=None):
    """``x`` as ``dtype``; float -> int truncates toward zero, as TF."""
    x = to_tensor(x)
    target = dtype_of(dtype)
    if x.dtype.kind == "f" and target.kind in "iu":
        with np.errstate(invalid="ignore"):
            return np.trunc(x).astype(target)
    return x.astype(target)


def identity(input, name=None):  # noqa: A002 - TF's name
    """``input`` unchanged."""
    return to_tensor(input)


def reshape(tensor, shape, name=None):
    """``tensor`` with a new shape (one entry may be -1)."""
    return np.reshape(to_tensor(tensor), _ints(shape))


def transpose(a, perm=None, conjugate=False, name="transpose"):
    """Axes permuted by ``perm`` (reversed by default)."""
    a = to_tensor(a)
    return np.transpose(a, None if perm is None else _ints(perm))


def expand_dims(input, axis, name=None, dim=None):  # noqa: A002
    """A new size-1 axis at ``axis``."""
    return np.expand_dims(to_tensor(input), int(dim if axis is None else axis))


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    """Size-1 axes removed (all of them, or those in ``axis``)."""
    x = to_tensor(input)
    axis = squeeze_dims if axis is None else axis
    if axis is None:
        return np.squeeze(x)
    axes = tuple(_ints(axis))
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"Can not squeeze dim[{a}], expected a dimension of 1, got "
                             f"{x.shape[a]}.")
    return np.squeeze(x, axis=axes)


def _values(values):
    arrays = [v for v in values if isinstance(v, np.ndarray)]
    like = arrays[0].dtype if arrays else None
    return [to_tensor(v) if isinstance(v, np.ndarray) or like is None else
            np.asarray(v, like) for v in values]


def concat(values, axis, name="concat"):
    """Tensors joined along an existing ``axis``."""
    return np.concatenate(_values(values), axis=int(axis))


def stack(values, axis=0, name="stack"):
    """Tensors joined along a new ``axis``."""
    return np.stack(_values(values), axis=int(axis))


def unstack(value, num=None, axis=0, name="unstack"):
    """The slices of ``value`` along ``axis``."""
    x = to_tensor(value)
    return [np.take(x, i, axis=int(axis)) for i in range(x.shape[int(axis)])]


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """``value`` cut along ``axis`` into equal parts or parts of the given sizes."""
    x = to_tensor(value)
    axis = int(np.asarray(axis))
    size = x.shape[axis]
    if np.ndim(num_or_size_splits) == 0:
        n = int(num_or_size_splits)
        if n <= 0 or size % n:
            raise ValueError(f"Cannot split a dimension of size {size} into {n} equal parts.")
        return np.split(x, n, axis=axis)
    sizes = _ints(num_or_size_splits)
    if -1 in sizes:
        sizes[sizes.index(-1)] = size - (sum(sizes) + 1)
    if sum(sizes) != size or min(sizes) < 0:
        raise ValueError(f"Split sizes {sizes} do not add up to the dimension's size {size}.")
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def tile(input, multiples, name=None):  # noqa: A002
    """``input`` repeated ``multiples[i]`` times along each axis."""
    return np.tile(to_tensor(input), _ints(multiples))


def repeat(input, repeats, axis=None, name=None):  # noqa: A002
    """Each element repeated (flattened first when ``axis`` is None)."""
    x = to_tensor(input)
    reps = _ints(repeats)
    return np.repeat(x, reps[0] if len(reps) == 1 else reps, axis=axis)


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Slices of ``params`` along ``axis`` at ``indices`` (``batch_dims`` leading batch axes)."""
    x = to_tensor(params)
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: indices must be integers, not {idx.dtype.name}.")
    axis = batch_dims if axis is None else int(axis)
    axis = axis % x.ndim
    batch_dims = int(batch_dims) % max(idx.ndim, 1) if batch_dims < 0 else int(batch_dims)
    if np.any(idx < 0) or np.any(idx >= x.shape[axis]):
        raise IndexError(f"gather: indices {idx.min()}..{idx.max()} are outside [0, "
                         f"{x.shape[axis]}) (TF raises on CPU too).")
    if batch_dims == 0:
        return np.take(x, idx, axis=axis)
    out = [gather(x[b], idx[b], axis=axis - 1, batch_dims=batch_dims - 1)
           for b in range(x.shape[0])]
    return np.stack(out)


def gather_nd(params, indices, batch_dims=0, name=None, bad_indices_policy=""):
    """Slices of ``params`` at the index tuples in the last axis of ``indices``."""
    x = to_tensor(params)
    idx = np.asarray(indices)
    if batch_dims:
        return np.stack([gather_nd(x[b], idx[b], batch_dims - 1) for b in range(x.shape[0])])
    return x[tuple(np.moveaxis(idx, -1, 0))]


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """``tensor`` padded by ``paddings`` (``[[before, after], ...]``)."""
    x = to_tensor(tensor)
    widths = [tuple(p) for p in np.asarray(paddings).astype(int).tolist()]
    mode = str(mode).upper()
    if mode == "CONSTANT":
        return np.pad(x, widths, mode="constant",
                      constant_values=np.asarray(constant_values, x.dtype))
    if mode == "REFLECT":
        return np.pad(x, widths, mode="reflect")
    if mode == "SYMMETRIC":
        return np.pad(x, widths, mode="symmetric")
    raise ValueError(f"pad: unknown mode {mode!r} (CONSTANT, REFLECT or SYMMETRIC).")


def where(condition, x=None, y=None, name=None):
    """``x`` where ``condition`` else ``y`` (broadcasting), or the indices of true elements."""
    cond = np.asarray(condition, bool)
    if x is None and y is None:
        return np.argwhere(cond).astype(np.int64)
    x_arr, y_arr = isinstance(x, np.ndarray), isinstance(y, np.ndarray)
    if x_arr and not y_arr:
        y = np.asarray(y, x.dtype)
    elif y_arr and not x_arr:
        x = np.asarray(x, y.dtype)
    x, y = to_tensor(x), to_tensor(y)
    return np.where(cond, x, y)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` limited to ``[clip_value_min, clip_value_max]``."""
    x = to_tensor(t)
    lo = np.asarray(clip_value_min, x.dtype)
    hi = np.asarray(clip_value_max, x.dtype)
    return np.minimum(np.maximum(x, lo), hi)


def einsum(equation, *inputs, **kwargs):
    """``tf.einsum``; operands may also come as ``inputs=[...]``."""
    operands = list(inputs) or list(kwargs.pop("inputs", []))
    if not operands:
        raise ValueError(f"einsum({equation!r}) has no operands (tf-keras does not save the "
                         "operands of a tf.einsum call; the file cannot be rebuilt).")
    return nn.einsum(equation, *[to_tensor(o) for o in operands])


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, grad_a=False,
           grad_b=False, name=None):
    """Matrix product over the last two axes (leading axes broadcast)."""
    a, b = to_tensor(a), to_tensor(b)
    if transpose_a or adjoint_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b or adjoint_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot vectors of length ``depth`` (out-of-range indices give all ``off_value``)."""
    idx = np.asarray(indices)
    out_dtype = dtype_of(dtype) or (np.asarray(on_value).dtype if on_value is not None and
                                    not isinstance(on_value, float) else np.float32)
    on = np.asarray(1 if on_value is None else on_value, out_dtype)
    off = np.asarray(0 if off_value is None else off_value, out_dtype)
    hot = idx[..., None] == np.arange(int(depth))
    out = np.where(hot, on, off)
    if axis is not None and int(axis) != -1:
        out = np.moveaxis(out, -1, int(axis))
    return out


def shape(input, out_type=None, name=None):  # noqa: A002
    """The shape of ``input`` as an int32 (or ``out_type``) vector."""
    return np.asarray(np.shape(input), dtype_of(out_type) or np.int32)


def size(input, out_type=None, name=None):  # noqa: A002
    """The number of elements of ``input``."""
    return np.asarray(np.size(input), dtype_of(out_type) or np.int32)


def rank(input, name=None):  # noqa: A002
    """The number of axes of ``input``."""
    return np.asarray(np.ndim(input), np.int32)


def ones_like(input, dtype=None, name=None, layout=None):  # noqa: A002
    """Ones shaped like ``input``."""
    x = to_tensor(input)
    return np.ones(x.shape, dtype_of(dtype) or x.dtype)


def zeros_like(input, dtype=None, name=None, layout=None):  # noqa: A002
    """Zeros shaped like ``input``."""
    x = to_tensor(input)
    return np.zeros(x.shape, dtype_of(dtype) or x.dtype)


def fill(dims, value, name=None, layout=None):
    """A tensor of shape ``dims`` full of ``value``."""
    v = to_tensor(value)
    return np.full(_ints(dims), v, v.dtype)


def range_(start, limit=None, delta=1, dtype=None, name="range"):
    """``[start, start + delta, ...)`` below ``limit``."""
    if limit is None:
        start, limit = 0, start
    values = [to_tensor(v) for v in (start, limit, delta)]
    kind = np.result_type(*values)
    return np.arange(values[0], values[1], values[2]).astype(dtype_of(dtype) or kind)


def reverse(tensor, axis, name=None):
    """``tensor`` flipped along the listed axes."""
    return np.flip(to_tensor(tensor), tuple(_ints(axis)))


def roll(input, shift, axis, name=None):  # noqa: A002
    """Elements shifted cyclically along ``axis``."""
    shifts, axes = _ints(shift), _ints(axis)
    return np.roll(to_tensor(input), shifts if len(shifts) > 1 else shifts[0],
                   tuple(axes) if len(axes) > 1 else axes[0])


def broadcast_to(input, shape, name=None):  # noqa: A002
    """``input`` broadcast to ``shape``."""
    return np.array(np.broadcast_to(to_tensor(input), _ints(shape)))


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """``values`` sorted along ``axis``."""
    x = np.sort(to_tensor(values), axis=int(axis), kind="stable")
    return np.flip(x, int(axis)) if str(direction).upper() == "DESCENDING" else x


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """Indices that sort ``values`` along ``axis`` (int32)."""
    x = to_tensor(values)
    key = -x if str(direction).upper() == "DESCENDING" else x
    return np.argsort(key, axis=int(axis), kind="stable").astype(np.int32)


def slice_(input_, begin, size, name=None):
    """``input_[begin:begin + size]`` per axis (size -1: to the end)."""
    x = to_tensor(input_)
    key = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(_ints(begin), _ints(size)))
    return np.array(x[key])


def boolean_mask(tensor, mask, axis=None, name="boolean_mask"):
    """The entries of ``tensor`` where ``mask`` is true (over axes ``axis..axis+mask.ndim``)."""
    x = to_tensor(tensor)
    m = np.asarray(mask, bool)
    axis = 0 if axis is None else int(axis)
    key = (slice(None),) * axis + (m,)
    return np.array(x[key])


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` on the channel axis (last, or axis 1 for ``NC...`` formats)."""
    x, b = to_tensor(value), to_tensor(bias)
    if data_format is not None and str(data_format).upper().startswith("NC") and x.ndim > 2:
        return x + b.reshape((-1,) + (1,) * (x.ndim - 2))
    return x + b


def image_resize(images, size, method="bilinear", preserve_aspect_ratio=False, antialias=False,
                 name=None):
    """``tf.image.resize`` (bilinear or nearest, no aspect-ratio option, no antialiasing)."""
    from numkeras.ops import image

    method = str(method).lower()
    if method not in ("bilinear", "nearest") or preserve_aspect_ratio or antialias:
        raise ValueError(f"image.resize: method={method!r}, preserve_aspect_ratio="
                         f"{preserve_aspect_ratio}, antialias={antialias} is not supported by "
                         "numkeras (bilinear or nearest only).")
    out = image.resize(to_tensor(images), tuple(_ints(size)), method)
    return out.astype(np.float32) if method == "bilinear" else out


def _slice_entry(entry):
    if isinstance(entry, dict):
        kind = entry.get("class_name")
        if kind == "__ellipsis__":
            return Ellipsis
        if kind == "__slice__":
            entry = entry.get("config", {})
        if set(entry) <= {"start", "stop", "step"}:
            return slice(entry.get("start"), entry.get("stop"), entry.get("step"))
        raise ValueError(f"Unsupported index in a slicing layer: {entry!r}.")
    if entry is Ellipsis or entry is None or isinstance(entry, (slice, bool)):
        return entry
    if isinstance(entry, np.ndarray):
        return int(entry) if entry.ndim == 0 else entry
    if isinstance(entry, (int, np.integer)):
        return int(entry)
    raise ValueError(f"Unsupported index in a slicing layer: {entry!r} (ints, slices, None, "
                     "Ellipsis are supported).")


def getitem(tensor, slice_spec, var=None):
    """``tensor[slice_spec]`` with TF's rules (a list is one index per axis, as a tuple)."""
    x = to_tensor(tensor)
    if not isinstance(slice_spec, (list, tuple)):
        slice_spec = [slice_spec]
    key = tuple(_slice_entry(e) for e in slice_spec)
    if any(isinstance(k, np.ndarray) for k in key):
        raise ValueError("Tensor indices in a slice are not supported by numkeras.")
    return np.array(x[key])
