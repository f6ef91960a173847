"""Pure, stateless NumPy kernels that reproduce TensorFlow's inference numerics.

``numkeras.ops`` is the numeric core that the layer classes call: convolutions
(:mod:`numkeras.ops.conv`), pooling (:mod:`numkeras.ops.pooling`), image resizing
(:mod:`numkeras.ops.image`) and activations / normalisation maths
(:mod:`numkeras.ops.nn`).  Every function takes and returns plain ``numpy.ndarray``
objects (float32 in, float32 out), follows the padding, layout and rounding rules of
the corresponding TensorFlow op, and never imports TensorFlow.  Import the submodules
directly, e.g. ``from numkeras.ops import conv``; this package module stays import-light.
"""
