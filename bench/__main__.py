"""Run every benchmark and print a Markdown table (``make bench``).

Speed and memory are measured here, never in the test suite. Each case runs in a fresh
process; "max RSS" is that process's peak resident memory (imports included).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

FORMATS = [(".h5", "HDF5 .h5"), ("", "TF checkpoint"), (".weights.h5", "Keras 3 .weights.h5")]


def _run_case(*args: str) -> dict | None:
    proc = subprocess.run([sys.executable, "-m", "bench.cases", *args], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": err[:80]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _import_time(module: str, repeat: int = 10) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def _fmt(result: dict | None) -> str:
    if result is None:
        return "-"
    if "error" in result:
        return f"error: {result['error']}"
    return f"{result['seconds']:.3f} s / {result['max_rss_mb']:.0f} MB"


def main() -> None:
    numpy_t, numkeras_t = _import_time("numpy"), _import_time("numkeras")
    print("## Import time (best of 10 fresh interpreters)\n")
    print(f"`import numpy`: {numpy_t * 1000:.0f} ms; `import numkeras`: "
          f"{numkeras_t * 1000:.0f} ms ({numkeras_t / numpy_t:.2f}x)\n")
    print("## Weights (time of the operation, best of 3 / peak RSS of the process)\n")
    print("Models: *wide* = 2,000 Dense(16) layers (4,000 small variables); "
          "*big* = 4 Dense(4096) layers without bias (256 MiB of float32).\n")
    print("| operation | model | numkeras | tf-keras 2.21 |")
    print("|---|---|---|---|")
    for shape in ("wide", "big"):
        row = [_run_case("weights_api", lib, shape) for lib in ("numkeras", "tf_keras")]
        print(f"| get_weights + set_weights | {shape} | {_fmt(row[0])} | {_fmt(row[1])} |")
        for suffix, label in FORMATS:
            for phase in ("save", "load"):
                row = [_run_case(phase, lib, shape, suffix) for lib in ("numkeras", "tf_keras")]
                print(f"| {phase} {label} | {shape} | {_fmt(row[0])} | {_fmt(row[1])} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
