"""load_checkpoint / list_variables / latest_checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

import numkeras as nk
from numkeras.train import Checkpoint, latest_checkpoint, list_variables, load_checkpoint


def test_reader_maps_and_tensors(tmp_path):
    v = nk.Variable(np.arange(6, dtype="int32").reshape(2, 3), name="v")
    path = Checkpoint(v=v).save(str(tmp_path / "c"))
    reader = load_checkpoint(str(tmp_path))  # a folder: its latest checkpoint
    key = "v/.ATTRIBUTES/VARIABLE_VALUE"
    assert reader.has_tensor(key) and not reader.has_tensor("nope")
    np.testing.assert_array_equal(reader.get_tensor(key), v.numpy())
    assert reader.get_variable_to_shape_map()[key] == [2, 3]
    assert reader.get_variable_to_dtype_map()[key] == np.dtype("int32")
    assert reader.get_variable_to_dtype_map()["save_counter/.ATTRIBUTES/VARIABLE_VALUE"] == \
        np.dtype("int64")
    assert isinstance(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"), bytes)
    with pytest.raises(KeyError, match="nope"):
        reader.get_tensor("nope")
    assert list_variables(path) == list_variables(str(tmp_path))


def test_missing_checkpoints(tmp_path):
    assert latest_checkpoint(str(tmp_path)) is None
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        load_checkpoint(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Failed to find any matching files"):
        load_checkpoint(str(tmp_path / "nothing"))
