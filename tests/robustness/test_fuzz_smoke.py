"""Issue 11 case 16: a short mutation-fuzz smoke of every parser (``make fuzz`` runs the
atheris targets for 5 minutes each), and the inputs fuzzing found, as regression tests.

Every mutant must end in a documented error naming the file (or load), with every weight
unchanged on failure -- see ``fuzz/targets.py``.
"""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from fuzz import smoke  # noqa: E402
from fuzz.targets import DATA, TARGETS  # noqa: E402

#: seconds of mutants per target in ``make test`` (about 20 s in all with start-up)
BUDGET = float(os.environ.get("NUMKERAS_FUZZ_SMOKE_SECONDS", "1.0"))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutants_fail_cleanly(name):
    assert smoke.run(name, BUDGET, seed=11) >= 0


#: The fuzz targets that feed each readable format's files to its parser.
FORMAT_TARGETS = {
    "h5": "h5_weights", "h5-model": "h5_model", "tf-checkpoint": "tf_index",
    "saved-model": "keras_metadata", "npz": "npz", "keras": "keras_model",
    "weights.h5": "weights_h5", "weights.json": "weights_json", "safetensors": "safetensors"}


def test_every_readable_format_has_a_fuzz_target():
    from numkeras.saving import formats

    readable = sorted(f.name for f in formats.FORMATS if f.writes != "export")
    assert sorted(FORMAT_TARGETS) == readable, "add a fuzz target for the new format"
    assert set(FORMAT_TARGETS.values()) <= set(TARGETS)


def test_make_fuzz_runs_every_target():
    import re

    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    listed = re.search(r"^FUZZ_TARGETS = (.*)$", text, re.M).group(1).split()
    assert sorted(listed) == sorted(TARGETS)


def _patched(seed: str, patches: dict[int, int] | None = None, size: int | None = None):
    with open(os.path.join(DATA, seed), "rb") as f:
        data = bytearray(f.read())
    for offset, value in (patches or {}).items():
        data[offset] = value
    return bytes(data[:size] if size is not None else data)


# Found by the smoke fuzzer (bytes changed in tf-keras's conv_model.h5): model_config
# decoded to a str with surrogates, UnicodeEncodeError escaped load_model.
FOUND = {
    "h5_model-unicode": ("h5_model", _patched(
        "conv_model.h5", {236: 153, 2927: 143, 5825: 127, 15518: 126, 16579: 198, 22010: 172,
                          27682: 44})),
    # a truncated file: h5py's OSError named no file
    "h5_model-truncated": ("h5_model", _patched("conv_model.h5", size=3863)),
    "inspect_h5-truncated": ("inspect_h5", _patched("conv.h5", size=3863)),
    "h5_weights-truncated": ("h5_weights", _patched("conv.h5", size=19855)),
}


@pytest.mark.parametrize("case", sorted(FOUND))
def test_inputs_found_by_fuzzing(case):
    name, data = FOUND[case]
    TARGETS[name].run(data)


def test_damaged_string_length_does_not_allocate_gigabytes():
    """Found by ``make fuzz`` (two bytes of ``weight_names``'s string length in conv.h5 set
    to 0xFF): HDF5 allocated the declared 4 GiB before noticing the heap address was bad
    (peak RSS 4.1 GB). Attribute reads are now bounded; the load fails cleanly in a few MB."""
    import subprocess
    import textwrap

    data = _patched("conv.h5", {19715: 255, 19716: 255})
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from fuzz.targets import TARGETS
        TARGETS["h5_weights"].run({data!r})
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent
        print([int(line.split()[1]) // 1024 for line in open("/proc/self/status")
               if line.startswith("VmHWM:")][0])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    peak_mb = int(out.stdout.split()[-1])
    assert peak_mb < 1024, f"peak RSS {peak_mb} MB while loading a 26 KB file"


def test_attribute_with_wrong_stored_size_does_not_crash():
    """Found by ``make fuzz`` (three bytes of conv.h5 changed): reading ``weight_names`` of a
    layer whose attribute header no longer matches its storage ended the process with
    SIGSEGV inside HDF5. Such attributes are now refused before HDF5 decodes them."""
    import subprocess
    import textwrap

    data = _patched("conv.h5", {1104: 0, 1105: 12, 19649: 44})
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from fuzz.targets import TARGETS
        TARGETS["h5_weights"].run({data!r})
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])


FINDINGS = os.path.join(ROOT, "tests", "data", "fuzz")


@pytest.mark.parametrize("finding", sorted(os.listdir(FINDINGS)))
def test_make_fuzz_findings_fail_cleanly_within_bounds(finding):
    """Every input ``make fuzz`` found (tests/data/fuzz/<target>-<kind>-<hash>: SIGSEGV,
    unclean exceptions, multi-GB allocations inside HDF5) now ends in a documented error
    naming the file, in a child process that stays under 1 GiB."""
    import subprocess
    import textwrap

    target = finding.split("-")[0]
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from fuzz.targets import TARGETS
        with open({os.path.join(FINDINGS, finding)!r}, "rb") as f:
            TARGETS[{target!r}].run(f.read())
        print([int(line.split()[1]) // 1024 for line in open("/proc/self/status")
               if line.startswith("VmHWM:")][0])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert int(out.stdout.split()[-1]) < 1024
