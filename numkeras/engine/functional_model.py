"""The class of models built with ``Model(inputs, outputs)``."""

from __future__ import annotations

from numkeras import backend
from numkeras.engine.training import Model


class Functional(Model):
    """A graph network; auto-named ``model``, ``model_1``, ... as in tf.keras."""

    def _default_name(self) -> str:
        return backend.unique_object_name("model")
