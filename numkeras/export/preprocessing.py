"""Lowerings of the image and integer preprocessing layers, as their NumPy ``call`` computes.

- ``Resizing`` / ``CenterCrop`` / tf-keras's ``RandomCrop`` at inference: ``tf.image.resize``
  (``numkeras/ops/image.py``) as ``Gather``s of the source rows and columns, with the same
  float32 sampling positions (``(o + 0.5) * (in / out)``) and blending order (width, then
  height; ``low + (high - low) * lerp``), computed from the input's runtime size, so images
  of any size work. ``CenterCrop`` chooses crop or resize at run time (an ``If``).
- The other random augmentations are the identity at inference (a cast to their dtype).
- ``CategoryEncoding``, ``Discretization``: one-hot rows are ``Gather``s from an identity
  matrix, so an id outside ``[0, num_tokens)`` makes ONNX Runtime fail (negative ids are
  moved out of range first) where the NumPy engine raises.
- ``IntegerLookup``: an ONNX-ML ``LabelEncoder`` over the vocabulary (int64 keys);
  ``num_oov_indices > 1`` is ``floormod(value, n)`` as the layer computes it.
"""

from __future__ import annotations

import numpy as np

from numkeras.export.graph import LoweringError, Value, _elem_type

_FLOAT, _INT64, _BOOL = 1, 7, 9


# -- resizing ----------------------------------------------------------------------------------
def _size(b, x: str, axis: int) -> str:
    """``[x.shape[axis]]`` (int64, shape ``(1,)``: the builder's constants are 1-D too)."""
    return b.op("Shape", [x], start=axis, end=axis + 1)


def _source(b, in_size: str, out_size: int) -> str:
    """``(arange(out) + 0.5) * (float32(in) / float32(out))`` in float32."""
    scale = b.op("Div", [b.op("Cast", [in_size], to=_FLOAT),
                         b.const(np.float32(out_size), dtype=np.float32)], "scale")
    grid = b.const(np.arange(out_size, dtype=np.float32) + np.float32(0.5), "half_pixel_grid")
    return b.op("Mul", [grid, scale], "source")


def _nearest(b, x: str, axis: int, out_size: int) -> str:
    in_size = _size(b, x, axis)
    src = b.op("Cast", [b.op("Floor", [_source(b, in_size, out_size)])], to=_INT64)
    last = b.op("Sub", [in_size, b.ints(1)])
    idx = b.op("Min", [b.op("Max", [src, b.ints(0)]), last])
    return b.op("Gather", [x, idx], "nearest", axis=axis)


def _linear(b, x: str, axis: int, out_size: int, rank: int) -> str:
    in_size = _size(b, x, axis)
    src = b.op("Sub", [_source(b, in_size, out_size), b.const(np.float32(0.5),
                                                               dtype=np.float32)])
    floor = b.op("Floor", [src])
    lower = b.op("Cast", [b.op("Max", [floor, b.const(np.float32(0), dtype=np.float32)])],
                 to=_INT64)
    upper = b.op("Min", [b.op("Cast", [b.op("Ceil", [src])], to=_INT64),
                         b.op("Sub", [in_size, b.ints(1)])])
    lerp = b.op("Sub", [src, floor], "lerp")
    trailing = rank - 1 - axis
    if trailing:
        lerp = b.op("Unsqueeze", [lerp, b.ints(list(range(1, trailing + 1)))])
    low = b.op("Gather", [x, lower], axis=axis)
    high = b.op("Gather", [x, upper], axis=axis)
    return b.op("Add", [b.op("Mul", [b.op("Sub", [high, low]), lerp]), low], "bilinear")


def _crop_to_aspect(b, x: str, axes: tuple[int, int], size: tuple[int, int]) -> str:
    """``smart_resize``'s centre crop (float32 division, truncation), at run time."""
    h, w = _size(b, x, axes[0]), _size(b, x, axes[1])
    th, tw = size

    def ratio(num: str, mult: int, div: int) -> str:
        prod = b.op("Cast", [b.op("Mul", [num, b.ints(mult)])], to=_FLOAT)
        return b.op("Cast", [b.op("Div", [prod, b.const(np.float32(div), dtype=np.float32)])],
                    to=_INT64)

    crop_h = b.op("Min", [h, ratio(w, th, tw)])
    crop_w = b.op("Min", [w, ratio(h, tw, th)])
    start_h = ratio(b.op("Sub", [h, crop_h]), 1, 2)
    start_w = ratio(b.op("Sub", [w, crop_w]), 1, 2)
    starts = b.op("Concat", [start_h, start_w], axis=0)
    ends = b.op("Add", [starts, b.op("Concat", [crop_h, crop_w], axis=0)])
    return b.op("Slice", [x, starts, ends, b.ints(list(axes))], "aspect_crop")


def _image_axes(layer, ndim: int) -> tuple[int, int]:
    if ndim not in (3, 4):
        raise LoweringError(f"images of rank {ndim} are not lowered")
    first = ndim - 2 if getattr(layer, "data_format", None) == "channels_first" else ndim - 3
    return first, first + 1


def resize(b, x: str, ndim: int, axes, size, interpolation: str, crop: bool) -> str:
    if crop:
        x = _crop_to_aspect(b, x, axes, size)
    if interpolation == "nearest":
        return _nearest(b, _nearest(b, x, axes[0], size[0]), axes[1], size[1])
    if interpolation != "bilinear":
        raise LoweringError(f"interpolation={interpolation!r} is not lowered")
    return _linear(b, _linear(b, x, axes[1], size[1], ndim), axes[0], size[0], ndim)


def _cast(b, name: str, src_dtype, dtype) -> str:
    if np.dtype(src_dtype) == np.dtype(dtype):
        return name
    return b.op("Cast", [name], to=_elem_type(dtype))


def resizing(b, layer, call):
    x = call.x
    axes = _image_axes(layer, x.ndim)
    src, dtype = b.native(x), x.dtype
    if layer.interpolation != "nearest":
        src, dtype = _cast(b, src, x.dtype, np.float32), np.float32
    y = resize(b, src, x.ndim, axes, (layer.height, layer.width), layer.interpolation,
               layer.crop_to_aspect_ratio)
    return [call.out(_cast(b, y, dtype, layer.compute_dtype))]


def _if(b, cond: str, then_fn, else_fn) -> str:
    """``then_fn()`` if ``cond`` else ``else_fn()``: an ONNX ``If`` with two branches."""
    from onnx import helper

    graphs = []
    for fn in (then_fn, else_fn):
        saved, b.nodes = b.nodes, []
        try:
            out = b.op("Identity", [fn()], "branch_out")
            nodes = b.nodes
        finally:
            b.nodes = saved
        graphs.append(helper.make_graph(nodes, b.fresh("branch"), [],
                                        [helper.make_tensor_value_info(out, _FLOAT, None)]))
    return b.op("If", [cond], "center_crop", then_branch=graphs[0], else_branch=graphs[1])


def center_crop(b, layer, call):
    x = call.x
    axes = _image_axes(layer, x.ndim)
    src = _cast(b, b.native(x), x.dtype, layer.compute_dtype)
    if np.dtype(layer.compute_dtype) != np.float32:
        raise LoweringError("CenterCrop with a non-float32 dtype is not lowered")
    h, w = _size(b, src, axes[0]), _size(b, src, axes[1])
    small = b.op("Or", [b.op("Less", [h, b.ints(layer.height)]),
                        b.op("Less", [w, b.ints(layer.width)])])

    def crop():
        top = b.op("Div", [b.op("Sub", [h, b.ints(layer.height)]), b.ints(2)])
        left = b.op("Div", [b.op("Sub", [w, b.ints(layer.width)]), b.ints(2)])
        starts = b.op("Concat", [top, left], axis=0)
        ends = b.op("Add", [starts, b.ints([layer.height, layer.width])])
        return b.op("Slice", [src, starts, ends, b.ints(list(axes))], "crop")

    def grow():
        return resize(b, src, x.ndim, axes, (layer.height, layer.width), "bilinear", True)

    return [call.out(_if(b, small, grow, crop))]


def random_identity(b, layer, call):
    x = call.x
    if call.kwargs.get("training"):
        raise LoweringError("training=True is not lowered")
    return [call.out(_cast(b, x.name, x.dtype, layer.compute_dtype), cf=x.cf)]


def random_crop(b, layer, call):
    x = call.x
    if layer.data_format is not None:  # a Keras 3 RandomCrop: identity at inference
        return random_identity(b, layer, call)
    src = _cast(b, b.native(x), x.dtype, np.float32)
    y = resize(b, src, x.ndim, _image_axes(layer, x.ndim), (layer.height, layer.width),
               "bilinear", True)
    return [call.out(_cast(b, y, np.float32, layer.compute_dtype))]


# -- categorical -------------------------------------------------------------------------------
def _ids(b, x) -> str:
    src = b.native(x)
    return src if x.dtype == np.int64 else b.op("Cast", [src], to=_INT64)


def encode(b, ids: str, ndim: int, mode: str, depth: int, dtype, drop_negative=False) -> str:
    """``categorical.encode`` (``drop_negative``: ``lookup.encode_kept``) of int64 ``ids``."""
    if mode == "int":
        return _cast(b, ids, np.int64, dtype)
    eye = np.eye(depth, dtype=dtype)
    if drop_negative:  # row ``depth`` is zeros: negative ids (dropped mask tokens) set nothing
        eye = np.concatenate([eye, np.zeros((1, depth), dtype)])
    # negative ids go to row ``depth``: the zero row, or out of the table's range (then ONNX
    # Runtime refuses them, as the NumPy engine does)
    ids = b.op("Where", [b.op("Less", [ids, b.ints(0)]), b.ints(depth), ids])
    rows = b.op("Gather", [b.const(eye, "one_hot_table"), ids], axis=0)
    if mode == "one_hot":
        if ndim == 2:
            raise LoweringError("one_hot of ids shaped (batch, n) is only lowered for n = 1")
        if ndim > 2:
            raise LoweringError("outputs of rank above 2 are not lowered")
        return rows
    if ndim != 2:
        raise LoweringError(f"{mode} encoding of ids of rank {ndim} is not lowered")
    op = "ReduceSum" if mode == "count" else "ReduceMax"
    if op == "ReduceSum":
        return b.op(op, [rows, b.ints([1])], "encoded", keepdims=0)
    return b.op(op, [rows], "encoded", axes=[1], keepdims=0)


def _one_hot_shape(x, mode: str) -> int:
    """The rank of the ids ``encode`` sees (``(batch, 1)`` one-hot ids act as ``(batch,)``)."""
    if mode == "one_hot" and x.ndim == 2 and x.shape[-1] == 1:
        return 1
    return x.ndim


def category_encoding(b, layer, call):
    x = call.x
    if call.kwargs.get("count_weights") is not None or len(call.args) > 1:
        raise LoweringError("count_weights is not lowered")
    ids = _ids(b, x)
    ndim = _one_hot_shape(x, layer.output_mode)
    if ndim == 1 and x.ndim == 2:
        ids = b.op("Squeeze", [ids, b.ints([1])])
    return [call.out(encode(b, ids, ndim, layer.output_mode, layer.num_tokens,
                            layer.compute_dtype))]


def discretization(b, layer, call):
    x = call.x
    src = _cast(b, b.native(x), x.dtype, np.float32)
    bounds = np.asarray(layer.bin_boundaries, np.float32)
    ge = b.op("GreaterOrEqual", [b.op("Unsqueeze", [src, b.ints([-1])]),
                                 b.const(bounds, "bin_boundaries")])
    ids = b.op("ReduceSum", [b.op("Cast", [ge], to=_INT64), b.ints([-1])], keepdims=0)
    # searchsorted puts NaN after every boundary
    ids = b.op("Where", [b.op("IsNaN", [src]), b.ints(len(bounds)), ids], "bucket")
    dtype = layer.compute_dtype
    if layer.output_mode == "int" and np.dtype(dtype).kind not in "iu":
        dtype = "int64"
    ndim = _one_hot_shape(x, layer.output_mode)
    if ndim == 1 and x.ndim == 2:
        ids = b.op("Squeeze", [ids, b.ints([1])])
    y = encode(b, ids, ndim, layer.output_mode, len(bounds) + 1, dtype)
    # a Keras 3 file keeps a float policy while the ids stay int64: the value's own dtype
    return [Value(y, call.specs[0].shape, np.dtype(dtype))]


def integer_lookup(b, layer, call):
    x = call.x
    if layer.num_oov_indices == 0:
        raise LoweringError("num_oov_indices=0 (an error for unknown values) is not lowered")
    ids = _ids(b, x)
    if layer.invert:
        vocab = layer.get_vocabulary()
        start = layer._token_start_index()
        keys = list(range(start, len(vocab)))
        values = [int(vocab[i]) for i in keys]
        if layer.mask_token is not None:
            keys, values = [0, *keys], [int(layer.mask_token), *values]
        y = b.op("LabelEncoder", [ids], "invert", domain="ai.onnx.ml", keys_int64s=keys,
                 values_int64s=values, default_int64=int(layer.oov_token))
        return [Value(y, call.specs[0].shape, np.dtype(np.int64))]
    keys = [int(k) for k in layer._index]
    values = [int(v) for v in layer._index.values()]
    if layer.mask_token is not None:
        keys.append(int(layer.mask_token))
        values.append(0 if layer.output_mode == "int" else -2)
    found = b.op("LabelEncoder", [ids], "lookup", domain="ai.onnx.ml", keys_int64s=keys,
                 values_int64s=values, default_int64=-1)
    if layer.num_oov_indices > 1:
        oov = b.op("Add", [b.op("Mod", [ids, b.ints(layer.num_oov_indices)]),
                           b.ints(layer._oov_start_index())])
        found = b.op("Where", [b.op("Equal", [found, b.ints(-1)]), oov, found], "index")
    else:
        found = b.op("Where", [b.op("Equal", [found, b.ints(-1)]),
                               b.ints(layer._oov_start_index()), found], "index")
    mode = "count" if layer.output_mode == "tf_idf" else layer.output_mode
    if mode == "int":
        dtype = layer.compute_dtype
        dtype = dtype if np.dtype(dtype).kind in "iu" else np.int64
        return [Value(_cast(b, found, np.int64, dtype), call.specs[0].shape, np.dtype(dtype))]
    depth = layer.max_tokens if layer.pad_to_max_tokens else layer.vocabulary_size()
    ndim = _one_hot_shape(x, mode)
    if ndim == 1 and x.ndim == 2:
        found = b.op("Squeeze", [found, b.ints([1])])
    y = encode(b, found, ndim, mode, depth, np.float32, drop_negative=True)
    if layer.output_mode == "tf_idf":
        y = b.op("Mul", [y, b.const(np.asarray(layer._idf[:depth], np.float32), "idf")])
    return [call.out(_cast(b, y, np.float32, layer.compute_dtype))]


LOWERINGS = {
    "Resizing": resizing, "CenterCrop": center_crop, "RandomCrop": random_crop,
    **{n: random_identity for n in ("RandomFlip", "RandomRotation", "RandomZoom",
                                    "RandomTranslation", "RandomContrast", "RandomBrightness",
                                    "RandomHeight", "RandomWidth")},
    "CategoryEncoding": category_encoding, "Discretization": discretization,
    "IntegerLookup": integer_lookup,
}
