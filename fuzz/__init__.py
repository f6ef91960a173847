"""Fuzz targets for every parser numkeras has (``make fuzz``; a smoke run in ``make test``).

Each target (:mod:`fuzz.targets`) takes bytes, writes them where a parser reads a file, and
calls the public API (``load_weights``, ``load_model``, ``inspect``/``verify``,
``latest_checkpoint``, ``model_from_json``, ``read_weights``/``diff``, ``convert``). A documented error (``ValueError`` and its
subclasses ``KerasFileError``, ``ModelConfigError``, ``CheckpointFormatError``,
``UnknownClassError``; ``OSError``; ``AssertionError`` from a TF checkpoint that matches
nothing, as tf-keras) naming the file is clean; any other exception is a crash, and a
failed load that changed a weight is a bug too. Hangs are caught by libFuzzer's
``-timeout``.

``python -m fuzz TARGET [libFuzzer flags]`` runs one target under atheris, its corpus
seeded from the small valid files written by TensorFlow in ``tests/data/formats``.
"""
