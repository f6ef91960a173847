"""``Model``: a Layer with ``layers``, weights in model order, predict, summary and saving.

``Model(inputs, outputs)`` builds a functional model; subclasses of ``Model`` define
``call`` and assign their layers to attributes (lists and dicts of layers included).

>>> import numpy as np
>>> from numkeras import Model, backend, layers
>>> backend.clear_session()
>>> class TwoLayers(Model):
...     def __init__(self):
...         super().__init__(name="sub")
...         self.blocks = [layers.Dense(3), layers.Dense(1)]
...     def call(self, x):
...         for block in self.blocks:
...             x = block(x)
...         return x
>>> m = TwoLayers()
>>> m.predict(np.ones((5, 4))).shape
(5, 1)
>>> [w.name for w in m.weights][:2]
['sub/dense/kernel:0', 'sub/dense/bias:0']
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine import functional, nest
from numkeras.engine.base_layer import Layer, _dedup
from numkeras.engine.keras_tensor import KerasTensor, strip_mask


class Model(Layer):
    """A model: functional (``Model(inputs, outputs)``) or subclassed (override ``call``)."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from numkeras.engine.functional_model import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if args else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        super().__init__(name=name, trainable=trainable, **kwargs)
        object.__setattr__(self, "_is_graph_network", False)
        object.__setattr__(self, "compiled", False)
        if inputs is not None:
            if outputs is None:
                raise ValueError("Model(inputs, outputs) needs both `inputs` and `outputs`.")
            functional.init_graph_network(self, inputs, outputs)

    # -- structure -------------------------------------------------------------------------
    @property
    def _layers(self) -> list:
        if self.__dict__.get("_is_graph_network"):
            return list(self._graph_layers)
        return super()._layers

    @property
    def layers(self) -> list:
        """The model's layers (functional models include their InputLayers)."""
        return self._layers

    # -- a graph network's own inputs and outputs (tf.keras's Functional properties) --------
    @property
    def input(self):
        if self.__dict__.get("_is_graph_network"):
            return self._nested_inputs
        return super().input

    @property
    def output(self):
        if self.__dict__.get("_is_graph_network"):
            return self._nested_outputs
        return super().output

    @property
    def input_shape(self):
        if self.__dict__.get("_is_graph_network"):
            return nest.map_structure(lambda t: t.shape, self._nested_inputs)
        return super().input_shape

    @property
    def output_shape(self):
        if self.__dict__.get("_is_graph_network"):
            return nest.map_structure(lambda t: t.shape, self._nested_outputs)
        return super().output_shape

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by position ``index`` in :attr:`layers`."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    # -- weights (tf-keras Model order: layer by layer) --------------------------------------
    @property
    def weights(self) -> list:
        """Each layer's weights in layer order, then the model's own; each weight once."""
        own = self._trainable_weights + self._non_trainable_weights
        return _dedup([v for layer in self._layers for v in layer.weights] + own)

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        children = [v for layer in self._layers for v in layer.trainable_weights]
        return _dedup(children + self._trainable_weights)

    @property
    def non_trainable_weights(self) -> list:
        if self.trainable:
            children = [v for layer in self._layers for v in layer.non_trainable_weights]
            return _dedup(children + self._non_trainable_weights)
        trainable = [v for layer in self._layers for v in layer.trainable_weights]
        non_trainable = [v for layer in self._layers for v in layer.non_trainable_weights]
        return _dedup(trainable + self._trainable_weights + non_trainable
                      + self._non_trainable_weights)

    # -- the saving protocol (see numkeras.engine.saving_protocol) ---------------------------
    @property
    def is_graph_network(self) -> bool:
        """Whether this is a graph network (a functional model, or a built Sequential)."""
        return bool(self.__dict__.get("_is_graph_network"))

    def assert_weights_created(self) -> None:
        """Raise ``ValueError`` if the model has no weights yet (it was never built)."""
        if not self.built:
            raise ValueError(
                f"Weights for model '{self.name}' have not yet been created. Weights are "
                "created when the model is first called on inputs or `build()` is called "
                "with an `input_shape`.")

    _assert_weights_created = assert_weights_created

    # -- building and calling --------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights by running the model once on zeros of ``input_shape``."""
        if self._is_graph_network or self.built:
            self.built = True
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        def zeros(shape):
            return np.zeros(tuple(1 if d is None else d for d in shape), dtype=self.dtype)

        shapes = _shape_structure(input_shape)
        dummy = [zeros(s) for s in shapes] if isinstance(shapes, list) else zeros(shapes)
        object.__setattr__(self, "built", True)
        with backend.name_scope(self.name):
            self.call(dummy)

    build._is_default = True  # a first call runs `call` directly instead of this

    def call(self, inputs, training=None, mask=None):
        if self._is_graph_network:
            return functional.run_graph(self, inputs, training=training)
        raise NotImplementedError(
            f"Model {self.name} has no `call` method. Subclasses of Model must implement "
            "`call(self, inputs)`, or build a functional model with Model(inputs, outputs).")

    def compute_output_spec(self, *args, **kwargs):
        if self._is_graph_network:
            return nest.map_structure(
                lambda t: KerasTensor((None,) + t.shape[1:], t.dtype), self._nested_outputs)
        return super().compute_output_spec(*args, **kwargs)

    def predict(self, x, batch_size: int | None = None, verbose="auto", steps=None,
                callbacks=None, engine: str | None = None, **kwargs):
        """Run the model on ``x`` in batches of ``batch_size`` (32) with ``training=False``.

        ``engine``: ``"onnx"`` (ONNX Runtime; an error if it cannot run this model),
        ``"numpy"`` (the reference engine) or None/``"auto"``: the ``numkeras.config`` setting,
        whose default runs on ONNX Runtime when it is installed and every layer lowers.
        """
        batch_size = batch_size or 32
        flat = [np.asarray(a) for a in nest.flatten(x)]
        n = flat[0].shape[0]
        runner = self._onnx_runner(engine) if n else None
        outputs = []
        for start in range(0, n, batch_size):
            batch = nest.pack_sequence_as(x, [a[start:start + batch_size] for a in flat])
            feed = runner.feed(self, batch) if runner is not None else None
            if feed is not None:
                outputs.append(runner.run(feed))
                continue
            out = self(batch, training=False)
            outputs.append([strip_mask(np.asarray(o)) for o in nest.flatten(out)])
        if not outputs:
            raise ValueError("Expected input data to be non-empty.")
        merged = [np.concatenate(parts, axis=0) for parts in zip(*outputs)]
        return merged[0] if len(merged) == 1 else merged

    def _onnx_runner(self, engine: str | None, call: bool = False):
        """The ONNX Runtime runner to use, or None for the NumPy engine."""
        from numkeras import config

        choice = config.check_engine(engine or "auto")
        if choice == "auto":
            choice = config.inference_engine()
        if choice == "numpy" or (call and choice == "auto"):
            return None
        from numkeras.export import runtime

        return runtime.runner_for(self, strict=choice == "onnx")

    def _eager_call(self, args, kwargs):
        if len(args) == 1 and not kwargs.get("training") and not kwargs.get("mask") \
                and self.__dict__.get("_is_graph_network"):
            runner = self._onnx_runner(None, call=True)
            feed = runner.feed(self, args[0]) if runner is not None else None
            if feed is not None:
                return nest.pack_sequence_as(self._nested_outputs, runner.run(feed))
        return super()._eager_call(args, kwargs)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(nest.flatten(x)[0]))

    # -- training configuration ------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, **kwargs) -> None:
        """Attach an optimizer (name or instance), as tf.keras does; losses are recorded."""
        from numkeras import optimizers

        self.optimizer = optimizers.get(optimizer)
        object.__setattr__(self, "loss", loss)
        # recorded for the full-model .h5 training_config
        object.__setattr__(self, "_compile_metrics", metrics)
        object.__setattr__(self, "_compile_weighted_metrics", weighted_metrics)
        object.__setattr__(self, "_compile_loss_weights", loss_weights)
        object.__setattr__(self, "compiled", True)

    def compile_args(self) -> dict:
        """What the last ``compile`` recorded (saving protocol; tf-keras's
        ``_get_compile_args``): ``loss``, ``metrics``, ``weighted_metrics`` and
        ``loss_weights`` as given, each ``None`` if the model was never compiled."""
        return {"loss": getattr(self, "loss", None),
                "metrics": self.__dict__.get("_compile_metrics"),
                "weighted_metrics": self.__dict__.get("_compile_weighted_metrics"),
                "loss_weights": self.__dict__.get("_compile_loss_weights")}

    def fit(self, *args, **kwargs):
        """Not available: numkeras has no automatic differentiation."""
        raise NotImplementedError(
            "numkeras cannot train with fit(): it has no automatic differentiation. Train in "
            "TensorFlow/Keras and load the weights here, or compute gradients yourself and call "
            "model.optimizer.apply_gradients(zip(grads, model.trainable_weights)).")

    train_on_batch = fit

    # -- saving ----------------------------------------------------------------------------
    def save_weights(self, filepath, overwrite: bool = True, save_format=None, options=None,
                     **kwargs):
        """Save all weights to ``filepath`` (HDF5, TF checkpoint or Keras 3 layouts)."""
        from numkeras import saving

        return saving.save_weights(self, filepath, overwrite=overwrite, save_format=save_format,
                                   options=options, **kwargs)

    def load_weights(self, filepath, skip_mismatch: bool = False, by_name: bool = False,
                     options=None):
        """Load weights saved by tf.keras or numkeras (.h5, TF checkpoint, .keras, ...)."""
        from numkeras import saving

        return saving.load_weights(self, filepath, skip_mismatch=skip_mismatch,
                                   by_name=by_name, options=options)

    def save(self, filepath, overwrite: bool = True, save_format=None, **kwargs):
        from numkeras import saving

        return saving.save_model(self, filepath, overwrite=overwrite, save_format=save_format,
                                 **kwargs)

    def export(self, filepath, format: str = "onnx", **kwargs) -> None:  # noqa: A002
        """Write the inference graph to ``filepath``; ``format="onnx"`` is the one supported.

        Needs ``pip install 'numkeras[onnx]'``. A layer with no ONNX lowering raises an error
        naming it and its class, and nothing is written (see :mod:`numkeras.export`).
        """
        if format != "onnx":
            raise ValueError(f"Unsupported export format {format!r}: numkeras exports "
                             "format='onnx' (TF SavedModel export needs TensorFlow).")
        from numkeras.export import export_onnx

        export_onnx(self, filepath, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON, as tf.keras's ``to_json`` (see ``models.model_from_json``)."""
        import json

        from numkeras.saving import serialization

        spec = serialization.serialize_model(self, style=serialization.TF_KERAS)
        return json.dumps({"class_name": spec["class_name"], "config": spec["config"],
                           "keras_version": "2.21.0", "backend": "tensorflow"}, **kwargs)

    # -- summary ---------------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Print tf-keras's table of layers, output shapes and parameter counts.

        Raises ``ValueError`` if the model is not built yet (as tf-keras does).
        """
        from numkeras.engine.summary import print_summary

        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by "
                             "calling `build()` or by calling the model on a batch of data.")
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)


def _shape_structure(input_shape):
    if isinstance(input_shape, (list, tuple)) and input_shape and all(
            isinstance(s, (list, tuple)) for s in input_shape):
        return [tuple(s) for s in input_shape]
    return tuple(input_shape)
