"""Run every benchmark and print Markdown tables (``make bench``; ``python -m bench forward``
runs one section: ``import``, ``io``, ``weights`` or ``forward``).

Speed and memory are measured here, never in the test suite. Each case runs in a fresh
process; "max RSS" is that process's peak resident memory (imports included).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

APPLICATIONS = ["MobileNetV2", "ResNet50", "ResNet50V2", "VGG16", "EfficientNetB0", "DenseNet121"]
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


FORWARD_LIBS = (("numkeras-numpy", "numkeras NumPy"), ("numkeras-onnx", "numkeras ONNX Runtime"),
                ("tf_keras", "tf-keras 2.21"))


def _forward() -> None:
    print("## Forward pass (`model.predict`, 224x224x3, float32, CPU; best of 3 after a warm-up "
          "call / peak RSS of the process)\n")
    print("Each application is built with `weights=None` and `include_top=True`. *NumPy* is "
          "`predict(x, engine=\"numpy\")`, *ONNX Runtime* is `predict(x)` with onnxruntime "
          "installed (the default engine; export and session creation happen in the warm-up "
          "call and are not timed).\n")
    print("| application | batch | " + " | ".join(label for _, label in FORWARD_LIBS)
          + " | ONNX Runtime / tf-keras |")
    print("|---|---|" + "---|" * len(FORWARD_LIBS) + "---|")
    for app in APPLICATIONS:
        for batch in ("1", "8"):
            results = [_run_case("forward", lib, app, batch) for lib, _ in FORWARD_LIBS]
            ort_r, tf_r = results[1], results[2]
            ratio = (f"{ort_r['seconds'] / tf_r['seconds']:.2f}x"
                     if "seconds" in ort_r and "seconds" in tf_r else "-")
            print(f"| {app} | {batch} | " + " | ".join(_fmt(r) for r in results)
                  + f" | {ratio} |")
            sys.stdout.flush()


def main(sections: list[str]) -> None:
    """Run the given sections (``import``, ``io``, ``weights``, ``forward``), or all of them."""
    sections = sections or ["import", "io", "weights", "forward"]
    if "import" in sections:
        _imports()
    if "io" in sections:
        from bench import weights_io

        weights_io.table()
    if "weights" in sections:
        _weights()
    if "forward" in sections:
        _forward()


def _imports() -> None:
    numpy_t, numkeras_t = _import_time("numpy"), _import_time("numkeras")
    print("## Import time (best of 10 fresh interpreters)\n")
    print(f"`import numpy`: {numpy_t * 1000:.0f} ms; `import numkeras`: "
          f"{numkeras_t * 1000:.0f} ms ({numkeras_t / numpy_t:.2f}x)\n")


def _weights() -> None:
    print("## Weights (time of the operation, best of 3 / peak RSS of the process)\n")
    print("Models: *wide* = 400 Dense(16) layers (800 small variables); *deep* = 2,000 "
          "Dense(16) layers (tf-keras cannot build it: RecursionError); *big* = 4 Dense(4096) "
          "layers without bias (256 MiB of float32).\n")
    print("| operation | model | numkeras | tf-keras 2.21 |")
    print("|---|---|---|---|")
    for shape in ("wide", "deep", "big"):
        row = [_run_case("weights_api", lib, shape) for lib in ("numkeras", "tf_keras")]
        print(f"| get_weights + set_weights | {shape} | {_fmt(row[0])} | {_fmt(row[1])} |")
        for suffix, label in FORMATS:
            for phase in ("save", "load"):
                row = [_run_case(phase, lib, shape, suffix) for lib in ("numkeras", "tf_keras")]
                print(f"| {phase} {label} | {shape} | {_fmt(row[0])} | {_fmt(row[1])} |")
        sys.stdout.flush()
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
