"""Adam, AdamW, Adamax and Nadam (tf-keras 2.11+ ``tf.keras.optimizers``).

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> w = Variable(np.zeros(2, "float32"), name="dense/kernel")
>>> opt = Adam(learning_rate=0.1)
>>> _ = opt.apply_gradients([(np.array([1.0, -1.0]), w)])
>>> w.numpy().round(5)  # the first Adam step moves by lr * sign(g)
array([-0.1,  0.1], dtype=float32)
>>> [v.name for v in opt.variables]
['iteration:0', 'Adam/m/dense/kernel:0', 'Adam/v/dense/kernel:0']
>>> [name for name, _ in opt.tracked_children()]
['_variables', '_iterations', '_learning_rate', '_index_dict', '_momentums', '_velocities']
"""

from __future__ import annotations

import numpy as np

from numkeras.engine.variable import Variable
from numkeras.optimizers.optimizer import Optimizer


def _step(opt: Optimizer, dt, offset: int = 1):
    return dt(int(opt.iterations.value) + offset)


class Adam(Optimizer):
    """Adam; slots ``_momentums`` (``m``) and ``_velocities`` (``v``) interleaved per variable,
    then ``_velocity_hats`` (``vhat``) if ``amsgrad``."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, adaptive_epsilon: bool = False, amsgrad: bool = False,
                 name: str = "Adam", **kwargs):
        kwargs.setdefault("weight_decay", None)
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.adaptive_epsilon = adaptive_epsilon
        self.amsgrad = amsgrad

    def build(self, var_list: list) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._momentums = []
        self._velocities = []
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(var, "m"))
            self._velocities.append(self.add_variable_from_reference(var, "v"))
        if self.amsgrad:
            self._velocity_hats = []
            for var in var_list:
                self._velocity_hats.append(self.add_variable_from_reference(var, "vhat"))

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        step = _step(self, dt)
        beta_1_power = np.power(dt(self.beta_1), step)
        beta_2_power = np.power(dt(self.beta_2), step)
        m = self._slot(self._momentums, variable)
        v = self._slot(self._velocities, variable)
        alpha = lr * np.sqrt(dt(1) - beta_2_power) / (dt(1) - beta_1_power)
        if getattr(self, "adaptive_epsilon", False):
            epsilon_hat = dt(self.epsilon) * np.sqrt(dt(1) - beta_2_power)
        else:
            epsilon_hat = dt(self.epsilon)
        m.assign_add((gradient - m.value) * dt(1 - self.beta_1))
        v.assign_add((np.square(gradient) - v.value) * dt(1 - self.beta_2))
        v_value = v.value
        if self.amsgrad:
            v_hat = self._slot(self._velocity_hats, variable)
            v_hat.assign(np.maximum(v_hat.value, v_value))
            v_value = v_hat.value
        variable.assign_sub((m.value * alpha) / (np.sqrt(v_value) + epsilon_hat))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w -= w * weight_decay * lr`` before each step.

    >>> AdamW().get_config()["weight_decay"]
    0.004
    """

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 name: str = "AdamW", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name, weight_decay=0, **kwargs)
        self.weight_decay = weight_decay
        if self.weight_decay is None:
            raise ValueError("Missing value of `weight_decay` which is required and must be a "
                             "float value.")

    def get_config(self) -> dict:
        config = super().get_config()
        config["weight_decay"] = self.weight_decay
        return config


class Adamax(Optimizer):
    """Adamax (infinity-norm Adam); slots ``_m`` (``m``) and ``_u`` (``u``) interleaved.

    >>> [name for name, _ in Adamax().tracked_children()]
    ['_variables', '_iterations', '_learning_rate']
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str = "Adamax", **kwargs):
        kwargs.setdefault("weight_decay", None)
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._m = []
        self._u = []
        for var in var_list:
            self._m.append(self.add_variable_from_reference(var, "m"))
            self._u.append(self.add_variable_from_reference(var, "u"))

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        beta_1_power = np.power(dt(self.beta_1), _step(self, dt))
        m = self._slot(self._m, variable)
        u = self._slot(self._u, variable)
        m.assign_add((gradient - m.value) * dt(1 - self.beta_1))
        u.assign(np.maximum(dt(self.beta_2) * u.value, np.abs(gradient)))
        variable.assign_sub((lr * m.value) / ((dt(1) - beta_1_power)
                                              * (u.value + dt(self.epsilon))))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


class Nadam(Optimizer):
    """Nesterov Adam; slots ``_momentums``/``_velocities``, plus the tracked scalar
    ``_u_product`` (``Nadam/Variable:0``, not in ``variables``).

    >>> opt = Nadam()
    >>> opt.build([Variable(np.zeros(1, "float32"), name="w")])
    >>> [name for name, _ in opt.tracked_children()][3:]
    ['_index_dict', '_momentums', '_velocities', '_u_product']
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str = "Nadam", **kwargs):
        kwargs.setdefault("weight_decay", None)
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        from numkeras import backend

        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._momentums = []
        self._velocities = []
        dtype = np.dtype(var_list[0].dtype)
        self._u_product = Variable(np.ones((), dtype), name=backend.scoped_name("Variable"),
                                   dtype=dtype)
        self._u_product_counter = 1
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(var, "m"))
            self._velocities.append(self.add_variable_from_reference(var, "v"))

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        local_step, next_step = _step(self, dt, 1), _step(self, dt, 2)
        decay = dt(0.96)
        beta_1, beta_2 = dt(self.beta_1), dt(self.beta_2)
        u_t = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay, local_step))
        u_t_1 = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay, next_step))
        # tf-keras caches the product once per step through a Python counter (eager semantics).
        if self._u_product_counter == int(self.iterations.value) + 2:
            u_product_t = self._u_product.value[()].astype(dt)
        else:
            u_product_t = (self._u_product.value * u_t)[()].astype(dt)
            self._u_product.assign(u_product_t)
            self._u_product_counter += 1
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = np.power(beta_2, local_step)
        m = self._slot(self._momentums, variable)
        v = self._slot(self._velocities, variable)
        m.assign_add((gradient - m.value) * (dt(1) - beta_1))
        v.assign_add((np.square(gradient) - v.value) * (dt(1) - beta_2))
        m_hat = (u_t_1 * m.value / (dt(1) - u_product_t_1)
                 + (dt(1) - u_t) * gradient / (dt(1) - u_product_t))
        v_hat = v.value / (dt(1) - beta_2_power)
        variable.assign_sub((m_hat * lr) / (np.sqrt(v_hat) + dt(self.epsilon)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config

