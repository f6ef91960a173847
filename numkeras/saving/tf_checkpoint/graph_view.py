"""The object graph of a TF checkpoint as data and text (``numkeras inspect --graph``).

Each node: its id, the path TensorFlow prints (``(root).layer_with_weights-0``), its
children (local name -> node id), its saved attributes (checkpoint key and variable name),
and the optimizer slots it holds.

>>> import os, tempfile
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> prefix = os.path.join(tempfile.mkdtemp(), "ckpt")
>>> model.save_weights(prefix)
>>> print(to_text(nodes(prefix)))
[0] (root)
    layer_with_weights-0 -> [1]
    layer-0 -> [1]
    root -> [0]
[1] (root).layer_with_weights-0
    kernel -> [2]
    bias -> [3]
[2] (root).layer_with_weights-0.kernel
    = layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE (dense/kernel)
[3] (root).layer_with_weights-0.bias
    = layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE (dense/bias)
"""

from __future__ import annotations

from numkeras.saving.tf_checkpoint.bundle import BundleReader
from numkeras.saving.tf_checkpoint.object_graph import OBJECT_GRAPH_KEY, node_names

__all__ = ["nodes", "to_text"]


def nodes(prefix: str) -> list[dict]:
    """The object graph of the checkpoint at ``prefix`` (``[]`` for a TF1 checkpoint)."""
    from numkeras.saving.tf_checkpoint.restore import read_object_graph

    with BundleReader(prefix) as reader:
        if OBJECT_GRAPH_KEY not in reader:
            return []
        graph = read_object_graph(reader, prefix)
    names = node_names(graph)
    out = []
    for node_id, node in enumerate(graph.nodes):
        out.append({
            "id": node_id,
            "path": names.get(node_id, f"(unreachable node {node_id})"),
            "children": [{"name": c.local_name, "node": c.node_id} for c in node.children],
            "attributes": [{"name": a.name, "key": a.checkpoint_key, "variable": a.full_name}
                           for a in node.attributes],
            "slots": [{"slot": s.slot_name, "variable_node": s.original_variable_node_id,
                       "slot_node": s.slot_variable_node_id} for s in node.slot_variables],
        })
    return out


def to_text(graph: list[dict]) -> str:
    """One block per node: ``[id] path``, then ``child -> [id]``, ``= key (variable)``."""
    if not graph:
        return "(no object graph: a TF1 name-based checkpoint)"
    lines = []
    for node in graph:
        lines.append(f"[{node['id']}] {node['path']}")
        lines += [f"    {c['name']} -> [{c['node']}]" for c in node["children"]]
        lines += [f"    = {a['key']}" + (f" ({a['variable']})" if a["variable"] else "")
                  for a in node["attributes"]]
        lines += [f"    slot {s['slot']!r} of [{s['variable_node']}] -> [{s['slot_node']}]"
                  for s in node["slots"]]
    return "\n".join(lines)
