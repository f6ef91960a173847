"""numkeras.ops.tf_keras3: the table between tf-keras's TF functions and Keras 3's operations.

The numbers are checked against TF and Keras 3 in tests/interop/test_op_translation_interop.py;
here: every rule names arguments both functions really have, every refusal is a refusal, and
values whose spelling differs (split sizes / cut points, pad modes) are converted exactly.
"""

import inspect

import numpy as np
import pytest

from numkeras.engine.keras_tensor import KerasTensor
from numkeras.ops import keras3, tf_api
from numkeras.ops.tf_keras3 import RULES, Untranslatable, to_keras3, to_tf


def _params(fn) -> set:
    fn = getattr(fn, "__wrapped__", fn)
    return {p.name for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.tf}-{r.op}" for r in RULES])
def test_rules_name_real_arguments_of_both_functions(rule):
    spec = keras3.OPERATIONS[rule.op]
    k3_names = set(spec.call) | set(spec.config) | _params(spec.function)
    tf_fn = tf_api.TF_FUNCTIONS[rule.tf]
    tf_names = _params(tf_fn) - {"name"}
    for tf_name, k3_name in rule.names:
        assert k3_name in k3_names, (rule.op, k3_name)
        if tf_names:  # element-wise functions take (*args); their one argument is the tensor
            assert tf_name in tf_names, (rule.tf, tf_name)
    assert set(rule.tf_fixed) <= tf_names
    assert set(rule.k3_fixed) <= set(spec.config)


X = KerasTensor((None, 4, 6), "float32")
IDS = KerasTensor((None, 4), "int32")


@pytest.mark.parametrize("function,first,kwargs,expected", [
    ("math.reduce_sum", X, {"axis": [1, 2], "name": None},
     ("Sum", {"axis": [1, 2], "keepdims": False}, [X], {})),
    ("compat.v1.transpose", X, {"perm": [0, 2, 1], "conjugate": False, "name": "transpose"},
     ("Transpose", {"axes": [0, 2, 1]}, [X], {})),
    ("tile", X, {"multiples": [1, 2, 1]}, ("Tile", {"repeats": [1, 2, 1]}, [X], {})),
    ("split", X, {"num_or_size_splits": [1, 2, 3], "axis": -1},
     ("Split", {"indices_or_sections": [1, 3], "axis": -1}, [X], {})),
    ("compat.v1.pad", X, {"paddings": [[0, 0], [1, 1], [0, 0]], "mode": "REFLECT",
                          "constant_values": 0, "name": None},
     ("Pad", {"pad_width": [[0, 0], [1, 1], [0, 0]], "mode": "reflect"}, [X], {})),
    ("pad", X, {"paddings": [[0, 0], [1, 1], [0, 0]], "constant_values": 2.0},
     ("Pad", {"pad_width": [[0, 0], [1, 1], [0, 0]], "mode": "constant"}, [X],
      {"constant_values": 2.0})),
    ("nn.softmax", X, {}, ("Softmax", {"axis": -1}, [X], {})),  # TF's axis=None is the last
    ("nn.gelu", X, {}, ("Gelu", {"approximate": False}, [X], {})),  # defaults differ
    ("nn.leaky_relu", X, {"alpha": 0.1}, ("LeakyRelu", {"negative_slope": 0.1}, [X], {})),
    ("math.cumsum", X, {"axis": 1}, ("Cumsum", {"axis": 1, "dtype": None}, [X], {})),
    ("compat.v1.gather", X, {"indices": IDS, "validate_indices": None, "axis": None,
                             "batch_dims": 0, "name": None},
     ("Take", {"axis": 0}, [X, IDS], {})),  # TF's axis=None is 0, Keras 3's flattens
    ("one_hot", IDS, {"depth": 5},
     ("OneHot", {"num_classes": 5, "axis": -1, "dtype": "float32", "sparse": False}, [IDS], {})),
    ("clip_by_value", X, {"clip_value_min": -1.0, "clip_value_max": 1.0},
     ("Clip", {"x_min": -1.0, "x_max": 1.0}, [X], {})),
    ("math.argmax", X, {"axis": -1, "output_type": "int32"},
     ("Argmax", {"axis": -1, "keepdims": False}, [X], {})),
])
def test_tf_calls_become_keras3_operations(function, first, kwargs, expected):
    assert to_keras3(function, first, kwargs) == expected


def test_constants_take_the_tensor_dtype_as_tf_converts_them():
    op, config, args, _ = to_keras3("math.multiply", X, {"y": [[1.0, 2.0]]})
    assert (op, config) == ("Multiply", {})
    assert args[1].dtype == np.float32 and args[1].tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("function,first,kwargs,reason", [
    ("math.reduce_mean", IDS, {}, "int32"),
    ("math.truediv", IDS, {"y": 2}, "float64"),
    ("math.multiply", IDS, {"y": 2.5}, "float constant"),
    ("math.argmax", X, {"axis": -1}, "output_type='int32'"),
    ("gather", X, {"indices": IDS, "axis": 1, "batch_dims": 1}, "batch_dims=1"),
    ("linalg.matmul", X, {"b": X, "transpose_b": True}, "transpose_b=True"),
    ("math.cumsum", X, {"axis": 1, "reverse": True}, "reverse=True"),
    ("nn.silu", X, {"beta": 2.0}, "beta=2.0"),
    ("reshape", X, {"shape": [IDS, -1]}, "fixed value"),
    ("split", X, {"num_or_size_splits": [2, -1]}, "non-negative"),
    ("pad", X, {"paddings": [[0, 0]] * 3, "mode": "WRAP"}, "pad mode"),
    ("where", X, {}, "only a condition"),
    ("math.squared_difference", X, {"y": X}, "no Keras 3 operation"),
    ("math.reduce_sum", X, {"axis": 1, "keep_dims": True}, "keep_dims=True"),
])
def test_tf_calls_without_an_exact_keras3_equivalent_are_refused(function, first, kwargs,
                                                                  reason):
    with pytest.raises(Untranslatable, match=reason.replace("(", r"\(").replace(")", r"\)")):
        to_keras3(function, first, kwargs)


@pytest.mark.parametrize("operation,config,args,kwargs,expected", [
    ("Mean", {"axis": -1, "keepdims": True}, [X], {},
     ("math.reduce_mean", X, {"axis": -1, "keepdims": True})),
    ("Split", {"indices_or_sections": [1, 3], "axis": -1}, [X], {},
     ("split", X, {"num_or_size_splits": [1, 2, 3], "axis": -1})),
    ("Pad", {"pad_width": [[0, 0], [1, 1], [0, 0]], "mode": "symmetric"}, [X], {},
     ("pad", X, {"paddings": [[0, 0], [1, 1], [0, 0]], "mode": "SYMMETRIC",
                 "constant_values": 0})),
    ("Flip", {"axis": None}, [X], {}, ("reverse", X, {"axis": [0, 1, 2]})),
    ("Take", {"axis": 1}, [X, IDS], {}, ("gather", X, {"indices": IDS, "axis": 1})),
    ("Argmax", {"axis": 1, "keepdims": False}, [X], {},
     ("math.argmax", X, {"axis": 1, "output_type": "int32"})),
    ("Where", {}, [IDS, X, X], {}, ("where", IDS, {"x": X, "y": X})),
    ("GetItem", {}, [X, (slice(None), 1)], {},
     ("__operators__.getitem", X, {"slice_spec": [slice(None), 1]})),
])
def test_keras3_operations_become_tf_calls(operation, config, args, kwargs, expected):
    assert to_tf(operation, config, args, kwargs) == expected


@pytest.mark.parametrize("operation,config,args,reason", [
    ("Mean", {"axis": None, "keepdims": False}, [IDS], "int32"),
    ("Take", {"axis": None}, [X, IDS], "flattened"),
    ("Cumsum", {"axis": None, "dtype": None}, [X], "flattened"),
    ("Max", {"axis": None, "keepdims": False, "initial": 0.0}, [X], "initial=0.0"),
    ("Split", {"indices_or_sections": [1], "axis": 0}, [X], "unknown size"),
    ("Pad", {"pad_width": [[0, 0]] * 3, "mode": "edge"}, [X], "pad mode"),
    ("Add", {}, [IDS, X], "different dtypes"),
    ("Multiply", {}, [X, np.ones(6)], "float64 array constant"),
    ("Any", {"axis": -1, "keepdims": False}, [X], "bool"),
    ("Sum", {"axis": -1, "keepdims": False}, [KerasTensor((None, 2), "bool")], "bool"),
    ("Einsum", {"subscripts": "ij->ji"}, [X], "no TF function"),
    ("HardSigmoid", {}, [X], "no TF function"),
])
def test_keras3_operations_without_an_exact_tf_equivalent_are_refused(operation, config,
                                                                       args, reason):
    with pytest.raises(Untranslatable, match=reason):
        to_tf(operation, config, args, {})


def test_every_rule_round_trips_through_the_other_spelling():
    tensor = {"x": X, "x1": X, "x2": X, "xs": [X, X], "condition": X, "indices": IDS}
    for rule in RULES:
        spec = keras3.OPERATIONS[rule.op]
        fn = getattr(spec.function, "__wrapped__", spec.function)
        params = inspect.signature(fn).parameters
        config = {k: params[k].default for k in spec.config
                  if params[k].default is not params[k].empty}
        config.update({"newshape": [-1, 24], "repeats": [1, 2, 1], "indices_or_sections": 2,
                       "shift": 1, "num_classes": 3, "k": 2, "x_min": 0.0, "x_max": 1.0,
                       "dtype": "float32", "pad_width": [[0, 0]] * 3, "axis": 1,
                       "size": [4, 4], "data_format": "channels_last"})
        config = {k: v for k, v in config.items() if k in spec.config}
        config.update({k: v for k, v in rule.k3_fixed.items()})
        if rule.op == "Flip":  # tf.reverse takes a list of axes
            config["axis"] = [1]
        args = [tensor.get(name, X) for name in spec.call if name != "constant_values"]
        if rule.op == "GetItem":
            args = [X, [slice(None), 1]]
        if rule.op == "Stack":
            args = [[X, X]]
        if rule.op in ("Any", "All", "LogicalNot"):
            args = [KerasTensor((None, 4, 6), "bool")]
        if rule.op in ("LogicalAnd", "LogicalOr", "LogicalXor"):
            args = [KerasTensor((None, 4, 6), "bool")] * 2
        if rule.op == "OneHot":
            args = [IDS]
        function, first, kwargs = to_tf(rule.op, config, args, {})
        assert tf_api.is_supported(function)
        back = to_keras3(function, first, kwargs)
        assert back[0] == rule.op, rule
        assert back[1] == config, (rule, back[1])
        assert back[2] == args, rule


def test_numkeras_ops_is_reached_as_keras_ops_is():
    """``import numkeras as keras; keras.ops.mean(...)`` in a fresh interpreter."""
    import subprocess
    import sys

    code = ("import numpy as np, numkeras as keras; "
            "print(keras.ops.mean(np.array([1.0, 3.0], np.float32)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "2.0"
