"""The legacy (TF <= 2.10) optimizers, with the update math of TF's fused training kernels.

Each class lists its hyperparameters (checkpoint children after ``iter``, sorted by name) and
its slot names (in :meth:`get_slot_names` order).

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> w = Variable(np.zeros(2, "float32"), name="w")
>>> opt = SGD(learning_rate=0.1, momentum=0.9)
>>> for _ in range(2):
...     _ = opt.apply_gradients([(np.ones(2), w)])
>>> w.numpy()
array([-0.29, -0.29], dtype=float32)
>>> [name for name, _ in opt.tracked_children()], opt.get_slot_names()
(['iter', 'decay', 'learning_rate', 'momentum'], ['momentum'])
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.optimizers import schedules as _schedules
from numkeras.optimizers.legacy.optimizer_v2 import OptimizerV2


def _t(dtype):
    return np.dtype(dtype).type


def _local_step(opt: OptimizerV2, dtype, offset: int = 1):
    return _t(dtype)(int(opt.iterations.value) + offset)


class SGD(OptimizerV2):
    """Hyperparameters ``decay``, ``learning_rate``, ``momentum``; slot ``momentum``
    (only if ``momentum > 0``). Uses TF's ``ApplyKerasMomentum``/``ApplyGradientDescent``."""

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 name: str = "SGD", **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._momentum = callable(momentum) or momentum > 0
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError(f"`momentum` must be between [0, 1]. Received: momentum={momentum} "
                             f"(of type {type(momentum)}).")
        self._set_hyper("momentum", momentum)
        self.nesterov = nesterov

    def _create_slots(self, var_list: list) -> None:
        if self._momentum:
            for var in var_list:
                self.add_slot(var, "momentum")

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        super()._prepare_local(dtype, coefficients)
        coefficients["momentum"] = self._get_hyper("momentum", dtype)

    def _resource_apply_dense(self, grad, var, coefficients: dict) -> None:
        lr = coefficients["lr_t"]
        if self._momentum:
            momentum = coefficients["momentum"]
            accum = self.get_slot(var, "momentum")
            accum.assign(accum.value * momentum - grad * lr)
            if self.nesterov:
                var.assign_add(accum.value * momentum - grad * lr)
            else:
                var.assign_add(accum.value)
        else:
            var.assign_sub(grad * lr)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "momentum": self._serialize_hyperparameter("momentum"),
                       "nesterov": self.nesterov})
        return config


class Adam(OptimizerV2):
    """Hyperparameters ``beta_1``, ``beta_2``, ``decay``, ``learning_rate``; slots ``m``,
    ``v`` (and ``vhat`` if ``amsgrad``). Uses TF's ``ApplyAdam``/``ApplyAdamWithAmsgrad``."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str = "Adam", **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or backend.epsilon()
        self.amsgrad = amsgrad

    def _create_slots(self, var_list: list) -> None:
        for var in var_list:
            self.add_slot(var, "m")
        for var in var_list:
            self.add_slot(var, "v")
        if self.amsgrad:
            for var in var_list:
                self.add_slot(var, "vhat")

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        super()._prepare_local(dtype, coefficients)
        step = _local_step(self, dtype)
        beta_1 = self._get_hyper("beta_1", dtype)
        beta_2 = self._get_hyper("beta_2", dtype)
        coefficients.update(beta_1_t=beta_1, beta_2_t=beta_2, epsilon=_t(dtype)(self.epsilon),
                            beta_1_power=np.power(beta_1, step),
                            beta_2_power=np.power(beta_2, step))

    def _resource_apply_dense(self, grad, var, c: dict) -> None:
        one = _t(var.dtype)(1)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        alpha = c["lr_t"] * np.sqrt(one - c["beta_2_power"]) / (one - c["beta_1_power"])
        m.assign_add((grad - m.value) * (one - c["beta_1_t"]))
        v.assign_add((np.square(grad) - v.value) * (one - c["beta_2_t"]))
        denom_v = v.value
        if self.amsgrad:
            vhat = self.get_slot(var, "vhat")
            vhat.assign(np.maximum(vhat.value, v.value))
            denom_v = vhat.value
        var.assign_sub((m.value * alpha) / (np.sqrt(denom_v) + c["epsilon"]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "beta_1": self._serialize_hyperparameter("beta_1"),
                       "beta_2": self._serialize_hyperparameter("beta_2"),
                       "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config


class RMSprop(OptimizerV2):
    """Hyperparameters ``decay``, ``learning_rate``, ``momentum``, ``rho``; slots ``rms``,
    ``momentum`` (if ``momentum > 0``), ``mg`` (if ``centered``)."""

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str = "RMSprop",
                 **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("rho", rho)
        self._momentum = callable(momentum) or momentum > 0
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError(f"`momentum` must be between [0, 1]. Received: momentum={momentum} "
                             f"(of type {type(momentum)}).")
        self._set_hyper("momentum", momentum)
        self.epsilon = epsilon or backend.epsilon()
        self.centered = centered

    def _create_slots(self, var_list: list) -> None:
        for var in var_list:
            self.add_slot(var, "rms")
        if self._momentum:
            for var in var_list:
                self.add_slot(var, "momentum")
        if self.centered:
            for var in var_list:
                self.add_slot(var, "mg")

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        super()._prepare_local(dtype, coefficients)
        rho = self._get_hyper("rho", dtype)
        coefficients.update(rho=rho, one_minus_rho=_t(dtype)(1.0) - rho,
                            momentum=self._get_hyper("momentum", dtype),
                            epsilon=_t(dtype)(self.epsilon))

    def _resource_apply_dense(self, grad, var, c: dict) -> None:
        one = _t(var.dtype)(1)
        lr, rho, eps = c["lr_t"], c["rho"], c["epsilon"]
        rms = self.get_slot(var, "rms")
        if self._momentum:
            mom = self.get_slot(var, "momentum")
            rms.assign_add((np.square(grad) - rms.value) * (one - rho))
            if self.centered:
                mg = self.get_slot(var, "mg")
                mg.assign_add((grad - mg.value) * (one - rho))
                denom = (rms.value - np.square(mg.value)) + eps
            else:
                denom = rms.value + eps
            mom.assign(mom.value * c["momentum"] + (grad * lr) / np.sqrt(denom))
            var.assign_sub(mom.value)
        else:
            rms.assign(rho * rms.value + c["one_minus_rho"] * np.square(grad))
            denom = rms.value
            if self.centered:
                mg = self.get_slot(var, "mg")
                mg.assign(rho * mg.value + c["one_minus_rho"] * grad)
                denom = rms.value - np.square(mg.value)
            var.assign(var.value - lr * grad / (np.sqrt(denom) + eps))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "rho": self._serialize_hyperparameter("rho"),
                       "momentum": self._serialize_hyperparameter("momentum"),
                       "epsilon": self.epsilon, "centered": self.centered})
        return config


class Adagrad(OptimizerV2):
    """Hyperparameters ``decay``, ``learning_rate``; slot ``accumulator`` (``ApplyAdagradV2``)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, name: str = "Adagrad", **kwargs):
        if initial_accumulator_value < 0.0:
            raise ValueError("initial_accumulator_value must be non-negative: "
                             f"{initial_accumulator_value}")
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon or backend.epsilon()

    def _create_slots(self, var_list: list) -> None:
        for var in var_list:
            init = np.full(tuple(var.shape), self._initial_accumulator_value, dtype=var.dtype)
            self.add_slot(var, "accumulator", init)

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        super()._prepare_local(dtype, coefficients)
        coefficients["epsilon"] = _t(dtype)(self.epsilon)

    def _resource_apply_dense(self, grad, var, c: dict) -> None:
        acc = self.get_slot(var, "accumulator")
        acc.assign_add(np.square(grad))
        var.assign_sub(grad * c["lr_t"] / (np.sqrt(acc.value) + c["epsilon"]))

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Adagrad:
        config = dict(config)
        config.setdefault("initial_accumulator_value", 0.1)
        return super().from_config(config, custom_objects)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "initial_accumulator_value": self._initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(OptimizerV2):
    """Hyperparameters ``decay``, ``learning_rate``, ``rho``; slots ``accum_grad``,
    ``accum_var`` (``ApplyAdadelta``)."""

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 name: str = "Adadelta", **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("rho", rho)
        self.epsilon = epsilon or backend.epsilon()

    def _create_slots(self, var_list: list) -> None:
        for var in var_list:
            self.add_slot(var, "accum_grad")
        for var in var_list:
            self.add_slot(var, "accum_var")

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        super()._prepare_local(dtype, coefficients)
        coefficients.update(epsilon=_t(dtype)(self.epsilon), rho=self._get_hyper("rho", dtype))

    def _resource_apply_dense(self, grad, var, c: dict) -> None:
        one = _t(var.dtype)(1)
        rho, eps = c["rho"], c["epsilon"]
        accum = self.get_slot(var, "accum_grad")
        accum_update = self.get_slot(var, "accum_var")
        accum.assign(accum.value * rho + np.square(grad) * (one - rho))
        update = np.sqrt(accum_update.value + eps) * (one / np.sqrt(accum.value + eps)) * grad
        var.assign_sub(update * c["lr_t"])
        accum_update.assign(accum_update.value * rho + np.square(update) * (one - rho))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "rho": self._serialize_hyperparameter("rho"), "epsilon": self.epsilon})
        return config


class Adamax(OptimizerV2):
    """Hyperparameters ``beta_1``, ``beta_2``, ``decay``, ``learning_rate``; slots ``m``,
    ``v`` (``ApplyAdaMax``)."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str = "Adamax", **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or backend.epsilon()

    def _create_slots(self, var_list: list) -> None:
        for var in var_list:
            self.add_slot(var, "m")
        for var in var_list:
            self.add_slot(var, "v")

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        super()._prepare_local(dtype, coefficients)
        beta_1 = self._get_hyper("beta_1", dtype)
        coefficients.update(beta_1_t=beta_1, beta_2_t=self._get_hyper("beta_2", dtype),
                            beta_1_power=np.power(beta_1, _local_step(self, dtype)),
                            epsilon=_t(dtype)(self.epsilon))

    def _resource_apply_dense(self, grad, var, c: dict) -> None:
        one = _t(var.dtype)(1)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m.assign_add((grad - m.value) * (one - c["beta_1_t"]))
        v.assign(np.maximum(c["beta_2_t"] * v.value, np.abs(grad)))
        var.assign_sub(c["lr_t"] / (one - c["beta_1_power"])
                       * (m.value / (v.value + c["epsilon"])))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "beta_1": self._serialize_hyperparameter("beta_1"),
                       "beta_2": self._serialize_hyperparameter("beta_2"),
                       "epsilon": self.epsilon})
        return config


class Nadam(OptimizerV2):
    """Hyperparameters ``beta_1``, ``beta_2``, ``decay`` (= ``schedule_decay``, 0.004),
    ``learning_rate``; then the weight ``momentum_cache``; slots ``m``, ``v``."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str = "Nadam", **kwargs):
        kwargs["decay"] = kwargs.pop("schedule_decay", 0.004)
        learning_rate = kwargs.get("lr", learning_rate)
        if isinstance(learning_rate, _schedules.LearningRateSchedule):
            raise ValueError("The Nadam optimizer does not support "
                             "numkeras.optimizers.schedules as the learning rate.")
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", learning_rate)
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or backend.epsilon()
        self._m_cache = None

    def _create_slots(self, var_list: list) -> None:
        if self._m_cache is None:
            dtype = np.dtype(var_list[0].dtype) if var_list else np.dtype("float32")
            self._m_cache = self.add_weight("momentum_cache", shape=(), dtype=dtype,
                                            initializer="ones", trainable=False)
            self._weights.append(self._m_cache)
        for var in var_list:
            self.add_slot(var, "m")
        for var in var_list:
            self.add_slot(var, "v")

    def _prepare(self, var_list: list) -> dict:
        self._m_cache_read = self._m_cache.numpy()
        return super()._prepare(var_list)

    def _prepare_local(self, dtype, coefficients: dict) -> None:
        dt = _t(dtype)
        lr_t = self._get_hyper("learning_rate", dtype)
        beta_1 = self._get_hyper("beta_1", dtype)
        beta_2 = self._get_hyper("beta_2", dtype)
        local_step, next_step = _local_step(self, dtype, 1), _local_step(self, dtype, 2)
        decay_base, decay = dt(0.96), dt(self._initial_decay)
        m_t = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay_base, decay * local_step))
        m_t_1 = beta_1 * (dt(1.0) - dt(0.5) * np.power(decay_base, decay * next_step))
        m_schedule_new = dt(self._m_cache_read) * m_t
        if np.dtype(dtype) == self._m_cache.dtype:
            self._m_cache.assign(m_schedule_new)
        m_schedule_next = m_schedule_new * m_t_1
        coefficients.clear()
        coefficients.update(
            lr_t=lr_t, epsilon=dt(self.epsilon), beta_1_t=beta_1, beta_2_t=beta_2, m_t=m_t,
            m_t_1=m_t_1, one_minus_beta_1_t=dt(1) - beta_1, one_minus_beta_2_t=dt(1) - beta_2,
            one_minus_m_t=dt(1.0) - m_t, one_minus_m_schedule_new=dt(1.0) - m_schedule_new,
            one_minus_m_schedule_next=dt(1.0) - m_schedule_next,
            v_t_prime_denominator=dt(1.0) - np.power(beta_2, local_step))

    def _resource_apply_dense(self, grad, var, c: dict) -> None:
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        g_prime = grad / c["one_minus_m_schedule_new"]
        m.assign(c["beta_1_t"] * m.value + c["one_minus_beta_1_t"] * grad)
        m_t_prime = m.value / c["one_minus_m_schedule_next"]
        v.assign(c["beta_2_t"] * v.value + c["one_minus_beta_2_t"] * np.square(grad))
        v_t_prime = v.value / c["v_t_prime_denominator"]
        m_t_bar = c["one_minus_m_t"] * g_prime + c["m_t_1"] * m_t_prime
        var.assign(var.value - c["lr_t"] * m_t_bar / (np.sqrt(v_t_prime) + c["epsilon"]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay,
                       "beta_1": self._serialize_hyperparameter("beta_1"),
                       "beta_2": self._serialize_hyperparameter("beta_2"),
                       "epsilon": self.epsilon})
        return config


RMSProp = RMSprop
