"""read_weights / diff / convert against files written by tf-keras 2.21 and Keras 3, and files
we write read back by TensorFlow, tf-keras, Keras 3 and the safetensors library.

Expected names and values come from the TF-side model (``model.weights``: tf-keras
``var.name``, Keras 3 ``var.path + ':0'``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from tf_side import keras3, random_weights, tensorflow, tf_keras

from numkeras.saving.weights import read_weights

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*argv, check: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "numkeras", *map(str, argv)],
                          capture_output=True, text=True, env=env, timeout=180, cwd=ROOT)
    assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def _build(k):
    inputs = k.Input((6,))
    x = k.layers.Reshape((6, 1))(inputs)
    x = k.layers.Conv1D(3, 2)(x)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.Flatten()(x)
    outputs = k.layers.Dense(2)(x)
    return k.Model(inputs, outputs)


def _tf_keras_model(seed=1):
    tfk = tf_keras()
    model = _build(tfk)
    model.set_weights(random_weights(model, seed=seed))
    return model


def _keras3_model(seed=1):
    k3 = keras3()
    model = _build(k3)
    model.set_weights(random_weights(model, seed=seed))
    return model


def _theirs(model, keras3_names: bool = False) -> dict:
    return {(v.path + ":0" if keras3_names else v.name): np.asarray(v.numpy())
            for v in model.weights}


def _identical(mapping, expected: dict) -> None:
    assert list(mapping) == list(expected)
    for name, value in expected.items():
        got = np.asarray(mapping[name])
        assert got.dtype == value.dtype and got.shape == value.shape, name
        assert got.tobytes() == value.tobytes(), name


def test_read_weights_of_tf_keras_files(tmp_path):
    model = _tf_keras_model()
    model.save_weights(str(tmp_path / "w.h5"))
    model.save_weights(str(tmp_path / "ckpt"))
    model.save(str(tmp_path / "m.h5"))
    model.save(str(tmp_path / "m.keras"))
    expected = _theirs(model)
    for name in ("w.h5", "ckpt", "m.h5", "m.keras"):
        with read_weights(str(tmp_path / name)) as mapping:
            _identical(mapping, expected)
    run("diff", tmp_path / "w.h5", tmp_path / "ckpt", check=0)
    run("diff", tmp_path / "m.keras", tmp_path / "m.h5", check=0)


def test_read_weights_of_keras3_files(tmp_path):
    model = _keras3_model()
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "w.weights.h5"))
    expected = _theirs(model, keras3_names=True)
    _identical(read_weights(str(tmp_path / "m.keras")), expected)
    _identical(read_weights(str(tmp_path / "w.weights.h5"), model=str(tmp_path / "m.keras")),
               expected)
    info = json.loads(run("inspect", tmp_path / "m.keras", "--json", check=0).stdout)
    assert [e["keras_name"] for e in info["entries"] if e["keras_name"]] != []
    assert sorted(e["keras_name"] for e in info["entries"]) == sorted(expected)


def test_tf_keras_h5_to_safetensors_loads_in_safetensors_with_keras_names(tmp_path):
    from safetensors.numpy import load_file

    model = _tf_keras_model()
    model.save_weights(str(tmp_path / "w.h5"))
    run("convert", tmp_path / "w.h5", tmp_path / "w.safetensors", check=0)
    loaded = load_file(str(tmp_path / "w.safetensors"))
    expected = _theirs(model)
    assert sorted(loaded) == sorted(expected)
    for name, value in expected.items():
        assert loaded[name].tobytes() == value.tobytes()


def test_h5_round_trip_without_architecture_loads_in_tf_keras(tmp_path):
    model = _tf_keras_model()
    model.save_weights(str(tmp_path / "a.h5"))
    run("convert", tmp_path / "a.h5", tmp_path / "b.safetensors", check=0)
    run("convert", tmp_path / "b.safetensors", tmp_path / "c.npz", check=0)
    run("convert", tmp_path / "c.npz", tmp_path / "d.h5", check=0)
    tfk = tf_keras()
    clone = _build(tfk)  # same layer names as `model` (fresh session), other values
    clone.load_weights(str(tmp_path / "d.h5"))
    for a, b in zip(model.weights, clone.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_name_based_checkpoint_without_architecture_loads_in_tensorflow(tmp_path):
    tf = tensorflow()
    model = _tf_keras_model()
    model.save_weights(str(tmp_path / "w.h5"))
    proc = run("convert", tmp_path / "w.h5", tmp_path / "ckpt", check=0)
    assert "name-based" in proc.stdout
    reader = tf.train.load_checkpoint(str(tmp_path / "ckpt"))
    for name, value in _theirs(model).items():
        assert reader.get_tensor(name[:-2]).tobytes() == value.tobytes()
    tfk = tf_keras()
    clone = _build(tfk)
    clone.load_weights(str(tmp_path / "ckpt"))  # tf-keras restores it by variable name
    for a, b in zip(model.weights, clone.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_keras3_keras_to_checkpoint_to_weights_h5_loads_in_keras3_and_tf_keras(tmp_path):
    model = _keras3_model()
    model.save(str(tmp_path / "m.keras"))
    run("convert", tmp_path / "m.keras", tmp_path / "ck" / "ckpt", check=0)
    run("convert", tmp_path / "ck" / "ckpt", tmp_path / "w.weights.h5", "--model",
        tmp_path / "m.keras", check=0)
    run("convert", tmp_path / "w.weights.h5", tmp_path / "w.safetensors", "--model",
        tmp_path / "m.keras", check=0)
    expected = _theirs(model, keras3_names=True)
    _identical(read_weights(str(tmp_path / "w.safetensors")), expected)
    k3 = keras3()
    clone = _build(k3)
    clone.load_weights(str(tmp_path / "w.weights.h5"))
    for a, b in zip(model.weights, clone.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_keras_style_tf_keras_target_loads_in_tf_keras(tmp_path):
    model = _keras3_model()
    model.save(str(tmp_path / "k3.keras"))
    run("convert", tmp_path / "k3.keras", tmp_path / "tfk.keras", "--keras-style", "tf_keras",
        check=0)
    tfk = tf_keras()
    loaded = tfk.models.load_model(str(tmp_path / "tfk.keras"))
    for a, b in zip(model.weights, loaded.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_read_weights_of_a_tf_keras_saved_model(tmp_path):
    model = _tf_keras_model()
    model.save(str(tmp_path / "sm"), save_format="tf")
    _identical(read_weights(str(tmp_path / "sm")), _theirs(model))
    proc = run("convert", tmp_path / "sm", tmp_path / "w.npz", check=0)
    assert "[saved-model]" in proc.stdout
    _identical(read_weights(str(tmp_path / "w.npz")), _theirs(model))


def test_inspect_graph_and_verify_of_tf_keras_and_keras3_files(tmp_path):
    tf = tensorflow()
    model = _tf_keras_model()
    prefix = tmp_path / "ckpt"
    model.save_weights(str(prefix))
    nodes = json.loads(run("inspect", prefix, "--graph", "--json", check=0).stdout)["nodes"]
    keys = {a["key"] for n in nodes for a in n["attributes"]}
    assert keys == {k for k, _ in tf.train.list_variables(str(prefix))} - \
        {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    named = {a["variable"] + ":0" for n in nodes for a in n["attributes"] if a["variable"]}
    assert set(_theirs(model)) <= named
    assert run("verify", prefix, check=0).stdout.startswith("OK ")
    k3model = _keras3_model()
    k3model.save(str(tmp_path / "m.keras"))
    assert run("verify", tmp_path / "m.keras", check=0).stdout.startswith("OK ")
    data = str(prefix) + ".data-00000-of-00001"
    raw = bytearray(open(data, "rb").read())
    raw[3] ^= 0x10
    open(data, "wb").write(bytes(raw))
    proc = run("verify", prefix, check=1)
    assert proc.stdout.startswith("CORRUPT ") and data in proc.stdout
