"""Models: functional graphs, Sequential, subclassing, deep chains and their errors."""

import subprocess
import sys

import numpy as np
import pytest

import numkeras as keras
from numkeras import layers


def test_ten_thousand_layer_chain_builds_runs_and_round_trips_weights():
    inp = keras.Input((2,))
    x = inp
    for _ in range(10_000):
        x = layers.Dense(2, kernel_initializer="identity")(x)
    model = keras.Model(inp, x)
    assert len(model.layers) == 10_001
    values = model.get_weights()
    assert len(values) == 20_000
    values = [v * 0 + i for i, v in enumerate(values)]
    model.set_weights(values)
    got = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(got, values))
    model.set_weights([np.eye(2, dtype="float32") if v.ndim == 2 else np.zeros(2, "float32")
                       for v in values])
    np.testing.assert_array_equal(model(np.array([[1.0, 2.0]])), [[1.0, 2.0]])


def test_ten_thousand_layer_sequential():
    model = keras.Sequential([layers.Dense(2) for _ in range(10_000)])
    assert model.predict(np.ones((1, 3))).shape == (1, 2)
    assert len(model.weights) == 20_000


def test_shared_layer_is_counted_once():
    inp = keras.Input((2,))
    shared = layers.Dense(2)
    model = keras.Model(inp, shared(shared(inp)))
    assert [la.name for la in model.layers] == ["input_1", "dense"]
    assert len(model.weights) == 2


def test_duplicate_layer_names_are_rejected():
    inp = keras.Input((2,))
    x = layers.Dense(2, name="same")(inp)
    with pytest.raises(ValueError, match='The name "same" is used 2 times in the model'):
        keras.Model(inp, layers.Dense(2, name="same")(x))


def test_graph_disconnected():
    a, b = keras.Input((2,)), keras.Input((2,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)


def test_model_used_as_layer_and_get_layer():
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, layers.Dense(2)(inner_in), name="inner")
    inp = keras.Input((3,))
    outer = keras.Model(inp, layers.Dense(1)(inner(inp)))
    assert outer.get_layer("inner") is inner
    assert outer.get_layer(index=1) is inner
    with pytest.raises(ValueError, match="No such layer: nope"):
        outer.get_layer("nope")
    assert outer.predict(np.ones((4, 3)), batch_size=3).shape == (4, 1)


def test_dict_inputs_by_input_name():
    a, b = keras.Input((1,), name="a"), keras.Input((1,), name="b")
    model = keras.Model([a, b], layers.Subtract()([a, b]))
    out = model({"b": np.array([[1.0]]), "a": np.array([[5.0]])})
    np.testing.assert_array_equal(out, [[4.0]])


def test_sequential_add_pop_and_input_layer_not_listed():
    model = keras.Sequential()
    model.add(keras.Input((4,)))
    model.add(layers.Dense(3))
    model.add(layers.Dense(2))
    assert [la.name for la in model.layers] == ["dense", "dense_1"]
    model.pop()
    assert model.predict(np.zeros((1, 4))).shape == (1, 3)


def test_subclassed_model_tracks_lists_and_dicts():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(3), layers.Dense(3)]
            self.heads = {"a": layers.Dense(1)}

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.heads["a"](x)

    net = Net()
    net(np.ones((1, 2)))
    assert [la.name for la in net.layers] == ["dense", "dense_1", "dense_2"]
    assert [w.name for w in net.weights][0] == "net/dense/kernel:0"


def test_summary_prints_layers_and_totals(capsys):
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization()])
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "sequential"' in out
    assert "dense (Dense)" in out and "(None, 4)" in out
    assert "Total params: 32" in out and "Non-trainable params: 8" in out


def test_import_numkeras_imports_no_tensorflow_and_loads_almost_nothing():
    """``import numkeras`` must cost little more than ``import numpy`` (timed in `make bench`):
    here we check the cause deterministically, namely which modules it loads."""
    code = ("import sys; before = set(sys.modules); import numkeras; "
            "print(sorted(set(sys.modules) - before))")
    loaded = eval(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout)
    assert loaded == ["numkeras"], loaded
    code = ("import sys, numkeras, numkeras.layers; print(sorted(m for m in sys.modules if "
            "m.startswith(('tensorflow', 'tf_keras', 'keras', 'h5py', 'google.protobuf'))))")
    heavy = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                           text=True).stdout.strip()
    assert heavy == "[]", heavy


def test_shared_layer_has_an_output_shape_when_every_call_agrees():
    shared = layers.Dense(2)
    a, b, c = keras.Input((3,)), keras.Input((3,)), keras.Input((5,))
    shared(a), shared(b)
    assert shared.output_shape == (None, 2) and shared.input_shape == (None, 3)
    shared(c)
    with pytest.raises(AttributeError, match="different input shapes"):
        _ = shared.input_shape
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output_shape


def test_summary_of_an_unbuilt_model_raises():
    with pytest.raises(ValueError, match="has not yet been built"):
        keras.Sequential([layers.Dense(2)]).summary()


def test_one_element_list_output_returns_the_tensor_as_tf_keras():
    """tf-keras 2.21 (checked): Model(x, [y])(x) and predict give the tensor/array, not [y];
    Model([x], [y]) too; two outputs stay a list, (y,) stays a tuple; outputs is [y]."""
    import numpy as np

    import numkeras as nk
    from numkeras import layers

    x = nk.Input((3,))
    y = layers.Dense(2)(x)
    data = np.ones((1, 3), "float32")
    for model in (nk.Model(x, [y]), nk.Model([x], [y])):
        assert isinstance(model(data), np.ndarray) and model(data).shape == (1, 2)
        assert isinstance(model.predict(data, verbose=0), np.ndarray)
        assert isinstance(model.outputs, list) and len(model.outputs) == 1
        assert model.output is y
        rebuilt = nk.models.model_from_json(model.to_json())
        assert isinstance(rebuilt(data), np.ndarray)
    z = layers.Dense(2)(x)
    assert isinstance(nk.Model(x, [y, z])(data), list)
    assert isinstance(nk.Model(x, (y,))(data), tuple)
