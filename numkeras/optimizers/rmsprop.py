"""RMSprop (``tf.keras.optimizers.RMSprop``, tf-keras 2.11+).

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> w = Variable(np.zeros(1, "float32"), name="w")
>>> opt = RMSprop(learning_rate=0.1, rho=0.0, epsilon=0.0)
>>> _ = opt.apply_gradients([(np.array([2.0]), w)])
>>> w.numpy()  # lr * g / sqrt(g**2)
array([-0.1], dtype=float32)
>>> [name for name, _ in opt.tracked_children()][3:]
['_index_dict', '_velocities', '_momentums', '_average_gradients']
"""

from __future__ import annotations

import numpy as np

from numkeras.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """Divides the gradient by a running RMS; optional momentum and centering.

    Slots: ``_velocities`` (``velocity``), ``_momentums`` (``momentum``, only if
    ``momentum > 0``), ``_average_gradients`` (``average_gradient``, only if ``centered``);
    the three lists always exist after ``build``.
    """

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str = "RMSprop",
                 **kwargs):
        kwargs.setdefault("weight_decay", None)
        kwargs.setdefault("ema_overwrite_frequency", 100)  # tf-keras's RMSprop default
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: list) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._velocities = []
        for var in var_list:
            self._velocities.append(self.add_variable_from_reference(var, "velocity"))
        self._momentums = []
        if self.momentum > 0:
            for var in var_list:
                self._momentums.append(self.add_variable_from_reference(var, "momentum"))
        self._average_gradients = []
        if self.centered:
            for var in var_list:
                self._average_gradients.append(
                    self.add_variable_from_reference(var, "average_gradient"))

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        rho, one_minus_rho, eps = dt(self.rho), dt(1 - self.rho), dt(self.epsilon)
        velocity = self._slot(self._velocities, variable)
        velocity.assign(rho * velocity.value + one_minus_rho * np.square(gradient))
        if self.centered:
            average_grad = self._slot(self._average_gradients, variable)
            average_grad.assign(rho * average_grad.value + one_minus_rho * gradient)
            denominator = velocity.value - np.square(average_grad.value) + eps
        else:
            denominator = velocity.value + eps
        increment = lr * gradient * (dt(1) / np.sqrt(denominator))
        if self.momentum > 0:
            momentum = self._slot(self._momentums, variable)
            momentum.assign(dt(self.momentum) * momentum.value + increment)
            variable.assign_add(-momentum.value)
        else:
            variable.assign_add(-increment)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
