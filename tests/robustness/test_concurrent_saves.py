"""Concurrent saves to one path, from threads and from processes: one complete version wins.

Several writers, each with its own model (different weights), save to the same path at the
same time, repeatedly. No save may crash, and afterwards the file (or checkpoint) must load
with exactly one writer's weights -- never an interleaving of two saves (e.g. one writer's
TF index over another's data file, or one writer's manifest naming another's shards).
While they write, a reader loads the path in a loop: each load gives one complete version,
or -- only for multi-file formats replaced in place, during a commit -- a clean error.
"""

from __future__ import annotations

import os
import threading
import warnings

import pytest
from robustness_formats import CLEAN_ERRORS, FORMATS, fill, same, small_model, weights

CONCURRENT = ["h5", "tf", "weights_h5", "weights_json", "keras"]
MULTI_FILE = {"tf", "weights_json"}
WRITERS, ROUNDS = 4, 6


def _versions():
    return [fill(small_model(), seed) for seed in range(1, WRITERS + 1)]


def _check_final(name, path, versions):
    target = small_model(0)
    FORMATS[name].load(target, path)
    got = weights(target)
    assert any(same(got, v) for v in versions), f"{name}: the final file mixes versions"


@pytest.mark.parametrize("name", CONCURRENT)
def test_threads_saving_to_one_path(tmp_path, name):
    fmt = FORMATS[name]
    versions = _versions()
    models = [small_model(seed) for seed in range(1, WRITERS + 1)]
    path = fmt.save(models[0], str(tmp_path))
    umask = os.umask(0o022)
    os.umask(umask)
    barrier = threading.Barrier(WRITERS + 1)
    errors: list[BaseException] = []
    done = threading.Event()
    seen = {"ok": 0, "error": 0}

    def writer(model):
        try:
            save = fmt.saver(model, str(tmp_path))
            barrier.wait()
            for _ in range(ROUNDS):
                save()
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    def reader():
        target = small_model(0)
        barrier.wait()
        while not done.is_set():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fmt.load(target, path)
            except CLEAN_ERRORS as exc:
                if name not in MULTI_FILE:
                    errors.append(exc)
                seen["error"] += 1
                continue
            except BaseException as exc:  # noqa: B036 - reported below
                errors.append(exc)
                return
            if not any(same(weights(target), v) for v in versions):
                errors.append(AssertionError(f"{name}: a concurrent load mixed versions"))
            seen["ok"] += 1

    threads = [threading.Thread(target=writer, args=(m,)) for m in models]
    read_thread = threading.Thread(target=reader)
    for t in [*threads, read_thread]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    read_thread.join()
    assert not errors, errors[:3]
    _check_final(name, path, versions)
    assert os.umask(umask) == umask, "concurrent saves changed the process umask"


@pytest.mark.parametrize("name", CONCURRENT)
def test_processes_saving_to_one_path(tmp_path, name):
    fmt = FORMATS[name]
    versions = _versions()
    path = fmt.save(small_model(1), str(tmp_path))
    read_end, write_end = os.pipe()
    pids = []
    for seed in range(1, WRITERS + 1):
        model = small_model(seed)
        save = fmt.saver(model, str(tmp_path))
        pid = os.fork()
        if pid == 0:  # child: wait for the start signal, then save repeatedly
            status = 1
            try:
                os.close(write_end)
                os.read(read_end, 1)
                for _ in range(ROUNDS):
                    save()
                status = 0
            finally:
                os._exit(status)
        pids.append(pid)
    os.close(read_end)
    os.write(write_end, b"x" * WRITERS)  # start all writers at once
    os.close(write_end)
    statuses = [os.waitpid(pid, 0)[1] for pid in pids]
    assert all(os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0 for s in statuses), statuses
    _check_final(name, path, versions)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")
def test_umask_is_read_without_changing_it(monkeypatch):
    """Regression: paths._umask set the process-wide umask and restored it; threads saving
    at once could interleave and leave the temporary 022 behind."""
    from numkeras.saving import paths

    mask = os.umask(0o027)
    try:
        def forbidden(value):
            raise AssertionError("os.umask called")

        monkeypatch.setattr(os, "umask", forbidden)
        assert paths._umask() == 0o027
    finally:
        monkeypatch.undo()
        os.umask(mask)
