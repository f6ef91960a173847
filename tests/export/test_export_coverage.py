"""Every layer class ``numkeras.layers`` exports either lowers to ONNX (a small model through
ONNX Runtime gives the NumPy engine's outputs; the file passes the full checker) or is in
:data:`NOT_LOWERABLE` with the reason. A new layer class fails
``test_every_public_layer_class_is_covered`` until it gets a case here (and a lowering in
``numkeras/export/``) or a documented entry in ``NOT_LOWERABLE``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy, randomize

from numkeras import Input, Model, backend, layers, ops
from numkeras.engine.base_layer import Layer

#: Layer classes with no ONNX lowering, and why (docs/onnx.md repeats this list).
NOT_LOWERABLE = {
    "Layer": "the base class of custom layers, whose call is Python code that export never runs",
    "Wrapper": "an abstract base class (TimeDistributed and Bidirectional lower)",
    "InputLayer": "no computation: it becomes the ONNX graph input",
    "StringLookup": "string inputs; ONNX Runtime's string ops cannot reproduce the lookup's "
                    "byte-exact keys and FarmHash OOV buckets",
    "TextVectorization": "TF's regex standardization and string splitting have no exact ONNX "
                         "equivalent",
    "Hashing": "TF's FarmHash64 / SipHash-2-4 of the values' decimal strings have no ONNX op",
    "HashedCrossing": "TF's FarmHash of crossed feature strings has no ONNX op",
}

RNG = np.random.default_rng(7)


def _f(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, (2, *shape)).astype(np.float32)


def _ids(*shape, high=9, zeros=True):
    x = RNG.integers(1, high, (2, *shape))
    if zeros:  # padding the masks see: trailing zeros in row 0, a zero inside row 1
        x[0, -2:] = 0
        x[1, 1] = 0
    return x.astype(np.int32)


def _single(make, shape, data=None, dtype="float32"):
    def build():
        x = Input(shape, dtype=dtype)
        return Model(x, make()(x)), [data if data is not None else _f(*shape)]
    return build


def _multi(make, shapes, **kwargs):
    def build():
        xs = [Input(s) for s in shapes]
        return Model(xs, make()(xs, **kwargs)), [_f(*s) for s in shapes]
    return build


def _masked(make, steps=6):
    """``Embedding(mask_zero=True)`` then the layer: the mask reaches it."""
    def build():
        x = Input((steps,), dtype="int32")
        return Model(x, make()(layers.Embedding(10, 4, mask_zero=True)(x))), [_ids(steps)]
    return build


def _attention(cls, **kwargs):
    def build():
        q, v = Input((5,), dtype="int32"), Input((4,), dtype="int32")
        emb = layers.Embedding(10, 4, mask_zero=True)
        return Model([q, v], cls()([emb(q), emb(v)], **kwargs)), [_ids(5), _ids(4)]
    return build


def _mha():
    q, v = Input((5,), dtype="int32"), Input((4,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    y = layers.MultiHeadAttention(2, 3)(emb(q), emb(v), use_causal_mask=True)
    return Model([q, v], y), [_ids(5), _ids(4)]


def _cell(make, states):
    def build():
        x, hs = Input((5,)), [Input((3,)) for _ in range(states)]
        out, new = make()(x, hs)
        return Model([x, *hs], [out, *new]), [_f(5), *[_f(3) for _ in hs]]
    return build


def _tf_ops():
    x, z = Input((4, 6)), Input((4, 6))
    t = layers.TFOpLambda
    y = t("math.reduce_mean")(t("nn.gelu")(x * 2.0 - z), axis=-1, keepdims=True)
    y = t("concat")([y, t("linalg.matmul")(x, z, transpose_b=True)], axis=-1)
    return Model([x, z], y), [_f(4, 6), _f(4, 6)]


def _slicing():
    x = Input((4, 6))
    return Model(x, [x[:, 1:3], x[:, -1, ::-1], x[..., None, 2]]), [_f(4, 6)]


def _keras3_ops():
    x = Input((4, 6))
    y = ops.softmax(ops.matmul(x, ops.transpose(x, (0, 2, 1))), axis=-1)
    return Model(x, ops.mean(ops.add(y, 1.0), axis=-1)), [_f(4, 6)]


CASES = {
    "Activation": _single(lambda: layers.Activation("gelu"), (3, 4)),
    "ActivityRegularization": _single(lambda: layers.ActivityRegularization(0.1), (4,)),
    "Add": _multi(layers.Add, [(3, 4), (3, 4)]),
    "AdditiveAttention": _attention(layers.AdditiveAttention, use_causal_mask=True),
    "AlphaDropout": _single(lambda: layers.AlphaDropout(0.5), (4,)),
    "Attention": _attention(lambda: layers.Attention(use_scale=True)),
    "Average": _multi(layers.Average, [(4,), (4,)]),
    "AveragePooling1D": _single(lambda: layers.AveragePooling1D(2), (6, 3)),
    "AveragePooling2D": _single(lambda: layers.AveragePooling2D(2, padding="same"), (5, 5, 2)),
    "AveragePooling3D": _single(lambda: layers.AveragePooling3D(2), (4, 4, 4, 2)),
    "BatchNormalization": _single(layers.BatchNormalization, (5, 3)),
    "Bidirectional": _masked(lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True))),
    "CategoryEncoding": _single(lambda: layers.CategoryEncoding(6, "count"), (3,),
                                _ids(3, high=6, zeros=False), "int32"),
    "CenterCrop": _single(lambda: layers.CenterCrop(3, 4), (None, None, 2), _f(6, 7, 2)),
    "Concatenate": _multi(layers.Concatenate, [(3, 2), (3, 4)]),
    "Conv1D": _single(lambda: layers.Conv1D(3, 3, padding="causal", dilation_rate=2), (7, 2)),
    "Conv1DTranspose": _single(lambda: layers.Conv1DTranspose(3, 3, strides=2), (5, 2)),
    "Conv2D": _single(lambda: layers.Conv2D(4, 3, strides=2, padding="same"), (7, 7, 2)),
    "Conv2DTranspose": _single(lambda: layers.Conv2DTranspose(3, 2, strides=2), (4, 4, 2)),
    "Conv3D": _single(lambda: layers.Conv3D(2, 2), (4, 4, 4, 2)),
    "Conv3DTranspose": _single(lambda: layers.Conv3DTranspose(2, 2), (3, 3, 3, 2)),
    "ConvLSTM1D": _single(lambda: layers.ConvLSTM1D(2, 3, padding="same"), (4, 6, 2)),
    "ConvLSTM2D": _single(lambda: layers.ConvLSTM2D(2, 3, return_sequences=True), (3, 5, 5, 2)),
    "ConvLSTM3D": _single(lambda: layers.ConvLSTM3D(2, 2, return_state=True), (3, 3, 3, 3, 1)),
    "Cropping1D": _single(lambda: layers.Cropping1D((1, 2)), (6, 2)),
    "Cropping2D": _single(lambda: layers.Cropping2D(((1, 0), (0, 2))), (5, 5, 2)),
    "Cropping3D": _single(lambda: layers.Cropping3D(1), (4, 4, 4, 1)),
    "CuDNNGRU": _single(lambda: layers.CuDNNGRU(3, return_sequences=True), (5, 4)),
    "CuDNNLSTM": _single(lambda: layers.CuDNNLSTM(3, go_backwards=True), (5, 4)),
    "Dense": _single(lambda: layers.Dense(3, activation="swish"), (2, 4)),
    "DepthwiseConv1D": _single(lambda: layers.DepthwiseConv1D(3, depth_multiplier=2), (6, 2)),
    "DepthwiseConv2D": _single(lambda: layers.DepthwiseConv2D(3, padding="same"), (5, 5, 3)),
    "Discretization": _single(lambda: layers.Discretization([-1.0, 0.0, 0.5]), (5,)),
    "Dot": _multi(lambda: layers.Dot(axes=(2, 2), normalize=True), [(3, 4), (5, 4)]),
    "Dropout": _single(lambda: layers.Dropout(0.5), (4,)),
    "ELU": _single(lambda: layers.ELU(0.5), (4,)),
    "EinsumDense": _single(lambda: layers.EinsumDense("abc,cd->abd", (3, 5), bias_axes="d"),
                           (3, 4)),
    "Embedding": _masked(lambda: layers.GlobalAveragePooling1D()),
    "Flatten": _single(layers.Flatten, (3, 2, 2)),
    "GRU": _masked(lambda: layers.GRU(3, go_backwards=True)),
    "GRUCell": _cell(lambda: layers.GRUCell(3), 1),
    "GaussianDropout": _single(lambda: layers.GaussianDropout(0.3), (4,)),
    "GaussianNoise": _single(lambda: layers.GaussianNoise(0.3), (4,)),
    "GlobalAveragePooling1D": _masked(layers.GlobalAveragePooling1D),
    "GlobalAveragePooling2D": _single(layers.GlobalAveragePooling2D, (4, 4, 3)),
    "GlobalAveragePooling3D": _single(layers.GlobalAveragePooling3D, (3, 3, 3, 2)),
    "GlobalMaxPooling1D": _single(layers.GlobalMaxPooling1D, (5, 3)),
    "GlobalMaxPooling2D": _single(lambda: layers.GlobalMaxPooling2D(keepdims=True), (4, 4, 3)),
    "GlobalMaxPooling3D": _single(layers.GlobalMaxPooling3D, (3, 3, 3, 2)),
    "GroupNormalization": _single(lambda: layers.GroupNormalization(2), (3, 4)),
    "Identity": _single(layers.Identity, (4,)),
    "IntegerLookup": _single(lambda: layers.IntegerLookup(vocabulary=[3, 5, 8], mask_token=0,
                                                           output_mode="multi_hot"),
                             (4,), _ids(4), "int32"),
    "LSTM": _masked(lambda: layers.LSTM(3, return_sequences=True, return_state=True)),
    "LSTMCell": _cell(lambda: layers.LSTMCell(3), 2),
    "LayerNormalization": _single(layers.LayerNormalization, (3, 4)),
    "LeakyReLU": _single(lambda: layers.LeakyReLU(0.1), (4,)),
    "LocallyConnected1D": _single(lambda: layers.LocallyConnected1D(2, 3), (6, 2)),
    "LocallyConnected2D": _single(lambda: layers.LocallyConnected2D(2, 2, implementation=2),
                                  (4, 4, 2)),
    "Masking": _single(lambda: layers.Masking(0.0), (5, 3),
                       _f(5, 3) * (RNG.uniform(size=(2, 5, 1)) > 0.4)),
    "MaxPooling1D": _single(lambda: layers.MaxPooling1D(2), (6, 3)),
    "MaxPooling2D": _single(lambda: layers.MaxPooling2D(3, strides=2), (7, 7, 2)),
    "MaxPooling3D": _single(lambda: layers.MaxPooling3D(2), (4, 4, 4, 1)),
    "Maximum": _multi(layers.Maximum, [(4,), (4,)]),
    "Minimum": _multi(layers.Minimum, [(4,), (4,)]),
    "MultiHeadAttention": _mha,
    "Multiply": _multi(layers.Multiply, [(4,), (4,)]),
    "Normalization": _single(lambda: layers.Normalization(mean=0.5, variance=2.0), (4,)),
    "OperationLayer": _keras3_ops,
    "PReLU": _single(layers.PReLU, (3, 4)),
    "Permute": _single(lambda: layers.Permute((2, 1)), (3, 4)),
    "RNN": _masked(lambda: layers.RNN(layers.StackedRNNCells([layers.LSTMCell(3),
                                                               layers.SimpleRNNCell(2)]))),
    "RandomBrightness": _single(lambda: layers.RandomBrightness(0.2), (4, 4, 3)),
    "RandomContrast": _single(lambda: layers.RandomContrast(0.2), (4, 4, 3)),
    "RandomCrop": _single(lambda: layers.RandomCrop(3, 3), (None, None, 2), _f(5, 7, 2)),
    "RandomFlip": _single(layers.RandomFlip, (4, 4, 3)),
    "RandomFourierFeatures": _single(lambda: layers.RandomFourierFeatures(5), (3,)),
    "RandomHeight": _single(lambda: layers.RandomHeight(0.2), (4, 4, 3)),
    "RandomRotation": _single(lambda: layers.RandomRotation(0.2), (4, 4, 3)),
    "RandomTranslation": _single(lambda: layers.RandomTranslation(0.2, 0.2), (4, 4, 3)),
    "RandomWidth": _single(lambda: layers.RandomWidth(0.2), (4, 4, 3)),
    "RandomZoom": _single(lambda: layers.RandomZoom(0.2), (4, 4, 3)),
    "ReLU": _single(lambda: layers.ReLU(max_value=1.0, threshold=0.2), (4,)),
    "RepeatVector": _single(lambda: layers.RepeatVector(3), (4,)),
    "Rescaling": _single(lambda: layers.Rescaling(1 / 255.0, offset=-1.0), (4,)),
    "Reshape": _single(lambda: layers.Reshape((2, -1)), (3, 4)),
    "Resizing": _single(lambda: layers.Resizing(5, 3), (None, None, 2), _f(4, 7, 2)),
    "SeparableConv1D": _single(lambda: layers.SeparableConv1D(3, 3), (6, 2)),
    "SeparableConv2D": _single(lambda: layers.SeparableConv2D(3, 3), (5, 5, 2)),
    "SimpleRNN": _masked(lambda: layers.SimpleRNN(3, return_sequences=True)),
    "SimpleRNNCell": _cell(lambda: layers.SimpleRNNCell(3), 1),
    "SlicingOpLambda": _slicing,
    "Softmax": _single(lambda: layers.Softmax(axis=1), (3, 4)),
    "SpatialDropout1D": _single(lambda: layers.SpatialDropout1D(0.5), (3, 4)),
    "SpatialDropout2D": _single(lambda: layers.SpatialDropout2D(0.5), (3, 3, 4)),
    "SpatialDropout3D": _single(lambda: layers.SpatialDropout3D(0.5), (2, 3, 3, 4)),
    "SpectralNormalization": _single(lambda: layers.SpectralNormalization(layers.Dense(3)), (4,)),
    "StackedRNNCells": _cell(lambda: layers.StackedRNNCells([layers.GRUCell(3),
                                                             layers.SimpleRNNCell(3)]), 2),
    "Subtract": _multi(layers.Subtract, [(4,), (4,)]),
    "SyncBatchNormalization": _single(layers.SyncBatchNormalization, (4,)),
    "TFOpLambda": _tf_ops,
    "ThresholdedReLU": _single(lambda: layers.ThresholdedReLU(0.3), (4,)),
    "TimeDistributed": _masked(lambda: layers.TimeDistributed(layers.Dense(2))),
    "UnitNormalization": _single(layers.UnitNormalization, (4,)),
    "UpSampling1D": _single(lambda: layers.UpSampling1D(2), (3, 2)),
    "UpSampling2D": _single(lambda: layers.UpSampling2D(2, interpolation="bilinear"),
                            (3, 3, 2)),
    "UpSampling3D": _single(lambda: layers.UpSampling3D(2), (2, 2, 2, 1)),
    "ZeroPadding1D": _single(lambda: layers.ZeroPadding1D(2), (3, 2)),
    "ZeroPadding2D": _single(lambda: layers.ZeroPadding2D(((1, 0), (2, 1))), (3, 3, 2)),
    "ZeroPadding3D": _single(lambda: layers.ZeroPadding3D(1), (2, 2, 2, 1)),
}


def _public_layer_classes() -> dict:
    classes = {}
    for name in set(layers.__all__):
        obj = getattr(layers, name)
        if inspect.isclass(obj) and issubclass(obj, Layer):
            classes[obj.__name__] = obj
    return classes


def test_every_public_layer_class_is_covered():
    classes = set(_public_layer_classes())
    missing = sorted(classes - set(CASES) - set(NOT_LOWERABLE))
    assert not missing, (f"layer classes with neither an ONNX lowering case in CASES nor an "
                         f"entry in NOT_LOWERABLE: {missing}")
    assert not set(CASES) & set(NOT_LOWERABLE)
    assert not (set(CASES) | set(NOT_LOWERABLE)) - classes, "stale names"


def test_not_lowerable_classes_have_no_lowering():
    from numkeras.export.walk import lowering_table

    assert not set(NOT_LOWERABLE) & set(lowering_table())


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_class_lowers(name):
    backend.clear_session()
    model, inputs = CASES[name]()
    assert any(type(layer).__name__ == name for layer in _all_layers(model)), \
        f"the case for {name} does not use it"
    check_matches_numpy(randomize(model, RNG), inputs, rtol=1e-4, atol=1e-5)


def _all_layers(model):
    from numkeras.export.walk import graph_nodes

    out = []
    for node in graph_nodes(model):
        out.append(node.layer)
        inner = getattr(node.layer, "layer", None)
        if inner is not None:
            out.append(inner)
    return out
