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


def test_state_dataclass_defaults() -> None:
    state = CheckpointState("a")
    assert format_checkpoint_state(state) == 'model_checkpoint_path: "a"\n'
