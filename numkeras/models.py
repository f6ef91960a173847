"""``numkeras.models``: Model, Sequential and model loading (as ``tf.keras.models``)."""

from numkeras.engine.functional_model import Functional
from numkeras.engine.sequential import Sequential
from numkeras.engine.training import Model
from numkeras.saving.serialization import load_model

__all__ = ["Functional", "Model", "Sequential", "load_model"]
