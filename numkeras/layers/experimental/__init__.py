"""``layers.experimental``: tf-keras's experimental layer names.

``EinsumDense``, ``RandomFourierFeatures``, ``SyncBatchNormalization`` and the
``preprocessing`` namespace (the preprocessing layers under their old
``layers.experimental.preprocessing`` names). tf-keras's ``DynamicEmbedding`` and
``DynamicLookup`` (training-time vocabularies) are not provided.

>>> from numkeras.layers import experimental
>>> experimental.preprocessing.StringLookup.__name__, experimental.EinsumDense.__name__
('StringLookup', 'EinsumDense')
"""

from numkeras.layers.einsum_dense import EinsumDense
from numkeras.layers.experimental import preprocessing
from numkeras.layers.kernelized import RandomFourierFeatures
from numkeras.layers.normalization import SyncBatchNormalization

__all__ = ["EinsumDense", "RandomFourierFeatures", "SyncBatchNormalization", "preprocessing"]
