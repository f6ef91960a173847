"""Pass-through layers: ``Identity`` and ``ActivityRegularization``.

Both return their input unchanged at inference (``ActivityRegularization`` only adds an
``L1L2(l1, l2)`` activity penalty during training, which numkeras does not run).

>>> import numpy as np
>>> x = np.arange(3.0, dtype="float32")
>>> Identity()(x).tolist(), ActivityRegularization(l2=0.1)(x).tolist()
([0.0, 1.0, 2.0], [0.0, 1.0, 2.0])
>>> sorted(ActivityRegularization(l1=0.5).get_config())
['dtype', 'l1', 'l2', 'name', 'trainable']
"""

from __future__ import annotations

from numkeras.engine.base_layer import Layer


class Identity(Layer):
    """Returns its inputs (any structure) unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class ActivityRegularization(Layer):
    """Identity whose training-time activity penalty is ``L1L2(l1, l2)``."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        from numkeras import regularizers

        kwargs.pop("activity_regularizer", None)  # always L1L2(l1, l2), as in tf-keras
        super().__init__(**kwargs)
        self.activity_regularizer = regularizers.L1L2(l1=l1, l2=l2)
        self.supports_masking = True
        self.l1, self.l2 = l1, l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


__all__ = ["Identity", "ActivityRegularization"]
