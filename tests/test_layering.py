"""The layering of numkeras's packages, checked on every import statement (parsed, not run).

ops < engine < layers < saving (and export, at the same level) < cli: a package imports only
from its own level or below. The one exception: the engine's model façade -- the methods of
``Model``/``Functional``/``Sequential`` that save, load, export, predict through an exporter,
or turn a model into a config and back -- may import saving/export inside the method (lazily),
since those are what the user calls on a model. See docs/CONTRIBUTING.md.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "numkeras"
LEVELS = {"ops": 0, "engine": 1, "layers": 2, "saving": 3, "export": 3, "cli": 4}
#: Methods of the engine's model classes through which the engine may reach saving/export.
FACADE = {"save", "save_weights", "load_weights", "to_json", "get_config", "from_config",
          "export", "predict",
          "_onnx_runner"}  # predict's (and __call__'s) choice of the ONNX Runtime engine
FACADE_CLASSES = {"Model", "Functional", "Sequential"}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _level(module: str):
    parts = module.split(".")
    return LEVELS.get(parts[1]) if len(parts) > 1 and parts[0] == "numkeras" else None


def _imports(path: pathlib.Path):
    """``(imported module, enclosing [class/function names], line)`` of every import."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = scope + [child]
            if isinstance(child, ast.Import):
                found.extend((alias.name, scope, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[:len(package) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module
                # "from numkeras import saving" imports the package numkeras.saving
                found.extend((f"{target}.{alias.name}", scope, child.lineno)
                             for alias in child.names)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf8")), [])
    return found


def _in_facade(scope) -> bool:
    return (len(scope) >= 2 and isinstance(scope[-1], (ast.FunctionDef, ast.AsyncFunctionDef))
            and scope[-1].name in FACADE and isinstance(scope[-2], ast.ClassDef)
            and scope[-2].name in FACADE_CLASSES)


def _violations() -> list[str]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        own = _level(module)
        if own is None:
            continue
        for target, scope, line in _imports(path):
            theirs = _level(target)
            if theirs is None or theirs <= own:
                continue
            if module.startswith("numkeras.engine.") and LEVELS["saving"] <= theirs < \
                    LEVELS["cli"] and _in_facade(scope):
                continue
            where = ".".join(s.name for s in scope) or "module level"
            out.append(f"{path.relative_to(ROOT.parent)}:{line} ({where}) imports {target}")
    return out


def test_packages_import_only_their_level_or_below():
    assert _violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from numkeras.saving import formats\n", ["numkeras/engine/x.py:1 (module level) imports "
                                               "numkeras.saving.formats"]),
    ("class Model:\n    def save(self):\n        from numkeras import saving\n", []),
    ("class Model:\n    def fit(self):\n        from numkeras import saving\n",
     ["numkeras/engine/x.py:3 (Model.fit) imports numkeras.saving"]),
    ("def save():\n    from .. import cli\n", ["numkeras/engine/x.py:2 (save) imports numkeras.cli"]),
])
def test_the_check_sees_upward_imports(tmp_path, monkeypatch, source, expected):
    package = tmp_path / "numkeras" / "engine"
    package.mkdir(parents=True)
    (package / "x.py").write_text(source)
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path / "numkeras")
    assert _violations() == expected


def test_no_module_reaches_another_through_sys_modules():
    offenders = [str(p.relative_to(ROOT.parent)) for p in sorted(ROOT.rglob("*.py"))
                 if "sys.modules.get(" in p.read_text(encoding="utf8")]
    assert offenders == []
