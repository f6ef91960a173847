"""Save/load round trips, all-or-nothing loading, skip_mismatch, layouts of other Keras versions."""

import json
import os
import warnings

import h5py
import numpy as np
import pytest

from numkeras import Input, Model, Sequential, layers
from numkeras.saving.keras_v3 import load_weights, save_model, save_weights


def make_model():
    x = Input((3,), name="x")
    h = layers.BatchNormalization(name="bn")(layers.Dense(4, name="d1")(x))
    inner = Sequential([layers.Dense(4, input_shape=(4,), name="d_in")], name="inner")
    out = layers.Add(name="add")([inner(h), layers.Dense(4, name="d2")(h)])
    return Model(x, out, name="m")


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    return model.get_weights()


def assert_weights(model, expected):
    for a, b in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["w.weights.h5", "w.weights.json", "m.keras"])
def test_round_trip(tmp_path, name):
    model = make_model()
    saved = randomize(model)
    path = str(tmp_path / name)
    if name.endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)
    randomize(model, 1)
    report = model.load_weights(path)
    assert_weights(model, saved)
    assert sorted(report.loaded) == ["bn", "d1", "d2", "d_in"]


def test_weights_h5_layout_has_root_vars_and_name_attributes(tmp_path):
    model = make_model()
    path = str(tmp_path / "w.weights.h5")
    save_weights(model, path)
    with h5py.File(path) as f:
        assert "vars" in f and len(f["vars"]) == 0 and not f.attrs
        assert f["layers/dense/vars"].attrs["name"] == "d1"
        assert sorted(f["layers/batch_normalization/vars"]) == ["0", "1", "2", "3"]
        assert f["layers/sequential/layers/dense/vars/0"].shape == (4, 4)
        assert f["layers/input_layer/vars"].attrs["name"] == "x"


def test_sharded_manifest_and_shards_as_keras3_writes_them(tmp_path):
    model = make_model()
    saved = randomize(model)
    path = str(tmp_path / "big.weights.json")
    save_weights(model, path, max_shard_size=80 / 1024 ** 3)  # 80 bytes; largest var 64
    manifest = json.loads(open(path).read())
    assert set(manifest) == {"metadata", "weight_map"}
    assert manifest["metadata"]["total_size"] == float(sum(w.nbytes for w in saved))
    shards = sorted(p.name for p in tmp_path.glob("big_*.weights.h5"))
    assert shards[0] == "big_00000.weights.h5" and len(shards) > 3
    assert manifest["weight_map"]["/layers/dense/vars"]  # a group name, slash first
    randomize(model, 2)
    model.load_weights(path)
    assert_weights(model, saved)


def test_sharded_save_refuses_a_variable_larger_than_a_shard(tmp_path):
    with pytest.raises(ValueError, match="exceeds the maximum shard size"):
        save_weights(make_model(), str(tmp_path / "x.weights.json"),
                     max_shard_size=10 / 1024 ** 3)


def test_mismatch_changes_nothing_and_names_the_layer(tmp_path):
    model = make_model()
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    x = Input((3,), name="x")
    h = layers.BatchNormalization(name="bn")(layers.Dense(4, name="d1")(x))
    inner = Sequential([layers.Dense(4, input_shape=(4,), name="d_in")], name="inner")
    other = Model(x, layers.Add(name="add")([inner(h), layers.Dense(4, name="d2",
                                                                     use_bias=False)(h)]))
    before = randomize(other, 3)
    with pytest.raises(ValueError, match="'d2' expected 1 variables, but received 2"):
        other.load_weights(path)
    assert_weights(other, before)


def test_shape_mismatch_is_refused_before_assigning(tmp_path):
    small = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(5)])
    path = str(tmp_path / "w.weights.h5")
    small.save_weights(path)
    big = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(6)])
    before = randomize(big)
    with pytest.raises(ValueError, match=r"has shape \(2, 6\).*has shape \(2, 5\)"):
        big.load_weights(path)
    assert_weights(big, before)


def test_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    small = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(5)])
    saved = randomize(small)
    path = str(tmp_path / "w.weights.h5")
    small.save_weights(path)
    big = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(6)])
    with pytest.warns(UserWarning, match="Could not load weights in object dense_3"):
        report = big.load_weights(path, skip_mismatch=True)
    assert_weights(big.layers[0], saved[:2])
    assert [name for name, _ in report.skipped] == ["dense_3"]


def test_by_name_is_refused(tmp_path):
    model = make_model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match="by_name=True is not supported"):
        load_weights(model, path, by_name=True)


def _rename_layers_group(path):
    with h5py.File(path, "a") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
        inner = "_layer_checkpoint_dependencies/sequential"
        f.move(f"{inner}/layers", f"{inner}/_layer_checkpoint_dependencies")
        for group in f.values():
            for sub in [group] + list(getattr(group, "values", lambda: [])()):
                if hasattr(sub, "attrs") and "name" in sub.attrs:
                    del sub.attrs["name"]


def test_tf_keras_2_12_to_2_14_layer_checkpoint_dependencies_layout(tmp_path):
    # docs/formats.md §4.2: 2.12-2.14 put layers under `_layer_checkpoint_dependencies/...`
    model = make_model()
    saved = randomize(model)
    path = str(tmp_path / "old.weights.h5")
    model.save_weights(path)
    _rename_layers_group(path)
    randomize(model, 5)
    model.load_weights(path)
    assert_weights(model, saved)


def test_float64_values_are_cast_to_the_variable_dtype(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    path = str(tmp_path / "w.weights.h5")
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f["layers/dense/vars/0"] = np.full((3, 2), 0.5)
        f["layers/dense/vars/1"] = np.arange(2.0)
    model.load_weights(path)
    assert model.weights[0].dtype == np.float32
    assert_weights(model, [np.full((3, 2), 0.5, "float32"), np.arange(2, dtype="float32")])


def test_optimizer_state_loads_when_counts_match_and_warns_otherwise(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd")
    model.optimizer.iterations.assign(7)
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    model.optimizer.iterations.assign(0)
    model.load_weights(path)
    assert int(model.optimizer.iterations.numpy()) == 7
    with h5py.File(path, "a") as f:
        f["optimizer/vars/1"] = np.zeros(3, "float32")
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        model.load_weights(path)


def test_saving_is_atomic_and_leaves_no_temporary_files(tmp_path):
    model = make_model()
    save_model(model, str(tmp_path / "m.keras"))
    save_weights(model, str(tmp_path / "w.weights.h5"))
    save_weights(model, str(tmp_path / "s.weights.json"), max_shard_size=1e-6)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_save_model_requires_the_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match="expected a `.keras` extension"):
        save_model(make_model(), str(tmp_path / "m.zip"))


def test_loading_keeps_quiet_when_everything_matches(tmp_path):
    model = make_model()
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.load_weights(path)
