"""The Keras v3 formats: ``.keras`` archives, ``.weights.h5`` and sharded ``.weights.json``.

Files from tf-keras 2.13 – 2.21 (including 2.12 – 2.14's ``_layer_checkpoint_dependencies``
layout) and Keras 3 load; files written here load in Keras 3.15 and (``.weights.h5``) in
tf-keras 2.21. Loading is topological (by object path), all or nothing, and never extracts
an archive to disk.

- :mod:`.walk` -- the object walk that gives every layer/optimizer its path;
- :mod:`.h5io` -- the defensive HDF5 index/reader and the writer of ``vars`` groups;
- :mod:`.archive` -- zip checks (paths, bombs) and in-place member reading;
- :mod:`.sharded` -- the Keras 3 manifest and shard plan;
- :mod:`.sources`, :mod:`.loading`, :mod:`.writing` -- the load and save pipelines.

>>> import os, tempfile, numpy as np
>>> from numkeras import Sequential, backend, layers
>>> backend.clear_session()
>>> model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
>>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
>>> model.save_weights(path)
>>> before = model.get_weights()
>>> model.set_weights([np.zeros_like(w) for w in before])
>>> print(model.load_weights(path))
Loaded weights from ...m.weights.h5: 2 layer(s) loaded, 0 skipped.
>>> all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
True
"""

from __future__ import annotations

from numkeras.saving import formats
from numkeras.saving.keras_v3 import loading, sources, writing
from numkeras.saving.keras_v3.errors import KerasFileError
from numkeras.saving.paths import path_to_string
from numkeras.saving.report import LoadReport


def save_weights(model, path, options=None, max_shard_size: float | None = None,
                 **kwargs) -> None:
    """Save ``model``'s weights as ``.weights.h5``, or sharded as ``.weights.json``.

    ``max_shard_size`` is in GB, as in Keras 3 (``.weights.json`` without it uses 5 GB).
    """
    if kwargs:
        raise TypeError(f"save_weights() got unexpected keyword arguments {sorted(kwargs)} for "
                        "the Keras v3 formats.")
    path = path_to_string(path)
    if max_shard_size is not None or formats.get("weights.json").matches(path):
        writing.save_sharded(model, path, 5 if max_shard_size is None else max_shard_size)
    else:
        writing.save_h5(model, path)


def load_weights(model, path, skip_mismatch: bool = False, by_name: bool = False,
                 options=None) -> LoadReport:
    """Load a ``.keras``, ``.weights.h5`` or ``.weights.json`` file into ``model``.

    Objects are matched by their path in the file (topological loading). Every count and
    shape is checked before anything is assigned; with ``skip_mismatch=True`` mismatched
    objects are skipped with a warning instead.
    """
    path = path_to_string(path)
    if by_name:
        raise ValueError(
            f"by_name=True is not supported for {path!r}: .keras, .weights.h5 and .weights.json "
            "files store weights by object path, not by layer name, so only topological "
            "loading (by_name=False) is possible. Use a legacy .h5 weights file for by_name.")
    model.assert_weights_created()
    source = sources.open_source(path)
    try:
        return loading.execute(model, source, skip_mismatch=skip_mismatch)
    finally:
        if hasattr(source, "close"):
            source.close()


def save_model(model, path, style: str = "keras3", include_optimizer: bool = True,
               options=None, **kwargs) -> None:
    """``model.save('x.keras')``: config (Keras 3 by default, ``style='tf_keras'``) + weights.

    ``include_optimizer`` and ``options`` are accepted for tf-keras compatibility: a compiled
    optimizer's variables are stored with the weights either way, and no compile config is
    written.
    """
    from numkeras.saving import serialization

    path = path_to_string(path)
    if not formats.get("keras").matches(path):
        raise ValueError("Invalid `filepath` argument: expected a `.keras` extension. "
                         f"Received: filepath={path}")
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword arguments {sorted(kwargs)}.")
    model.assert_weights_created()
    config = serialization.serialize_model(model, style=style)
    from numkeras.saving.keras_v3.assets import asset_members
    from numkeras.saving.keras_v3.walk import union_entries

    entries = union_entries(model)  # one walk for the weights and the assets
    writing.save_archive(path, config, writing.h5_member(model, entries),
                         asset_members(model, entries))


__all__ = ["save_weights", "load_weights", "save_model", "KerasFileError"]
