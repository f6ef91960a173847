"""Every format the registry can write is swept by the robustness tests."""

from __future__ import annotations

from robustness_formats import FORMATS, REGISTRY_NAMES

from numkeras.saving import formats


def test_every_writable_registry_format_has_a_robustness_format():
    # export-only formats (ONNX) are never read back; tests/export/ checks their atomic writes
    writable = sorted(f.name for f in formats.FORMATS if f.writes in ("weights", "model"))
    assert sorted(REGISTRY_NAMES.values()) == writable, (
        "add the new format to REGISTRY_NAMES/FORMATS in tests/robustness/robustness_formats.py")
    assert set(REGISTRY_NAMES) <= set(FORMATS)
