"""Recurrent, attention and normalization layers against tf-keras 2.21's outputs, without TF.

The cases of ``tests/data/golden_layers.py`` are built in numkeras with tf-keras's weight names
and shapes (recorded in ``tests/data/layers/layers.json``), given the same random weights, and
must reproduce the outputs tf-keras computed (``layers.npz``, written by
``tests/data/regenerate.py layers``). The live comparisons are in ``tests/interop/``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import numkeras as nk

DATA = Path(__file__).resolve().parents[1] / "data"
_spec = importlib.util.spec_from_file_location("numkeras_tests_golden_layers",
                                               DATA / "golden_layers.py")
assert _spec is not None and _spec.loader is not None
gl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gl)
INDEX = json.loads((DATA / "layers" / "layers.json").read_text())["cases"]
with np.load(DATA / "layers" / "layers.npz", allow_pickle=False) as _data:
    OUTPUTS = {k: _data[k] for k in _data.files}


def assert_close_outputs(ours, theirs, rtol: float = 1e-5) -> None:
    """Forward outputs equal within ``rtol`` relative to the output scale (as in interop)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{ours.shape} vs {theirs.shape}"
    scale = max(1.0, float(np.abs(theirs).max())) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


def test_every_case_has_golden_values():
    assert sorted(INDEX) == sorted(gl.CASES)


@pytest.mark.parametrize("name", sorted(gl.CASES))
def test_layer_outputs_match_tf_keras(name):
    build, specs, inputs = gl.CASES[name]
    recorded = INDEX[name]
    nk_inputs = [nk.Input(shape, dtype=dtype) for shape, dtype in specs]
    outputs = build(nk.layers, *nk_inputs)
    model = nk.Model(nk_inputs, outputs)
    assert [[w.name, list(w.shape)] for w in model.weights] == recorded["weights"]
    assert [list(t.shape) for t in gl.flat(outputs)] == recorded["output_shapes"]
    model.set_weights(gl.random_weights(model))
    ours = gl.flat(model(inputs if len(inputs) > 1 else inputs[0]))
    assert len(ours) == len(recorded["output_shapes"])
    # ConvLSTM2D sums long chains of convolutions: the interop tolerance is 2e-5 there too
    rtol = 2e-5 if name.startswith("conv_lstm2d") else 1e-5
    for i, value in enumerate(ours):
        assert_close_outputs(value, OUTPUTS[f"{name}/{i}"], rtol=rtol)
