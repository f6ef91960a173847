"""Issue 11 case 14: ``load_model`` on a ``.keras`` whose ``config.json`` is malformed raises
one :class:`ModelConfigError` (a ``KerasFileError``, a ``ValueError``) naming the file and
the layer at fault -- never ``AttributeError``, ``TypeError``, ``KeyError`` or
``RecursionError``.
"""

from __future__ import annotations

import copy
import json
import zipfile

import pytest

import numkeras as nk
from numkeras import layers
from numkeras.saving.keras_v3.errors import KerasFileError, ModelConfigError


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cfg") / "m.keras")
    x = nk.Input((3,))
    y = layers.Dense(2, name="dense_out")(layers.Dense(4, name="dense_in")(x))
    nk.Model(x, y, name="mdl").save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return path, members


def _write(path, members, config) -> None:
    text = config if isinstance(config, str) else json.dumps(config)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, text if name == "config.json" else data)


def _dense(config, name):
    return next(s for s in config["config"]["layers"] if s["config"].get("name") == name)


def _nested(depth):
    """``depth`` Sequential models inside each other, as JSON text (json.dumps would
    itself exceed Python's recursion limit)."""
    leaf = '{"class_name": "Dense", "config": {"name": "leaf", "units": 1}}'
    return ('{"class_name": "Sequential", "config": {"name": "s", "layers": [' * depth + leaf
            + "]}}" * depth)


def _mutate(kind, config):
    c = copy.deepcopy(config)
    if kind == "config_null":
        c["config"] = None
    elif kind == "layers_not_list":
        c["config"]["layers"] = 5
    elif kind == "layers_dict":
        c["config"]["layers"] = {"a": 1}
    elif kind == "deep_nesting":
        return _nested(900)
    elif kind == "bad_dtype":
        _dense(c, "dense_out")["config"]["dtype"] = "float31"
    elif kind == "missing_units":
        del _dense(c, "dense_out")["config"]["units"]
    elif kind == "unknown_keyword":
        _dense(c, "dense_out")["config"]["no_such_argument"] = 1
    elif kind == "missing_class_name":
        del _dense(c, "dense_out")["class_name"]
    elif kind == "class_name_list":
        _dense(c, "dense_out")["class_name"] = ["Dense"]
    elif kind == "units_string":
        _dense(c, "dense_out")["config"]["units"] = "many"
    elif kind == "layer_config_null":
        _dense(c, "dense_out")["config"] = None
    elif kind == "bad_inbound":
        _dense(c, "dense_out")["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                                            "config": {"keras_history": 7}}]}]
    elif kind == "output_unknown":
        c["config"]["output_layers"] = ["nope", 0, 0]
    return c


KINDS = ["config_null", "layers_not_list", "layers_dict", "deep_nesting", "bad_dtype",
         "missing_units", "unknown_keyword", "missing_class_name", "class_name_list",
         "units_string", "layer_config_null", "bad_inbound", "output_unknown"]
#: the layer each message must name (where one layer is at fault)
NAMED = {"bad_dtype": "dense_out", "missing_units": "dense_out",
         "unknown_keyword": "dense_out", "units_string": "dense_out",
         "missing_class_name": "dense_out", "class_name_list": "dense_out",
         "bad_inbound": "dense_out"}


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_config_is_one_error_naming_file_and_layer(tmp_path, valid, kind):
    _, members = valid
    path = str(tmp_path / "bad.keras")
    _write(path, members, _mutate(kind, json.loads(members["config.json"])))
    with pytest.raises(ValueError) as info:
        nk.saving.load_model(path)
    err = info.value
    assert isinstance(err, (ModelConfigError, KerasFileError)) or \
        type(err).__name__ == "UnknownClassError", repr(err)
    assert path in str(err), err
    if kind in NAMED:
        assert NAMED[kind] in str(err), err


def test_valid_config_still_loads(valid):
    path, _ = valid
    assert [layer.name for layer in nk.saving.load_model(path).layers][1:] == \
        ["dense_in", "dense_out"]


# -- issue 11 case 7: declared shapes are checked against the file before allocating ----------

@pytest.mark.parametrize("units", [8000, 200000])
def test_huge_declared_layer_is_refused_before_allocating(tmp_path, valid, units):
    """The weights file holds a few hundred bytes; the config declares an input of ``units``
    features and a Dense of ``units`` units (256 MB, then 160 GB of kernel)."""
    import tracemalloc

    _, members = valid
    config = json.loads(members["config.json"])
    first = config["config"]["layers"][0]
    first["config"]["batch_shape"] = [None, units]
    _dense(config, "dense_in")["config"]["units"] = units
    path = str(tmp_path / "huge.keras")
    _write(path, members, config)
    tracemalloc.start()
    try:
        with pytest.raises(ModelConfigError) as info:
            nk.saving.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path in str(info.value) and "dense_in" in str(info.value), info.value
    assert peak < 64 << 20, peak
