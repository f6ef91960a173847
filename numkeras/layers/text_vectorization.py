"""TextVectorization (tf-keras 2.21) on NumPy: standardize, split, n-grams, then a StringLookup.

* ``standardize``: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
  ``"strip_punctuation"`` or ``None``; punctuation is tf-keras's
  ``[!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~']``.
* ``split``: ``"whitespace"`` (default), ``"character"`` or ``None``.
* ``ngrams``: ``None``, an int ``n`` (widths ``1..n``) or a tuple of widths; n-grams are joined
  with spaces, all widths in the order given.
* ``output_mode="int"`` pads with 0 / truncates to ``output_sequence_length`` (without it, to
  the longest row); other modes encode the tokens of each row like ``StringLookup``.

The vocabulary lives in the inner ``_lookup_layer`` (a :class:`StringLookup` with mask token
``""``), where tf-keras keeps it: from the config, or the ``vocabulary.txt`` asset of a
``.keras`` archive.

>>> import numpy as np
>>> tv = TextVectorization(vocabulary=["the", "cat"], output_sequence_length=4)
>>> tv(np.array([["The cat, the DOG!"]])).tolist()
[[2, 3, 2, 1]]
"""

from __future__ import annotations

import re

import numpy as np

from numkeras import backend
from numkeras.engine.base_layer import Layer
from numkeras.layers.lookup import StringLookup

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


class TextVectorization(Layer):
    """Strings to token indices or encoded vectors."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8",
                 vocabulary_size=None, **kwargs):
        kwargs.pop("dtype", None)  # always "string" in tf-keras configs; outputs are ints/floats
        super().__init__(autocast=False, **kwargs)
        if standardize not in (None, "lower_and_strip_punctuation", "lower",
                               "strip_punctuation"):
            raise ValueError(f"TextVectorization '{self.name}': standardize={standardize!r} "
                             "is not supported (a callable cannot come from a file).")
        if split not in (None, "whitespace", "character"):
            raise ValueError(f"TextVectorization '{self.name}': split={split!r} is not "
                             "supported (a callable cannot come from a file).")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError("Unknown value for `output_mode`. Allowed values are ('int', "
                             "'multi_hot', 'count', 'tf_idf'). Received: "
                             f"output_mode={output_mode!r}")
        if isinstance(ngrams, int) and ngrams < 1 or (
                ngrams is not None and not isinstance(ngrams, (int, list, tuple))):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not "
                             f"'int'. Received output_sequence_length={output_sequence_length}.")
        if ragged or sparse:
            raise ValueError(f"TextVectorization '{self.name}': ragged/sparse outputs are not "
                             "supported by numkeras (NumPy arrays are dense).")
        self.max_tokens, self._standardize, self._split = max_tokens, standardize, split
        self._ngrams_arg = ngrams
        self._ngrams = (tuple(range(1, ngrams + 1)) if isinstance(ngrams, int)
                        else tuple(ngrams) if ngrams is not None else None)
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self.pad_to_max_tokens, self.encoding = pad_to_max_tokens, encoding
        self.sparse, self.ragged = sparse, ragged
        floatx = backend.floatx()
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            encoding=encoding, vocabulary_size=vocabulary_size,
            dtype="int64" if output_mode == "int" else floatx, name="string_lookup")

    # -- vocabulary ------------------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Vocabulary from the standardized, split tokens of ``data`` (by frequency)."""
        x = np.asarray(data, dtype=object).reshape(-1)
        tokens = [tok for v in x.tolist()
                  for tok in self._tokens(v.decode(self.encoding) if isinstance(v, bytes)
                                          else str(v))]
        self._lookup_layer.adapt(np.array(tokens, dtype=object))

    def save_own_variables(self, store) -> None:
        """As tf-keras: ``idf_weights`` (``tf_idf``) is also stored with this layer's vars."""
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store) -> None:
        self._lookup_layer.load_own_variables(store)

    def vocabulary_from_asset(self, data: bytes) -> None:
        self._lookup_layer.vocabulary_from_asset(data)

    def vocabulary_asset(self) -> bytes | None:
        return self._lookup_layer.vocabulary_asset()

    # -- forward ---------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[str]:
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if self._split == "whitespace":
            tokens = text.split()
        elif self._split == "character":
            tokens = list(text)
        else:
            tokens = [text]
        if self._ngrams:
            tokens = [" ".join(tokens[i:i + n]) for n in self._ngrams
                      for i in range(len(tokens) - n + 1)]
        return tokens

    def call(self, inputs):
        x = np.asarray(inputs)
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim == 0:
            x = x[None]
        if x.ndim != 1 and self._split is not None:
            raise ValueError("When using TextVectorization to tokenize strings, the input rank "
                             f"must be 1 or the last shape dimension must be 1. Received: "
                             f"inputs.shape={np.asarray(inputs).shape} with rank={x.ndim}")
        texts = [v.decode(self.encoding) if isinstance(v, bytes) else str(v)
                 for v in x.reshape(-1).tolist()]
        rows = [self._tokens(t) for t in texts]
        lookup = self._lookup_layer
        if self._output_mode != "int":
            width = max((len(r) for r in rows), default=0)
            out = []
            for r in rows:  # rows of different lengths: encode each on its own
                encoded = lookup(np.array([r + [""] * (width - len(r))], dtype=object)
                                 if r else np.array([[""]], dtype=object))
                out.append(encoded[0])
            return np.stack(out).astype(backend.floatx())
        ids = [lookup(np.array(r, dtype=object)).tolist() if r else [] for r in rows]
        length = self._output_sequence_length
        if length is None:
            length = max((len(r) for r in ids), default=0)
        out = np.zeros((len(ids), length), np.int64)
        for i, r in enumerate(ids):
            r = r[:length]
            out[i, :len(r)] = r
        return out

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        depth = self.max_tokens if self.pad_to_max_tokens else self._lookup_layer.\
            _frozen_vocab_size
        return (input_shape[0], depth)

    def get_config(self):
        lookup = self._lookup_layer
        return {**super().get_config(), "dtype": "string", "max_tokens": self.max_tokens,
                "standardize": self._standardize, "split": self._split,
                "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": self.sparse,
                "ragged": self.ragged, "vocabulary": lookup.input_vocabulary,
                "idf_weights": lookup.input_idf_weights, "encoding": self.encoding,
                "vocabulary_size": lookup._frozen_vocab_size}


__all__ = ["TextVectorization"]
