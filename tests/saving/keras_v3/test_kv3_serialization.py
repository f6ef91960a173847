"""Model configs: Keras 3 and tf-keras spellings written and read, custom_objects, old configs."""

import json

import numpy as np
import pytest

from numkeras import Input, Model, Sequential, backend, layers
from numkeras.models import load_model
from numkeras.saving import serialization
from numkeras.saving.serialization import UnknownClassError, deserialize_model, serialize_model


def functional():
    a, b = Input((3,), name="a"), Input((2,), name="b")
    inner = Sequential([layers.Dense(3, input_shape=(3,), name="in_d")], name="inner")
    h = layers.Concatenate(name="cat")([inner(a), layers.Dense(3, name="bd")(b)])
    shared = layers.Dense(2, name="shared")
    return Model([a, b], [shared(h), layers.Add(name="add")([shared(h), shared(h)])],
                 name="multi")


def predict(model, seed=0):
    rng = np.random.default_rng(seed)
    return model.predict([rng.normal(size=(4, 3)), rng.normal(size=(4, 2))])


@pytest.mark.parametrize("style", ["keras3", "tf_keras"])
def test_functional_config_round_trip_rebuilds_the_same_graph(style):
    model = functional()
    config = json.loads(json.dumps(serialize_model(model, style=style)))
    backend.clear_session()
    clone = deserialize_model(config)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    for x, y in zip(predict(model), predict(clone), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6)


def test_keras3_config_uses_keras3_spellings():
    config = serialize_model(functional())
    assert config["module"] == "keras.src.models.functional"
    layers_ = {spec["name"]: spec for spec in config["config"]["layers"]}
    assert layers_["a"]["config"]["batch_shape"] == [None, 3]
    node = layers_["cat"]["inbound_nodes"][0]["args"][0][0]
    assert node["class_name"] == "__keras_tensor__"
    assert node["config"]["keras_history"] == ["inner", 0, 0]
    assert "batch_input_shape" not in layers_["inner"]["config"]["layers"][1]["config"]
    shared_nodes = layers_["shared"]["inbound_nodes"]
    assert len(shared_nodes) == 3


def test_tf_keras_config_counts_the_nested_models_own_node():
    # tf-keras: a nested model built on an Input starts with its construction node, so its
    # first call in the outer model is node 1 (verified in tf-keras 2.21's own files)
    config = serialize_model(functional(), style="tf_keras")
    cat = next(s for s in config["config"]["layers"] if s["name"] == "cat")
    assert cat["inbound_nodes"] == [[["inner", 1, 0, {}], ["bd", 0, 0, {}]]]
    assert config["config"]["output_layers"] == [["shared", 0, 0], ["add", 0, 0]]
    add = next(s for s in config["config"]["layers"] if s["name"] == "add")
    assert add["inbound_nodes"] == [[["shared", 1, 0, {}], ["shared", 2, 0, {}]]]


def test_get_config_from_config_on_the_model_classes():
    model = functional()
    clone = type(model).from_config(model.get_config())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    seq = Sequential([layers.Dense(2, input_shape=(4,), name="d")], name="s")
    seq_clone = Sequential.from_config(seq.get_config())
    assert seq_clone.layers[0].name == "d" and seq_clone.built


def test_legacy_h5_configs_without_module_keys():
    # Keras 2.x `model_config` as stored in full-model .h5 files
    config = {"class_name": "Sequential", "config": {"name": "old", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                "dtype": "float32", "name": "inp"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "relu",
                                           "kernel_initializer": {"class_name": "GlorotUniform",
                                                                  "config": {"seed": None}}}}]}}
    model = deserialize_model(json.dumps(config))
    assert model.name == "old" and model.layers[0].kernel.shape == (4, 2)
    bare = {"class_name": "Sequential", "config": config["config"]["layers"]}
    assert deserialize_model(bare).built


def test_keras3_only_options_left_unset_are_dropped_set_ones_are_refused():
    spec = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": "d", "units": 2, "quantization_config": None, "lora_rank": None,
                       "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                 "config": {"name": "float32"}, "registered_name": None},
                       "kernel_initializer": {"module": "keras.initializers",
                                              "class_name": "GlorotUniform",
                                              "config": {"seed": None, "input_axes": None},
                                              "registered_name": None}}}
    layer = serialization.deserialize_layer(spec)
    assert layer.units == 2 and layer.dtype == "float32"
    spec["config"]["lora_rank"] = 4
    with pytest.raises(ValueError, match="lora_rank=4 .* not supported"):
        serialization.deserialize_layer(spec)


class Doubler(layers.Layer):
    def call(self, x):
        return 2 * x


def test_custom_objects_supply_classes_and_lambda_stays_refused(tmp_path):
    x = Input((2,), name="x")
    model = Model(x, Doubler(name="twice")(x))
    path = str(tmp_path / "c.keras")
    model.save(path)
    with pytest.raises(UnknownClassError, match="Doubler"):
        load_model(path)
    loaded = load_model(path, custom_objects={"Doubler": Doubler})
    np.testing.assert_allclose(loaded.predict(np.ones((1, 2))), [[2.0, 2.0]])
    config = serialize_model(model)
    config["config"]["layers"][1]["class_name"] = "Lambda"
    with pytest.raises(UnknownClassError, match="Python code, which numkeras never runs"):
        deserialize_model(config)


def test_load_model_of_a_full_model_h5_without_config_is_explained(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    with pytest.raises(ValueError, match="holds weights only"):
        load_model(path)


def test_keras_file_round_trip_predicts_the_same(tmp_path):
    model = functional()
    path = str(tmp_path / "m.keras")
    model.save(path)
    expected = predict(model)
    backend.clear_session()
    for a, b in zip(predict(load_model(path)), expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _metadata_pb(root_json: bytes) -> bytes:
    """A SavedMetadata message with one node: node_path "root" (3), metadata (5)."""

    def field(number: int, payload: bytes) -> bytes:
        size, out = len(payload), b""
        while True:
            out += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
            size >>= 7
            if not size:
                break
        return bytes([number << 3 | 2]) + out + payload

    return field(1, field(3, b"root") + field(4, b"_tf_keras_network") + field(5, root_json))


def test_load_model_explains_paths_it_cannot_read(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.save_weights(str(tmp_path / "ckpt" / "w"))
    with pytest.raises(FileNotFoundError, match="checkpoint prefix.*load_weights"):
        load_model(str(tmp_path / "ckpt" / "w"))
    with pytest.raises(FileNotFoundError, match="No model file at .*missing.keras"):
        load_model(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="not a SavedModel"):
        load_model(str(tmp_path / "ckpt"))
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="without Keras metadata"):
        load_model(str(tmp_path / "sm"))


@pytest.mark.parametrize("data, match", [
    (b"\x0a\xff", "truncated or corrupt"),
    (b"\x0a\x7f\x1a", "runs past the end"),
    (_metadata_pb(b"{not json"), "not valid JSON"),
    (_metadata_pb(b'{"class_name": "MyModel", "name": "m"}'), "without a config"),
    (b"", "no metadata for the root"),
])
def test_load_model_refuses_a_damaged_keras_metadata(tmp_path, data, match):
    (tmp_path / "keras_metadata.pb").write_bytes(data)
    with pytest.raises(ValueError, match=match):
        load_model(str(tmp_path))
