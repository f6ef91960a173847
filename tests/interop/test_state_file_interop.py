"""The `checkpoint` state file against live TensorFlow: TF-written files parse, TF reads ours.

Without TF the same checks run against TF-written files in
tests/saving/tf_checkpoint/test_bundle_golden.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tf_side

from numkeras.saving.tf_checkpoint.state import (
    format_checkpoint_state,
    get_checkpoint_state,
    latest_checkpoint,
    parse_checkpoint_state,
    update_checkpoint_state,
)


@pytest.fixture(scope="module")
def tf() -> Any:
    return tf_side.tensorflow()


def test_parse_tf_checkpoint_manager_file(tf: Any, tmp_path: Path) -> None:
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2,
                                         keep_checkpoint_every_n_hours=1)
    for _ in range(3):
        manager.save()
    text = (tmp_path / "checkpoint").read_text()
    assert "all_model_checkpoint_timestamps" in text and "last_preserved_timestamp" in text
    raw = parse_checkpoint_state(text)
    assert raw.model_checkpoint_path == "ckpt-3"
    assert raw.all_model_checkpoint_paths == ("ckpt-2", "ckpt-3")
    assert len(raw.all_model_checkpoint_timestamps) == 2
    assert format_checkpoint_state(raw) == text  # byte-identical round trip
    ours = get_checkpoint_state(tmp_path)
    theirs = tf.train.get_checkpoint_state(str(tmp_path))
    assert ours is not None
    assert ours.model_checkpoint_path == theirs.model_checkpoint_path
    assert list(ours.all_model_checkpoint_paths) == list(theirs.all_model_checkpoint_paths)
    assert list(ours.all_model_checkpoint_timestamps) == list(
        theirs.all_model_checkpoint_timestamps)
    assert ours.last_preserved_timestamp == theirs.last_preserved_timestamp
    assert latest_checkpoint(tmp_path) == tf.train.latest_checkpoint(str(tmp_path))
    assert latest_checkpoint(tmp_path) == str(tmp_path / "ckpt-3")


def test_tf_reads_our_state_file(tf: Any, tmp_path: Path) -> None:
    from numkeras.saving.tf_checkpoint.bundle import write_bundle

    write_bundle(str(tmp_path / "ckpt-7"), [("x", b"")])
    update_checkpoint_state(tmp_path, str(tmp_path / "ckpt-7"), [str(tmp_path / "ckpt-6")],
                            all_model_checkpoint_timestamps=[1795896248.959174, 1795896249.5],
                            last_preserved_timestamp=1795896000.125)
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "ckpt-7")
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == str(tmp_path / "ckpt-7")
    assert list(state.all_model_checkpoint_paths) == [str(tmp_path / "ckpt-6"),
                                                      str(tmp_path / "ckpt-7")]
    assert list(state.all_model_checkpoint_timestamps) == [1795896248.959174, 1795896249.5]
    assert state.last_preserved_timestamp == 1795896000.125
    # TF's own writer produces the same text for the same state.
    from tensorflow.python.checkpoint import checkpoint_management

    ours = (tmp_path / "checkpoint").read_text()
    checkpoint_management.update_checkpoint_state_internal(
        str(tmp_path), str(tmp_path / "ckpt-7"),
        all_model_checkpoint_paths=[str(tmp_path / "ckpt-6"), str(tmp_path / "ckpt-7")],
        save_relative_paths=True,
        all_model_checkpoint_timestamps=[1795896248.959174, 1795896249.5],
        last_preserved_timestamp=1795896000.125)
    assert (tmp_path / "checkpoint").read_text() == ours
