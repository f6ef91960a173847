"""Write ``tests/data/formats/``: every weights/model format, written by real TensorFlow.

Run through ``tests/data/regenerate.py formats`` (see its docstring), in the venv with
TensorFlow 2.21, tf-keras 2.21 (``TF_USE_LEGACY_KERAS=1``) and Keras 3.

For each model of ``golden_models.py`` (``conv``, ``recurrent``), with fixed random weights:

- ``<kind>.h5``: tf-keras ``save_weights`` (legacy HDF5 weights);
- ``<kind>_model.h5``: tf-keras ``save`` (full model, HDF5);
- ``<kind>_ckpt/``: tf-keras ``save_weights`` in TF format (checkpoint prefix ``weights``);
- ``<kind>_savedmodel/``: tf-keras ``save(save_format="tf")``, keeping ``keras_metadata.pb`` and
  ``variables/`` only (what numkeras reads; ``saved_model.pb`` holds TF graphs and is large);
- ``<kind>_tfkeras.keras``, ``<kind>_tfkeras.weights.h5``: tf-keras ``save`` and
  ``save_weights`` in the Keras v3 formats;
- ``<kind>_k3.keras``, ``<kind>_k3.weights.h5``, ``<kind>_k3_sharded.weights.json`` (+ shards):
  Keras 3.

``expected.npz`` holds what TF says about them: ``<kind>/x`` (the input), ``<kind>/tf_y`` and
``<kind>/k3_y`` (tf-keras's and Keras 3's outputs), ``<kind>/tf_w/<i>`` (tf-keras
``get_weights()``), ``<kind>/k3/<layer>/<i>`` (Keras 3 weights by layer). ``manifest.json``
holds the versions, tf-keras's weight names and ``tf.train.list_variables`` of the checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "formats"


def main() -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf
    import tf_keras

    sys.path.insert(0, str(HERE))
    import golden_models as gm

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    expected: dict[str, np.ndarray] = {}
    manifest: dict = {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                      "keras": keras.__version__, "models": {}}
    for kind, build in gm.BUILDERS.items():
        x = gm.inputs_for(kind)
        expected[f"{kind}/x"] = x

        tf_keras.backend.clear_session()
        theirs = build(tf_keras)
        theirs.set_weights(gm.random_weights(theirs, 1))
        expected[f"{kind}/tf_y"] = theirs.predict(x, verbose=0)
        for i, w in enumerate(theirs.get_weights()):
            expected[f"{kind}/tf_w/{i}"] = np.asarray(w)
        theirs.save_weights(str(OUT / f"{kind}.h5"))
        theirs.save(str(OUT / f"{kind}_model.h5"))
        theirs.save_weights(str(OUT / f"{kind}_ckpt" / "weights"))
        theirs.save(str(OUT / f"{kind}_tfkeras.keras"))
        theirs.save_weights(str(OUT / f"{kind}_tfkeras.weights.h5"))
        sm = OUT / f"{kind}_savedmodel"
        theirs.save(str(sm), save_format="tf")
        for extra in ("saved_model.pb", "fingerprint.pb", "assets"):
            target = sm / extra
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        manifest["models"][kind] = {
            "tf_weight_names": [w.name for w in theirs.weights],
            "tf_layer_names": [layer.name for layer in theirs.layers],
            "ckpt_variables": [[k, list(s)] for k, s in
                               tf.train.list_variables(str(OUT / f"{kind}_ckpt" / "weights"))],
        }

        keras.utils.clear_session()
        k3 = build(keras)
        k3.set_weights(gm.random_weights(k3, 2))
        expected[f"{kind}/k3_y"] = np.asarray(k3.predict(x, verbose=0))
        for layer, weights in gm.by_layer(k3).items():
            for i, w in enumerate(weights):
                expected[f"{kind}/k3/{layer}/{i}"] = w
        k3.save(str(OUT / f"{kind}_k3.keras"))
        k3.save_weights(str(OUT / f"{kind}_k3.weights.h5"))
        sizes = [np.asarray(w).nbytes for w in k3.get_weights()]
        shard_bytes = max(max(sizes), sum(sizes) // 3)  # a few shards, each variable fits
        k3.save_weights(str(OUT / f"{kind}_k3_sharded.weights.json"),
                        max_shard_size=shard_bytes / 1024**3)
        shards = sorted(p.name for p in OUT.glob(f"{kind}_k3_sharded_*.weights.h5"))
        assert len(shards) > 1, shards
        manifest["models"][kind]["k3_shards"] = shards

    np.savez_compressed(OUT / "expected.npz", **expected)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:8d} {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
