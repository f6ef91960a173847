"""The object graph numkeras writes: node order, child names, keys, escaping, flags.

Expected graphs are the ones TensorFlow 2.21 + tf-keras 2.21 write for the same models
(dumped from TF-written checkpoints; see docs/formats.md §5.6-§5.9).
"""

from __future__ import annotations

import numpy as np

import numkeras as nk
from numkeras import layers
from numkeras.engine.tracking import Trackable
from numkeras.saving.tf_checkpoint import keras_view
from numkeras.saving.tf_checkpoint.object_graph import (
    build_graph,
    checkpoint_key,
    escape_local_name,
    node_names,
    slot_variable_prefix,
)


class Box(Trackable):
    pass


def edges(graph, node_id=0):
    return [(i, name) for name, i in graph.nodes[node_id].children]


def test_escaping_and_keys():
    assert escape_local_name("a/b.c") == "a.Sb..c"
    assert checkpoint_key("a.Sb..c", "VARIABLE_VALUE") == "a.Sb..c/.ATTRIBUTES/VARIABLE_VALUE"
    assert checkpoint_key("x", ".TENSORS") == "x/.ATTRIBUTES/"
    assert slot_variable_prefix("layer_with_weights-0/kernel", "optimizer", "m") == \
        "layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m"


def test_sequential_graph_matches_tf_keras():
    model = nk.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dropout(0.1),
                           layers.BatchNormalization(), layers.Dense(1)])
    graph = build_graph(model, [("root", model)])
    # TF: 0 [(1,'layer_with_weights-0'), (1,'layer-0'), (2,'layer-1'),
    #        (3,'layer_with_weights-1'), (3,'layer-2'), (4,'layer_with_weights-2'),
    #        (4,'layer-3'), (0,'root')]
    assert edges(graph) == [(1, "layer_with_weights-0"), (1, "layer-0"), (2, "layer-1"),
                            (3, "layer_with_weights-1"), (3, "layer-2"),
                            (4, "layer_with_weights-2"), (4, "layer-3"), (0, "root")]
    assert edges(graph, 1) == [(5, "kernel"), (6, "bias")]
    assert edges(graph, 2) == []
    keys = [key for key, _ in graph.variables()]
    assert keys == [
        "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-1/gamma/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-1/beta/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-1/moving_mean/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-1/moving_variance/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE",
    ]
    proto = graph.proto()
    assert proto.nodes[5].attributes[0].full_name == "dense/kernel"
    assert [n.has_checkpoint_values.value for n in proto.nodes[:3]] == [True, True, False]
    # the root self-edge serializes with node_id 0 omitted: 0a 06 12 04 'root'
    assert b"\x0a\x06\x12\x04root" in proto.nodes[0].SerializeToString()


def test_functional_lists_input_layer_first():
    x = nk.Input((2,))
    model = nk.Model(x, layers.Dense(3)(x))
    graph = build_graph(model)
    assert edges(graph) == [(1, "layer-0"), (2, "layer_with_weights-0"), (2, "layer-1")]
    assert graph.proto().nodes[1].has_checkpoint_values.value is False


def test_attribute_children_lists_dicts_tuples():
    box = Box()
    box.blocks = [Box(), Box()]
    box.empty = []
    box.table = {"a": Box()}
    box.nums = [1, 2]
    box.shape = (3, 4)           # a tuple without trackables is not a node
    box.pair = (Box(), 1)        # one with a trackable is
    box.w = nk.Variable(np.zeros(2), name="w")
    box.again = box.blocks[0]    # a second name for the same object
    graph = build_graph(box)
    assert [name for name, _ in graph.nodes[0].children] == \
        ["blocks", "empty", "table", "nums", "pair", "w", "again"]
    root = dict(graph.nodes[0].children)
    assert root["again"] == graph.nodes[root["blocks"]].children[0][1]
    # breadth first: the shared object is first reached as `again`, which names its keys
    assert [n.path for n in graph.nodes][:9] == \
        ["", "blocks", "empty", "table", "nums", "pair", "w", "again", "blocks/1"]
    flags = [n.has_checkpoint_values.value for n in graph.proto().nodes]
    assert flags[:7] == [True, False, False, False, False, False, True]


def test_weight_names_with_separators_are_escaped():
    layer = layers.Dense(1)
    layer.build((None, 2))
    layer.add_weight("a/b.c", shape=(1,))
    keys = [key for key, _ in build_graph(layer).variables()]
    assert keys[-1] == "a.Sb..c/.ATTRIBUTES/VARIABLE_VALUE"
    assert [name for name, _ in keras_view.children(layer)][-1] == "a/b.c"


def test_new_optimizer_keys_match_tf_keras():
    model = nk.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer=nk.optimizers.Adam())
    model.optimizer.apply_gradients(zip([np.ones((3, 2)), np.ones(2)],
                                        model.trainable_variables))
    keys = [key for key, _ in build_graph(model, [("root", model)]).variables()]
    assert keys == [
        "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_variables/1/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_variables/2/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_variables/3/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_variables/4/.ATTRIBUTES/VARIABLE_VALUE",
    ]


def test_legacy_optimizer_slot_nodes_match_tf_keras():
    model = nk.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer=nk.optimizers.legacy.Adam())
    model.optimizer.apply_gradients(zip([np.ones(tuple(v.shape)) for v in
                                         model.trainable_variables], model.trainable_variables))
    graph = build_graph(model, [("root", model)])
    proto = graph.proto()
    optimizer = dict(graph.nodes[0].children)["optimizer"]
    assert [name for name, _ in graph.nodes[optimizer].children] == \
        ["iter", "beta_1", "beta_2", "decay", "learning_rate"]
    refs = [(r.original_variable_node_id, r.slot_name, r.slot_variable_node_id)
            for r in proto.nodes[optimizer].slot_variables]
    # m for every variable (in node order), then v; slot nodes appended after the BFS nodes
    kernel0, bias0 = (graph.nodes[1].children[0][1], graph.nodes[1].children[1][1])
    assert [r[:2] for r in refs[:2]] == [(kernel0, "m"), (bias0, "m")]
    assert [r[1] for r in refs] == ["m"] * 4 + ["v"] * 4
    first_slot = refs[0][2]
    assert first_slot == len(graph.nodes) - 8
    assert graph.nodes[first_slot].key == \
        "layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"
    assert proto.nodes[first_slot].has_checkpoint_values.value
    names = node_names(proto)
    assert names[first_slot] == ("(root).optimizer's state 'm' for "
                                 "(root).layer_with_weights-0.kernel")


def test_unbuilt_sequential_still_names_layers():
    model = nk.Sequential([layers.Dense(2), layers.Dense(1)])
    assert [name for name, _ in keras_view.children(model)] == ["layer-0", "layer-1"]
    assert keras_view.lookup(model, "layer-1") is model.layers[1]
    assert keras_view.lookup(model, "layer_with_weights-0") is None
