"""The audit of issue 13: every class tf-keras 2.21 exports from ``tf_keras.layers`` (and
``layers.experimental`` / ``experimental.preprocessing``) that a saved model can contain is
round-tripped through files against real tf-keras, and against Keras 3.15 where Keras 3 has
the class; every other class is listed with the reason.

A class is accounted for in exactly one of three places:

* ``SPECS`` (this file): tf-keras builds a model with the class, gives every weight a distinct
  random value and saves ``.keras``, ``.h5`` and a TF checkpoint; numkeras loads each with the
  same weight names, values and outputs; numkeras saves ``.keras`` (tf-keras style), a
  full-model ``.h5`` and a checkpoint, and tf-keras loads each with the same values and
  outputs. Where Keras 3 has the class: Keras 3's ``.keras`` loads in numkeras with Keras 3's
  outputs, and the Keras 3-style ``.keras`` numkeras writes back loads in Keras 3 with the
  same weights and outputs.
* ``ELSEWHERE``: classes whose cases need more than one layer call on float tensors
  (vocabularies, strings, wrappers tf-keras cannot rebuild...), tested the same way in
  another module's case table; the audit checks that the table holds the class.
* ``NOT_COVERED``: with the reason.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from tf_side import (
    assert_close_outputs,
    assert_same_weights,
    keras3,
    random_weights,
    tf_keras,
)

import numkeras
from numkeras.models import load_model

F = "float32"


def _spec(make, *inputs, call=None, k3=True):
    """``make(layers_namespace) -> layer``; inputs: ``(shape, dtype)``; ``call(layer, xs)``."""
    return {"make": make, "inputs": inputs or (((4,), F),), "call": call, "k3": k3}


def _two(shape=(4,)):
    return ((shape, F), (shape, F))


def _kw(name, **kwargs):
    return lambda L: getattr(L, name)(**kwargs)


IMG1, IMG2, IMG3 = ((7, 3), F), ((6, 5, 3), F), ((4, 5, 4, 2), F)
SEQ = ((5, 3), F)

SPECS = {
    # core
    "Dense": _spec(_kw("Dense", units=3, activation="tanh")),
    "Activation": _spec(_kw("Activation", activation="softplus")),
    "Dropout": _spec(_kw("Dropout", rate=0.3)),
    "Flatten": _spec(_kw("Flatten"), ((3, 2), F)),
    "Reshape": _spec(_kw("Reshape", target_shape=(2, 3)), ((6,), F)),
    "Permute": _spec(_kw("Permute", dims=(2, 1)), ((3, 2), F)),
    "RepeatVector": _spec(_kw("RepeatVector", n=2)),
    "Masking": _spec(_kw("Masking", mask_value=0.5), SEQ),
    "Embedding": _spec(_kw("Embedding", input_dim=7, output_dim=3), ((4,), "int32")),
    # activations
    "ELU": _spec(_kw("ELU", alpha=0.7)),
    "LeakyReLU": _spec(_kw("LeakyReLU")),
    "PReLU": _spec(_kw("PReLU"), SEQ),
    "ReLU": _spec(_kw("ReLU", max_value=1.5, negative_slope=0.1, threshold=0.2)),
    "Softmax": _spec(_kw("Softmax", axis=-1)),
    "ThresholdedReLU": _spec(_kw("ThresholdedReLU", theta=0.3), k3=False),
    # merging
    "Add": _spec(_kw("Add"), *_two()),
    "Subtract": _spec(_kw("Subtract"), *_two()),
    "Multiply": _spec(_kw("Multiply"), *_two()),
    "Average": _spec(_kw("Average"), *_two()),
    "Maximum": _spec(_kw("Maximum"), *_two()),
    "Minimum": _spec(_kw("Minimum"), *_two()),
    "Concatenate": _spec(_kw("Concatenate", axis=1), ((3, 2), F), ((4, 2), F)),
    "Dot": _spec(_kw("Dot", axes=1, normalize=True), *_two()),
    # convolutions
    "Conv1D": _spec(_kw("Conv1D", filters=2, kernel_size=3, padding="same"), IMG1),
    "Conv2D": _spec(_kw("Conv2D", filters=2, kernel_size=3, strides=2), IMG2),
    "Conv3D": _spec(_kw("Conv3D", filters=2, kernel_size=2), IMG3),
    "Conv1DTranspose": _spec(_kw("Conv1DTranspose", filters=2, kernel_size=3, strides=2),
                             IMG1),
    "Conv2DTranspose": _spec(_kw("Conv2DTranspose", filters=2, kernel_size=3), IMG2),
    "Conv3DTranspose": _spec(_kw("Conv3DTranspose", filters=2, kernel_size=2), IMG3),
    "DepthwiseConv1D": _spec(_kw("DepthwiseConv1D", kernel_size=3, depth_multiplier=2), IMG1),
    "DepthwiseConv2D": _spec(_kw("DepthwiseConv2D", kernel_size=3), IMG2),
    "SeparableConv1D": _spec(_kw("SeparableConv1D", filters=2, kernel_size=3), IMG1),
    "SeparableConv2D": _spec(_kw("SeparableConv2D", filters=2, kernel_size=3), IMG2),
    # pooling
    "AveragePooling1D": _spec(_kw("AveragePooling1D", pool_size=2), IMG1),
    "AveragePooling2D": _spec(_kw("AveragePooling2D", pool_size=2, padding="same"), IMG2),
    "AveragePooling3D": _spec(_kw("AveragePooling3D", pool_size=2), IMG3),
    "MaxPooling1D": _spec(_kw("MaxPooling1D", pool_size=3), IMG1),
    "MaxPooling2D": _spec(_kw("MaxPooling2D"), IMG2),
    "MaxPooling3D": _spec(_kw("MaxPooling3D"), IMG3),
    "GlobalAveragePooling1D": _spec(_kw("GlobalAveragePooling1D"), IMG1),
    "GlobalAveragePooling2D": _spec(_kw("GlobalAveragePooling2D", keepdims=True), IMG2),
    "GlobalAveragePooling3D": _spec(_kw("GlobalAveragePooling3D"), IMG3),
    "GlobalMaxPooling1D": _spec(_kw("GlobalMaxPooling1D"), IMG1),
    "GlobalMaxPooling2D": _spec(_kw("GlobalMaxPooling2D"), IMG2),
    "GlobalMaxPooling3D": _spec(_kw("GlobalMaxPooling3D"), IMG3),
    # reshaping
    "Cropping1D": _spec(_kw("Cropping1D", cropping=(1, 2)), IMG1),
    "Cropping2D": _spec(_kw("Cropping2D", cropping=1), IMG2),
    "Cropping3D": _spec(_kw("Cropping3D", cropping=1), IMG3),
    "UpSampling1D": _spec(_kw("UpSampling1D"), IMG1),
    "UpSampling2D": _spec(_kw("UpSampling2D", interpolation="bilinear"), IMG2),
    "UpSampling3D": _spec(_kw("UpSampling3D"), IMG3),
    "ZeroPadding1D": _spec(_kw("ZeroPadding1D"), IMG1),
    "ZeroPadding2D": _spec(_kw("ZeroPadding2D", padding=(1, 2)), IMG2),
    "ZeroPadding3D": _spec(_kw("ZeroPadding3D"), IMG3),
    # normalization
    "BatchNormalization": _spec(_kw("BatchNormalization"), IMG2),
    "LayerNormalization": _spec(_kw("LayerNormalization"), SEQ),
    "GroupNormalization": _spec(_kw("GroupNormalization", groups=2), ((5, 4), F)),
    "UnitNormalization": _spec(_kw("UnitNormalization")),
    # regularization (the identity at inference)
    "AlphaDropout": _spec(_kw("AlphaDropout", rate=0.2)),
    "GaussianDropout": _spec(_kw("GaussianDropout", rate=0.2)),
    "GaussianNoise": _spec(_kw("GaussianNoise", stddev=0.2)),
    "SpatialDropout1D": _spec(_kw("SpatialDropout1D", rate=0.2), IMG1),
    "SpatialDropout2D": _spec(_kw("SpatialDropout2D", rate=0.2), IMG2),
    "SpatialDropout3D": _spec(_kw("SpatialDropout3D", rate=0.2), IMG3),
    # recurrent
    "SimpleRNN": _spec(_kw("SimpleRNN", units=2, return_sequences=True), SEQ),
    "LSTM": _spec(_kw("LSTM", units=2), SEQ),
    "GRU": _spec(_kw("GRU", units=2), SEQ),
    "RNN": _spec(lambda L: L.RNN(L.LSTMCell(2), go_backwards=True), SEQ),
    "SimpleRNNCell": _spec(lambda L: L.RNN(L.SimpleRNNCell(3)), SEQ),
    "LSTMCell": _spec(lambda L: L.RNN(L.LSTMCell(3), return_sequences=True), SEQ),
    "GRUCell": _spec(lambda L: L.RNN(L.GRUCell(3, reset_after=False)), SEQ),
    "StackedRNNCells": _spec(lambda L: L.RNN(L.StackedRNNCells([L.LSTMCell(2), L.GRUCell(3)])),
                             SEQ),
    "Bidirectional": _spec(lambda L: L.Bidirectional(L.GRU(2, return_sequences=True)), SEQ),
    "TimeDistributed": _spec(lambda L: L.TimeDistributed(L.Dense(2)), SEQ),
    "ConvLSTM1D": _spec(_kw("ConvLSTM1D", filters=2, kernel_size=2), ((3, 5, 2), F)),
    "ConvLSTM2D": _spec(_kw("ConvLSTM2D", filters=2, kernel_size=2, padding="same"),
                        ((3, 4, 4, 2), F)),
    "ConvLSTM3D": _spec(_kw("ConvLSTM3D", filters=2, kernel_size=2), ((2, 3, 3, 3, 1), F)),
    # attention
    "Attention": _spec(_kw("Attention", use_scale=True), ((3, 4), F), ((5, 4), F),
                       call=lambda layer, xs: layer(xs)),
    "AdditiveAttention": _spec(_kw("AdditiveAttention"), ((3, 4), F), ((5, 4), F),
                               call=lambda layer, xs: layer(xs)),
    "MultiHeadAttention": _spec(_kw("MultiHeadAttention", num_heads=2, key_dim=3),
                                ((3, 4), F), ((5, 4), F), call=lambda layer, xs: layer(*xs)),
    "EinsumDense": _spec(_kw("EinsumDense", equation="ab,bc->ac", output_shape=3,
                             bias_axes="c")),
    # preprocessing with float inputs
    "Normalization": _spec(_kw("Normalization", mean=[0.5, -1.0, 2.0],
                               variance=[4.0, 0.25, 1.0]), ((3,), F)),
    "Rescaling": _spec(_kw("Rescaling", scale=0.5, offset=1.0)),
    "Resizing": _spec(_kw("Resizing", height=4, width=7), IMG2),
    "CenterCrop": _spec(_kw("CenterCrop", height=4, width=3), IMG2),
}

#: class -> (test module, table): file round trips with tf-keras (and Keras 3) live there
ELSEWHERE = {
    **dict.fromkeys(["Identity", "ActivityRegularization", "RandomFlip", "RandomRotation",
                     "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
                     "RandomHeight", "RandomWidth", "RandomCrop", "LocallyConnected1D",
                     "LocallyConnected2D", "CategoryEncoding", "Discretization",
                     "RandomFourierFeatures", "SyncBatchNormalization"],
                    ("test_layers_issue13_interop", "CASES")),
    **dict.fromkeys(["StringLookup", "IntegerLookup", "TextVectorization"],
                    ("test_lookup_layers_interop", "CASES")),
    "Hashing": ("test_lookup_layers_interop", "test_hashing_matches_tf_keras_and_keras3_both_ways"),
    "HashedCrossing": ("test_lookup_layers_interop",
                       "test_hashed_crossing_matches_tf_keras_both_ways"),
    # tf-keras cannot rebuild it from its own model files: weights files both ways
    "SpectralNormalization": ("test_layers_issue13_interop",
                              "test_spectral_normalization_both_ways"),
    # every model file holds one
    "InputLayer": ("test_every_layer_class_interop", "SPECS"),
}

#: classes no saved model holds as a working layer, or that numkeras does not rebuild
NOT_COVERED = {
    "Layer": "the abstract base class; a subclass in a file is a custom class "
             "(register_keras_serializable / custom_objects)",
    "Wrapper": "abstract base of Bidirectional/TimeDistributed (tf-keras cannot "
               "instantiate it)",
    "AbstractRNNCell": "abstract base class of RNN cells (user subclasses are custom classes)",
    "PreprocessingLayer": "abstract base class of the preprocessing layers",
    "InputSpec": "not a layer: an input constraint object, never saved as a layer",
    "Lambda": "its config is marshalled Python bytecode, which numkeras never runs: refused "
              "with custom_objects advice (test_layers_issue13_interop."
              "test_lambda_is_refused_with_custom_objects_advice)",
    "DenseFeatures": "its config is a list of tf.feature_column objects (a TF-only, "
                     "deprecated API whose transformations are TF graph code)",
    "DynamicEmbedding": "experimental layer whose vocabulary a training callback changes in a "
                        "mutable TF lookup table (string variables); tf-keras 2.21 cannot "
                        "reload it from .keras (class not registered: \"'str' object is not "
                        "callable\") nor write it to .h5 (string weights)",
    "DynamicLookup": "the mutable lookup table of DynamicEmbedding (same limits); not rebuilt",
}


def _tf_keras_classes() -> dict:
    """Public class name -> class object, over the three tf-keras namespaces."""
    tfk = tf_keras()
    out = {}
    for ns in (tfk.layers, tfk.layers.experimental, tfk.layers.experimental.preprocessing):
        for name in dir(ns):
            obj = getattr(ns, name)
            if not name.startswith("_") and isinstance(obj, type):
                out[name] = obj
    return out


def _accounted_names(classes: dict) -> set:
    """Names accounted for directly, or as an alias of an accounted class (Conv2D /
    Convolution2D, MaxPooling2D / MaxPool2D, ...)."""
    direct = set(SPECS) | set(ELSEWHERE) | set(NOT_COVERED)
    objects = {classes[n] for n in direct if n in classes}
    return {n for n, c in classes.items() if n in direct or c in objects}


def test_every_tf_keras_layer_class_is_accounted_for():
    classes = _tf_keras_classes()
    missing = sorted(set(classes) - _accounted_names(classes))
    assert not missing, f"tf_keras.layers classes neither tested nor listed: {missing}"
    lists = (set(SPECS), set(ELSEWHERE), set(NOT_COVERED))
    for i, a in enumerate(lists):
        for b in lists[i + 1:]:
            assert not a & b, f"listed twice: {sorted(a & b)}"
    stale = sorted((set(SPECS) | set(ELSEWHERE) | set(NOT_COVERED)) - set(classes))
    assert not stale, f"not tf_keras.layers classes: {stale}"
    # every class numkeras lacks is among the reasoned exceptions
    absent = sorted(n for n in classes if not hasattr(numkeras.layers, n)
                    and not hasattr(numkeras.layers.experimental, n))
    assert set(absent) <= set(NOT_COVERED), absent


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_classes_tested_elsewhere_are_in_those_tables(name):
    module_name, table = ELSEWHERE[name]
    module = importlib.import_module(module_name)
    value = getattr(module, table)
    if callable(value):
        return  # a dedicated test function of that module, named after the class
    names = {case[0] for case in value} if isinstance(value, list) else set(value)
    assert name in names or name == "InputLayer", f"{module_name}.{table} has no {name} case"


# -- the round trips --------------------------------------------------------------------------
def _x(spec, seed):
    rng = np.random.default_rng(seed)
    out = []
    for shape, dtype in spec["inputs"]:
        if dtype.startswith("int"):
            out.append(rng.integers(0, 7, (2,) + shape).astype(dtype))
        else:
            out.append(rng.standard_normal((2,) + shape).astype(dtype))
    return out


def _build(lib, name):
    spec = SPECS[name]
    inputs = [lib.Input(shape, dtype=dtype) for shape, dtype in spec["inputs"]]
    layer = spec["make"](lib.layers)
    if spec["call"] is not None:
        out = spec["call"](layer, inputs)
    else:
        out = layer(inputs[0] if len(inputs) == 1 else inputs)
    return lib.Model(inputs, out)


def _feed(xs):
    return xs[0] if len(xs) == 1 else xs


@pytest.mark.parametrize("name", sorted(SPECS))
def test_tf_keras_files_load_and_numkeras_files_load_in_tf_keras(tmp_path, name):
    tfk = tf_keras()
    theirs = _build(tfk, name)
    theirs.set_weights(random_weights(theirs, seed=1))
    x = _feed(_x(SPECS[name], seed=2))
    expected = theirs.predict(x, verbose=0)
    names = [w.name for w in theirs.weights]
    values = theirs.get_weights()
    theirs.save(str(tmp_path / "t.keras"))
    theirs.save(str(tmp_path / "t.h5"))
    theirs.save_weights(str(tmp_path / "tckpt" / "w"))
    for path in ("t.keras", "t.h5"):
        numkeras.backend.clear_session()
        ours = load_model(str(tmp_path / path))
        assert [w.name for w in ours.weights] == names, path
        assert_same_weights(ours.get_weights(), values)
        assert_close_outputs(ours.predict(x), expected)
    numkeras.backend.clear_session()
    twin = _build(numkeras, name)
    assert [w.name for w in twin.weights] == names
    twin.load_weights(str(tmp_path / "tckpt" / "w"))
    assert_same_weights(twin.get_weights(), values)
    assert_close_outputs(twin.predict(x), expected)

    # numkeras's files, read by tf-keras
    from numkeras.saving.keras_v3 import save_model

    save_model(twin, str(tmp_path / "o.keras"), style="tf_keras")
    twin.save(str(tmp_path / "o.h5"))
    twin.save_weights(str(tmp_path / "ockpt" / "w"))
    for path in ("o.keras", "o.h5"):
        back = tf_keras().models.load_model(str(tmp_path / path))
        assert [w.name for w in back.weights] == names, path
        assert_same_weights(back.get_weights(), values)
        assert_close_outputs(back.predict(x, verbose=0), expected)
    again = _build(tf_keras(), name)
    again.load_weights(str(tmp_path / "ockpt" / "w")).assert_consumed()
    assert_same_weights(again.get_weights(), values)


K3_SPECS = sorted(n for n, s in SPECS.items() if s["k3"])


@pytest.mark.parametrize("name", K3_SPECS)
def test_keras3_file_loads_and_numkeras_keras3_file_loads_in_keras3(tmp_path, name):
    k3 = keras3()
    theirs = _build(k3, name)
    theirs.set_weights(random_weights(theirs, seed=3))
    x = _feed(_x(SPECS[name], seed=4))
    expected = np.asarray(theirs.predict(x, verbose=0))
    values = theirs.get_weights()
    theirs.save(str(tmp_path / "k3.keras"))
    numkeras.backend.clear_session()
    ours = load_model(str(tmp_path / "k3.keras"))
    assert len(ours.weights) == len(values)
    assert_close_outputs(ours.predict(x), expected)
    ours.save(str(tmp_path / "back.keras"))  # Keras 3 style
    again = keras3().models.load_model(str(tmp_path / "back.keras"))
    assert_same_weights(again.get_weights(), values)
    assert_close_outputs(np.asarray(again.predict(x, verbose=0)), expected)


def _zoo(lib):
    """One model holding every class of SPECS, each on its own inputs."""
    inputs, outputs = [], []
    for name in sorted(SPECS):
        spec = SPECS[name]
        ins = [lib.Input(shape, dtype=dtype) for shape, dtype in spec["inputs"]]
        layer = spec["make"](lib.layers)
        out = spec["call"](layer, ins) if spec["call"] else layer(ins[0] if len(ins) == 1
                                                                   else ins)
        inputs += ins
        outputs.append(out)
    return lib.Model(inputs, outputs)


def test_every_class_in_one_model_through_saved_model_and_weights_h5(tmp_path):
    tfk = tf_keras()
    theirs = _zoo(tfk)
    theirs.set_weights(random_weights(theirs, seed=5))
    xs = [x for name in sorted(SPECS) for x in _x(SPECS[name], seed=6)]
    expected = theirs.predict(xs, verbose=0)
    theirs.save(str(tmp_path / "saved_model"), save_format="tf")
    theirs.save_weights(str(tmp_path / "t.weights.h5"))
    numkeras.backend.clear_session()
    ours = load_model(str(tmp_path / "saved_model"))
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert_same_weights(ours.get_weights(), theirs.get_weights())
    for got, want in zip(ours.predict(xs), expected):
        assert_close_outputs(got, want)
    numkeras.backend.clear_session()
    twin = _zoo(numkeras)
    twin.load_weights(str(tmp_path / "t.weights.h5"))
    assert_same_weights(twin.get_weights(), theirs.get_weights())
    twin.save_weights(str(tmp_path / "o.weights.h5"))
    back = _zoo(tf_keras())
    back.load_weights(str(tmp_path / "o.weights.h5"))
    assert_same_weights(back.get_weights(), theirs.get_weights())
    for got, want in zip(back.predict(xs, verbose=0), expected):
        assert_close_outputs(got, want)
