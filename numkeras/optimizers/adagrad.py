"""Adagrad and Adadelta (``tf.keras.optimizers.Adagrad`` / ``Adadelta``, tf-keras 2.11+).

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> w = Variable(np.zeros(1, "float32"), name="w")
>>> opt = Adagrad(learning_rate=1.0, initial_accumulator_value=0.0, epsilon=0.0)
>>> _ = opt.apply_gradients([(np.array([3.0]), w)])
>>> w.numpy()  # lr * g / sqrt(g**2)
array([-1.], dtype=float32)
>>> [v.name for v in opt.variables]
['iteration:0', 'Adagrad/accumulator/w:0']
"""

from __future__ import annotations

import numpy as np

from numkeras.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``. Slots: ``_accumulators``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, name: str = "Adagrad", **kwargs):
        kwargs.setdefault("weight_decay", None)
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulators = []
        for var in var_list:
            init = np.full(tuple(var.shape), self.initial_accumulator_value, dtype=var.dtype)
            self._accumulators.append(
                self.add_variable_from_reference(var, "accumulator", initial_value=init))

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        accumulator = self._slot(self._accumulators, variable)
        accumulator.assign_add(gradient * gradient)
        variable.assign_sub(lr * gradient / np.sqrt(accumulator.value + dt(self.epsilon)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(Optimizer):
    """Adadelta. Slots: ``_accumulated_grads`` and ``_accumulated_delta_vars`` (interleaved).

    >>> import numpy as np
    >>> from numkeras.engine.variable import Variable
    >>> opt = Adadelta()
    >>> _ = opt.apply_gradients([(np.ones(1), Variable(np.zeros(1, "float32"), name="w"))])
    >>> [v.name for v in opt.variables]
    ['iteration:0', 'Adadelta/accumulated_grad/w:0', 'Adadelta/accumulated_delta_var/w:0']
    """

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 name: str = "Adadelta", **kwargs):
        kwargs.setdefault("weight_decay", None)
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulated_grads = []
        self._accumulated_delta_vars = []
        for var in var_list:
            self._accumulated_grads.append(
                self.add_variable_from_reference(var, "accumulated_grad"))
            self._accumulated_delta_vars.append(
                self.add_variable_from_reference(var, "accumulated_delta_var"))

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        rho, one_minus_rho, eps = dt(self.rho), dt(1 - self.rho), dt(self.epsilon)
        acc_grad = self._slot(self._accumulated_grads, variable)
        acc_delta = self._slot(self._accumulated_delta_vars, variable)
        acc_grad.assign(rho * acc_grad.value + one_minus_rho * gradient * gradient)
        delta = -np.sqrt(acc_delta.value + eps) * gradient / np.sqrt(acc_grad.value + eps)
        acc_delta.assign(rho * acc_delta.value + one_minus_rho * delta * delta)
        variable.assign_add(lr * delta)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config

