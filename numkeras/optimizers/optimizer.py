"""The base of the tf-keras 2.11+ optimizers (``tf.keras.optimizers.Optimizer``).

Gradients come from the user as NumPy arrays; ``apply_gradients`` updates the variables with
tf-keras's formulas, in the variables' dtype. The optimizer is a
:class:`~numkeras.engine.tracking.Trackable` whose tracked attributes are exactly tf-keras's
checkpoint children, in tf-keras's order:

- before ``build``: ``_variables`` (``[iterations]``), ``_iterations``, then ``_learning_rate``
  (a float32 scalar ``learning_rate:0``) or, with a schedule, ``_current_learning_rate``
  (``current_learning_rate:0``; the schedule object itself is not tracked);
- ``build(var_list)`` adds ``_index_dict`` (no trackables inside), then each optimizer's slot
  lists (``_momentums``, ``_velocities``, ...), whose variables are also appended to
  ``_variables``. ``build`` (the base's and every subclass's) ends by running the pending
  deferred restorations (:func:`~numkeras.engine.tracking.restores_after`), so a checkpoint
  restored before the first step fills the slots as soon as they exist.

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> from numkeras.optimizers import SGD
>>> w = Variable(np.ones(2, "float32"), name="w")
>>> opt = SGD(learning_rate=0.5)
>>> [name for name, _ in opt.tracked_children()]
['_variables', '_iterations', '_learning_rate']
>>> _ = opt.apply_gradients([(np.array([1.0, 2.0]), w)])
>>> w.numpy(), int(opt.iterations.numpy())
(array([0.5, 0. ], dtype=float32), 1)
>>> [v.name for v in opt.variables]
['iteration:0', 'SGD/m/w:0']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from numkeras import backend
from numkeras.engine.saving_protocol import default_hook
from numkeras.engine.tracking import Trackable, restores_after
from numkeras.engine.variable import Variable
from numkeras.optimizers import schedules as _schedules


class CallableList(list):
    """A list that also answers ``lst()`` (tf-keras's ``optimizer.variables()`` spelling)."""

    def __call__(self) -> list:
        return self


def _dtype_of(variable) -> np.dtype:
    return np.dtype(variable.dtype)


def _as_gradient(grad, variable) -> np.ndarray:
    grad = np.asarray(grad, dtype=_dtype_of(variable))
    if grad.shape != tuple(variable.shape):
        raise ValueError(f"Gradient of shape {grad.shape} does not match variable "
                         f"'{variable.name}' of shape {tuple(variable.shape)}.")
    return grad


def clip_by_norm(t: np.ndarray, clip_norm: float) -> np.ndarray:
    """``tf.clip_by_norm``: scale ``t`` so its L2 norm is at most ``clip_norm``."""
    dt = t.dtype.type
    clip_norm = dt(max(clip_norm, 0))
    l2sum = np.sum(t * t)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return (t * clip_norm) / np.maximum(l2norm, clip_norm)


def clip_by_global_norm(t_list: list, clip_norm: float) -> list:
    """``tf.clip_by_global_norm``: scale every array by ``clip_norm / max(norm, clip_norm)``."""
    present = [t for t in t_list if t is not None]
    if not present:
        return list(t_list)
    dt = present[0].dtype.type
    half_squared = [t.dtype.type(np.sum(t * t) / t.dtype.type(2)) for t in present]
    norm = np.sqrt(dt(np.sum(np.asarray(half_squared, dtype=present[0].dtype))) * dt(2))
    clip = dt(clip_norm)
    scale = clip * np.minimum(dt(1) / norm, dt(1) / clip) + (norm - norm)
    return [None if t is None else t * t.dtype.type(scale) for t in t_list]


def filter_empty_gradients(grads_and_vars) -> list:
    """Drop ``(None, var)`` pairs; raise if no gradient is left (as tf-keras does)."""
    grads_and_vars = list(grads_and_vars)
    if not grads_and_vars:
        return grads_and_vars
    kept = [(g, v) for g, v in grads_and_vars if g is not None]
    if not kept:
        raise ValueError("No gradients provided for any variable: "
                         f"{[v.name for _, v in grads_and_vars]}.")
    return kept


class Optimizer(Trackable):
    """Base class of the tf-keras 2.11+ optimizers; subclasses define ``build``/``update_step``.

    Common arguments: ``name``, ``weight_decay``, ``clipnorm``, ``clipvalue``,
    ``global_clipnorm``, ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``,
    ``jit_compile`` (accepted; always reported ``False``, as tf-keras does without a GPU).
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:  # slots are created in build: restore them right after
            cls.build = restores_after(cls.__dict__["build"])

    def __init__(self, name: str, weight_decay: float | None = 0, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, jit_compile: bool = True,
                 **kwargs):
        super().__init__()
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.jit_compile = False
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer > 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}.")
        # Tracked children, in tf-keras's order: `_variables`, then `_iterations`.
        self._variables = []
        self._iterations = Variable(np.int64(0), name="iteration", dtype="int64",
                                    trainable=False)
        self._variables.append(self._iterations)
        object.__setattr__(self, "_built", False)
        self._process_kwargs(kwargs)

    def _process_kwargs(self, kwargs: dict) -> None:
        kwargs.pop("is_legacy_optimizer", None)
        kwargs.pop("lr", None)
        kwargs.pop("mesh", None)
        for k in kwargs:
            if k in ("decay", "gradient_aggregator", "gradient_transformers"):
                raise ValueError(
                    f"{k} is deprecated in the new Keras optimizer, please check the docstring "
                    "for valid arguments, or use the legacy optimizer, e.g., "
                    f"numkeras.optimizers.legacy.{type(self).__name__}.")
            raise TypeError(f"{k} is not a valid argument, kwargs should be empty for "
                            "`optimizer_experimental.Optimizer`.")

    # -- learning rate ---------------------------------------------------------------------
    def _build_learning_rate(self, learning_rate):
        """A ``learning_rate:0`` variable, or the schedule (tracking ``_current_learning_rate``)."""
        if isinstance(learning_rate, _schedules.LearningRateSchedule):
            current = np.asarray(learning_rate(self._iterations))
            self._current_learning_rate = Variable(current, name="current_learning_rate",
                                                   dtype=current.dtype, trainable=False)
            return learning_rate
        return Variable(np.asarray(learning_rate, dtype=backend.floatx()), name="learning_rate",
                        dtype=backend.floatx(), trainable=False)

    @property
    def learning_rate(self) -> Variable:
        """The learning-rate variable (with a schedule: the current value's variable)."""
        lr = self.__dict__.get("_learning_rate")
        if lr is None:
            raise ValueError("Missing learning rate, please set self.learning_rate at optimizer "
                             "creation time.")
        if isinstance(lr, _schedules.LearningRateSchedule):
            return self._current_learning_rate
        return lr

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, _schedules.LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument.")
        self._learning_rate.assign(np.asarray(value))

    lr = learning_rate

    def _compute_current_learning_rate(self) -> None:
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            self._current_learning_rate.assign(np.asarray(self._learning_rate(self._iterations)))

    def _lr(self, dtype) -> np.generic:
        return np.asarray(self.learning_rate).astype(dtype)[()]

    # -- state -----------------------------------------------------------------------------
    @property
    def iterations(self) -> Variable:
        """The int64 step counter (``iteration:0``), incremented by each ``apply_gradients``."""
        return self._iterations

    @iterations.setter
    def iterations(self, variable: Variable) -> None:
        if self._built:
            raise RuntimeError("Cannot set `iterations` to a new Variable after the Optimizer "
                               "weights have been created.")
        self._iterations = variable
        self._variables[0] = variable

    @property
    def variables(self) -> CallableList:
        """``[iterations, slot variables...]`` in tf-keras's order (also callable)."""
        return CallableList(self._variables)

    def _var_key(self, variable) -> int:
        return id(variable)

    @restores_after
    def build(self, var_list: list) -> None:
        """Create the per-variable state for ``var_list`` (once; later calls do nothing)."""
        if self._built:
            return
        self._index_dict = {self._var_key(var): i for i, var in enumerate(var_list)}
        if self.use_ema:
            self._model_variables_moving_average = []
            for var in var_list:
                self._model_variables_moving_average.append(
                    self.add_variable_from_reference(var, "average", initial_value=var.numpy()))

    def add_variable(self, shape, dtype=None, initializer="zeros", name: str | None = None
                     ) -> Variable:
        """A new optimizer variable (appended to ``variables``)."""
        from numkeras import initializers

        value = initializers.get(initializer)(tuple(shape or ()), dtype=dtype or backend.floatx())
        variable = Variable(value, name=backend.scoped_name(name or "Variable"), trainable=False)
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, model_variable, variable_name: str, shape=None,
                                    initial_value=None) -> Variable:
        """A slot ``<scope>/<variable_name>/<model variable path>:0`` like ``model_variable``."""
        dtype = _dtype_of(model_variable)
        if initial_value is None:
            initial_value = np.zeros(tuple(model_variable.shape) if shape is None else shape,
                                     dtype=dtype)
        path = model_variable.name[:-2] if model_variable.name.endswith(":0") else \
            model_variable.name
        variable = Variable(np.asarray(initial_value, dtype=dtype),
                            name=backend.scoped_name(f"{variable_name}/{path}"),
                            dtype=dtype, trainable=False)
        self._variables.append(variable)
        return variable

    def _slot(self, slots: list, variable) -> Variable:
        key = self._var_key(variable)
        if key not in self._index_dict:
            raise KeyError(
                f"The optimizer cannot recognize variable {variable.name}. This usually means you "
                "are trying to call the optimizer to update different parts of the model "
                "separately. Please call `optimizer.build(variables)` with the full list of "
                "trainable variables before the training loop or use the legacy optimizer "
                f"`numkeras.optimizers.legacy.{type(self).__name__}`.")
        return slots[self._index_dict[key]]

    # -- checkpoint hooks (shared with the legacy optimizers) -------------------------------
    def slot_variables(self) -> list:
        """Always ``[]``: 2.11+ optimizers keep their state in ``_variables``, not in slots."""
        return []

    def create_slot(self, var, slot_name: str, value=None):
        """Refuse a legacy slot restore, with tf-keras's message (``ValueError``)."""
        raise ValueError(
            "You are trying to restore a checkpoint from a legacy Keras optimizer into a v2.11+ "
            "Optimizer, which can cause errors. Please update the optimizer referenced in your "
            "code to be an instance of `numkeras.optimizers.legacy.Optimizer`, e.g.: "
            f"`numkeras.optimizers.legacy.{type(self).__name__}`.")

    # -- weight decay ----------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exclude variables (or names matching regexes) from weight decay, before ``build``."""
        if self._built:
            raise ValueError("`exclude_from_weight_decay()` can only be configued before the "
                             "optimizer is built.")
        self._exclude_from_weight_decay = [self._var_key(v) for v in var_list or []]
        self._exclude_from_weight_decay_names = list(var_names or [])

    def _use_weight_decay(self, variable) -> bool:
        if self._var_key(variable) in getattr(self, "_exclude_from_weight_decay", []):
            return False
        return not any(re.search(name, variable.name) is not None
                       for name in getattr(self, "_exclude_from_weight_decay_names", []))

    def _apply_weight_decay(self, variables) -> None:
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                dt = _dtype_of(variable).type
                variable.assign_sub(variable.value * dt(self.weight_decay) * self._lr(dt))

    # -- gradients -------------------------------------------------------------------------
    def _clip_gradients(self, grads: list) -> list:
        if self.clipnorm and self.clipnorm > 0:
            return [None if g is None else clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [None if g is None else
                    np.clip(g, g.dtype.type(-self.clipvalue), g.dtype.type(self.clipvalue))
                    for g in grads]
        return grads

    def apply_gradients(self, grads_and_vars: Iterable, name: str | None = None,
                        skip_gradients_aggregation: bool = False, **kwargs) -> Variable:
        """Apply one update step; gradients are array-likes shaped like their variables.

        Returns ``iterations`` (incremented by one).
        """
        self._compute_current_learning_rate()
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            return self._iterations
        variables = [v for _, v in grads_and_vars]
        with backend.name_scope(name or self.name or "optimizer"):
            self.build(variables)
        grads_and_vars = filter_empty_gradients(grads_and_vars)
        grads = [_as_gradient(g, v) for g, v in grads_and_vars]
        variables = [v for _, v in grads_and_vars]
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(variables)
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable)
        if self.use_ema:
            self._update_model_variables_moving_average(variables)
            if self.ema_overwrite_frequency and \
                    (int(self._iterations.value) + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_model_variables_with_average_value(variables)
        self._iterations.assign_add(1)
        for variable in variables:
            constraint = getattr(variable, "constraint", None)
            if constraint is not None:
                variable.assign(constraint(variable.value))
        return self._iterations

    def update_step(self, gradient: np.ndarray, variable: Variable) -> None:
        """Update ``variable`` (and its slots) in place from ``gradient``."""
        raise NotImplementedError

    # -- exponential moving average --------------------------------------------------------
    def _update_model_variables_moving_average(self, var_list) -> None:
        for var in var_list:
            average = self._slot(self._model_variables_moving_average, var)
            dt = _dtype_of(var).type
            average.assign(dt(self.ema_momentum) * average.value
                           + dt(1 - self.ema_momentum) * var.value)

    def _overwrite_model_variables_with_average_value(self, var_list) -> None:
        for var in var_list:
            var.assign(self._slot(self._model_variables_moving_average, var).value)

    def finalize_variable_values(self, var_list) -> None:
        """With ``use_ema``, copy the moving averages into the model variables."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    # -- weights and config ----------------------------------------------------------------
    def set_weights(self, weights: list) -> None:
        """Assign ``weights`` to ``variables`` in order (after ``build``)."""
        if not self._built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet "
                             "been built. Please call `optimizer.build(trainable_variables)` to "
                             "create the optimizer weights before calling `set_weights()`.")
        for variable, weight in zip(self._variables, weights):
            variable.assign(weight)

    def get_weights(self) -> list:
        return [v.numpy() for v in self._variables]

    @default_hook
    def save_own_variables(self, store) -> None:
        """Keras 3's hook: ``store[str(i)] = variables[i]`` (the Keras 3 layout's ``vars``)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable

    @default_hook
    def load_own_variables(self, store) -> None:
        """Keras 3's hook: assign ``store[str(i)]`` to ``variables[i]``; warn and skip on a
        count mismatch (as Keras 3 does)."""
        if len(store.keys()) != len(self._variables):
            import warnings

            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it "
                          f"has {len(self._variables)} variables whereas the saved optimizer has "
                          f"{len(store.keys())} variables.", stacklevel=2)
            return
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def _serialize_hyperparameter(self, value):
        if isinstance(value, _schedules.LearningRateSchedule):
            return _schedules.serialize(value)
        if isinstance(value, Variable):
            return float(value.numpy()) if value.numpy().ndim == 0 else value.numpy()
        if callable(value):
            return value()
        return value

    def get_config(self) -> dict:
        """tf-keras's config keys; ``learning_rate`` is a float or a serialized schedule."""
        return {"name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "jit_compile": self.jit_compile, "is_legacy_optimizer": False,
                "learning_rate": self._serialize_hyperparameter(self._learning_rate)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"],
                                                             custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<numkeras.optimizers.{type(self).__name__} name={self.name!r}>"
