"""Legacy ``.h5`` weights against real tf-keras 2.21, in both directions.

Each case builds the same architecture (same layer names) with tf-keras and numkeras, then:
tf-keras saves -> numkeras loads (every weight equal, same outputs); numkeras saves -> the
file has tf-keras's layout -> tf-keras loads it without any warning (every weight equal,
same outputs).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hdf5_helpers import layout, no_tf_warnings, tf_log_records
from tf_side import assert_close_outputs, assert_same_weights, random_weights, tf_keras

import numkeras as nk


def _tf_out(model, x):
    return model(x, training=False).numpy()


def both_directions(build, x, tmp_path, fresh_tf_model=True):
    """Run the round trip for ``build(keras_module)``; return (tf model, numkeras model).

    ``fresh_tf_model=False`` loads numkeras's file back into the first tf-keras model (whose
    weights all differ from the file's) instead of building a second one (slow for wide models).
    """
    tfk = tf_keras()
    tf_model = build(tfk)
    tf_model.set_weights(random_weights(tf_model, seed=1))
    tf_file = str(tmp_path / "from_tf.h5")
    tf_model.save_weights(tf_file)

    nk.backend.clear_session()
    nk_model = build(nk)
    report = nk_model.load_weights(tf_file)
    assert not report.skipped and not report.missing and not report.unexpected, report
    assert_same_weights(nk_model.get_weights(), tf_model.get_weights())
    assert_close_outputs(nk_model.predict(x), _tf_out(tf_model, x))

    nk_model.set_weights(random_weights(nk_model, seed=2))
    nk_file = str(tmp_path / "from_numkeras.h5")
    nk_model.save_weights(nk_file)
    assert layout(nk_file) == layout(tf_file)

    tf_model2 = build(tf_keras()) if fresh_tf_model else tf_model
    with no_tf_warnings():
        tf_model2.load_weights(nk_file)
    assert_same_weights(tf_model2.get_weights(), nk_model.get_weights())
    assert_close_outputs(nk_model.predict(x), _tf_out(tf_model2, x))
    return tf_model2, nk_model


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# -- architectures -------------------------------------------------------------------------

def mlp(k):
    return k.Sequential([
        k.layers.Dense(8, activation="relu", input_shape=(5,)),
        k.layers.Dropout(0.3),
        k.layers.Dense(6, activation="tanh"),
        k.layers.Dropout(0.1),
        k.layers.Dense(3),
    ])


def dense_bn_functional(k):
    inp = k.Input((12,))
    x = k.layers.Dense(12)(inp)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.Reshape((3, 4))(x)
    x = k.layers.BatchNormalization(axis=1)(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(4)(x)
    return k.Model(inp, x)


def cnn(k):
    inp = k.Input((8, 8, 3))
    x = k.layers.Conv2D(4, (3, 3), padding="same", activation="relu")(inp)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.Conv2D(5, (3, 2), use_bias=False)(x)
    x = k.layers.BatchNormalization(scale=False)(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(3)(x)
    return k.Model(inp, x)


def nested(k, freeze_inner=False, freeze_first=False):
    inner = k.Sequential([k.layers.Dense(6), k.layers.BatchNormalization(),
                          k.layers.Dense(5)])
    inp = k.Input((4,))
    first = k.layers.Dense(6, name="first")
    x = first(inp)
    x = inner(x)
    x = k.layers.Dropout(0.2)(x)
    x = k.layers.BatchNormalization(name="outer_bn")(x)
    out = k.layers.Dense(2, name="head")(x)
    model = k.Model(inp, out)
    if freeze_inner:
        inner.trainable = False
    if freeze_first:
        first.trainable = False
        model.get_layer("outer_bn").trainable = False
    return model


def subclassed(k, n_blocks=3, width=4, name_prefix=None, initializer="glorot_uniform"):
    class Blocks(k.Model):
        def __init__(self):
            super().__init__(name="blocks")
            self.blocks = [
                k.layers.Dense(width, kernel_initializer=initializer,
                               name=None if name_prefix is None else f"{name_prefix}_{i:04d}")
                for i in range(n_blocks)]
            self.norm = k.layers.BatchNormalization()

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.norm(x)

    return Blocks()


# -- round trips ---------------------------------------------------------------------------

def test_sequential_mlp_with_dropout(tmp_path):
    both_directions(mlp, _x(7, 5), tmp_path)


def test_functional_dense_batchnorm_reshape(tmp_path):
    both_directions(dense_bn_functional, _x(6, 12), tmp_path)


def test_functional_cnn_with_batchnorm(tmp_path):
    both_directions(cnn, _x(2, 8, 8, 3), tmp_path)


def test_sequential_nested_in_functional(tmp_path):
    _, model = both_directions(nested, _x(5, 4), tmp_path)
    with h5py.File(tmp_path / "from_numkeras.h5", "r") as f:
        # all trainable weights of the nested model's layers first, then the non-trainable
        names = [n.decode() for n in f["sequential"].attrs["weight_names"]]
    assert [n.split("/")[-1] for n in names] == [
        "kernel:0", "bias:0", "gamma:0", "beta:0", "kernel:0", "bias:0",
        "moving_mean:0", "moving_variance:0"]


def test_subclassed_model_with_a_list_of_layers(tmp_path):
    def build(k):
        model = subclassed(k)
        model(_x(2, 3))
        return model

    both_directions(build, _x(4, 3), tmp_path)


def test_frozen_layers_and_frozen_nested_model(tmp_path):
    def build(k):
        return nested(k, freeze_inner=True, freeze_first=True)

    both_directions(build, _x(5, 4), tmp_path)
    with h5py.File(tmp_path / "from_numkeras.h5", "r") as f:
        # a frozen nested model keeps per-layer order
        names = [n.decode().split("/")[-1] for n in f["sequential"].attrs["weight_names"]]
    assert names == ["kernel:0", "bias:0", "gamma:0", "beta:0", "moving_mean:0",
                     "moving_variance:0", "kernel:0", "bias:0"]


def wide(k, n_layers=1010):
    """A subclassed model with > 1000 long-named layers; every fifth one has weights (a Dense
    layer's first call costs tf-keras ~4-10 ms, so not all of them do)."""
    class Wide(k.Model):
        def __init__(self):
            super().__init__(name="wide")
            self.blocks = [
                k.layers.Dense(1, name=f"{'w' * 60}_{i:04d}") if i % 5 == 0 else
                k.layers.Activation("linear", name=f"{'a' * 60}_{i:04d}")
                for i in range(n_layers)]

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Wide()
    model(_x(1, 1))
    return model


def test_wide_model_splits_layer_names(tmp_path):
    both_directions(wide, _x(3, 1), tmp_path, fresh_tf_model=False)
    with h5py.File(tmp_path / "from_numkeras.h5", "r") as f:
        assert "layer_names" not in f.attrs
        chunks = [f.attrs[f"layer_names{i}"] for i in range(2)]
        assert "layer_names2" not in f.attrs
        assert sum(len(c) for c in chunks) == 1010
        assert all(c.nbytes <= 64512 for c in chunks)


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
def test_tf_keras_full_model_file_loads(tmp_path):
    tf_model = nested(tf_keras())
    tf_model.set_weights(random_weights(tf_model, seed=3))
    tf_model.compile(optimizer="adam", loss="mse")
    tf_model.fit(_x(8, 4), _x(8, 2, seed=1), epochs=1, verbose=0)
    path = str(tmp_path / "full.h5")
    tf_model.save(path)
    model = nested(nk)
    report = model.load_weights(path)
    assert len(report.loaded) == 4, report
    assert_same_weights(model.get_weights(), tf_model.get_weights())
    assert_close_outputs(model.predict(_x(3, 4)), _tf_out(tf_model, _x(3, 4)))


# -- topological mismatches: tf-keras's messages are part of ours --------------------------

def _tf_error(tf_model, path, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        tf_model.load_weights(path, **kwargs)
    return str(info.value)


def test_layer_count_mismatch_message(tmp_path):
    def three(k):
        return k.Sequential([k.layers.Dense(4, input_shape=(3,)), k.layers.Dense(4),
                             k.layers.Dense(2)])

    def two(k):
        return k.Sequential([k.layers.Dense(4, input_shape=(3,)), k.layers.Dense(2)])

    path = str(tmp_path / "three.h5")
    three(tf_keras()).save_weights(path)
    expected = _tf_error(two(tf_keras()), path)
    model = two(nk)
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.load_weights(path)
    message = str(info.value)
    assert expected in message
    assert "dense_1" in message and "(4, 2)" in message and "(4, 4)" in message
    assert path in message
    assert_same_weights(model.get_weights(), before)


def test_weight_count_mismatch_message(tmp_path):
    def build(k, bias):
        return k.Sequential([k.layers.Dense(4, input_shape=(3,)),
                             k.layers.Dense(2, use_bias=bias)])

    path = str(tmp_path / "w.h5")
    build(tf_keras(), True).save_weights(path)
    expected = _tf_error(build(tf_keras(), False), path)
    model = build(nk, False)
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.load_weights(path)
    assert expected in str(info.value)
    assert "[(4, 2)]" in str(info.value) and "[(4, 2), (2,)]" in str(info.value)
    assert_same_weights(model.get_weights(), before)


# -- by_name --------------------------------------------------------------------------------

def source(k):
    inp = k.Input((4,), name="x")
    x = k.layers.Dense(6, name="a")(inp)
    x = k.layers.Dense(5, name="b")(x)
    x = k.layers.BatchNormalization(name="bn")(x)
    return k.Model(inp, k.layers.Dense(3, name="c")(x))


def renamed_and_reshaped(k):
    inp = k.Input((4,), name="x")
    x = k.layers.Dense(6, name="a")(inp)
    x = k.layers.Dense(5, name="b_renamed")(x)      # renamed: not loaded
    x = k.layers.BatchNormalization(name="bn")(x)
    return k.Model(inp, k.layers.Dense(2, name="c")(x))  # reshaped: (5, 2), (2,)


def _by_name_case(tmp_path, writer):
    """Save ``source`` with ``writer`` ('tf' or 'nk'); return (path, source weights)."""
    path = str(tmp_path / f"{writer}.h5")
    if writer == "tf":
        model = source(tf_keras())
    else:
        nk.backend.clear_session()
        model = source(nk)
    model.set_weights(random_weights(model, seed=4))
    model.save_weights(path)
    return path, model.get_weights()


@pytest.mark.parametrize("writer", ["tf", "nk"])
def test_by_name_skip_mismatch_matches_tf_keras(tmp_path, writer):
    path, _ = _by_name_case(tmp_path, writer)
    tf_model = renamed_and_reshaped(tf_keras())
    tf_model.set_weights(random_weights(tf_model, seed=5))
    with tf_log_records() as records:
        tf_model.load_weights(path, by_name=True, skip_mismatch=True)
    assert any("named c" in r for r in records)

    nk.backend.clear_session()
    model = renamed_and_reshaped(nk)
    model.set_weights(random_weights(model, seed=5))
    with pytest.warns(UserWarning) as caught:
        report = model.load_weights(path, by_name=True, skip_mismatch=True)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "layer #4 (named c)" in messages[0]
    assert "Weight expects shape (5, 2). Received saved weight with shape (5, 3)" in messages[0]
    assert_same_weights(model.get_weights(), tf_model.get_weights())
    x = _x(3, 4)
    assert_close_outputs(model.predict(x), _tf_out(tf_model, x))
    assert report.loaded == ["a", "bn"]
    assert [name for name, _ in report.skipped] == ["c"]
    assert report.missing == ["b_renamed"] and report.unexpected == ["b"]


@pytest.mark.parametrize("writer", ["tf", "nk"])
def test_by_name_without_skip_mismatch_raises_like_tf_keras(tmp_path, writer):
    path, _ = _by_name_case(tmp_path, writer)
    tf_model = renamed_and_reshaped(tf_keras())
    expected = _tf_error(tf_model, path, by_name=True)
    nk.backend.clear_session()
    model = renamed_and_reshaped(nk)
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.load_weights(path, by_name=True)
    # tf-keras names its variable "c/kernel:0"; so does numkeras
    assert expected in str(info.value) and path in str(info.value)
    assert_same_weights(model.get_weights(), before)


@pytest.mark.parametrize("writer", ["tf", "nk"])
def test_by_name_renamed_only_matches_tf_keras(tmp_path, writer):
    def renamed(k):
        inp = k.Input((4,), name="x")
        x = k.layers.Dense(6, name="a")(inp)
        x = k.layers.Dense(5, name="b_renamed")(x)
        x = k.layers.BatchNormalization(name="bn")(x)
        return k.Model(inp, k.layers.Dense(3, name="c")(x))

    path, _ = _by_name_case(tmp_path, writer)
    tf_model = renamed(tf_keras())
    tf_model.set_weights(random_weights(tf_model, seed=6))
    tf_model.load_weights(path, by_name=True)
    nk.backend.clear_session()
    model = renamed(nk)
    model.set_weights(random_weights(model, seed=6))
    model.load_weights(path, by_name=True)
    assert_same_weights(model.get_weights(), tf_model.get_weights())


def test_by_name_partial_shape_match_deviation(tmp_path):
    """tf-keras loads the weights of a layer whose shapes fit and skips the others; numkeras
    skips the whole layer (docs/formats.md §1: "every layer whose weights do not match is skipped")."""
    def target(k):
        inp = k.Input((4,), name="x")
        x = k.layers.Dense(7, name="a")(inp)           # (4, 7): kernel and bias mismatch
        x = k.layers.Dense(5, name="b")(x)             # kernel (7, 5) mismatch, bias (5,) fits
        x = k.layers.BatchNormalization(name="bn")(x)
        return k.Model(inp, k.layers.Dense(3, name="c")(x))

    path, saved = _by_name_case(tmp_path, "tf")
    tf_model = target(tf_keras())
    tf_model.set_weights(random_weights(tf_model, seed=7))
    tf_model.load_weights(path, by_name=True, skip_mismatch=True)
    model = target(nk)
    model.set_weights(random_weights(model, seed=7))
    with pytest.warns(UserWarning):
        model.load_weights(path, by_name=True, skip_mismatch=True)
    ours, theirs = model.get_weights(), tf_model.get_weights()
    # a: kernel, bias; b: kernel, bias; bn: 4; c: kernel, bias
    np.testing.assert_array_equal(theirs[3], saved[3])               # tf-keras: b's bias loaded
    np.testing.assert_array_equal(ours[3], random_weights(model, seed=7)[3])  # ours: untouched
    assert_same_weights(ours[:3] + ours[4:], theirs[:3] + theirs[4:])


def test_by_name_topological_skip_mismatch_is_refused_by_tf_keras_but_works_here(tmp_path):
    path, saved = _by_name_case(tmp_path, "tf")
    expected = _tf_error(renamed_and_reshaped(tf_keras()), path, skip_mismatch=True)
    assert "skip_mismatch can only be set to True when by_name is True" in expected
    model = renamed_and_reshaped(nk)
    with pytest.warns(UserWarning, match="named c in the current model, c in the save file"):
        report = model.load_weights(path, skip_mismatch=True)
    # topological: a, b_renamed (paired with b) and bn load; c is skipped
    assert report.loaded == ["a", "b_renamed", "bn"]
    assert_same_weights(model.get_weights()[:8], saved[:8])


# -- files from older writers (hand-built), checked against tf-keras ------------------------

def _old_style_file(path, values, *, vlen_utf8=False, top_level=False, weightless_attr=True):
    """A multi-backend-Keras-2.3-style file: ``dense_1`` names, no top-level group."""
    def strings(items):
        if vlen_utf8:
            return np.array(items, dtype=h5py.string_dtype("utf-8"))
        return np.array([s.encode() for s in items])

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = strings(["dense_1", "dropout_1", "dense_2"])
        f.attrs["backend"] = "tensorflow" if vlen_utf8 else np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = "2.3.1" if vlen_utf8 else np.bytes_(b"2.3.1")
        for layer, names in (("dense_1", ["dense_1/kernel:0", "dense_1/bias:0"]),
                             ("dense_2", ["dense_2/kernel:0", "dense_2/bias:0"])):
            g = f.create_group(layer)
            g.attrs["weight_names"] = strings(names)
            for name in names:
                g.create_dataset(name, data=values.pop(0))
        g = f.create_group("dropout_1")
        if weightless_attr:
            g.attrs["weight_names"] = np.array([], dtype="float64")
        if top_level:
            f.create_group("top_level_model_weights").attrs["weight_names"] = \
                np.array([], dtype="float64")


@pytest.mark.parametrize("vlen_utf8", [False, True])
def test_multi_backend_style_file_loads_like_tf_keras(tmp_path, vlen_utf8):
    def build(k):
        return k.Sequential([k.layers.Dense(4, input_shape=(3,)), k.layers.Dropout(0.5),
                             k.layers.Dense(2)])

    rng = np.random.default_rng(9)
    values = [rng.normal(size=s).astype("float32") for s in [(3, 4), (4,), (4, 2), (2,)]]
    path = str(tmp_path / "mb.h5")
    _old_style_file(path, list(values), vlen_utf8=vlen_utf8, weightless_attr=not vlen_utf8)
    tf_model = build(tf_keras())
    tf_model.load_weights(path)
    model = build(nk)
    model.load_weights(path)
    assert_same_weights(model.get_weights(), tf_model.get_weights())
    assert_same_weights(model.get_weights(), values)


def test_transposed_conv_kernel_is_converted_like_tf_keras(tmp_path):
    """tf-keras transposes a rank-4 conv kernel of the wrong shape with axes (3, 2, 0, 1)."""
    def build(k):
        return k.Sequential([k.layers.Conv2D(4, (3, 2), input_shape=(6, 6, 3))])

    rng = np.random.default_rng(11)
    kernel = rng.normal(size=(3, 4, 2, 3)).astype("float32")  # (in, out, kw, kh)
    bias = rng.normal(size=(4,)).astype("float32")
    path = str(tmp_path / "conv.h5")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"conv2d"])
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.2.4")
        g = f.create_group("conv2d")
        g.attrs["weight_names"] = np.array([b"conv2d/kernel:0", b"conv2d/bias:0"])
        g.create_dataset("conv2d/kernel:0", data=kernel)
        g.create_dataset("conv2d/bias:0", data=bias)
    tf_model = build(tf_keras())
    tf_model.load_weights(path)
    model = build(nk)
    model.load_weights(path)
    assert_same_weights(model.get_weights(), tf_model.get_weights())
    x = _x(2, 6, 6, 3)
    assert_close_outputs(model.predict(x), _tf_out(tf_model, x))


def test_subclassed_model_with_its_own_weights(tmp_path):
    """The model's own variables travel in ``top_level_model_weights``."""
    def build(k):
        class Scaled(k.Model):
            def __init__(self):
                super().__init__(name="scaled")
                self.dense = k.layers.Dense(3)
                self.scale = self.add_weight(name="scale", shape=(3,), initializer="ones")
                self.offset = self.add_weight(name="offset", shape=(), initializer="zeros",
                                              trainable=False)

            def call(self, x):
                return self.dense(x) * self.scale + self.offset

        model = Scaled()
        model(_x(1, 2))
        return model

    both_directions(build, _x(4, 2), tmp_path)
    with h5py.File(tmp_path / "from_numkeras.h5", "r") as f:
        names = [n.decode() for n in f["top_level_model_weights"].attrs["weight_names"]]
    assert names == ["scale:0", "offset:0"]
