"""Legacy Keras 2 HDF5 weights (``model.save_weights('w.h5')``), compatible with tf-keras 2.21.

- :mod:`.layout` -- constants, string attributes (chunked past 64512 bytes), weight order;
- :mod:`.writer` -- :func:`save_weights` (atomic, one dataset at a time);
- :mod:`.loader` -- :func:`load_weights` (topological or by name, ``skip_mismatch``,
  full-model files; validates everything before changing any weight);
- :mod:`.convert` -- tf-keras's per-class conversions of saved values (a small table);
- :mod:`.model_writer` -- :func:`save_model`, the full-model ``.h5`` (``model.save``).

h5py is imported only when a file is read or written.

>>> import os, tempfile, numpy as np
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,))])
>>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
>>> model.save_weights(path)
>>> before = model.get_weights()
>>> model.set_weights([np.zeros((3, 2)), np.zeros(2)])
>>> print(model.load_weights(path))
Loaded weights from ...w.h5: 1 layer(s) loaded, 0 skipped.
>>> all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
True
"""

from __future__ import annotations

from numkeras.saving.hdf5.loader import load_weights
from numkeras.saving.hdf5.model_writer import save_model
from numkeras.saving.hdf5.writer import save_weights

__all__ = ["save_weights", "load_weights", "save_model"]
