"""numkeras.ops.conv.conv against TensorFlow's Conv2D / Conv3D kernels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from numkeras.ops import conv as C

from ._tf import assert_close, rand, to_cf, to_cl

SPATIAL = {1: (11,), 2: (9, 8), 3: (7, 6, 8)}
KERNELS = {1: [(3,), (4,), (1,)], 2: [(3, 3), (2, 3), (1, 1)], 3: [(3, 2, 3), (2, 2, 2)]}
STRIDE_DILATION = [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), ("asym", 1), (1, "asym")]


def _expand(value, n):
    return (2, 1, 3)[:n] if value == "asym" else (value,) * n


def tf_conv(tf, x, kernel, strides, padding, dilation, groups=1):
    """Reference channels_last conv from TF raw ops (1D runs as 2D with height 1)."""
    n = kernel.ndim - 2
    if padding == "causal":
        x = np.pad(x, [(0, 0), ((kernel.shape[0] - 1) * dilation[0], 0), (0, 0)])
        padding = "valid"
    if n == 1:
        y = tf_conv(tf, x[:, None], kernel[None], (1, *strides), padding, (1, *dilation), groups)
        return y[:, 0]
    if groups > 1 and n == 3:  # TF's CPU Conv3D has no grouped kernel: split it
        xs, ks = np.split(x, groups, axis=-1), np.split(kernel, groups, axis=-1)
        parts = [tf_conv(tf, a, b, strides, padding, dilation) for a, b in zip(xs, ks)]
        return np.concatenate(parts, axis=-1)
    op = tf.raw_ops.Conv2D if n == 2 else tf.raw_ops.Conv3D
    return op(
        input=x,
        filter=kernel,
        strides=[1, *strides, 1],
        padding=padding.upper(),
        dilations=[1, *dilation, 1],
    ).numpy()


def _cases():
    for n, (s, d), padding, fmt in itertools.product(
        (1, 2, 3), STRIDE_DILATION, ("valid", "same", "causal"), ("channels_last", "channels_first")
    ):
        if padding == "causal" and n != 1:
            continue
        for k in KERNELS[n]:
            yield n, k, _expand(s, n), _expand(d, n), padding, fmt


@pytest.mark.parametrize("n,ksize,strides,dilation,padding,fmt", list(_cases()))
def test_conv_matches_tf(oracle, rng, n, ksize, strides, dilation, padding, fmt):
    x = rand(rng, 2, *SPATIAL[n], 3)
    kernel = rand(rng, *ksize, 3, 4)
    ref = oracle("ref", lambda: tf_conv(oracle.tf, x, kernel, strides, padding, dilation), x, kernel)
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = C.conv(xin, kernel, strides, padding, dilation, fmt)
    assert_close(to_cl(ours) if fmt == "channels_first" else ours, ref)


@pytest.mark.parametrize("im2col_limit", [None, 0, 500])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_grouped_conv_and_chunked_im2col(oracle, rng, monkeypatch, im2col_limit, n, groups, padding):
    if im2col_limit is not None:  # 0: one output row per chunk; 500: a few rows per chunk
        monkeypatch.setattr(C, "IM2COL_MAX_ELEMENTS", im2col_limit)
    x = rand(rng, 2, *SPATIAL[n], 6)
    kernel = rand(rng, *KERNELS[n][0], 6 // groups, 6)
    strides = _expand(2, n) if padding == "same" else _expand(1, n)
    ref = oracle(
        "ref", lambda: tf_conv(oracle.tf, x, kernel, strides, padding, _expand(1, n), groups), x,
        kernel)
    assert_close(C.conv(x, kernel, strides, padding, 1, "channels_last", groups), ref)


# Patch elements of one image of a (9, 8) output with a 3x3x5 kernel: 9 * 8 * 45 = 3240.
@pytest.mark.parametrize("im2col_limit", [0, 400, 1000, 3240, 7000, 1 << 30])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
def test_chunked_im2col_over_images_and_rows(
    oracle, rng, monkeypatch, im2col_limit, fmt, strides, dilation
):
    """Chunks of rows of one image (each padded on its own), of one image, of two images
    (batch 3: a short last chunk) and the whole batch at once all give TF's result."""
    monkeypatch.setattr(C, "IM2COL_MAX_ELEMENTS", im2col_limit)
    x = rand(rng, 3, 9, 8, 5)
    kernel = rand(rng, 3, 3, 5, 7)
    ref = oracle(
        "ref", lambda: tf_conv(oracle.tf, x, kernel, (strides,) * 2, "same", (dilation,) * 2), x,
        kernel)
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = C.conv(xin, kernel, strides, "same", dilation, fmt)
    assert_close(to_cl(ours) if fmt == "channels_first" else ours, ref)


def test_conv_empty_batch():
    y = C.conv(np.zeros((0, 5, 5, 3), np.float32), np.ones((3, 3, 3, 4), np.float32), 1, "same")
    assert y.shape == (0, 5, 5, 4) and y.dtype == np.float32


@pytest.mark.parametrize("shape", [(2, 7, 6, 16), (1, 5, 32), (2, 3, 4, 3, 8)])
def test_pointwise_conv_matches_tf(oracle, rng, shape):
    """1x1 stride-1 convolutions (a plain matmul), also on a non-contiguous input."""
    n = len(shape) - 2
    x = rand(rng, *shape)
    kernel = rand(rng, *(1,) * n, shape[-1], 12)
    ref = oracle("ref", lambda: tf_conv(oracle.tf, x, kernel, (1,) * n, "same", (1,) * n), x, kernel)
    assert_close(C.conv(x, kernel, 1, "same"), ref)
    cf = C.conv(np.moveaxis(x, -1, 1), kernel, 1, "valid", 1, "channels_first")
    assert_close(to_cl(cf), ref)


def test_conv_large_channels_accumulation(oracle, rng):
    x = rand(rng, 1, 12, 12, 256)
    kernel = rand(rng, 3, 3, 256, 32, scale=0.05)
    ref = oracle("ref", lambda: tf_conv(oracle.tf, x, kernel, (1, 1), "same", (1, 1)), x, kernel)
    assert_close(C.conv(x, kernel, 1, "same"), ref)


@pytest.mark.parametrize(
    "layer,kwargs,shape",
    [
        ("Conv1D", dict(kernel_size=3, padding="causal", dilation_rate=2), (2, 10, 3)),
        ("Conv1D", dict(kernel_size=4, strides=2, padding="same"), (2, 9, 3)),
        ("Conv2D", dict(kernel_size=(3, 2), strides=(2, 1), padding="same"), (2, 7, 6, 4)),
        ("Conv2D", dict(kernel_size=3, padding="same", groups=2), (2, 6, 6, 4)),
        ("Conv2D", dict(kernel_size=3, data_format="channels_first"), (2, 4, 7, 5)),
        ("Conv3D", dict(kernel_size=2, strides=2, padding="same"), (1, 5, 4, 5, 4)),
    ],
)
def test_keras_conv_layers(oracle, rng, layer, kwargs, shape):
    fmt = kwargs.get("data_format", "channels_last")

    def keras_layer():
        made = getattr(oracle.tf_keras.layers, layer)(6, use_bias=False, **kwargs)
        made.build(shape)
        return made

    def attributes():
        made = keras_layer()
        return tuple(made.kernel.shape), made.strides, made.padding, made.dilation_rate, made.groups

    def output():
        made = keras_layer()
        made.set_weights([kernel])
        return made(x).numpy()

    x = rand(rng, *shape)
    kernel_shape, strides, padding, dilation_rate, groups = oracle("attributes", attributes)
    kernel = rand(rng, *kernel_shape)
    ours = C.conv(x, kernel, strides, padding, dilation_rate, fmt, groups)
    assert_close(ours, oracle("output", output, x, kernel))


@pytest.mark.parametrize("padding", ["valid", "same", "causal", "full"])
@pytest.mark.parametrize("length,k,stride,dilation", [(7, 3, 1, 1), (8, 3, 2, 2), (5, 4, 3, 1)])
def test_conv_output_length_matches_keras(oracle, padding, length, k, stride, dilation):
    def keras_length():
        from tf_keras.src.utils import conv_utils

        return conv_utils.conv_output_length(length, k, padding, stride, dilation)

    expected = oracle("length", keras_length)
    assert C.conv_output_length(length, k, padding, stride, dilation) == expected


def test_conv_validation_errors():
    x = np.zeros((1, 5, 5, 4), np.float32)
    with pytest.raises(ValueError):
        C.conv(x, np.zeros((3, 3, 3, 2), np.float32))  # wrong in-channels
    with pytest.raises(ValueError):
        C.conv(x, np.zeros((3, 3, 2, 3), np.float32), groups=2)  # filters % groups
    with pytest.raises(ValueError):
        C.conv(x, np.zeros((3, 3, 4, 2), np.float32), padding="causal")  # causal is 1D only
    with pytest.raises(ValueError):
        C.conv(x, np.zeros((7, 7, 4, 2), np.float32))  # kernel larger than input
    with pytest.raises(ValueError):
        C.conv(x[0], np.zeros((3, 3, 4, 2), np.float32))  # unbatched input


def test_conv_keeps_float32_and_layouts():
    x = np.ones((1, 4, 4, 2), np.float32)
    k = np.ones((2, 2, 2, 3), np.float64)
    y = C.conv(x, k)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_array_equal(y, np.full((1, 3, 3, 3), 8.0, np.float32))
    yf = C.conv(np.moveaxis(x, -1, 1), k, data_format="channels_first")
    assert yf.shape == (1, 3, 3, 3) and yf.flags.c_contiguous
