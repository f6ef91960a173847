"""Weights I/O against the hardware limit (``python -m bench io``).

Each case runs in a fresh process (``python -m bench.weights_io CASE ...``) and prints one JSON
line. Two models:

- *big*: 8 ``Dense(4096, use_bias=False)`` layers in a chain, 512 MiB of float32;
- *many*: N ``Dense(8)`` layers, each called on one shared 8-wide input (N = 2,000 by default;
  1k, 5k and 10k show how time grows with the number of layers).

Two baselines for the same bytes, measured in the same run:

- *raw write*: the model's arrays written to one file with ``os.write`` and ``fsync`` (the
  durable limit of a save);
- *raw read*: that file read with ``readinto`` into arrays that already exist (the limit of a
  load into a built model).

Formats: legacy ``.h5``, TF checkpoints, Keras 3 ``.weights.h5``, ``.keras`` (saved with
``model.save``, loaded with ``load_weights``: the weights part), sharded ``.weights.json``,
safetensors and ``.npz``. The second column is tf-keras 2.21, or Keras 3 where only it has the
format (``.weights.json``), or empty (safetensors and ``.npz`` are numkeras's own).

"peak RSS above the model" is the process's peak resident memory during the operation minus
its resident memory just before it (model built, file written by an earlier process).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

FORMATS = {"h5": ".h5", "tf": "", "weights.h5": ".weights.h5", "keras": ".keras",
           "weights.json": ".weights.json", "safetensors": ".safetensors", "npz": ".npz"}
#: Formats saved with ``model.save`` (a ``.keras`` archive holds the config too); their
#: loads are ``load_weights`` into the built model, as for the others.
MODEL_SAVES = {"keras"}
#: The library of the second column where tf-keras has no such save (``None``: no column).
SECOND = {"weights.json": "keras3", "safetensors": None, "npz": None}
REPEAT = 3


def _keras(lib: str):
    if lib == "numkeras":
        import numkeras

        return numkeras
    if lib == "keras3":
        import keras

        return keras
    import tf_keras

    return tf_keras


def _saver(model, fmt: str):
    """The save of ``fmt`` (``model.save`` for a ``.keras`` archive, else ``save_weights``;
    ``.weights.json`` with Keras 3's ``max_shard_size`` of 5 GB, numkeras's default)."""
    if fmt in MODEL_SAVES:
        return model.save
    if fmt == "weights.json":
        return lambda path: model.save_weights(path, max_shard_size=5)
    return model.save_weights


def build(k, shape: str):
    """The benchmark model ``shape`` (``big`` or ``many<N>``) built with keras module ``k``."""
    if shape == "big":
        inp = k.Input((4096,))
        x = inp
        for _ in range(8):
            x = k.layers.Dense(4096, use_bias=False, kernel_initializer="ones")(x)
        return k.Model(inp, x)
    count = int(shape[len("many"):])
    inp = k.Input((8,))
    return k.Model(inp, [k.layers.Dense(8)(inp) for _ in range(count)])


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best(fn, repeat: int = REPEAT) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _arrays(model):
    return [w.numpy() if hasattr(w, "numpy") else w for w in model.get_weights()]


def case_raw(folder: str, shape: str) -> dict:
    """Raw write (+fsync) and raw read (readinto existing arrays) of the model's bytes."""
    import numpy as np

    import numkeras

    arrays = _arrays(build(numkeras, shape))
    path = os.path.join(folder, "raw.bin")

    def write():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for a in arrays:
                os.write(fd, memoryview(np.ascontiguousarray(a)).cast("B"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def read():
        with open(path, "rb", buffering=0) as f:
            for a in arrays:
                f.readinto(memoryview(a).cast("B"))

    return {"write": _best(write), "read": _best(read)}


def case_op(lib: str, folder: str, shape: str, fmt: str, phase: str,
            repeat: str = str(REPEAT)) -> dict:
    """Save or load ``shape`` in ``fmt`` with ``lib`` (best of ``repeat``); loads read a
    file an earlier process wrote (``prepare``, or a ``save`` of the same case), so the
    process holds only the built model before the load."""
    k = _keras(lib)
    model = build(k, shape)
    path = os.path.join(folder, f"{lib}-{shape}-w{FORMATS[fmt]}")
    save = _saver(model, fmt)
    if phase == "prepare":
        save(path)
        return {}
    _warm_up(k, folder, fmt, phase)
    import gc

    gc.collect()
    before = _rss_now_mb()
    _reset_peak()
    if phase == "save":
        seconds = _best(lambda: save(path), int(repeat))
    else:
        seconds = _best(lambda: model.load_weights(path), int(repeat))
    return {"seconds": seconds, "rss_above_mb": max(0.0, _peak_mb() - before)}


def _warm_up(k, folder: str, fmt: str, phase: str) -> None:
    """Save (and load) a one-layer model in ``fmt`` first: imports (h5py, protobuf) and
    first-use costs are not timed, even in a single run."""
    inp = k.Input((2,))
    small = k.Model(inp, k.layers.Dense(2)(inp))
    path = os.path.join(folder, f"warm-up-{os.getpid()}-w{FORMATS[fmt]}")
    _saver(small, fmt)(path)
    if phase == "load":
        small.load_weights(path)


def case_lazy(folder: str, fmt: str) -> dict:
    """Open a 1 GiB file of ``fmt`` with ``numkeras.saving.read_weights`` (nothing read yet)."""
    import numkeras
    from numkeras import saving

    path = os.path.join(folder, f"lazy-w{FORMATS[fmt]}")
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        inp = numkeras.Input((8192,))
        x = inp
        for _ in range(4):
            x = numkeras.layers.Dense(8192, use_bias=False, kernel_initializer="zeros")(x)
        big = numkeras.Model(inp, x)
        _saver(big, fmt)(path)
        del big
    if not hasattr(saving, "read_weights"):
        return {"error": "numkeras.saving.read_weights does not exist yet"}
    # Warm-up on a small file of the same format: imports (h5py, protobuf) are not timed.
    small = os.path.join(folder, f"lazy-small{FORMATS[fmt]}")
    small_model = numkeras.Sequential([numkeras.layers.Dense(2, input_shape=(2,))])
    _saver(small_model, fmt)(small)
    list(saving.read_weights(small))
    start = time.perf_counter()
    weights = saving.read_weights(path)
    names = list(weights)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "entries": len(names)}


def main(argv: list[str]) -> None:
    name, *rest = argv
    if name == "raw":
        out = case_raw(*rest)
    elif name == "op":
        out = case_op(*rest)
    elif name == "lazy":
        out = case_lazy(*rest)
    else:
        raise SystemExit(f"unknown case {name}")
    print(json.dumps(out))


# -- the table ----------------------------------------------------------------------------
def _run(*args: str) -> dict:
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "bench.weights_io", *args], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": err[:100]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _have_tf_keras() -> bool:
    import importlib.util

    return importlib.util.find_spec("tf_keras") is not None


def _cell(result: dict, base: float | None, show_rss: bool = False) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    text = f"{result['seconds']:.3f} s"
    if base:
        text += f" ({result['seconds'] / base:.2f}x)"
    if show_rss:
        text += f", +{result['rss_above_mb']:.0f} MiB"
    return text


def table(shapes=("big", "many2000"), scaling=("many1000", "many5000", "many10000")) -> None:
    """Print the weights-I/O table (numkeras and, if installed, tf-keras, alternating)."""
    libs = ["numkeras"] + (["tf_keras"] if _have_tf_keras() else [])
    header = ["numkeras"] + (["tf-keras 2.21 (Keras 3 where marked)"] if len(libs) > 1 else [])
    with tempfile.TemporaryDirectory() as folder:
        print("## Weights I/O against raw disk I/O (best of 3, warm page cache)\n")
        print("Ratios are to the raw baselines of the same bytes in the same run: saves to "
              "*raw write + fsync*, loads to *raw read into existing arrays*. tf-keras's saves "
              "do not fsync. RSS: peak above the built model during the operation.\n")
        for shape in shapes:
            raw = _run("raw", folder, shape)
            if "error" in raw:
                print(f"raw baseline failed for {shape}: {raw['error']}\n")
                continue
            print(f"### {shape}: raw write + fsync {raw['write']:.3f} s, raw read "
                  f"{raw['read']:.3f} s\n")
            print("| operation | " + " | ".join(header) + " |")
            print("|---|" + "---|" * len(header))
            for fmt in FORMATS:
                row_libs = [lib if lib == "numkeras" else SECOND.get(fmt, lib) for lib in libs]
                for phase, base in (("save", raw["write"]), ("load", raw["read"])):
                    cells = []
                    for lib in row_libs:
                        if lib is None:
                            cells.append("-")
                            continue
                        if phase == "load":
                            _run("op", lib, folder, shape, fmt, "prepare")
                        cell = _cell(_run("op", lib, folder, shape, fmt, phase), base,
                                     show_rss=True)
                        cells.append(cell + (" (Keras 3)" if lib == "keras3" else ""))
                    how = " (model.save)" if phase == "save" and fmt in MODEL_SAVES else ""
                    print(f"| {phase} {fmt}{how} | " + " | ".join(cells) + " |")
                    sys.stdout.flush()
            print()
        if scaling:
            print("### Growth with the number of layers (numkeras; Dense(8) on a shared input; "
                  "one run of each operation, the load reading the file the save wrote)\n")
            print("| layers | " + " | ".join(f"{p} {f}" for f in FORMATS for p in ("save", "load"))
                  + " |")
            print("|---|" + "---|" * (2 * len(FORMATS)))
            for shape in scaling:
                cells = []
                for fmt in FORMATS:
                    saved = _run("op", "numkeras", folder, shape, fmt, "save", "1")
                    cells.append(_cell(saved, None))
                    if "error" in saved:
                        _run("op", "numkeras", folder, shape, fmt, "prepare")
                    cells.append(_cell(_run("op", "numkeras", folder, shape, fmt, "load", "1"),
                                       None))
                print(f"| {shape[4:]} | " + " | ".join(cells) + " |")
                sys.stdout.flush()
            print()
        print("### Lazy open of a 1 GiB file (`numkeras.saving.read_weights`)\n")
        print("| format | open + list names |")
        print("|---|---|")
        for fmt in FORMATS:
            print(f"| {fmt} | {_cell(_run('lazy', folder, fmt), None)} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
