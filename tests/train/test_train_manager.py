"""numkeras.train.CheckpointManager: numbering, deletion, recovery, intervals."""

from __future__ import annotations

import os

import numpy as np
import pytest

import numkeras as nk
from numkeras.train import Checkpoint, CheckpointManager


def make(tmp_path, **kwargs):
    v = nk.Variable(np.float32(0.0), name="v")
    return v, CheckpointManager(Checkpoint(v=v), str(tmp_path), **kwargs)


def test_max_to_keep_deletes_oldest_files(tmp_path):
    v, manager = make(tmp_path, max_to_keep=2)
    paths = [manager.save() for _ in range(4)]
    assert manager.checkpoints == paths[2:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index",
        "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    state = (tmp_path / "checkpoint").read_text().splitlines()
    assert state[:3] == ['model_checkpoint_path: "ckpt-4"', 'all_model_checkpoint_paths: "ckpt-3"',
                         'all_model_checkpoint_paths: "ckpt-4"']
    assert sum(line.startswith("all_model_checkpoint_timestamps: ") for line in state) == 2
    assert state[-1].startswith("last_preserved_timestamp: ")


def test_recovers_state_from_directory(tmp_path):
    _, manager = make(tmp_path, max_to_keep=3)
    paths = [manager.save() for _ in range(3)]
    _, again = make(tmp_path, max_to_keep=3)
    assert again.checkpoints == paths
    assert again.latest_checkpoint == paths[-1]
    again.restore_or_initialize()  # restores save_counter too: the next save is ckpt-4
    assert os.path.basename(again.save()) == "ckpt-4"
    assert not os.path.exists(paths[0] + ".index")


def test_keep_all_with_none(tmp_path):
    _, manager = make(tmp_path, max_to_keep=None)
    paths = [manager.save() for _ in range(5)]
    assert manager.checkpoints == paths
    assert all(os.path.exists(p + ".index") for p in paths)


def test_step_counter_names_and_interval(tmp_path):
    step = nk.Variable(np.int64(0), name="step")
    v = nk.Variable(np.float32(0.0), name="v")
    manager = CheckpointManager(Checkpoint(v=v, step=step), str(tmp_path), max_to_keep=5,
                                step_counter=step, checkpoint_interval=10)
    saved = []
    for s in (0, 5, 10, 10, 25):
        step.assign(np.int64(s))
        saved.append(manager.save())
    assert [os.path.basename(p) if p else None for p in saved] == \
        ["ckpt-0", None, "ckpt-10", None, "ckpt-25"]
    assert os.path.basename(manager.save(check_interval=False) or "") == ""  # same step
    step.assign(np.int64(26))
    assert os.path.basename(manager.save(check_interval=False)) == "ckpt-26"


def test_explicit_number_and_name(tmp_path):
    v = nk.Variable(np.float32(0.0), name="v")
    manager = CheckpointManager(Checkpoint(v=v), str(tmp_path), 2, checkpoint_name="model")
    assert os.path.basename(manager.save(checkpoint_number=42)) == "model-42"


def test_restore_or_initialize(tmp_path):
    calls = []
    v = nk.Variable(np.float32(0.0), name="v")
    manager = CheckpointManager(Checkpoint(v=v), str(tmp_path), 2,
                                init_fn=lambda: calls.append(1))
    assert manager.restore_or_initialize() is None and calls == [1]
    v.assign(np.float32(7.0))
    manager.save()
    v.assign(np.float32(0.0))
    assert manager.restore_or_initialize() == manager.latest_checkpoint
    assert float(v.numpy()) == 7.0


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="max_to_keep"):
        make(tmp_path, max_to_keep=0)
    with pytest.raises(ValueError, match="step_counter"):
        make(tmp_path, max_to_keep=1, checkpoint_interval=3)
