"""``layers.serialize`` / ``layers.deserialize``: a layer to and from its config dict.

``serialize`` gives tf-keras 2.21's form (``{"module", "class_name", "config",
"registered_name"}``, plus ``build_config`` once built); ``deserialize`` accepts it, the
older ``{"class_name", "config"}`` form, and model configs (``Functional``, ``Sequential``).
Classes are looked up among numkeras's layers and ``custom_objects``; nothing is imported.

>>> from numkeras import backend
>>> from numkeras.layers.core import Dense
>>> backend.clear_session()
>>> spec = serialize(Dense(2, name="d"))
>>> spec["class_name"], spec["config"]["units"]
('Dense', 2)
>>> layer = deserialize(spec)
>>> type(layer).__name__, layer.name
('Dense', 'd')
"""

from __future__ import annotations

from numkeras.layers.rnn import deserialize_layer, serialize_layer


def serialize(layer) -> dict:
    """``layer`` (or model) as tf-keras's ``serialize_keras_object`` dict."""
    return serialize_layer(layer)


def deserialize(config: dict, custom_objects: dict | None = None):
    """The layer (or model) a :func:`serialize` dict describes."""
    if isinstance(config, dict) and config.get("class_name") in ("Functional", "Model",
                                                                  "Sequential"):
        from numkeras.engine.functional_model import Functional
        from numkeras.engine.sequential import Sequential

        cls = Sequential if config["class_name"] == "Sequential" else Functional
        return cls.from_config(config.get("config", {}), custom_objects=custom_objects)
    return deserialize_layer(config, custom_objects)


__all__ = ["serialize", "deserialize"]
