"""Functional models that call TF functions (TFOpLambda / SlicingOpLambda layers).

tf-keras 2.21 builds and saves them (.h5 and .keras), numkeras loads them with the same
outputs; numkeras builds the same graphs with operators and TFOpLambda, saves them in
tf-keras style, and tf-keras loads them with the same outputs.
"""

import json

import numpy as np
import pytest
from tf_side import (
    assert_close_outputs,
    outputs_then_save,
    random_weights,
    tensorflow,
    tf_keras,
    tf_outputs,
    x_ids_dense,
)

import numkeras as nk
from numkeras.saving.serialization import UnknownClassError


def _tf_model():
    tf = tensorflow()
    k = tf_keras()
    x, ids, h = x_ids_dense(k, 4, 3)
    a = tf.nn.relu(h * 2.0 - 1.0) + x
    b = a[:, 1:, ::2]
    c = tf.reduce_mean(a, axis=-1, keepdims=True)
    d = tf.concat([a, c], -1)
    e = tf.nn.softmax(d, axis=1)[:, :, :3] @ tf.transpose(x, [0, 2, 1])
    f = tf.reshape(x, (-1, 12))
    g = tf.split(x, 2, axis=1)[1]
    m = tf.cast(tf.math.not_equal(ids, 0), "float32")[:, :, None] * x
    n = tf.where(x > 0, x, 0.1 * x)
    o = tf.clip_by_value(tf.expand_dims(x, 1), -0.5, 0.5)
    p = tf.stack([x, -x], axis=1)
    q = tf.gather(x, [0, 2], axis=1)
    r = tf.pad(x, [[0, 0], [1, 1], [0, 0]])
    s = tf.tile(x[:, :1], [1, 3, 1])
    t = tf.reshape(x, (tf.shape(x)[0], -1))
    u = tf.matmul(x, h, transpose_b=True)
    v = tf.squeeze(x[:, :1], 1)
    w = 2.0 / (1.0 + abs(x)) ** 2
    z = tf.nn.gelu(x) + tf.math.sigmoid(x) + tf.nn.log_softmax(x) + tf.math.rsqrt(1.0 + x * x)
    outs = [b, e, f, g, m, n, o, p, q, r, s, t, u, v, w, z, tf.reduce_sum(x, [1, 2]),
            tf.math.reduce_max(x, 1), tf.one_hot(ids % 5, 5), x[..., tf.newaxis, 0], x[0]]
    return k.Model([x, ids], outs), k


def _inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    ids = np.array([[0, 3, 0, 7], [1, 0, 2, 0]], np.int32)
    return x, ids


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_tf_keras_models_with_tf_functions_load_with_same_outputs(tmp_path, suffix):
    model, _ = _tf_model()
    if suffix == ".keras":  # tf-keras's .keras writer cannot store Ellipsis: drop that output
        model = type(model)(model.inputs, model.outputs[:-2] + model.outputs[-1:])
    x, ids = _inputs()
    path = str(tmp_path / f"m{suffix}")
    expected = outputs_then_save(model, [x, ids], path)
    nk.backend.clear_session()
    ours = nk.models.load_model(path)
    got = ours.predict([x, ids])
    assert [la.name for la in ours.layers] == [la.name for la in model.layers]
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert np.asarray(a).dtype == np.asarray(b).dtype, i
        assert_close_outputs(a, b)


def _nk_model():
    from numkeras.layers import TFOpLambda

    x = nk.Input((4, 3), name="x")
    h = nk.layers.Dense(3, name="dense")(x)
    a = TFOpLambda("nn.relu")(h * 2.0 - 1.0) + x
    c = TFOpLambda("math.reduce_mean")(a, axis=-1, keepdims=True)
    d = TFOpLambda("concat")([a, c], -1)
    e = TFOpLambda("nn.softmax")(d, axis=1)[:, :, :3] @ TFOpLambda("compat.v1.transpose")(x, [0, 2, 1])
    t = TFOpLambda("reshape")(x, (TFOpLambda("compat.v1.shape")(x)[0], -1))
    parts = TFOpLambda("split")(x, 2, axis=1)
    one = TFOpLambda("stack")([x], axis=1)
    return nk.Model(x, [a[:, 1:, ::2], e, t, parts[1], one, 2 * x, x[..., None, 0], 1 - x])


def test_numkeras_tf_op_models_load_in_tf_keras(tmp_path):
    nk.backend.clear_session()
    ours = _nk_model()
    ours.set_weights(random_weights(ours))
    x, _ = _inputs()
    expected = ours.predict(x)
    k = tf_keras()
    theirs = k.models.model_from_json(ours.to_json())
    theirs.set_weights(ours.get_weights())
    for a, b in zip(tf_outputs(theirs, x), expected):
        assert_close_outputs(b, a)
    ok = type(ours)(ours.inputs, ours.outputs[:6] + ours.outputs[7:])  # no Ellipsis in .keras
    from numkeras.saving.keras_v3 import save_model

    save_model(ok, str(tmp_path / "m.keras"), style="tf_keras")
    loaded = k.models.load_model(str(tmp_path / "m.keras"))
    for a, b in zip(tf_outputs(loaded, x), ok.predict(x)):
        assert_close_outputs(b, a)
    ours.save(str(tmp_path / "m.h5"))  # full-model HDF5 (tf-keras's legacy config)
    loaded = k.models.load_model(str(tmp_path / "m.h5"))
    for a, b in zip(tf_outputs(loaded, x), expected):
        assert_close_outputs(b, a)


def test_unsupported_tf_functions_are_all_listed_with_their_layers(tmp_path):
    tf = tensorflow()
    k = tf_keras()
    x = k.Input((3,))
    y = tf.math.lgamma(tf.math.abs(x) + 1.0) + tf.math.bessel_i0e(x) + tf.nn.relu(x)
    path = str(tmp_path / "bad.h5")
    k.Model(x, y).save(path)
    config = json.loads(__import__("h5py").File(path)["/"].attrs["model_config"])
    fns = {la["config"].get("function") for la in config["config"]["layers"]}
    assert {"math.lgamma", "math.bessel_i0e"} <= fns
    with pytest.raises(UnknownClassError) as err:
        nk.models.load_model(path)
    msg = str(err.value)
    assert msg.startswith(path)
    assert "tf.math.lgamma" in msg and "tf.math.bessel_i0e" in msg
    assert "'tf.math.lgamma'" in msg  # the layer's name
    assert "nn.relu" not in msg
