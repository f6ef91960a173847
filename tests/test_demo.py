"""`make demo` runs `python -m numkeras demo`; it must keep working end to end."""

import subprocess
import sys


def test_demo_runs_and_every_round_trip_is_identical():
    proc = subprocess.run([sys.executable, "-m", "numkeras", "demo"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "[array([[1.],\n       [1.],\n       [1.]], dtype=float32), array([0.], dtype=float32)]" in out
    for label in ("HDF5 (.h5", "TensorFlow checkpoint", "Keras 3 .weights.h5", ".keras archive"):
        line = next(line for line in out.splitlines() if label in line)
        assert "identical weights and outputs" in line, line
    assert "not available" not in out and "MISMATCH" not in out
    assert "predictions identical" in out and "1 skipped" in out
