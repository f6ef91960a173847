"""Hostile archives, manifests and HDF5 files: clear errors, nothing assigned or extracted."""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from numkeras import Sequential, layers
from numkeras.models import load_model
from numkeras.saving.keras_v3 import KerasFileError, save_model


def model():
    return Sequential([layers.Dense(2, input_shape=(3,), name="d")], name="s")


def good_members(tmp_path):
    path = str(tmp_path / "good.keras")
    save_model(model(), path)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


def check_nothing_changes(path, match, loader="weights"):
    target = model()
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises((KerasFileError, ValueError), match=match):
        if loader == "weights":
            target.load_weights(path)
        else:
            load_model(path)
    for a, b in zip(target.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["../evil.txt", "/etc/evil", "a/../../evil", "C:/evil",
                                 "..\\evil"])
def test_member_names_escaping_the_archive_are_refused(tmp_path, bad):
    members = {**good_members(tmp_path), bad: b"x"}
    path = write_zip(tmp_path / "bad.keras", members)
    check_nothing_changes(path, "absolute path or '..'")
    check_nothing_changes(path, "absolute path or '..'", loader="model")
    assert not os.path.exists(tmp_path / "evil.txt")


def test_zip_bomb_member_is_refused_before_reading(tmp_path):
    members = {**good_members(tmp_path), "assets/bomb.bin": b"\0" * (8 << 20)}
    path = write_zip(tmp_path / "bomb.keras", members, compression=zipfile.ZIP_DEFLATED)
    check_nothing_changes(path, "zip bomb")


def test_oversized_config_is_refused(tmp_path, monkeypatch):
    from numkeras.saving.keras_v3 import archive

    monkeypatch.setattr(archive, "JSON_CAP", 100)
    path = write_zip(tmp_path / "big.keras", good_members(tmp_path))
    check_nothing_changes(path, "above the 100-byte limit", loader="model")


def test_config_that_is_not_json_is_refused(tmp_path):
    members = {**good_members(tmp_path), "config.json": b"{not json"}
    path = write_zip(tmp_path / "c.keras", members)
    check_nothing_changes(path, "config.json is not valid JSON", loader="model")
    check_nothing_changes(path, "config.json is not valid JSON")


def test_config_with_duplicate_keys_is_refused(tmp_path):
    members = {**good_members(tmp_path),
               "config.json": b'{"class_name": "Sequential", "class_name": "Lambda"}'}
    path = write_zip(tmp_path / "c.keras", members)
    check_nothing_changes(path, "duplicate key 'class_name'", loader="model")


def test_unknown_and_code_classes_are_all_listed(tmp_path):
    members = good_members(tmp_path)
    config = json.loads(members["config.json"])
    layer_list = config["config"]["layers"]
    layer_list.append({"module": "mypkg", "class_name": "MyLayer", "registered_name": "Pkg>My",
                       "config": {"name": "mine"}})
    layer_list.append({"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                       "config": {"name": "lam", "function": {"class_name": "__lambda__",
                                                              "config": {"code": "evil"}}}})
    members["config.json"] = json.dumps(config).encode()
    path = write_zip(tmp_path / "u.keras", members)
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert "Pkg>My" in message and "Lambda (lam: Python code" in message
    assert "custom_objects" in message


def test_missing_weights_member_is_refused(tmp_path):
    members = good_members(tmp_path)
    members.pop("model.weights.h5")
    members["model.weights.npz"] = b"PK"
    path = write_zip(tmp_path / "nw.keras", members)
    check_nothing_changes(path, "no 'model.weights.h5' entry.*pickled", loader="model")
    check_nothing_changes(path, "no 'model.weights.h5' entry")


def test_duplicate_member_names_are_refused(tmp_path):
    members = good_members(tmp_path)
    path = str(tmp_path / "dup.keras")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        with pytest.warns(UserWarning):
            zf.writestr("config.json", b"{}")
    check_nothing_changes(path, "appears twice")


def test_not_a_zip_with_keras_suffix(tmp_path):
    path = tmp_path / "junk.keras"
    path.write_bytes(b"PK\x03\x04 this is not a zip at all")
    check_nothing_changes(str(path), "not a valid .keras")


def test_truncated_archive_is_refused(tmp_path):
    data = tmp_path / "t.keras"
    save_model(model(), str(data))
    raw = data.read_bytes()
    data.write_bytes(raw[:raw.find(b"model.weights.h5") + 200])  # central directory lost
    check_nothing_changes(str(data), "not a valid .keras")


def write_manifest(tmp_path, weight_map):
    path = tmp_path / "s.weights.json"
    path.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return str(path)


@pytest.mark.parametrize("target", ["../outside.weights.h5", "/abs/x.weights.h5",
                                    "sub/x.weights.h5", ".."])
def test_manifest_pointing_outside_its_folder_is_refused(tmp_path, target):
    path = write_manifest(tmp_path, {"/layers/dense/vars": target})
    check_nothing_changes(path, "outside the manifest's folder")


def test_manifest_with_missing_shard_is_refused(tmp_path):
    path = write_manifest(tmp_path, {"/layers/dense/vars": ["s_00000.weights.h5"]})
    check_nothing_changes(path, "shard 's_00000.weights.h5'.*is missing")


def test_manifest_that_is_not_a_manifest(tmp_path):
    path = tmp_path / "s.weights.json"
    path.write_text("[1, 2]")
    check_nothing_changes(str(path), "not a Keras sharded-weights manifest")


def test_manifest_naming_a_group_no_shard_holds(tmp_path):
    model().save_weights(str(tmp_path / "s.weights.json"))
    manifest = json.loads((tmp_path / "s.weights.json").read_text())
    manifest["weight_map"]["/layers/ghost/vars"] = "s_00000.weights.h5"
    (tmp_path / "s.weights.json").write_text(json.dumps(manifest))
    check_nothing_changes(str(tmp_path / "s.weights.json"), "no shard holds that group")


def hdf5_with(tmp_path, build):
    path = str(tmp_path / "h.weights.h5")
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f["layers/dense/vars/0"] = np.zeros((3, 2), "float32")
        f["layers/dense/vars/1"] = np.zeros(2, "float32")
        build(f)
    return path


def test_soft_and_external_links_are_refused(tmp_path):
    path = hdf5_with(tmp_path, lambda f: f.__setitem__("layers/x", h5py.SoftLink("/vars")))
    check_nothing_changes(path, "SoftLink; links are not allowed")
    path = hdf5_with(tmp_path, lambda f: f.__setitem__(
        "layers/y", h5py.ExternalLink("/etc/passwd", "/")))
    check_nothing_changes(path, "ExternalLink; links are not allowed")


def test_external_dataset_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"\0" * 8)

    def build(f):
        f.create_dataset("layers/other/vars/0", shape=(2,), dtype="float32",
                         external=[(str(raw), 0, 8)])

    check_nothing_changes(hdf5_with(tmp_path, build), "external file")


def test_declared_huge_dataset_is_never_read(tmp_path):
    # a chunked dataset declaring 4 TB of fill value: its shape is checked against the
    # model before any read, so no allocation happens
    def build(f):
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", shape=(1 << 20, 1 << 20), dtype="float32",
                         chunks=(1, 1024))

    check_nothing_changes(hdf5_with(tmp_path, build), r"has shape \(1048576, 1048576\)")


def test_weights_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "x.weights.h5"
    path.write_bytes(b"not hdf5 at all")
    check_nothing_changes(str(path), "not a readable HDF5 file")


def test_in_place_member_view_reads_stored_members():
    from numkeras.saving.keras_v3.archive import open_member

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.bin", b"hello world")
    with zipfile.ZipFile(buf) as zf:
        view = open_member(zf, buf, "a.bin", "mem")
        view.seek(6)
        assert view.read() == b"world"
        view.seek(0)
        assert view.read(5) == b"hello"
