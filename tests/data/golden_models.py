"""The models behind ``tests/data/formats/``: one builder per model, for any Keras-like module.

``build(k)`` takes ``numkeras``, ``tf_keras`` or Keras 3's ``keras`` and returns the same
architecture with every layer named, so that the layers pair up by name across libraries.
``tests/data/make_formats.py`` builds them with TensorFlow to write the golden files, and
``tests/saving/test_golden_files.py`` builds them with numkeras to read and write the same files.
"""

from __future__ import annotations

import numpy as np


def build_conv(k):
    """Conv2D, BatchNormalization, MaxPooling2D, SeparableConv2D, DepthwiseConv2D, Dense."""
    L = k.layers
    x = k.Input((8, 8, 3), name="img")
    h = L.Conv2D(4, 3, activation="relu", name="c1")(x)
    h = L.BatchNormalization(name="bn")(h)
    h = L.MaxPooling2D(name="mp")(h)
    h = L.SeparableConv2D(5, 2, name="sep")(h)
    h = L.DepthwiseConv2D(2, name="dw")(h)
    return k.Model(x, L.Dense(2, name="o")(L.Flatten(name="fl")(h)), name="imgnet")


def build_recurrent(k):
    """Conv1D, LSTM, Bidirectional(GRU), TimeDistributed(Dense), MultiHeadAttention."""
    L = k.layers
    x = k.Input((6, 4), name="x")
    h = L.Conv1D(5, 3, padding="same", name="conv")(x)
    h = L.LSTM(3, return_sequences=True, name="lstm")(h)
    h = L.Bidirectional(L.GRU(2, return_sequences=True, name="gru"), name="bi")(h)
    h = L.TimeDistributed(L.Dense(3, name="td_d"), name="td")(h)
    h = L.MultiHeadAttention(2, 3, name="mha")(h, h)
    h = L.GlobalAveragePooling1D(name="gap")(h)
    return k.Model(x, L.Dense(2, name="out")(h), name="rnnnet")


BUILDERS = {"conv": build_conv, "recurrent": build_recurrent}
INPUT_SHAPES = {"conv": (2, 8, 8, 3), "recurrent": (2, 6, 4)}


def inputs_for(kind: str) -> np.ndarray:
    """The fixed input the golden outputs were computed on."""
    return np.random.default_rng(3).normal(size=INPUT_SHAPES[kind]).astype("float32")


def random_weights(model, seed: int) -> list[np.ndarray]:
    """Distinct random values for every weight (variances positive), in ``model.weights`` order."""
    rng = np.random.default_rng(seed)
    out = []
    for var in model.weights:
        shape = tuple(var.shape)
        dtype = np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))
        low, high = (0.5, 1.5) if "variance" in var.name else (-1.0, 1.0)
        out.append(rng.uniform(low, high, shape).astype(dtype))
    return out


def by_layer(model) -> dict[str, list[np.ndarray]]:
    """``{layer name: get_weights()}`` over all layers with weights (nested models flattened)."""
    out = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):
            out.update(by_layer(layer))
        elif layer.get_weights():
            out[layer.name] = [np.asarray(w) for w in layer.get_weights()]
    return out
