"""``numkeras diff``, ``convert`` between every format, ``inspect`` names and ``--graph``,
run as subprocesses on files written by numkeras (tf-keras/Keras 3 files: tests/interop/).

Expected names and values come from the model that wrote the files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import numkeras as keras
from numkeras.saving.weights import read_weights, write_weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*argv, check: int | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "numkeras", *map(str, argv)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def _model(seed: int = 0):
    keras.backend.clear_session()
    inputs = keras.Input((5,), name="features")
    x = keras.layers.Dense(4)(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(2)(x)
    model = keras.Model(inputs, outputs, name="small")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.weights])
    return model


def _expected(model) -> dict:
    return {v.name: np.array(v.value) for v in model.weights}


def _identical(path, expected: dict, model=None) -> None:
    with read_weights(str(path), model=model) as mapping:
        assert list(mapping) == list(expected)
        for name, value in expected.items():
            got = np.asarray(mapping[name])
            assert got.dtype == value.dtype and got.tobytes() == value.tobytes(), name


def _one_line_error(proc, *needles) -> None:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])


# -- round trips ---------------------------------------------------------------------------------

def test_h5_safetensors_npz_h5_round_trip_without_architecture(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "a.h5"))
    run("convert", tmp_path / "a.h5", tmp_path / "b.safetensors", check=0)
    run("convert", tmp_path / "b.safetensors", tmp_path / "c.npz", check=0)
    proc = run("convert", tmp_path / "c.npz", tmp_path / "d.h5", check=0)
    assert "[npz] -> " in proc.stdout and "[h5]: 8 weights" in proc.stdout
    for name in ("b.safetensors", "c.npz", "d.h5"):
        _identical(tmp_path / name, _expected(model))
    run("diff", tmp_path / "a.h5", tmp_path / "d.h5", check=0)
    fresh = _model(seed=4)
    fresh.load_weights(str(tmp_path / "d.h5"))
    assert all(np.array_equal(a.value, b.value) for a, b in zip(model.weights, fresh.weights))


def test_keras_checkpoint_weights_h5_safetensors_with_architecture_from_the_keras(tmp_path):
    model = _model(1)
    keras_path = tmp_path / "m.keras"
    model.save(str(keras_path))
    run("convert", keras_path, tmp_path / "out" / "ckpt", check=0)  # folder created
    run("convert", tmp_path / "out" / "ckpt", tmp_path / "w.weights.h5", "--model", keras_path,
        check=0)
    run("convert", tmp_path / "w.weights.h5", tmp_path / "w.safetensors", "--model",
        keras_path, check=0)
    _identical(keras_path, _expected(model))
    _identical(tmp_path / "out" / "ckpt", _expected(model))
    _identical(tmp_path / "w.safetensors", _expected(model))
    run("diff", keras_path, tmp_path / "w.safetensors", check=0)


def test_weights_h5_needs_the_model_only_for_names(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    # weights.h5 -> weights.h5-like keys survive without a model
    run("convert", tmp_path / "w.weights.h5", tmp_path / "x.npz", check=0)
    assert "layers/dense/vars/0" in read_weights(str(tmp_path / "x.npz"))


# -- convert: bad input ----------------------------------------------------------------------------

def test_convert_to_keras_without_architecture_is_a_usage_error(tmp_path):
    _model().save_weights(str(tmp_path / "w.h5"))
    proc = run("convert", tmp_path / "w.h5", tmp_path / "m.keras", check=2)
    _one_line_error(proc, tmp_path / "w.h5", "--model")
    assert not (tmp_path / "m.keras").exists()


def test_existing_destination_is_refused_unless_overwrite(tmp_path):
    _model().save_weights(str(tmp_path / "w.h5"))
    (tmp_path / "w.npz").write_bytes(b"keep")
    proc = run("convert", tmp_path / "w.h5", tmp_path / "w.npz", check=2)
    _one_line_error(proc, "w.npz", "--overwrite")
    assert (tmp_path / "w.npz").read_bytes() == b"keep"
    run("convert", tmp_path / "w.h5", tmp_path / "w.npz", "--overwrite", check=0)
    _identical(tmp_path / "w.npz", read_weights(str(tmp_path / "w.h5")))


def test_unknown_destination_suffix_is_a_usage_error(tmp_path):
    _model().save_weights(str(tmp_path / "w.h5"))
    proc = run("convert", tmp_path / "w.h5", tmp_path / "w.pt", check=2)
    _one_line_error(proc, "w.pt", "--format")
    assert sorted(os.listdir(tmp_path)) == ["w.h5"]


def test_missing_source_is_a_failure_naming_it(tmp_path):
    proc = run("convert", tmp_path / "nope.h5", tmp_path / "w.npz", check=1)
    _one_line_error(proc, tmp_path / "nope.h5")
    assert sorted(os.listdir(tmp_path)) == []


def test_bfloat16_into_npz_needs_dtype(tmp_path):
    import ml_dtypes

    values = {"w:0": np.linspace(-2, 2, 12, dtype=np.float32).astype(ml_dtypes.bfloat16)}
    write_weights(values, str(tmp_path / "b.safetensors"))
    proc = run("convert", tmp_path / "b.safetensors", tmp_path / "b.npz", check=2)
    _one_line_error(proc, "bfloat16", "--dtype")
    assert not (tmp_path / "b.npz").exists()
    run("convert", tmp_path / "b.safetensors", tmp_path / "b.npz", "--dtype", "float32", check=0)
    back = np.load(str(tmp_path / "b.npz"))["w:0"]
    assert back.dtype == np.float32 and np.array_equal(back, values["w:0"].astype(np.float32))


def test_strings_into_safetensors_are_refused(tmp_path):
    from numkeras.saving.tf_checkpoint.bundle import write_bundle

    write_bundle(str(tmp_path / "ckpt"), [("v", np.ones(2, np.float32)),
                                          ("names", np.array([b"a", b"b"], dtype=object))])
    proc = run("convert", tmp_path / "ckpt", tmp_path / "s.safetensors", check=2)
    _one_line_error(proc, "names", "strings")
    assert sorted(os.listdir(tmp_path)) == ["ckpt.data-00000-of-00001", "ckpt.index"]


def test_dtype_narrowing_on_request_and_diff_reports_it(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.safetensors"))
    run("convert", tmp_path / "w.safetensors", tmp_path / "h.safetensors", "--dtype",
        "float16", check=0)
    half = read_weights(str(tmp_path / "h.safetensors"))
    for name, value in _expected(model).items():
        assert half[name].dtype == np.float16
        assert np.array_equal(half[name], value.astype(np.float16))
    proc = run("diff", tmp_path / "w.safetensors", tmp_path / "h.safetensors", check=1)
    assert "shape/dtype: dense/kernel:0  float32[5, 4] -> float16[5, 4]" in proc.stdout
    proc = run("diff", tmp_path / "w.safetensors", tmp_path / "h.safetensors", "--json",
               check=1)
    result = json.loads(proc.stdout)
    assert result["equal"] is False and len(result["mismatched"]) == 8


def test_keras_style_tf_keras_writes_a_tf_keras_config(tmp_path):
    model = _model()
    model.save(str(tmp_path / "m.keras"))
    run("convert", tmp_path / "m.keras", tmp_path / "old.keras", "--keras-style", "tf_keras",
        check=0)
    import zipfile

    def first_node(path):
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("config.json"))["config"]["layers"][1]["inbound_nodes"][0]
    # tf-keras: [[layer, node, tensor, kwargs]]; Keras 3: {"args": [...], "kwargs": {...}}
    assert isinstance(first_node(tmp_path / "old.keras"), list)
    assert isinstance(first_node(tmp_path / "m.keras"), dict)
    _identical(tmp_path / "old.keras", _expected(model))


# -- diff ---------------------------------------------------------------------------------------

def test_diff_equal_files_of_different_formats_exit_0(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "w.h5"))
    model.save_weights(str(tmp_path / "ckpt"))
    proc = run("diff", tmp_path / "w.h5", tmp_path / "ckpt", check=0)
    assert proc.stdout.strip().endswith("EQUAL")
    assert "8 weight(s) equal, 0 changed" in proc.stdout
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_diff_reports_changes_names_and_tolerance(tmp_path):
    model = _model()
    a = _expected(model)
    b = dict(a)
    b["dense/kernel:0"] = a["dense/kernel:0"].copy()
    b["dense/kernel:0"][0, 0] += np.float32(0.25)
    del b["dense_1/bias:0"]
    b["extra:0"] = np.zeros(1, np.float32)
    write_weights(a, str(tmp_path / "a.npz"))
    write_weights(b, str(tmp_path / "b.safetensors"))
    proc = run("diff", tmp_path / "a.npz", tmp_path / "b.safetensors", check=1)
    out = proc.stdout
    assert "only in A: dense_1/bias:0" in out and "only in B: extra:0" in out
    line = next(x for x in out.splitlines() if x.startswith("changed: dense/kernel:0"))
    expected_abs = float(abs(np.float64(b["dense/kernel:0"][0, 0]) - a["dense/kernel:0"][0, 0]))
    assert f"max abs {expected_abs:.6g}" in line and "(1 of 20 elements)" in line
    result = json.loads(run("diff", tmp_path / "a.npz", tmp_path / "b.safetensors",
                            "--json").stdout)
    assert result["only_a"] == ["dense_1/bias:0"] and result["only_b"] == ["extra:0"]
    # within tolerance once the names agree
    del b["extra:0"]
    b["dense_1/bias:0"] = a["dense_1/bias:0"]
    write_weights(b, str(tmp_path / "c.npz"))
    run("diff", tmp_path / "a.npz", tmp_path / "c.npz", check=1)
    run("diff", tmp_path / "a.npz", tmp_path / "c.npz", "--atol", "0.3", check=0)


def test_diff_by_order_pairs_renamed_weights(tmp_path):
    a = {"x/kernel:0": np.ones(3, np.float32), "x/bias:0": np.zeros(1, np.float32)}
    b = {"y/kernel:0": np.ones(3, np.float32), "y/bias:0": np.zeros(1, np.float32)}
    write_weights(a, str(tmp_path / "a.npz"))
    write_weights(b, str(tmp_path / "b.npz"))
    run("diff", tmp_path / "a.npz", tmp_path / "b.npz", check=1)
    run("diff", tmp_path / "a.npz", tmp_path / "b.npz", "--by-order", check=0)


def test_diff_usage_and_missing_file(tmp_path):
    write_weights({"a:0": np.ones(1)}, str(tmp_path / "a.npz"))
    proc = run("diff", tmp_path / "a.npz", check=2)
    assert "usage:" in proc.stderr
    run("diff", tmp_path / "a.npz", tmp_path / "a.npz", "--atol", "-1", check=2)
    proc = run("diff", tmp_path / "a.npz", tmp_path / "missing.h5", check=1)
    _one_line_error(proc, tmp_path / "missing.h5")


# -- inspect -------------------------------------------------------------------------------------

def test_inspect_keras_shows_keras_weight_names(tmp_path):
    model = _model()
    model.save(str(tmp_path / "m.keras"))
    info = json.loads(run("inspect", tmp_path / "m.keras", "--json", check=0).stdout)
    named = {e["keras_name"]: tuple(e["shape"]) for e in info["entries"] if e["keras_name"]}
    assert named == {w.name: tuple(w.shape) for w in model.weights}
    text = run("inspect", tmp_path / "m.keras", check=0).stdout
    assert any(line.split()[:2] == ["dense/kernel:0", "layers/dense/vars/0"]
               for line in text.splitlines())


def test_inspect_weights_h5_names_through_model(tmp_path):
    model = _model()
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "w.weights.h5"))
    plain = json.loads(run("inspect", tmp_path / "w.weights.h5", "--json", check=0).stdout)
    assert all(e["keras_name"] == "" for e in plain["entries"])
    info = json.loads(run("inspect", tmp_path / "w.weights.h5", "--json", "--model",
                          tmp_path / "m.keras", check=0).stdout)
    assert sorted(e["keras_name"] for e in info["entries"]) == sorted(_expected(model))


def test_inspect_graph_of_a_checkpoint(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "ckpt"))
    out = run("inspect", tmp_path / "ckpt", "--graph", check=0).stdout
    assert "[0] (root)" in out
    assert "= layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE (dense/kernel)" in out
    nodes = json.loads(run("inspect", tmp_path / "ckpt", "--graph", "--json",
                           check=0).stdout)["nodes"]
    variables = {a["variable"] + ":0" for n in nodes for a in n["attributes"] if a["variable"]}
    assert variables == set(_expected(model))
    model.save_weights(str(tmp_path / "w.h5"))
    proc = run("inspect", tmp_path / "w.h5", "--graph", check=2)
    _one_line_error(proc, "--graph", "w.h5")


@pytest.mark.parametrize("command", ["inspect", "verify", "diff", "convert"])
def test_every_command_has_help_with_examples(command):
    proc = run(command, "--help", check=0)
    assert "examples:" in proc.stdout and f"numkeras {command}" in proc.stdout


def test_safetensors_and_npz_inspect_and_verify(tmp_path):
    model = _model()
    for name in ("w.safetensors", "w.npz"):
        model.save_weights(str(tmp_path / name))
        info = json.loads(run("inspect", tmp_path / name, "--json", check=0).stdout)
        assert [e["name"] for e in info["entries"]] == list(_expected(model))
        assert run("verify", tmp_path / name, check=0).stdout.startswith("OK ")


# -- progress bars ----------------------------------------------------------------------------------

def _stderr_on_a_terminal(*argv) -> tuple[int, str]:
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen([sys.executable, "-m", "numkeras", *map(str, argv)],
                            stdout=subprocess.PIPE, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.stdout.read()
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("command", ["convert", "diff", "verify"])
def test_progress_bar_on_a_terminal_only_and_not_with_quiet(tmp_path, command):
    model = _model()
    model.save_weights(str(tmp_path / "w.h5"))
    args = {"convert": ["convert", tmp_path / "w.h5", tmp_path / "w.npz"],
            "diff": ["diff", tmp_path / "w.h5", tmp_path / "w.h5"],
            "verify": ["verify", tmp_path / "w.h5"]}[command]
    label = {"convert": "converting", "diff": "comparing", "verify": "verifying"}[command]
    code, err = _stderr_on_a_terminal(*args)
    assert code == 0 and label in err and "/8 " in err, err  # 8 weights in all
    if command == "convert":
        args = ["convert", tmp_path / "w.h5", tmp_path / "w.npz", "--overwrite"]
    code, err = _stderr_on_a_terminal(*args, "--quiet")
    assert code == 0 and err == "", err


def test_convert_json_lists_the_files_written(tmp_path):
    _model().save_weights(str(tmp_path / "w.h5"))
    out = json.loads(run("convert", tmp_path / "w.h5", tmp_path / "ck" / "w", "--json",
                         check=0).stdout)
    assert out["src_format"] == "h5" and out["dst_format"] == "tf-checkpoint"
    assert out["weights"] == 8
    assert sorted(out["files"]) == sorted(str(p) for p in (tmp_path / "ck").iterdir())
    assert any("name-based" in n for n in out["notes"])


def test_keras_archive_whose_config_cannot_be_built_keeps_its_own_keys(tmp_path):
    import zipfile

    model = _model()
    model.save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["class_name"] = "NoSuchLayer"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "x.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    keys = list(read_weights(str(tmp_path / "x.keras")))
    assert "layers/dense/vars/0" in keys and len(keys) == 8
