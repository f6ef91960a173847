"""Recurrent layers as an ONNX ``Scan`` over time: masked RNNs, stacked cells, ConvLSTM.

The NumPy engine's loop (``numkeras/layers/rnn.py``) is followed step by step: at each step
the cell computes ``(output, new states)``; where the step's mask is False the states are
kept and the output is the previous output (zeros with ``zero_output_for_mask``, as
Bidirectional sets for sequence outputs); ``go_backwards`` reverses the steps and the mask,
and sequence outputs come in processing order. The ``Scan`` carries the states and the
previous output; the last output is that carried value.

Each dense cell step is one ONNX ``LSTM``/``GRU``/``RNN`` node over a single step (the weights
converted as in :mod:`numkeras.export.rnn`); ``StackedRNNCells`` chains them. A ConvLSTM step
is the recurrent ``Conv`` added to the input convolution, which is computed for all steps at
once before the loop, as the NumPy engine does. Unmasked ``SimpleRNN``/``LSTM``/``GRU`` layers
keep the whole-sequence ONNX ops of :mod:`numkeras.export.rnn`.
"""

from __future__ import annotations

import types

import numpy as np

from numkeras.export import activations as act
from numkeras.export import conv as conv_mod
from numkeras.export import rnn
from numkeras.export.graph import LoweringError, Value

_FLOAT, _BOOL = 1, 9
_OPS = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "RNN"}


def _zeros(b, like: str, tail: list[int]) -> str:
    """Float zeros of shape ``(batch, *tail)``; batch taken from ``like``'s first axis."""
    from onnx import TensorProto, helper

    shape = b.op("Concat", [b.op("Shape", [like], end=1), b.ints(tail)], axis=0)
    return b.op("ConstantOfShape", [shape], "zeros",
                value=helper.make_tensor("value", TensorProto.FLOAT, [1], [0.0]))


def scan(b, seqs: list[tuple[str, int]], states: list[str], step, n_out: int):
    """``Scan`` over axis 0 of ``seqs`` (``(name, elem type)``) carrying ``states``.

    ``step(state_names, seq_names) -> (new_states, outputs)`` builds the body's nodes.
    Returns ``(final states, stacked outputs)``.
    """
    from onnx import helper

    saved = b.nodes
    b.nodes = []
    try:
        st_in = [b.fresh("state_in") for _ in states]
        sq_in = [b.fresh("step_in") for _ in seqs]
        new_states, outs = step(st_in, sq_in)
        st_out = [b.op("Identity", [n], "state_out") for n in new_states]
        sc_out = [b.op("Identity", [n], "step_out") for n in outs]
        body_nodes = b.nodes
    finally:
        b.nodes = saved
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(
        body_nodes, b.fresh("scan_body"),
        [vi(n, _FLOAT, None) for n in st_in] + [vi(n, t, None) for n, (_, t) in zip(sq_in, seqs)],
        [vi(n, _FLOAT, None) for n in st_out + sc_out])
    res = b.op("Scan", states + [s for s, _ in seqs], "scan", outputs=len(states) + n_out,
               body=graph, num_scan_inputs=len(seqs))
    return res[:len(states)], res[len(states):]


# -- cells -------------------------------------------------------------------------------------
class _DenseCell:
    """A SimpleRNN/LSTM/GRU cell step as one single-step ONNX RNN node."""

    def __init__(self, b, cell):
        kind = type(cell).__name__
        if kind not in _OPS:
            raise LoweringError(f"RNN cells of class {kind} are not lowered")
        self.op, self.units = _OPS[kind], cell.units
        w, r, bias, self.attrs = rnn._weights(types.SimpleNamespace(cell=cell))
        self.consts = [b.const(w, "W"), b.const(r, "R"), b.const(bias, "B")]
        self.n_states = 2 if kind == "LSTMCell" else 1

    def step(self, b, x_t: str, states: list[str]):
        inputs = [b.op("Unsqueeze", [x_t, b.ints([0])]), *self.consts, ""]
        inputs += [b.op("Unsqueeze", [s, b.ints([0])]) for s in states]
        outs = b.op(self.op, inputs, self.op.lower(), outputs=1 + self.n_states,
                    hidden_size=self.units, **self.attrs)
        new = [b.op("Squeeze", [s, b.ints([0])], "state") for s in outs[1:]]
        return new[0], new


class _Stacked:
    def __init__(self, b, stacked):
        self.cells = [_cell(b, c) for c in stacked.cells]
        self.n_states = sum(c.n_states for c in self.cells)
        self.units = self.cells[-1].units

    def step(self, b, x_t, states):
        new_states, i = [], 0
        for cell in self.cells:
            x_t, new = cell.step(b, x_t, states[i:i + cell.n_states])
            new_states += new
            i += cell.n_states
        return x_t, new_states


def _cell(b, cell):
    if type(cell).__name__ == "StackedRNNCells":
        return _Stacked(b, cell)
    return _DenseCell(b, cell)


def _state_tails(cell) -> list[int]:
    if isinstance(cell, _Stacked):
        return [u for c in cell.cells for u in [c.units] * c.n_states]
    return [cell.units] * cell.n_states


# -- the layer ---------------------------------------------------------------------------------
def _reverse0(b, name: str) -> str:
    return b.op("Slice", [name, b.ints([-1]), b.ints([np.iinfo(np.int64).min]), b.ints([0]),
                          b.ints([-1])], "reversed")


def run(b, layer, seq_tm: str, mask: Value | None, states: list[str], step, zero_out: str,
        out_rank: int):
    """Scan ``step`` over the time-major ``seq_tm``; returns ``(sequence, last, finals)``.

    ``sequence`` is time-major; ``zero_out`` is the zero output (the first "previous").
    """
    if layer.go_backwards:
        seq_tm = _reverse0(b, seq_tm)
    seqs = [(seq_tm, _FLOAT)]
    if mask is not None:
        m = b.op("Transpose", [mask.name], "mask_time_major", perm=[1, 0])
        seqs.append((_reverse0(b, m) if layer.go_backwards else m, _BOOL))
    zero_for_mask = bool(getattr(layer, "zero_output_for_mask", False))

    def body(st, sq):
        prev, old = st[0], st[1:]
        out, new = step(b, sq[0], old)
        if mask is not None:
            keep = b.op("Unsqueeze", [sq[1], b.ints(list(range(1, out_rank)))], "keep")
            other = b.const(0.0, dtype=np.float32) if zero_for_mask else prev
            out = b.op("Where", [keep, out, other], "masked_output")
            new = [b.op("Where", [keep, n, s], "masked_state") for n, s in zip(new, old)]
        return [out, *new], [out]

    finals, (sequence,) = scan(b, seqs, [zero_out, *states], body, 1)
    return sequence, finals[0], finals[1:]


def _split(call):
    x = call.x
    initial = call.kwargs.get("initial_state")
    if isinstance(x, (list, tuple)):
        x, initial = x[0], list(x[1:]) or initial
    if initial is not None and not isinstance(initial, (list, tuple)):
        initial = [initial]
    mask = call.kwargs.get("mask")
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    return x, initial, mask


def _dense_rnn(b, layer, x: Value, mask, initial):
    """``(sequence (B, T, U), last, finals)`` of a dense-cell RNN layer."""
    if layer.stateful or getattr(layer, "time_major", False):
        raise LoweringError("stateful and time_major RNNs are not lowered")
    cell = _cell(b, layer.cell)
    seq_tm = b.op("Transpose", [b.native(x)], "time_major", perm=[1, 0, 2])
    src = b.native(x)
    if initial:
        states = [b.native(s) for s in initial]
    else:
        states = [_zeros(b, src, [u]) for u in _state_tails(cell)]
    sequence, last, finals = run(b, layer, seq_tm, mask, states, cell.step,
                                 _zeros(b, src, [cell.units]), 2)
    return b.op("Transpose", [sequence], "batch_major", perm=[1, 0, 2]), last, finals


def _needs_scan(layer, mask) -> bool:
    return mask is not None or type(layer.cell).__name__ not in _OPS


def rnn_layer(b, layer, call):
    x, initial, mask = _split(call)
    if not _needs_scan(layer, mask):
        return rnn.rnn_layer(b, layer, call)
    seq, last, finals = _dense_rnn(b, layer, x, mask, initial)
    names = [seq if layer.return_sequences else last] + (finals if layer.return_state else [])
    return [call.out(n, index=i) for i, n in enumerate(names)]


def bidirectional(b, layer, call):
    x, initial, mask = _split(call)
    fwd, bwd = layer.forward_layer, layer.backward_layer
    if not (_needs_scan(fwd, mask) or _needs_scan(bwd, mask)):
        return rnn.bidirectional(b, layer, call)
    half = len(initial) // 2 if initial else 0
    y, f_last, f_states = _dense_rnn(b, fwd, x, mask, initial[:half] if initial else None)
    y_rev, b_last, b_states = _dense_rnn(b, bwd, x, mask, initial[half:] if initial else None)
    if layer.return_sequences:
        y_rev = b.op("Slice", [y_rev, b.ints([-1]), b.ints([np.iinfo(np.int64).min]),
                               b.ints([1]), b.ints([-1])], "reversed")
    else:
        y, y_rev = f_last, b_last
    mode = layer.merge_mode
    merged = {"concat": lambda: [b.op("Concat", [y, y_rev], axis=-1)],
              "sum": lambda: [b.op("Add", [y, y_rev])], "mul": lambda: [b.op("Mul", [y, y_rev])],
              "ave": lambda: [b.op("Div", [b.op("Add", [y, y_rev]),
                                           b.const(2.0, dtype=np.float32)])],
              None: lambda: [y, y_rev]}
    if mode not in merged:
        raise LoweringError(f"merge_mode={mode!r} is not lowered")
    outs = merged[mode]() + (f_states + b_states if layer.return_state else [])
    return [call.out(n, index=i) for i, n in enumerate(outs)]


# -- ConvLSTM ----------------------------------------------------------------------------------
class _ConvCell:
    """One ConvLSTM step on channels-first tensors: ``z = p_t + conv(h, recurrent_kernel)``."""

    def __init__(self, b, cell):
        self.cell = cell
        self.rec = b.const(conv_mod._to_onnx_kernel(np.asarray(cell.recurrent_kernel.value)),
                           "recurrent_kernel")
        self.split = b.ints([cell.filters] * 4)

    def step(self, b, p_t: str, states: list[str]):
        cell = self.cell
        h, c = states
        k = list(cell.kernel_size)
        z = b.op("Add", [p_t, b.op("Conv", [h, self.rec], kernel_shape=k,
                                   **conv_mod._pads("same", k, [1] * cell.rank))])
        i, f, cc, o = b.op("Split", [z, self.split], "gates", outputs=4, axis=1)
        dummy = Value(z, (None,) * (cell.rank + 2), np.dtype(np.float32), cf=True)
        ra = lambda t: act.activation(b, cell.recurrent_activation, t, dummy)  # noqa: E731
        fa = lambda t: act.activation(b, cell.activation, t, dummy)  # noqa: E731
        c_new = b.op("Add", [b.op("Mul", [ra(f), c]), b.op("Mul", [ra(i), fa(cc)])], "c")
        h_new = b.op("Mul", [ra(o), fa(c_new)], "h")
        return h_new, [h_new, c_new]


def conv_lstm(b, layer, call):
    x, initial, mask = _split(call)
    cell = layer.cell
    if layer.stateful:
        raise LoweringError("stateful RNNs are not lowered")
    if None in x.shape[2:] or None in call.specs[0].shape[2:]:
        raise LoweringError("ConvLSTM over unknown spatial sizes is not lowered")
    rank, last = cell.rank, cell.data_format == "channels_last"
    src = b.native(x)
    step_shape = list(x.shape[2:])
    folded = b.op("Reshape", [src, b.ints([-1, *step_shape])], "fold_time")
    if last:
        folded = b.op("Transpose", [folded], perm=[0, rank + 1, *range(1, rank + 1)])
    k = list(cell.kernel_size)
    proj = b.op("Conv", [folded, b.const(conv_mod._to_onnx_kernel(np.asarray(cell.kernel.value)),
                                         "kernel")],
                kernel_shape=k, strides=list(cell.strides), dilations=list(cell.dilation_rate),
                **conv_mod._pads(cell.padding, k, cell.strides, cell.dilation_rate))
    if cell.use_bias:
        proj = b.op("Add", [proj, b.const(np.asarray(cell.bias.value).reshape(
            (-1,) + (1,) * rank), "bias")])
    out_spatial = list(cell.output_spatial(tuple(x.shape[2:-1] if last else x.shape[3:])))
    f = cell.filters
    proj = b.op("Reshape", [proj, b.op("Concat", [b.op("Shape", [src], end=2),
                                                   b.ints([4 * f, *out_spatial])], axis=0)])
    seq_tm = b.op("Transpose", [proj], "time_major", perm=[1, 0, *range(2, rank + 3)])
    if initial:
        states = [b.channels_first(s) if last else b.native(s) for s in initial]
    else:
        states = [_zeros(b, src, [f, *out_spatial]) for _ in range(2)]
    sequence, last_out, finals = run(b, layer, seq_tm, mask, states, _ConvCell(b, cell).step,
                                     _zeros(b, src, [f, *out_spatial]), rank + 2)
    if layer.return_sequences:
        perm = [1, 0, *range(3, rank + 3), 2] if last else [1, 0, *range(2, rank + 3)]
        outs = [Value(b.op("Transpose", [sequence], "batch_major", perm=perm),
                      call.specs[0].shape, call.specs[0].dtype)]
    else:
        outs = [Value(last_out, call.specs[0].shape, call.specs[0].dtype, cf=last)]
    if layer.return_state:
        outs += [Value(s, call.specs[i + 1].shape, call.specs[i + 1].dtype, cf=last)
                 for i, s in enumerate(finals)]
    return outs


def cudnn(b, layer, call):
    if call.kwargs.get("mask") is not None:
        raise LoweringError("CuDNN RNNs do not support masks")
    native = layer._native
    native.set_weights(layer._native_weights())
    return rnn.rnn_layer(b, native, call)


def cell_call(b, layer, call):
    """A cell called on ``(inputs, states)``: one step; outputs ``output, *new_states``."""
    from numkeras.engine import nest

    x = call.x
    states = call.args[1] if len(call.args) > 1 else call.kwargs.get("states")
    states = [v for v in nest.flatten(states) if isinstance(v, Value)]
    cell = _cell(b, layer)
    if len(states) != cell.n_states:
        raise LoweringError(f"the cell has {cell.n_states} states, the call passes "
                            f"{len(states)}")
    out, new = cell.step(b, b.native(x), [b.native(s) for s in states])
    if len(call.specs) != 1 + len(new):
        raise LoweringError("unexpected outputs of the cell call")
    return [call.out(n, index=i) for i, n in enumerate([out, *new])]


LOWERINGS = {"SimpleRNN": rnn_layer, "LSTM": rnn_layer, "GRU": rnn_layer, "RNN": rnn_layer,
             "Bidirectional": bidirectional,
             **{f"ConvLSTM{n}D": conv_lstm for n in (1, 2, 3)},
             "CuDNNLSTM": cudnn, "CuDNNGRU": cudnn,
             **{n: cell_call for n in ("SimpleRNNCell", "LSTMCell", "GRUCell",
                                       "StackedRNNCells")}}
