"""Layer basics: naming, building, get/set_weights and their errors."""

import numpy as np
import pytest

import numkeras as keras
from numkeras import backend, layers


def test_auto_names_are_unique_per_session_and_reset_by_clear_session():
    names = [layers.Dense(1).name, layers.Dense(1).name, layers.Conv2D(1, 1).name
             if hasattr(layers, "Conv2D") else "conv2d", layers.BatchNormalization().name]
    assert names == ["dense", "dense_1", "conv2d", "batch_normalization"]
    backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_explicit_name_does_not_reserve_it():
    assert layers.Dense(1, name="dense").name == "dense"
    assert layers.Dense(1).name == "dense"


def test_snake_case_of_class_names():
    cases = {"Dense": "dense", "Conv2DTranspose": "conv2d_transpose", "PReLU": "p_re_lu",
             "GlobalAveragePooling1D": "global_average_pooling1d", "SimpleRNN": "simple_rnn",
             "MultiHeadAttention": "multi_head_attention", "LSTM": "lstm"}
    assert {k: backend.to_snake_case(k) for k in cases} == cases


def test_unbuilt_layer_has_no_weights_and_set_weights_says_to_build_it():
    dense = layers.Dense(2)
    assert dense.get_weights() == []
    with pytest.raises(ValueError, match='Layer "dense" has not been built yet'):
        dense.set_weights([np.zeros((3, 2)), np.zeros(2)])


def test_set_weights_count_mismatch_message():
    dense = layers.Dense(2)
    dense(np.ones((1, 3)))
    with pytest.raises(ValueError) as err:
        dense.set_weights([np.zeros((3, 2))])
    assert str(err.value).startswith(
        'You called `set_weights(weights)` on layer "dense" with a weight list of length 1, '
        "but the layer was expecting 2 weights. Provided weights: [array([[0., 0.],")


def test_set_weights_shape_mismatch_changes_nothing():
    dense = layers.Dense(2, kernel_initializer="ones")
    dense(np.ones((1, 3)))
    before = dense.get_weights()
    with pytest.raises(ValueError, match=r"Layer dense weight shape \(2,\) is not compatible "
                                         r"with provided weight shape \(3,\)\."):
        dense.set_weights([np.full((3, 2), 7.0), np.zeros(3)])
    for a, b in zip(dense.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_set_weights_casts_to_variable_dtype_and_copies():
    dense = layers.Dense(1)
    dense(np.ones((1, 2)))
    kernel = np.array([[1.5], [2.5]], dtype=np.float64)
    dense.set_weights([kernel, np.zeros(1)])
    out = dense.get_weights()
    assert out[0].dtype == np.float32
    kernel[0, 0] = 100.0
    out[0][1, 0] = 100.0
    np.testing.assert_array_equal(dense.get_weights()[0], [[1.5], [2.5]])


def test_dense_on_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match='layer "dense".*expected min_ndim=2, found ndim=1'):
        layers.Dense(2)(np.ones(3))


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="Keyword argument not understood by Dense"):
        layers.Dense(2, kernal_initializer="ones")


def test_trainable_setter_moves_weights_and_recurses():
    bn = layers.BatchNormalization()
    bn(np.ones((2, 3)))
    assert [w.name for w in bn.trainable_weights] == ["batch_normalization/gamma:0",
                                                      "batch_normalization/beta:0"]
    bn.trainable = False
    assert bn.trainable_weights == []
    assert [w.name.split("/")[-1] for w in bn.non_trainable_weights] == [
        "gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]


def test_count_params_and_unbuilt_error():
    dense = layers.Dense(4)
    with pytest.raises(ValueError, match="isn't built"):
        dense.count_params()
    dense(np.ones((1, 3)))
    assert dense.count_params() == 16


def test_weights_kwarg_sets_initial_weights():
    kernel = np.arange(6, dtype="float32").reshape(3, 2)
    dense = layers.Dense(2, weights=[kernel, np.ones(2, "float32")])
    np.testing.assert_array_equal(dense(np.eye(3, dtype="float32")), kernel + 1)


def test_embedding_mask_propagates_to_mask_consumers():
    emb = layers.Embedding(5, 2, mask_zero=True)
    out = emb(np.array([[1, 0, 3]]))
    np.testing.assert_array_equal(out._keras_mask, [[True, False, True]])


def test_convert_to_tensor_defaults_like_tensorflow():
    assert keras.convert_to_tensor([[1.0, 2.0]]).dtype == np.float32
    assert keras.convert_to_tensor([1, 2]).dtype == np.int32
    assert keras.convert_to_tensor(np.zeros(2)).dtype == np.float64
