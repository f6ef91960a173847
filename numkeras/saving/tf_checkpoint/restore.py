"""Restore a TF2 checkpoint into objects by greedy name matching, as TensorFlow does.

The checkpoint's root node is bound to the root object; then, breadth first, each child
reference of a bound node is looked up by its local name on the bound object
(:func:`.keras_view.lookup`). Found children are bound and visited; children that do not
exist yet but hold values are *deferred*: the owner gets a callback (the engine's
``Trackable.add_deferred_restoration``) that restores them when they are created, e.g.
when a layer builds its weights or an optimizer its slots (the optimizers run pending
restorations at the end of ``build`` and of slot creation). Values are read through each
node's ``checkpoint_key``.

The module is long because matching, deferral and the load-status objects TF returns are
one algorithm over one object graph.

Nothing is assigned unless everything can be: all matched keys, dtypes and shapes are
checked and every value is read and CRC-checked (one tensor at a time, so memory grows by
the largest tensor only) before the first variable changes. Values of deferred objects
are verified at load time too and re-read (and re-verified) when the object appears.

>>> import os, tempfile, numpy as np
>>> from numkeras.engine.tracking import Trackable
>>> from numkeras.engine.variable import Variable
>>> from numkeras.saving.tf_checkpoint.save import write_checkpoint
>>> class Box(Trackable):
...     pass
>>> src = Box(); src.w = Variable(np.arange(3.0), name="w")
>>> prefix = write_checkpoint(os.path.join(tempfile.mkdtemp(), "ckpt"), src)
>>> dst = Box(); dst.w = Variable(np.zeros(3), name="w")
>>> status = restore(dst, prefix).assert_consumed()
>>> dst.w.numpy()
array([0., 1., 2.])
>>> late = Box()
>>> status = restore(late, prefix)           # late.w does not exist yet: deferred
>>> late.w = Variable(np.zeros(3), name="w")  # restored on creation
>>> late.w.numpy()
array([0., 1., 2.])
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numkeras.engine.tracking import Trackable
from numkeras.saving.formats import INDEX_SUFFIX

from . import keras_view
from .errors import CheckpointFormatError
from .object_graph import (
    OBJECT_GRAPH_KEY,
    VARIABLE_VALUE_KEY,
    build_graph,
    node_has_values,
    node_names,
)

__all__ = ["CheckpointLoadStatus", "CheckpointRestoreWarning", "InitializationOnlyStatus",
           "NameBasedLoadStatus", "restore", "resolve_checkpoint_prefix"]

_MAX_LISTED = 10


class CheckpointRestoreWarning(UserWarning):
    """Values of a checkpoint were not restored (nothing matched them)."""


def resolve_checkpoint_prefix(path: str) -> str:
    """The bundle prefix for ``path``: itself, or ``<dir>/variables/variables`` of a SavedModel.

    Raises ``FileNotFoundError`` if there is no ``<prefix>.index``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        prefix = os.path.join(path, "variables", "variables")
        if not os.path.isfile(prefix + INDEX_SUFFIX):
            raise ValueError(
                f"Unable to load weights. filepath {path} appears to be a SavedModel directory, "
                "but checkpoint either doesn't exist, or is incorrectly formatted."
                + _prefixes_hint(path))
        return prefix
    recover_prefix(path)
    if not os.path.isfile(path + INDEX_SUFFIX):
        raise FileNotFoundError(
            f"Failed to find any matching files for {path}: there is no {path + '.index'!r}. "
            "Pass the checkpoint prefix (the path given to save_weights or returned by "
            "Checkpoint.save), e.g. numkeras.train.latest_checkpoint(directory).")
    return path


def recover_prefix(prefix: str) -> bool:
    """Put back the previous index/data of ``prefix`` if a save replacing them in place was
    killed before its new index was in place (see :mod:`numkeras.saving.crashsafe`)."""
    from numkeras.saving.crashsafe import recover

    from .bundle import data_pattern

    return recover(prefix + INDEX_SUFFIX, data_pattern(prefix))


def _prefixes_hint(directory: str) -> str:
    """Where a directory holds checkpoints (not a SavedModel): the prefixes to pass instead."""
    from numkeras.saving.tf_checkpoint.state import latest_checkpoint

    try:
        latest = latest_checkpoint(directory)
        found = sorted(os.path.join(directory, n[: -len(INDEX_SUFFIX)])
                       for n in os.listdir(directory) if n.endswith(INDEX_SUFFIX))
    except (OSError, ValueError):
        return ""
    if not found:
        return ""
    latest = latest or found[-1]
    return (f" It holds TF checkpoint(s) {found[:5]}: pass a checkpoint prefix, not its folder, "
            f"e.g. load_weights({latest!r}) or "
            f"load_weights(numkeras.train.latest_checkpoint({directory!r})).")


# -- the shared state of one restore --------------------------------------------------------------

@dataclass
class _Report:
    """What the end-of-life warning needs (no references to restored objects)."""

    prefix: str
    graph: Any
    matched: set = field(default_factory=set)
    unused_attributes: dict = field(default_factory=dict)
    expect_partial: bool = False
    hint: str = ""
    with_attributes: list = field(default_factory=list)  # ids of nodes holding values


def _warn_unrestored(report: _Report) -> None:
    if report.expect_partial:
        return
    unmatched = [i for i in report.with_attributes if i not in report.matched]
    if not unmatched and not report.unused_attributes:
        return
    names = node_names(report.graph)
    missing = [names.get(i, f"node {i}") for i in unmatched]
    missing += [f"{names.get(i, i)} (attribute {a})" for i, attrs in
                report.unused_attributes.items() for a in attrs]
    listed = ", ".join(missing[:_MAX_LISTED])
    more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
    warnings.warn(
        f"{len(missing)} value(s) in checkpoint {report.prefix} were not restored because no "
        f"object matched them: {listed}{more}.{report.hint} Call `status.expect_partial()` on "
        "the status returned by the load/restore to silence this warning when a partial "
        "restore is intended.", CheckpointRestoreWarning, stacklevel=2)


@dataclass
class _Plan:
    """One value to restore: into ``target``, or by creating a legacy slot."""

    node_id: int
    key: str
    target: Any = None
    slot: tuple | None = None  # (optimizer, variable, slot name) to create


class _Restore:
    """Matches a checkpoint's object graph against live objects and restores values."""

    def __init__(self, reader, graph, prefix: str, root, attached, options=None,
                 hint: str = "") -> None:
        self.reader = reader
        self.graph = graph
        self.prefix = prefix
        self.root = root
        self.attached = list(attached)
        self.skip_slots = bool(getattr(options, "experimental_skip_slot_variables", False))
        self.bound: dict[int, Any] = {}
        self.restored: set[int] = set()
        self.pending_slots: list[tuple[int, int, str, int]] = []
        self.report = _Report(prefix, graph, hint=hint)
        self._finalizer = weakref.finalize(self, _warn_unrestored, self.report)
        self._finalizer.atexit = False
        #: Per node, its ``(child id, local name)`` pairs (read from the proto once).
        self.children, self.report.with_attributes, self.with_slots = \
            _check_graph(graph, prefix)
        self.valued = set(self.report.with_attributes)

    # -- matching --------------------------------------------------------------------------
    def _lookup(self, node_id: int, obj, name: str, cache: dict):
        if node_id == 0 and obj is self.root:
            for attached_name, value in self.attached:
                if attached_name == name and keras_view.lookup(obj, name, cache) is None:
                    return value
        return keras_view.lookup(obj, name, cache)

    def _bind(self, node_id: int, obj, plans: list[_Plan]) -> None:
        self.bound[node_id] = obj
        self.report.matched.add(node_id)
        if self.children[node_id]:
            keras_view.materialize(obj)
        if node_id not in self.valued and node_id not in self.with_slots:
            return  # (the proto's accessors are slow: only nodes holding something)
        node = self.graph.nodes[node_id]
        variable = keras_view.variable_of(obj)
        for attribute in node.attributes:
            if variable is not None and attribute.name == VARIABLE_VALUE_KEY:
                plans.append(_Plan(node_id, attribute.checkpoint_key, target=variable))
            else:
                self.report.unused_attributes.setdefault(node_id, []).append(attribute.name)
        if node.slot_variables and not self.skip_slots:
            self._check_slot_owner(node_id, obj)
            self.pending_slots.extend((node_id, ref.original_variable_node_id, ref.slot_name,
                                       ref.slot_variable_node_id) for ref in node.slot_variables)

    def _check_slot_owner(self, node_id: int, obj) -> None:
        if keras_view.has_slots(obj):
            return
        raise ValueError(
            f"The checkpoint {self.prefix} holds slot variables of a legacy optimizer "
            f"(keys with '.OPTIMIZER_SLOT') for {node_names(self.graph).get(node_id)}, but the "
            f"object restored there is a {type(obj).__name__}, which has no slots. You are "
            "trying to restore a checkpoint from a legacy Keras optimizer into a v2.11+ "
            "Optimizer; use the matching `numkeras.optimizers.legacy` optimizer (e.g. "
            "numkeras.optimizers.legacy.Adam) instead.")

    def _match(self, start: list[tuple[int, Any, tuple]]) -> tuple[list[_Plan], list]:
        """Bind breadth first from ``(node, object, anchor)``; return plans and deferrals."""
        plans: list[_Plan] = []
        deferred: list[tuple[Trackable, tuple, int]] = []
        queue = deque()
        cache: dict = {}  # each model's layer table, built once per matching pass
        for node_id, obj, anchor in start:
            if node_id not in self.bound:
                self._bind(node_id, obj, plans)
                queue.append((node_id, obj, anchor))
        while queue:
            node_id, obj, anchor = queue.popleft()
            for child_id, name in self.children[node_id]:
                if child_id in self.bound:
                    continue
                child = self._lookup(node_id, obj, name, cache)
                child_anchor = (child, ()) if isinstance(child, Trackable) else \
                    (anchor[0], anchor[1] + (name,))
                if child is not None:
                    self._bind(child_id, child, plans)
                    queue.append((child_id, child, child_anchor))
                elif node_has_values(self.graph, child_id) and anchor[0] is not None:
                    deferred.append((anchor[0], anchor[1] + (name,), child_id))
        plans += self._slot_plans()
        return plans, deferred

    def _slot_plans(self) -> list[_Plan]:
        plans = []
        still = []
        for opt_id, var_id, slot_name, slot_id in self.pending_slots:
            if slot_id in self.bound:
                continue
            if var_id not in self.bound:
                still.append((opt_id, var_id, slot_name, slot_id))
                continue
            optimizer, variable = self.bound[opt_id], self.bound[var_id]
            slot = keras_view.get_slot(optimizer, variable, slot_name)
            key = _value_key(self.graph, slot_id)
            if key is None:
                continue
            if slot is not None:
                plans.append(_Plan(slot_id, key, target=slot))
            else:
                plans.append(_Plan(slot_id, key, slot=(optimizer, variable, slot_name)))
        self.pending_slots = still
        return plans

    # -- checking and assigning --------------------------------------------------------------
    def _entry(self, key: str):
        try:
            return self.reader.get_entry(key)
        except KeyError:
            raise CheckpointFormatError(
                f"{self.prefix}: key {key!r} is named by the checkpoint's object graph but is "
                "not in its index (corrupt or incomplete checkpoint)") from None

    def _check(self, plan: _Plan) -> None:
        entry = self._entry(plan.key)
        variable = plan.target if plan.target is not None else plan.slot[1]
        if plan.target is None:  # a legacy slot, created from the stored value: it must
            # have its variable's shape (m, v, momentum, accumulators all do)
            if tuple(entry.shape) != tuple(variable.shape):
                raise ValueError(
                    f"{self.prefix}: key {plan.key!r}: Received incompatible tensor with shape "
                    f"{tuple(entry.shape)} for slot {plan.slot[2]!r} of variable "
                    f"{variable.name!r}, which has shape {tuple(variable.shape)}.")
            return
        stored = entry.numpy_dtype
        if np.dtype(variable.dtype) != stored:
            raise ValueError(
                f"{self.prefix}: key {plan.key!r}: the checkpoint holds {stored.name} values, "
                f"but variable {variable.name!r} has dtype {np.dtype(variable.dtype).name} "
                f"(expected dtype {np.dtype(variable.dtype).name} does not equal original "
                f"dtype {stored.name}).")
        if tuple(variable.shape) != tuple(entry.shape):
            raise ValueError(
                f"{self.prefix}: key {plan.key!r}: Received incompatible tensor with shape "
                f"{tuple(entry.shape)} when attempting to restore variable "
                f"{variable.name!r} with shape {tuple(variable.shape)}.")

    def _apply(self, plans: list[_Plan]) -> None:
        """Check everything, verify every value, then assign (nothing changes on error)."""
        for plan in plans:
            self._check(plan)
        # Verify every value (CRC-checked in small chunks), then copy each once into its
        # variable: nothing is assigned before everything has passed.
        self.reader.verify_all([plan.key for plan in plans])
        self.reader.read_all_verified([(plan.key, plan.target.value) for plan in plans
                                       if plan.target is not None])
        for plan in plans:
            if plan.target is not None:
                plan.target.mark_changed()  # read in place: tell the inference engine
        for plan in plans:
            if plan.target is None:
                optimizer, variable, slot_name = plan.slot
                value = self.reader.read(plan.key)
                slot = keras_view.create_slot(optimizer, variable, slot_name, value)
                if slot is None:
                    continue
                self.bound[plan.node_id] = slot
                self.report.matched.add(plan.node_id)
            self.restored.add(plan.node_id)

    def _defer(self, deferred: list) -> None:
        for owner, path, node_id in deferred:
            owner.add_deferred_restoration(_DeferredChild(self, path, node_id))

    def _verify_deferred(self, deferred: list) -> None:
        """CRC-check the values deferred restores will need, so corruption shows now."""
        seen = set()
        stack = [node_id for _, _, node_id in deferred]
        while stack:
            node_id = stack.pop()
            if node_id in seen or node_id in self.bound:
                continue
            seen.add(node_id)
            node = self.graph.nodes[node_id]
            for attribute in node.attributes:
                if attribute.name == VARIABLE_VALUE_KEY:
                    self._entry(attribute.checkpoint_key)
                    self.reader.verify(attribute.checkpoint_key)
            stack.extend(ref.node_id for ref in node.children)

    def run(self, check=None) -> None:
        """Match, let ``check(self)`` veto, verify, then assign and register deferrals."""
        try:
            plans, deferred = self._match([(0, self.root, (self.root, ()))])
            if check is not None:
                check(self)
            self._verify_deferred(deferred)
            self._apply(plans)
        except BaseException:
            self.bound.clear()
            self.report.matched.clear()
            self._finalizer.detach()
            raise
        self._defer(deferred)

    def restore_deferred(self, node_id: int, obj, anchor) -> None:
        """Restore a deferred child that now exists (called from the owner's callback)."""
        if node_id in self.bound:
            return
        plans, deferred = self._match([(node_id, obj, anchor)])
        self._apply(plans)
        self._defer(deferred)
        self._retry_slots()

    def _retry_slots(self) -> None:
        if self.pending_slots:
            self._apply(self._slot_plans())


def _value_key(graph, node_id: int) -> str | None:
    for attribute in graph.nodes[node_id].attributes:
        if attribute.name == VARIABLE_VALUE_KEY:
            return attribute.checkpoint_key
    return None


def _check_graph(graph, prefix: str) -> tuple[list[list[tuple[int, str]]], list[int], set[int]]:
    """Check every node reference; return each node's ``(child id, local name)`` pairs, the
    ids of the nodes holding values and of those holding slot variables (one pass over the
    proto: its accessors are slow)."""
    count = len(graph.nodes)
    if not count:
        raise CheckpointFormatError(f"{prefix}: the object graph has no nodes")
    children = []
    with_attributes = []
    with_slots = set()
    for node_id, node in enumerate(graph.nodes):
        refs = [(c.node_id, c.local_name) for c in node.children]
        children.append(refs)
        bad = [i for i, _ in refs if not 0 <= i < count]
        if node.slot_variables:
            with_slots.add(node_id)
            bad += [i for s in node.slot_variables
                    for i in (s.original_variable_node_id, s.slot_variable_node_id)
                    if not 0 <= i < count]
        if node.attributes:
            with_attributes.append(node_id)
        if bad:
            raise CheckpointFormatError(
                f"{prefix}: object graph node {node_id} refers to node {bad[0]}, but the graph "
                f"has only {count} nodes (corrupt checkpoint)")
    return children, with_attributes, with_slots


class _DeferredChild:
    """Callback on an owner: restore checkpoint node ``node_id`` once ``path`` resolves."""

    def __init__(self, restore: _Restore, path: tuple, node_id: int) -> None:
        self.restore = restore
        self.path = path
        self.node_id = node_id

    def __deepcopy__(self, memo) -> _DeferredChild:
        return self  # a copied object shares the pending restore of the original

    def __call__(self, owner) -> bool:
        if self.node_id in self.restore.bound:
            return True
        obj = owner
        for name in self.path:
            obj = keras_view.lookup(obj, name)
            if obj is None:
                return False
        anchor = (obj, ()) if isinstance(obj, Trackable) else (owner, self.path)
        self.restore.restore_deferred(self.node_id, obj, anchor)
        return True


# -- status objects -----------------------------------------------------------------------------

class CheckpointLoadStatus:
    """What a restore matched, with TensorFlow's assertions (``tf.train.Checkpoint`` status)."""

    def __init__(self, restore: _Restore) -> None:
        self._restore = restore

    @property
    def _names(self) -> dict[int, str]:
        return node_names(self._restore.graph)

    def _hint(self) -> str:
        return self._restore.report.hint

    def _python_variables(self) -> list:
        graph = build_graph(self._restore.root, self._restore.attached)
        return [node.obj for node in graph.nodes if node.variable is not None]

    def _unmatched_variables(self) -> list:
        """The root's existing variables that no checkpoint value was bound to."""
        matched = {id(obj) for obj in self._restore.bound.values()}
        return [v for v in self._python_variables() if id(v) not in matched]

    def assert_consumed(self) -> CheckpointLoadStatus:
        """Every checkpoint value was restored and every existing variable got one."""
        self.assert_existing_objects_matched()
        r = self._restore
        for node_id, node in enumerate(r.graph.nodes):
            if node.attributes and node_id not in r.bound:
                raise AssertionError(
                    f"Unresolved object in checkpoint {self._names.get(node_id)}: "
                    f"{_describe(node)}{self._hint()}")
        if r.pending_slots:
            raise AssertionError(f"Unresolved slot restorations: {r.pending_slots}")
        if r.report.unused_attributes:
            lines = [f"{self._names.get(i)} ({type(r.bound[i]).__name__}): {attrs}"
                     for i, attrs in r.report.unused_attributes.items()]
            raise AssertionError("Unused attributes in these objects (the attributes exist in "
                                 "the checkpoint but were not restored):\n" + "\n".join(lines))
        return self

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        """Every variable reachable from the root now was matched to a checkpoint value."""
        r = self._restore
        for node_id, obj in r.bound.items():
            if keras_view.variable_of(obj) is not None and node_id not in r.restored and \
                    _value_key(r.graph, node_id) is not None:
                raise AssertionError(f"Object {self._names.get(node_id)} not assigned a value "
                                     "from checkpoint.")
        unused = self._unmatched_variables()
        if unused:
            shown = [getattr(v, "name", repr(v)) for v in unused[:_MAX_LISTED]]
            raise AssertionError(
                f"Found {len(unused)} Python objects that were not bound to checkpointed "
                "values, likely due to changes in the Python program. Showing "
                f"{len(shown)} of {len(unused)} unmatched objects: {shown}{self._hint()}")
        return self

    def assert_nontrivial_match(self) -> CheckpointLoadStatus:
        """Something besides the root matched."""
        r = self._restore
        if len(r.bound) <= 1:
            unused = [getattr(v, "name", repr(v)) for v in self._python_variables()]
            if unused:
                raise AssertionError(
                    "Nothing except the root object matched a checkpointed value. Typically "
                    "this means that the checkpoint does not match the Python program. The "
                    f"following objects have no matching checkpointed value: {unused}"
                    f"{self._hint()}")
            raise AssertionError(f"Nothing to load. No dependencies have been added to "
                                 f"{r.root!r} yet.{self._hint()}")
        return self

    def expect_partial(self) -> CheckpointLoadStatus:
        """Silence the warning about checkpoint values that were not restored."""
        self._restore.report.expect_partial = True
        return self

    def run_restore_ops(self, session=None) -> None:
        """Values are restored eagerly; nothing to run (kept for TensorFlow compatibility)."""

    def initialize_or_restore(self, session=None) -> None:
        """Values are restored eagerly; nothing to run (kept for TensorFlow compatibility)."""

    def __repr__(self) -> str:
        r = self._restore
        text = (f"<CheckpointLoadStatus {r.prefix!r}: {len(r.restored)} value(s) restored, "
                f"{sum(1 for n in r.graph.nodes if n.attributes)} in the checkpoint")
        unused = self._unmatched_variables()
        if unused:  # a partial load must show when the status is printed
            shown = [getattr(v, "name", repr(v)) for v in unused[:_MAX_LISTED]]
            more = ", ..." if len(unused) > len(shown) else ""
            text += (f"; {len(unused)} variable(s) of the model got no value: "
                     f"{', '.join(shown)}{more}")
        return text + ">"


def _describe(node) -> str:
    keys = [a.checkpoint_key for a in node.attributes]
    return f"attributes {keys}"


class InitializationOnlyStatus:
    """Returned by ``Checkpoint.restore(None)``: nothing is restored."""

    def _fail(self):
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being "
                             "restored.")

    def assert_consumed(self):
        self._fail()

    def assert_existing_objects_matched(self):
        self._fail()

    def assert_nontrivial_match(self):
        self._fail()

    def expect_partial(self):
        return self

    def run_restore_ops(self, session=None) -> None:
        pass

    def initialize_or_restore(self, session=None) -> None:
        pass


class NameBasedLoadStatus:
    """Returned for TF1-style checkpoints (no object graph): variables matched by name."""

    def __init__(self, prefix: str, restored: list, unmatched: list) -> None:
        self.prefix = prefix
        self.restored = restored
        self.unmatched = unmatched

    def assert_consumed(self):
        if self.unmatched:
            raise AssertionError(f"Some objects had no matching value in the name-based "
                                 f"checkpoint {self.prefix}: {self.unmatched[:_MAX_LISTED]}")
        return self

    assert_existing_objects_matched = assert_consumed

    def assert_nontrivial_match(self):
        if not self.restored:
            raise AssertionError(f"Nothing matched by name in {self.prefix}.")
        return self

    def expect_partial(self):
        return self

    def run_restore_ops(self, session=None) -> None:
        pass

    def initialize_or_restore(self, session=None) -> None:
        pass


def _name_based(reader, prefix: str, root, attached, strict: bool = False
                ) -> NameBasedLoadStatus:
    """Match variables to keys by name. ``strict`` (``Model.load_weights``): every variable
    must find its key, else ``AssertionError`` (tf-keras's ``assert_nontrivial_match`` on a
    name-based status), raised before anything is assigned."""
    variables = [n.obj for n in build_graph(root, attached).nodes if n.variable is not None]
    pairs, unmatched = [], []
    for variable in variables:
        name = variable.name[:-2] if variable.name.endswith(":0") else variable.name
        (pairs if name in reader else unmatched).append((name, variable))
    if strict and unmatched:
        names = [v.name for _, v in unmatched]
        raise AssertionError(
            f"Some objects had attributes which were not restored: the checkpoint {prefix} "
            f"has no object graph (a TF1-style, name-based checkpoint, or its "
            f"{OBJECT_GRAPH_KEY} entry is missing), and {len(names)} of {len(variables)} "
            f"variable(s) have no key of their name: {names[:_MAX_LISTED]}"
            f"{' ...' if len(names) > _MAX_LISTED else ''}. Keys in the file: "
            f"{sorted(k for k in reader.keys() if k != OBJECT_GRAPH_KEY)[:_MAX_LISTED]}. "
            "Nothing was loaded.")
    for name, variable in pairs:
        entry = reader.get_entry(name)
        if tuple(entry.shape) != tuple(variable.shape) or \
                entry.numpy_dtype != np.dtype(variable.dtype):
            raise ValueError(f"{prefix}: key {name!r} has shape {tuple(entry.shape)} and dtype "
                             f"{entry.numpy_dtype}, variable {variable.name!r} has shape "
                             f"{tuple(variable.shape)} and dtype {np.dtype(variable.dtype)}.")
    reader.verify_all([name for name, _ in pairs])
    reader.read_all_verified([(name, variable.value) for name, variable in pairs])
    for _, variable in pairs:
        variable.mark_changed()  # read in place: tell the inference engine
    return NameBasedLoadStatus(prefix, [v.name for _, v in pairs],
                               [v.name for _, v in unmatched])


def read_object_graph(reader, prefix: str):
    """The ``TrackableObjectGraph`` stored in a bundle, or ``None`` (a TF1 checkpoint)."""
    from google.protobuf.message import DecodeError

    from . import protos

    if OBJECT_GRAPH_KEY not in reader:
        return None
    data = reader.read_string(OBJECT_GRAPH_KEY)
    try:
        return protos.TrackableObjectGraph.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise CheckpointFormatError(f"{prefix}: unparseable {OBJECT_GRAPH_KEY} ({exc})") from None


def restore(root, prefix: str, attached=(), options=None, hint: str = "", check=None,
            strict_names: bool = False):
    """Restore the checkpoint at ``prefix`` into ``root``; returns a status object.

    ``attached``: extra ``(name, object)`` children of the root (see
    :func:`.object_graph.build_graph`). ``hint``: text appended to assertion messages and to
    the unrestored-values warning. ``check(job)``: called after matching and before anything
    is assigned; it may raise to refuse the checkpoint. ``strict_names``: a checkpoint
    without an object graph must match every variable by name (see :func:`_name_based`).
    """
    from numkeras.saving.paths import lock_folder, unlock_folder

    from .bundle import BundleReader

    # Shared lock on the folder while reading: a save committing a new index and data at this
    # prefix (it takes the lock exclusively) waits, so this load never mixes two versions.
    recover_prefix(prefix)
    lock = lock_folder(os.path.dirname(os.path.abspath(prefix)), shared=True)
    reader = None
    try:
        reader = BundleReader(prefix)
        graph = read_object_graph(reader, prefix)
        if graph is None:
            return _name_based(reader, prefix, root, list(attached), strict_names)
        job = _Restore(reader, graph, prefix, root, attached, options, hint)
        job.run(check)
    finally:
        if reader is not None:
            reader.close()  # deferred restores reopen the data files when they run
        unlock_folder(lock)
    return CheckpointLoadStatus(job)
