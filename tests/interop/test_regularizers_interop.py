"""``numkeras.regularizers`` / ``numkeras.constraints`` against tf-keras 2.21: same penalties,
same projections, same configs inside layer configs."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import tensorflow, tf_keras

import numkeras as nk

W = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")

REGULARIZERS = [
    ("L1", {"l1": 0.3}), ("L2", {"l2": 0.1}), ("L1L2", {"l1": 0.01, "l2": 0.02}),
    ("L1L2", {}), ("OrthogonalRegularizer", {"factor": 0.5}),
    ("OrthogonalRegularizer", {"mode": "columns"}),
]
CONSTRAINTS = [
    ("MaxNorm", {"max_value": 1.0}), ("MaxNorm", {"max_value": 0.5, "axis": 1}),
    ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": 1}),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.2, "rate": 0.7}),
]


@pytest.mark.parametrize("name, kwargs", REGULARIZERS)
def test_regularizer_penalty_and_config_match_tf_keras(name, kwargs):
    tfk = tf_keras()
    theirs = getattr(tfk.regularizers, name)(**kwargs)
    ours = getattr(nk.regularizers, name)(**kwargs)
    np.testing.assert_allclose(ours(W), float(theirs(tensorflow().constant(W))), rtol=1e-5)
    assert ours.get_config() == theirs.get_config()
    assert nk.regularizers.serialize(ours) == tfk.regularizers.serialize(theirs)


@pytest.mark.parametrize("name", ["l1", "l2", "l1_l2"])
def test_regularizer_strings_mean_what_they_mean_in_tf_keras(name):
    tfk = tf_keras()
    theirs, ours = tfk.regularizers.get(name), nk.regularizers.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == theirs.get_config()
    np.testing.assert_allclose(ours(W), float(theirs(W)), rtol=1e-5)


@pytest.mark.parametrize("name, kwargs", CONSTRAINTS)
def test_constraint_projection_and_config_match_tf_keras(name, kwargs):
    tfk = tf_keras()
    theirs = getattr(tfk.constraints, name)(**kwargs)
    ours = getattr(nk.constraints, name)(**kwargs)
    np.testing.assert_allclose(ours(W), theirs(W).numpy(), rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert nk.constraints.serialize(ours) == tfk.constraints.serialize(theirs)


def test_layer_configs_with_regularizers_and_constraints_match_tf_keras():
    tfk = tf_keras()
    configs = []
    for k in (tfk, nk):
        dense = k.layers.Dense(3, kernel_regularizer=k.regularizers.l2(1e-4),
                               bias_regularizer=k.regularizers.L1L2(l1=0.1),
                               kernel_constraint=k.constraints.max_norm(2.0),
                               bias_constraint=k.constraints.NonNeg())
        emb = k.layers.Embedding(10, 4, embeddings_regularizer=k.regularizers.L1(0.2),
                                 embeddings_constraint=k.constraints.UnitNorm(axis=1))
        configs.append([
            {key: v for key, v in layer.get_config().items()
             if "regularizer" in key or "constraint" in key} for layer in (dense, emb)])
    assert configs[1] == configs[0]
