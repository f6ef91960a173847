"""TF-format weights both ways against real TensorFlow 2.21 + tf-keras 2.21.

Every test writes with one side and reads with the other; expected values are what
TensorFlow wrote or read. tf-keras loads numkeras files with ``assert_consumed()`` passing.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tf_side

import numkeras as nk
from numkeras import layers as nl

# -- model builders (the same architecture in both libraries) ---------------------------------

def sequential(L, Seq, built=True):
    first = L.Dense(5, input_shape=(4,)) if built else L.Dense(5)
    return Seq([first, L.Dropout(0.2), L.BatchNormalization(), L.Dense(3, activation="relu"),
                L.Dense(2)])


def functional(L, Model, Input):
    x = Input((4,))
    h = L.Dense(5)(x)
    h = L.BatchNormalization()(h)
    h = L.Dropout(0.1)(h)
    return Model(x, L.Dense(2)(h))


def nested(L, Model, Input, Seq):
    inner = Seq([L.Dense(6, input_shape=(5,)), L.BatchNormalization()])
    x = Input((4,))
    a = L.Dense(5)(x)
    y = inner(a)
    z = Input((6,))
    block = Model(z, L.Dense(2)(z))
    return Model(x, block(y))


def subclassed(L, Model):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.blocks = [L.Dense(5), L.Dense(3)]
            self.heads = {"out": L.Dense(2)}
            self.norm = L.BatchNormalization()

        def call(self, x, training=None):
            for block in self.blocks:
                x = block(x)
            return self.heads["out"](self.norm(x, training=training))

    return Net()


def both(kind: str, built: bool = True):
    """(tf-keras model, numkeras model) of the same architecture."""
    tfk = tf_side.tf_keras()
    nk.backend.clear_session()
    if kind == "sequential":
        return sequential(tfk.layers, tfk.Sequential, built), \
            sequential(nl, nk.Sequential, built)
    if kind == "functional":
        return functional(tfk.layers, tfk.Model, tfk.Input), \
            functional(nl, nk.Model, nk.Input)
    if kind == "nested":
        return nested(tfk.layers, tfk.Model, tfk.Input, tfk.Sequential), \
            nested(nl, nk.Model, nk.Input, nk.Sequential)
    t, n = subclassed(tfk.layers, tfk.Model), subclassed(nl, nk.Model)
    if built:
        t(np.zeros((1, 4), "float32"))
        n(np.zeros((1, 4), "float32"))
    return t, n


KINDS = ["sequential", "functional", "nested", "subclassed"]
X = np.random.default_rng(7).normal(size=(3, 4)).astype("float32")


def tf_weights(model) -> list:
    return [np.asarray(w) for w in model.get_weights()]


# -- save_weights / load_weights ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_tf_keras_writes_numkeras_loads(tmp_path, kind):
    t, n = both(kind)
    values = tf_side.random_weights(t, seed=1)
    t.set_weights(values)
    t.save_weights(str(tmp_path / "w"))
    status = n.load_weights(str(tmp_path / "w"))
    status.assert_consumed()
    tf_side.assert_same_weights(n.get_weights(), values)
    tf_side.assert_close_outputs(n.predict(X), t.predict(X, verbose=0))


@pytest.mark.parametrize("kind", KINDS)
def test_numkeras_writes_tf_keras_loads(tmp_path, kind):
    t, n = both(kind)
    values = tf_side.random_weights(n, seed=2)
    n.set_weights(values)
    n.save_weights(str(tmp_path / "w"))
    assert (tmp_path / "checkpoint").read_text() == \
        'model_checkpoint_path: "w"\nall_model_checkpoint_paths: "w"\n'
    t.load_weights(str(tmp_path / "w")).assert_consumed()
    tf_side.assert_same_weights(tf_weights(t), values)


@pytest.mark.parametrize("kind", ["sequential", "subclassed"])
def test_unbuilt_models_restore_on_build_both_ways(tmp_path, kind):
    t, n = both(kind, built=True)
    t.set_weights(tf_side.random_weights(t, seed=3))
    t.save_weights(str(tmp_path / "tf"))
    n.set_weights(tf_side.random_weights(n, seed=4))
    n.save_weights(str(tmp_path / "nk"))
    expected_tf, expected_nk = tf_weights(t), n.get_weights()

    t2, n2 = both(kind, built=False)
    status_n = n2.load_weights(str(tmp_path / "tf"))
    status_t = t2.load_weights(str(tmp_path / "nk"))
    n2(X)  # builds: values restored on creation
    t2(X)
    tf_side.assert_same_weights(n2.get_weights(), expected_tf)
    tf_side.assert_same_weights(tf_weights(t2), expected_nk)
    status_n.assert_consumed()
    status_t.assert_consumed()


def test_same_keys_and_shapes_as_tf_keras(tmp_path):
    tf = tf_side.tensorflow()
    for kind in KINDS:
        t, n = both(kind)
        t.save_weights(str(tmp_path / kind / "tf"))
        n.save_weights(str(tmp_path / kind / "nk"))
        ours = nk.train.list_variables(str(tmp_path / kind / "nk"))
        theirs = tf.train.list_variables(str(tmp_path / kind / "tf"))
        assert ours == [(k, list(s)) for k, s in theirs], kind


def test_sharded_save_loads_in_tf_keras(tmp_path):
    t, n = both("functional")
    values = tf_side.random_weights(n, seed=5)
    n.set_weights(values)
    n.save_weights(str(tmp_path / "w"), num_shards=3)
    assert sorted(p.name for p in tmp_path.glob("w.data-*")) == \
        [f"w.data-0000{i}-of-00003" for i in range(3)]
    t.load_weights(str(tmp_path / "w")).assert_consumed()
    tf_side.assert_same_weights(tf_weights(t), values)


def test_savedmodel_directory_loads(tmp_path):
    t, n = both("sequential")
    values = tf_side.random_weights(t, seed=6)
    t.set_weights(values)
    t.save(str(tmp_path / "sm"), save_format="tf")
    status = n.load_weights(str(tmp_path / "sm"))
    tf_side.assert_same_weights(n.get_weights(), values)
    status.assert_existing_objects_matched()


# -- optimizers ----------------------------------------------------------------------------------

GRADS_SEED = 11


def grads_for(variables, step):
    rng = np.random.default_rng(GRADS_SEED + step)
    return [rng.normal(size=tuple(v.shape)).astype("float32") for v in variables]


def tf_steps(tf, model, opt, steps):
    for step in range(steps):
        grads = grads_for(model.trainable_variables, step)
        opt.apply_gradients(zip([tf.constant(g) for g in grads], model.trainable_variables))


def nk_steps(model, opt, steps):
    for step in range(steps):
        opt.apply_gradients(zip(grads_for(model.trainable_variables, step),
                                model.trainable_variables))


def assert_same_slots(ours, theirs):
    """Legacy optimizer weights equal by name (TF orders restored slots differently)."""
    def by_name(weights):
        return {v.name.removeprefix("Adam/").removesuffix(":0"): np.asarray(v) for v in weights}

    a, b = by_name(ours), by_name(theirs)
    assert sorted(a) == sorted(b)
    tf_side.assert_same_weights([a[k] for k in sorted(a)], [b[k] for k in sorted(a)])


def assert_same_state(ours, theirs):
    """Optimizer variables equal in tf-keras's order (names depend on the name scope)."""
    tf_side.assert_same_weights([np.asarray(v) for v in ours], [np.asarray(v) for v in theirs])


def test_checkpoint_with_optimizer_tf_to_numkeras(tmp_path):
    tf = tf_side.tensorflow()
    t, n = both("functional")
    t.set_weights(tf_side.random_weights(t, seed=8))
    topt = tf_side.tf_keras().optimizers.Adam(learning_rate=0.01, amsgrad=True)
    tf_steps(tf, t, topt, 3)
    path = tf.train.Checkpoint(model=t, optimizer=topt).save(str(tmp_path / "ckpt"))

    nopt = nk.optimizers.Adam(learning_rate=0.5, amsgrad=True)
    status = nk.train.Checkpoint(model=n, optimizer=nopt).restore(path)
    nopt.build(n.trainable_variables)  # slots restored on creation
    status.assert_consumed()
    tf_side.assert_same_weights(n.get_weights(), tf_weights(t))
    assert_same_state(nopt.variables, topt.variables)
    assert float(nopt.learning_rate.numpy()) == np.float32(0.01)


def test_checkpoint_with_optimizer_numkeras_to_tf(tmp_path):
    tf = tf_side.tensorflow()
    t, n = both("functional")
    n.set_weights(tf_side.random_weights(n, seed=9))
    nopt = nk.optimizers.Adam(learning_rate=0.01)
    nk_steps(n, nopt, 2)
    path = nk.train.Checkpoint(model=n, optimizer=nopt).save(str(tmp_path / "ckpt"))

    topt = tf_side.tf_keras().optimizers.Adam(learning_rate=0.5)
    status = tf.train.Checkpoint(model=t, optimizer=topt).restore(path)
    topt.build(t.trainable_variables)
    status.assert_consumed()
    tf_side.assert_same_weights(tf_weights(t), n.get_weights())
    assert_same_state(nopt.variables, topt.variables)
    # one more identical step on both sides keeps them equal
    tf_steps(tf, t, topt, 1)
    nk_steps(n, nopt, 1)
    for a, b in zip(n.get_weights(), tf_weights(t)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_compiled_save_weights_carries_optimizer_both_ways(tmp_path):
    tfk = tf_side.tf_keras()
    tf = tf_side.tensorflow()
    t, n = both("sequential")
    n.set_weights(tf_side.random_weights(n, seed=10))
    n.compile(optimizer=nk.optimizers.Adam(0.01))
    nk_steps(n, n.optimizer, 2)
    n.save_weights(str(tmp_path / "nk"))
    assert "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE" in dict(
        nk.train.list_variables(str(tmp_path / "nk")))
    t.compile(optimizer=tfk.optimizers.Adam(0.5), loss="mse")
    t.load_weights(str(tmp_path / "nk"))
    t.optimizer.build(t.trainable_variables)
    assert_same_state(n.optimizer.variables, t.optimizer.variables)

    tf_steps(tf, t, t.optimizer, 1)
    t.save_weights(str(tmp_path / "tf"))
    _, n2 = both("sequential")
    n2.compile(optimizer="adam")
    n2.load_weights(str(tmp_path / "tf")).assert_existing_objects_matched()
    n2.optimizer.build(n2.trainable_variables)
    assert_same_state(n2.optimizer.variables, t.optimizer.variables)
    tf_side.assert_same_weights(n2.get_weights(), tf_weights(t))


def test_legacy_optimizer_checkpoint_both_ways(tmp_path):
    tfk = tf_side.tf_keras()
    tf = tf_side.tensorflow()
    t, n = both("functional")
    t.set_weights(tf_side.random_weights(t, seed=12))
    t.compile(optimizer=tfk.optimizers.legacy.Adam(learning_rate=0.02, beta_1=0.8), loss="mse")
    tf_steps(tf, t, t.optimizer, 2)
    t.save_weights(str(tmp_path / "tf"))
    keys = dict(nk.train.list_variables(str(tmp_path / "tf")))
    assert any(".OPTIMIZER_SLOT" in k for k in keys)

    n.compile(optimizer=nk.optimizers.legacy.Adam())
    n.load_weights(str(tmp_path / "tf")).assert_consumed()
    tf_side.assert_same_weights(n.get_weights(), tf_weights(t))
    assert_same_slots(n.optimizer.weights, t.optimizer.weights)
    assert float(np.asarray(n.optimizer.beta_1)) == np.float32(0.8)

    nk_steps(n, n.optimizer, 1)
    n.save_weights(str(tmp_path / "nk"))
    t2, _ = both("functional")
    t2.compile(optimizer=tfk.optimizers.legacy.Adam(), loss="mse")
    status = t2.load_weights(str(tmp_path / "nk"))
    t2.optimizer._create_all_weights(t2.trainable_variables)  # TF creates `iter` lazily
    status.assert_consumed()
    tf_side.assert_same_weights(tf_weights(t2), n.get_weights())
    assert_same_slots(n.optimizer.weights, t2.optimizer.weights)


# -- Checkpoint roots, CheckpointManager ---------------------------------------------------------

def test_mixing_checkpoint_and_save_weights_fails_clearly(tmp_path):
    tf = tf_side.tensorflow()
    t, n = both("sequential")
    t.set_weights(tf_side.random_weights(t, seed=13))
    path = tf.train.Checkpoint(model=t).save(str(tmp_path / "ckpt"))
    before = n.get_weights()
    with pytest.raises(AssertionError, match=r"Checkpoint\(model=model\)\.restore"):
        n.load_weights(path)
    tf_side.assert_same_weights(n.get_weights(), before)
    nk.train.Checkpoint(model=n).restore(path).assert_consumed()
    tf_side.assert_same_weights(n.get_weights(), tf_weights(t))

    n.save_weights(str(tmp_path / "w"))
    with pytest.warns(UserWarning, match=r"model\.load_weights\(path\)"):
        status = nk.train.Checkpoint(model=n).restore(str(tmp_path / "w"))
    with pytest.raises(AssertionError, match="not bound to checkpointed values.*model.load_weights"):
        status.assert_consumed()
    status.expect_partial()


def test_checkpoint_manager_both_ways(tmp_path):
    tf = tf_side.tensorflow()
    step_values = []
    v = nk.Variable(np.float32(0.0), name="v")
    manager = nk.train.CheckpointManager(nk.train.Checkpoint(v=v), str(tmp_path / "nk"),
                                         max_to_keep=2)
    for i in range(3):
        v.assign(np.float32(i + 0.5))
        step_values.append(manager.save())
    assert tf.train.latest_checkpoint(str(tmp_path / "nk")) == step_values[-1]
    tv = tf.Variable(0.0)
    tf_manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tv), str(tmp_path / "nk"),
                                            max_to_keep=2)
    assert tf_manager.checkpoints == manager.checkpoints
    tf.train.Checkpoint(v=tv).restore(tf_manager.latest_checkpoint).assert_consumed()
    assert float(tv.numpy()) == 2.5

    tw = tf.Variable([1.0, 2.0])
    tf_manager = tf.train.CheckpointManager(tf.train.Checkpoint(w=tw), str(tmp_path / "tf"),
                                            max_to_keep=3, checkpoint_name="model")
    for _ in range(4):
        tw.assign_add([1.0, 1.0])
        tf_manager.save()
    w = nk.Variable(np.zeros(2, "float32"), name="w")
    ours = nk.train.CheckpointManager(nk.train.Checkpoint(w=w), str(tmp_path / "tf"),
                                      max_to_keep=3, checkpoint_name="model")
    assert ours.checkpoints == tf_manager.checkpoints
    assert nk.train.latest_checkpoint(str(tmp_path / "tf")) == tf_manager.latest_checkpoint
    assert ours.restore_or_initialize() == tf_manager.latest_checkpoint
    np.testing.assert_array_equal(w.numpy(), [5.0, 6.0])
    assert int(ours.checkpoint.save_counter.numpy()) == 4
    ours.save()
    assert os.path.basename(tf.train.latest_checkpoint(str(tmp_path / "tf"))) == "model-5"


# -- every dtype ---------------------------------------------------------------------------------

DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]


def sample(dtype: str, seed: int) -> np.ndarray:
    import ml_dtypes

    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(2, 3)) * 50
    if dtype == "bool":
        return raw > 0
    if dtype.startswith("complex"):
        return (raw + 1j * raw[::-1]).astype(dtype)
    if dtype == "bfloat16":
        return raw.astype(ml_dtypes.bfloat16)
    if dtype.startswith("uint"):
        return np.abs(raw).astype(dtype)
    return raw.astype(dtype)


def test_every_dtype_both_ways(tmp_path):
    tf = tf_side.tensorflow()
    tf_vars = {f"v_{d}": tf.Variable(sample(d, 1), dtype=getattr(tf, d)) for d in DTYPES}
    tf_vars["v_string"] = tf.Variable([b"ab", b"", b"\x00xyz"])
    path = tf.train.Checkpoint(**tf_vars).write(str(tmp_path / "tf"))
    ours = {name: nk.Variable(np.zeros_like(v.numpy()), name=name, dtype=v.numpy().dtype)
            for name, v in tf_vars.items() if name != "v_string"}
    ours["v_string"] = nk.Variable(np.array([b"", b"", b""], dtype=object), name="s")
    nk.train.Checkpoint(**ours).read(path).assert_consumed()
    for name, v in tf_vars.items():
        np.testing.assert_array_equal(ours[name].numpy(), v.numpy(), err_msg=name)
        assert ours[name].dtype == v.numpy().dtype

    for name, v in ours.items():
        v.assign(sample(name[2:], 2) if name != "v_string" else
                 np.array([b"q", b"rs", b"t"], dtype=object))
    path = nk.train.Checkpoint(**ours).write(str(tmp_path / "nk"))
    fresh = {name: tf.Variable(tf.zeros_like(v)) for name, v in tf_vars.items()}
    tf.train.Checkpoint(**fresh).read(path).assert_consumed()
    for name, v in fresh.items():
        np.testing.assert_array_equal(v.numpy(), ours[name].numpy(), err_msg=name)


def test_corrupt_tf_written_checkpoint_changes_nothing(tmp_path):
    from numkeras.saving.tf_checkpoint.bundle import BundleReader
    from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError

    t, n = both("functional")
    t.set_weights(tf_side.random_weights(t, seed=14))
    t.save_weights(str(tmp_path / "w"))
    key = "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE"
    with BundleReader(str(tmp_path / "w")) as reader:
        offset = reader.get_entry(key).offset
    data_file = tmp_path / "w.data-00000-of-00001"
    data = bytearray(data_file.read_bytes())
    data[offset + 1] ^= 0x55
    data_file.write_bytes(bytes(data))
    before = n.get_weights()
    with pytest.raises(CheckpointFormatError, match=key):
        n.load_weights(str(tmp_path / "w"))
    tf_side.assert_same_weights(n.get_weights(), before)


@pytest.mark.parametrize("keys", [["unrelated/x"], ["dd/kernel"]])
def test_name_based_checkpoint_with_unmatched_variables_raises_like_tf_keras(tmp_path, keys):
    """A ``tf.compat.v1.train.Saver`` checkpoint (no object graph) that lacks a variable's
    name: tf-keras's load_weights raises AssertionError; so does numkeras (before assigning)."""
    tf = tf_side.tensorflow()
    tfk = tf_side.tf_keras()
    shapes = {"unrelated/x": (2,), "dd/kernel": (3, 2)}
    saved = {k: tf.Variable(np.ones(shapes[k], "float32")) for k in keys}
    prefix = tf.compat.v1.train.Saver(var_list=saved).save(None, str(tmp_path / "ck"))
    theirs = tfk.Sequential([tfk.layers.Dense(2, input_shape=(3,), name="dd")])
    with pytest.raises(AssertionError, match="not restored"):
        theirs.load_weights(prefix)
    ours = nk.Sequential([nl.Dense(2, input_shape=(3,), name="dd")])
    before = ours.get_weights()
    with pytest.raises(AssertionError, match="not restored"):
        ours.load_weights(prefix)
    tf_side.assert_same_weights(ours.get_weights(), before)


def test_many_layers_tf_keras_writes_numkeras_loads_in_runs(tmp_path, monkeypatch):
    """300 small layers on one input (TF orders the data file by key, not by layer): the
    batched reads (tf_checkpoint/batch_read.py) give exactly what tf-keras wrote, in a few
    reads per pass, and a flipped byte in one tensor is refused with the model unchanged."""
    from numkeras.saving.tf_checkpoint import batch_read
    from numkeras.saving.tf_checkpoint.bundle import BundleReader, data_filename
    from numkeras.saving.tf_checkpoint.errors import CheckpointFormatError

    tfk = tf_side.tf_keras()
    nk.backend.clear_session()
    ti = tfk.Input((8,))
    t = tfk.Model(ti, [tfk.layers.Dense(8)(ti) for _ in range(300)])
    ni = nk.Input((8,))
    n = nk.Model(ni, [nl.Dense(8)(ni) for _ in range(300)])
    values = tf_side.random_weights(t, seed=3)
    t.set_weights(values)
    prefix = str(tmp_path / "w")
    t.save_weights(prefix)
    calls = []
    real = os.preadv
    monkeypatch.setattr(batch_read.os, "preadv",
                        lambda fd, bufs, off: calls.append(len(bufs)) or real(fd, bufs, off))
    n.load_weights(prefix).assert_consumed()
    tf_side.assert_same_weights(n.get_weights(), values)
    assert 2 <= len(calls) <= 8, calls  # 600 tensors: a few runs per pass
    with BundleReader(prefix) as reader:
        entry = reader.get_entry("layer_with_weights-150/kernel/.ATTRIBUTES/VARIABLE_VALUE")
    with open(data_filename(prefix, 0, 1), "r+b") as f:
        f.seek(entry.offset + 5)
        byte = f.read(1)
        f.seek(entry.offset + 5)
        f.write(bytes([byte[0] ^ 1]))
    before = n.get_weights()
    fresh = tf_side.random_weights(n, seed=4)
    n.set_weights(fresh)
    with pytest.raises(CheckpointFormatError, match="layer_with_weights-150/kernel"):
        n.load_weights(prefix)
    tf_side.assert_same_weights(n.get_weights(), fresh)
    assert len(before) == len(fresh)
