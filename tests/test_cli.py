"""The ``numkeras`` command line: inspect, verify, convert (in-process and one subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

import numkeras as keras
from numkeras import cli, saving


def _model(seed: int = 0):
    keras.backend.clear_session()
    inputs = keras.Input((5,), name="features")
    x = keras.layers.Dense(7, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(3)(x)
    model = keras.Model(inputs, outputs, name="small")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.weights])
    return model


def _run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def _shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


# -- inspect ---------------------------------------------------------------------------------

def test_inspect_h5_prints_format_every_weight_and_totals(tmp_path):
    model = _model()
    path = tmp_path / "w.h5"
    model.save_weights(str(path))
    code, out, _ = _run("inspect", path)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{path}: Keras 2 HDF5 weights (save_weights .h5) [h5]"
    for w in model.weights:
        row = next(line for line in lines if f" {w.name} " in line)
        assert _shape(w.shape) in row and "float32" in row
        assert row.split()[-1] == f"{w.numpy().nbytes:,}"
    params = sum(int(np.prod(w.shape)) for w in model.weights)
    assert lines[-1] == (f"total: {len(model.weights)} entries, {params:,} parameters, "
                         f"{4 * params:,} bytes")


def test_inspect_tf_checkpoint_shows_keys_and_object_paths(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "ckpt"))
    code, out, _ = _run("inspect", tmp_path / "ckpt")
    assert code == 0
    assert "TensorFlow checkpoint" in out.splitlines()[0]
    row = next(line for line in out.splitlines() if line.startswith(
        "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE "))
    assert row.split()[1:4] == ["(root).layer_with_weights-0.kernel", "dense/kernel", "(5,"]
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in out


@pytest.mark.parametrize("name", ["w.h5", "ckpt", "m.weights.h5", "m.keras", "s.weights.json"])
def test_inspect_json_lists_the_model_weights(tmp_path, name):
    model = _model()
    path = str(tmp_path / name)
    model.save(path) if name.endswith(".keras") else model.save_weights(path)
    code, out, _ = _run("inspect", path, "--json")
    assert code == 0
    info = json.loads(out)
    numeric = [e for e in info["entries"] if e["dtype"] != "string"]
    assert sorted(tuple(e["shape"]) for e in numeric) == \
        sorted(tuple(w.shape) for w in model.weights)
    assert info["totals"]["count"] == len(info["entries"])
    assert info["totals"]["parameters"] == sum(int(np.prod(w.shape)) for w in model.weights)
    assert info["has_architecture"] is name.endswith(".keras")


def test_inspect_missing_file_exits_1_and_says_what_to_pass(tmp_path):
    code, out, err = _run("inspect", tmp_path / "model.h5")
    assert code == 1 and out == ""
    assert str(tmp_path / "model.h5") in err and "checkpoint prefix" in err


def test_python_dash_m_inspect_in_a_subprocess(tmp_path):
    model = _model()
    model.save_weights(str(tmp_path / "ckpt"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "numkeras", "inspect", str(tmp_path / "ckpt"),
                           "--json"], capture_output=True, text=True, env=env, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    listed = {e["variable"] + ":0": tuple(e["shape"]) for e in info["entries"]
              if e["variable"]}
    assert listed == {w.name: tuple(w.shape) for w in model.weights}


def test_inspect_piped_into_a_reader_that_stops_early_is_quiet(tmp_path):
    # `numkeras inspect big.h5 | head -1`: head closes the pipe; no "Broken pipe" error
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name=f"d{i}")
                              if i == 0 else keras.layers.Dense(2, name=f"d{i}")
                              for i in range(300)])
    model.save_weights(str(tmp_path / "big.h5"))
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "numkeras", "inspect", str(tmp_path / "big.h5")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    assert proc.stdout.readline().startswith(str(tmp_path / "big.h5").encode())
    proc.stdout.close()  # the reader leaves before the table is written
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, stderr
    assert stderr == ""


# -- verify ----------------------------------------------------------------------------------

def test_verify_good_checkpoint_exits_0(tmp_path):
    _model().save_weights(str(tmp_path / "ckpt"))
    code, out, _ = _run("verify", tmp_path / "ckpt")
    assert code == 0 and out.startswith(f"OK {tmp_path / 'ckpt'} [tf-checkpoint]: 9 tensors")


def test_verify_flipped_byte_exits_1_naming_file_and_key(tmp_path):
    model = _model()
    prefix = str(tmp_path / "ckpt")
    model.save_weights(prefix)
    data = prefix + ".data-00000-of-00001"
    raw = bytearray(open(data, "rb").read())
    at = raw.find(model.weights[-2].numpy().tobytes())  # dense_1/kernel
    raw[at + 5] ^= 0x10
    open(data, "wb").write(bytes(raw))
    code, out, _ = _run("verify", prefix)
    assert code == 1
    assert out.startswith(f"CORRUPT {prefix} [tf-checkpoint]: {data}, key "
                          "'layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE'")
    code, out, _ = _run("verify", prefix, "--json")
    result = json.loads(out)
    assert code == 1 and result["ok"] is False and result["file"] == data


# -- convert ---------------------------------------------------------------------------------

def test_convert_keras_to_h5_and_load(tmp_path):
    model = _model(1)
    model.save(str(tmp_path / "m.keras"))
    code, out, err = _run("convert", tmp_path / "m.keras", tmp_path / "w.h5")
    assert code == 0, err
    assert "[keras] -> " in out and "[h5]" in out
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "w.h5"]  # no staging left over
    restored = _model(2)
    restored.load_weights(str(tmp_path / "w.h5"))
    assert _same(model, restored)


@pytest.mark.parametrize("dst,fmt,files", [
    ("ckpt", "tf", ["checkpoint", "ckpt.data-00000-of-00001", "ckpt.index"]),
    ("x.weights.h5", None, ["x.weights.h5"]),
    ("x.weights.json", None, ["x.weights.json", "x_00000.weights.h5"]),
    ("copy.keras", "keras", ["copy.keras"]),
])
def test_convert_keras_to_every_format(tmp_path, dst, fmt, files):
    model = _model(1)
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "m.keras"
    model.save(str(src))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ["convert", src, out_dir / dst] + (["--format", fmt] if fmt else [])
    code, _, err = _run(*args)
    assert code == 0, err
    assert sorted(os.listdir(out_dir)) == files
    restored = _model(2)
    restored.load_weights(str(out_dir / dst))
    assert _same(model, restored)


def test_convert_to_keras_from_weights_only_needs_a_model(tmp_path):
    _model().save_weights(str(tmp_path / "ckpt"))
    code, _, err = _run("convert", tmp_path / "ckpt", tmp_path / "m.keras")
    assert code == 2  # a usage error: say which input would provide the architecture
    assert "weights only" in err and "--model" in err and ".keras" in err
    assert str(tmp_path / "ckpt") in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.keras").exists()


def test_convert_weights_only_to_h5_needs_no_model(tmp_path):
    model = _model(1)
    model.save_weights(str(tmp_path / "ckpt"))
    code, _, err = _run("convert", tmp_path / "ckpt", tmp_path / "w.h5")
    assert code == 0, err
    restored = _model(2)
    restored.load_weights(str(tmp_path / "w.h5"))
    assert _same(model, restored)


@pytest.mark.parametrize("wrap", [False, True])
def test_convert_with_config_rebuilds_the_model(tmp_path, wrap):
    model = _model(1)
    model.save_weights(str(tmp_path / "ckpt"))
    config = model.get_config()
    if wrap:  # what model.to_json() gives
        config = {"class_name": "Functional", "config": config}
    (tmp_path / "model.json").write_text(json.dumps(config))
    code, _, err = _run("convert", tmp_path / "ckpt", tmp_path / "m.keras", "--config",
                        tmp_path / "model.json")
    assert code == 0, err
    rebuilt = saving.load_model(str(tmp_path / "m.keras"))
    assert _same(model, rebuilt)
    assert [w.name for w in rebuilt.weights] == [w.name for w in model.weights]


def test_convert_refuses_to_overwrite_without_flag(tmp_path):
    model = _model(1)
    model.save(str(tmp_path / "m.keras"))
    (tmp_path / "w.h5").write_bytes(b"keep me")
    code, _, err = _run("convert", tmp_path / "m.keras", tmp_path / "w.h5")
    assert code == 2 and "--overwrite" in err
    assert (tmp_path / "w.h5").read_bytes() == b"keep me"
    code, _, _ = _run("convert", tmp_path / "m.keras", tmp_path / "w.h5", "--overwrite")
    assert code == 0
    restored = _model(2)
    restored.load_weights(str(tmp_path / "w.h5"))
    assert _same(model, restored)


def test_convert_format_must_fit_the_suffix(tmp_path):
    _model().save(str(tmp_path / "m.keras"))
    code, _, err = _run("convert", tmp_path / "m.keras", tmp_path / "w.h5", "--format", "keras")
    assert code == 2 and "needs a path with .keras" in err


def test_failed_convert_leaves_no_output(tmp_path, monkeypatch):
    from numkeras.saving import convert

    model = _model()
    model.save(str(tmp_path / "m.keras"))

    def broken_write(model, path, *args):
        open(path + ".data-00000-of-00001", "wb").write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(convert, "_write_model", broken_write)
    code, _, err = _run("convert", tmp_path / "m.keras", tmp_path / "new" / "deeper" / "ckpt")
    assert code == 1 and "disk full" in err
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # nor the folders it created
