"""numkeras.ops.pooling against tf.nn.max_pool / tf.nn.avg_pool and Keras global pools."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from numkeras.ops import pooling as P

from ._tf import assert_close, rand, to_cf, to_cl

SPATIAL = {1: (11,), 2: (9, 8), 3: (7, 6, 5)}
POOLS = [(2, None), (3, None), (2, 1), (3, 2), ("asym", None), ("asym", (1, 2, 3))]


def _tuple(value, n):
    if value is None:
        return None
    if value == "asym":
        return (3, 2, 1)[:n]
    return tuple(value[:n]) if isinstance(value, tuple) else (value,) * n


def _cases():
    for n, (pool, strides), padding, fmt, kind in itertools.product(
        (1, 2, 3),
        POOLS,
        ("valid", "same"),
        ("channels_last", "channels_first"),
        ("max", "avg"),
    ):
        yield n, _tuple(pool, n), _tuple(strides, n), padding, fmt, kind


@pytest.mark.parametrize("n,pool,strides,padding,fmt,kind", list(_cases()))
def test_pool_matches_tf(oracle, rng, n, pool, strides, padding, fmt, kind):
    x = rand(rng, 2, *SPATIAL[n], 3, scale=3.0)

    def tf_pool():
        tf_op = oracle.tf.nn.max_pool if kind == "max" else oracle.tf.nn.avg_pool
        return tf_op(x, list(pool), list(strides or pool), padding.upper()).numpy()

    ref = oracle("ref", tf_pool, x)
    ours_op = P.max_pool if kind == "max" else P.avg_pool
    xin = to_cf(x) if fmt == "channels_first" else x
    ours = ours_op(xin, pool, strides, padding, fmt)
    assert_close(to_cl(ours) if fmt == "channels_first" else ours, ref)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_with_negative_values_and_big_window(oracle, rng, kind):
    x = rand(rng, 1, 14, 14, 4) - 5.0  # all-negative: padded zeros must never win a max

    def tf_pool():
        tf_op = oracle.tf.nn.max_pool if kind == "max" else oracle.tf.nn.avg_pool
        return tf_op(x, [5, 5], [3, 3], "SAME").numpy()

    ref = oracle("ref", tf_pool, x)
    ours = (P.max_pool if kind == "max" else P.avg_pool)(x, 5, 3, "same")
    assert_close(ours, ref)


@pytest.mark.parametrize(
    "layer,kwargs,shape",
    [
        ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 10, 3)),
        ("AveragePooling1D", dict(pool_size=2, padding="valid"), (2, 9, 3)),
        ("MaxPooling2D", dict(pool_size=(3, 2), padding="same"), (2, 7, 5, 3)),
        ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 7, 3)),
        ("AveragePooling3D", dict(pool_size=2, padding="same"), (1, 5, 4, 3, 2)),
        ("MaxPooling3D", dict(pool_size=(2, 3, 2), strides=1), (1, 5, 4, 3, 2)),
    ],
)
def test_keras_pool_layers(oracle, rng, layer, kwargs, shape):
    def attributes():
        made = getattr(oracle.tf_keras.layers, layer)(**kwargs)
        return made.pool_size, made.strides, made.padding

    def output():
        return getattr(oracle.tf_keras.layers, layer)(**kwargs)(x).numpy()

    x = rand(rng, *shape)
    op = P.max_pool if layer.startswith("Max") else P.avg_pool
    ours = op(x, *oracle("attributes", attributes))
    assert_close(ours, oracle("output", output, x))


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools(oracle, rng, n, fmt, keepdims):
    x = rand(rng, 2, *SPATIAL[n], 3, scale=2.0)
    axes = list(range(1, n + 1))
    ref_avg = oracle("avg", lambda: oracle.tf.reduce_mean(x, axis=axes, keepdims=keepdims), x)
    ref_max = oracle("max", lambda: oracle.tf.reduce_max(x, axis=axes, keepdims=keepdims), x)
    xin = to_cf(x) if fmt == "channels_first" else x
    avg = P.global_avg_pool(xin, fmt, keepdims)
    mx = P.global_max_pool(xin, fmt, keepdims)
    if keepdims and fmt == "channels_first":
        avg, mx = to_cl(avg), to_cl(mx)
    assert_close(avg, ref_avg)
    assert_close(mx, ref_max)


def test_global_avg_pool_large_spatial(oracle, rng):
    x = rand(rng, 2, 128, 128, 4) + 3.0
    ref = oracle("ref", lambda: oracle.tf.reduce_mean(x, axis=[1, 2]), x)
    assert_close(P.global_avg_pool(x), ref)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_masked_global_average_pooling_1d(oracle, rng, fmt, keepdims):
    x = rand(rng, 3, 7, 4)
    if fmt == "channels_first":
        x = to_cf(x)
    mask = rng.random((3, 7)) > 0.4
    mask[:, 0] = True

    def keras_pool():
        layer = oracle.tf_keras.layers.GlobalAveragePooling1D(data_format=fmt, keepdims=keepdims)
        return layer(x, mask=mask).numpy()

    ref = oracle("ref", keras_pool, x, mask)
    assert_close(P.global_avg_pool(x, fmt, keepdims, mask=mask), ref)


def test_pool_validation():
    x = np.zeros((1, 3, 3, 2), np.float32)
    with pytest.raises(ValueError):
        P.max_pool(x, 4)  # window larger than the input
    with pytest.raises(ValueError):
        P.avg_pool(x, 2, padding="causal")
    with pytest.raises(ValueError):
        P.global_max_pool(np.zeros((3, 2), np.float32))
