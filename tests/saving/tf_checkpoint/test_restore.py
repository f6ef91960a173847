"""Restoring TF-format checkpoints: matching, deferred restoration, status, bad input.

Every bad-input case must raise before anything is assigned: the model keeps its weights.
"""

from __future__ import annotations

import gc
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import numkeras as nk
from numkeras import layers
from numkeras.saving.tf_checkpoint import protos
from numkeras.saving.tf_checkpoint.bundle import BundleReader, write_bundle
from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError
from numkeras.saving.tf_checkpoint.restore import CheckpointRestoreWarning
from numkeras.saving.tf_checkpoint.sstable import build_table, read_table_file


def make_model(units=3, built=True):
    first = layers.Dense(units, input_shape=(4,)) if built else layers.Dense(units)
    return nk.Sequential([first, layers.Dropout(0.5), layers.BatchNormalization(),
                          layers.Dense(2)])


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    return model.get_weights()


def assert_weights(model, expected):
    got = model.get_weights()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def saved(tmp_path):
    """A checkpoint of a random model: (prefix, values)."""
    model = make_model()
    values = randomize(model, seed=1)
    prefix = str(tmp_path / "w")
    model.save_weights(prefix)
    return prefix, values


# -- matching ---------------------------------------------------------------------------------

def test_round_trip_built(saved):
    prefix, values = saved
    model = make_model()
    model.load_weights(prefix).assert_consumed()
    assert_weights(model, values)


def test_unbuilt_model_restores_on_build(saved):
    prefix, values = saved
    model = make_model(built=False)
    status = model.load_weights(prefix)
    with pytest.raises(AssertionError, match="Unresolved object"):
        status.assert_consumed()
    model(np.zeros((1, 4), "float32"))
    assert_weights(model, values)
    status.assert_consumed()


def test_subclassed_model_deferred(tmp_path):
    class Net(nk.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(3), layers.Dense(2)]

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    source = Net()
    source(np.zeros((1, 4), "float32"))
    values = randomize(source)
    source.save_weights(str(tmp_path / "w"))
    target = Net()
    status = target.load_weights(str(tmp_path / "w"))
    target(np.zeros((1, 4), "float32"))
    assert_weights(target, values)
    status.assert_consumed()


def test_deferred_shape_mismatch_raises_when_created(saved):
    prefix, _ = saved
    model = make_model(units=7, built=False)
    model.load_weights(prefix).expect_partial()
    with pytest.raises(ValueError, match="incompatible tensor with shape"):
        model(np.zeros((1, 4), "float32"))


def test_optimizer_slots_restored_when_built(tmp_path):
    model = make_model()
    model.compile(optimizer=nk.optimizers.Adam(0.1))
    grads = [np.full(tuple(v.shape), 0.5) for v in model.trainable_variables]
    model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
    expected = [v.numpy() for v in model.optimizer.variables]
    model.save_weights(str(tmp_path / "w"))

    fresh = make_model()
    fresh.compile(optimizer=nk.optimizers.Adam(0.1))
    status = fresh.load_weights(str(tmp_path / "w"))
    fresh.optimizer.build(fresh.trainable_variables)
    status.assert_consumed()
    for got, want in zip(fresh.optimizer.variables, expected):
        np.testing.assert_array_equal(got.numpy(), want)


def test_legacy_slots_into_new_optimizer_fail_before_assigning(tmp_path):
    model = make_model()
    model.compile(optimizer=nk.optimizers.legacy.Adam())
    model.optimizer.apply_gradients(zip([np.ones(tuple(v.shape)) for v in
                                         model.trainable_variables], model.trainable_variables))
    randomize(model, seed=4)
    model.save_weights(str(tmp_path / "w"))
    fresh = make_model()
    before = fresh.get_weights()
    fresh.compile(optimizer=nk.optimizers.Adam())
    with pytest.raises(ValueError, match="legacy"):
        fresh.load_weights(str(tmp_path / "w"))
    assert_weights(fresh, before)


def test_name_based_checkpoint(tmp_path):
    model = make_model()
    values = [np.full(w.shape, i + 1.0, w.dtype) for i, w in enumerate(model.weights)]
    write_bundle(str(tmp_path / "tf1"), [(w.name[:-2], v) for w, v in zip(model.weights, values)])
    status = model.load_weights(str(tmp_path / "tf1"))
    status.assert_consumed()
    assert_weights(model, values)


# -- status and warnings ------------------------------------------------------------------------

def test_one_warning_for_unmatched_values(tmp_path):
    model = make_model()
    model.compile(optimizer=nk.optimizers.Adam())
    model.optimizer.apply_gradients(zip([np.ones(tuple(v.shape)) for v in
                                         model.trainable_variables], model.trainable_variables))
    model.save_weights(str(tmp_path / "w"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_model().load_weights(str(tmp_path / "w"))
        gc.collect()
    ours = [w for w in caught if issubclass(w.category, CheckpointRestoreWarning)]
    assert len(ours) == 1
    assert "(root).optimizer._iterations" in str(ours[0].message)
    assert "expect_partial" in str(ours[0].message)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_model().load_weights(str(tmp_path / "w")).expect_partial()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, CheckpointRestoreWarning)]


def test_assert_existing_objects_matched_reports_new_variables(saved):
    prefix, _ = saved
    model = make_model()
    model.add(layers.Dense(5))
    status = model.load_weights(prefix)
    with pytest.raises(AssertionError, match="not bound to checkpointed values"):
        status.assert_existing_objects_matched()


def test_status_repr_shows_model_variables_that_got_no_value(saved):
    prefix, _ = saved
    model = make_model()
    assert "got no value" not in repr(model.load_weights(prefix))
    model.add(layers.Dense(5))  # a new head: loading "succeeds", the status must say it is partial
    text = repr(model.load_weights(prefix))
    assert "2 variable(s) of the model got no value" in text
    assert model.layers[-1].kernel.name in text and model.layers[-1].bias.name in text


def test_folder_of_checkpoints_names_the_prefixes_to_pass(tmp_path):
    model = make_model()
    model.save_weights(str(tmp_path / "run" / "w"))
    with pytest.raises(ValueError, match=r"pass a checkpoint prefix, not its folder.*run.w'"):
        make_model().load_weights(str(tmp_path / "run"))


def test_arguments_as_tf_keras(saved):
    prefix, _ = saved
    model = make_model()
    with pytest.raises(NotImplementedError, match="by_name=True"):
        model.load_weights(prefix, by_name=True)
    with pytest.raises(ValueError, match="skip_mismatch can only be set to True when by_name"):
        model.load_weights(prefix, skip_mismatch=True)


def test_savedmodel_dir_without_variables(tmp_path):
    (tmp_path / "sm").mkdir()
    with pytest.raises(ValueError, match="appears to be a SavedModel directory"):
        make_model().load_weights(str(tmp_path / "sm"))


# -- bad input: raised before any assignment -----------------------------------------------------

def check_untouched(prefix, error, match):
    model = make_model()
    before = randomize(model, seed=9)
    with pytest.raises(error, match=match):
        model.load_weights(prefix)
    assert_weights(model, before)


def test_missing_index(saved):
    prefix, _ = saved
    os.remove(prefix + ".index")
    check_untouched(prefix, FileNotFoundError, "No weights file|\\.index")


def test_missing_data_shard(saved):
    prefix, _ = saved
    os.remove(prefix + ".data-00000-of-00001")
    check_untouched(prefix, CheckpointFormatError, "data file not found")


def test_crc_mismatch_in_last_tensor(saved):
    prefix, _ = saved
    path = prefix + ".data-00000-of-00001"
    key = "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE"  # restored last
    with BundleReader(prefix) as reader:
        offset = reader.get_entry(key).offset
    data = bytearray(Path(path).read_bytes())
    data[offset] ^= 0xFF
    Path(path).write_bytes(bytes(data))
    check_untouched(prefix, CheckpointFormatError, "checksum mismatch")


def test_truncated_data_file(saved):
    prefix, _ = saved
    path = prefix + ".data-00000-of-00001"
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    check_untouched(prefix, CheckpointFormatError, "truncated|bytes")


def test_truncated_index(saved):
    prefix, _ = saved
    path = prefix + ".index"
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:-10])
    check_untouched(prefix, CheckpointFormatError, prefix)


def rewrite_entry(prefix, key, **fields):
    table = read_table_file(prefix + ".index")
    items = []
    for k, v in table:
        if k == key.encode():
            entry = protos.BundleEntryProto.FromString(v)
            for name, value in fields.items():
                setattr(entry, name, value)
            v = entry.SerializeToString()
        items.append((k, v))
    Path(prefix + ".index").write_bytes(build_table(items))


def test_impossible_size_never_allocates(saved):
    prefix, _ = saved
    rewrite_entry(prefix, "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE",
                  offset=2**40, size=2**41)
    check_untouched(prefix, CheckpointFormatError, "size|bytes")


def test_shape_mismatch(tmp_path):
    model = make_model(units=5)
    model.save_weights(str(tmp_path / "w"))
    check_untouched(str(tmp_path / "w"), ValueError, "incompatible tensor with shape")


def test_dtype_mismatch(saved):
    prefix, _ = saved
    key = "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE"
    rewrite_entry(prefix, key, dtype=2)  # DT_DOUBLE where the variable is float32
    check_untouched(prefix, ValueError, "dtype")


def test_corrupt_object_graph(tmp_path):
    graph = protos.TrackableObjectGraph()
    root = graph.nodes.add()
    child = root.children.add()
    child.node_id = 7
    child.local_name = "layer-0"
    write_bundle(str(tmp_path / "w"), [("_CHECKPOINTABLE_OBJECT_GRAPH",
                                        graph.SerializeToString())])
    check_untouched(str(tmp_path / "w"), CheckpointFormatError, "refers to node 7")


def test_failed_save_keeps_previous_checkpoint(saved, monkeypatch):
    prefix, values = saved
    model = make_model()
    randomize(model, seed=5)
    from numkeras.saving.tf_checkpoint import bundle

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle, "build_table", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(prefix)
    fresh = make_model()
    fresh.load_weights(prefix).assert_consumed()
    assert_weights(fresh, values)
