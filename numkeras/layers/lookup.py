"""StringLookup and IntegerLookup (tf-keras 2.21's ``IndexLookup`` family) on NumPy.

The vocabulary (``get_vocabulary()``) is ``[mask_token]`` (``output_mode="int"`` only) +
``[oov_token] * num_oov_indices`` + the tokens; a token's index is its position there.
Unknown tokens go to the OOV index (``num_oov_indices=1``), to one of ``n > 1`` OOV indices
(IntegerLookup: ``floormod(value, n)``; StringLookup: TF's FarmHash ``Fingerprint64`` of the
UTF-8 bytes modulo ``n``, what ``tf.strings.to_hash_bucket_fast`` computes), or are an error
(``num_oov_indices=0``). The mask token maps to 0 in ``int`` mode and is
dropped otherwise. ``invert=True`` maps indices back to tokens.

Where the vocabulary comes from, as tf-keras / Keras 3 store it:

* ``vocabulary`` in the config (given at construction: a list; a file path is refused, since
  numkeras never reads a file named inside another file);
* an adapted layer's ``vocabulary.txt`` asset of a ``.keras`` archive (one token per line,
  special tokens included), read through :meth:`load_assets_from_bytes`;
* ``tf_idf`` weights: ``idf_weights`` in the config, or the ``idf_weights`` entry the layer
  saves with its variables (``save_own_variables`` / ``load_own_variables``).

``adapt`` counts tokens by frequency (ties: the later-sorted token first, as tf-keras).

>>> import numpy as np
>>> layer = StringLookup(vocabulary=["a", "b", "c"])
>>> layer(np.array([["a", "c", "z"]])).tolist()
[[1, 3, 0]]
>>> StringLookup(vocabulary=["a", "b"], invert=True)(np.array([[2, 0]])).tolist()
[[b'b', b'[UNK]']]
>>> StringLookup(vocabulary=["a"], num_oov_indices=3)(np.array(["a", "x", "y"])).tolist()
[3, 2, 2]
>>> IntegerLookup(vocabulary=[5, 7], output_mode="multi_hot")(np.array([[7, 7, 9]])).tolist()
[[1.0, 0.0, 1.0]]
"""

from __future__ import annotations

import collections

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers.categorical import encode
from numkeras.ops.hashing import fingerprint64

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class _IndexLookup(Layer):
    _string = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, vocabulary_size=None,
                 oov_method="floormod", **kwargs):
        if output_mode == "binary":
            output_mode = "multi_hot"
        kwargs.pop("vocabulary_dtype", None)
        if oov_method != "floormod":  # Keras 3's argument; floormod is tf-keras's rule
            raise ValueError(f"{type(self).__name__}: only oov_method='floormod' is supported.")
        if kwargs.get("dtype") in (None, "string"):
            kwargs["dtype"] = "int64" if output_mode == "int" else backend.floatx()
        super().__init__(autocast=False, **kwargs)
        if output_mode not in _MODES:
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are {_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{type(self).__name__} '{self.name}': sparse=True outputs are "
                             "not supported by numkeras (NumPy arrays are dense).")
        if isinstance(vocabulary, str):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the vocabulary is a file path "
                f"({vocabulary!r}); numkeras never reads files named inside a model. Pass the "
                "tokens as a list (vocabulary=[...]).")
        if num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode = invert, output_mode
        self.sparse, self.pad_to_max_tokens = sparse, pad_to_max_tokens
        self.input_vocabulary = _listify(vocabulary)
        self.input_idf_weights = _listify(idf_weights)
        self._tokens: list = []
        self._index: dict = {}
        self._frozen_vocab_size = vocabulary_size
        size = vocabulary_size if vocabulary_size is not None else self._token_start_index()
        if pad_to_max_tokens and max_tokens is not None:
            size = max_tokens
        self._idf = np.zeros(size, self.compute_dtype) if output_mode == "tf_idf" else None
        if self.input_vocabulary is not None:
            self.set_vocabulary(self.input_vocabulary, self.input_idf_weights)

    # -- vocabulary ------------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _key(self, token):
        if self._string:
            return token.encode("utf-8") if isinstance(token, str) else bytes(token)
        return int(token)

    def vocabulary_size(self) -> int:
        """Size of the vocabulary, special tokens included."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary, index order (tokens as ``str`` for StringLookup)."""
        tokens = [t.decode("utf-8") if isinstance(t, bytes) else t for t in self._tokens]
        if not include_special_tokens:
            return tokens
        specials = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        return specials + tokens

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (special tokens at its start are recognized and skipped)."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is TF_IDF")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        vocabulary = list(_listify(vocabulary))
        start = self._token_start_index()
        specials = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        found_specials = [self._plain(v) for v in vocabulary[:start]] == specials
        tokens = vocabulary[start:] if found_specials else vocabulary
        keys = [self._key(t) for t in tokens]
        repeated = [t for t, n in collections.Counter(keys).items() if n > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are {repeated}")
        if self.mask_token is not None and self._key(self.mask_token) in keys:
            raise ValueError(f"Found reserved mask token at unexpected location in "
                             f"`vocabulary`: {self.mask_token!r}")
        if self.invert and self.oov_token is not None and self._key(self.oov_token) in keys:
            raise ValueError(f"Found reserved OOV token at unexpected location in "
                             f"`vocabulary`: {self.oov_token!r}")
        if self.max_tokens is not None and start + len(keys) > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. "
                             f"Passed vocab size is {start + len(keys)}, max vocab size is "
                             f"{self.max_tokens}.")
        self._tokens = keys
        self._index = {k: start + i for i, k in enumerate(keys)}
        self._frozen_vocab_size = start + len(keys)
        if self.output_mode == "tf_idf" and idf_weights is not False:
            weights = np.asarray(_listify(idf_weights), np.float64).reshape(-1)
            if len(weights) != len(vocabulary):
                raise ValueError("`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(weights)}, len(vocabulary) is "
                                 f"{len(vocabulary)}")
            front = 0 if found_specials else start
            front_value = 0.0 if found_specials else float(np.average(weights))
            back = (self.max_tokens - front - len(weights)
                    if self.pad_to_max_tokens and self.max_tokens is not None else 0)
            self._idf = np.pad(weights, (front, back), "constant",
                               constant_values=(front_value, 0.0)).astype(self.compute_dtype)

    def _plain(self, value):
        if isinstance(value, bytes) and self._string:
            return value.decode("utf-8")
        return value

    # -- the formats' hooks ----------------------------------------------------------------
    def save_own_variables(self, store) -> None:
        """tf-keras / Keras 3 store ``idf_weights`` (``tf_idf`` mode) with the variables."""
        if self.output_mode == "tf_idf":
            store["idf_weights"] = self._idf

    def load_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self._idf = np.asarray(store["idf_weights"]).astype(self.compute_dtype)

    def vocabulary_from_asset(self, data: bytes) -> None:
        """Set the vocabulary from a ``vocabulary.txt`` asset (one token per line)."""
        if self.input_vocabulary is not None:
            return  # the config holds it, as tf-keras's load_assets assumes
        lines = data.decode("utf-8").split("\n")
        values = lines if self._string else [int(line) for line in lines]
        if self.output_mode == "tf_idf":
            self.set_vocabulary(values, idf_weights=False)
        else:
            self.set_vocabulary(values)

    def vocabulary_asset(self) -> bytes | None:
        """The ``vocabulary.txt`` asset tf-keras writes (``None`` when the config holds it)."""
        if self.input_vocabulary is not None:
            return None
        return "\n".join(str(w) for w in self.get_vocabulary()).encode("utf-8")

    # -- forward ---------------------------------------------------------------------------
    def _lookup(self, x: np.ndarray) -> np.ndarray:
        flat = x.reshape(-1)
        out = np.empty(flat.shape, np.int64)
        oov = -1 if self.num_oov_indices != 1 else self._oov_start_index()
        mask_key = self._key(self.mask_token) if self.mask_token is not None else None
        mask_value = 0 if self.output_mode == "int" else -2
        missing = []
        for i, value in enumerate(flat.tolist()):
            key = self._key(value)
            if key == mask_key:
                out[i] = mask_value
                continue
            found = self._index.get(key)
            if found is None:
                if self.num_oov_indices > 1:
                    bucket = fingerprint64(key) if self._string else key
                    found = bucket % self.num_oov_indices + self._oov_start_index()
                elif self.num_oov_indices == 0:
                    missing.append(value)
                    found = -1
                else:
                    found = oov
            out[i] = found
        if missing:
            raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, "
                             f"found OOV values {missing[:10]}, consider setting "
                             "`num_oov_indices=1`.")
        return out.reshape(x.shape)

    def _invert(self, x: np.ndarray):
        vocab = self.get_vocabulary()
        oov = self.oov_token.encode("utf-8") if self._string else self.oov_token
        out = []
        for index in x.reshape(-1).tolist():
            if self.mask_token is not None and index == 0:
                token = self.mask_token
            elif 0 <= index < len(vocab) and index >= self._token_start_index():
                token = vocab[index]
            else:
                out.append(oov)
                continue
            out.append(token.encode("utf-8") if self._string else token)
        return np.array(out, dtype=object if self._string else np.int64).reshape(x.shape)

    def call(self, inputs):
        x = np.asarray(inputs)
        if x.ndim == 0:
            x = x[None]
            squeeze = True
        else:
            squeeze = False
        if self.invert:
            out = self._invert(x)
            return out[0] if squeeze else out
        ids = self._lookup(x)
        if self.output_mode == "int":
            dtype = self.compute_dtype
            out = ids.astype(dtype if np.dtype(dtype).kind in "iu" else np.int64)
            return out[0] if squeeze else out
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        keep = ids >= 0  # dropped mask tokens (-2) count for nothing
        if mode == "count":
            out = encode(np.where(keep, ids, 0), "count", depth, np.float64,
                         count_weights=keep.astype(np.float64),
                         layer=f"{type(self).__name__} '{self.name}'")
        else:
            out = encode_kept(ids, mode, depth)
        if self.output_mode == "tf_idf":
            out = out * self._idf[:depth]
        return out.astype(self.compute_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        shape = list(input_shape)
        if self.output_mode == "one_hot" and shape and shape[-1] != 1:
            return tuple(shape) + (depth,)
        return tuple(shape[:-1]) + (depth,)

    def get_config(self):
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                **self._dtype_config(), "idf_weights": self.input_idf_weights,
                "vocabulary": self.input_vocabulary,
                "vocabulary_size": self._frozen_vocab_size}

    def _dtype_config(self) -> dict:
        return {}


def encode_kept(ids: np.ndarray, mode: str, depth: int) -> np.ndarray:
    """one_hot / multi_hot of ``ids`` where negative ids (dropped mask tokens) set nothing."""
    x = ids if ids.ndim else ids[None]
    if mode == "one_hot" and x.shape[-1] != 1:
        x = x[..., None]
    flat = x.reshape(-1, x.shape[-1])
    out = np.zeros((flat.shape[0], depth))
    rows, cols = np.nonzero(flat >= 0)
    out[rows, flat[rows, cols]] = 1.0
    return out.reshape(x.shape[:-1] + (depth,))


class StringLookup(_IndexLookup):
    """Strings to vocabulary indices (or encoded vectors); ``invert=True``: the reverse."""

    _string = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, encoding="utf-8", invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", **kwargs):
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, **kwargs)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Vocabulary from ``data`` by token frequency (ties: later-sorted token first)."""
        _adapt(self, data)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(_IndexLookup):
    """Integers to vocabulary indices (or encoded vectors); ``invert=True``: the reverse."""

    _string = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", **kwargs):
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, **kwargs)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Vocabulary from ``data`` by frequency (ties: the larger value first, as tf-keras)."""
        _adapt(self, data)

    def _dtype_config(self) -> dict:
        return {"vocabulary_dtype": self.vocabulary_dtype}


def _adapt(layer: _IndexLookup, data) -> None:
    if layer.input_vocabulary is not None:
        raise ValueError(f"Cannot adapt {type(layer).__name__} layer after setting a static "
                         "vocabulary via init argument or `set_vocabulary`.")
    if layer.output_mode == "tf_idf":
        raise NotImplementedError("adapt() of a tf_idf lookup layer is not supported by "
                                  "numkeras; pass vocabulary= and idf_weights=.")
    counts = collections.Counter(layer._key(v) for v in np.asarray(data).reshape(-1).tolist())
    if layer.mask_token is not None:
        counts.pop(layer._key(layer.mask_token), None)
    if layer.oov_token is not None:
        counts.pop(layer._key(layer.oov_token), None)
    ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    tokens = [k for k, _ in ranked]
    if layer.max_tokens is not None:
        tokens = tokens[:max(layer.max_tokens - layer._token_start_index(), 0)]
    layer.set_vocabulary([layer._plain(t) for t in tokens])


def _listify(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


__all__ = ["StringLookup", "IntegerLookup"]
