"""numkeras.ops.nn activations and normalisation maths against TensorFlow / tf_keras."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras.ops import nn

from ._tf import assert_close, rand


@pytest.fixture
def x(rng) -> np.ndarray:
    """Normal samples plus edge values: tiny, large, zero and both signs."""
    edges = [0.0, -0.0, 1e-7, -1e-7, 1e-3, -1e-3, 5.0, -5.0, 15.0, -15.0, 30.0, -30.0, 80.0, -80.0]
    return np.concatenate([rand(rng, 4000, scale=4.0), np.array(edges, np.float32)])


SIMPLE = {
    "relu": lambda tf, k: tf.nn.relu,
    "relu6": lambda tf, k: tf.nn.relu6,
    "elu": lambda tf, k: tf.nn.elu,
    "selu": lambda tf, k: tf.nn.selu,
    "softplus": lambda tf, k: tf.math.softplus,
    "softsign": lambda tf, k: tf.nn.softsign,
    "sigmoid": lambda tf, k: tf.sigmoid,
    "swish": lambda tf, k: tf.nn.silu,
    "silu": lambda tf, k: tf.nn.silu,
    "tanh": lambda tf, k: tf.tanh,
    "erf": lambda tf, k: tf.math.erf,
    "erfc": lambda tf, k: tf.math.erfc,
    "linear": lambda tf, k: k.activations.linear,
    "hard_sigmoid": lambda tf, k: k.activations.hard_sigmoid,
    "mish": lambda tf, k: k.activations.mish,
}


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_activation_matches_tf(oracle, x, name):
    def activation():
        tf = oracle.tf
        return SIMPLE[name](tf, oracle.tf_keras)(tf.constant(x)).numpy()

    ref = oracle("ref", activation, x)
    assert_close(getattr(nn, name)(x), ref)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu(oracle, x, approximate):
    ref = oracle("tf", lambda: oracle.tf.nn.gelu(x, approximate=approximate), x)
    assert_close(nn.gelu(x, approximate=approximate), ref)
    keras_ref = oracle(
        "keras", lambda: oracle.tf_keras.activations.gelu(x, approximate=approximate), x
    )
    assert_close(nn.gelu(x, approximate=approximate), keras_ref)


def test_exponential(oracle, x):
    xs = np.clip(x, -20, 20)
    assert_close(nn.exponential(xs), oracle("ref", lambda: oracle.tf.exp(xs), xs))


@pytest.mark.parametrize("alpha", [0.0, 0.2, 0.3, 1.7])
def test_leaky_relu(oracle, x, alpha):
    ref = oracle("ref", lambda: oracle.tf.nn.leaky_relu(x, alpha=alpha), x)
    assert_close(nn.leaky_relu(x, alpha), ref)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_elu_alpha(oracle, x, alpha):
    ref = oracle("ref", lambda: oracle.tf_keras.activations.elu(x, alpha=alpha), x)
    assert_close(nn.elu(x, alpha), ref)


@pytest.mark.parametrize(
    "alpha,max_value,threshold",
    [
        (0.0, None, 0.0),
        (0.1, None, 0.0),
        (0.0, 6.0, 0.0),
        (0.0, 2.5, 0.0),
        (0.0, None, 1.5),
        (0.2, 4.0, 0.0),
        (0.3, 6.0, 0.0),
        (0.2, None, -1.0),
        (0.1, 3.0, 0.5),
    ],
)
def test_relu_options_match_keras_backend(oracle, x, alpha, max_value, threshold):
    def keras_relu():
        backend = oracle.tf_keras.backend
        return backend.relu(x, alpha=alpha, max_value=max_value, threshold=threshold)

    ref = oracle("ref", keras_relu, x)
    assert_close(nn.relu(x, alpha, max_value, threshold), ref)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2, (1, 2), (0, 2)])
def test_softmax_family(oracle, rng, axis):
    logits = rand(rng, 3, 5, 7, scale=6.0)
    if isinstance(axis, int):
        ref = oracle("softmax", lambda: oracle.tf.nn.softmax(logits, axis=axis), logits)
        assert_close(nn.softmax(logits, axis), ref)
        ref = oracle("log_softmax", lambda: oracle.tf.nn.log_softmax(logits, axis=axis), logits)
        assert_close(nn.log_softmax(logits, axis), ref)

    def keras_softmax():
        return oracle.tf_keras.activations.softmax(oracle.tf.constant(logits), axis)

    assert_close(nn.softmax(logits, axis), oracle("keras_softmax", keras_softmax, logits))
    ref = oracle("logsumexp", lambda: oracle.tf.reduce_logsumexp(logits, axis=axis), logits)
    assert_close(nn.logsumexp(logits, axis), ref)
    ref = oracle(
        "logsumexp_keepdims",
        lambda: oracle.tf.reduce_logsumexp(logits, axis=axis, keepdims=True),
        logits,
    )
    assert_close(nn.logsumexp(logits, axis, keepdims=True), ref)


def test_softmax_extreme_logits(oracle):
    logits = np.array([[1000.0, -1000.0, 0.0], [-np.inf, 0.0, 1.0]], np.float32)
    assert_close(nn.softmax(logits), oracle("softmax", lambda: oracle.tf.nn.softmax(logits), logits))
    ref = oracle("logsumexp", lambda: oracle.tf.reduce_logsumexp(logits, axis=-1), logits)
    assert_close(nn.logsumexp(logits, -1), ref)


@pytest.mark.parametrize("axes", [[0], [1, 2], [0, 1, 2], [3], [-1]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_moments(oracle, rng, axes, keepdims):
    data = rand(rng, 4, 9, 7, 5, scale=3.0) + 2.0

    def tf_moments():
        mean, var = oracle.tf.nn.moments(data, axes=axes, keepdims=keepdims)
        return mean.numpy(), var.numpy()

    ref_mean, ref_var = oracle("moments", tf_moments, data)
    mean, var = nn.moments(data, axes, keepdims)
    assert_close(mean, ref_mean)
    assert_close(var, ref_var)


@pytest.mark.parametrize("with_offset,with_scale", [(True, True), (False, True), (True, False)])
def test_batch_normalization(oracle, rng, with_offset, with_scale):
    data = rand(rng, 4, 6, 5, 8, scale=3.0)
    mean, var = rand(rng, 8), np.abs(rand(rng, 8)) + 0.1
    offset = rand(rng, 8) if with_offset else None
    scale = rand(rng, 8) if with_scale else None
    ref = oracle(
        "ref",
        lambda: oracle.tf.nn.batch_normalization(data, mean, var, offset, scale, 1e-3),
        data, mean, var, offset, scale,
    )
    assert_close(nn.batch_normalization(data, mean, var, offset, scale, 1e-3), ref)


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_fused_batch_norm(oracle, rng, fmt):
    data = rand(rng, 3, 6, 5, 7, scale=3.0)
    mean, var = rand(rng, 7), np.abs(rand(rng, 7)) + 0.05
    offset, scale = rand(rng, 7), rand(rng, 7)
    if fmt == "NCHW":
        data = np.ascontiguousarray(np.moveaxis(data, -1, 1))

    def fused():
        out, _, _ = oracle.tf.compat.v1.nn.fused_batch_norm(
            data, scale, offset, mean, var, epsilon=1e-3, data_format=fmt, is_training=False
        )
        return out.numpy()

    ref = oracle("ref", fused, data, mean, var, offset, scale)
    axis = -1 if fmt == "NHWC" else 1
    assert_close(nn.fused_batch_norm(data, mean, var, offset, scale, 1e-3, axis), ref)


@pytest.mark.parametrize("shape,axis", [((3, 6, 5, 7), -1), ((3, 7, 6, 5), 1), ((4, 9, 6), -1)])
def test_keras_batch_normalization_layer(oracle, rng, shape, axis):
    data = rand(rng, *shape, scale=3.0)
    c = shape[axis]
    gamma, beta, mean = rand(rng, c), rand(rng, c), rand(rng, c)
    var = np.abs(rand(rng, c)) + 0.05

    def keras_bn():
        layer = oracle.tf_keras.layers.BatchNormalization(axis=axis, epsilon=1e-3)
        layer.build(data.shape)
        layer.set_weights([gamma, beta, mean, var])
        return layer(data, training=False).numpy()

    ref = oracle("ref", keras_bn, data, gamma, beta, mean, var)
    assert_close(nn.fused_batch_norm(data, mean, var, beta, gamma, 1e-3, axis), ref)
    bshape = [1] * len(shape)
    bshape[axis] = c
    b = [p.reshape(bshape) for p in (mean, var, beta, gamma)]
    assert_close(nn.batch_normalization(data, *b, 1e-3), ref)


@pytest.mark.parametrize("layout", ["rank4", "rank3", "rank2", "strided", "inplace"])
@pytest.mark.parametrize("params", ["both", "scale", "offset"])
def test_channel_affine(oracle, rng, layout, params):
    """``x * scale + offset`` over the channel axis as ``tf.nn.batch_normalization``
    computes it with mean 0, variance 1 and epsilon 0."""
    shape = {"rank3": (4, 9, 6), "rank2": (5, 6)}.get(layout, (3, 5, 7, 6))
    data = rand(rng, *shape, scale=3.0)
    if layout == "strided":
        data = rand(rng, 3, 7, 5, 6).transpose(0, 2, 1, 3)
    scale = rand(rng, 6) if params != "offset" else None
    offset = rand(rng, 6) if params != "scale" else None
    ref = oracle(
        "ref",
        lambda: oracle.tf.nn.batch_normalization(data, 0.0, 1.0, offset, scale, 0.0),
        data, scale, offset,
    )
    work = data.copy() if layout == "inplace" else data
    out = nn.channel_affine(work, scale, offset, out=work if layout == "inplace" else None)
    assert_close(out, ref)
    if layout == "inplace":
        assert np.shares_memory(out, work)
        assert_close(work, ref)
    else:
        assert not np.shares_memory(out, data)


@pytest.mark.parametrize(
    "equation,shapes",
    [
        ("ab,bc->ac", [(5, 7), (7, 3)]),
        ("abc,cd->abd", [(2, 5, 7), (7, 4)]),
        ("abcd,aecd->acbe", [(2, 5, 3, 4), (2, 6, 3, 4)]),
        ("abc,dc->abd", [(2, 5, 7), (4, 7)]),
        ("ij->ji", [(3, 4)]),
    ],
)
def test_einsum(oracle, rng, equation, shapes):
    operands = [rand(rng, *s) for s in shapes]
    ref = oracle("ref", lambda: oracle.tf.einsum(equation, *operands), *operands)
    assert_close(nn.einsum(equation, *operands), ref)


def test_float32_preserved_and_lists_accepted():
    for fn in (nn.relu, nn.gelu, nn.softplus, nn.sigmoid, nn.softmax, nn.hard_sigmoid):
        assert fn(np.array([0.5, -1.0], np.float32)).dtype == np.float32
        assert fn([0.5, -1.0]).dtype == np.float32
    assert nn.erf(np.array([0.5], np.float64)).dtype == np.float64
