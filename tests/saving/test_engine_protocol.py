"""The formats use only the engine's saving protocol (issue 9, scope 1).

- An AST scan of ``numkeras/saving`` finds no access to a private attribute of the engine
  (``engine/``, ``layers/``, ``optimizers/``) and no ``object.__setattr__`` or ``__dict__``
  on anything: the formats ask ``tracked_children()``, ``own_variables()``,
  ``is_graph_network`` ... instead.
- ``save_own_variables``/``load_own_variables`` are the real hook of the Keras 3 layout: a
  custom layer that overrides them (as in Keras 3) decides what its ``vars`` group holds.
- Optimizers run pending restores themselves when they create slots (no per-instance
  wrapping by the checkpoint loader).
"""

from __future__ import annotations

import ast
import pathlib
import re

import h5py
import numpy as np
import pytest

import numkeras
from numkeras import backend, layers

ROOT = pathlib.Path(numkeras.__file__).parent
ENGINE_PACKAGES = ("engine", "layers", "optimizers")
PRIVATE = re.compile(r"^_[a-z][a-z0-9_]*$")
#: Engine-private names a saving module may still read (none: the graph config moved to
#: numkeras/engine/graph_config.py).
PENDING_GRAPH_CONFIG: dict = {}


def _sources(*packages: str):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def _engine_private_names() -> set[str]:
    """Private attribute names the engine defines or uses (attributes, methods, set_ strings)."""
    names = set()
    for path in _sources(*ENGINE_PACKAGES):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and PRIVATE.match(node.attr):
                names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    PRIVATE.match(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    PRIVATE.match(node.value):
                names.add(node.value)
            elif isinstance(node, ast.ClassDef):  # class-level aliases: `_x = method`
                names.update(t.id for stmt in node.body if isinstance(stmt, ast.Assign)
                             for t in stmt.targets
                             if isinstance(t, ast.Name) and PRIVATE.match(t.id))
    return names


def _own_names(tree: ast.AST) -> set[str]:
    """Private names a saving module defines for its own objects (methods, self._x)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in ("self", "cls"):
            names.add(node.attr)
    return names


def violations(source: str, engine_names: set[str], own: set[str] = frozenset(),
               allowed: set[str] = frozenset()) -> list[str]:
    """Engine internals that ``source`` reaches into, as ``'line: text'`` strings."""
    tree = ast.parse(source)
    own = set(own) | _own_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if node.attr == "__dict__":
            found.append(f"{node.lineno}: .__dict__")
        elif node.attr == "__setattr__" and isinstance(node.value, ast.Name) and \
                node.value.id == "object":
            found.append(f"{node.lineno}: object.__setattr__")
        elif node.attr in engine_names and node.attr not in own and node.attr not in allowed \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"{node.lineno}: .{node.attr}")
    for node in ast.walk(tree):  # getattr(obj, "_name") is the same access spelled as a string
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "hasattr", "setattr", "delattr") and \
                len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and \
                node.args[1].value in engine_names and node.args[1].value not in own and \
                node.args[1].value not in allowed:
            found.append(f"{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


@pytest.fixture(scope="module")
def engine_names() -> set[str]:
    return _engine_private_names()


def test_the_scan_sees_what_the_formats_used_to_do(engine_names):
    # Each line is what a format did before the protocol existed; the scan must flag it.
    for line in ("weights = list(model._trainable_weights)",
                 "items = obj._tracked_attributes()",
                 "graph = model.__dict__.get('_is_graph_network')",
                 "object.__setattr__(optimizer, 'build', wrapper)",
                 "obj._create_hypers()",
                 "owner._add_deferred_restoration(callback)",
                 "subs = layer._flatten_layers(include_self=False)",
                 "metrics = getattr(model, '_compile_metrics', None)",
                 "model._assert_weights_created()"):
        assert violations(line, engine_names), line


def test_saving_reads_no_private_engine_attribute(engine_names):
    found = []
    for path in _sources("saving"):
        source = path.read_text(encoding="utf-8")
        allowed = PENDING_GRAPH_CONFIG.get(path.name, set()) \
            if path.parent.name == "saving" else set()
        found += [f"{path.relative_to(ROOT)}:{v}" for v in violations(
            source, engine_names, allowed=allowed)]
    assert not found, ("numkeras/saving reaches into engine internals; ask the engine's "
                       "saving protocol instead (see docs/CONTRIBUTING.md):\n"
                       + "\n".join(found))


# -- save_own_variables / load_own_variables are Keras 3's hook -----------------------------------

class Transposed(layers.Layer):
    """A layer storing its kernel transposed under the key ``"kernel_t"`` (custom hooks)."""

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", shape=(input_shape[-1], 2))
        self.built = True

    def call(self, x):
        return x @ self.kernel.value

    def save_own_variables(self, store):
        store["kernel_t"] = self.kernel.numpy().T

    def load_own_variables(self, store):
        value = np.asarray(store["kernel_t"])
        if value.shape != tuple(self.kernel.shape)[::-1]:
            raise ValueError(f"kernel_t has shape {value.shape}")
        self.kernel.assign(value.T)


def _model():
    backend.clear_session()
    model = numkeras.Sequential([layers.Dense(3, input_shape=(4,), name="first"),
                                 Transposed(name="custom")])
    model(np.zeros((1, 4), "float32"))
    return model


def test_custom_save_own_variables_decides_the_vars_group(tmp_path):
    model = _model()
    kernel = np.arange(6, dtype="float32").reshape(3, 2)
    model.layers[1].kernel.assign(kernel)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        group = f["layers/transposed/vars"]
        assert list(group) == ["kernel_t"]
        np.testing.assert_array_equal(group["kernel_t"][()], kernel.T)  # first principles
        assert list(f["layers/dense/vars"]) == ["0", "1"]  # default hook: own variables


def test_custom_load_own_variables_is_called(tmp_path):
    source = _model()
    for v in source.weights:
        v.assign(np.random.default_rng(1).standard_normal(v.shape).astype("float32"))
    path = str(tmp_path / "m.weights.h5")
    source.save_weights(path)
    target = _model()
    target.load_weights(path)
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_custom_hook_failure_changes_no_weight(tmp_path):
    source = _model()
    for v in source.weights:
        v.assign(np.ones(v.shape, "float32"))
    path = str(tmp_path / "m.weights.h5")
    source.save_weights(path)
    target = _model()
    before = target.get_weights()

    def broken(store):
        target.layers[1].kernel.assign(np.full((3, 2), 7.0))  # half-done, then fails
        raise RuntimeError("custom hook failed")

    target.layers[1].load_own_variables = broken
    with pytest.raises(RuntimeError, match="custom hook failed"):
        target.load_weights(path)
    for a, b in zip(before, target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_default_layer_hooks_round_trip_and_refuse_mismatch():
    backend.clear_session()
    dense = layers.Dense(2)
    dense(np.zeros((1, 3), "float32"))
    store = {}
    dense.save_own_variables(store)
    assert [v.name for v in store.values()] == ["dense/kernel:0", "dense/bias:0"]
    before = dense.get_weights()
    with pytest.raises(ValueError, match="expected 2 variables, but received 1"):
        dense.load_own_variables({"0": np.ones((3, 2))})
    with pytest.raises(ValueError, match="has shape"):
        dense.load_own_variables({"0": np.ones((3, 2)), "1": np.ones(3)})
    for a, b in zip(before, dense.get_weights()):  # a refused store changes nothing
        np.testing.assert_array_equal(a, b)
    dense.load_own_variables({"0": np.ones((3, 2)), "1": np.full(2, 5.0)})
    np.testing.assert_array_equal(dense.bias.numpy(), [5.0, 5.0])


# -- optimizers restore their own slots ----------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: numkeras.optimizers.Adam(),
                                  lambda: numkeras.optimizers.legacy.Adam()],
                         ids=["adam", "legacy_adam"])
def test_deferred_slot_restore_runs_in_the_optimizer(tmp_path, make):
    from numkeras.engine.variable import Variable
    from numkeras.train import Checkpoint

    backend.clear_session()
    var = Variable(np.ones(3, "float32"), name="w")
    opt = make()
    opt.apply_gradients([(np.array([1.0, 2.0, 3.0]), var)])
    prefix = Checkpoint(v=var, opt=opt).save(str(tmp_path / "ckpt"))
    expected = [v.numpy() for v in opt.variables]

    fresh = make()
    Checkpoint(v=var, opt=fresh).restore(prefix)
    # the loader no longer wraps methods of the instance: the optimizer class restores
    assert not {"build", "_create_all_weights", "_create_slots"} & set(vars(fresh))
    if hasattr(fresh, "get_slot_names"):  # legacy: slots are created by the restore itself
        fresh._create_all_weights([var])
    else:  # 2.11+: slots appear in build, which then runs the pending restores
        fresh.build([var])
    got = [v.numpy() for v in fresh.variables]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_restores_after_a_subclass_build():
    """A user's optimizer subclass overriding ``build`` also restores after it."""
    from numkeras.engine.variable import Variable

    class Momentumish(numkeras.optimizers.SGD):
        def build(self, var_list):
            super().build(var_list)
            self.extra = [self.add_variable_from_reference(v, "extra") for v in var_list]

    opt = Momentumish()
    var = Variable(np.ones(2, "float32"), name="w")
    seen = []
    opt.add_deferred_restoration(lambda owner: bool(seen.append(len(owner.extra))) or True
                                 if hasattr(owner, "extra") else False)
    opt.build([var])
    assert seen == [1]
