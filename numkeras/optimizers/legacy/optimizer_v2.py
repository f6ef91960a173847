"""The base of TF <= 2.10's optimizers (``tf.keras.optimizers.legacy.Optimizer``, OptimizerV2).

Unlike the 2.11+ optimizers, OptimizerV2 tracks nothing automatically. Its checkpoint children
are only the weights it adds by name: ``iter`` (int64), then the hyperparameters in sorted name
order (float32 scalars, created on first use), then optimizer-specific weights such as Nadam's
``momentum_cache``. Per-variable state lives in *slots*, which checkpoints store under the
original variable (``<var>/.OPTIMIZER_SLOT/<optimizer>/<slot name>``), not as children.

Slot hook for checkpoint formats:

- :meth:`OptimizerV2.slot_variables` lists ``(variable, slot_name, slot_variable)`` by slot
  name in :meth:`get_slot_names` order, then variables in the order they first got a slot;
- :meth:`OptimizerV2.create_slot` creates (or finds) the slot of ``variable`` named
  ``slot_name`` and assigns a restored value: restore before the first ``apply_gradients``
  keeps the value, as TF's ``_create_or_restore_slot_variable`` does;
- :meth:`OptimizerV2.create_lazy_state` creates ``iter`` and the hyperparameter variables
  (which otherwise appear on first use), so a restore matches them at once;
- ``_create_all_weights``, ``_create_slots`` and ``build`` (the base's and every
  subclass's) end by running the pending deferred restorations.

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> from numkeras.optimizers import legacy
>>> w = Variable(np.zeros(2, "float32"), name="dense/kernel")
>>> opt = legacy.Adam()
>>> _ = opt.apply_gradients([(np.ones(2), w)])
>>> [name for name, _ in opt.tracked_children()]
['iter', 'beta_1', 'beta_2', 'decay', 'learning_rate']
>>> [v.name for v in opt.weights]
['Adam/iter:0', 'Adam/dense/kernel/m:0', 'Adam/dense/kernel/v:0']
>>> [(var.name, slot, s.name) for var, slot, s in opt.slot_variables()]
[('dense/kernel:0', 'm', 'Adam/dense/kernel/m:0'), ('dense/kernel:0', 'v', 'Adam/dense/kernel/v:0')]
>>> float(opt.learning_rate.numpy()), opt.get_slot(w, "m").shape
(0.0010000000474974513, (2,))
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from numkeras import backend
from numkeras.engine.tracking import Trackable, restores_after
from numkeras.engine.variable import Variable
from numkeras.optimizers import schedules as _schedules
from numkeras.optimizers.optimizer import (
    CallableList,
    _as_gradient,
    clip_by_global_norm,
    clip_by_norm,
    filter_empty_gradients,
)

_ALLOWED_KWARGS = {"clipnorm", "clipvalue", "lr", "decay", "global_clipnorm"}
#: Methods that create state without assigning attributes (deferred restores run after them).
_STATE_CREATING_METHODS = ("build", "_create_all_weights", "_create_slots")


class OptimizerV2(Trackable):
    """Base class of the legacy optimizers: hyperparameters, slots, ``apply_gradients``."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in _STATE_CREATING_METHODS:  # restore what they create right after
            if name in cls.__dict__:
                setattr(cls, name, restores_after(cls.__dict__[name]))

    def __init__(self, name: str, gradient_aggregator=None, gradient_transformers=None,
                 **kwargs):
        super().__init__()
        for k in kwargs:
            if k not in _ALLOWED_KWARGS:
                raise TypeError(f"Unexpected keyword argument passed to optimizer: {k}. "
                                f"Allowed kwargs are {_ALLOWED_KWARGS}.")
            if kwargs[k] is not None and kwargs[k] < 0:
                raise ValueError(f"Expected {k} >= 0, received: {kwargs[k]}")
        self._name = name or backend.unique_object_name(
            backend.to_snake_case(type(self).__name__))
        self._hyper = {}
        self._slots = {}
        self._slot_names = []
        self._slot_owners = {}
        self._weights = []
        self._iterations = None
        self._deferred_slot_restorations = {}
        decay = kwargs.pop("decay", 0.0)
        if decay < 0.0:
            raise ValueError(f"decay cannot be less than 0. Received: decay={decay}.")
        self._initial_decay = decay
        self._hypers_created = False
        self.gradient_aggregator = gradient_aggregator
        self.gradient_transformers = list(gradient_transformers or [])
        self.clipnorm = kwargs.pop("clipnorm", None)
        self.global_clipnorm = kwargs.pop("global_clipnorm", None)
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError("Cannot accept both `clipnorm` and `global_clipnorm`. Received: "
                             f"`clipnorm`={self.clipnorm}, "
                             f"`global_clipnorm`={self.global_clipnorm}.")
        self.clipvalue = kwargs.pop("clipvalue", None)

    # -- attribute access: hyperparameters read and write like attributes ------------------
    def __setattr__(self, name: str, value) -> None:
        if name == "lr":
            name = "learning_rate"
        hyper = self.__dict__.get("_hyper")
        if hyper is not None and name in hyper:
            self._set_hyper(name, value)
        else:
            # OptimizerV2 is not auto-tracking: only named weights are checkpoint children.
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "_hyper":
            raise AttributeError(name)
        if name == "lr":
            name = "learning_rate"
        if name in self.__dict__.get("_hyper", {}):
            return self._get_hyper(name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self):
        result = set(super().__dir__()) | set(self.__dict__.get("_hyper", {}))
        if "learning_rate" in result:
            result.add("lr")
        return sorted(result)

    @property
    def name(self) -> str:
        return self._name

    # -- hyperparameters -------------------------------------------------------------------
    def _set_hyper(self, name: str, value) -> None:
        if isinstance(value, Trackable):
            self._track_weight(name, value)
        if name not in self._hyper:
            self._hyper[name] = value
            return
        prev = self._hyper[name]
        if (callable(prev) or not isinstance(prev, Variable)
                or isinstance(value, _schedules.LearningRateSchedule)):
            self._hyper[name] = value
        else:
            prev.assign(np.asarray(value))

    def _get_hyper(self, name: str, dtype=None):
        if not self._hypers_created:
            self._create_hypers()
        value = self._hyper[name]
        if isinstance(value, _schedules.LearningRateSchedule):
            return value
        if callable(value):
            value = value()
        if dtype:
            return np.asarray(value).astype(dtype)[()]
        return value

    def _create_hypers(self) -> None:
        if self._hypers_created:
            return
        for name, value in sorted(self._hyper.items()):
            if isinstance(value, Variable) or callable(value):
                continue
            self._hyper[name] = self.add_weight(name, shape=(), trainable=False,
                                                initializer=value)
        self._hypers_created = True

    def _serialize_hyperparameter(self, name: str):
        value = self._hyper[name]
        if isinstance(value, _schedules.LearningRateSchedule):
            return _schedules.serialize(value)
        if callable(value):
            return value()
        if isinstance(value, Variable):
            return value.numpy()[()]
        return value

    # -- weights ---------------------------------------------------------------------------
    def _track_weight(self, name: str, value) -> None:
        """Track ``value`` as the child ``name`` (replacing an earlier one in place)."""
        self.__dict__.setdefault("_tracked", {})[name] = value

    def add_weight(self, name: str, shape=(), dtype=None, initializer="zeros",
                   trainable: bool | None = None, **kwargs) -> Variable:
        """A named optimizer weight (a checkpoint child ``name``), ``<scope>/<name>:0``."""
        from numkeras import initializers

        dtype = np.dtype(dtype or "float32")
        shape = tuple(shape or ())
        if isinstance(initializer, str) or callable(initializer):
            value = initializers.get(initializer)(shape, dtype=dtype)
        else:
            value = np.full(shape, np.asarray(initializer), dtype=dtype)
        variable = Variable(value, name=backend.scoped_name(name), dtype=dtype,
                            trainable=True if trainable is None else trainable)
        self._track_weight(name, variable)
        return variable

    @property
    def iterations(self) -> Variable:
        """The int64 step counter ``iter`` (created on first use)."""
        if self._iterations is None:
            self._iterations = self.add_weight("iter", shape=(), dtype="int64", trainable=False)
            self._weights.append(self._iterations)
        return self._iterations

    @iterations.setter
    def iterations(self, variable: Variable) -> None:
        if self._iterations is not None:
            raise RuntimeError("Cannot set `iterations` to a new Variable after the Optimizer "
                               "weights have been created.")
        self._iterations = variable
        self._weights.append(variable)

    @property
    def weights(self) -> list:
        """``[iter, (optimizer weights), slots...]`` in creation order, as tf-keras lists them."""
        return self._weights

    @property
    def variables(self) -> CallableList:
        """Same as :attr:`weights`; also callable (``opt.variables()``, as in tf-keras)."""
        return CallableList(self._weights)

    def get_weights(self) -> list:
        return [w.numpy() for w in self._weights]

    def set_weights(self, weights: list) -> None:
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(f"You called `set_weights(weights)` on optimizer {self._name} with "
                             f"a weight list of length {len(weights)}, but the optimizer was "
                             f"expecting {len(params)} weights.")
        for p, w in zip(params, weights):
            p.check_assignable(w)
        for p, w in zip(params, weights):
            p.assign(w)

    # -- slots -----------------------------------------------------------------------------
    def get_slot_names(self) -> list:
        """Slot names in creation order (e.g. ``['m', 'v']`` for Adam)."""
        return self._slot_names

    def add_slot(self, var, slot_name: str, initializer="zeros", shape=None) -> Variable:
        """The slot ``slot_name`` of ``var`` (created as ``<scope>/<var path>/<slot>:0``)."""
        from numkeras import initializers

        if slot_name not in self._slot_names:
            self._slot_names.append(slot_name)
        key = id(var)
        self._slot_owners.setdefault(key, var)
        slot_dict = self._slots.setdefault(key, {})
        weight = slot_dict.get(slot_name)
        if weight is None:
            dtype = np.dtype(var.dtype)
            slot_shape = tuple(var.shape) if shape is None else tuple(shape)
            if isinstance(initializer, str) or callable(initializer):
                value = initializers.get(initializer)(slot_shape, dtype=dtype)
            else:
                value = np.asarray(initializer, dtype=dtype)
            path = var.name[:-2] if var.name.endswith(":0") else var.name
            weight = Variable(value, name=backend.scoped_name(f"{path}/{slot_name}"),
                              dtype=dtype, trainable=False)
            slot_dict[slot_name] = weight
            self._weights.append(weight)
        return weight

    def get_slot(self, var, slot_name: str) -> Variable:
        """The slot variable of ``var`` named ``slot_name`` (KeyError if it does not exist)."""
        return self._slots[id(var)][slot_name]

    def slot_variables(self) -> list[tuple]:
        """``(variable, slot_name, slot_variable)`` for every slot, in checkpoint order.

        Ordered by slot name (:meth:`get_slot_names` order), then by variable in the order
        the variables first received a slot (``var_list`` order of the first step).
        """
        out = []
        for slot_name in self._slot_names:
            for key, var in self._slot_owners.items():
                slot = self._slots.get(key, {}).get(slot_name)
                if slot is not None:
                    out.append((var, slot_name, slot))
        return out

    def create_slot(self, var, slot_name: str, value=None) -> Variable:
        """Create (or find) ``var``'s slot ``slot_name`` and assign ``value`` if given.

        This is the restore hook: a checkpoint format calls it for each slot it reads; the
        value survives the optimizer's first ``apply_gradients``.
        """
        if value is not None:
            value = np.asarray(value)
            slot = self.add_slot(var, slot_name, initializer=value.astype(var.dtype),
                                 shape=value.shape)
            slot.assign(value)
            return slot
        return self.add_slot(var, slot_name)

    def create_lazy_state(self) -> None:
        """Create ``iter`` and the hyperparameter variables now (saving protocol)."""
        _ = self.iterations
        self._create_hypers()

    @restores_after
    def _create_slots(self, var_list: list) -> None:
        pass

    @restores_after
    def _create_all_weights(self, var_list: list) -> None:
        _ = self.iterations
        self._create_hypers()
        self._create_slots(var_list)

    # -- applying gradients ----------------------------------------------------------------
    def _decayed_lr(self, dtype) -> np.generic:
        lr_t = self._get_hyper("learning_rate", dtype)
        if isinstance(lr_t, _schedules.LearningRateSchedule):
            local_step = np.asarray(self.iterations.value).astype(dtype)[()]
            lr_t = np.asarray(lr_t(local_step)).astype(dtype)[()]
        if self._initial_decay > 0.0:
            dt = np.dtype(dtype).type
            local_step = dt(self.iterations.value)
            lr_t = lr_t / (dt(1.0) + dt(self._initial_decay) * local_step)
        return lr_t

    def _prepare(self, var_list: list) -> dict:
        apply_state = {}
        for dtype in dict.fromkeys(np.dtype(v.dtype) for v in var_list):
            apply_state[dtype] = {}
            self._prepare_local(dtype, apply_state[dtype])
        return apply_state

    def _prepare_local(self, dtype: np.dtype, coefficients: dict) -> None:
        if "learning_rate" in self._hyper:
            coefficients["lr_t"] = self._decayed_lr(dtype)

    def _transform_gradients(self, grads: list) -> list:
        if self.clipvalue is not None:
            grads = [np.clip(g, g.dtype.type(-self.clipvalue), g.dtype.type(self.clipvalue))
                     for g in grads]
        if self.clipnorm is not None:
            grads = [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            grads = clip_by_global_norm(grads, self.global_clipnorm)
        return grads

    def apply_gradients(self, grads_and_vars: Iterable, name: str | None = None,
                        experimental_aggregate_gradients: bool = True) -> Variable | None:
        """Apply one update step; gradients are array-likes shaped like their variables."""
        grads_and_vars = list(grads_and_vars)
        if grads_and_vars:
            grads_and_vars = filter_empty_gradients(grads_and_vars)
        var_list = [v for _, v in grads_and_vars]
        with backend.name_scope(self._name):
            self._create_all_weights(var_list)
        if not grads_and_vars:
            return None
        apply_state = self._prepare(var_list)
        grads = self._transform_gradients([_as_gradient(g, v) for g, v in grads_and_vars])
        for fn in self.gradient_transformers:
            pairs = fn(list(zip(grads, var_list)))
            grads = [np.asarray(g) for g, _ in pairs]
        for grad, var in zip(grads, var_list):
            self._resource_apply_dense(grad, var, apply_state[np.dtype(var.dtype)])
            constraint = getattr(var, "constraint", None)
            if constraint is not None:
                var.assign(constraint(var.value))
        self.iterations.assign_add(1)
        return self.iterations

    def _resource_apply_dense(self, grad: np.ndarray, var, coefficients: dict) -> None:
        raise NotImplementedError("`_resource_apply_dense` must be implemented in subclasses.")

    # -- config ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self._name}
        if self.clipnorm is not None:
            config["clipnorm"] = self.clipnorm
        if self.clipvalue is not None:
            config["clipvalue"] = self.clipvalue
        if self.global_clipnorm is not None:
            config["global_clipnorm"] = self.global_clipnorm
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> OptimizerV2:
        config = dict(config)
        if "lr" in config:
            config["learning_rate"] = config.pop("lr")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"],
                                                             custom_objects=custom_objects)
        config.pop("is_legacy_optimizer", None)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<numkeras.optimizers.legacy.{type(self).__name__} name={self._name!r}>"
