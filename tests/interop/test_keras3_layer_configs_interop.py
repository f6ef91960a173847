"""Every numkeras layer class, written in Keras 3 style, is accepted by Keras 3.15.

Keras 3 refuses constructor arguments it does not know ("Unrecognized keyword arguments"),
so each class's written config is deserialized by Keras 3 itself; classes Keras 3 does not
have are refused by numkeras's writer with an error saying so.
"""

import inspect

import pytest
from tf_side import keras3

import numkeras.layers as L
from numkeras.engine.base_layer import Layer

ARGS = {
    "Activation": ("relu",), "AlphaDropout": (0.1,), "CenterCrop": (2, 2), "Dense": (2,),
    "Dot": (1,), "Dropout": (0.1,), "EinsumDense": ("ab,bc->ac", 4), "Embedding": (5, 2),
    "GRU": (2,), "GRUCell": (2,), "CuDNNGRU": (2,), "CuDNNLSTM": (2,), "GaussianDropout": (0.1,), "GaussianNoise": (0.1,),
    "LSTM": (2,), "LSTMCell": (2,), "MultiHeadAttention": (2, 4), "Permute": ((2, 1),),
    "RandomBrightness": (0.1,), "RandomContrast": (0.1,), "RandomCrop": (2, 2),
    "RandomHeight": (0.1,), "RandomRotation": (0.1,), "RandomTranslation": (0.1, 0.1),
    "RandomWidth": (0.1,), "RandomZoom": (0.1,), "RepeatVector": (2,), "Rescaling": (0.5,),
    "Reshape": ((2, 2),), "Resizing": (2, 2), "SimpleRNN": (2,), "SimpleRNNCell": (2,),
    "SpatialDropout1D": (0.1,), "SpatialDropout2D": (0.1,), "SpatialDropout3D": (0.1,),
    "DepthwiseConv1D": (3,), "DepthwiseConv2D": (3,),
    "Hashing": (3,), "HashedCrossing": (3,), "RandomFourierFeatures": (2,),
}
WRAPPED = {
    "Bidirectional": lambda: L.Bidirectional(L.LSTM(2)),
    "TimeDistributed": lambda: L.TimeDistributed(L.Dense(2)),
    "SpectralNormalization": lambda: L.SpectralNormalization(L.Dense(2)),
    "RNN": lambda: L.RNN(L.LSTMCell(2)),
    "StackedRNNCells": lambda: L.StackedRNNCells([L.LSTMCell(2), L.GRUCell(3)]),
    "CategoryEncoding": lambda: L.CategoryEncoding(num_tokens=3),
    "Discretization": lambda: L.Discretization(bin_boundaries=[0.0, 1.0]),
    # tf-keras's default recurrent_activation is hard_sigmoid, which Keras 3 computes
    # differently: written only with another activation (the default is refused, see below)
    "ConvLSTM1D": lambda: L.ConvLSTM1D(2, 3, recurrent_activation="sigmoid"),
    "ConvLSTM2D": lambda: L.ConvLSTM2D(2, 3, recurrent_activation="sigmoid"),
    "ConvLSTM3D": lambda: L.ConvLSTM3D(2, 3, recurrent_activation="sigmoid"),
}
NOT_LAYERS = {"Layer", "InputLayer", "Wrapper", "TFOpLambda", "SlicingOpLambda", "OperationLayer"}
#: tf-keras classes Keras 3 removed: numkeras refuses to write them in Keras 3 style.
NOT_IN_KERAS3 = {"LocallyConnected1D", "LocallyConnected2D", "ThresholdedReLU", "RandomHeight",
                 "RandomWidth", "CuDNNLSTM", "CuDNNGRU", "RandomFourierFeatures",
                 "SyncBatchNormalization"}


def _classes():
    out = []
    for name in sorted(L.__all__):
        obj = getattr(L, name)
        if isinstance(obj, type) and issubclass(obj, Layer) and name not in NOT_LAYERS \
                and obj.__name__ == name:  # aliases (Convolution2D...) are the same class
            out.append(name)
    return out


def _make(name):
    if name in WRAPPED:
        return WRAPPED[name]()
    cls = getattr(L, name)
    required = [p for p, v in inspect.signature(cls.__init__).parameters.items()
                if v.default is v.empty and v.kind == v.POSITIONAL_OR_KEYWORD and p != "self"]
    if name in ARGS:
        return cls(*ARGS[name])
    if required == ["filters", "kernel_size"]:
        return cls(2, 3)
    assert not required, f"add constructor arguments for {name}: {required}"
    return cls()


@pytest.fixture(scope="module")
def k3():
    return keras3()


@pytest.mark.parametrize("name", _classes())
def test_keras3_accepts_the_written_config(k3, name):
    from numkeras.saving import serialization

    layer = _make(name)
    if name in NOT_IN_KERAS3:
        with pytest.raises(ValueError, match="Keras 3"):
            serialization.layer_spec(layer, serialization.KERAS3)
        return
    spec = serialization.layer_spec(layer, serialization.KERAS3)
    spec.pop("build_config", None)
    revived = k3.saving.deserialize_keras_object(spec)
    assert type(revived).__name__ == name
    assert revived.name == layer.name


def test_tf_keras_hard_sigmoid_is_never_written_for_keras3():
    from numkeras.saving import serialization

    for layer in (L.ConvLSTM2D(2, 3), L.Dense(2, activation="hard_sigmoid"),
                  L.Bidirectional(L.LSTM(2, recurrent_activation="hard_sigmoid"))):
        with pytest.raises(ValueError, match="relu6"):
            serialization.layer_spec(layer, serialization.KERAS3)


def test_leaky_relu_is_written_with_keras3s_argument_name(k3):
    from numkeras.saving import serialization

    spec = serialization.layer_spec(L.LeakyReLU(0.1), serialization.KERAS3)
    assert "alpha" not in spec["config"]
    assert k3.saving.deserialize_keras_object(spec).negative_slope == pytest.approx(0.1)
