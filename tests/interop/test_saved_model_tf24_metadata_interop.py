"""SavedModels laid out as TF 2.4 wrote them: the Keras metadata lives in saved_model.pb's
object graph (``SavedObject.user_object.metadata``) and there is no keras_metadata.pb.

The fixture is a tf-keras 2.21 SavedModel rewritten into that layout with TF's own protobuf
classes; tf-keras 2.21's load_model reads it, and so must numkeras."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tf_side import assert_close_outputs, assert_same_weights, random_weights, tensorflow, tf_keras

import numkeras
from numkeras.models import load_model


def _to_tf24_layout(folder: str) -> None:
    tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2
    from tf_keras.protobuf import saved_metadata_pb2

    meta = saved_metadata_pb2.SavedMetadata()
    with open(os.path.join(folder, "keras_metadata.pb"), "rb") as f:
        meta.ParseFromString(f.read())
    model = saved_model_pb2.SavedModel()
    with open(os.path.join(folder, "saved_model.pb"), "rb") as f:
        model.ParseFromString(f.read())
    nodes = model.meta_graphs[0].object_graph_def.nodes
    for node in meta.nodes:
        nodes[node.node_id].user_object.metadata = node.metadata
    with open(os.path.join(folder, "saved_model.pb"), "wb") as f:
        f.write(model.SerializeToString())
    os.remove(os.path.join(folder, "keras_metadata.pb"))


def _model(tfk):
    L = tfk.layers
    inp = L.Input((6, 3))
    x = L.Conv1D(4, 3, activation="relu")(inp)
    x = L.LSTM(3)(x)
    return tfk.Model(inp, L.Dense(2)(L.BatchNormalization()(x)))


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_tf24_style_saved_model_loads_like_tf_keras(tmp_path, kind):
    tfk = tf_keras()
    if kind == "functional":
        theirs = _model(tfk)
    else:
        theirs = tfk.Sequential([tfk.layers.Dense(4, activation="relu", input_shape=(5,)),
                                 tfk.layers.Dense(2)])
    theirs.set_weights(random_weights(theirs, 2))
    folder = str(tmp_path / "sm")
    theirs.save(folder, save_format="tf")
    _to_tf24_layout(folder)
    assert not os.path.exists(os.path.join(folder, "keras_metadata.pb"))
    x = np.random.default_rng(0).standard_normal(
        (2, 6, 3) if kind == "functional" else (2, 5)).astype("float32")
    expected = theirs.predict(x, verbose=0)
    reloaded = tf_keras().models.load_model(folder)  # tf-keras reads this layout too
    assert_close_outputs(reloaded.predict(x, verbose=0), expected)
    numkeras.backend.clear_session()
    ours = load_model(folder)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert_same_weights(ours.get_weights(), theirs.get_weights())
    assert_close_outputs(ours.predict(x), expected)
    from numkeras.saving.tf_checkpoint.inspect import has_keras_metadata

    assert has_keras_metadata(folder)


def test_saved_model_without_any_keras_metadata_is_explained(tmp_path):
    tf = tensorflow()

    class Plain(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = tf.Variable(1.0)

    folder = str(tmp_path / "plain")
    tf.saved_model.save(Plain(), folder)
    with pytest.raises(ValueError, match="without Keras metadata"):
        load_model(folder)
