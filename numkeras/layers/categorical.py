"""CategoryEncoding and Discretization (tf-keras 2.21's preprocessing layers, dense inputs).

* ``CategoryEncoding(num_tokens, output_mode)``: integer ids to ``one_hot`` / ``multi_hot`` /
  ``count`` vectors (float32 by default); ids outside ``[0, num_tokens)`` are an error.
* ``Discretization(bin_boundaries)``: bucket index = number of boundaries ``<= x``
  (``tf.raw_ops.Bucketize``), then encoded as ``output_mode`` says (``int`` gives int64).
  A Discretization configured with ``num_bins`` keeps an adapted quantile ``summary`` weight
  whose shape depends on the data; numkeras does not hold such weights (see
  docs/compatibility.md) and asks for ``bin_boundaries`` instead.

>>> import numpy as np
>>> CategoryEncoding(4, output_mode="one_hot")(np.array([3, 0])).tolist()
[[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]
>>> CategoryEncoding(3, output_mode="count")(np.array([[0, 2, 2]])).tolist()
[[1.0, 0.0, 2.0]]
>>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.0, 0.0, 0.5, 3.0]])).tolist()
[[0, 1, 1, 2]]
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer

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
        if bin_boundaries is None:
            raise ValueError(
                f"Discretization '{self.name}': numkeras needs `bin_boundaries`; a layer "
                f"configured with num_bins={num_bins} keeps its adapted boundaries in a "
                "`summary` weight of data-dependent shape, which numkeras does not hold. "
                "Rebuild it with the adapted boundaries: "
                "Discretization(bin_boundaries=layer.bin_boundaries) in tf-keras.")
        self.bin_boundaries = [float(b) for b in np.asarray(bin_boundaries).reshape(-1)]
        self.num_bins, self.epsilon = num_bins, epsilon
        self.output_mode, self.sparse = output_mode, sparse

    def call(self, inputs):
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
        return CategoryEncoding.compute_output_shape(
            _Depth(len(self.bin_boundaries) + 1, self.output_mode), input_shape)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse}


class _Depth:
    """What ``CategoryEncoding.compute_output_shape`` reads."""

    def __init__(self, num_tokens, output_mode):
        self.num_tokens, self.output_mode = num_tokens, output_mode


__all__ = ["CategoryEncoding", "Discretization"]
