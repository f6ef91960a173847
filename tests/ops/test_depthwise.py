"""depthwise_conv / separable_conv against tf.nn.depthwise_conv2d / separable_conv2d."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from numkeras.ops import conv as C

from ._tf import assert_close, rand, to_cf, to_cl

SPATIAL = {1: (10,), 2: (9, 7), 3: (6, 5, 7)}
KSIZE = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}
STRIDE_DILATION = [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2)]


def _causal(x, k, d):
    return np.pad(x, [(0, 0), ((k - 1) * d, 0), (0, 0)])


def tf_depthwise(tf, x, kernel, strides, padding, dilation):
    """Reference: 2D via tf.nn.depthwise_conv2d, 1D as height-1 2D, 3D per channel."""
    n = kernel.ndim - 2
    if padding == "causal":
        x, padding = _causal(x, kernel.shape[0], dilation[0]), "valid"
    if n == 1:
        y = tf_depthwise(tf, x[:, None], kernel[None], (1, *strides), padding, (1, *dilation))
        return y[:, 0]
    if n == 3:  # no TF depthwise 3D kernel: one single-channel Conv3D per channel
        parts = [
            tf.raw_ops.Conv3D(
                input=x[..., c : c + 1],
                filter=kernel[..., c : c + 1, :],
                strides=[1, *strides, 1],
                padding=padding.upper(),
                dilations=[1, *dilation, 1],
            ).numpy()
            for c in range(x.shape[-1])
        ]
        return np.concatenate(parts, axis=-1)
    return tf.nn.depthwise_conv2d(
        x, kernel, [1, *strides, 1], padding.upper(), dilations=dilation
    ).numpy()


def _cases():
    for n, (s, d), padding, fmt, dm in itertools.product(
        (1, 2, 3),
        STRIDE_DILATION,
        ("valid", "same", "causal"),
        ("channels_last", "channels_first"),
        (1, 2),
    ):
        if padding == "causal" and n != 1:
            continue
        if n < 3 and s > 1 and d > 1:
            continue  # tf.nn.depthwise_conv2d cannot combine strides > 1 with dilation > 1
        yield n, (s,) * n, (d,) * n, padding, fmt, dm


@pytest.mark.parametrize("n,strides,dilation,padding,fmt,dm", list(_cases()))
def test_depthwise_matches_tf(oracle, rng, n, strides, dilation, padding, fmt, dm):
    x = rand(rng, 2, *SPATIAL[n], 3)
    kernel = rand(rng, *KSIZE[n], 3, dm)
    ref = oracle(
        "ref", lambda: tf_depthwise(oracle.tf, x, kernel, strides, padding, dilation), x, kernel
    )
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = C.depthwise_conv(xin, kernel, strides, padding, dilation, fmt)
    assert_close(to_cl(ours) if fmt == "channels_first" else ours, ref)


@pytest.mark.parametrize("chunk", [1, 40, 300])
@pytest.mark.parametrize(
    "n,strides,dilation,padding",
    [
        (2, (1, 1), (1, 1), "same"),
        (2, (2, 2), (1, 1), "same"),
        (2, (1, 1), (3, 3), "same"),
        (2, (2, 1), (1, 1), "valid"),
        (1, (1,), (2,), "causal"),
        (3, (1, 1, 1), (1, 1, 1), "same"),
        (3, (2, 2, 2), (1, 1, 1), "same"),
    ],
)
def test_depthwise_chunks_match_tf(oracle, rng, monkeypatch, chunk, n, strides, dilation, padding):
    """Chunks of one output row, of a few rows (a short last chunk) and whole images."""
    monkeypatch.setattr(C, "DEPTHWISE_CHUNK_ELEMENTS", chunk)
    x = rand(rng, 2, *SPATIAL[n], 4)
    kernel = rand(rng, *KSIZE[n], 4, 1)
    ref = oracle(
        "ref", lambda: tf_depthwise(oracle.tf, x, kernel, strides, padding, dilation), x, kernel
    )
    assert_close(C.depthwise_conv(x, kernel, strides, padding, dilation), ref)


def test_depthwise_large_padding_matches_tf(oracle, rng):
    """'same' padding wider than the input (dilated kernel): chunks mostly of zeros."""
    x = rand(rng, 1, 4, 5, 3)
    kernel = rand(rng, 3, 3, 3, 2)
    ref = oracle("ref", lambda: tf_depthwise(oracle.tf, x, kernel, (1, 1), "same", (4, 4)), x, kernel)
    assert_close(C.depthwise_conv(x, kernel, 1, "same", 4), ref)


def _separable_cases():
    for n, (s, d), padding, fmt in itertools.product(
        (1, 2), STRIDE_DILATION, ("valid", "same"), ("channels_last", "channels_first")
    ):
        if s == 1 or d == 1:
            yield n, s, d, padding, fmt


@pytest.mark.parametrize("n,s,d,padding,fmt", list(_separable_cases()))
def test_separable_matches_tf(oracle, rng, n, s, d, padding, fmt):
    x = rand(rng, 2, *SPATIAL[n], 3)
    dw = rand(rng, *KSIZE[n], 3, 2)
    pw = rand(rng, *(1,) * n, 6, 5)
    x4, dw4, pw4 = (x[:, None], dw[None], pw[None]) if n == 1 else (x, dw, pw)
    strides = [1, 1, s, 1] if n == 1 else [1, s, s, 1]
    dilations = [1, d] if n == 1 else [d, d]

    def separable():
        out = oracle.tf.nn.separable_conv2d(
            x4, dw4, pw4, strides, padding.upper(), dilations=dilations
        )
        return out.numpy()[:, 0] if n == 1 else out.numpy()

    ref = oracle("ref", separable, x, dw, pw)
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = C.separable_conv(xin, dw, pw, s, padding, d, fmt)
    assert_close(to_cl(ours) if fmt == "channels_first" else ours, ref)


@pytest.mark.parametrize(
    "layer,kwargs,shape",
    [
        ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same"), (2, 7, 6, 4)),
        ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=3, dilation_rate=2), (2, 8, 8, 4)),
        (
            "DepthwiseConv2D",
            dict(kernel_size=(3, 2), padding="same", data_format="channels_first"),
            (2, 4, 7, 6),
        ),
        ("DepthwiseConv1D", dict(kernel_size=3, padding="same", dilation_rate=2), (2, 9, 4)),
        ("DepthwiseConv1D", dict(kernel_size=4, strides=2, padding="same"), (2, 9, 4)),
    ],
)
def test_keras_depthwise_layers(oracle, rng, layer, kwargs, shape):
    fmt = kwargs.get("data_format", "channels_last")

    def keras_layer():
        made = getattr(oracle.tf_keras.layers, layer)(use_bias=False, **kwargs)
        made.build(shape)
        return made

    def attributes():
        made = keras_layer()
        return tuple(made.depthwise_kernel.shape), made.strides, made.padding, made.dilation_rate

    def output():
        made = keras_layer()
        made.set_weights([kernel])
        return made(x).numpy()

    x = rand(rng, *shape)
    kernel_shape, strides, padding, dilation_rate = oracle("attributes", attributes)
    kernel = rand(rng, *kernel_shape)
    ours = C.depthwise_conv(x, kernel, strides, padding, dilation_rate, fmt)
    assert_close(ours, oracle("output", output, x, kernel))


@pytest.mark.parametrize(
    "layer,kwargs,shape",
    [
        ("SeparableConv1D", dict(kernel_size=3, padding="causal", depth_multiplier=2), (2, 9, 3)),
        ("SeparableConv1D", dict(kernel_size=3, strides=2, padding="same"), (2, 9, 3)),
        ("SeparableConv2D", dict(kernel_size=3, strides=2, padding="same"), (2, 7, 6, 3)),
        ("SeparableConv2D", dict(kernel_size=3, dilation_rate=2, depth_multiplier=2), (2, 8, 9, 3)),
    ],
)
def test_keras_separable_layers(oracle, rng, layer, kwargs, shape):
    def keras_layer():
        made = getattr(oracle.tf_keras.layers, layer)(5, use_bias=False, **kwargs)
        made.build(shape)
        return made

    def attributes():
        made = keras_layer()
        dw_shape, pw_shape = tuple(made.depthwise_kernel.shape), tuple(made.pointwise_kernel.shape)
        return dw_shape, pw_shape, made.strides, made.padding, made.dilation_rate

    def output():
        made = keras_layer()
        made.set_weights([dw, pw])
        return made(x).numpy()

    x = rand(rng, *shape)
    dw_shape, pw_shape, strides, padding, dilation_rate = oracle("attributes", attributes)
    dw = rand(rng, *dw_shape)
    pw = rand(rng, *pw_shape)
    ours = C.separable_conv(x, dw, pw, strides, padding, dilation_rate)
    assert_close(ours, oracle("output", output, x, dw, pw))


def test_depthwise_and_separable_validation():
    x = np.zeros((1, 5, 5, 3), np.float32)
    with pytest.raises(ValueError):
        C.depthwise_conv(x, np.zeros((3, 3, 2, 1), np.float32))
    with pytest.raises(ValueError):
        C.separable_conv(x, np.zeros((3, 3, 3, 2), np.float32), np.zeros((1, 1, 5, 4), np.float32))
