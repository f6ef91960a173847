"""Truncation sweeps: every prefix of each format's files gives a clean error, never a crash.

Each small file of each format is cut to every length of its head and tail (headers,
footers, central directories) and to a dense sample of lengths between. Loading must raise a
``ValueError``/``OSError`` subclass naming the file, within seconds (``SIGALRM`` deadline),
and leave every weight of the target model unchanged. A few cuts may remove only bytes a
reader does not need; then the load must give exactly the saved weights.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from robustness_formats import (
    FORMATS,
    assert_same,
    damage_sweep,
    deadline,
    fill,
    small_model,
    weights,
)

import numkeras as nk

#: the formats whose files are swept (manager writes the same bundles as train_ckpt)
SWEPT = ["h5", "tf", "weights_h5", "weights_json", "keras", "train_ckpt", "safetensors", "npz"]


def lengths(size: int) -> list[int]:
    """Every length of the head and tail (headers, footers), a dense sample between."""
    head, tail, between = (128, 64, 200) if size <= 2048 else (96, 32, 120)
    picked = set(range(min(head, size))) | set(range(max(size - tail, 0), size))
    picked |= {int(x) for x in np.linspace(0, size - 1, between)}
    return sorted(picked)


def damaged_files(name, folder):
    return [f for f in FORMATS[name].files(folder) if os.path.basename(f) != "checkpoint"]


@pytest.mark.parametrize("name", SWEPT)
def test_every_prefix_gives_a_clean_error(tmp_path, name):
    fmt = FORMATS[name]
    source = small_model(1)
    good = fill(source, 1)
    path = fmt.save(source, str(tmp_path))
    contents = {}
    for damaged in damaged_files(name, str(tmp_path)):
        with open(damaged, "rb") as f:
            contents[damaged] = f.read()
    cases = [(damaged, n) for damaged, data in contents.items() for n in lengths(len(data))]
    results = damage_sweep(name, path, cases, lambda c: (c[0], contents[c[0]][:c[1]]), good)
    assert list(results.values()).count("error") > len(cases) * 0.9
    assert results[(next(iter(contents)), 0)] == "error"
    # the restored files load again
    target = small_model(2)
    FORMATS[name].load(target, path)
    assert_same(weights(target), good)


@pytest.mark.parametrize("name", ["train_ckpt", "manager"])
def test_truncated_state_file_never_names_a_broken_checkpoint(tmp_path, name):
    fmt = FORMATS[name]
    model = small_model(1)
    save = fmt.saver(model, str(tmp_path))
    save()
    fill(model, 3)
    path = save()
    folder = os.path.dirname(path)
    state = os.path.join(folder, "checkpoint")
    with open(state, "rb") as f:
        data = f.read()
    for n in range(len(data) + 1):
        with open(state, "wb") as f:
            f.write(data[:n])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with deadline():
                latest = nk.train.latest_checkpoint(folder)
        if latest is not None:
            target = small_model(0)
            nk.train.Checkpoint(model=target).restore(latest).assert_existing_objects_matched()
            assert os.path.exists(latest + ".index")
    assert nk.train.latest_checkpoint(folder) == path
