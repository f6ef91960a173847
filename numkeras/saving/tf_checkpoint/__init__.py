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

This package module imports nothing on purpose: protobuf is loaded only when a submodule
that touches checkpoint files is imported.
"""
