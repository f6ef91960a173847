"""``python -m fuzz TARGET [libFuzzer flags] [corpus dirs]``: one target under atheris.

With no corpus directory given, ``fuzz/corpus/TARGET`` is used, seeded from the target's
valid files. Crashes (unclean exceptions) and hangs (``-timeout``) are written by libFuzzer
as ``crash-*``/``timeout-*`` files in the current folder.
"""

from __future__ import annotations

import os
import sys
import warnings

#: What coverage is collected for: numkeras's parsers and the Python layers they call
#: (instrumenting NumPy, ONNX and the rest too made each target start 30 s slower).
_INSTRUMENTED = ["numkeras", "fuzz", "h5py", "zipfile", "ml_dtypes"]


def _import_every_module() -> None:
    """Import every numkeras module (and the parsing libraries it uses) now, so that atheris
    instruments them: modules first imported lazily, while fuzzing, would give no coverage
    feedback (a 5-minute run of the state-file target stayed at its seed's coverage)."""
    import importlib
    import pkgutil
    import zipfile  # noqa: F401

    import numkeras

    for info in pkgutil.walk_packages(numkeras.__path__, "numkeras."):
        if info.name.endswith(".__main__"):  # runs the command line
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency that is not installed
            pass


def main() -> None:
    import atheris

    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m fuzz TARGET [libFuzzer flags] [corpus dirs]")
    name = sys.argv.pop(1)
    with atheris.instrument_imports(include=_INSTRUMENTED):
        _import_every_module()
        from fuzz.targets import TARGETS
    target = TARGETS[name]
    warnings.simplefilter("ignore")  # skipped layers etc. warn; only errors matter here
    if not any(not a.startswith("-") for a in sys.argv[1:]):
        corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", name)
        os.makedirs(corpus, exist_ok=True)
        for i, seed in enumerate(target.seeds()):
            with open(os.path.join(corpus, f"seed-{i}"), "wb") as f:
                f.write(seed)
        sys.argv.append(corpus)
    atheris.Setup(sys.argv, target.run)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
