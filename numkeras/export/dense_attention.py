"""Lowerings of Attention (Luong), AdditiveAttention (Bahdanau), and the Keras masks of
MultiHeadAttention's inputs.

Dense attention follows ``numkeras/layers/attention.py``: scores (``query @ key^T``, times
``scale``; or ``sum(tanh(...))`` for the additive and ``'concat'`` forms), ``1e9`` subtracted
where the value mask or the causal mask is False, a softmax over the value steps, the weights
times ``value``, and the output zeroed at masked query steps. MultiHeadAttention combines the
masks its inputs carry (``query[:, :, None] & value[:, None, :] & key[:, None, :]``) with
``attention_mask`` and hands them to :func:`numkeras.export.attention.multi_head_attention`.
"""

from __future__ import annotations

import numpy as np

from numkeras.export import attention
from numkeras.export.graph import LoweringError, Value

_FLOAT, _BOOL = 1, 9


def _causal(b, scores: str) -> str:
    """A ``bool`` lower-triangular ``(Tq, Tv)`` mask for ``scores (..., Tq, Tv)``."""
    from onnx import TensorProto, helper

    size = b.op("Shape", [scores], start=-2)
    ones = b.op("ConstantOfShape", [size], value=helper.make_tensor("value", TensorProto.INT32,
                                                                    [1], [1]))
    return b.op("Cast", [b.op("Trilu", [ones], upper=0)], "causal_mask", to=_BOOL)


def _scores(b, layer, q: str, k: str) -> str:
    name = type(layer).__name__
    if name == "Attention" and layer.score_mode == "dot":
        scores = b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 2, 1])], "scores")
        if layer.scale is not None:
            scores = b.op("Mul", [scores, b.const(np.asarray(layer.scale.value, np.float32),
                                                  "scale")])
        return scores
    summed = b.op("Add", [b.op("Unsqueeze", [q, b.ints([-2])]),
                          b.op("Unsqueeze", [k, b.ints([-3])])])
    if name == "Attention":  # score_mode='concat'
        if layer.scale is not None:
            summed = b.op("Mul", [b.const(np.asarray(layer.scale.value, np.float32), "scale"),
                                  summed])
        t = b.op("ReduceSum", [b.op("Tanh", [summed]), b.ints([-1])], keepdims=0)
        weight = b.const(np.asarray(layer.concat_score_weight.value, np.float32),
                         "concat_score_weight")
        return b.op("Mul", [weight, t], "scores")
    t = b.op("Tanh", [summed])
    if layer.scale is not None:
        t = b.op("Mul", [b.const(np.asarray(layer.scale.value, np.float32), "scale"), t])
    return b.op("ReduceSum", [t, b.ints([-1])], "scores", keepdims=0)


def dense_attention(b, layer, call):
    inputs = list(call.x)
    if any(v.ndim != 3 for v in inputs):
        raise LoweringError("attention over inputs of rank other than 3 is not lowered")
    q, v = b.native(inputs[0]), b.native(inputs[1])
    k = b.native(inputs[2]) if len(inputs) > 2 else v
    masks = call.kwargs.get("mask") or []
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    q_mask = masks[0] if masks else None
    v_mask = masks[1] if len(masks) > 1 else None
    scores = _scores(b, layer, q, k)
    keep = None
    if v_mask is not None:
        keep = b.op("Unsqueeze", [b.op("Cast", [v_mask.name], to=_BOOL), b.ints([-2])])
    if layer.causal or call.kwargs.get("use_causal_mask"):
        causal = _causal(b, scores)
        keep = causal if keep is None else b.op("And", [keep, causal])
    if keep is not None:
        dropped = b.op("Cast", [b.op("Not", [keep])], to=_FLOAT)
        scores = b.op("Sub", [scores, b.op("Mul", [b.const(1.0e9, dtype=np.float32), dropped])],
                      "masked_scores")
    weights = b.op("Softmax", [scores], axis=-1)
    result = b.op("MatMul", [weights, v], "attention")
    if q_mask is not None:
        m = b.op("Unsqueeze", [b.op("Cast", [q_mask.name], to=_FLOAT), b.ints([-1])])
        result = b.op("Mul", [result, m], "masked_output")
    outs = [result, weights] if call.kwargs.get("return_attention_scores") else [result]
    return [call.out(n, index=i) for i, n in enumerate(outs)]


def _arg(call, index: int, name: str):
    return call.args[index] if len(call.args) > index else call.kwargs.get(name)


def multi_head_attention(b, layer, call):
    query, value, key = _arg(call, 0, "query"), _arg(call, 1, "value"), _arg(call, 2, "key")
    input_masks = [query.mask, value.mask, key.mask if key is not None else None]
    if all(m is None for m in input_masks):
        return attention.multi_head_attention(b, layer, call)
    if query.ndim != 3 or value.ndim != 3:
        raise LoweringError("Keras masks on MultiHeadAttention inputs of rank other than 3 "
                            "are not lowered")
    auto = None
    if query.mask is not None:
        auto = b.op("Unsqueeze", [b.op("Cast", [query.mask.name], to=_BOOL), b.ints([2])])
    for m in input_masks[1:]:
        if m is not None:
            m = b.op("Unsqueeze", [b.op("Cast", [m.name], to=_BOOL), b.ints([1])])
            auto = m if auto is None else b.op("And", [auto, m])
    explicit = _arg(call, 3, "attention_mask")
    if explicit is not None:
        auto = b.op("And", [b.op("Cast", [b.native(explicit)], to=_BOOL), auto])
    mask = Value(auto, (None, query.shape[1], value.shape[1]), np.dtype(bool))
    args = list(call.args[:3])
    kwargs = {k: v for k, v in call.kwargs.items() if k != "attention_mask"}
    if len(call.args) > 4:
        kwargs["return_attention_scores"] = call.args[4]
    kwargs["attention_mask"] = mask
    call.args, call.kwargs = args, kwargs
    return attention.multi_head_attention(b, layer, call)


LOWERINGS = {"Attention": dense_attention, "AdditiveAttention": dense_attention,
             "MultiHeadAttention": multi_head_attention}
