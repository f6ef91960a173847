"""The ONNX graph builder the lowerings write into: unique names, constants, layouts.

A :class:`Value` stands for one Keras tensor. Its ONNX tensor is either in Keras's own
layout (``cf=False``) or *channels first*: the last axis moved to position 1 (``NHWC`` held
as ``NCHW``), which is what ONNX convolutions and pools take. Convolution chains stay channels
first, and a Transpose back is added only where a layer needs Keras's layout (Flatten, Dense
on images, Reshape, ...), once per value.

>>> import numpy as np
>>> b = GraphBuilder()
>>> x = b.add_input("x", (None, 4, 4, 3), np.float32)
>>> b.channels_first(x), b.channels_first(x)  # one Transpose, shared
('to_channels_first', 'to_channels_first')
>>> b.physical_axis(x, -1), b.physical_axis(Value("t", (None, 4, 4, 3), np.float32, cf=True), -1)
(3, 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np


class LoweringError(ValueError):
    """A layer (named in the message, with its class) has no ONNX lowering."""


@dataclass
class Value:
    """The ONNX tensor ``name`` holding a Keras tensor of ``shape`` (Keras layout)."""

    name: str
    shape: tuple
    dtype: np.dtype
    cf: bool = False
    _layouts: dict = field(default_factory=dict, repr=False)
    mask: Value | None = field(default=None, repr=False)  # its Keras mask (see export/masks.py)

    @property
    def ndim(self) -> int:
        return len(self.shape)


def to_cf_perm(rank: int) -> list[int]:
    """Permutation from channels-last to channels-first (``NHWC -> NCHW``)."""
    return [0, rank - 1, *range(1, rank - 1)]


def to_cl_perm(rank: int) -> list[int]:
    """Permutation from channels-first back to channels-last (``NCHW -> NHWC``)."""
    return [0, *range(2, rank), 1]


class GraphBuilder:
    """Collects nodes, initializers, inputs and outputs; :meth:`model` makes the proto."""

    def __init__(self, opset: int = 17, in_memory: dict | None = None):
        self.opset = opset
        #: if a dict: constants of at least IN_MEMORY_BYTES are kept here (name -> array),
        #: their initializers only point to them (for ONNX Runtime's external initializers)
        self.in_memory = in_memory
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self.scope = ""
        self.layer_class = ""
        self._used: set[str] = set()
        self._consts: dict = {}

    # -- names -------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A tensor/node name not used yet, under the current layer's scope."""
        base = re.sub(r"[^A-Za-z0-9_./:-]", "_", f"{self.scope}/{hint}" if self.scope else hint)
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim ``name`` exactly (graph inputs and outputs); a clash gets a suffix."""
        out, i = name, 1
        while out in self._used:
            out, i = f"{name}_{i}", i + 1
        self._used.add(out)
        return out

    # -- graph pieces ------------------------------------------------------------------------
    def const(self, array, hint: str = "const", dtype=None) -> str:
        """An initializer holding ``array`` (small scalars/vectors are shared by value)."""
        from onnx import numpy_helper

        arr = np.asarray(array, dtype=dtype) if dtype is not None else np.asarray(array)
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(np.float32)
        key = None
        if arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.fresh(hint)
        if self.in_memory is not None and arr.nbytes >= IN_MEMORY_BYTES:
            self.initializers.append(_placeholder(arr, name))
            self.in_memory[name] = np.ascontiguousarray(arr)
            return name
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        if key is not None:
            self._consts[key] = name
        return name

    def op(self, op_type: str, inputs: list, hint: str | None = None, outputs: int = 1,
           domain: str = "", **attrs):
        """Add one node; returns its output name (or a list when ``outputs > 1``)."""
        from onnx import helper

        names = [self.fresh(f"{hint or op_type}:{i}" if outputs > 1 else (hint or op_type))
                 for i in range(outputs)]
        node_name = self.fresh(f"{op_type}_node")
        node = helper.make_node(op_type, [i or "" for i in inputs], names, name=node_name,
                                domain=domain, **attrs)
        if self.layer_class:
            node.doc_string = f"Keras layer {self.scope.split('/')[0]} ({self.layer_class})"
        self.nodes.append(node)
        return names if outputs > 1 else names[0]

    def add_input(self, name: str, shape: tuple, dtype) -> Value:
        from onnx import helper

        name = self.reserve(name)
        dims = ["batch" if i == 0 and d is None else (f"{name}_dim{i}" if d is None else d)
                for i, d in enumerate(shape)]
        self.inputs.append(helper.make_tensor_value_info(name, _elem_type(dtype), dims))
        return Value(name, tuple(shape), np.dtype(dtype))

    def add_output(self, value: Value, name: str) -> str:
        from onnx import helper

        src = self.native(value)
        name = self.reserve(name)
        saved, self.scope = self.scope, ""
        self.nodes.append(helper.make_node("Identity", [src], [name], name=f"{name}/output"))
        self.scope = saved
        dims = ["batch" if i == 0 and d is None else (f"{name}_dim{i}" if d is None else d)
                for i, d in enumerate(value.shape)]
        self.outputs.append(helper.make_tensor_value_info(name, _elem_type(value.dtype), dims))
        return name

    # -- layouts -----------------------------------------------------------------------------
    def native(self, v: Value) -> str:
        """``v``'s tensor in Keras's layout (one Transpose per value, shared)."""
        if not v.cf:
            return v.name
        if "native" not in v._layouts:
            v._layouts["native"] = self.op("Transpose", [v.name], "to_channels_last",
                                           perm=to_cl_perm(v.ndim))
        return v._layouts["native"]

    def channels_first(self, v: Value) -> str:
        """``v``'s tensor with its last axis moved to position 1."""
        if v.cf:
            return v.name
        if "cf" not in v._layouts:
            v._layouts["cf"] = self.op("Transpose", [v.name], "to_channels_first",
                                       perm=to_cf_perm(v.ndim))
        return v._layouts["cf"]

    def physical_axis(self, v: Value, axis: int) -> int:
        """Where Keras axis ``axis`` of ``v`` is in its ONNX tensor."""
        axis = axis % v.ndim
        return to_cf_perm(v.ndim).index(axis) if v.cf else axis

    def physical_const(self, v: Value, array, hint: str = "const") -> str:
        """A constant that broadcasts against ``v`` as ``array`` does against Keras's layout."""
        arr = np.asarray(array, dtype=v.dtype)
        if v.cf and arr.ndim:
            arr = arr.reshape((1,) * (v.ndim - arr.ndim) + arr.shape).transpose(to_cf_perm(v.ndim))
        return self.const(arr, hint)

    def shape_of(self, name: str, start: int | None = None, end: int | None = None) -> str:
        kw = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        return self.op("Shape", [name], "shape", **kw)

    def ints(self, values, hint: str = "ints") -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint)

    # -- the model ---------------------------------------------------------------------------
    def _live_nodes(self) -> tuple[list, set]:
        """The nodes the outputs depend on (in order) and every tensor name they read."""
        return _live(self.nodes, {o.name for o in self.outputs})

    def model(self, graph_name: str, metadata: dict):
        from onnx import helper

        nodes, used = self._live_nodes()
        inits = [t for t in self.initializers if t.name in used]
        if self.in_memory is not None:
            for name in [n for n in self.in_memory if n not in used]:
                del self.in_memory[name]
        graph = helper.make_graph(nodes, graph_name, self.inputs, self.outputs, inits)
        opsets = [helper.make_opsetid("", self.opset)]
        if any(n.domain == "ai.onnx.ml" for n in nodes):  # LabelEncoder (IntegerLookup)
            opsets.append(helper.make_opsetid("ai.onnx.ml", 3))
        model = helper.make_model(graph, producer_name="numkeras", opset_imports=opsets)
        model.ir_version = min(model.ir_version, 9)
        helper.set_model_props(model, {k: str(v) for k, v in metadata.items()})
        return model


#: Size from which :class:`GraphBuilder` keeps a constant out of the proto when asked to.
IN_MEMORY_BYTES = 1 << 16


def _placeholder(arr: np.ndarray, name: str):
    """An initializer whose data is external (ONNX Runtime is given the array itself)."""
    from onnx import TensorProto

    t = TensorProto(name=name, dims=arr.shape, data_type=_elem_type(arr.dtype),
                    data_location=TensorProto.EXTERNAL)
    entry = t.external_data.add()
    entry.key, entry.value = "location", f"numkeras-in-memory/{name}"
    return t


def _live(nodes: list, outputs: set) -> tuple[list, set]:
    needed = set(outputs)
    live = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            live.append(node)
            needed.update(node.input)
            needed.update(_subgraph_reads(node))
    return live[::-1], needed


def _subgraph_reads(node) -> set:
    """Outer names read inside a node's subgraphs (a ``Scan`` body reads the weights)."""
    reads = set()
    for attr in node.attribute:
        for g in [attr.g] if attr.HasField("g") else list(attr.graphs):
            for inner in g.node:
                reads.update(inner.input)
                reads.update(_subgraph_reads(inner))
    return reads


def _elem_type(dtype) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
