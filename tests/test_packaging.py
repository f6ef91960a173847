"""The package a user installs: a wheel built from this checkout, installed in a clean venv
(the wheel with --no-deps, then the dependencies it declares from the package index), runs
``numkeras --help``; the wheel carries ``py.typed`` and the declared extras.

One test, about a minute of mostly waiting on the index; it needs no TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _requirements(metadata: str) -> tuple[list[str], set[str], list[str]]:
    """``(plain Requires-Dist, Provides-Extra, Requires-Dist of the 'all' extra)``."""
    plain, extras, all_ = [], set(), []
    for line in metadata.splitlines():
        if line.startswith("Provides-Extra:"):
            extras.add(line.split(":", 1)[1].strip())
        elif line.startswith("Requires-Dist:"):
            req = line.split(":", 1)[1].strip()
            if ";" not in req:
                plain.append(req)
            elif "extra == \"all\"" in req or "extra == 'all'" in req:
                all_.append(req.split(";")[0].strip())
    return plain, extras, all_


def test_wheel_installs_in_a_clean_venv_and_the_cli_runs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), src / name)
    shutil.copytree(os.path.join(ROOT, "numkeras"), src / "numkeras",
                    ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist),
                    str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("numkeras-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "numkeras/py.typed" in names
    assert any(n.endswith(".proto") for n in names)
    plain, extras, all_ = _requirements(metadata)
    assert {"remote", "safetensors", "progress", "onnx", "all", "test"} <= extras
    assert all_ and all(r.startswith("numkeras[") for r in all_)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["--no-deps", str(wheel)], check=True, capture_output=True,
                   timeout=300)
    subprocess.run(pip + plain, check=True, capture_output=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run([str(venv / "bin" / "numkeras"), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "diff" in proc.stdout and "convert" in proc.stdout
    where = subprocess.run([str(python), "-c", "import numkeras; print(numkeras.__file__)"],
                           capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                           env=env)
    assert str(venv) in where.stdout  # the installed wheel, not this checkout
