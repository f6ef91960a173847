"""numkeras.ops.conv.conv_transpose against tf.nn.conv*_transpose and Keras layers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from numkeras.ops import conv as C

from ._tf import assert_close, rand, to_cf, to_cl

SPATIAL = {1: (7,), 2: (5, 4), 3: (4, 3, 5)}
KERNELS = {1: [(3,), (4,), (1,)], 2: [(3, 3), (2, 3)], 3: [(3, 2, 3), (2, 2, 2)]}
STRIDE_DILATION = [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), ((2, 1, 3), 1)]


def _tuple(value, n):
    return tuple(value[:n]) if isinstance(value, tuple) else (value,) * n


def tf_conv_transpose(tf, x, kernel, out_sp, strides, padding, dilation):
    """Reference channels_last transposed conv from ``tf.nn.conv_transpose``."""
    output_shape = (x.shape[0], *out_sp, kernel.shape[-2])
    return tf.nn.conv_transpose(
        x, kernel, output_shape, list(strides), padding.upper(), dilations=list(dilation)
    ).numpy()


def _cases():
    for n, (s, d), padding, out_pad, fmt in itertools.product(
        (1, 2, 3),
        STRIDE_DILATION,
        ("valid", "same"),
        (None, 0, 1),
        ("channels_last", "channels_first"),
    ):
        strides = _tuple(s, n)
        if out_pad is not None and out_pad >= min(strides):
            continue  # Keras requires output_padding < stride
        for k in KERNELS[n]:
            if _tf_accepts(SPATIAL[n], k, strides, _tuple(d, n), padding, out_pad):
                yield n, k, strides, _tuple(d, n), padding, out_pad, fmt


def _output_spatial(in_sp, ksize, strides, dilation, padding, out_pad):
    return [
        C.deconv_output_length(i, k, padding, out_pad, s, d)
        for i, k, s, d in zip(in_sp, ksize, strides, dilation)
    ]


def _tf_accepts(in_sp, ksize, strides, dilation, padding, out_pad):
    """False where Keras' length rule gives a shape that TF's op rejects."""
    out_sp = _output_spatial(in_sp, ksize, strides, dilation, padding, out_pad)
    return all(
        C.conv_output_length(o, k, padding, s, d) == i
        for o, i, k, s, d in zip(out_sp, in_sp, ksize, strides, dilation)
    )


@pytest.mark.parametrize("n,ksize,strides,dilation,padding,out_pad,fmt", list(_cases()))
def test_conv_transpose_matches_tf(oracle, rng, n, ksize, strides, dilation, padding, out_pad, fmt):
    x = rand(rng, 2, *SPATIAL[n], 3)
    kernel = rand(rng, *ksize, 4, 3)
    out_sp = _output_spatial(SPATIAL[n], ksize, strides, dilation, padding, out_pad)
    ref = oracle(
        "ref",
        lambda: tf_conv_transpose(oracle.tf, x, kernel, out_sp, strides, padding, dilation),
        x,
        kernel,
    )
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = C.conv_transpose(xin, kernel, None, strides, padding, out_pad, dilation, fmt)
    assert_close(to_cl(ours) if fmt == "channels_first" else ours, ref)
    explicit = C.conv_transpose(x, kernel, out_sp, strides, padding, None, dilation)
    assert_close(explicit, ref)


@pytest.mark.parametrize(
    "layer,kwargs,shape",
    [
        ("Conv1DTranspose", dict(kernel_size=3, strides=2, padding="same"), (2, 6, 3)),
        ("Conv1DTranspose", dict(kernel_size=3, dilation_rate=2, padding="valid"), (2, 6, 3)),
        ("Conv2DTranspose", dict(kernel_size=3, strides=2, padding="same"), (2, 5, 4, 3)),
        (
            "Conv2DTranspose",
            dict(kernel_size=(3, 4), strides=(3, 2), padding="valid", output_padding=(1, 1)),
            (2, 5, 4, 3),
        ),
        ("Conv2DTranspose", dict(kernel_size=3, dilation_rate=2, padding="same"), (2, 5, 6, 3)),
        ("Conv2DTranspose", dict(kernel_size=2, dilation_rate=3, padding="valid"), (1, 4, 5, 3)),
        (
            "Conv2DTranspose",
            dict(kernel_size=3, strides=2, padding="same", data_format="channels_first"),
            (2, 3, 5, 4),
        ),
        ("Conv3DTranspose", dict(kernel_size=3, strides=2, padding="same"), (1, 3, 4, 3, 2)),
        (
            "Conv3DTranspose",
            dict(kernel_size=2, strides=(1, 2, 3), padding="valid", output_padding=(0, 1, 2)),
            (1, 3, 4, 3, 2),
        ),
    ],
)
def test_keras_conv_transpose_layers(oracle, rng, layer, kwargs, shape):
    def keras_layer():
        made = getattr(oracle.tf_keras.layers, layer)(5, use_bias=False, **kwargs)
        made.build(shape)
        return made

    def attributes():
        made = keras_layer()
        shape = tuple(made.kernel.shape)
        return shape, made.strides, made.padding, made.output_padding, made.dilation_rate

    def output():
        made = keras_layer()
        made.set_weights([kernel])
        return made(x).numpy()

    x = rand(rng, *shape)
    kernel_shape, strides, padding, output_padding, dilation_rate = oracle("attributes", attributes)
    kernel = rand(rng, *kernel_shape)
    ours = C.conv_transpose(
        x,
        kernel,
        None,
        strides,
        padding,
        output_padding,
        dilation_rate,
        kwargs.get("data_format", "channels_last"),
    )
    assert_close(ours, oracle("output", output, x, kernel))


@pytest.mark.parametrize("padding", ["valid", "same", "full"])
@pytest.mark.parametrize("out_pad", [None, 0, 1])
@pytest.mark.parametrize("length,k,stride,dilation", [(5, 3, 2, 1), (4, 4, 3, 1), (6, 3, 1, 2)])
def test_deconv_output_length_matches_keras(
    oracle, padding, out_pad, length, k, stride, dilation
):
    def keras_length():
        from tf_keras.src.utils import conv_utils

        return conv_utils.deconv_output_length(length, k, padding, out_pad, stride, dilation)

    expected = oracle("length", keras_length)
    assert C.deconv_output_length(length, k, padding, out_pad, stride, dilation) == expected


def test_conv_transpose_rejects_inconsistent_output_shape():
    x = np.zeros((1, 4, 2), np.float32)
    kernel = np.zeros((3, 5, 2), np.float32)
    with pytest.raises(ValueError):
        C.conv_transpose(x, kernel, output_shape=12, strides=2, padding="same")
    with pytest.raises(ValueError):
        C.conv_transpose(x, np.zeros((3, 5, 3), np.float32))
    assert C.conv_transpose(x, kernel, output_shape=7, strides=2, padding="same").shape == (1, 7, 5)
