"""3x3 convolutions as Winograd F(2x2, 3x3) in plain ONNX ops (fewer multiplications).

A stride-1 3x3 convolution computes each 2x2 block of outputs from a 4x4 tile of inputs
with 16 products per (input, output) channel pair instead of 36 (Lavin & Gray, "Fast
Algorithms for Convolutional Neural Networks", 2016): ``Y = A^T [(G g G^T) * (B^T d B)] A``.
Written as ONNX ops for ONNX Runtime, on the images of all channels stacked vertically
(the *tall* layout: ``(C, N, h + 2, w)``, two zero rows under each image, which serve as the
bottom and top padding of neighbouring images):

1. input transform ``B^T d B`` of every tile: one ``Conv`` with 16 fixed 4x4 filters and
   stride 2 over the tall image -> ``(16, in, N * (h/2 + 1) * w/2)`` with no transpose (the
   tile row straddling two images is garbage, computed and dropped);
2. the products summed over input channels: one batched ``MatMul`` of the 16 transformed
   kernels ``(16, out, in)`` (computed here in float64, stored as float32) with the tiles;
3. output transform ``A^T m A`` with each 2x2 block put in place: one ``ConvTranspose`` with
   16 fixed 2x2 filters and stride 2; then bias, activation, and a ``Where`` zeroing the
   garbage rows (NaN and inf included, so an image never leaks into its neighbours).

Consecutive Winograd convolutions (and a 2x2 MaxPooling2D between them) pass the tall
layout on (``Value._layouts[TALL]``); ``(N, C, h, w)`` is made (Slice + Transpose) only
where another layer reads it, unused copies are pruned with the graph's dead nodes.

The transform matrices hold only 0, +-1 and +-1/2, so the result is float32 convolution
with a different order of additions (errors of the same size as a direct convolution; the
4x4 variant F(4x4, 3x3) would be faster still but its rounding errors are 10-30x larger,
so it is not used). ONNX Runtime's direct convolution is close to the CPU's peak
multiply-add rate, so only the step 2 saving (2.25x fewer multiply-adds) makes it faster,
and the transforms (memory-bound) pay off only with many channels: :func:`worthwhile`
takes ``same``-padded convolutions with at least :data:`MIN_CHANNELS` output channels and
half as many input channels (the output side has more passes: transform, bias, activation,
zeroing), and a known, even height and width of at least :data:`MIN_SIZE`, or
:data:`MIN_CHAINED_SIZE` when the input is already in the tall layout: VGG16's blocks 3, 4
and 5 (block 3's first convolution has 128 input channels); with 128 output channels,
VGG16's block 2, it is no faster than the direct convolution.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
>>> direct = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])
>>> bool(np.allclose(AT @ ((G @ g @ G.T) * (BT @ d @ BT.T)) @ AT.T, direct))
True
"""

from __future__ import annotations

import numpy as np

#: Output channels a convolution needs to be computed this way (and half as many inputs).
MIN_CHANNELS = 256
#: Height and width (each) it needs: smaller images waste more on the garbage rows and the
#: transforms (ResNet50's 256-channel 14x14 convolutions, each entered from and left to
#: ONNX Runtime's blocked layout, are no faster than direct convolutions).
MIN_SIZE = 28
#: Height and width (each) it needs when its input already is in the tall layout (a Winograd
#: convolution's or a max pool of one): no layout conversion on the way in, and the one on
#: the way out moves further down (VGG16's block 5, 14x14 after block 4's pool).
MIN_CHAINED_SIZE = 14
#: ``Value._layouts`` key of a value's tall layout: ``(tensor, channels, height, width)``.
TALL = "winograd_tall"
#: ``Value._layouts`` key of a Winograd convolution's tall output before the ``Where`` that
#: zeroes its garbage rows (:func:`max_pool` reads it).
RAW = "winograd_raw"

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)


def _spatial(layer, x) -> tuple:
    return tuple(x.shape[1:3] if layer.data_format == "channels_last" else x.shape[2:4])


def worthwhile(layer, x, padding: str) -> bool:
    """Whether ``layer`` (a Conv2D called on ``x``) is lowered with :func:`conv3x3`."""
    if (type(layer).__name__ != "Conv2D" or tuple(layer.kernel_size) != (3, 3)
            or tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1)
            or int(layer.groups) != 1 or padding != "same" or x.ndim != 4
            or getattr(layer.activation, "__name__", "") in ("softmax", "log_softmax")):
        return False
    cin, cout = layer.kernel.shape[-2:]
    if cout < MIN_CHANNELS or 2 * cin < MIN_CHANNELS:
        return False
    h, w = _spatial(layer, x)
    if h is None or w is None or h % 2 or w % 2:
        return False
    held = x._layouts.get(TALL)
    chained = held is not None and held[1:] == (cin, h, w)
    return min(h, w) >= (min(MIN_SIZE, MIN_CHAINED_SIZE) if chained else MIN_SIZE)


def _tall(b, x, src: str, c: int, h: int, w: int) -> str:
    """``x`` as ``(c, N, h + 2, w)`` with two zero rows under each image (see module doc)."""
    held = x._layouts.get(TALL)
    if held is not None and held[1:] == (c, h, w):
        return held[0]
    t = b.op("Transpose", [src], "winograd_cnhw", perm=[1, 0, 2, 3])
    return b.op("Pad", [t, b.ints([0, 0, 0, 0, 0, 0, 2, 0])], "winograd_tall")


def conv3x3(b, layer, src: str, x) -> tuple[str, str, str]:
    """``layer`` (bias and activation included) on the channels-first tensor ``src`` (Keras
    tensor ``x``): the output channels first, the same output in the tall layout, and that
    tall tensor before its garbage rows are zeroed (:data:`RAW`)."""
    from numkeras.export import activations as act
    from numkeras.export.graph import Value

    kernel = np.asarray(layer.kernel.value, np.float64)  # (3, 3, in, out)
    cin, cout = kernel.shape[-2:]
    h, w = _spatial(layer, x)
    # 1. tiles of the images stacked vertically: (1, 1, in * N * (h + 2), w) with a zero row
    #    above (padding) -> (1, 16, in * N * (h/2 + 1), w/2): one garbage tile row per image
    tall = b.op("Reshape", [_tall(b, x, src, cin, h, w), b.ints([1, 1, -1, w])])
    bt = np.einsum("ai,bj->abij", BT, BT).reshape(16, 1, 4, 4)
    v = b.op("Conv", [tall, b.const(bt.astype(np.float32), "winograd_bt")], "winograd_in",
             kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
    v = b.op("Reshape", [v, b.ints([16, cin, -1])])
    # 2. products summed over input channels, for each of the 16 tile positions
    u = np.einsum("ai,ijco,bj->aboc", G, kernel, G).reshape(16, cout, cin)
    m = b.op("MatMul", [b.const(u.astype(np.float32), "winograd_kernel"), v], "winograd_mm")
    # 3. output transform, each 2x2 block in place: (1, 1, out * N * (h + 2), w)
    m = b.op("Reshape", [m, b.ints([1, 16, -1, w // 2])])
    at = np.einsum("pa,qb->abpq", AT, AT).reshape(16, 1, 2, 2)
    y = b.op("ConvTranspose", [m, b.const(at.astype(np.float32), "winograd_at")],
             "winograd_out", kernel_shape=[2, 2], strides=[2, 2])
    y = b.op("Reshape", [y, b.ints([cout, -1, h + 2, w])])
    if layer.use_bias and layer.bias is not None:
        bias = np.asarray(layer.bias.value, np.float32).reshape(-1, 1, 1, 1)
        y = b.op("Add", [y, b.const(bias, "bias")])
    y = act.activation(b, layer.activation, y, Value(y, (None, h + 2, w, cout), np.float32))
    # the garbage rows (tiles across two images) are zeroed, NaN and inf included
    rows = np.arange(h + 2).reshape(1, 1, -1, 1) < h
    tall = b.op("Where", [b.const(rows, "winograd_rows"), y, b.const(np.float32(0))],
                "winograd_tall")
    return to_channels_first(b, y, h), tall, y


def to_channels_first(b, tall: str, h: int) -> str:
    """``(C, N, h + 2, w)`` tall layout -> ``(N, C, h, w)``."""
    y = b.op("Slice", [tall, b.ints([0]), b.ints([h]), b.ints([2])])
    return b.op("Transpose", [y], "winograd", perm=[1, 0, 2, 3])


def max_pool(b, layer, x):
    """A 2x2 stride-2 MaxPooling2D on a tall-layout value: ``(name, tall)`` or None.

    A Winograd convolution's output is pooled before its garbage rows are zeroed (the
    :data:`RAW` tensor): they only reach the pooled row under each image, which is sliced
    off (a quarter of the data the ``Where`` would have gone through)."""
    held = x._layouts.get(TALL)
    if (held is None or tuple(layer.pool_size) != (2, 2) or tuple(layer.strides) != (2, 2)
            or held[2] % 2 or held[3] % 2):
        return None
    tall, c, h, w = held
    raw = x._layouts.get(RAW)
    # one image of N * (h + 2) rows per channel: ONNX Runtime pools the channels in parallel
    flat = b.op("Reshape", [tall if raw is None else raw, b.ints([c, 1, -1, w])])
    y = b.op("MaxPool", [flat], kernel_shape=[2, 2], strides=[2, 2])
    y = b.op("Reshape", [y, b.ints([c, -1, h // 2 + 1, w // 2])])
    if raw is None:  # zero rows stay zero
        tall = b.op("Pad", [y, b.ints([0, 0, 0, 0, 0, 0, 1, 0])], "winograd_tall")
        return to_channels_first(b, y, h // 2), (tall, c, h // 2, w // 2)
    y = b.op("Slice", [y, b.ints([0]), b.ints([h // 2]), b.ints([2])])
    tall = b.op("Pad", [y, b.ints([0, 0, 0, 0, 0, 0, 2, 0])], "winograd_tall")
    cf = b.op("Transpose", [y], "winograd", perm=[1, 0, 2, 3])
    return cf, (tall, c, h // 2, w // 2)
