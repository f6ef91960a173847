"""Interop tests compare numkeras with real TensorFlow; see ``tf_side.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
