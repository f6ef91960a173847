"""Learning-rate schedules with tf-keras's formulas, arguments and configs.

A schedule maps the optimizer's step (its ``iterations``) to a learning rate. As in tf-keras,
the arithmetic runs in the dtype of ``initial_learning_rate`` (``float32`` for Python floats):

>>> s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> s(0), s(10), s(20)
(np.float32(0.1), np.float32(0.05), np.float32(0.025))
>>> serialize(s)["config"]
{'initial_learning_rate': 0.1, 'decay_steps': 10, 'decay_rate': 0.5, 'staircase': False, 'name': None}
>>> deserialize(serialize(s)).get_config() == s.get_config()
True
>>> PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])(3)
np.float32(0.5)
"""

from __future__ import annotations

import math

import numpy as np


def _tensor(value) -> np.ndarray:
    """``value`` as ``tf.convert_to_tensor`` types it: Python numbers become 32-bit."""
    if isinstance(value, bool):
        return np.asarray(value)
    if isinstance(value, float):
        return np.float32(value)
    if isinstance(value, int):
        return np.int32(value)
    return np.asarray(value)[()]


def _float(value, dtype) -> np.generic:
    return np.asarray(value).astype(dtype)[()]


def _step(step) -> np.generic:
    """The step value (an int, a NumPy scalar or a numkeras ``Variable``)."""
    return np.asarray(step)[()]


def _lr_dtype(initial_learning_rate) -> np.dtype:
    dtype = np.asarray(_tensor(initial_learning_rate)).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype("float32")


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate at ``step``."""

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored if staircase).

    >>> ExponentialDecay(1.0, 2, 0.5, staircase=True)(3)
    np.float32(0.5)
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase: bool = False,
                 name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        dtype = _lr_dtype(self.initial_learning_rate)
        lr = _float(self.initial_learning_rate, dtype)
        p = _float(_step(step), dtype) / _float(self.decay_steps, dtype)
        if self.staircase:
            p = np.floor(p)
        return lr * np.power(_float(self.decay_rate, dtype), p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    >>> s = PiecewiseConstantDecay([10], [1.0, 0.1])
    >>> s(10), s(11)
    (np.float32(1.0), np.float32(0.1))
    """

    def __init__(self, boundaries, values, name: str | None = None):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        x = _step(step)
        bounds = [np.asarray(_tensor(b)).astype(x.dtype)[()] for b in self.boundaries]
        values = [_tensor(v) for v in self.values]
        for bound, value in zip(bounds, values):
            if x <= bound:
                return value
        return values[-1]

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    >>> PolynomialDecay(1.0, 10, end_learning_rate=0.0)(5)
    np.float32(0.5)
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle: bool = False, name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        dtype = _lr_dtype(self.initial_learning_rate)
        lr = _float(self.initial_learning_rate, dtype)
        end = _float(self.end_learning_rate, dtype)
        power = _float(self.power, dtype)
        global_step = _float(_step(step), dtype)
        decay_steps = _float(self.decay_steps, dtype)
        if self.cycle:
            multiplier = (_float(1.0, dtype) if global_step == 0
                          else np.ceil(global_step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            global_step = np.minimum(global_step, decay_steps)
        p = global_step / decay_steps
        return (lr - end) * np.power(_float(1, dtype) - p, power) + end

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    >>> InverseTimeDecay(1.0, 1, 1.0)(3)
    np.float32(0.25)
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase: bool = False,
                 name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        dtype = _lr_dtype(self.initial_learning_rate)
        lr = _float(self.initial_learning_rate, dtype)
        p = _float(_step(step), dtype) / _float(self.decay_steps, dtype)
        if self.staircase:
            p = np.floor(p)
        return lr / (_float(1, dtype) + _float(self.decay_rate, dtype) * p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (SGDR without restarts), with an optional linear warmup.

    >>> round(float(CosineDecay(1.0, 10)(5)), 6)
    0.5
    >>> CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)(2)
    np.float32(0.5)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name: str | None = None,
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, decay_from_lr, dtype):
        fraction = step / decay_steps
        cosine = _float(0.5, dtype) * (_float(1.0, dtype)
                                       + np.cos(_float(math.pi, dtype) * fraction))
        decayed = _float(1 - self.alpha, dtype) * cosine + _float(self.alpha, dtype)
        return decay_from_lr * decayed

    def __call__(self, step):
        dtype = _lr_dtype(self.initial_learning_rate)
        lr = _float(self.initial_learning_rate, dtype)
        decay_steps = _float(self.decay_steps, dtype)
        global_step = _float(_step(step), dtype)
        if self.warmup_target is None:
            return self._decay(np.minimum(global_step, decay_steps), decay_steps, lr, dtype)
        target = _float(self.warmup_target, dtype)
        warmup_steps = _float(self.warmup_steps, dtype)
        global_step = np.minimum(global_step, decay_steps + warmup_steps)
        if global_step < warmup_steps:
            return (target - lr) * (global_step / warmup_steps) + lr
        return self._decay(global_step - warmup_steps, decay_steps, target, dtype)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR); periods grow by ``t_mul``, peaks by ``m_mul``.

    >>> s = CosineDecayRestarts(1.0, 10, t_mul=1.0)
    >>> [round(float(s(step)), 6) for step in (0, 5, 10)]
    [1.0, 0.5, 1.0]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        dtype = _lr_dtype(self.initial_learning_rate)
        one = _float(1.0, dtype)
        lr = _float(self.initial_learning_rate, dtype)
        alpha = _float(self.alpha, dtype)
        t_mul = _float(self._t_mul, dtype)
        m_mul = _float(self._m_mul, dtype)
        fraction = _float(_step(step), dtype) / _float(self.first_decay_steps, dtype)
        if t_mul == one:
            i_restart = np.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = np.floor(np.log(one - fraction * (one - t_mul)) / np.log(t_mul))
            sum_r = (one - t_mul ** i_restart) / (one - t_mul)
            fraction = (fraction - sum_r) / t_mul ** i_restart
        m_fac = m_mul ** i_restart
        cosine = _float(0.5, dtype) * m_fac * (one + np.cos(_float(math.pi, dtype) * fraction))
        return lr * ((one - alpha) * cosine + alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """The tf-keras config dict of a schedule (``module``/``class_name``/``config``)."""
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """A schedule from :func:`serialize`'s dict (old-style dicts without ``module`` too)."""
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _SCHEDULES.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}. "
                         f"Known: {sorted(_SCHEDULES)}.")
    return cls.from_config(dict(config.get("config", {})))
