"""The command line against real TensorFlow 2.21 / tf-keras 2.21.

- files written by tf-keras are listed by ``numkeras inspect`` exactly as TensorFlow lists
  them (``tf.train.list_variables`` for checkpoints, ``model.weights`` for ``.h5``), and
  ``numkeras verify`` accepts them;
- a ``numkeras convert``-ed file (numkeras ``.keras`` -> ``.h5``) loads in tf-keras with
  identical weights.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
from tf_side import assert_same_weights, random_weights, tensorflow, tf_keras

import numkeras as nk
from numkeras import cli


def _build(k):
    inputs = k.Input((5,), name="features")
    x = k.layers.Conv1D(4, 2, name="conv")(k.layers.Reshape((5, 1))(inputs))
    x = k.layers.Flatten()(x)
    x = k.layers.BatchNormalization()(x)
    outputs = k.layers.Dense(3, name="head")(x)
    return k.Model(inputs, outputs, name="small")


def _cli(*argv) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue()


def _inspect_json(path) -> dict:
    code, out = _cli("inspect", path, "--json")
    assert code == 0
    return json.loads(out)


def test_tf_keras_checkpoint_and_h5_are_listed_as_tensorflow_lists_them(tmp_path):
    tf = tensorflow()
    tfk = tf_keras()
    model = _build(tfk)
    model.set_weights(random_weights(model, seed=1))
    prefix = str(tmp_path / "ckpt")
    model.save_weights(prefix)
    model.save_weights(str(tmp_path / "w.h5"))

    info = _inspect_json(prefix)
    assert info["format"] == "tf-checkpoint"
    ours = [(e["name"], e["shape"]) for e in info["entries"]]
    assert ours == [(k, list(s)) for k, s in tf.train.list_variables(prefix)]
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    for e in info["entries"]:
        expected = "string" if dtypes[e["name"]] == tf.string else dtypes[e["name"]].name
        assert e["dtype"] == expected
    by_variable = {e["variable"]: e["shape"] for e in info["entries"] if e["variable"]}
    assert by_variable == {w.name[:-2]: list(w.shape) for w in model.weights}
    assert _cli("verify", prefix)[0] == 0

    info = _inspect_json(tmp_path / "w.h5")
    assert info["format"] == "h5"
    assert [(e["name"], e["shape"]) for e in info["entries"]] == \
        [(w.name, list(w.shape)) for w in model.weights]
    assert info["attributes"]["layer_names"] == [layer.name for layer in model.layers]
    assert _cli("verify", tmp_path / "w.h5")[0] == 0


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
def test_tf_keras_full_model_h5_is_inspected_and_converted(tmp_path):
    tfk = tf_keras()
    model = _build(tfk)
    model.set_weights(random_weights(model, seed=3))
    model.save(str(tmp_path / "full.h5"))
    info = _inspect_json(tmp_path / "full.h5")
    assert info["format"] == "h5-model" and info["has_architecture"]
    assert [(e["name"], e["shape"]) for e in info["entries"]] == \
        [(w.name, list(w.shape)) for w in model.weights]
    code, _ = _cli("convert", tmp_path / "full.h5", tmp_path / "ckpt")
    assert code == 0
    nk.backend.clear_session()
    ours = _build(nk)
    ours.load_weights(str(tmp_path / "ckpt"))
    assert_same_weights(ours.get_weights(), model.get_weights())


def test_converted_h5_loads_in_tf_keras_with_identical_weights(tmp_path):
    nk.backend.clear_session()
    ours = _build(nk)
    rng = np.random.default_rng(5)
    ours.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in ours.weights])
    ours.save(str(tmp_path / "m.keras"))
    code, _ = _cli("convert", tmp_path / "m.keras", tmp_path / "w.h5")
    assert code == 0
    tfk = tf_keras()
    theirs = _build(tfk)
    theirs.load_weights(str(tmp_path / "w.h5"))
    assert_same_weights(theirs.get_weights(), ours.get_weights())


def test_tf_keras_savedmodel_has_an_architecture_and_converts(tmp_path):
    tfk = tf_keras()
    theirs = _build(tfk)
    theirs.set_weights(random_weights(theirs, 4))
    theirs.save(str(tmp_path / "sm"), save_format="tf")
    assert _inspect_json(tmp_path / "sm")["has_architecture"] is True
    code, out = _cli("convert", tmp_path / "sm", tmp_path / "out.h5")
    assert code == 0, out
    again = _build(tfk)
    again.load_weights(str(tmp_path / "out.h5"))
    assert_same_weights(again.get_weights(), theirs.get_weights())
