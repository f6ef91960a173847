"""Benchmark cases. Each runs in its own process: ``python -m bench.cases NAME ARG``.

A case prints one JSON line: ``{"seconds": ..., "max_rss_mb": ...}``; ``seconds`` is the best
of a few repetitions of the timed part only (model building and imports are not timed).
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


def _keras(lib: str):
    if lib == "numkeras":
        import numkeras

        return numkeras
    import tf_keras

    return tf_keras


def _chain(k, depth: int, width: int):
    """``depth`` Dense(width) layers: many small variables (per-object overhead dominates)."""
    inp = k.Input((width,))
    x = inp
    for _ in range(depth):
        x = k.layers.Dense(width)(x)
    return k.Model(inp, x)


def _big(k, layers: int, width: int):
    """A few huge Dense layers: bytes dominate (``layers * width**2 * 4`` bytes)."""
    inp = k.Input((width,))
    x = inp
    for _ in range(layers):
        x = k.layers.Dense(width, use_bias=False, kernel_initializer="zeros")(x)
    return k.Model(inp, x)


def _model(k, shape: str):
    if shape == "wide":
        return _chain(k, 400, 16)
    if shape == "deep":
        return _chain(k, 2000, 16)
    if shape == "big":
        return _big(k, 4, 4096)
    raise ValueError(shape)


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def case_weights_api(lib: str, shape: str) -> float:
    model = _model(_keras(lib), shape)
    values = model.get_weights()
    return _best(lambda: model.set_weights(model.get_weights())) if values else 0.0


def _save_load(lib: str, shape: str, suffix: str, phase: str) -> float:
    k = _keras(lib)
    model = _model(k, shape)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights" + suffix)
        if phase == "save":
            return _best(lambda: model.save_weights(path))
        model.save_weights(path)
        return _best(lambda: model.load_weights(path))


def case_forward(lib: str, app: str, batch: str = "8", size: int = 224) -> float:
    """``model.predict`` on a batch of ``batch`` random ``size``x``size`` images (one warm-up
    call first: tf-keras traces its predict function then, numkeras's ONNX Runtime engine
    exports the model and creates its session). ``lib``: ``numkeras-numpy``,
    ``numkeras-onnx`` (``numkeras`` alone: the default engine) or ``tf_keras``."""
    import numpy as np

    engine = {"numkeras-numpy": "numpy", "numkeras-onnx": "onnx"}.get(lib)
    k = _keras("numkeras" if lib.startswith("numkeras") else lib)
    model = getattr(k.applications, app)(weights=None)
    x = np.random.default_rng(0).uniform(-1, 1, (int(batch), size, size, 3)).astype("float32")
    kwargs = {"engine": engine} if engine else {}
    model.predict(x, batch_size=int(batch), verbose=0, **kwargs)
    return _best(lambda: model.predict(x, batch_size=int(batch), verbose=0, **kwargs),
                 repeat=3 if int(batch) > 1 else 5)


def main(argv: list[str]) -> None:
    name, lib, *rest = argv
    if name == "weights_api":
        seconds = case_weights_api(lib, *rest)
    elif name in ("save", "load"):
        shape, suffix = rest
        seconds = _save_load(lib, shape, suffix, name)
    elif name == "forward":
        seconds = case_forward(lib, *rest)
    else:
        raise SystemExit(f"unknown case {name}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "max_rss_mb": rss}))


if __name__ == "__main__":
    main(sys.argv[1:])
