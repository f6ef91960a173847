"""``Input()`` and ``InputLayer``: the entry points of functional models.

>>> from numkeras import backend
>>> backend.clear_session()
>>> x = Input(shape=(3,))
>>> x.shape, x.dtype.name, x._keras_history[0].name
((None, 3), 'float32', 'input_1')
"""

from __future__ import annotations

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.engine.keras_tensor import KerasTensor
from numkeras.engine.node import Node


class InputLayer(Layer):
    """A layer with no weights whose only node produces the model's input placeholder."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None,
                 sparse=None, name=None, ragged=None, type_spec=None, batch_input_shape=None,
                 **kwargs):
        if sparse or ragged:
            raise ValueError("numkeras has no sparse or ragged tensors; InputLayer(sparse=True) "
                             "and InputLayer(ragged=True) are not supported.")
        name = name or f"input_{backend.get_uid('input')}"
        if input_tensor is not None:
            batch_input_shape = input_tensor.shape
            dtype = dtype or input_tensor.dtype
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("Please provide to Input a `shape` or a `tensor` or a "
                                 "`type_spec` argument. Note that `shape` does not include "
                                 "the batch dimension.")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        super().__init__(name=name, dtype=dtype or backend.floatx(), **kwargs)
        self._batch_input_shape = tuple(batch_input_shape)
        self.built = True
        tensor = input_tensor if input_tensor is not None else KerasTensor(
            self._batch_input_shape, self._dtype, name=name)
        Node(self, call_args=(), outputs=tensor)

    def get_config(self) -> dict:
        return {"batch_input_shape": self._batch_input_shape, "dtype": self._dtype,
                "sparse": False, "ragged": False, "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config.pop("optional", None)
        if "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        return cls(**config)


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None,
          ragged=None, type_spec=None, batch_shape=None, **kwargs) -> KerasTensor:
    """A symbolic input of a functional model; ``shape`` excludes the batch dimension."""
    if shape is not None and batch_shape is not None:
        raise ValueError("Only provide the `shape` OR `batch_shape` argument to Input, not both.")
    if shape is None and batch_shape is None and tensor is None:
        raise ValueError("Please provide to Input a `shape` or a `tensor` or a `type_spec` "
                         "argument. Note that `shape` does not include the batch dimension.")
    if isinstance(shape, int):
        shape = (shape,)
    layer = InputLayer(input_shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       ragged=ragged, name=name, input_tensor=tensor,
                       batch_input_shape=batch_shape, **kwargs)
    return layer._inbound_nodes[0].outputs
