"""Remote paths through fsspec, tested on its in-process ``memory://`` filesystem (no network)."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import uuid
from contextlib import redirect_stdout

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec")

import numkeras as keras  # noqa: E402
from numkeras import cli, saving  # noqa: E402
from numkeras.saving import remote  # noqa: E402


def _model(seed: int = 0):
    keras.backend.clear_session()
    inputs = keras.Input((4,), name="features")
    x = keras.layers.Dense(6)(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(2)(x)
    model = keras.Model(inputs, outputs, name="small")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.weights])
    return model


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.fixture
def mem():
    """A fresh folder on the memory filesystem: ``(fs, root path, root URL)``."""
    fs = fsspec.filesystem("memory")
    root = f"/nk-{uuid.uuid4().hex}"
    yield fs, root, f"memory://{root}"
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Temporary folders go under ``tmp_path/t`` so a test can see they are removed."""
    folder = tmp_path / "t"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _names(fs, root) -> list[str]:
    return sorted(p[len(root) + 1:] for p in fs.find(root))


CASES = [
    ("w.h5", {}, ["w.h5"]),
    ("ckpt", {}, ["checkpoint", "ckpt.data-00000-of-00001", "ckpt.index"]),
    ("m.weights.h5", {}, ["m.weights.h5"]),
    ("s.weights.json", {"max_shard_size": 100 / 1e9},
     ["s.weights.json", "s_00000.weights.h5", "s_00001.weights.h5", "s_00002.weights.h5"]),
]


@pytest.mark.parametrize("name,kwargs,files", CASES, ids=[c[0] for c in CASES])
def test_save_and_load_weights_round_trip(mem, private_tmp, name, kwargs, files):
    fs, root, url = mem
    model = _model(1)
    model.save_weights(f"{url}/{name}", **kwargs)
    assert _names(fs, root) == files
    restored = _model(2)
    assert not _same(model, restored)
    restored.load_weights(f"{url}/{name}")
    assert _same(model, restored)
    assert os.listdir(private_tmp) == []  # staging folders removed


def test_tf_checkpoint_with_several_shards_downloads_all(mem):
    fs, root, url = mem
    model = _model(1)
    model.save_weights(f"{url}/ckpt", num_shards=3)
    assert sum(".data-" in n for n in _names(fs, root)) == 3
    restored = _model(2)
    restored.load_weights(f"{url}/ckpt")
    assert _same(model, restored)


def test_keras_archive_save_and_load_model(mem, private_tmp):
    fs, root, url = mem
    model = _model(1)
    model.save(f"{url}/m.keras")
    assert _names(fs, root) == ["m.keras"]
    rebuilt = saving.load_model(f"{url}/m.keras")
    assert _same(model, rebuilt)
    restored = _model(2)
    restored.load_weights(f"{url}/m.keras")
    assert _same(model, restored)
    assert os.listdir(private_tmp) == []


def test_saved_model_folder_loads_from_its_variables(mem):
    fs, root, url = mem
    model = _model(1)
    model.save_weights(f"{url}/sm/variables/variables")
    restored = _model(2)
    restored.load_weights(f"{url}/sm")
    assert _same(model, restored)


def test_load_report_names_the_url(mem):
    _, _, url = mem
    _model(1).save_weights(f"{url}/w.h5")
    report = _model(2).load_weights(f"{url}/w.h5")
    assert f"{url}/w.h5" in str(report)


def _recording(fs, monkeypatch):
    order: list[str] = []
    put = fs.put_file

    def recording_put(lpath, rpath, *args, **kwargs):
        order.append(os.path.basename(rpath))
        return put(lpath, rpath, *args, **kwargs)
    monkeypatch.setattr(fs, "put_file", recording_put)
    return order


def test_uploads_data_first_then_index_then_state(mem, monkeypatch):
    fs, _, url = mem
    order = _recording(fs, monkeypatch)
    _model().save_weights(f"{url}/ckpt", num_shards=2)
    assert order == ["ckpt.data-00000-of-00002", "ckpt.data-00001-of-00002", "ckpt.index",
                     "checkpoint"]


def test_uploads_shards_before_manifest(mem, monkeypatch):
    fs, _, url = mem
    order = _recording(fs, monkeypatch)
    _model().save_weights(f"{url}/s.weights.json", max_shard_size=100 / 1e9)
    assert order[-1] == "s.weights.json" and len(order) > 2


def test_failure_mid_upload_puts_the_previous_checkpoint_back(mem, monkeypatch):
    fs, root, url = mem
    old = _model(1)
    old.save_weights(f"{url}/ckpt")
    put = fs.put_file

    def crash_after_data(lpath, rpath, *args, **kwargs):
        put(lpath, rpath, *args, **kwargs)
        raise ConnectionError("network down")
    monkeypatch.setattr(fs, "put_file", crash_after_data)
    with pytest.raises(ConnectionError):
        _model(2).save_weights(f"{url}/ckpt")
    monkeypatch.undo()
    # New data uploaded, then the failure: the previous version was put back (issue 11
    # case 9; it used to be deleted first), never a mix of old and new files.
    restored = _model(3)
    restored.load_weights(f"{url}/ckpt")
    assert _same(restored, old)


def test_failed_save_uploads_nothing(mem, monkeypatch):
    fs, root, url = mem
    model = _model()
    from numkeras.saving.hdf5 import writer

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(writer, "plan_groups", broken)
    with pytest.raises(RuntimeError):
        model.save_weights(f"{url}/w.h5")
    assert not fs.exists(root) or _names(fs, root) == []


def test_overwrite_false_refuses_existing_remote_file(mem):
    _, _, url = mem
    model = _model()
    model.save_weights(f"{url}/ckpt")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save_weights(f"{url}/ckpt", overwrite=False)


def test_missing_remote_file_says_what_was_looked_for(mem):
    _, _, url = mem
    with pytest.raises(FileNotFoundError) as err:
        _model().load_weights(f"{url}/nothing")
    assert f"{url}/nothing" in str(err.value) and ".index" in str(err.value)


def test_missing_shard_is_named(mem):
    fs, root, url = mem
    _model().save_weights(f"{url}/s.weights.json", max_shard_size=100 / 1e9)
    fs.rm_file(f"{root}/s_00001.weights.h5")
    with pytest.raises(FileNotFoundError, match="s_00001.weights.h5"):
        _model().load_weights(f"{url}/s.weights.json")


def test_manifest_pointing_outside_its_folder_is_refused(mem):
    fs, root, url = mem
    fs.pipe_file(f"{root}/evil.weights.json",
                 json.dumps({"weight_map": {"/layers/dense/vars": "../other/x.h5"}}).encode())
    with pytest.raises(ValueError, match="not a plain file name"):
        _model().load_weights(f"{url}/evil.weights.json")


def test_without_fsspec_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(ImportError, match=r"numkeras\[remote\]"):
        _model().save_weights("gs://bucket/w.h5")


def test_local_paths_and_file_urls_are_not_remote():
    assert remote.is_remote("s3://b/k") and remote.is_remote("memory://x")
    assert not remote.is_remote("/tmp/a://b")
    assert not remote.is_remote("file:///tmp/x.h5") and not remote.is_remote("w.h5")


def _run(argv) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(argv)
    return code, out.getvalue()


def test_cli_inspect_and_verify_on_a_memory_url(mem):
    _, _, url = mem
    model = _model()
    model.save_weights(f"{url}/ckpt")
    code, out = _run(["inspect", f"{url}/ckpt", "--json"])
    assert code == 0
    info = json.loads(out)
    assert info["path"] == f"{url}/ckpt" and info["format"] == "tf-checkpoint"
    assert {e["variable"] + ":0" for e in info["entries"] if e["variable"]} == \
        {w.name for w in model.weights}
    assert all(f.startswith(url) for f in info["files"])
    code, out = _run(["verify", f"{url}/ckpt"])
    assert code == 0 and out.startswith("OK ")
    code, out = _run(["inspect", url])  # the folder: its checkpoint state file
    assert code == 0 and "layer_with_weights-0/kernel" in out


def test_cli_convert_between_memory_urls(mem):
    fs, root, url = mem
    model = _model(1)
    model.save(f"{url}/m.keras")
    code, _ = _run(["convert", f"{url}/m.keras", f"{url}/out/ckpt"])
    assert code == 0
    assert _names(fs, f"{root}/out") == ["checkpoint", "ckpt.data-00000-of-00001",
                                         "ckpt.index"]
    restored = _model(2)
    restored.load_weights(f"{url}/out/ckpt")
    assert _same(model, restored)


def test_remote_checkpoint_state_naming_parent_paths_is_refused(mem, private_tmp):
    """Issue 11 case 13: a remote ``checkpoint`` file naming ``../`` paths made the
    downloader write outside its staging folder."""
    fs, root, url = mem
    model = _model(1)
    model.save_weights(f"{url}/run/sub/ckpt")
    model.save_weights(f"{url}/elsewhere/ckpt")
    with fs.open(f"{root}/run/sub/checkpoint", "wb") as f:
        f.write(b'model_checkpoint_path: "../../elsewhere/ckpt"\n')
    before = {p for p in os.listdir(private_tmp.parent)}
    restored = _model(2)
    with pytest.raises(ValueError, match=r"\.\."):
        restored.load_weights(f"{url}/run/sub")
    assert {p for p in os.listdir(private_tmp.parent)} == before
    assert not _same(model, restored)


@pytest.mark.parametrize("name,kwargs", [("ckpt", {}),
                                         ("s.weights.json", {"max_shard_size": 100 / 1e9})])
def test_failed_upload_keeps_the_previous_version(mem, name, kwargs, monkeypatch):
    """Issue 11 case 9: a failed upload of a multi-file save deleted the previous version
    first. Every upload step is made to fail in turn; the previous version must load."""
    fs, root, url = mem
    old = _model(1)
    old.save_weights(f"{url}/{name}", **kwargs)
    real = type(fs).put_file
    calls = []
    monkeypatch.setattr(type(fs), "put_file", lambda self, *a, **k: (calls.append(1),
                                                                      real(self, *a, **k)))
    _model(2).save_weights(f"{url}/{name}", **kwargs)
    steps = len(calls)
    assert steps >= 3
    for fail_at in range(1, steps + 1):
        calls.clear()

        def failing(self, *a, fail_at=fail_at, **k):
            calls.append(1)
            if len(calls) == fail_at:
                raise OSError("upload failed")
            return real(self, *a, **k)

        monkeypatch.setattr(type(fs), "put_file", failing)
        # the remote holds model 2's weights now; a failing save of model 3 must keep them
        with pytest.raises(OSError, match="upload failed"):
            _model(3).save_weights(f"{url}/{name}", **kwargs)
        monkeypatch.setattr(type(fs), "put_file", real)
        restored = _model(4)
        restored.load_weights(f"{url}/{name}")
        assert _same(restored, _model(2)), f"failure at upload {fail_at}/{steps}"
        assert not [n for n in _names(fs, root) if n.endswith(".prev")]
