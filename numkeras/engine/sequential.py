"""``Sequential``: a linear stack of layers.

With a known input shape (an ``Input`` first, or ``input_shape=`` on the first layer) the
model is built as layers are added; otherwise it is built on the first call.

>>> import numpy as np
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
>>> [layer.name for layer in model.layers], model.built
(['dense', 'dense_1'], True)
>>> model.predict(np.zeros((2, 3))).shape
(2, 1)
"""

from __future__ import annotations

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.engine.functional_model import Functional
from numkeras.engine.input_layer import Input, InputLayer
from numkeras.engine.keras_tensor import KerasTensor
from numkeras.engine.training import Model


class Sequential(Functional):
    """A stack of layers, each with one input and one output."""

    def __init__(self, layers=None, name: str | None = None):
        Model.__init__(self, name=name)
        set_ = object.__setattr__
        set_(self, "_stack", [])            # the user's layers, in order
        set_(self, "_input_layer", None)
        set_(self, "_stack_outputs", [])    # symbolic output of each layer once built
        set_(self, "_graph_layers", [])
        for layer in layers or []:
            self.add(layer)

    def _default_name(self) -> str:
        return backend.unique_object_name("sequential")

    @property
    def _layers(self) -> list:
        head = [self._input_layer] if self._input_layer is not None else []
        return head + list(self._stack)

    @property
    def layers(self) -> list:
        """The added layers (the InputLayer is not listed, as in tf.keras)."""
        return list(self._stack)

    def add(self, layer) -> None:
        """Append ``layer``; an ``Input()`` tensor or ``InputLayer`` sets the input shape."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer!r} of type {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError("An InputLayer can only be the first layer of a Sequential "
                                 f"model; {self.name} already has layers.")
            self._set_input(layer)
            return
        if any(existing is layer for existing in self._stack):
            raise ValueError(f"Layer {layer.name} is already in Sequential model {self.name}.")
        if not self._stack and self._input_layer is None and hasattr(layer, "_batch_input_shape"):
            self._set_input(InputLayer(batch_input_shape=layer._batch_input_shape,
                                       dtype=layer.dtype, name=f"{layer.name}_input"))
        self._stack.append(layer)
        if self._stack_outputs:
            self._stack_outputs.append(layer(self._stack_outputs[-1]))
            self._finish_graph()

    def _set_input(self, input_layer: InputLayer) -> None:
        object.__setattr__(self, "_input_layer", input_layer)
        self._stack_outputs.append(input_layer._inbound_nodes[0].outputs)

    def _finish_graph(self) -> None:
        """Expose ``inputs``/``outputs``/nodes as a functional model has them (O(1) per add)."""
        set_ = object.__setattr__
        inp, out = self._stack_outputs[0], self._stack_outputs[-1]
        set_(self, "_is_graph_network", True)
        set_(self, "inputs", [inp])
        set_(self, "outputs", [out])
        set_(self, "_nested_inputs", inp)
        set_(self, "_nested_outputs", out)
        set_(self, "_input_layers", [self._input_layer])
        set_(self, "_output_layers", [self._stack[-1]])
        set_(self, "built", True)

    def pop(self) -> None:
        """Remove the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        self._stack.pop()
        if len(self._stack_outputs) > 1:
            self._stack_outputs.pop()
            if self._stack:
                self._finish_graph()

    def build(self, input_shape=None) -> None:
        """Build all layers for inputs of ``input_shape`` (batch dimension included)."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        if not self._stack:
            raise ValueError(f"Sequential model {self.name} has no layers to build.")
        with backend.top_level_scope():
            self._build_stack(tuple(input_shape))

    def _build_stack(self, input_shape: tuple) -> None:
        if self._input_layer is None:
            inp = Input(batch_shape=input_shape, name=f"{self._stack[0].name}_input")
            self._set_input(inp._keras_history[0])
        x = self._stack_outputs[-1]
        for layer in self._stack[len(self._stack_outputs) - 1:]:
            x = layer(x)
            self._stack_outputs.append(x)
        self._finish_graph()

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._stack:
            x = layer(x, training=training)
        return x

    def _eager_call(self, args, kwargs):
        if not self.built and self._stack:
            with backend.top_level_scope():
                shape = (None,) + tuple(args[0].shape[1:]) if hasattr(args[0], "shape") else None
                if shape is not None:
                    self._build_stack(shape)
        return super()._eager_call(args, kwargs)

    def _symbolic_call(self, args, kwargs):
        if not self.built and self._stack:
            with backend.top_level_scope():
                self._build_stack((None,) + tuple(args[0].shape[1:]))
        return super()._symbolic_call(args, kwargs)

    def compute_output_spec(self, *args, **kwargs):
        return KerasTensor((None,) + self._stack_outputs[-1].shape[1:],
                           self._stack_outputs[-1].dtype)

    def get_config(self) -> dict:
        """tf-keras's config: ``name`` and ``layers`` (the InputLayer first, if any)."""
        from numkeras.saving import serialization

        return serialization.sequential_config(self, style=serialization.TF_KERAS)

    @classmethod
    def from_config(cls, config, custom_objects: dict | None = None):
        """Rebuild from a Sequential config of any Keras version (no code from it is run)."""
        from numkeras.saving import serialization

        return serialization.sequential_from_config(config, custom_objects)

