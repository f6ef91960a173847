"""Pure, stateless NumPy kernels that reproduce TensorFlow's inference numerics.

``numkeras.ops`` is the numeric core that the layer classes call: convolutions
(:mod:`numkeras.ops.conv`), pooling (:mod:`numkeras.ops.pooling`), image resizing
(:mod:`numkeras.ops.image`) and activations / normalisation maths
(:mod:`numkeras.ops.nn`).  Every function takes and returns plain ``numpy.ndarray``
objects (float32 in, float32 out), follows the padding, layout and rounding rules of
the corresponding TensorFlow op, and never imports TensorFlow.  Import the submodules
directly, e.g. ``from numkeras.ops import conv``.

The package itself is also Keras 3's ``keras.ops`` namespace (:mod:`numkeras.ops.keras3`):
``ops.mean(x, axis=-1)``, ``ops.relu(x)``... work on arrays and, in a functional model, on
Keras tensors (where they add the operation nodes Keras 3 saves).

>>> import numpy as np
>>> from numkeras import ops
>>> ops.mean(np.array([[1.0, 3.0]], np.float32), axis=-1)
array([2.], dtype=float32)
"""

from numkeras.ops.keras3 import *  # noqa: F401, F403, E402
