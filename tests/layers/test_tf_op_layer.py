"""TFOpLambda / SlicingOpLambda layers and the operators on KerasTensors that create them.

Expected names and recorded arguments are what tf-keras 2.21 records for the same Python
expressions (checked against TF in tests/interop/test_tf_op_layers_interop.py); values
come from first principles.
"""

import numpy as np
import pytest

from numkeras import Input, Model, backend
from numkeras.layers import SlicingOpLambda, TFOpLambda


@pytest.fixture(autouse=True)
def _fresh():
    backend.clear_session()


def _record(t):
    node = t.node
    return type(node.layer).__name__, node.layer.function, node.call_args, node.call_kwargs


def test_operators_record_tf_keras_functions_and_arguments():
    x, y = Input((4, 3)), Input((4, 3))
    cases = {
        "__operators__.add": x + y, "math.subtract": x - 1.0, "math.multiply": x * 2,
        "math.truediv": x / 2.0, "compat.v1.floor_div": x // 2.0, "math.floormod": x % 2.0,
        "math.pow": x ** 2, "math.negative": -x, "math.abs": abs(x), "math.greater": x > 0,
        "math.less": x < y, "math.greater_equal": x >= 0, "math.less_equal": x <= 0,
    }
    for function, t in cases.items():
        kind, fn, args, kwargs = _record(t)
        assert (kind, fn) == ("TFOpLambda", function)
        assert args[0] is x
        assert kwargs["name"] is None
    assert _record(x + y)[3]["y"] is y
    assert _record(x * 2)[3]["y"] == 2
    w = Input((3, 2))
    mm = x @ w
    assert _record(mm)[1] == "linalg.matmul" and _record(mm)[3]["b"] is w
    assert mm.shape == (None, 4, 2)


def test_reflected_operators_put_the_constant_first_in_the_tensor_dtype():
    x = Input((3,))
    kind, fn, args, kwargs = _record(2 * x)
    assert fn == "math.multiply" and args == (2.0,) and isinstance(args[0], float)
    assert kwargs["y"] is x
    assert _record(1 - x)[1] == "math.subtract"
    out = Model(x, [2 * x, 1 - x, 2.0 / x])(np.array([[1.0, 2.0, 4.0]], np.float32))
    np.testing.assert_array_equal(out[0], [[2, 4, 8]])
    np.testing.assert_array_equal(out[1], [[0, -1, -3]])
    np.testing.assert_array_equal(out[2], [[2, 1, 0.5]])
    assert all(o.dtype == np.float32 for o in out)


def test_getitem_records_the_slice_spec_and_computes_numpy_indexing():
    x = Input((4, 3))
    s = x[:, 1:, ::2]
    kind, fn, args, kwargs = _record(s)
    assert (kind, fn) == ("SlicingOpLambda", "__operators__.getitem")
    assert kwargs == {"slice_spec": [slice(None), slice(1, None), slice(None, None, 2)]}
    assert s.shape == (None, 3, 2)
    e = x[..., None, 0]
    assert e.shape == (None, 4, 1)
    r = x[:, ::-1, -1]
    assert r.shape == (None, 4)
    assert x[0].shape == (4, 3)
    data = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    out = Model(x, [s, e, r])(data)
    np.testing.assert_array_equal(out[0], data[:, 1:, ::2])
    np.testing.assert_array_equal(out[1], data[..., None, 0])
    np.testing.assert_array_equal(out[2], data[:, ::-1, -1])


def test_unknown_dimensions_stay_unknown_and_shape_maths_flows():
    x = Input((None, 3))
    assert (x * 2).shape == (None, None, 3)
    flat = TFOpLambda("reshape")(x, shape=[-1, 3])
    assert flat.shape == (None, 3)
    dims = TFOpLambda("compat.v1.shape")(x)
    assert dims.shape == (3,) and dims.dtype == np.int32
    batch = dims[0]
    assert batch.shape == ()
    again = TFOpLambda("reshape")(x, shape=[batch, -1])
    assert again.shape == (None, None)
    data = np.ones((2, 5, 3), np.float32)
    out = Model(x, again)(data)
    assert out.shape == (2, 15)


def test_list_inputs_constants_and_multiple_outputs():
    x, y = Input((4,)), Input((4,))
    c = TFOpLambda("concat")([x, y], axis=-1)
    assert c.shape == (None, 8)
    parts = TFOpLambda("split")(x, num_or_size_splits=[1, 3], axis=1)
    assert [p.shape for p in parts] == [(None, 1), (None, 3)]
    m = TFOpLambda("math.reduce_mean")(x, axis=-1, keepdims=True)
    model = Model([x, y], [c, parts[1], m])
    a = np.arange(4, dtype=np.float32)[None]
    out = model([a, a + 10])
    np.testing.assert_array_equal(out[0], [[0, 1, 2, 3, 10, 11, 12, 13]])
    np.testing.assert_array_equal(out[1], [[1, 2, 3]])
    np.testing.assert_array_equal(out[2], [[1.5]])


def test_layer_config_round_trips_and_unknown_functions_are_refused():
    layer = TFOpLambda("nn.relu")
    assert layer.get_config() == {"name": "tf.nn.relu", "trainable": True, "dtype": "float32",
                                  "function": "nn.relu"}
    clone = TFOpLambda.from_config(layer.get_config())
    assert clone.function == "nn.relu" and clone.name == "tf.nn.relu"
    assert isinstance(SlicingOpLambda.from_config(
        {"name": "s", "function": "__operators__.getitem"}), SlicingOpLambda)
    with pytest.raises(ValueError, match="tf.io.read_file is not supported"):
        TFOpLambda("io.read_file")
    with pytest.raises(TypeError):
        TFOpLambda(print)


def test_slicing_layer_reads_tf_keras_slice_dicts():
    layer = SlicingOpLambda("__operators__.getitem")
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    spec = [{"start": None, "stop": None, "step": None}, {"start": 1, "stop": None, "step": 2}]
    np.testing.assert_array_equal(layer(data, slice_spec=spec), data[:, 1::2])
    spec = [{"class_name": "__ellipsis__"}, None, 0]
    np.testing.assert_array_equal(layer(data, slice_spec=spec), data[..., None, 0])


def test_bad_arguments_name_the_layer():
    x = Input((4,))
    with pytest.raises(ValueError, match="tf.reshape"):
        TFOpLambda("reshape")(x, shape=[5, 7])
    with pytest.raises(TypeError, match="tf.math.multiply"):
        TFOpLambda("math.multiply")(np.ones(2, np.float32), y=np.ones(2, np.int32))


def test_tf_keras_style_config_round_trip_and_keras3_style_refusal():
    from numkeras.saving import serialization

    x = Input((4, 3))
    y = TFOpLambda("concat")([x], axis=-1)  # a one-element list stays a list
    flat = TFOpLambda("reshape")(x, (TFOpLambda("compat.v1.shape")(x)[0], -1))
    z = (2 * y)[..., None, 0] + flat[:, :1, None]
    model = Model(x, z)
    config = serialization.serialize_model(model, serialization.TF_KERAS)
    by_name = {la["name"]: la for la in config["config"]["layers"]}
    assert by_name["tf.concat"]["inbound_nodes"] == [[["input_1", 0, 0, {"axis": -1}]]]
    assert by_name["tf.math.multiply"]["inbound_nodes"] == [
        ["_CONSTANT_VALUE", -1, 2.0, {"y": ["tf.concat", 0, 0], "name": None}]]
    assert by_name["tf.__operators__.getitem_1"]["inbound_nodes"] == [
        ["tf.math.multiply", 0, 0, {"slice_spec": [{"class_name": "__ellipsis__"}, None, 0]}]]
    assert by_name["tf.reshape"]["inbound_nodes"] == [
        ["input_1", 0, 0, {"shape": [["tf.__operators__.getitem", 0, 0], -1]}]]
    backend.clear_session()
    clone = serialization.deserialize_model(config)
    data = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    out = clone(data)  # a tf-keras-style config lists the outputs: one output comes as [z]
    np.testing.assert_array_equal(out[0] if isinstance(out, list) else out, model(data))
    with pytest.raises(ValueError, match="tf-keras style"):
        serialization.serialize_model(model, serialization.KERAS3)


def test_keras3_ops_on_keras_tensors_add_operation_nodes():
    from numkeras import ops
    from numkeras.layers import OperationLayer

    x, ids = Input((4, 6)), Input((4,), dtype="int32")
    mask = ops.not_equal(ids, 0)
    layer = mask.node.layer
    assert isinstance(layer, OperationLayer) and layer.operation == "NotEqual"
    assert layer.name == "not_equal" and mask.dtype == np.bool_ and mask.shape == (None, 4)
    r = ops.reshape(x, (-1, 24))
    assert r.node.layer.get_config() == {"name": "reshape", "newshape": (-1, 24)}
    parts = ops.split(x, 2, axis=-1)
    assert [p.shape for p in parts] == [(None, 4, 3), (None, 4, 3)]
    e = ops.einsum("bij,bkj->bik", x, x)
    assert e.shape == (None, 4, 4) and e.node.layer.op_config == {"subscripts": "bij,bkj->bik"}
    g = ops.get_item(x, (slice(None), -1))
    model = Model([x, ids], [mask, r, parts[1], e, g, ops.mean(x, axis=-1)])
    data = np.arange(48, dtype=np.float32).reshape(2, 4, 6)
    idx = np.array([[0, 1, 0, 2], [3, 0, 0, 0]], np.int32)
    out = model([data, idx])
    np.testing.assert_array_equal(out[0], idx != 0)
    np.testing.assert_array_equal(out[1], data.reshape(-1, 24))
    np.testing.assert_array_equal(out[2], data[..., 3:])
    np.testing.assert_allclose(out[3], np.einsum("bij,bkj->bik", data, data))
    np.testing.assert_array_equal(out[4], data[:, -1])
    np.testing.assert_allclose(out[5], data.mean(-1))


def test_operation_layer_checks_its_arguments():
    from numkeras.layers import OperationLayer

    with pytest.raises(ValueError, match="unknown arguments \\['axes'\\]"):
        OperationLayer("Mean", name="m", axes=1)
    with pytest.raises(ValueError, match="missing arguments \\['newshape'\\]"):
        OperationLayer("Reshape", name="r")
    with pytest.raises(ValueError, match="'Fft' is not supported"):
        OperationLayer("Fft")
