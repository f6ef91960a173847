"""numkeras.train.Checkpoint: roots, save/write/read/restore, async saves, callbacks, shards."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import numkeras as nk
from numkeras import layers
from numkeras.train import Checkpoint, CheckpointOptions, list_variables
from numkeras.train.options import MaxShardSizePolicy


def var(value, name="v"):
    return nk.Variable(np.asarray(value, dtype="float32"), name=name)


def test_save_numbers_checkpoints_and_updates_state(tmp_path):
    v = var([1.0, 2.0])
    ckpt = Checkpoint(v=v)
    first = ckpt.save(str(tmp_path / "ckpt"))
    second = ckpt.save(str(tmp_path / "ckpt"))
    assert [os.path.basename(p) for p in (first, second)] == ["ckpt-1", "ckpt-2"]
    assert (tmp_path / "checkpoint").read_text() == \
        'model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n'
    keys = [k for k, _ in list_variables(second)]
    assert keys == ["_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
                    "v/.ATTRIBUTES/VARIABLE_VALUE"]
    assert nk.train.latest_checkpoint(str(tmp_path)) == second


def test_children_sorted_and_write_has_no_counter(tmp_path):
    ckpt = Checkpoint(zeta=var(1.0, "z"), alpha=var(2.0, "a"))
    path = ckpt.write(str(tmp_path / "w"))
    assert path == str(tmp_path / "w")
    assert not (tmp_path / "checkpoint").exists()
    assert [k for k, _ in list_variables(path)] == [
        "_CHECKPOINTABLE_OBJECT_GRAPH", "alpha/.ATTRIBUTES/VARIABLE_VALUE",
        "zeta/.ATTRIBUTES/VARIABLE_VALUE"]


def test_restore_creates_and_restores_save_counter_read_does_not(tmp_path):
    ckpt = Checkpoint(v=var(3.0))
    ckpt.save(str(tmp_path / "c"))
    path = ckpt.save(str(tmp_path / "c"))
    other = Checkpoint(v=var(0.0))
    other.restore(path).assert_consumed()
    assert int(other.save_counter.numpy()) == 2
    third = Checkpoint(v=var(0.0))
    status = third.read(path)
    with pytest.raises(AssertionError, match="save_counter"):
        status.assert_consumed()
    status.assert_existing_objects_matched().expect_partial()


def test_restore_none_initializes_only():
    status = Checkpoint(v=var(1.0)).restore(None)
    with pytest.raises(AssertionError, match="No checkpoint specified"):
        status.assert_consumed()


def test_rejects_untrackable_values():
    with pytest.raises(ValueError, match="trackable"):
        Checkpoint(x=3)


def test_root_checkpoint_is_save_weights_layout(tmp_path):
    model = nk.Sequential([layers.Dense(2, input_shape=(3,))])
    Checkpoint(root=model).write(str(tmp_path / "a"))
    model.save_weights(str(tmp_path / "b"))
    assert list_variables(str(tmp_path / "a")) == list_variables(str(tmp_path / "b"))
    assert (tmp_path / "a.data-00000-of-00001").read_bytes() == \
        (tmp_path / "b.data-00000-of-00001").read_bytes()


def test_checkpoint_restores_model_created_later(tmp_path):
    model = nk.Sequential([layers.Dense(2, input_shape=(3,))])
    values = [np.full(w.shape, 0.25, "float32") for w in model.get_weights()]
    model.set_weights(values)
    path = Checkpoint(model=model).save(str(tmp_path / "c"))
    late = Checkpoint()
    status = late.restore(path)
    late.model = nk.Sequential([layers.Dense(2, input_shape=(3,))])  # restored on assignment
    for got, want in zip(late.model.get_weights(), values):
        np.testing.assert_array_equal(got, want)
    status.assert_consumed()


def test_async_save_snapshots_values_and_sync_waits(tmp_path, monkeypatch):
    from numkeras.saving.tf_checkpoint import save

    gate = threading.Event()
    real = save.write_snapshot

    def slow(*args, **kwargs):
        gate.wait(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(save, "write_snapshot", slow)
    v = var([1.0, 2.0])
    ckpt = Checkpoint(v=v)
    path = ckpt.save(str(tmp_path / "c"), options=CheckpointOptions(enable_async=True))
    assert not os.path.exists(path + ".index")  # returned before writing
    v.assign([9.0, 9.0])                         # after the snapshot: not in the file
    gate.set()
    ckpt.sync()
    assert os.path.exists(path + ".index")
    fresh = var([0.0, 0.0])
    Checkpoint(v=fresh).restore(path)
    np.testing.assert_array_equal(fresh.numpy(), [1.0, 2.0])


def test_async_error_is_raised_by_sync(tmp_path, monkeypatch):
    from numkeras.saving.tf_checkpoint import save

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(save, "write_snapshot", broken)
    ckpt = Checkpoint(v=var(1.0))
    ckpt.write(str(tmp_path / "c"),
               options=CheckpointOptions(experimental_enable_async_checkpoint=True))
    with pytest.raises(OSError, match="disk full"):
        ckpt.sync()
    ckpt.sync()  # raised once


def test_write_callbacks_run_after_the_files_exist(tmp_path):
    seen = []
    callbacks = [lambda: seen.append("none"),
                 lambda path: seen.append(os.path.exists(path + ".index"))]
    Checkpoint(v=var(1.0)).write(str(tmp_path / "c"),
                                 options=CheckpointOptions(experimental_write_callbacks=callbacks))
    assert seen == ["none", True]
    with pytest.raises(ValueError, match="0 or 1"):
        CheckpointOptions(experimental_write_callbacks=[lambda a, b: None])


def test_sharding_policy_gives_several_data_files(tmp_path):
    ckpt = Checkpoint(**{f"v{i}": var(np.full(256, i), f"v{i}") for i in range(4)})
    options = CheckpointOptions(experimental_sharding_callback=MaxShardSizePolicy(1500))
    path = ckpt.write(str(tmp_path / "c"), options=options)
    shards = sorted(p.name for p in tmp_path.glob("c.data-*"))
    assert shards == [f"c.data-0000{i}-of-00003" for i in range(3)]
    fresh = {f"v{i}": var(np.zeros(256), f"v{i}") for i in range(4)}
    Checkpoint(**fresh).read(path).assert_consumed()
    for i in range(4):
        np.testing.assert_array_equal(fresh[f"v{i}"].numpy(), np.full(256, i))
    with pytest.raises(ValueError, match="ShardingCallback"):
        CheckpointOptions(experimental_sharding_callback=3)


def test_options_accept_every_field():
    options = CheckpointOptions(experimental_io_device="/job:localhost",
                                experimental_skip_slot_variables=True, enable_async=True)
    assert options.experimental_enable_async_checkpoint is True
    assert options.experimental_io_device == "/job:localhost"
    assert options.experimental_skip_slot_variables is True


def test_async_save_weights_then_load_waits(tmp_path):
    model = nk.Sequential([layers.Dense(2, input_shape=(3,))])
    values = [np.full(w.shape, 0.5, "float32") for w in model.get_weights()]
    model.set_weights(values)
    model.save_weights(str(tmp_path / "w"), options=CheckpointOptions(enable_async=True))
    model.set_weights([np.zeros_like(v) for v in values])
    model.load_weights(str(tmp_path / "w")).assert_consumed()  # waits for the write first
    for got, want in zip(model.get_weights(), values):
        np.testing.assert_array_equal(got, want)
