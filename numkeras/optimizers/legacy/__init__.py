"""TF <= 2.10 optimizers (``tf.keras.optimizers.legacy``): OptimizerV2 with slots.

>>> from numkeras.optimizers import legacy
>>> legacy.Adam().get_config()
{'name': 'Adam', 'learning_rate': 0.001, 'decay': 0.0, 'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-07, 'amsgrad': False}
"""

from numkeras.optimizers.legacy.optimizer_v2 import OptimizerV2
from numkeras.optimizers.legacy.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    Nadam,
    RMSprop,
)

Optimizer = OptimizerV2

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "Nadam", "Optimizer", "OptimizerV2",
           "RMSprop"]
