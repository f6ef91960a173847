"""Keras layers, one family per module. ``from numkeras import layers`` mirrors ``tf.keras.layers``."""

from numkeras.engine.base_layer import Layer
from numkeras.engine.input_layer import Input, InputLayer
from numkeras.layers.core import Activation, Dense, Dropout, Embedding, Flatten, Reshape
from numkeras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    concatenate,
)
from numkeras.layers.normalization import BatchNormalization, LayerNormalization

__all__ = [
    "Layer", "Input", "InputLayer", "Activation", "Dense", "Dropout", "Embedding", "Flatten",
    "Reshape", "Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
    "add", "concatenate", "BatchNormalization", "LayerNormalization",
]

# Convolution, pooling, reshaping, activation, noise, normalization, preprocessing, masking and
# Dot layers: every name in each module's ``__all__`` is re-exported.
from numkeras.layers import (  # noqa: E402
    activation_layers,
    convolutional,
    group_normalization,
    masking,
    merging_extra,
    noise,
    pooling,
    preprocessing,
    reshaping,
)
from numkeras.layers.activation_layers import *  # noqa: E402, F403
from numkeras.layers.convolutional import *  # noqa: E402, F403
from numkeras.layers.group_normalization import *  # noqa: E402, F403
from numkeras.layers.masking import *  # noqa: E402, F403
from numkeras.layers.merging_extra import *  # noqa: E402, F403
from numkeras.layers.noise import *  # noqa: E402, F403
from numkeras.layers.pooling import *  # noqa: E402, F403
from numkeras.layers.preprocessing import *  # noqa: E402, F403
from numkeras.layers.reshaping import *  # noqa: E402, F403

__all__ += [name for module in (activation_layers, convolutional, group_normalization, masking,
                                merging_extra, noise, pooling, preprocessing, reshaping)
            for name in module.__all__]

# Recurrent, wrapper, attention and EinsumDense layers.
from numkeras.layers.attention import (  # noqa: E402
    AdditiveAttention,
    Attention,
    MultiHeadAttention,
)
from numkeras.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D  # noqa: E402
from numkeras.layers.einsum_dense import EinsumDense  # noqa: E402
from numkeras.layers.recurrent import GRU, LSTM, SimpleRNN  # noqa: E402
from numkeras.layers.rnn import RNN  # noqa: E402
from numkeras.layers.rnn_cells import (  # noqa: E402
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    StackedRNNCells,
)
from numkeras.layers.tf_op_layer import OperationLayer, SlicingOpLambda, TFOpLambda  # noqa: E402
from numkeras.layers.wrappers import Bidirectional, TimeDistributed, Wrapper  # noqa: E402

__all__ += [
    "AdditiveAttention", "Attention", "MultiHeadAttention", "ConvLSTM1D", "ConvLSTM2D",
    "ConvLSTM3D", "EinsumDense", "GRU", "LSTM", "SimpleRNN", "RNN", "GRUCell", "LSTMCell",
    "SimpleRNNCell", "StackedRNNCells", "Bidirectional", "TimeDistributed", "Wrapper",
    "OperationLayer", "SlicingOpLambda", "TFOpLambda",
]

# Issue 13's layer families: pass-through, augmentation, locally connected, spectral
# normalization, categorical preprocessing; functional merge helpers; serialize/deserialize.
from numkeras.layers import (  # noqa: E402
    categorical,
    cudnn_recurrent,
    hashing,
    image_augmentation,
    kernelized,
    locally_connected,
    lookup,
    regularization,
    spectral_normalization,
    text_vectorization,
)
from numkeras.layers.categorical import *  # noqa: E402, F403
from numkeras.layers.cudnn_recurrent import *  # noqa: E402, F403
from numkeras.layers.hashing import *  # noqa: E402, F403
from numkeras.layers.image_augmentation import *  # noqa: E402, F403
from numkeras.layers.kernelized import *  # noqa: E402, F403
from numkeras.layers.locally_connected import *  # noqa: E402, F403
from numkeras.layers.lookup import *  # noqa: E402, F403
from numkeras.layers.merging import average, maximum, minimum, multiply, subtract  # noqa: E402
from numkeras.layers.regularization import *  # noqa: E402, F403
from numkeras.layers.serialization import deserialize, serialize  # noqa: E402
from numkeras.layers.spectral_normalization import *  # noqa: E402, F403
from numkeras.layers.text_vectorization import *  # noqa: E402, F403

__all__ += [name for module in (categorical, cudnn_recurrent, hashing, image_augmentation,
                                kernelized,
                                locally_connected, lookup, regularization,
                                spectral_normalization, text_vectorization)
            for name in module.__all__]
__all__ += ["average", "maximum", "minimum", "multiply", "subtract", "serialize", "deserialize"]

# tf-keras's experimental names (configs name SyncBatchNormalization / RandomFourierFeatures)
from numkeras.layers import experimental  # noqa: E402
from numkeras.layers.normalization import SyncBatchNormalization  # noqa: E402

__all__ += ["experimental", "SyncBatchNormalization"]
