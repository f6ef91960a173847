"""The class of models built with ``Model(inputs, outputs)``."""

from __future__ import annotations

from numkeras import backend
from numkeras.engine.training import Model


class Functional(Model):
    """A graph network; auto-named ``model``, ``model_1``, ... as in tf.keras."""

    def _default_name(self) -> str:
        return backend.unique_object_name("model")

    def get_config(self) -> dict:
        """tf-keras's config: ``name``, ``trainable``, ``layers`` (with ``inbound_nodes``),
        ``input_layers``, ``output_layers`` (see :mod:`numkeras.saving.serialization`)."""
        from numkeras.saving import serialization

        if not self._is_graph_network:
            return super().get_config()
        return serialization.functional_config(self, style=serialization.TF_KERAS)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """Rebuild from a tf-keras or Keras 3 functional config (no code from it is run)."""
        from numkeras.saving import serialization

        return serialization.functional_from_config(config, custom_objects)
