"""``numkeras.models``: Model, Sequential and model loading (as ``tf.keras.models``)."""

from numkeras.engine.functional_model import Functional
from numkeras.engine.sequential import Sequential
from numkeras.engine.training import Model
from numkeras.saving import load_model


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """A model (untrained weights) from ``model.to_json()`` of numkeras or tf.keras."""
    import json

    from numkeras.saving import serialization

    return serialization.deserialize_model(json.loads(json_string), custom_objects)


__all__ = ["Functional", "Model", "Sequential", "load_model", "model_from_json"]
