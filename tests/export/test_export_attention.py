"""EinsumDense and MultiHeadAttention: ONNX Runtime gives the NumPy engine's outputs."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy, randomize

from numkeras import Input, Model, layers

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c"), (3,)),
    (lambda: layers.EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d",
                                activation="relu"), (5, 3)),
    (lambda: layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4)), (5, 3)),
], ids=["dense", "sequence_bias_relu", "heads"])
def test_einsum_dense(make, shape):
    x = Input(shape)
    model = randomize(Model(x, make()(x)), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, *shape)).astype(np.float32))


def test_self_attention_with_scores():
    x = Input((6, 8))
    out, scores = layers.MultiHeadAttention(2, 4)(x, x, return_attention_scores=True)
    model = randomize(Model(x, [out, scores]), RNG)
    check_matches_numpy(model, RNG.normal(size=(2, 6, 8)).astype(np.float32))


def test_cross_attention_with_key_value_dim_and_no_bias():
    q, v, k = Input((4, 8)), Input((6, 5)), Input((6, 3))
    out = layers.MultiHeadAttention(3, 2, value_dim=4, use_bias=False, output_shape=7)(q, v, k)
    model = randomize(Model([q, v, k], out), RNG)
    data = [RNG.normal(size=s).astype(np.float32) for s in ((2, 4, 8), (2, 6, 5), (2, 6, 3))]
    check_matches_numpy(model, data)


def test_attention_over_two_axes():
    x = Input((3, 4, 6))
    out = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))(x, x)
    check_matches_numpy(randomize(Model(x, out), RNG), RNG.normal(size=(2, 3, 4, 6)).astype(
        np.float32))


def test_causal_and_explicit_masks():
    x, m = Input((5, 4)), Input((5, 5))
    mha = layers.MultiHeadAttention(2, 3)
    out = mha(x, x, attention_mask=m, use_causal_mask=True)
    model = randomize(Model([x, m], out), RNG)
    mask = (RNG.uniform(size=(2, 5, 5)) > 0.3).astype(np.float32)
    check_matches_numpy(model, [RNG.normal(size=(2, 5, 4)).astype(np.float32), mask])
