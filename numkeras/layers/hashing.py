"""Hashing (tf-keras 2.21): values to ``num_bins`` buckets by TensorFlow's string hashes.

Integers are hashed as their decimal strings (``tf.as_string``). Without ``salt`` the bucket
is FarmHash ``Fingerprint64(value) % bins`` (``tf.strings.to_hash_bucket_fast``); with a salt
(an int ``s`` means ``[s, s]``) it is ``SipHash-2-4(value) % bins`` keyed by the salt
(``to_hash_bucket_strong``). With ``mask_value`` the mask goes to bin 0 and other values to
``1 + hash % (num_bins - 1)``. The hashes are :mod:`numkeras.ops.hashing`.

>>> import numpy as np
>>> Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"], ["D"], ["E"]], dtype=object)).tolist()
[[1], [0], [1], [1], [2]]
"""

from __future__ import annotations

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers.categorical import encode
from numkeras.ops.hashing import fingerprint64, fingerprint_cat64, siphash24

_CROSS_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash key


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if num_bins is None or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        dtype = kwargs.get("dtype")
        if dtype is None or (output_mode == "int" and np.dtype(dtype).kind not in "iu"):
            kwargs["dtype"] = "int64" if output_mode == "int" else backend.floatx()
        super().__init__(autocast=False, **kwargs)
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Unknown value for `output_mode`. Allowed values are ('int', "
                             f"'one_hot', 'multi_hot', 'count'). Received: "
                             f"output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"Hashing '{self.name}': sparse=True outputs are not supported by "
                             "numkeras (NumPy arrays are dense).")
        self.num_bins, self.mask_value = num_bins, mask_value
        self.output_mode, self.sparse = output_mode, sparse
        self.strong_hash = salt is not None
        if salt is None:
            self.salt = None
        elif isinstance(salt, (tuple, list)) and len(salt) == 2:
            self.salt = list(salt)
        elif isinstance(salt, int):
            self.salt = [salt, salt]
        else:
            raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size 2 "
                             f"integers, or a single integer. Received: salt={salt}.")

    def _bins(self, values: np.ndarray) -> np.ndarray:
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = values == self.mask_value
        if values.dtype.kind == "f":
            raise ValueError(f"Hashing '{self.name}': float inputs are not supported (tf-keras "
                             "hashes strings and integers).")
        out = np.empty(values.shape, np.int64)
        flat = out.reshape(-1)
        for i, v in enumerate(values.reshape(-1).tolist()):
            if isinstance(v, bytes):
                data = v
            elif isinstance(v, str):
                data = v.encode("utf-8")
            else:
                data = str(int(v)).encode("ascii")
            h = siphash24(data, self.salt[0] & (2**64 - 1), self.salt[1] & (2**64 - 1)) \
                if self.strong_hash else fingerprint64(data)
            flat[i] = h % bins
        if masked is not None:
            out = np.where(masked, 0, out + 1)
        return out

    def call(self, inputs):
        ids = self._bins(np.asarray(inputs))
        dtype = self.compute_dtype
        if self.output_mode == "int":
            return ids.astype(dtype)
        return encode(ids, self.output_mode, self.num_bins, dtype,
                      layer=f"Hashing '{self.name}'")

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return input_shape
        shape = list(input_shape)
        if self.output_mode == "one_hot" and shape and shape[-1] != 1:
            return tuple(shape) + (self.num_bins,)
        return tuple(shape[:-1]) + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}


class HashedCrossing(Layer):
    """Crosses two or more categorical features into ``num_bins`` bins
    (``tf.sparse.cross_hashed``); ``output_mode`` ``"int"`` or ``"one_hot"``."""

    def __init__(self, num_bins, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else backend.floatx()
        super().__init__(autocast=False, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ValueError("Unknown value for `output_mode`. Allowed values are ('int', "
                             f"'one_hot'). Received: output_mode={output_mode!r}")
        if output_mode == "int" and np.dtype(self.compute_dtype).kind not in "iu":
            raise ValueError("When `output_mode='int'`, `dtype` should be an integer type. "
                             f"Received: dtype={self.compute_dtype}")
        if sparse:
            raise ValueError(f"HashedCrossing '{self.name}': sparse=True outputs are not "
                             "supported by numkeras (NumPy arrays are dense).")
        self.num_bins, self.output_mode, self.sparse = num_bins, output_mode, sparse

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError("`HashedCrossing` should be called on a list or tuple of at least "
                             f"two inputs. Received: inputs={inputs}")
        arrays = [np.asarray(x) for x in inputs]
        shape = arrays[0].shape
        if any(a.shape != shape for a in arrays) or (len(shape) == 2 and shape[-1] != 1) \
                or len(shape) > 2:
            raise ValueError("All `HashedCrossing` inputs should have equal shape (batch,) or "
                             f"(batch, 1). Received shapes {[a.shape for a in arrays]}")
        columns = [a.reshape(-1).tolist() for a in arrays]
        out = np.empty(len(columns[0]), np.int64)
        for i, row in enumerate(zip(*columns)):
            h = _CROSS_KEY
            for v in row:
                if isinstance(v, (bytes, str)):
                    feature = fingerprint64(v.encode("utf-8") if isinstance(v, str) else v)
                else:
                    feature = int(v) & 0xFFFFFFFFFFFFFFFF
                h = fingerprint_cat64(h, feature)
            out[i] = h % self.num_bins
        out = out.reshape(shape)
        if self.output_mode == "int":
            return out.astype(self.compute_dtype)
        return encode(out, "one_hot", self.num_bins, self.compute_dtype,
                      layer=f"HashedCrossing '{self.name}'")

    def compute_output_shape(self, input_shapes):
        shape = tuple(input_shapes[0])
        if self.output_mode == "int":
            return shape
        if len(shape) == 2 and shape[-1] == 1:
            return shape[:-1] + (self.num_bins,)
        return shape + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins,
                "output_mode": self.output_mode, "sparse": self.sparse}


__all__ = ["Hashing", "HashedCrossing"]
