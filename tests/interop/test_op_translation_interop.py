"""Models with TF-op layers / Keras 3 operation nodes convert between the two file styles.

tf-keras 2.21 builds a model calling TF functions (reductions, shape functions, activations
with their TF argument names), saves it (.h5 and .keras); numkeras loads it with TF's outputs,
writes it in Keras 3 style, and Keras 3.15 loads that file and computes the same numbers with
the same dtypes. The other way: Keras 3 builds the same computations with ``keras.ops``,
numkeras loads the .keras file and writes tf-keras style (.h5 and .keras), which tf-keras
loads with Keras 3's outputs. Calls with no exact equivalent are refused, all in one error.
"""

import json
import zipfile

import numpy as np
import pytest
from tf_side import (
    assert_close_outputs,
    assert_same_weights,
    keras3,
    outputs_then_save,
    random_weights,
    tensorflow,
    tf_keras,
    tf_outputs,
    x_ids_dense,
)

import numkeras as nk
from numkeras.saving.keras_v3 import save_model


def _inputs():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 4, 6)).astype(np.float32)
    ids = np.array([[0, 3, 0, 7], [1, 0, 2, 0]], np.int32)
    return [x, ids]


def _same(got, expected):
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, (i, a.dtype, b.dtype)
        assert_close_outputs(a, b)


def _tf_keras_model():
    tf = tensorflow()
    k = tf_keras()
    x, ids, h = x_ids_dense(k, 4, 6)
    outs = [
        tf.math.reduce_mean(h, axis=-1, keepdims=True), tf.reduce_sum(x, [1, 2]),
        tf.math.reduce_max(x, 1), tf.math.reduce_min(x, -1), tf.math.reduce_prod(x, -1),
        tf.math.reduce_std(x, axis=[1, 2]), tf.math.reduce_variance(x, 1),
        tf.math.reduce_logsumexp(x, axis=-1), tf.math.reduce_any(x > 1.0, axis=-1),
        tf.compat.v1.reduce_sum(x, 1, keepdims=True),
        tf.reshape(x, (-1, 24)), tf.transpose(x, [0, 2, 1]), tf.concat([x, h], -1),
        tf.stack([x, -x], axis=1), tf.split(x, [2, 4], axis=-1)[1], tf.split(x, 3, -1)[0],
        tf.expand_dims(x, 1), tf.squeeze(x[:, :1], 1), tf.tile(x, [1, 2, 1]),
        tf.gather(x, ids % 4, axis=1), tf.gather(x, [1, 0]),
        tf.pad(x, [[0, 0], [1, 2], [0, 0]], mode="REFLECT"),
        tf.pad(x, [[0, 0], [1, 1], [0, 0]], constant_values=2.0),
        tf.cast(x > 0, tf.float32), tf.where(x > 0, x, 0.1 * x), tf.clip_by_value(x, -0.5, 0.5),
        tf.matmul(x, tf.transpose(h, [0, 2, 1])), x @ tf.transpose(h, [0, 2, 1]),
        tf.nn.softmax(x), tf.nn.log_softmax(x, axis=1), tf.nn.gelu(x),
        tf.nn.gelu(x, approximate=True), tf.nn.leaky_relu(x, alpha=0.1), tf.nn.silu(x),
        tf.nn.elu(x), tf.nn.selu(x), tf.nn.relu6(x), tf.nn.softplus(x), tf.nn.softsign(x),
        tf.one_hot(ids, 5), tf.math.cumsum(x, axis=1),
        tf.math.argmax(x, -1, output_type=tf.int32), tf.math.top_k(x, 2).values,
        tf.math.rsqrt(1.0 + x * x), tf.math.erf(x), tf.math.log1p(tf.abs(x)),
        tf.reverse(x, [1]), tf.roll(x, 1, axis=1), tf.repeat(x, 2, axis=1),
        # EfficientNet's include_preprocessing: a constant array operand
        tf.math.multiply(x, tf.reshape([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 1, 6])),
        tf.zeros_like(x) + tf.ones_like(x), tf.math.floormod(x, 0.7), x // 0.3, x / 3.0,
        tf.math.maximum(x, 0.2) - tf.math.minimum(x, 0.1), tf.math.pow(tf.abs(x), 2.0),
        tf.math.logical_and(x > 0, x < 1), tf.math.not_equal(ids, 0), tf.math.sign(x),
        tf.math.sigmoid(x) * tf.math.tanh(x), tf.math.exp(-x * x), tf.math.square(x),
        tf.math.floor(x) + tf.math.ceil(x) + tf.math.round(x), tf.nn.relu(x) ** 2,
        tf.math.reciprocal(x + 5.0), tf.math.sin(x) + tf.math.cos(x),
        tf.image.resize(tf.expand_dims(x, -1), (8, 9)),
        tf.image.resize(tf.expand_dims(x, -1), (3, 2), "nearest"),
    ]
    return k.Model([x, ids], outs), k


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_tf_keras_tf_functions_convert_to_keras3_files(tmp_path, suffix):
    model, _ = _tf_keras_model()
    inputs = _inputs()
    expected = outputs_then_save(model, inputs, str(tmp_path / f"tfk{suffix}"))
    nk.backend.clear_session()
    ours = nk.models.load_model(str(tmp_path / f"tfk{suffix}"))
    _same(ours.predict(inputs), expected)
    assert_same_weights(ours.get_weights(), model.get_weights())
    ours.save(str(tmp_path / "k3.keras"))
    with zipfile.ZipFile(tmp_path / "k3.keras") as z:
        layers = json.loads(z.read("config.json"))["config"]["layers"]
    assert not any(la["class_name"] in ("TFOpLambda", "SlicingOpLambda") for la in layers)
    theirs = keras3().models.load_model(str(tmp_path / "k3.keras"))
    _same(tf_outputs(theirs, inputs), expected)
    assert_same_weights([np.asarray(w) for w in theirs.get_weights()], model.get_weights())


def _keras3_model():
    k3 = keras3()
    ops = k3.ops
    x, ids, h = x_ids_dense(k3, 4, 6)
    outs = [
        ops.mean(h, axis=-1, keepdims=True), ops.sum(x, axis=[1, 2]), ops.max(x, axis=1),
        ops.min(x, axis=1), ops.prod(x, axis=-1), ops.std(x, axis=[1, 2]), ops.var(x, axis=1),
        ops.logsumexp(x, axis=-1), ops.any(x > 1.0, axis=-1), ops.all(x > -3.0, axis=-1),
        ops.reshape(x, (-1, 24)), ops.transpose(x, (0, 2, 1)), ops.concatenate([x, h], axis=-1),
        ops.stack([x, -x], axis=1), ops.split(x, [2], axis=-1)[1], ops.split(x, 3, axis=-1)[0],
        ops.expand_dims(x, 1), ops.squeeze(x[:, :1], 1), ops.tile(x, [1, 2, 1]),
        ops.take(x, ids % 4, axis=1), ops.pad(x, [[0, 0], [1, 2], [0, 0]], mode="reflect"),
        ops.pad(x, [[0, 0], [1, 1], [0, 0]], constant_values=2.0), ops.cast(x > 0, "float32"),
        ops.where(x > 0, x, 0.1 * x), ops.clip(x, -0.5, 0.5),
        ops.matmul(x, ops.transpose(h, (0, 2, 1))), ops.softmax(x), ops.log_softmax(x, axis=1),
        ops.gelu(x), ops.gelu(x, approximate=False), ops.leaky_relu(x, 0.1), ops.silu(x),
        ops.elu(x), ops.selu(x), ops.relu6(x), ops.softplus(x), ops.softsign(x),
        ops.one_hot(ids, 5), ops.cumsum(x, axis=1), ops.argmax(x, axis=-1),
        ops.argmin(x, axis=1), ops.top_k(x, 2)[0], ops.rsqrt(1.0 + x * x), ops.erf(x),
        ops.log1p(ops.abs(x)), ops.flip(x, axis=1), ops.roll(x, 1, axis=1),
        ops.repeat(x, 2, axis=1), ops.multiply(x, np.arange(6, dtype="float32").reshape(1, 1, 6)),
        ops.zeros_like(x) + ops.ones_like(x), ops.mod(x, 0.7), ops.floor_divide(x, 0.3),
        ops.true_divide(x, 3.0), ops.maximum(x, 0.2) - ops.minimum(x, 0.1),
        ops.power(ops.abs(x), 2.0), ops.logical_and(x > 0, x < 1), ops.logical_not(x > 0),
        ops.equal(ids, 0), ops.less_equal(x, 0.0), ops.sign(x), ops.negative(x),
        ops.sigmoid(x) * ops.tanh(x), ops.exp(-x * x), ops.square(x) - ops.sqrt(ops.abs(x)),
        ops.floor(x) + ops.ceil(x) + ops.round(x), ops.relu(x), ops.reciprocal(x + 5.0),
        ops.sin(x) + ops.cos(x), ops.log(ops.abs(x) + 1.0),
        k3.ops.image.resize(ops.expand_dims(x, -1), (8, 9)),
        k3.ops.image.resize(ops.expand_dims(x, -1), (3, 2), interpolation="nearest"),
    ]
    return k3.Model([x, ids], outs)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras3_operations_convert_to_tf_keras_files(tmp_path, suffix):
    model = _keras3_model()
    inputs = _inputs()
    expected = outputs_then_save(model, inputs, str(tmp_path / "k3.keras"))
    nk.backend.clear_session()
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    _same(ours.predict(inputs), expected)
    path = str(tmp_path / f"tfk{suffix}")
    if suffix == ".h5":
        ours.save(path)
    else:
        save_model(ours, path, style="tf_keras")
    theirs = tf_keras().models.load_model(path)
    _same(tf_outputs(theirs, inputs), expected)
    assert_same_weights([np.asarray(w) for w in theirs.get_weights()],
                        [np.asarray(w) for w in model.get_weights()])


def test_conversions_without_exact_equivalents_are_refused_in_one_error(tmp_path):
    tf = tensorflow()
    k = tf_keras()
    x = k.Input((4, 6), name="x")
    ids = k.Input((4,), dtype="int32", name="ids")
    model = k.Model([x, ids], [tf.math.reduce_mean(ids, axis=-1), tf.math.argmax(x, -1),
                               tf.math.squared_difference(x, 1.0), tf.nn.relu(x)])
    model.save(str(tmp_path / "tfk.h5"))
    ours = nk.models.load_model(str(tmp_path / "tfk.h5"))
    target = tmp_path / "k3.keras"
    target.write_bytes(b"the previous version")
    with pytest.raises(ValueError) as err:
        ours.save(str(target))
    msg = str(err.value)
    assert msg.startswith(str(target)) and "3 layer(s)" in msg
    for name in ("'tf.math.reduce_mean'", "'tf.math.argmax'", "'tf.math.squared_difference'"):
        assert name in msg
    assert "'tf.nn.relu'" not in msg and "output_type='int32'" in msg
    assert target.read_bytes() == b"the previous version"

    k3 = keras3()
    x = k3.Input((4, 6), name="x")
    ids = k3.Input((4,), dtype="int32", name="ids")
    model = k3.Model([x, ids], [k3.ops.mean(ids, axis=-1), k3.ops.take(x, ids),
                                k3.ops.hard_sigmoid(x), k3.ops.relu(x)])
    model.save(str(tmp_path / "k3.keras"))
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    with pytest.raises(ValueError) as err:
        ours.save(str(tmp_path / "tfk2.h5"))
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "tfk2.h5")) and "3 layer(s)" in msg
    for name in ("'mean'", "'take'", "'hard_sigmoid'"):
        assert name in msg
    assert "'relu'" not in msg
    assert not (tmp_path / "tfk2.h5").exists()


def test_numkeras_built_models_convert_to_the_other_style(tmp_path):
    """numkeras's own graphs: operators and TFOpLambda written in Keras 3 style load in
    Keras 3, and numkeras.ops (Keras 3 operations) written in tf-keras style load in tf-keras,
    with numkeras's outputs."""
    from numkeras import ops
    from numkeras.layers import TFOpLambda

    inputs = _inputs()
    nk.backend.clear_session()
    x, ids, h = x_ids_dense(nk, 4, 6)
    tf_style = nk.Model([x, ids], [
        TFOpLambda("nn.relu")(h * 2.0 - 1.0) + x, (x @ TFOpLambda("transpose")(h, [0, 2, 1])),
        TFOpLambda("math.reduce_mean")(x, axis=-1, keepdims=True), x[:, 1:, ::2],
        TFOpLambda("concat")([x, h], -1), TFOpLambda("compat.v1.gather")(x, ids % 4, axis=1),
        TFOpLambda("nn.softmax")(x), TFOpLambda("split")(x, [2, 4], axis=-1)[0],
        TFOpLambda("cast")(TFOpLambda("math.not_equal")(ids, 0), "float32"), abs(x) ** 2,
    ])
    tf_style.set_weights(random_weights(tf_style))
    expected = tf_style.predict(inputs)
    tf_style.save(str(tmp_path / "a.keras"))
    loaded = keras3().models.load_model(str(tmp_path / "a.keras"))
    _same(tf_outputs(loaded, inputs), expected)

    nk.backend.clear_session()
    x, ids, h = x_ids_dense(nk, 4, 6)
    k3_style = nk.Model([x, ids], [
        ops.relu(ops.multiply(h, 2.0)), ops.mean(x, axis=-1), ops.transpose(x, (0, 2, 1)),
        ops.take(x, ids % 4, axis=1), ops.pad(x, [[0, 0], [1, 1], [0, 0]], mode="symmetric"),
        ops.split(x, [2], axis=-1)[1], ops.clip(x, -0.5, 0.5), ops.gelu(x),
        ops.leaky_relu(x, 0.3), ops.one_hot(ids, 8), ops.tile(x, [1, 1, 2]),
    ])
    k3_style.set_weights(random_weights(k3_style))
    expected = k3_style.predict(inputs)
    k3_style.save(str(tmp_path / "b.h5"))
    loaded = tf_keras().models.load_model(str(tmp_path / "b.h5"))
    _same(tf_outputs(loaded, inputs), expected)
