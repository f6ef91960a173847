"""Regenerate the golden files under ``tests/data/`` with real TensorFlow.

The unit tests compare numkeras with values and files made by TensorFlow 2.21, tf-keras 2.21
and Keras 3. With TensorFlow installed they ask TF live; without it they read these files, so
that a machine without TF still checks every kernel and format against TF's own output.

Run it from the repository root, in the venv that has TensorFlow (``make test-venv``)::

    TF_USE_LEGACY_KERAS=1 .venv/bin/python tests/data/regenerate.py          # everything
    TF_USE_LEGACY_KERAS=1 .venv/bin/python tests/data/regenerate.py ops      # tests/data/ops/
    TF_USE_LEGACY_KERAS=1 .venv/bin/python tests/data/regenerate.py formats  # tests/data/formats/
    TF_USE_LEGACY_KERAS=1 .venv/bin/python tests/data/regenerate.py checkpoint  # tf_checkpoint/
    TF_USE_LEGACY_KERAS=1 .venv/bin/python tests/data/regenerate.py layers   # tests/data/layers/

- ``ops``: runs ``tests/ops`` once in one process with ``NUMKERAS_GOLDEN_RECORD=1``; every
  reference value a test asks TF for (``oracle(...)`` in ``tests/ops/_tf.py``) is written, with a
  digest of its inputs, to ``tests/data/ops/<test module>.npz``. Rerun it after changing the
  inputs of an ops test (the test then fails and says so) or adding one (it skips without TF).
- ``formats``: runs ``tests/data/make_formats.py``: every weights/model format written by
  tf-keras and Keras 3 for the models of ``tests/data/golden_models.py``, with TF's weights and
  outputs; ``tests/saving/test_golden_files.py`` reads and compares them.
- ``checkpoint``: runs ``tests/data/make_tf_checkpoint.py``: bundles written by TF's ``SaveV2``
  and ``tf.train.Checkpoint`` for the tensors of ``tests/data/golden_bundles.py``, with TF's
  readings of them; ``tests/saving/tf_checkpoint/test_bundle_golden.py`` compares.
- ``layers``: runs ``tests/data/make_layers.py``: tf-keras's outputs for the recurrent,
  attention and normalization graphs of ``tests/data/golden_layers.py``;
  ``tests/layers/test_golden_layers.py`` compares. Rerun it after adding a case there.

Inputs come from fixed seeds, so rerunning gives the same files up to TF's own float rounding.
Keep the files small (small shapes): the whole folder should stay under about 3 MB.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PARTS = ("ops", "formats", "checkpoint", "layers")


def _check_tf() -> None:
    try:
        import tensorflow as tf
        import tf_keras
    except ImportError as exc:
        sys.exit(f"regenerate.py needs TensorFlow 2.21 and tf-keras 2.21: {exc}")
    print(f"TensorFlow {tf.__version__}, tf-keras {tf_keras.__version__}")


def regenerate_ops() -> None:
    """Run tests/ops once in record mode (one process: the values are collected in memory)."""
    ops_dir = HERE / "ops"
    for old in ops_dir.glob("*.npz"):
        old.unlink()
    env = dict(os.environ, NUMKERAS_GOLDEN_RECORD="1", TF_USE_LEGACY_KERAS="1",
               TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("CI", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:randomly",
           "tests/ops"]
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(f"tests/ops failed while recording (exit {result.returncode}); fix them first")


def regenerate_formats() -> None:
    runpy.run_path(str(HERE / "make_formats.py"), run_name="__main__")


def regenerate_checkpoint() -> None:
    runpy.run_path(str(HERE / "make_tf_checkpoint.py"), run_name="__main__")


def regenerate_layers() -> None:
    runpy.run_path(str(HERE / "make_layers.py"), run_name="__main__")


def main(argv: list[str]) -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parts = argv or list(PARTS)
    unknown = set(parts) - set(PARTS)
    if unknown:
        sys.exit(f"unknown part(s) {sorted(unknown)}; choose from: {' '.join(PARTS)}")
    _check_tf()
    if "ops" in parts:
        regenerate_ops()
    if "formats" in parts:
        regenerate_formats()
    if "checkpoint" in parts:
        regenerate_checkpoint()
    if "layers" in parts:
        regenerate_layers()
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"tests/data holds {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
