"""Property-based round trips: random small models saved and loaded in every format.

Hypothesis draws small stacks of ``numkeras.layers`` (Embedding, Conv1D, LSTM, GRU,
SimpleRNN, BatchNormalization, LayerNormalization, Dense ...) with random widths, random
dtypes (float32/float64) and random ``trainable`` flags; random values are set, the model is
saved in each format and loaded into an identically built model with other values, and
every weight must come back bit for bit (shape, dtype, values).

These are numkeras-only round trips: they test that our writers and readers agree with each
other on arbitrary models, i.e. robustness -- not compatibility with TensorFlow, which the
interop tests in ``tests/interop/`` cover with real TF 2.21 / tf-keras / Keras 3 files.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness_formats import FORMATS, assert_same, weights

import numkeras as nk
from numkeras import backend, layers

ROUND_TRIP_FORMATS = ["h5", "tf", "weights_h5", "weights_json", "keras", "train_ckpt"]

SEQUENCE_LAYERS = ["dense", "conv1d", "lstm", "gru", "simple_rnn", "batch_norm",
                   "layer_norm", "bidirectional"]


@st.composite
def model_specs(draw):
    """``(start, [(kind, width, dtype, trainable)], head)``: a recipe to build twice."""
    start = draw(st.sampled_from(["embedding", "features"]))
    body = draw(st.lists(st.tuples(st.sampled_from(SEQUENCE_LAYERS),
                                   st.integers(1, 4),
                                   st.sampled_from(["float32", "float64"]),
                                   st.booleans()),
                         min_size=0, max_size=4))
    head = draw(st.tuples(st.integers(1, 3), st.booleans()))
    return start, body, head


def build(spec):
    start, body, (head_units, head_trainable) = spec
    stack = []
    if start == "embedding":
        stack.append(layers.Embedding(7, 3, input_length=5))
    else:
        stack.append(layers.InputLayer(input_shape=(5, 2)))
    for kind, width, dtype, trainable in body:
        layer = {
            "dense": lambda w, d: layers.Dense(w, dtype=d),
            "conv1d": lambda w, d: layers.Conv1D(w, 2, padding="same", dtype=d),
            "lstm": lambda w, d: layers.LSTM(w, return_sequences=True, dtype=d),
            "gru": lambda w, d: layers.GRU(w, return_sequences=True, dtype=d),
            "simple_rnn": lambda w, d: layers.SimpleRNN(w, return_sequences=True, dtype=d),
            "batch_norm": lambda w, d: layers.BatchNormalization(dtype=d),
            "layer_norm": lambda w, d: layers.LayerNormalization(dtype=d),
            "bidirectional": lambda w, d: layers.Bidirectional(
                layers.LSTM(w, return_sequences=True, dtype=d), dtype=d),
        }[kind](width, dtype)
        layer.trainable = trainable
        stack.append(layer)
    stack.append(layers.Flatten())
    head = layers.Dense(head_units)
    head.trainable = head_trainable
    stack.append(head)
    model = nk.Sequential(stack)
    model.build()
    return model


def randomize(model, rng) -> list[np.ndarray]:
    values = [rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()]
    model.set_weights(values)
    return weights(model)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=model_specs(), seed=st.integers(0, 2 ** 16))
def test_random_models_round_trip_in_every_format(spec, seed):
    backend.clear_session()
    rng = np.random.default_rng(seed)
    source = build(spec)
    saved = randomize(source, rng)
    # sharded: shards as small as the largest variable allows (several shards per model)
    shard_gb = max([64] + [w.nbytes for w in saved]) / 1024 ** 3
    for name in ROUND_TRIP_FORMATS:
        fmt = FORMATS[name]
        with tempfile.TemporaryDirectory() as folder:
            if name == "weights_json":
                path = os.path.join(folder, "w.weights.json")
                source.save_weights(path, max_shard_size=shard_gb)
            else:
                path = fmt.save(source, folder)
            target = build(spec)
            randomize(target, rng)
            fmt.load(target, path)
            assert_same(weights(target), saved)
