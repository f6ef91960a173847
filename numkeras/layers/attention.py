"""Attention layers: MultiHeadAttention, Attention (Luong) and AdditiveAttention (Bahdanau).

As tf-keras 2.21: MultiHeadAttention projects with four EinsumDense sub-layers ``query``,
``key``, ``value`` and ``attention_output`` (``multi_head_attention/query/kernel:0``), masked
attention scores get ``-1e9`` added before the softmax, and masks carried by the inputs
(e.g. from ``Embedding(mask_zero=True)``) are combined with ``attention_mask`` and the causal
mask (``use_causal_mask=True``).

The module is long because the three layers share their masking and scoring helpers.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> mha = MultiHeadAttention(num_heads=2, key_dim=3)
>>> out, scores = mha(np.ones((1, 4, 5), "float32"), np.ones((1, 6, 5), "float32"),
...                   return_attention_scores=True)
>>> out.shape, scores.shape
((1, 4, 5), (1, 2, 4, 6))
>>> [w.name for w in mha.weights][:2]
['multi_head_attention/query/kernel:0', 'multi_head_attention/query/bias:0']
>>> Attention()([np.ones((1, 2, 3), "float32"), np.ones((1, 4, 3), "float32")]).shape
(1, 2, 3)
"""

from __future__ import annotations

import math
import string

import numpy as np

from numkeras import backend, initializers
from numkeras.engine.base_layer import Layer
from numkeras.engine.keras_tensor import KerasTensor, get_mask, strip_mask, with_mask
from numkeras.layers._utils import serialize_initializer, serialize_object
from numkeras.layers.core import Dropout
from numkeras.layers.einsum_dense import EinsumDense
from numkeras.ops.nn import einsum, softmax

_CHR_IDX = string.ascii_lowercase
_LARGE_NEGATIVE = -1e9


def _as_array(x):
    """``x`` as an ndarray, keeping the Keras mask it carries."""
    if isinstance(x, np.ndarray):
        return x
    out = np.asarray(x)
    return out.astype(backend.floatx()) if out.dtype == np.float64 else out


def _build_attention_equation(rank, attn_axes):
    target = _CHR_IDX[:rank]
    batch_dims = tuple(np.delete(range(rank), attn_axes + (rank - 1,)))
    offset = rank
    source = ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _CHR_IDX[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _build_proj_equation(free_dims, bound_dims, output_dims):
    input_str = kernel_str = output_str = bias_axes = ""
    offset = 0
    for i in range(free_dims):
        char = _CHR_IDX[i + offset]
        input_str += char
        output_str += char
    offset += free_dims
    for i in range(bound_dims):
        char = _CHR_IDX[i + offset]
        input_str += char
        kernel_str += char
    offset += bound_dims
    for i in range(output_dims):
        char = _CHR_IDX[i + offset]
        kernel_str += char
        output_str += char
        bias_axes += char
    return f"{input_str},{kernel_str}->{output_str}", bias_axes, len(output_str)


def _output_shape(output_rank, known_last_dims):
    return [None] * (output_rank - len(known_last_dims)) + list(known_last_dims)


def _masked_softmax_math(scores, mask, axes, robust=False):
    """tf-keras ``Softmax`` with a mask: masked entries get ``-1e9`` added first (replaced by
    ``-1e9`` with ``robust`` masking)."""
    if mask is not None and robust:
        scores = np.where(np.asarray(mask) > 0.5, scores, np.asarray(_LARGE_NEGATIVE,
                                                                      scores.dtype))
    elif mask is not None:
        scores = scores + (1.0 - mask.astype(scores.dtype)) * np.asarray(_LARGE_NEGATIVE,
                                                                         scores.dtype)
    if len(axes) > 1:
        m = np.max(scores, axis=axes, keepdims=True)
        lse = np.log(np.sum(np.exp(scores - m), axis=axes, keepdims=True)) + m
        return np.exp(scores - lse)
    return softmax(scores, axis=axes[0])


class _AttentionSoftmax(Layer):
    """The ``_softmax`` sub-layer of MultiHeadAttention (named ``softmax``, as tf-keras's
    ``Softmax`` layer is): a softmax over ``axis`` where masked entries get ``-1e9``."""

    def __init__(self, axis=-1, robust_masking=False, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "axis", tuple(axis) if isinstance(axis, (list, tuple))
                           else (axis,))
        self.robust_masking = bool(robust_masking)
        self.supports_masking = True

    def _default_name(self) -> str:
        return backend.unique_object_name("softmax")

    def call(self, inputs, mask=None):
        return _masked_softmax_math(inputs, mask, self.axis, self.robust_masking)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017) with tf-keras's weights and masking."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 softmax_robust_masking=False, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Argument `{arg}` must be a positive integer, received "
                                 f"{arg}={value!r}.")
        if value_dim is not None and (not isinstance(value_dim, (int, np.integer))
                                      or value_dim <= 0):
            raise ValueError(f"Argument `value_dim` must be a positive integer or None, "
                             f"received value_dim={value_dim!r}.")
        if not 0 <= dropout <= 1:
            raise ValueError(f"Argument `dropout` must be in [0, 1], received {dropout}.")
        self.supports_masking = True
        self._num_heads = int(num_heads)
        self._key_dim = int(key_dim)
        self._value_dim = int(value_dim) if value_dim else self._key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        object.__setattr__(self, "_output_shape", output_shape)
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = kernel_regularizer
        self._bias_regularizer = bias_regularizer
        self._activity_regularizer = activity_regularizer
        self._kernel_constraint = kernel_constraint
        self._bias_constraint = bias_constraint
        self._softmax_robust_masking = softmax_robust_masking
        if attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            attention_axes = (attention_axes,)
        object.__setattr__(self, "_attention_axes", attention_axes)
        self._built_from_signature = False
        object.__setattr__(self, "_query_shape", None)
        object.__setattr__(self, "_key_shape", None)
        object.__setattr__(self, "_value_shape", None)

    # -- building ------------------------------------------------------------------------------
    def _common_kwargs(self) -> dict:
        return dict(kernel_regularizer=self._kernel_regularizer,
                    bias_regularizer=self._bias_regularizer,
                    activity_regularizer=self._activity_regularizer,
                    kernel_constraint=self._kernel_constraint,
                    bias_constraint=self._bias_constraint, dtype=self.dtype,
                    kernel_initializer=initializers.get(serialize_initializer(
                        self._kernel_initializer)),
                    bias_initializer=initializers.get(serialize_initializer(
                        self._bias_initializer)))

    def _projection(self, rank, dims, name):
        equation, bias_axes, out_rank = _build_proj_equation(rank - 1, 1, 2)
        return EinsumDense(equation, output_shape=_output_shape(out_rank - 1, dims),
                           bias_axes=bias_axes if self._use_bias else None, name=name,
                           **self._common_kwargs())

    def _build_from_signature(self, query, value, key=None):
        """Create the sub-layers for inputs of these shapes (built when first called)."""
        self._built_from_signature = True
        q_shape = tuple(getattr(query, "shape", query))
        v_shape = tuple(getattr(value, "shape", value))
        k_shape = v_shape if key is None else tuple(getattr(key, "shape", key))
        object.__setattr__(self, "_query_shape", q_shape)
        object.__setattr__(self, "_value_shape", v_shape)
        object.__setattr__(self, "_key_shape", k_shape)
        for arg, shape in (("query", q_shape), ("value", v_shape), ("key", k_shape)):
            if len(shape) < 3:
                raise ValueError(f'Input `{arg}` of layer "{self.name}" is incompatible with '
                                 f"the layer: expected min_ndim=3, found ndim={len(shape)}. "
                                 f"Full shape received: {shape}")
        self._query_dense = self._projection(len(q_shape), [self._num_heads, self._key_dim],
                                             "query")
        self._key_dense = self._projection(len(k_shape), [self._num_heads, self._key_dim],
                                           "key")
        self._value_dense = self._projection(len(v_shape),
                                             [self._num_heads, self._value_dim], "value")
        self._build_attention(len(v_shape) + 1)
        free_dims = len(q_shape) - 1
        if self._output_shape:
            out = self._output_shape if isinstance(self._output_shape, (list, tuple)) \
                else [self._output_shape]
        else:
            out = [q_shape[-1]]
        equation, bias_axes, out_rank = _build_proj_equation(free_dims, 2, len(out))
        self._output_dense = EinsumDense(
            equation, output_shape=_output_shape(out_rank - 1, out),
            bias_axes=bias_axes if self._use_bias else None, name="attention_output",
            **self._common_kwargs())

    def _build_attention(self, rank):
        if self._attention_axes is None:
            axes = tuple(range(1, rank - 2))
        else:
            axes = tuple(int(a) % rank if a < 0 else int(a) for a in self._attention_axes)
        object.__setattr__(self, "_attention_axes", axes)
        dot_eq, combine_eq, scores_rank = _build_attention_equation(rank, attn_axes=axes)
        object.__setattr__(self, "_dot_product_equation", dot_eq)
        object.__setattr__(self, "_combine_equation", combine_eq)
        norm_axes = tuple(range(scores_rank - len(axes), scores_rank))
        self._softmax = _AttentionSoftmax(axis=norm_axes, dtype=self.dtype,
                                          robust_masking=self._softmax_robust_masking)
        self._dropout_layer = Dropout(rate=self._dropout, dtype=self.dtype)

    def _build_sublayers(self, q_shape, v_shape, k_shape) -> None:
        """Build the projections inside their own name scopes (``<mha>/query/...``)."""
        from numkeras.layers.wrappers import _build_child

        _build_child(self._query_dense, q_shape, "query")
        _build_child(self._key_dense, k_shape, "key")
        _build_child(self._value_dense, v_shape, "value")
        proj = self._value_dense.compute_output_shape(v_shape)
        combined = tuple(q_shape[:-1]) + tuple(proj[-2:])
        _build_child(self._output_dense, combined, "attention_output")

    # -- calling -------------------------------------------------------------------------------
    def _compute_attention_mask(self, query, value, key=None, attention_mask=None,
                                use_causal_mask=False):
        query_mask, value_mask = get_mask(query), get_mask(value)
        key_mask = get_mask(key) if key is not None else None
        auto_mask = None
        if query_mask is not None:
            auto_mask = np.asarray(query_mask).astype(bool)[:, :, None]
        for m in (value_mask, key_mask):
            if m is not None:
                m = np.asarray(m).astype(bool)[:, None, :]
                auto_mask = m if auto_mask is None else auto_mask & m
        if use_causal_mask:
            q_len, v_len = query.shape[1], value.shape[1]
            causal = np.tril(np.ones((1, q_len, v_len), dtype=bool))
            auto_mask = causal if auto_mask is None else auto_mask & causal
        if auto_mask is not None:
            attention_mask = auto_mask if attention_mask is None else \
                np.asarray(attention_mask).astype(bool) & auto_mask
        return attention_mask

    def _masked_softmax(self, scores, attention_mask=None):
        if attention_mask is not None:
            attention_mask = np.asarray(attention_mask)
            axis = -len(self._attention_axes) * 2 - 1
            for _ in range(scores.ndim - attention_mask.ndim):
                attention_mask = np.expand_dims(attention_mask, axis=axis)
        return self._softmax(scores, mask=attention_mask)

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False):
        query, value = _as_array(query), _as_array(value)
        key = None if key is None else _as_array(key)
        if not self._built_from_signature:
            self._build_from_signature(query, value, key)
        if not self._query_dense.built:
            self._build_sublayers(query.shape, value.shape,
                                  value.shape if key is None else key.shape)
        attention_mask = self._compute_attention_mask(
            query, value, key=key, attention_mask=attention_mask,
            use_causal_mask=use_causal_mask)
        key = value if key is None else key
        q = strip_mask(self._query_dense(strip_mask(query)))
        k = strip_mask(self._key_dense(strip_mask(key)))
        v = strip_mask(self._value_dense(strip_mask(value)))
        q = q * np.asarray(1.0 / math.sqrt(float(self._key_dim)), q.dtype)
        scores = einsum(self._dot_product_equation, k, q)
        scores = strip_mask(self._masked_softmax(scores, attention_mask))
        dropped = strip_mask(self._dropout_layer(scores, training=training))
        out = einsum(self._combine_equation, dropped, v)
        out = strip_mask(self._output_dense(out))
        if return_attention_scores:  # as tf-keras: the query's mask goes to the first output
            return with_mask(out, get_mask(query)), scores
        return out

    def compute_output_spec(self, query, value, key=None, return_attention_scores=False,
                            **kwargs):
        if not self._built_from_signature:
            self._build_from_signature(query, value, key)
        k_shape = value.shape if key is None else key.shape
        if not self._query_dense.built:
            self._build_sublayers(query.shape, value.shape, k_shape)
        out_shape = self.compute_output_shape(query.shape, value.shape, k_shape)
        out = KerasTensor(out_shape, self.dtype)
        if not return_attention_scores:
            return out
        batch_axes = [i for i in range(len(value.shape)) if i not in self._attention_axes
                      and i != len(value.shape) - 1]
        scores_shape = tuple([query.shape[i] for i in batch_axes] + [self._num_heads]
                             + [query.shape[i] for i in self._attention_axes]
                             + [value.shape[i] for i in self._attention_axes])
        return out, KerasTensor(scores_shape, self.dtype)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None:
            value_shape = query_shape
        if key_shape is None:
            key_shape = value_shape
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        if query_shape[-1] != value_shape[-1] and not self._built_from_signature:
            raise ValueError("The last dimension of `query_shape` and `value_shape` must be "
                             f"equal, but are {query_shape[-1]}, {value_shape[-1]}. Received: "
                             f"query_shape={query_shape}, value_shape={value_shape}")
        if self._output_shape:
            out = self._output_shape if isinstance(self._output_shape, (list, tuple)) \
                else [self._output_shape]
            return tuple(query_shape[:-1]) + tuple(out)
        return query_shape

    def compute_mask(self, inputs, mask=None):
        return mask

    # -- config --------------------------------------------------------------------------------
    def get_config(self):
        def shape(s):
            return None if s is None else list(s)

        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout,
                "use_bias": self._use_bias, "output_shape": self._output_shape,
                "attention_axes": self._attention_axes,
                "kernel_initializer": serialize_initializer(self._kernel_initializer),
                "bias_initializer": serialize_initializer(self._bias_initializer),
                "kernel_regularizer": serialize_object(self._kernel_regularizer),
                "bias_regularizer": serialize_object(self._bias_regularizer),
                "activity_regularizer": serialize_object(self._activity_regularizer),
                "kernel_constraint": serialize_object(self._kernel_constraint),
                "bias_constraint": serialize_object(self._bias_constraint),
                "query_shape": shape(self._query_shape), "key_shape": shape(self._key_shape),
                "value_shape": shape(self._value_shape),
                "softmax_robust_masking": self._softmax_robust_masking}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        shapes = [config.pop(k, None) for k in ("query_shape", "key_shape", "value_shape")]
        layer = cls(**config)
        if None not in shapes:
            q, k, v = (tuple(s) for s in shapes)
            layer._build_from_signature(q, v, k)
        return layer


# -- dense (Luong / Bahdanau) attention ---------------------------------------------------------


class _BaseDenseAttention(Layer):
    """``[query, value]`` or ``[query, value, key]`` → ``softmax(scores) @ value``.

    Masks: ``mask=[query_mask, value_mask]`` (or carried by the inputs). Padded value steps get
    ``-1e9`` added to their scores; outputs at padded query steps are zeroed.
    """

    def __init__(self, dropout=0.0, **kwargs):
        causal = kwargs.pop("causal", False)
        super().__init__(**kwargs)
        if not 0 <= dropout <= 1:
            raise ValueError(f"Argument `dropout` must be in [0, 1], received {dropout}.")
        self.causal = bool(causal)
        self.dropout = dropout
        self.supports_masking = True
        object.__setattr__(self, "_rng", backend.random_generator())

    def _validate_call_args(self, inputs, mask):
        name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: {inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             "[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None and any(m is not None for m in _as_list(mask)):
            if not isinstance(mask, list):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, "
                                 f"value_mask]. Received: {mask}.")
            if len(mask) < 2 or len(mask) > len(inputs):
                raise ValueError(f"{name} layer mask must be a list of length 2, namely "
                                 f"[query_mask, value_mask]. Received length: {len(mask)}.")
        for i, x in enumerate(inputs):
            if len(x.shape) < 3:
                raise ValueError(f'Input {i} of layer "{self.name}" is incompatible with the '
                                 f"layer: expected min_ndim=3, found ndim={len(x.shape)}. Full "
                                 f"shape received: {tuple(x.shape)}")

    def _calculate_scores(self, query, key):
        raise NotImplementedError

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_call_args(inputs, mask)
        q = strip_mask(inputs[0])
        v = strip_mask(inputs[1])
        k = strip_mask(inputs[2]) if len(inputs) > 2 else v
        masks = _as_list(mask) if mask is not None else []
        q_mask = masks[0] if masks else None
        v_mask = masks[1] if len(masks) > 1 else None
        scores = self._calculate_scores(q, k)
        scores_mask = None
        if v_mask is not None:
            scores_mask = np.expand_dims(np.asarray(v_mask).astype(bool), axis=-2)
        if self.causal or use_causal_mask:
            tq, tv = scores.shape[-2], scores.shape[-1]
            causal = np.tril(np.ones((tq, tv), dtype=bool))
            causal = causal.reshape((1,) * (scores.ndim - 2) + (tq, tv))
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            scores = scores - np.asarray(1.0e9, scores.dtype) * (~scores_mask).astype(
                scores.dtype)
        weights = softmax(scores, axis=-1)
        if training and self.dropout > 0:
            keep = self._rng.random(weights.shape) >= self.dropout
            dropped = (weights * keep / (1.0 - self.dropout)).astype(weights.dtype)
        else:
            dropped = weights
        result = dropped @ v
        if q_mask is not None:
            result = result * np.expand_dims(np.asarray(q_mask), -1).astype(result.dtype)
        if return_attention_scores:  # as tf-keras: the query's mask goes to the first output
            return with_mask(result, q_mask), weights
        return result

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = _as_list(mask)
        return None if masks[0] is None else np.asarray(masks[0])

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, **kwargs):
        if not isinstance(inputs, list) or len(inputs) < 2:
            self._validate_call_args(inputs, None)
        q, v = inputs[0], inputs[1]
        out = KerasTensor(q.shape, self.dtype)
        if return_attention_scores:
            return out, KerasTensor(tuple(q.shape[:-1]) + (v.shape[-2],), self.dtype)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout}


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Attention(_BaseDenseAttention):
    """Dot-product (Luong) attention: ``scores = query @ key^T`` (``score_mode='dot'``), or
    ``sum(tanh(query + key))`` (``'concat'``); ``use_scale`` learns a scalar ``scale``."""

    def __init__(self, use_scale=False, score_mode="dot", **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Received: score_mode={score_mode}. Acceptable values are: "
                             '["dot", "concat"]')
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode

    def build(self, input_shape):
        self.scale = self.add_weight("scale", shape=(), initializer="ones") \
            if self.use_scale else None
        self.concat_score_weight = self.add_weight(
            "concat_score_weight", shape=(), initializer="ones") \
            if self.score_mode == "concat" else None
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = query @ np.swapaxes(key, -1, -2)
            if self.scale is not None:
                scores = scores * self.scale.value
            return scores
        q = np.expand_dims(query, -2)
        k = np.expand_dims(key, -3)
        inner = q + k if self.scale is None else self.scale.value * (q + k)
        return self.concat_score_weight.value * np.sum(np.tanh(inner), axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode}


class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau) attention: ``scores = sum(scale * tanh(query + key))``; with
    ``use_scale`` (default) ``scale`` is a learned vector of the value's feature size."""

    def __init__(self, use_scale=True, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)

    def build(self, input_shape):
        dim = tuple(input_shape[1])[-1]
        self.scale = self.add_weight("scale", shape=(dim,), initializer="glorot_uniform") \
            if self.use_scale else None
        self.built = True

    def _calculate_scores(self, query, key):
        t = np.tanh(np.expand_dims(query, -2) + np.expand_dims(key, -3))
        if self.scale is not None:
            t = self.scale.value * t
        return np.sum(t, axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale}


__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]
