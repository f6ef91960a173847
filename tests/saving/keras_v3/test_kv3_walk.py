"""Object paths of the ``vars`` tree (docs/formats.md §4.2/§4.3: tf-keras paths, Keras 3 rules)."""

from numkeras import Input, Model, Sequential, layers
from numkeras.saving.keras_v3.walk import legacy_path, union_entries, walk


def paths(model, style):
    return [(e.path, len(e.variables)) for e in walk(model, style)]


def test_sequential_dense_dropout_dense_matches_the_spec_minimal_file():
    # docs/formats.md §4.4: `/vars`, `layers/dense/vars/{0,1}`, `layers/dense_1/vars/{0,1}` (+ dropout)
    model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dropout(0.5),
                        layers.Dense(1)])
    expected = [("", 0), ("layers/dense", 2), ("layers/dropout", 0), ("layers/dense_1", 2)]
    assert paths(model, "tf_keras") == expected
    assert paths(model, "keras3") == expected


def test_functional_lists_input_layers_and_nested_models_recurse():
    inner = Sequential([layers.Dense(2, input_shape=(2,))])
    x = Input((2,))
    model = Model(x, layers.BatchNormalization()(inner(x)))
    assert paths(model, "tf_keras") == [
        ("", 0), ("layers/input_layer", 0), ("layers/sequential", 0),
        ("layers/sequential/layers/dense", 2), ("layers/batch_normalization", 4)]


class Sub(Model):
    def __init__(self):
        super().__init__(name="sub")
        self.first = layers.Dense(2)
        self.zeta = layers.Dense(3)
        self.blocks = [layers.Dense(1)]

    def call(self, x):
        return self.blocks[0](self.zeta(self.first(x)))


def test_subclassed_model_descending_attributes_skip_visited_without_numbering():
    # docs/formats.md §4.2: `zeta` wins first (descending), then `layers/dense`,
    # (zeta skipped, no number used), `layers/dense_1`.
    model = Sub()
    model.build((None, 4))
    assert [p for p, _ in paths(model, "tf_keras")] == [
        "", "zeta", "layers/dense", "layers/dense_1"]


def test_subclassed_model_keras3_ascending_and_visited_items_use_numbers():
    model = Sub()
    model.build((None, 4))
    # ascending: blocks < first < layers < zeta; `layers` is in tracking order
    # (first, zeta, blocks[0]): the visited `first` still uses up `dense`, so zeta is `dense_1`
    assert [p for p, _ in paths(model, "keras3")] == [
        "", "blocks/dense", "first", "layers/dense_1"]


def test_union_adds_tf_keras_paths_and_keeps_keras3_on_collisions():
    model = Sub()
    model.build((None, 4))
    union = union_entries(model)
    assert [e.path for e in union] == ["", "blocks/dense", "first", "layers/dense_1", "zeta",
                                       "layers/dense"]
    by_path = {e.path: e.obj for e in union}
    assert by_path["layers/dense_1"] is model.zeta  # Keras 3's owner of the path wins


def test_keras3_nested_containers_are_numbered_container():
    class Nest(Model):
        def __init__(self):
            super().__init__()
            self.groups = [[layers.Dense(1)], [layers.Dense(1)]]

        def call(self, x):
            return self.groups[1][0](self.groups[0][0](x))

    model = Nest()
    model.build((None, 2))
    k3 = [p for p, _ in paths(model, "keras3")]
    assert k3[:3] == ["", "groups/container/dense", "groups/container_1/dense"]


def test_legacy_prefix_renames_every_layers_component():
    assert legacy_path("layers/dense") == "_layer_checkpoint_dependencies/dense"
    assert legacy_path("my_layers/dense") == "my_layers/dense"


def test_compiled_optimizer_has_its_own_path():
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="adam")
    assert ("optimizer", 1) in paths(model, "tf_keras")
    assert ("optimizer", 1) in paths(model, "keras3")
