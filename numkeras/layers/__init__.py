"""Keras layers, one family per module. ``from numkeras import layers`` mirrors ``tf.keras.layers``."""

from numkeras.engine.base_layer import Layer
from numkeras.engine.input_layer import Input, InputLayer
from numkeras.layers.core import Activation, Dense, Dropout, Embedding, Flatten, Reshape
from numkeras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    concatenate,
)
from numkeras.layers.normalization import BatchNormalization, LayerNormalization

__all__ = [
    "Layer", "Input", "InputLayer", "Activation", "Dense", "Dropout", "Embedding", "Flatten",
    "Reshape", "Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
    "add", "concatenate", "BatchNormalization", "LayerNormalization",
]
