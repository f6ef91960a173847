"""``numkeras.models``: Model, Sequential and model loading (as ``tf.keras.models``)."""

from numkeras.engine.functional_model import Functional
from numkeras.engine.sequential import Sequential
from numkeras.engine.training import Model

__all__ = ["Functional", "Model", "Sequential"]
