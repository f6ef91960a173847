"""``layers.experimental.preprocessing``: the preprocessing layers under their old names.

>>> from numkeras.layers.experimental import preprocessing
>>> preprocessing.Rescaling(0.5)([2.0]).tolist()
[1.0]
"""

from numkeras.engine.base_layer import Layer as PreprocessingLayer
from numkeras.layers.categorical import CategoryEncoding, Discretization
from numkeras.layers.hashing import HashedCrossing, Hashing
from numkeras.layers.image_augmentation import (
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomHeight,
    RandomRotation,
    RandomTranslation,
    RandomWidth,
    RandomZoom,
)
from numkeras.layers.lookup import IntegerLookup, StringLookup
from numkeras.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing
from numkeras.layers.text_vectorization import TextVectorization

__all__ = ["PreprocessingLayer", "CategoryEncoding", "CenterCrop", "Discretization",
           "HashedCrossing", "Hashing", "IntegerLookup", "Normalization", "RandomContrast", "RandomCrop", "RandomFlip",
           "RandomHeight", "RandomRotation", "RandomTranslation", "RandomWidth", "RandomZoom",
           "Rescaling", "Resizing", "StringLookup", "TextVectorization"]
