"""Crash injection: SIGKILL a save at every write step; the previous version must survive.

For each format a good file is saved first. Then a forked child process sets different
weights and saves again, with the low-level write steps of every writer hooked (h5py group,
dataset and attribute writes, file closes, TF bundle tensor writes and commits, zip member
writes, ``os.fsync``/``os.replace``/``os.remove`` ...): the child SIGKILLs itself just
before the N-th step. A dry run counts the steps, so every N from 1 to the total is tried
(deterministic: the steps of a save do not depend on timing).

After each kill the parent loads what is on disk into a fresh model:

- single files (``.h5``, ``.weights.h5``, ``.keras``): they load, with exactly the old or
  the new weights (never a mix, never an error);
- ``Checkpoint.save`` / ``CheckpointManager.save`` (a new prefix per save):
  ``latest_checkpoint`` still names a complete checkpoint holding the old or new weights;
- overwriting a multi-file save in place (TF prefix via ``save_weights``, sharded
  ``.weights.json``): file names are fixed by the formats, so the previous index/manifest
  and data are kept under backup names until the new ones are all in place
  (``numkeras.saving.crashsafe``); a kill at any step leaves the old or the new weights
  loadable (the loader puts a complete backup back) -- never an error, never a mix.

Then the next normal save must work, load, and leave no temporary or backup files.
"""

from __future__ import annotations

import json
import os
import signal
import zipfile

import h5py
import pytest
from robustness_formats import FORMATS, assert_same, fill, load_outcome, small_model, weights

import numkeras as nk
from numkeras.saving.paths import atomic_write_path  # noqa: F401  (imported before forking)
from numkeras.saving.tf_checkpoint import _files, bundle

#: (owner, attribute) of every hooked write step.
STEPS = [
    (os, "replace"), (os, "rename"), (os, "fsync"), (os, "remove"), (os, "unlink"),
    (os, "chmod"), (os, "makedirs"),
    (h5py.File, "__init__"), (h5py.File, "close"), (h5py.File, "flush"),
    (h5py.Group, "create_group"), (h5py.Group, "create_dataset"),
    (h5py.Dataset, "write_direct"), (h5py.AttributeManager, "__setitem__"),
    (h5py.AttributeManager, "create"),
    (bundle, "_write_tensor"), (_files.PendingFile, "finish"), (_files.PendingFile, "commit"),
    (zipfile.ZipFile, "writestr"), (zipfile.ZipFile, "close"), (json, "dumps"),
]
#: Steps that start the commit of a save (renames / deletions of final names).
COMMIT_STEPS = {"os.replace", "os.rename", "os.remove", "os.unlink", "PendingFile.commit"}


def _label(owner, attr: str) -> str:
    return f"{getattr(owner, '__name__', owner)}.{attr}".replace("numkeras.saving."
                                                                 "tf_checkpoint.", "")


def _install(kill_at: int, seen: list[str]) -> None:
    """In the child: hook every step; SIGKILL ourselves before step number ``kill_at``."""
    for owner, attr in STEPS:
        original = getattr(owner, attr)
        label = _label(owner, attr)

        def hooked(*args, __original=original, __label=label, **kwargs):
            seen.append(__label)
            if len(seen) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return __original(*args, **kwargs)

        setattr(owner, attr, hooked)


def run_child(save, model, seed: int, kill_at: int) -> tuple[bool, list[str]]:
    """Fork; the child fills ``model`` from ``seed`` and calls ``save()`` with the hooks.

    Returns (killed, steps) -- ``steps`` only when the child completed.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(read_end)
            fill(model, seed)
            seen: list[str] = []
            _install(kill_at, seen)
            save()
            os.write(write_end, "\n".join(seen).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True, []
    assert os.WEXITSTATUS(status) == 0, "the child's save failed"
    return False, b"".join(chunks).decode().split("\n")


PARAMS = list(FORMATS)


@pytest.mark.parametrize("name", PARAMS)
def test_kill_at_every_write_step_keeps_a_complete_version(tmp_path, name):
    fmt = FORMATS[name]
    old_seed, new_seed = 1, 2
    old, new = fill(small_model(), old_seed), fill(small_model(), new_seed)

    # Dry run: count the steps of the second save.
    model = small_model(old_seed)
    save = fmt.saver(model, str(tmp_path / "dry"))
    save()
    killed, steps = run_child(save, model, new_seed, kill_at=0)
    assert not killed and len(steps) > 3, steps
    commit_started = next(i for i, s in enumerate(steps, 1) if s in COMMIT_STEPS)

    outcomes = []
    for kill_at in range(1, len(steps) + 1):
        folder = str(tmp_path / f"k{kill_at}")
        model = small_model(old_seed)
        save = fmt.saver(model, folder)
        path = save()
        killed, _ = run_child(save, model, new_seed, kill_at)
        assert killed, f"the child was not killed at step {kill_at} ({steps[kill_at - 1]})"
        where = f"{name}: killed before step {kill_at}/{len(steps)} ({steps[kill_at - 1]})"
        kind, value = load_outcome(fmt, path)
        assert kind != "error", f"{where}: the previous version no longer loads: {value!r}"
        if kill_at <= commit_started:
            assert_same(value, old)
            outcomes.append("old")
        else:
            assert any(_same(value, x) for x in (old, new)), f"{where}: mixed weights"
            outcomes.append("old" if _same(value, old) else "new")

        # Leftover temporary files are harmless: save over them, load the result.
        fill(model, 3)
        expected = weights(model)
        again = save()
        target = small_model(0)
        fmt.load(target, again)
        assert_same(weights(target), expected)
        debris = [n for _, _, names in os.walk(folder) for n in names
                  if n.endswith((".tmp", ".prev"))]
        assert not debris, f"{where}: the next save left {debris}"
    assert outcomes[0] == "old"


def _same(a, b) -> bool:
    try:
        assert_same(a, b)
    except AssertionError:
        return False
    return True


def test_killed_training_run_resumes_from_latest_checkpoint(tmp_path):
    """Checkpoint.save every step; a kill during the 3rd save resumes from step 2 or 3."""
    model = small_model(0)
    ckpt = nk.train.Checkpoint(model=model)
    prefix = str(tmp_path / "run" / "ckpt")
    for seed in (10, 11):
        fill(model, seed)
        ckpt.save(prefix)
    expected = {10: None, 11: weights(model)}
    fill(model, 12)
    expected[12] = weights(model)
    fill(model, 11)
    killed, steps = run_child(lambda: ckpt.save(prefix), model, 12, kill_at=0)
    assert not killed
    for kill_at in range(1, len(steps) + 1):
        folder = tmp_path / f"r{kill_at}"
        model = small_model(0)
        ckpt = nk.train.Checkpoint(model=model)
        prefix = str(folder / "ckpt")
        for seed in (10, 11):
            fill(model, seed)
            ckpt.save(prefix)
        killed, _ = run_child(lambda ckpt=ckpt, prefix=prefix: ckpt.save(prefix), model, 12,
                              kill_at)
        assert killed
        latest = nk.train.latest_checkpoint(str(folder))
        assert latest is not None and os.path.basename(latest) in ("ckpt-2", "ckpt-3")
        fresh = small_model(5)
        nk.train.Checkpoint(model=fresh).restore(latest).assert_existing_objects_matched()
        want = expected[11] if latest.endswith("ckpt-2") else expected[12]
        assert_same(weights(fresh), want)
