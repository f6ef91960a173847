"""Write ``tests/data/layers/``: tf-keras 2.21's outputs for the cases of ``golden_layers.py``.

Run through ``tests/data/regenerate.py layers`` (see its docstring). For each case the graph is
built in tf-keras, given ``golden_layers.random_weights(model)`` and called on the case's inputs
with ``training=False``. ``layers.npz`` holds ``<case>/<i>`` (the i-th flattened output);
``layers.json`` holds per case the weight names and shapes and the symbolic output shapes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "layers"


def main() -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    import tf_keras

    sys.path.insert(0, str(HERE))
    import golden_layers as gl

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    arrays, index = {}, {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                         "cases": {}}
    for name, (build, specs, inputs) in gl.CASES.items():
        tf_keras.backend.clear_session()
        tf_inputs = [tf_keras.Input(shape, dtype=dtype) for shape, dtype in specs]
        outputs = build(tf_keras.layers, *tf_inputs)
        model = tf_keras.Model(tf_inputs, outputs)
        model.set_weights(gl.random_weights(model))
        result = gl.flat(model(inputs if len(inputs) > 1 else inputs[0], training=False))
        for i, value in enumerate(result):
            arrays[f"{name}/{i}"] = np.asarray(value)
        index["cases"][name] = {
            "weights": [[w.name, list(w.shape)] for w in model.weights],
            "output_shapes": [list(t.shape) for t in gl.flat(outputs)],
        }
    np.savez_compressed(OUT / "layers.npz", **arrays)
    (OUT / "layers.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:8d} {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
