"""Issue 11 case 8: SIGKILL at random instants while re-saving in place, many times.

A forked child saves the same model again and again to ONE TF prefix (``save_weights``),
to ONE sharded ``.weights.json`` or through a ``CheckpointManager``, each save with new
weights drawn from the next seed; the parent kills it with SIGKILL after a random delay,
then loads what is on disk into a fresh model: it must hold exactly the weights of one of
the saves (the previous or the new one) -- never an error, never a mix. After all kills a
normal save must leave no temporary or backup files behind.

``NUMKERAS_STRESS_KILLS`` sets the number of kills per format (``make stress`` runs 200; the
default in ``make test`` is 40).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from robustness_formats import FORMATS, fill, load_outcome, small_model, weights

import numkeras as nk

KILLS = int(os.environ.get("NUMKERAS_STRESS_KILLS", "40"))


def _debris(folder: str) -> list[str]:
    out = []
    for root, _, names in os.walk(folder):
        out += [os.path.join(root, n) for n in names if n.endswith((".tmp", ".prev", ".copy"))]
    return out


def _child(save, model, first_seed: int) -> None:
    seed = first_seed
    try:
        while True:
            fill(model, seed)
            save()
            seed += 1
    finally:
        os._exit(1)


def _restarted_manager_saver(model, folder):
    """Each save is made by a fresh CheckpointManager that numbers on from the latest
    checkpoint on disk, as a training run restarted after a kill does."""
    def save():
        manager = nk.train.CheckpointManager(nk.train.Checkpoint(model=model),
                                             os.path.join(folder, "mgr"), max_to_keep=1)
        latest = manager.latest_checkpoint
        return manager.save(checkpoint_number=int(latest.rsplit("-", 1)[1]) + 1 if latest
                            else 1)
    return save


@pytest.mark.parametrize("name", ["tf", "weights_json", "manager"])
def test_random_sigkills_always_leave_the_previous_or_new_version(tmp_path, name):
    fmt = FORMATS[name]
    folder = str(tmp_path)
    model = small_model(0)
    save = (_restarted_manager_saver if name == "manager" else fmt.saver)(model, folder)
    path = save()
    t0 = time.perf_counter()
    save()
    duration = time.perf_counter() - t0
    rng = random.Random(1234)
    seen_seeds = {0}
    expected = {}
    next_seed = 1000
    outcomes = {"ok": 0}
    for kill in range(KILLS):
        pid = os.fork()
        if pid == 0:
            _child(save, model, next_seed)
        # kill somewhere within the first few saves (most kills land inside one)
        time.sleep(rng.uniform(0, 3 * duration))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kind, value = load_outcome(fmt, path)
        assert kind == "ok", f"kill {kill}: the saved weights no longer load: {value!r}"
        match = None
        for seed in list(seen_seeds) + list(range(next_seed, next_seed + 50)):
            if seed not in expected:
                expected[seed] = fill(small_model(0), seed)
            if all((a == b).all() for a, b in zip(value, expected[seed])):
                match = seed
                break
        assert match is not None, f"kill {kill}: the loaded weights are a mix of two saves"
        seen_seeds.add(match)
        outcomes["ok"] += 1
        next_seed += 1000
    # a normal save now cleans every temporary/backup file of the killed saves
    fill(model, 7)
    path = save()
    assert _debris(folder) == [], _debris(folder)
    target = small_model(1)
    fmt.load(target, path)
    assert all((a == b).all() for a, b in zip(weights(target), weights(model)))
    assert outcomes["ok"] == KILLS


def test_checkpoint_manager_escapes_its_folder_in_glob_patterns(tmp_path):
    """Issue 11 case 12: ``runs/exp[ab]`` was passed to glob unescaped, so the manager
    deleted ``runs/expa``'s checkpoint and kept its own."""
    model = small_model(0)
    sibling = nk.train.CheckpointManager(nk.train.Checkpoint(model=model),
                                         str(tmp_path / "expa"), max_to_keep=1)
    sibling.save()
    manager = nk.train.CheckpointManager(nk.train.Checkpoint(model=model),
                                         str(tmp_path / "exp[ab]"), max_to_keep=1)
    first = manager.save()
    fill(model, 3)
    manager.save()
    manager.save()
    assert os.path.exists(os.path.join(str(tmp_path / "expa"), "ckpt-1.index"))
    assert not os.path.exists(first + ".index")
    assert sorted(n for n in os.listdir(tmp_path / "exp[ab]") if n.endswith(".index")) == \
        ["ckpt-3.index"]
