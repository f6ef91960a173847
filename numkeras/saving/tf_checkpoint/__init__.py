"""TensorFlow 2 checkpoint files (TensorBundle format), in pure NumPy.

A TF2 checkpoint ``<prefix>`` is a ``<prefix>.index`` table (a LevelDB-style SSTable of
protobuf records) plus one or more ``<prefix>.data-SSSSS-of-NNNNN`` files holding raw tensor
bytes, and usually a ``checkpoint`` text file naming the latest prefix.  The modules here
read and write those files byte-compatibly with TensorFlow 2.x, without importing it:

- :mod:`.crc` -- CRC-32C and the LevelDB/TensorFlow checksum mask.
- :mod:`.sstable` -- the ``.index`` table container.
- :mod:`.dtypes` -- ``tensorflow.DataType`` <-> NumPy dtypes.
- :mod:`.bundle` -- :class:`~.bundle.BundleWriter`, :func:`~.bundle.write_bundle`,
  :class:`~.bundle.BundleReader`.
- :mod:`.state` -- the ``checkpoint`` state file and ``latest_checkpoint``.
- :mod:`.errors` -- :class:`~.errors.CheckpointFormatError`.

The object-based layer on top (what ``Model.save_weights``/``load_weights`` and
``numkeras.train.Checkpoint`` use):

- :mod:`.keras_view` -- how tf.keras names the checkpoint children of Keras objects.
- :mod:`.object_graph` -- the ``TrackableObjectGraph``: nodes, keys, escaping.
- :mod:`.save` / :mod:`.restore` -- writing, and restoring by greedy name matching
  (deferred for objects created later), with TensorFlow's status assertions.

This package module imports nothing on purpose: protobuf is loaded only when a submodule
that touches checkpoint files is imported.  :func:`save_weights` and :func:`load_weights`
are the entry points of the ``saving`` dispatcher for the ``'tf'`` format.
"""

from __future__ import annotations

import os

__all__ = ["load_weights", "save_weights"]

_SKIP_MISMATCH_ERROR = ("When calling model.load_weights, skip_mismatch can only be set to True "
                        "when by_name is True.")
_BY_NAME_ERROR = ("Weights may only be loaded based on topology into Models when loading "
                  "TensorFlow-formatted weights (got by_name=True to load_weights).")


def save_weights(model, path, options=None, num_shards: int | None = None, **kwargs) -> None:
    """``model.save_weights(path)`` in TF format: the model is the root (plus a ``root``
    self-edge), then the ``checkpoint`` file in ``dirname(path)`` names ``path``.

    ``options``: a :class:`numkeras.train.CheckpointOptions` (async writes, write callbacks,
    sharding); ``num_shards`` forces a number of data files (written in parallel).
    """
    if kwargs:
        raise TypeError(f"save_weights got unexpected keyword arguments {sorted(kwargs)}")
    from numkeras.train import _writer

    path = os.fspath(path)
    _writer.save_with_state(model, path, [("root", model)], options, num_shards,
                            state_paths=lambda p: [p])


def load_weights(model, path, skip_mismatch: bool = False, by_name: bool = False,
                 options=None):
    """``model.load_weights(path)`` for a TF checkpoint prefix or a SavedModel directory.

    Matching starts at the model (as tf-keras's ``model._checkpoint.read``), and at least
    one object besides the model must match (``assert_nontrivial_match``). Returns the
    status object (``assert_consumed()``, ``expect_partial()``, ...).
    """
    if skip_mismatch and not by_name:
        raise ValueError(_SKIP_MISMATCH_ERROR)
    if by_name:
        raise NotImplementedError(_BY_NAME_ERROR)
    from numkeras.train import _writer

    from .restore import CheckpointLoadStatus, resolve_checkpoint_prefix, restore

    _writer.sync(model)
    prefix = resolve_checkpoint_prefix(os.fspath(path))
    status = restore(model, prefix, attached=[("root", model)], options=options,
                     check=lambda job: _check_model_matched(model, job), strict_names=True)
    if isinstance(status, CheckpointLoadStatus):
        try:
            status.assert_nontrivial_match()
        except AssertionError as exc:  # tf-keras's type, naming the checkpoint
            raise AssertionError(f"{prefix}: {exc}") from exc
    return status


def _check_model_matched(model, job) -> None:
    """Fail clearly when nothing of the model matched (e.g. a ``Checkpoint(model=...)`` file)."""
    from . import keras_view

    bound = {id(obj) for obj in job.bound.values()}
    if any(id(o) in bound for o in model.layers):  # the usual answer, without a walk
        return
    layers = list(model.submodules)
    if any(id(o) in bound for o in layers):
        return
    weights = list(model.weights)
    if not (weights or layers) or any(id(v) in bound for v in weights):
        return
    graph_root = [ref.local_name for ref in job.graph.nodes[0].children]
    model_root = [name for name, _ in keras_view.children(model)]
    job.report.hint = (
        " Model.load_weights matches names starting from the model itself; a checkpoint "
        "written by Checkpoint(model=...).save()/write() has the Checkpoint as its root, so "
        "restore it with numkeras.train.Checkpoint(model=model).restore(path) (or save with "
        "model.save_weights() to load with model.load_weights()).")
    raise AssertionError(
        f"Nothing of model {model.name!r} matched the checkpoint {job.prefix}: the checkpoint's "
        f"root has the children {graph_root}, the model has {model_root}."
        + job.report.hint)
