"""Session-wide state: layer-name counters, name scopes and float precision.

Mirrors the parts of ``tf.keras.backend`` that decide names and dtypes:

>>> from numkeras import backend
>>> backend.clear_session()
>>> backend.unique_object_name("dense"), backend.unique_object_name("dense")
('dense', 'dense_1')
>>> backend.get_uid("input"), backend.get_uid("input")
(1, 2)
>>> backend.floatx()
'float32'
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_NAME_COUNTERS: defaultdict[str, int] = defaultdict(int)
_UIDS: defaultdict[str, int] = defaultdict(int)
_NAME_SCOPE: list[str] = []
_SCRATCH_DEPTH = 0
_ZERO_WEIGHTS = 0  # > 0 inside zero_weights(): new weights are zeros, not initialised


def floatx() -> str:
    """The default float dtype of new weights (``'float32'``)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float dtype (``'float16'``, ``'float32'`` or ``'float64'``)."""
    global _FLOATX
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}. Expected float16, float32 or float64.")
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor used by numeric expressions (``1e-7``)."""
    return _EPSILON


def clear_session() -> None:
    """Reset the layer-name counters, as ``tf.keras.backend.clear_session()`` does."""
    _NAME_COUNTERS.clear()
    _UIDS.clear()
    _NAME_SCOPE.clear()


_SEED_RNG: np.random.Generator | None = None


def set_global_seed(seed: int | None) -> None:
    """Make unseeded initializers, dropout and noise layers reproducible from ``seed``
    (``None`` goes back to fresh OS entropy). ``numkeras.utils.set_random_seed`` calls this."""
    global _SEED_RNG
    _SEED_RNG = None if seed is None else np.random.default_rng(seed)


def random_generator(seed: int | None = None) -> np.random.Generator:
    """A NumPy generator for ``seed``; unseeded ones derive from the global seed if set."""
    if seed is not None:
        return np.random.default_rng(seed)
    if _SEED_RNG is not None:
        return np.random.default_rng(int(_SEED_RNG.integers(2**63)))
    return np.random.default_rng()


def get_uid(prefix: str = "") -> int:
    """A one-based counter per prefix (used for ``input_1``, ``input_2``, ...)."""
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def unique_object_name(base: str, zero_based: bool = True) -> str:
    """``base``, then ``base_1``, ``base_2``... (zero-based), as tf-keras names layers."""
    count = _NAME_COUNTERS[base]
    _NAME_COUNTERS[base] += 1
    if zero_based:
        return base if count == 0 else f"{base}_{count}"
    return f"{base}_{count + 1}"


def to_snake_case(name: str) -> str:
    """Class name to layer base name: ``Conv2D`` -> ``conv2d``, ``PReLU`` -> ``p_re_lu``,
    ``ConvLSTM2D`` -> ``conv_lstm2d`` (tf-keras's ``generic_utils.to_snake_case``)."""
    intermediate = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)  # tf-keras: ConvLSTM2D
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[None]:
    """Push ``name`` on the scope that prefixes new variable names (``dense/kernel:0``)."""
    _NAME_SCOPE.append(name)
    try:
        yield
    finally:
        _NAME_SCOPE.pop()


@contextlib.contextmanager
def scratch_names() -> Iterator[None]:
    """Name layers created inside from fresh counters, then restore the session's.

    tf-keras builds and calls a layer on ``keras.Input`` tensors inside a scratch graph, and
    layer names are unique per graph: layers that ``build``/``call`` create there
    (MultiHeadAttention's ``softmax`` and ``dropout``, a custom layer's sub-layers) do not
    consume the session's names. Nested uses share the outermost scratch counters.
    """
    global _NAME_COUNTERS, _SCRATCH_DEPTH
    saved = _NAME_COUNTERS
    if _SCRATCH_DEPTH == 0:
        _NAME_COUNTERS = defaultdict(int)
    _SCRATCH_DEPTH += 1
    try:
        yield
    finally:
        _SCRATCH_DEPTH -= 1
        _NAME_COUNTERS = saved


@contextlib.contextmanager
def zero_weights() -> Iterator[None]:
    """Create new weights as zeros without running their initializers, for models built only
    to name and shape weights (listing a ``.keras`` file's weights: a 1 GiB model's random
    initialisation would take seconds; zeros are pages the system hands out on first write).

    >>> from numkeras import layers
    >>> with zero_weights():
    ...     layer = layers.Dense(2, kernel_initializer="ones")
    ...     layer.build((None, 3))
    >>> layer.kernel.numpy().tolist()
    [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    """
    global _ZERO_WEIGHTS
    _ZERO_WEIGHTS += 1
    try:
        yield
    finally:
        _ZERO_WEIGHTS -= 1


def zeroing_weights() -> bool:
    """Whether :func:`zero_weights` is active."""
    return _ZERO_WEIGHTS > 0


@contextlib.contextmanager
def top_level_scope() -> Iterator[None]:
    """Temporarily empty the name scope (as ``tf.init_scope`` does for deferred builds)."""
    saved = _NAME_SCOPE[:]
    _NAME_SCOPE.clear()
    try:
        yield
    finally:
        _NAME_SCOPE[:] = saved


def scoped_name(name: str) -> str:
    """The full variable name for ``name`` in the current scope, with the ``:0`` suffix."""
    return "/".join([*_NAME_SCOPE, name]) + ":0"


def int_shape(x) -> tuple:
    """The shape of an array, variable or symbolic tensor as a tuple."""
    return tuple(x.shape)


def cast_to_floatx(x) -> np.ndarray:
    """``x`` as an array of the default float dtype."""
    return np.asarray(x, dtype=_FLOATX)


def image_data_format() -> str:
    """The default data format of image layers (``'channels_last'``)."""
    return "channels_last"


def get_value(x) -> np.ndarray:
    """The value of a variable (a copy) or array."""
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def batch_get_value(tensors) -> list:
    """:func:`get_value` of each of ``tensors``."""
    return [get_value(x) for x in tensors]


def set_value(x, value) -> None:
    """Assign ``value`` to variable ``x`` (cast to its dtype)."""
    x.assign(np.asarray(value))


def batch_set_value(tuples) -> None:
    """Assign every ``(variable, value)`` pair; all shapes are checked before any assignment."""
    pairs = [(x, x.check_assignable(value)) for x, value in tuples]
    for x, value in pairs:
        x.assign(value)


def count_params(x) -> int:
    """Number of elements of a variable or array."""
    return int(np.prod(x.shape, dtype=np.int64))
