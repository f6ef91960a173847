"""Gradient descent with momentum (``tf.keras.optimizers.SGD``, tf-keras 2.11+).

>>> import numpy as np
>>> from numkeras.engine.variable import Variable
>>> w = Variable(np.zeros(2, "float32"), name="w")
>>> opt = SGD(learning_rate=0.1, momentum=0.9)
>>> for _ in range(2):
...     _ = opt.apply_gradients([(np.ones(2), w)])
>>> w.numpy()  # -0.1, then -0.1 + 0.9 * -0.1 - 0.1
array([-0.29, -0.29], dtype=float32)
>>> [name for name, _ in opt.tracked_children()]
['_variables', '_iterations', '_learning_rate', '_index_dict', 'momentums']
"""

from __future__ import annotations

import numpy as np

from numkeras.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """``m = momentum * m - lr * g``; ``w += m`` (Nesterov: ``w += momentum * m - lr * g``).

    Slots (always created, even with ``momentum=0``): ``momentums``, named ``SGD/m/<var>``.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 name: str = "SGD", **kwargs):
        kwargs.setdefault("weight_decay", None)
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.momentum = momentum
        self.nesterov = nesterov
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError("`momentum` must be between [0, 1].")

    def build(self, var_list: list) -> None:
        super().build(var_list)
        if self._built:
            return
        self.momentums = []
        for var in var_list:
            self.momentums.append(self.add_variable_from_reference(var, "m"))
        self._built = True

    def update_step(self, gradient: np.ndarray, variable) -> None:
        dt = np.dtype(variable.dtype).type
        lr = self._lr(dt)
        momentum = dt(self.momentum)
        m = self._slot(self.momentums, variable)
        m.assign(-gradient * lr + m.value * momentum)
        if self.nesterov:
            variable.assign_add(-gradient * lr + m.value * momentum)
        else:
            variable.assign_add(m.value)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
