"""CategoryEncoding and Discretization (tf-keras 2.21's preprocessing layers, dense inputs).

* ``CategoryEncoding(num_tokens, output_mode)``: integer ids to ``one_hot`` / ``multi_hot`` /
  ``count`` vectors (float32 by default); ids outside ``[0, num_tokens)`` are an error.
* ``Discretization(bin_boundaries)``: bucket index = number of boundaries ``<= x``
  (``tf.raw_ops.Bucketize``), then encoded as ``output_mode`` says (``int`` gives int64).
  ``Discretization(num_bins)`` learns its boundaries in ``adapt`` (tf-keras's quantile rule,
  ``numkeras.layers._quantiles``; 32 rows per batch as tf-keras's ``adapt`` batches them).
  Adapted boundaries are saved in the config (``bin_boundaries``, as Keras 3 does).
  tf-keras keeps them in a ``summary`` weight whose shape depends on the data, which numkeras
  does not hold: such a model file is refused with advice (docs/compatibility.md).

>>> import numpy as np
>>> CategoryEncoding(4, output_mode="one_hot")(np.array([3, 0])).tolist()
[[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]
>>> CategoryEncoding(3, output_mode="count")(np.array([[0, 2, 2]])).tolist()
[[1.0, 0.0, 2.0]]
>>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.0, 0.0, 0.5, 3.0]])).tolist()
[[0, 1, 1, 2]]
>>> layer = Discretization(num_bins=3, epsilon=0.25)
>>> layer.adapt(np.arange(10, dtype="float32"))
>>> layer.bin_boundaries
[2.6666667461395264, 5.333333492279053]
>>> layer.adapt(np.arange(4, dtype="float32"))  # adapting again starts afresh, as tf-keras
>>> layer.bin_boundaries
[1.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers import _quantiles

_MODES = ("one_hot", "multi_hot", "count")


def encode(ids: np.ndarray, output_mode: str, depth: int, dtype, count_weights=None,
           layer: str = "") -> np.ndarray:
    """tf-keras's ``encode_categorical_inputs`` for dense integer ``ids``."""
    if output_mode == "int":
        return ids.astype(dtype)
    x = ids
    if x.ndim == 0:
        x = x[None]
    if output_mode == "one_hot" and x.shape[-1] != 1:
        x = x[..., None]
    if x.ndim > 2:
        raise ValueError("When output_mode is not `'int'`, maximum supported output rank is 2. "
                         f"Received output_mode {output_mode} and input shape {ids.shape}, "
                         f"which would result in output rank {x.ndim}.")
    if x.size and (x.min() < 0 or x.max() >= depth):
        raise ValueError(f"{layer}: input values must be in the range 0 <= values < "
                         f"num_tokens with num_tokens={depth}; found values in "
                         f"[{x.min()}, {x.max()}].")
    flat = x.reshape(-1, x.shape[-1]) if x.ndim == 2 else x.reshape(1, -1)
    out = np.zeros((flat.shape[0], depth), dtype=np.float64)
    rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
    if output_mode == "count":
        w = (np.ones(flat.shape) if count_weights is None
             else np.asarray(count_weights, np.float64).reshape(flat.shape))
        np.add.at(out, (rows, flat.reshape(-1)), w.reshape(-1))
    else:
        out[rows, flat.reshape(-1)] = 1.0
    out = out.astype(dtype)
    return out if x.ndim == 2 else out[0]


class CategoryEncoding(Layer):
    """Integer ids to one-hot, multi-hot or count vectors of length ``num_tokens``."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        if "max_tokens" in kwargs:
            num_tokens = kwargs.pop("max_tokens")
        kwargs.setdefault("dtype", backend.floatx())
        super().__init__(autocast=False, **kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are {_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens "
                             "is not known beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError(f"CategoryEncoding '{self.name}': sparse=True outputs are not "
                             "supported by numkeras (NumPy arrays are dense).")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                             f"Received `count_weights={count_weights}`.")
        ids = np.asarray(inputs)
        if ids.dtype.kind == "f":
            ids = ids.astype(np.int64)
        return encode(ids, self.output_mode, self.num_tokens, self.compute_dtype,
                      count_weights, f"CategoryEncoding '{self.name}'")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and shape[-1] != 1:
            return tuple(shape) + (self.num_tokens,)
        return tuple(shape[:-1]) + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}


class Discretization(Layer):
    """Buckets values by ``bin_boundaries`` (bins extend to -inf and +inf)."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, **kwargs):
        if "bins" in kwargs:
            bins = kwargs.pop("bins")
            if isinstance(bins, int) and num_bins is None:
                num_bins = bins
            elif bin_boundaries is None:
                bin_boundaries = bins
        if "dtype" not in kwargs or kwargs["dtype"] is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else backend.floatx()
        super().__init__(autocast=False, **kwargs)
        if output_mode not in ("int",) + _MODES:
            raise ValueError("Unknown value for `output_mode`. Allowed values are "
                             f"{('int',) + _MODES}. Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"Discretization '{self.name}': sparse=True outputs are not "
                             "supported by numkeras (NumPy arrays are dense).")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. You passed "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = None if bin_boundaries is None else \
            [float(b) for b in np.asarray(bin_boundaries).reshape(-1)]
        self.num_bins, self.epsilon = num_bins, epsilon
        self._adapted = False  # adapted boundaries are saved alone (tf-keras refuses both)
        self.output_mode, self.sparse = output_mode, sparse

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            config["num_bins"] = None  # Keras 3 keeps both after adapt; the boundaries decide
        elif config.get("bin_boundaries") is None and config.get("num_bins") is not None:
            raise ValueError(
                f"Discretization '{config.get('name')}': configured with "
                f"num_bins={config['num_bins']} and no `bin_boundaries`: tf-keras keeps the "
                "adapted boundaries in a `summary` weight whose shape depends on the data, "
                "which numkeras does not read. Save the model from Keras 3 (which writes the "
                "boundaries into the config), or rebuild the layer in tf-keras as "
                "Discretization(bin_boundaries=layer.bin_boundaries) and save again.")
        return super().from_config(config)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Boundaries from the quantiles of ``data`` (``num_bins`` layers; tf-keras's rule,
        ``batch_size`` rows at a time, 32 by default)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead. You passed "
                             f"`bin_boundaries={self.bin_boundaries}`.")
        data = np.asarray(data)
        batch = batch_size or 32
        starts = range(0, max(len(data), 1), batch) if data.ndim else [None]
        if steps is not None:
            starts = list(starts)[:steps]
        summary = np.zeros((2, 0), np.float32)
        for start in starts:
            part = data if start is None else data[start:start + batch]
            summary = _quantiles.merge(_quantiles.summarize(part, self.epsilon), summary,
                                       self.epsilon)
        self.bin_boundaries = _quantiles.bin_boundaries(summary, self.num_bins)
        self._adapted = True

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can "
                             "start using the `Discretization` layer.")
        x = np.asarray(inputs)
        bounds = np.asarray(self.bin_boundaries, np.float32)
        ids = np.searchsorted(bounds, x.astype(np.float32), side="right").astype(np.int64)
        dtype = self.compute_dtype
        if self.output_mode == "int" and np.dtype(dtype).kind not in "iu":
            dtype = "int64"  # Keras 3 files keep a float policy; the ids are still int64
        return encode(ids, self.output_mode, len(self.bin_boundaries) + 1, dtype,
                      layer=f"Discretization '{self.name}'")

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return input_shape
        depth = None if self.bin_boundaries is None else len(self.bin_boundaries) + 1
        return CategoryEncoding.compute_output_shape(_Depth(depth, self.output_mode),
                                                     input_shape)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": None if self._adapted else self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse}


class _Depth:
    """What ``CategoryEncoding.compute_output_shape`` reads."""

    def __init__(self, num_tokens, output_mode):
        self.num_tokens, self.output_mode = num_tokens, output_mode


__all__ = ["CategoryEncoding", "Discretization"]
