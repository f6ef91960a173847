"""The `checkpoint` state file: TF-written files parse, our files satisfy TF's readers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError
from numkeras.saving.tf_checkpoint.state import (
    CheckpointState,
    format_checkpoint_state,
    get_checkpoint_state,
    latest_checkpoint,
    parse_checkpoint_state,
    update_checkpoint_state,
)


def test_parse_any_order_escapes_and_comments() -> None:
    text = ("# comment\n"
            "all_model_checkpoint_timestamps: 1.25\n"
            "last_preserved_timestamp: 3\n"
            "all_model_checkpoint_paths: 'single \\'quoted\\''\n"
            "model_checkpoint_path: \"tab\\there \\\"q\\\" \\303\\274 \\\\\"\n")
    state = parse_checkpoint_state(text)
    assert state.model_checkpoint_path == 'tab\there "q" ü \\'
    assert state.all_model_checkpoint_paths == ("single 'quoted'",)
    assert state.all_model_checkpoint_timestamps == (1.25,)
    assert state.last_preserved_timestamp == 3.0
    assert parse_checkpoint_state(format_checkpoint_state(state)) == state


@pytest.mark.parametrize("text", ["", "all_model_checkpoint_paths: \"a\"\n",
                                  "model_checkpoint_path: unquoted\n", "bogus_field: 1\n",
                                  "model_checkpoint_path: \"a\"\nmodel_checkpoint_path: \"b",
                                  b"\xff\xfe"])
def test_parse_errors(text: Any) -> None:
    with pytest.raises(CheckpointFormatError, match="checkpoint"):
        parse_checkpoint_state(text)


def test_write_is_atomic_and_relative(tmp_path: Path) -> None:
    directory = str(tmp_path / "run")
    update_checkpoint_state(directory, os.path.join(directory, "ckpt-2"),
                            [os.path.join(directory, "ckpt-1")],
                            all_model_checkpoint_timestamps=[10.5, 11.0],
                            last_preserved_timestamp=9.25)
    assert os.listdir(directory) == ["checkpoint"]
    assert (tmp_path / "run" / "checkpoint").read_text() == (
        'model_checkpoint_path: "ckpt-2"\n'
        'all_model_checkpoint_paths: "ckpt-1"\n'
        'all_model_checkpoint_paths: "ckpt-2"\n'
        "all_model_checkpoint_timestamps: 10.5\n"
        "all_model_checkpoint_timestamps: 11.0\n"
        "last_preserved_timestamp: 9.25\n")
    state = get_checkpoint_state(directory)
    assert state is not None
    assert state.model_checkpoint_path == os.path.join(directory, "ckpt-2")
    assert latest_checkpoint(directory) is None
    (tmp_path / "run" / "ckpt-2.index").write_bytes(b"")
    assert latest_checkpoint(directory) == os.path.join(directory, "ckpt-2")
    with pytest.raises(ValueError, match="timestamps"):
        update_checkpoint_state(directory, "a", ["b"], all_model_checkpoint_timestamps=[1.0])


def test_missing_and_corrupt_state(tmp_path: Path) -> None:
    assert get_checkpoint_state(tmp_path) is None
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "checkpoint").write_text("garbage {")
    with pytest.raises(CheckpointFormatError, match="checkpoint"):
        get_checkpoint_state(tmp_path)
    with pytest.warns(RuntimeWarning, match="ignored"):
        assert latest_checkpoint(tmp_path) is None


def test_relative_directory_like_tf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    update_checkpoint_state("out", "out/weights")  # what save_weights("out/weights") passes
    assert (tmp_path / "out" / "checkpoint").read_text() == (
        'model_checkpoint_path: "weights"\nall_model_checkpoint_paths: "weights"\n')


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


def test_state_dataclass_defaults() -> None:
    state = CheckpointState("a")
    assert format_checkpoint_state(state) == 'model_checkpoint_path: "a"\n'
