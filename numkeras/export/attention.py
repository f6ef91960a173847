"""Lowerings of EinsumDense and MultiHeadAttention (ONNX ``Einsum`` with Keras's equations).

MultiHeadAttention follows the NumPy engine step by step: projections, ``query / sqrt(key_dim)``,
scores ``einsum(dot_product_equation, key, query)``, a softmax over the attention axes where
masked entries get ``-1e9`` added (replaced with ``robust_masking``), the combine einsum and
the output projection. Masks carried by the inputs (Keras masks) are not lowered; an explicit
``attention_mask`` and ``use_causal_mask`` (with known sequence lengths) are.
"""

from __future__ import annotations

import math

import numpy as np

from numkeras.export import activations as act
from numkeras.export.graph import LoweringError, Value

_LARGE_NEGATIVE = -1e9


def _dense(b, layer, x: str, dtype) -> str:
    y = b.op("Einsum", [x, b.const(np.asarray(layer.kernel.value), "kernel")],
             equation=layer.equation)
    if layer.bias is not None:
        y = b.op("Add", [y, b.const(np.asarray(layer.bias.value), "bias")])
    return act.activation(b, layer.activation, y, Value(y, (None,), np.dtype(dtype)))


def einsum_dense(b, layer, call):
    x = call.x
    return [call.out(_dense(b, layer, b.native(x), x.dtype))]


def _sub(b, layer, name: str):
    saved = b.scope
    b.scope = f"{saved}/{layer.name}"
    return saved


def _arg(call, index: int, name: str):
    if len(call.args) > index:
        return call.args[index]
    return call.kwargs.get(name)


def multi_head_attention(b, layer, call):
    query, value = _arg(call, 0, "query"), _arg(call, 1, "value")
    key = _arg(call, 2, "key")
    mask = _arg(call, 3, "attention_mask")
    scores_wanted = bool(_arg(call, 4, "return_attention_scores"))
    causal = bool(call.kwargs.get("use_causal_mask"))
    key = value if key is None else key
    dtype = query.dtype

    def project(sub, x):
        saved = _sub(b, sub, sub.name)
        try:
            return _dense(b, sub, b.native(x), dtype)
        finally:
            b.scope = saved

    q = project(layer._query_dense, query)
    k = project(layer._key_dense, key)
    v = project(layer._value_dense, value)
    q = b.op("Mul", [q, b.const(1.0 / math.sqrt(float(layer._key_dim)), dtype=dtype)])
    scores = b.op("Einsum", [k, q], "scores", equation=layer._dot_product_equation)
    scores_rank = len(layer._dot_product_equation.split("->")[1])
    mask_name = None
    if mask is not None:
        mask_name = b.op("Cast", [b.native(mask)], to=1)  # float: as mask.astype(scores.dtype)
        axis = -len(layer._attention_axes) * 2 - 1
        for _ in range(scores_rank - mask.ndim):
            mask_name = b.op("Unsqueeze", [mask_name, b.ints([axis])])
    if causal:
        q_len, v_len = query.shape[1], value.shape[1]
        if q_len is None or v_len is None:
            raise LoweringError("use_causal_mask with unknown sequence lengths is not lowered")
        tril = np.tril(np.ones((1, q_len, v_len), np.float32))
        for _ in range(scores_rank - 3):
            tril = np.expand_dims(tril, axis=-len(layer._attention_axes) * 2 - 1)
        causal_c = b.const(tril, "causal_mask")
        mask_name = causal_c if mask_name is None else b.op("Mul", [mask_name, causal_c])
    if mask_name is not None:
        if layer._softmax_robust_masking:
            keep = b.op("Greater", [mask_name, b.const(0.5, dtype=np.float32)])
            scores = b.op("Where", [keep, scores, b.const(_LARGE_NEGATIVE, dtype=np.float32)])
        else:
            penalty = b.op("Mul", [b.op("Sub", [b.const(1.0, dtype=np.float32), mask_name]),
                                   b.const(_LARGE_NEGATIVE, dtype=np.float32)])
            scores = b.op("Add", [scores, penalty], "masked_scores")
    axes = list(range(scores_rank - len(layer._attention_axes), scores_rank))
    if len(axes) == 1:
        probs = b.op("Softmax", [scores], axis=axes[0])
    else:
        lse = b.op("ReduceLogSumExp", [scores], axes=axes, keepdims=1)
        probs = b.op("Exp", [b.op("Sub", [scores, lse])])
    out = b.op("Einsum", [probs, v], "attention", equation=layer._combine_equation)
    saved = _sub(b, layer._output_dense, "attention_output")
    try:
        out = _dense(b, layer._output_dense, out, dtype)
    finally:
        b.scope = saved
    outs = [out, probs] if scores_wanted else [out]
    return [call.out(n, index=i) for i, n in enumerate(outs)]


LOWERINGS = {"EinsumDense": einsum_dense, "MultiHeadAttention": multi_head_attention}
