"""Keras 3 functional models with operation nodes (keras.ops calls, the NotEqual mask node of
Embedding(mask_zero=True)) load in numkeras with Keras 3's outputs, and numkeras's own
ops-built models written in Keras 3 style load in Keras 3 with the same outputs."""

import numpy as np
import pytest
from tf_side import assert_close_outputs, keras3, random_weights, tf_outputs

import numkeras as nk


def _inputs():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 6)).astype(np.float32)
    ids = np.array([[0, 3, 0, 7], [1, 0, 2, 0]], np.int32)
    return x, ids


def _build(k, ops):
    x = k.Input((4, 6), name="x")
    ids = k.Input((4,), dtype="int32", name="ids")
    h = k.layers.Dense(6, name="dense")(x)
    a = ops.relu(h * 2.0 - 1.0) + x
    outs = [
        a[:, 1:, ::2], ops.mean(a, axis=-1, keepdims=True), ops.concatenate([a, x], axis=-1),
        ops.matmul(ops.softmax(a, axis=1), ops.transpose(x, (0, 2, 1))),
        ops.reshape(x, (-1, 24)), ops.where(x > 0, x, 0.1 * x), ops.hard_sigmoid(x),
        ops.einsum("bij,bkj->bik", x, h), ops.expand_dims(ops.sum(x, axis=1), 1),
        ops.take(x, [0, 2], axis=1), ops.cast(ops.greater(ids, 0), "float32"),
        ops.clip(x, -0.5, 0.5), ops.stack([x, -x], axis=1), ops.one_hot(ids % 5, 5),
        x[..., None, 0], ops.gelu(x), ops.log_softmax(x), ops.argmax(x, axis=-1),
    ]
    e = k.layers.Embedding(10, 3, mask_zero=True, name="emb")(ids)
    outs.append(k.layers.LSTM(2, name="lstm")(e))
    # Keras 3's hard_sigmoid is numkeras's keras3_hard_sigmoid (tf-keras's is another formula)
    hs = "keras3_hard_sigmoid" if k is nk else "hard_sigmoid"
    outs.append(k.layers.Dense(2, activation=hs, name="hs")(x))
    return k.Model([x, ids], outs)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_models_with_operation_nodes_load_with_same_outputs(tmp_path, suffix):
    k3 = keras3()
    model = _build(k3, k3.ops)
    model.set_weights(random_weights(model))
    x, ids = _inputs()
    expected = tf_outputs(model, [x, ids])
    path = str(tmp_path / f"k3{suffix}")
    model.save(path)
    nk.backend.clear_session()
    ours = nk.models.load_model(path)
    got = ours.predict([x, ids])
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert np.asarray(a).dtype == np.asarray(b).dtype, i
        assert_close_outputs(a, b)


def test_numkeras_ops_models_load_in_keras3(tmp_path):
    nk.backend.clear_session()
    ours = _build(nk, nk.ops)
    ours.set_weights(random_weights(ours))
    x, ids = _inputs()
    expected = ours.predict([x, ids])
    path = str(tmp_path / "nk.keras")
    ours.save(path)
    k3 = keras3()
    theirs = k3.models.load_model(path)
    got = tf_outputs(theirs, [x, ids])
    for a, b in zip(got, expected):
        assert_close_outputs(b, a)


def test_keras3_operation_nodes_convert_to_tf_keras_files(tmp_path):
    from tf_side import tf_keras

    k3 = keras3()
    ids = k3.Input((4,), dtype="int32", name="ids")
    x = k3.Input((4, 6), name="x")
    e = k3.layers.Embedding(10, 3, mask_zero=True, name="emb")(ids)
    h = k3.layers.LSTM(2, name="lstm")(e)
    y = k3.ops.relu(x) * 2.0 - k3.ops.abs(x)
    model = k3.Model([x, ids], [h, y[:, 1:, ::2], k3.ops.not_equal(ids, 1)])
    model.set_weights(random_weights(model))
    xs, idx = _inputs()
    expected = tf_outputs(model, [xs, idx])
    model.save(str(tmp_path / "k3.keras"))
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    ours.save(str(tmp_path / "tfk.h5"))
    k = tf_keras()
    theirs = k.models.load_model(str(tmp_path / "tfk.h5"))
    got = tf_outputs(theirs, [xs, idx])
    for a, b in zip(got, expected):
        assert_close_outputs(a, b)


def test_keras3_renamed_and_new_arguments_load(tmp_path):
    k3 = keras3()
    x = k3.Input((8, 8, 3))
    y = k3.layers.Resizing(6, 6, data_format="channels_last")(x)
    y = k3.layers.CenterCrop(4, 4)(y)
    y = k3.layers.Conv2D(2, 3)(y)
    y = k3.layers.LeakyReLU(negative_slope=0.1)(y)
    model = k3.Model(x, y)
    model.set_weights(random_weights(model))
    data = np.random.default_rng(3).normal(size=(2, 8, 8, 3)).astype(np.float32)
    expected = tf_outputs(model, data)
    model.save(str(tmp_path / "k3.keras"))
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    assert_close_outputs(ours.predict(data), expected)
    ours.save(str(tmp_path / "again.keras"))
    again = k3.models.load_model(str(tmp_path / "again.keras"))
    assert abs(float(again.layers[-1].negative_slope) - 0.1) < 1e-6
    assert_close_outputs(tf_outputs(again, data), expected)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_unsupported_keras3_operations_are_all_listed_with_their_layers(tmp_path, suffix):
    from numkeras.saving.serialization import UnknownClassError

    k3 = keras3()
    x = k3.Input((4,), name="x")
    outs = [k3.ops.sort(x), k3.ops.arctan(x), k3.ops.relu(x), k3.layers.Dense(2)(x)]
    path = str(tmp_path / f"bad{suffix}")
    k3.Model(x, outs).save(path)
    with pytest.raises(UnknownClassError) as err:
        nk.models.load_model(path)
    msg = str(err.value)
    assert msg.startswith(path) and msg.count(path) == 1
    for op, layer in (("Sort", "'sort'"), ("Arctan", "'arctan'")):
        assert op in msg and layer in msg
    assert "Relu" not in msg and "Dense" not in msg
