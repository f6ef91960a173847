"""Masks in Keras 3-style configs: the operation nodes Keras 3.15 writes for them.

Keras 3 saves ``Embedding(mask_zero=True)`` -> LSTM as a ``NotEqual`` node and ``mask=`` in the
LSTM's call (``Masking``: ``NotEqual`` + ``Any``; merges of masked inputs: ``LogicalOr``).
numkeras writes the same nodes, Keras 3 loads them with numkeras's outputs (also when the
model has an operation of its own named ``not_equal``), and numkeras reads Keras 3's files
with Keras 3's outputs and writes them back without doubling the mask nodes.
"""

import json
import zipfile
from collections import Counter

import numpy as np
from tf_side import (
    assert_close_outputs,
    assert_same_weights,
    keras3,
    outputs_then_save,
    random_weights,
    tf_outputs,
)

import numkeras as nk
from numkeras import ops as nk_ops


def _build(k, ops):
    ids = k.Input((5,), dtype="int32", name="ids")
    x = k.Input((5, 3), name="x")
    e = k.layers.Embedding(10, 3, mask_zero=True, name="emb")(ids)
    seq = k.layers.LSTM(4, return_sequences=True, name="lstm")(e)
    last = k.layers.GRU(2, name="gru")(seq)
    m = k.layers.Masking(0.0, name="masking")(x)
    both = k.layers.Add(name="add")([e, m])
    merged = k.layers.SimpleRNN(2, name="rnn")(both)
    pooled = k.layers.GlobalAveragePooling1D(name="gap")(k.layers.Dense(3, name="dense")(e))
    own = ops.cast(ops.not_equal(ids, 1), "float32")  # a user operation named not_equal
    return k.Model([ids, x], [last, merged, pooled, own])


def _inputs():
    rng = np.random.default_rng(5)
    ids = np.array([[0, 3, 0, 7, 1], [1, 0, 2, 0, 0]], np.int32)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    x[0, 1] = 0.0
    x[1, 3:] = 0.0
    return [ids, x]


def _layers(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))["config"]["layers"]


def _mask_sources(layers):
    """For each layer given mask=, the class of the node its mask comes from."""
    cls = {la["name"]: la["class_name"] for la in layers}
    out = {}
    for la in layers:
        for node in la.get("inbound_nodes") or []:
            mask = node.get("kwargs", {}).get("mask")
            if mask is not None:
                out[la["name"]] = cls[mask["config"]["keras_history"][0]]
    return out


def test_numkeras_writes_keras3s_mask_nodes_and_keras3_computes_the_same(tmp_path):
    k3 = keras3()
    theirs = _build(k3, k3.ops)
    theirs.save(str(tmp_path / "k3.keras"))
    nk.backend.clear_session()
    ours = _build(nk, nk_ops)
    ours.set_weights(random_weights(ours))
    inputs = _inputs()
    expected = ours.predict(inputs)
    ours.save(str(tmp_path / "nk.keras"))
    written, reference = _layers(tmp_path / "nk.keras"), _layers(tmp_path / "k3.keras")
    # the one deliberate difference: tf-keras's Add ANDs its inputs' masks, Keras 3's ORs them
    assert Counter(la["class_name"] for la in written) == Counter(
        la["class_name"].replace("LogicalOr", "LogicalAnd") for la in reference)
    assert _mask_sources(reference) == {
        "lstm": "NotEqual", "gru": "NotEqual", "rnn": "LogicalOr", "gap": "NotEqual"}
    assert _mask_sources(written) == {**_mask_sources(reference), "rnn": "LogicalAnd"}
    loaded = k3.models.load_model(str(tmp_path / "nk.keras"))
    for a, b in zip(tf_outputs(loaded, inputs), expected):
        assert_close_outputs(a, b)


def test_keras3_mask_nodes_load_and_are_written_back_once(tmp_path):
    k3 = keras3()
    model = _build(k3, k3.ops)
    inputs = _inputs()
    expected = outputs_then_save(model, inputs, str(tmp_path / "k3.keras"))
    nk.backend.clear_session()
    ours = nk.models.load_model(str(tmp_path / "k3.keras"))
    for a, b in zip(ours.predict(inputs), expected):
        assert_close_outputs(a, b)
    ours.save(str(tmp_path / "again.keras"))
    reference, written = _layers(tmp_path / "k3.keras"), _layers(tmp_path / "again.keras")
    assert Counter(la["class_name"] for la in written) == Counter(
        la["class_name"] for la in reference)
    assert _mask_sources(written) == _mask_sources(reference)
    again = k3.models.load_model(str(tmp_path / "again.keras"))
    assert_same_weights([np.asarray(w) for w in again.get_weights()],
                        [np.asarray(w) for w in model.get_weights()])
    for a, b in zip(tf_outputs(again, inputs), expected):
        assert_close_outputs(a, b)
