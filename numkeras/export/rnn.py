"""Lowerings of SimpleRNN, LSTM, GRU (ONNX ``RNN``/``LSTM``/``GRU``), Bidirectional and
TimeDistributed.

Keras kernels are ``(input, gates * units)``; ONNX's ``W``/``R`` are ``(1, gates * units,
input)``. Keras orders the LSTM gates ``i, f, c, o``, ONNX ``i, o, f, c``; GRU gates are
``z, r, h`` in both. ``GRU(reset_after=True)`` is ONNX's ``linear_before_reset=1`` with the
input bias in ``Wb`` and the recurrent bias in ``Rb``. ``go_backwards`` reverses the input and
runs forward, so outputs come in processing order as in Keras. Masks, ``stateful`` and
``time_major`` RNNs are not lowered.
"""

from __future__ import annotations

import numpy as np

from numkeras.export.graph import LoweringError, Value
from numkeras.export.walk import Call, lower_call

_ONNX_ACTIVATIONS = {"tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None),
                     "relu": ("Relu", None, None), "softsign": ("Softsign", None, None),
                     "softplus": ("Softplus", None, None), "elu": ("Elu", 1.0, None),
                     "hard_sigmoid": ("HardSigmoid", 0.2, 0.5),
                     "keras3_hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5),
                     "linear": ("Affine", 1.0, 0.0)}


def _activations(*fns) -> dict:
    names, alphas, betas = [], [], []
    for fn in fns:
        key = getattr(fn, "__name__", None)
        if key not in _ONNX_ACTIVATIONS or not (getattr(fn, "__module__", "") or "").startswith(
                "numkeras"):
            raise LoweringError(f"recurrent activation {key!r} has no ONNX RNN equivalent")
        name, alpha, beta = _ONNX_ACTIVATIONS[key]
        names.append(name)
        if alpha is not None:
            alphas.append(alpha)
        if beta is not None:
            betas.append(beta)
    attrs = {"activations": names}
    if alphas:  # ONNX lists the alphas of the activations that take one, in order
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def _lstm_order(a: np.ndarray, u: int) -> np.ndarray:
    """Keras ``i, f, c, o`` blocks along the last axis -> ONNX ``i, o, f, c``."""
    i, f, c, o = (a[..., k * u:(k + 1) * u] for k in range(4))
    return np.concatenate([i, o, f, c], axis=-1)


def _weights(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    cell, u = layer.cell, layer.cell.units
    kernel, rec = np.asarray(cell.kernel.value), np.asarray(cell.recurrent_kernel.value)
    kind = type(cell).__name__
    rb = None
    bias = np.asarray(cell.bias.value) if cell.use_bias else None
    attrs: dict = {}
    if kind == "LSTMCell":
        kernel, rec = _lstm_order(kernel, u), _lstm_order(rec, u)
        bias = _lstm_order(bias, u) if bias is not None else None
        attrs = _activations(cell.recurrent_activation, cell.activation, cell.activation)
    elif kind == "GRUCell":
        if cell.reset_after and bias is not None:
            bias, rb = bias[0], bias[1]
        attrs = _activations(cell.recurrent_activation, cell.activation)
        attrs["linear_before_reset"] = 1 if cell.reset_after else 0
    elif kind == "SimpleRNNCell":
        attrs = _activations(cell.activation)
    else:
        raise LoweringError(f"RNN cells of class {kind} are not lowered")
    gates = kernel.shape[-1]
    wb = bias if bias is not None else np.zeros(gates, kernel.dtype)
    rb = rb if rb is not None else np.zeros(gates, kernel.dtype)
    w, r = kernel.T[None], rec.T[None]
    return w, r, np.concatenate([wb, rb])[None], attrs


def rnn_outputs(b, layer, x: Value, initial_state: list | None) -> tuple[str, list[str]]:
    """``(sequence output (batch, time, units), final states)`` of one RNN layer."""
    if layer.stateful or getattr(layer, "time_major", False):
        raise LoweringError("stateful and time_major RNNs are not lowered")
    op = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "RNN"}.get(
        type(layer.cell).__name__)
    if op is None:
        raise LoweringError(f"RNN cells of class {type(layer.cell).__name__} are not lowered")
    w, r, bias, attrs = _weights(layer)
    units = layer.cell.units
    seq = b.op("Transpose", [b.native(x)], "time_major", perm=[1, 0, 2])
    if layer.go_backwards:
        seq = b.op("Slice", [seq, b.ints([-1]), b.ints([np.iinfo(np.int64).min]), b.ints([0]),
                             b.ints([-1])], "reversed")
    inputs = [seq, b.const(w, "W"), b.const(r, "R"), b.const(bias, "B"), ""]
    states = [b.op("Unsqueeze", [b.native(s), b.ints([0])]) for s in (initial_state or [])]
    inputs += states
    n_out = 3 if op == "LSTM" else 2
    outs = b.op(op, inputs, op.lower(), outputs=n_out, hidden_size=units, **attrs)
    y = b.op("Squeeze", [outs[0], b.ints([1])])
    y = b.op("Transpose", [y], "batch_major", perm=[1, 0, 2])
    finals = [b.op("Squeeze", [s, b.ints([0])], "state") for s in outs[1:]]
    return y, finals


def _last_step(b, y: str) -> str:
    last = b.op("Slice", [y, b.ints([-1]), b.ints([np.iinfo(np.int64).max]), b.ints([1])])
    return b.op("Squeeze", [last, b.ints([1])], "last_output")


def _split_call(call: Call) -> tuple[Value, list | None]:
    x = call.x
    initial = call.kwargs.get("initial_state")
    if isinstance(x, (list, tuple)):
        x, initial = x[0], list(x[1:]) or initial
    if call.kwargs.get("mask") is not None:
        raise LoweringError("masked RNNs are not lowered")
    if initial is not None and not isinstance(initial, (list, tuple)):
        initial = [initial]
    return x, initial


def rnn_layer(b, layer, call):
    x, initial = _split_call(call)
    y, finals = rnn_outputs(b, layer, x, initial)
    out = y if layer.return_sequences else _last_step(b, y)
    names = [out] + (finals if layer.return_state else [])
    return [call.out(n, index=i) for i, n in enumerate(names)]


def bidirectional(b, layer, call):
    x, initial = _split_call(call)
    fwd_state = bwd_state = None
    if initial:
        half = len(initial) // 2
        fwd_state, bwd_state = initial[:half], initial[half:]
    y, f_states = rnn_outputs(b, layer.forward_layer, x, fwd_state)
    y_rev, b_states = rnn_outputs(b, layer.backward_layer, x, bwd_state)
    if layer.return_sequences:  # back to input order (the backward layer ran reversed)
        y_rev = b.op("Slice", [y_rev, b.ints([-1]), b.ints([np.iinfo(np.int64).min]),
                               b.ints([1]), b.ints([-1])], "reversed")
    else:
        y, y_rev = _last_step(b, y), _last_step(b, y_rev)
    mode = layer.merge_mode
    if mode == "concat":
        outs = [b.op("Concat", [y, y_rev], axis=-1)]
    elif mode == "sum":
        outs = [b.op("Add", [y, y_rev])]
    elif mode == "mul":
        outs = [b.op("Mul", [y, y_rev])]
    elif mode == "ave":
        outs = [b.op("Div", [b.op("Add", [y, y_rev]), b.const(2.0, dtype=np.float32)])]
    elif mode is None:
        outs = [y, y_rev]
    else:
        raise LoweringError(f"merge_mode={mode!r} is not lowered")
    if layer.return_state:
        outs += f_states + b_states
    return [call.out(n, index=i) for i, n in enumerate(outs)]


def time_distributed(b, layer, call):
    """Fold time into the batch, lower the inner layer, unfold its outputs."""
    x = call.x
    if call.kwargs.get("mask") is not None:
        raise LoweringError("masked TimeDistributed is not lowered")
    if None in x.shape[2:]:
        raise LoweringError("TimeDistributed over unknown inner dimensions is not lowered")
    src = b.native(x)
    folded = b.op("Reshape", [src, b.ints([-1, *x.shape[2:]])], "fold_time")
    batch_time = b.op("Shape", [src], end=2)
    inner_specs = [_Spec((None, *s.shape[2:]), s.dtype) for s in call.specs]
    inner = lower_call(b, layer.layer, Call([Value(folded, (None, *x.shape[2:]), x.dtype)], {},
                                            inner_specs))
    outs = []
    for v, spec in zip(inner, call.specs):
        if None in spec.shape[2:]:
            raise LoweringError("TimeDistributed outputs of unknown shape are not lowered")
        shape = b.op("Concat", [batch_time, b.ints(list(spec.shape[2:]))], axis=0)
        outs.append(call.out(b.op("Reshape", [b.native(v), shape], "unfold_time"),
                             index=len(outs)))
    return outs


class _Spec:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype


LOWERINGS = {"SimpleRNN": rnn_layer, "LSTM": rnn_layer, "GRU": rnn_layer, "RNN": rnn_layer,
             "Bidirectional": bidirectional, "TimeDistributed": time_distributed}
