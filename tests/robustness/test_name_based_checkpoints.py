"""Issue 11 case 3: a TF checkpoint without an object graph (a TF1 name-based checkpoint,
or one whose ``_CHECKPOINTABLE_OBJECT_GRAPH`` entry is missing) is matched by variable
names; when some variable has no key, ``Model.load_weights`` raises ``AssertionError`` as
tf-keras 2.21 does ("Some objects had attributes which were not restored", checked with
``tf.compat.v1.train.Saver`` checkpoints) -- and, unlike tf-keras, before assigning
anything.
"""

from __future__ import annotations

import numpy as np
import pytest

import numkeras as nk
from numkeras import layers
from numkeras.saving.tf_checkpoint.bundle import write_bundle


def _model():
    model = nk.Sequential([layers.Dense(2, input_shape=(3,), name="dd")])
    model.set_weights([np.full((3, 2), 5.0, "float32"), np.full(2, 6.0, "float32")])
    return model


def test_nothing_matching_by_name_raises_and_changes_nothing(tmp_path):
    prefix = str(tmp_path / "ck")
    write_bundle(prefix, [("unrelated/x", np.ones(2, "float32"))])
    model = _model()
    before = model.get_weights()
    with pytest.raises(AssertionError, match=r"not restored.*ck.*dd/kernel:0"):
        model.load_weights(prefix)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_partial_name_match_raises_before_assigning(tmp_path):
    prefix = str(tmp_path / "ck")
    write_bundle(prefix, [("dd/kernel", np.ones((3, 2), "float32"))])
    model = _model()
    before = model.get_weights()
    with pytest.raises(AssertionError, match=r"dd/bias:0"):
        model.load_weights(prefix)
    for a, b in zip(before, model.get_weights()):   # tf-keras would have set the kernel
        np.testing.assert_array_equal(a, b)


def test_full_name_match_loads(tmp_path):
    prefix = str(tmp_path / "ck")
    kernel, bias = np.arange(6, dtype="float32").reshape(3, 2), np.array([1, 2], "float32")
    write_bundle(prefix, [("dd/kernel", kernel), ("dd/bias", bias)])
    model = _model()
    model.load_weights(prefix)
    np.testing.assert_array_equal(model.get_weights()[0], kernel)
    np.testing.assert_array_equal(model.get_weights()[1], bias)
