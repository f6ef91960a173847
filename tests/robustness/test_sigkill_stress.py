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


@pytest.mark.parametrize("name", ["tf", "weights_json", "manager"])
def test_random_sigkills_always_leave_the_previous_or_new_version(tmp_path, name):
    fmt = FORMATS[name]
    folder = str(tmp_path)
    model = small_model(0)
    save = fmt.saver(model, folder)
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
