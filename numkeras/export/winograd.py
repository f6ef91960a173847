"""3x3 convolutions as Winograd F(2x2, 3x3) in plain ONNX ops (fewer multiplications).

A stride-1 3x3 convolution computes each 2x2 block of outputs from a 4x4 tile of inputs
with 16 products per (input, output) channel pair instead of 36 (Lavin & Gray, "Fast
Algorithms for Convolutional Neural Networks", 2016): ``Y = A^T [(G g G^T) * (B^T d B)] A``.
Written as ONNX ops for ONNX Runtime:

1. input transform ``B^T d B`` of every tile of every channel: one ``Conv`` with 16 fixed
   4x4 filters and stride 2 over the channels seen as single-channel images;
2. the products summed over input channels: one batched ``MatMul`` of the 16 transformed
   kernels ``(16, out, in)`` (computed here in float64, stored as float32) with the
   transformed tiles ``(16, in, batch * tiles)``;
3. output transform ``A^T m A`` (a ``MatMul`` with a fixed 4x16 matrix) and a ``Transpose``
   putting the 2x2 blocks back in place.

The transform matrices hold only 0, +-1 and +-1/2, so the result is float32 convolution
with a different order of additions (errors of the same size as a direct convolution; the
4x4 variant F(4x4, 3x3) would be faster still but its rounding errors are 10-30x larger,
so it is not used). ONNX Runtime's direct convolution is close to the CPU's peak
multiply-add rate, so only the step 2 saving (2.25x fewer multiply-adds) makes it faster,
and the transforms (memory-bound) pay off only with many channels: :func:`worthwhile`
takes convolutions with at least :data:`MIN_CHANNELS` input and output channels and known,
even output height and width (VGG16's blocks 3-5).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
>>> direct = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])
>>> bool(np.allclose(AT @ ((G @ g @ G.T) * (BT @ d @ BT.T)) @ AT.T, direct))
True
"""

from __future__ import annotations

import numpy as np

#: Input channels and output channels a convolution needs to be computed this way.
MIN_CHANNELS = 256

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)


def _spatial(layer, x) -> tuple:
    return tuple(x.shape[1:3] if layer.data_format == "channels_last" else x.shape[2:4])


def worthwhile(layer, x, padding: str) -> bool:
    """Whether ``layer`` (a Conv2D called on ``x``) is lowered with :func:`conv3x3`."""
    if (type(layer).__name__ != "Conv2D" or tuple(layer.kernel_size) != (3, 3)
            or tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1)
            or int(layer.groups) != 1 or padding not in ("same", "valid") or x.ndim != 4):
        return False
    cin, cout = layer.kernel.shape[-2:]
    if min(cin, cout) < MIN_CHANNELS:
        return False
    h, w = _spatial(layer, x)
    if h is None or w is None:
        return False
    trim = 0 if padding == "same" else 2
    return (h - trim) > 0 and (w - trim) > 0 and (h - trim) % 2 == 0 and (w - trim) % 2 == 0


def conv3x3(b, layer, src: str, x, padding: str) -> str:
    """The convolution (without bias) of the channels-first tensor ``src``, channels first."""
    kernel = np.asarray(layer.kernel.value, np.float64)  # (3, 3, in, out)
    cin, cout = kernel.shape[-2:]
    h, w = _spatial(layer, x)
    if padding == "same":
        src = b.op("Pad", [src, b.ints([0, 0, 1, 1, 0, 0, 1, 1])], "winograd_pad")
        ho, wo = h, w
    else:
        ho, wo = h - 2, w - 2
    th, tw = ho // 2, wo // 2
    # 1. input tiles: (N*in, 1, ho+2, wo+2) -> (N*in, 16, th, tw) -> (16, in, N*th*tw)
    tiles = b.op("Reshape", [src, b.ints([-1, 1, ho + 2, wo + 2])], "winograd_images")
    bt = np.einsum("ai,bj->abij", BT, BT).reshape(16, 1, 4, 4)
    v = b.op("Conv", [tiles, b.const(bt.astype(np.float32), "winograd_bt")], "winograd_in",
             kernel_shape=[4, 4], strides=[2, 2])
    v = b.op("Reshape", [v, b.ints([-1, cin, 16, th * tw])])
    v = b.op("Transpose", [v], perm=[2, 1, 0, 3])
    v = b.op("Reshape", [v, b.ints([16, cin, -1])])
    # 2. products summed over input channels, for each of the 16 tile positions
    u = np.einsum("ai,ijco,bj->aboc", G, kernel, G).reshape(16, cout, cin)
    m = b.op("MatMul", [b.const(u.astype(np.float32), "winograd_kernel"), v], "winograd_mm")
    # 3. output transform, then the 2x2 blocks back in place: (N, out, ho, wo)
    m = b.op("Reshape", [m, b.ints([16, -1])])
    at = np.einsum("pa,qb->pqab", AT, AT).reshape(4, 16)
    y = b.op("MatMul", [b.const(at.astype(np.float32), "winograd_at"), m], "winograd_out")
    y = b.op("Reshape", [y, b.ints([2, 2, cout, -1, th, tw])])
    y = b.op("Transpose", [y], perm=[3, 2, 4, 0, 5, 1])
    return b.op("Reshape", [y, b.ints([-1, cout, ho, wo])], "winograd")
