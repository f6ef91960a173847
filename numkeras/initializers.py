"""Weight initializers with tf.keras names, arguments and configs.

Deterministic initializers give exactly tf.keras's values; random ones draw from the same
distributions (with NumPy's generator, so not the same numbers as TensorFlow).

>>> get("ones")((2,), dtype="float32")
array([1., 1.], dtype=float32)
>>> Constant(2.0)((1, 2))
array([[2., 2.]], dtype=float32)
>>> serialize(GlorotUniform(seed=1))
{'module': 'keras.initializers', 'class_name': 'GlorotUniform', 'config': {'seed': 1}, 'registered_name': None}
>>> round(float(get("glorot_uniform")((300, 200)).std()), 2)  # sqrt(2 / (300 + 200))
0.06
"""

from __future__ import annotations

import math

import numpy as np

from numkeras import backend


def _dtype(dtype):
    return np.dtype(dtype or backend.floatx()) if dtype != "bfloat16" else _bf16()


def _bf16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


class Initializer:
    """Base class: ``init(shape, dtype)`` returns a NumPy array."""

    def __call__(self, shape, dtype=None, **kwargs) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return np.zeros(shape, dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return np.ones(shape, dtype=_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None, **kwargs):
        return np.broadcast_to(np.asarray(self.value, dtype=_dtype(dtype)), shape).copy()

    def get_config(self):
        value = self.value
        return {"value": value.tolist() if isinstance(value, np.ndarray) else value}


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed
        self._rng = backend.random_generator(seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        return _normal(self._rng, self.mean, self.stddev, shape, _dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None, **kwargs):
        dt = _dtype(dtype)
        if dt.kind in "iu":
            return self._rng.integers(self.minval, self.maxval, shape).astype(dt)
        return _uniform(self._rng, self.minval, self.maxval, shape, dt)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _gen_dtype(dtype):
    """Draw in float32 when the target is float32 (half the time and memory), else float64."""
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


def _uniform(rng, low, high, shape, dtype):
    out = rng.random(shape, dtype=_gen_dtype(dtype))
    out *= high - low
    out += low
    return out.astype(dtype, copy=False)


def _normal(rng, mean, stddev, shape, dtype):
    out = rng.standard_normal(shape, dtype=_gen_dtype(dtype))
    out *= stddev
    out += mean
    return out.astype(dtype, copy=False)


def _truncated_normal(rng, shape, stddev):
    out = rng.normal(0.0, stddev, shape)
    bad = np.abs(out) > 2 * stddev
    while bad.any():
        out[bad] = rng.normal(0.0, stddev, int(bad.sum()))
        bad = np.abs(out) > 2 * stddev
    return out


class TruncatedNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        out = self.mean + _truncated_normal(self._rng, shape, self.stddev)
        return out.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _fans(shape) -> tuple[float, float]:
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class VarianceScaling(_Random):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be positive. Received: scale={scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Expected fan_in, fan_out "
                             "or fan_avg.")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}.")
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None, **kwargs):
        fan_in, fan_out = _fans(tuple(shape))
        denom = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[
            self.mode]
        scale = self.scale / max(1.0, denom)
        if self.distribution == "truncated_normal":
            out = _truncated_normal(self._rng, shape, math.sqrt(scale) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            return _normal(self._rng, 0.0, math.sqrt(scale), shape, _dtype(dtype))
        else:
            limit = math.sqrt(3.0 * scale)
            return _uniform(self._rng, -limit, limit, shape, _dtype(dtype))
        return out.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _variance_scaling_subclass(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"VarianceScaling({scale}, {mode!r}, "
                                                      f"{distribution!r})."})


GlorotUniform = _variance_scaling_subclass("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling_subclass("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _variance_scaling_subclass("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _variance_scaling_subclass("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _variance_scaling_subclass("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling_subclass("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(_Random):
    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        flat = self._rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


_CLASSES = {c.__name__: c for c in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal,
    Identity)}
_ALIASES = {backend.to_snake_case(name): cls for name, cls in _CLASSES.items()}
_ALIASES.update({"zero": Zeros, "one": Ones, "normal": RandomNormal, "uniform": RandomUniform,
                 "random_normal": RandomNormal, "random_uniform": RandomUniform,
                 "truncated_normal": TruncatedNormal, "orthogonal": Orthogonal,
                 "identity": Identity, "constant": Constant})

zeros, ones, constant = Zeros, Ones, Constant
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform


def serialize(initializer) -> dict:
    """The tf.keras config dict of an initializer."""
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None):
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name) or _ALIASES.get(name)
    if cls is None:
        raise ValueError(f"Unknown initializer: {name!r}. Known: {sorted(_CLASSES)}.")
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """An initializer from a name (``'glorot_uniform'``), a config dict, a callable or None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _ALIASES.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                             f"Known names: {sorted(_ALIASES)}.")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}.")
