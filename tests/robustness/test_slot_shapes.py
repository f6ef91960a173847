"""Issue 11 case 4: a TF-restored legacy optimizer slot of the wrong shape (a ``(7, 7)``
Adam ``m`` for a ``(3,)`` variable) was accepted, and the next ``apply_gradients`` failed.
It is refused at restore time, naming the file and key, before anything is assigned."""

from __future__ import annotations

import numpy as np
import pytest
from robustness_formats import small_model, weights

import numkeras as nk
from numkeras.optimizers import legacy
from numkeras.saving.tf_checkpoint.bundle import BundleReader, write_bundle


def test_wrong_shape_legacy_slot_is_refused(tmp_path):
    model = small_model(1)
    opt = legacy.Adam()
    opt.apply_gradients([(np.ones(w.shape, "float32"), w) for w in model.trainable_weights])
    prefix = nk.train.Checkpoint(model=model, optimizer=opt).write(str(tmp_path / "ck"))
    reader = BundleReader(prefix)
    keys = reader.keys()
    bias_m = [k for k in keys if ".OPTIMIZER_SLOT" in k and k.endswith(
        "/m/.ATTRIBUTES/VARIABLE_VALUE") and tuple(reader.get_entry(k).shape) == (3,)]
    assert bias_m, keys
    tensors = [(k, np.zeros((7, 7), "float32") if k == bias_m[0] else
                (reader.read_string(k) if k == "_CHECKPOINTABLE_OBJECT_GRAPH" else
                 reader.read(k))) for k in keys]
    reader.close()
    bad = str(tmp_path / "bad")
    write_bundle(bad, tensors)
    target = small_model(2)
    before = weights(target)
    fresh = legacy.Adam()
    with pytest.raises(ValueError, match=r"bad.*\(7, 7\)"):
        nk.train.Checkpoint(model=target, optimizer=fresh).restore(bad)
    for a, b in zip(before, weights(target)):
        np.testing.assert_array_equal(a, b)
