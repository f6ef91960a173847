"""Load Keras 2 ``.h5`` weights: topological or by name, with ``skip_mismatch``.

The load runs in three phases, so that a failure leaves the model exactly as it was:

1. **plan** -- pair every saved weight with a variable and check counts, shapes and dtypes
   (reading only metadata; conversions of :mod:`.convert` read the few values they need);
2. **prepare** -- check that each dataset's bytes lie inside the file; datasets that cannot
   be read straight into a variable (compressed/chunked storage, dtypes HDF5 should not cast)
   are read into memory now, so that read errors surface before anything changes;
3. **apply** -- read each remaining dataset directly into its variable's buffer
   (``Dataset.read_direct``): no second copy of the model is made.

Topological mode (default) pairs the k-th layer with weights in the file with the k-th layer
with weights in ``model.layers``; names are ignored (tf-keras). ``by_name=True`` pairs a file
group with the top-level layers of that name (tf-keras); **numkeras addition**: a group whose
name no top-level layer has is paired with sub-layers of that name nested in top-level layers
(nested models, wrappers) that are not themselves in the file.

``skip_mismatch=True`` (allowed in both modes; tf-keras requires ``by_name``) skips every
layer whose weight count, shapes or dtypes do not fit, with one ``UserWarning`` per skipped
layer. A layer is skipped as a whole (tf-keras's by-name mode still loads the weights of the
layer whose shapes fit; numkeras follows the weights API, ``docs/formats.md`` §1: "every
layer whose weights do not match is skipped").

Every call returns a :class:`~numkeras.saving.report.LoadReport`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from numkeras.saving import h5common, h5raw_read, h5scan
from numkeras.saving.formats import HDF5_MAGIC, head
from numkeras.saving.h5common import castable, damage_is_an_error, data_past_end, plain_storage
from numkeras.saving.hdf5.convert import ConversionError, Saved, preprocess
from numkeras.saving.hdf5.layout import (
    TOP_LEVEL_GROUP,
    decode_string,
    has_attribute,
    import_h5py,
    legacy_weights,
    load_attributes,
    own_weights,
    tree_strings,
)
from numkeras.saving.report import LoadReport

_SUBCLASSED_NOT_BUILT = (
    "Unable to load weights saved in HDF5 format into a subclassed Model which has not "
    "created its variables yet. Call the Model first, then load the weights.")


def load_weights(model, filepath: str, skip_mismatch: bool = False, by_name: bool = False,
                 options=None) -> LoadReport:
    """Load the weights in the HDF5 file ``filepath`` into ``model``; returns a report.

    ``options`` is accepted and ignored (tf-keras ignores it for HDF5 too).
    """
    h5py = import_h5py("load")
    if not model.built and not model.is_graph_network:
        raise ValueError(_SUBCLASSED_NOT_BUILT)
    model.assert_weights_created()
    f = open_file(h5py, filepath)
    with f:
        with damage_is_an_error(lambda exc: None if filepath in str(exc)
                                else _damaged(filepath, exc)):
            root = weights_root(f, filepath)
            loader = _Loader(model, root, filepath, skip_mismatch, _tree_of(f, root))
            if by_name:
                loader.plan_by_name()
            else:
                loader.plan_topological()
            loader.plan_top_level(by_name)
            loader.prepare(h5py)
        loader.apply()
    return loader.report


def _damaged(filepath: str, exc: Exception) -> Exception:
    """An error naming the file for ``exc`` (HDF5 metadata damage surfaces from h5py as
    RuntimeError, KeyError, ... without the file name)."""
    kind = ValueError if isinstance(exc, ValueError) else OSError
    return kind(f"Cannot read weights from {filepath!r}: the file is damaged or not a Keras "
                f"weights file ({type(exc).__name__}: {exc}).")


# -- the file ------------------------------------------------------------------------------

def open_file(h5py, filepath: str):
    """``h5py.File(filepath, 'r')`` with errors that name the file and say what is wrong."""
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No weights file at {filepath!r}.")
    try:
        f = h5py.File(filepath, "r")
    except OSError as exc:
        what = ("it is truncated or damaged" if head(filepath) == HDF5_MAGIC
                else "it is not an HDF5 file")
        raise OSError(f"Cannot read weights from {filepath!r}: {what} ({exc}).") from exc
    try:  # before any attribute is read
        h5common.check_global_heaps(filepath, f"Cannot read weights from {filepath!r}",
                                    h5file=f)
    except BaseException:
        f.close()
        raise
    return f


def weights_root(f, filepath: str):
    """The group holding ``layer_names``: the root, or ``model_weights`` of a full-model file."""
    if has_attribute(f, "layer_names"):
        return f
    if "model_weights" in f and has_attribute(f["model_weights"], "layer_names"):
        return f["model_weights"]
    hint = ""
    if "vars" in f or "layers" in f or "_layer_checkpoint_dependencies" in f:
        hint = (" It looks like a Keras 3 / `.keras`-format weights file: give it a name "
                "ending in `.weights.h5` to load it.")
    raise ValueError(f"{filepath!r} is an HDF5 file but not a Keras weights file: it has no "
                     f"`layer_names` attribute (nor a `model_weights` group with one).{hint}")


def _tree_of(f, root):
    """The group ``root`` of ``f`` as read by :mod:`~numkeras.saving.h5raw_read` (its layer
    groups and plain datasets without opening them through HDF5), or ``None``."""
    tree = h5raw_read.tree_of_h5(f)
    if tree is not None and root is not f:
        tree = tree.children.get("model_weights")
    return tree if tree is not None and tree.kind == h5raw_read.GROUP else None


def _read_attribute(group, name: str, filepath: str) -> list[str]:
    try:
        return load_attributes(group, name)
    except (ValueError, TypeError, UnicodeDecodeError, OSError) as exc:
        where = group.name if hasattr(group, "name") else _id_name(group)
        raise ValueError(f"Cannot read attribute {name!r} of {where!r} in "
                         f"{filepath!r}: {exc}") from exc


def _id_name(oid) -> str:
    """The HDF5 path of a low-level object id (as h5py's ``.name`` gives it)."""
    try:
        return import_h5py("load").h5i.get_name(oid).decode("utf-8", "replace")
    except h5common.DAMAGE_ERRORS:
        return "?"


def _format_shapes(shapes) -> str:
    return "[" + ", ".join(str(tuple(s)) if s is not None else "None" for s in shapes) + "]"


@dataclass
class _Problem:
    """Why saved values do not fit a layer; ``message``/``reason`` render it."""

    kind: str                       # "count", "shape", "dtype" or "convert"
    expected: list
    found: list
    weight: str = ""
    detail: str = ""

    def message(self, where: str) -> str:
        if self.kind == "count":
            return (f"Weight count mismatch for {where}. Layer expects {len(self.expected)} "
                    f"weight(s). Received {len(self.found)} saved weight(s). Expected shapes "
                    f"{_format_shapes(self.expected)}, saved shapes "
                    f"{_format_shapes(self.found)}")
        if self.kind == "shape":
            return f"Shape mismatch in {where} for weight {self.weight}. {self.detail}"
        if self.kind == "dtype":
            return f"Dtype mismatch in {where} for weight {self.weight}. {self.detail}"
        return f"Cannot convert the saved weights of {where}: {self.detail}"

    def reason(self) -> str:
        if self.kind == "count":
            return (f"mismatch in number of weights. Layer expects {len(self.expected)} "
                    f"weight(s). Received {len(self.found)} saved weight(s)")
        if self.kind == "shape":
            return f"mismatch in shape for weight {self.weight}. {self.detail}"
        if self.kind == "dtype":
            return f"mismatch in dtype for weight {self.weight}. {self.detail}"
        return self.detail


def _match(variables: list, values: list[Saved]) -> _Problem | None:
    """The first reason ``values`` cannot be assigned to ``variables``, or None."""
    expected = [tuple(v.shape) for v in variables]
    if len(values) != len(variables):
        return _Problem("count", expected, [s.shape for s in values])
    for var, saved in zip(variables, values):
        if saved.shape != tuple(var.shape):
            return _Problem("shape", expected, [s.shape for s in values], weight=var.name,
                            detail=f"Weight expects shape {tuple(var.shape)}. Received saved "
                                   f"weight with shape {saved.shape}")
        if not castable(saved.dtype, np.dtype(var.dtype)):
            return _Problem("dtype", expected, [s.shape for s in values], weight=var.name,
                            detail=f"The saved weight {saved.name} has dtype {saved.dtype}, "
                                   f"which cannot be cast to the weight's dtype {var.dtype}")
    return None


class _Loader:
    def __init__(self, model, root, filepath: str, skip_mismatch: bool, tree=None):
        self.model = model
        self.root = root
        self.tree = tree  # the root as h5raw_read read it (None: h5py for everything)
        self.filepath = filepath
        self.skip_mismatch = skip_mismatch
        self.report = LoadReport(filepath)
        self.pairs: list[tuple[object, Saved]] = []
        try:
            version = h5common.read_attr(root, "keras_version")
            self.version = decode_string(version) if version is not None else "1"
        except (ValueError, TypeError, UnicodeDecodeError, OSError) as exc:
            raise ValueError(self._err(f"Cannot read the `keras_version` attribute: {exc}")) \
                from exc
        self._groups: dict[str, list[Saved]] = {}
        self._gids: dict = {}  # layer groups opened by the fast path (see h5scan)
        self._weights: dict[int, list] = {}  # legacy_weights by id(layer), for this load

    # -- reading the file side --------------------------------------------------------------
    def _err(self, text: str) -> str:
        return f"{text} (while loading weights from {self.filepath!r})"

    def layer_names(self) -> list[str]:
        names = tree_strings(self.tree, "layer_names") if self.tree is not None else None
        if names is None:
            names = _read_attribute(self.root, "layer_names", self.filepath)
        for name in names:
            if self._tree_group(name) is not None or self._group_id(name) is not None:
                continue
            if name not in self.root or not hasattr(self.root[name], "attrs") or \
                    hasattr(self.root[name], "shape"):
                raise ValueError(self._err(
                    f"The file lists layer {name!r} in `layer_names`, but has no group of that "
                    "name: the file is damaged or not a Keras weights file"))
        return names

    def saved(self, group_name: str) -> list[Saved]:
        """The saved weights of one group, in ``weight_names`` order (metadata only)."""
        if group_name in self._groups:
            return self._groups[group_name]
        fast = self._saved_from_tree(group_name)
        if fast is not None:
            self._groups[group_name] = fast
            return fast
        gid = self._group_id(group_name)
        if gid is not None:
            group = None  # opened only for what the fast path leaves (see h5scan)
            names = _read_attribute(gid, "weight_names", self.filepath)
        else:
            group = self.root[group_name]
            names = _read_attribute(group, "weight_names", self.filepath)
        fileno = self.root.id.fileno
        out = []
        for wname in names:
            info = h5scan.plain_dataset(gid, wname, fileno) if gid is not None else None
            if info is not None:
                out.append(Saved(wname, dataset=_Plain(self.root, f"{group_name}/{wname}",
                                                       info)))
                continue
            if group is None:
                group = self.root[group_name]
            obj = group.get(wname)
            if obj is None or not hasattr(obj, "shape"):
                raise ValueError(self._err(
                    f"Layer {group_name!r} lists weight {wname!r} in `weight_names`, but the "
                    "file has no dataset of that name"))
            h5common.check_dataset(obj, f"Cannot read weights from {self.filepath!r}",
                                   f"weight {wname!r} of layer {group_name!r}",
                                   link=group.get(wname, getlink=True), file=self.root.file)
            if obj.shape is None:
                raise ValueError(self._err(
                    f"Weight {wname!r} of layer {group_name!r} is an empty HDF5 dataset with "
                    "no shape"))
            out.append(Saved(wname, dataset=obj))
        self._groups[group_name] = out
        return out

    def _tree_group(self, name: str):
        """The tree's group ``name`` of the root (``None``: not known to the tree)."""
        node = self.tree.children.get(name) if self.tree is not None else None
        return node if node is not None and node.kind == h5raw_read.GROUP else None

    def _saved_from_tree(self, group_name: str) -> list[Saved] | None:
        """:meth:`saved` from the tree when every weight is a plain dataset it read (else
        ``None``: h5py checks the group, with its errors)."""
        node = self._tree_group(group_name)
        names = tree_strings(node, "weight_names") if node is not None else None
        if names is None:
            return None
        out = []
        for wname in names:
            child = node.find(wname)
            if child is None or child.info is None:
                return None
            out.append(Saved(wname, dataset=_Plain(self.root, f"{group_name}/{wname}",
                                                   child.info)))
        return out

    def _group_id(self, name: str):
        """The low-level id of the group ``name`` of the root (``None``: not a group)."""
        if name not in self._gids:
            h5py = import_h5py("load")
            try:
                self._gids[name] = h5py.h5g.open(self.root.id, name.encode("utf-8"))
            except h5common.DAMAGE_ERRORS:
                self._gids[name] = None
        return self._gids[name]

    # -- pairing ------------------------------------------------------------------------
    def _legacy_weights(self, layer) -> list:
        """``legacy_weights(layer)``, once per layer and load (it walks the layer's tree)."""
        weights = self._weights.get(id(layer))
        if weights is None:
            weights = self._weights[id(layer)] = legacy_weights(layer)
        return weights

    def _fit(self, layer, values: list[Saved]) -> tuple[list, _Problem | None]:
        variables = self._legacy_weights(layer)
        try:
            values = preprocess(layer, values, self.version)
        except ConversionError as exc:
            shapes = [tuple(v.shape) for v in variables]
            return variables, _Problem("convert", shapes, [s.shape for s in values],
                                       detail=str(exc))
        problem = _match(variables, values)
        if problem is None:
            self.pairs.extend(zip(variables, values))
        return variables, problem

    def _skip(self, name: str, where: str, reason: str) -> None:
        sep = " due to " if reason.startswith("mismatch") else ": "
        message = f"Skipping loading of weights for {where}{sep}{reason}"
        warnings.warn(message + ". The layer keeps its current weights.", UserWarning,
                      stacklevel=6)
        self.report.skip(name, reason)

    def plan_topological(self) -> None:
        model_layers = [layer for layer in self.model.layers if self._legacy_weights(layer)]
        file_layers = [name for name in self.layer_names() if self.saved(name)]
        if len(model_layers) != len(file_layers) and not self.skip_mismatch:
            raise ValueError(self._err(
                "Layer count mismatch when loading weights from file. Model expected "
                f"{len(model_layers)} layers, found {len(file_layers)} saved layers. "
                + self._first_difference(model_layers, file_layers)))
        for k, (layer, name) in enumerate(zip(model_layers, file_layers)):
            where = f"layer #{k} (named {layer.name} in the current model, {name} in the " \
                    "save file)"
            _, problem = self._fit(layer, self.saved(name))
            if problem is None:
                self.report.loaded.append(layer.name)
            elif self.skip_mismatch:
                self._skip(layer.name, where, problem.reason())
            else:
                raise ValueError(self._err(problem.message(where)))
        n = min(len(model_layers), len(file_layers))
        for k, layer in enumerate(model_layers[n:], start=n):
            self._skip(layer.name, f"layer #{k} (named {layer.name})",
                       f"no saved layer: the file has only {len(file_layers)} layer(s) with "
                       "weights")
        if file_layers[n:]:
            self.report.unexpected.extend(file_layers[n:])
            warnings.warn(f"The file {self.filepath!r} has {len(file_layers) - n} more layer(s) "
                          f"with weights than the model; not loaded: {file_layers[n:]}",
                          UserWarning, stacklevel=5)

    def _first_difference(self, model_layers: list, file_layers: list[str]) -> str:
        for k in range(max(len(model_layers), len(file_layers))):
            if k >= len(model_layers):
                name = file_layers[k]
                saved = [s.shape for s in self.saved(name)]
                return (f"The first difference is weighted layer #{k}: the model has no more "
                        f"layers with weights, the file has {name!r} with {len(saved)} "
                        f"weight(s) of shapes {_format_shapes(saved)}.")
            layer = model_layers[k]
            shapes = [tuple(v.shape) for v in legacy_weights(layer)]
            if k >= len(file_layers):
                return (f"The first difference is weighted layer #{k}: the model has "
                        f"{layer.name!r} expecting {len(shapes)} weight(s) of shapes "
                        f"{_format_shapes(shapes)}, the file has no more layers with weights.")
            saved = [s.shape for s in self.saved(file_layers[k])]
            if saved != shapes:
                return (f"The first difference is weighted layer #{k}: model layer "
                        f"{layer.name!r} expects {len(shapes)} weight(s) of shapes "
                        f"{_format_shapes(shapes)}, saved layer {file_layers[k]!r} has "
                        f"{len(saved)} weight(s) of shapes {_format_shapes(saved)}.")
        return ""

    def plan_by_name(self) -> None:
        names = self.layer_names()
        in_file = set(names)
        top: dict[str, list] = {}
        for layer in self.model.layers:
            top.setdefault(layer.name, []).append(layer)
        nested: dict[str, list] = {}
        for layer in self.model.layers:
            if layer.name in in_file:
                continue
            for sub in layer.submodules:
                if sub.name not in top and sub not in nested.get(sub.name, []):
                    nested.setdefault(sub.name, []).append(sub)
        covered: set[int] = set()
        for k, name in enumerate(names):
            values = self.saved(name)
            targets = top.get(name) or nested.get(name, [])
            if not targets:
                if values:
                    self.report.unexpected.append(name)
                continue
            for layer in targets:
                covered.update(id(x) for x in [layer] + layer.submodules)
                _, problem = self._fit(layer, values)
                if problem is None:
                    if values or legacy_weights(layer):
                        self.report.loaded.append(layer.name)
                elif self.skip_mismatch:
                    self._skip(layer.name, f"layer #{k} (named {layer.name})", problem.reason())
                else:
                    raise ValueError(self._err(problem.message(f"layer #{k} (named "
                                                               f"{layer.name})")))
        for layer in self.model.layers:
            self.report.missing.extend(_uncovered(layer, covered, ""))

    def plan_top_level(self, by_name: bool) -> None:
        variables = own_weights(self.model)
        if TOP_LEVEL_GROUP not in self.root:
            if variables:
                self.report.missing.append(f"top-level weights of {self.model.name}")
            return
        values = self.saved(TOP_LEVEL_GROUP)
        problem = _match(variables, values)
        if problem is None:
            self.pairs.extend(zip(variables, values))
            if variables:
                self.report.loaded.append(TOP_LEVEL_GROUP)
            return
        if problem.kind == "count":
            text = (f"Weight count mismatch for top-level weights when loading weights from "
                    f"file. Model expects {len(variables)} top-level weight(s). Received "
                    f"{len(values)} saved top-level weight(s)")
            reason = (f"mismatch in number of weights. Model expects {len(variables)} "
                      f"top-level weight(s). Received {len(values)} saved top-level weight(s)")
        else:
            text = f"{problem.kind.capitalize()} mismatch in model for top-level weight " \
                   f"{problem.weight}. {problem.detail}"
            reason = problem.reason()
        if self.skip_mismatch:
            self._skip(TOP_LEVEL_GROUP, f"the top-level weights of model {self.model.name}",
                       reason)
        else:
            raise ValueError(self._err(text))

    # -- reading values -----------------------------------------------------------------
    def prepare(self, h5py) -> None:
        """Check or stage every dataset, so that ``apply`` cannot fail half-way."""
        size = os.path.getsize(self.root.file.filename)
        for var, saved in self.pairs:
            if saved.array is not None:
                continue
            dset = saved.dataset
            if isinstance(dset, _Plain):
                if dset.info.offset + dset.info.size > size:
                    raise OSError(self._err(
                        f"The data of weight {saved.name!r} (dataset {dset.name!r}) lies past "
                        "the end of the file: the file is truncated"))
                if _converts_on_read(saved.dtype, np.dtype(var.dtype)):
                    continue
                dset = dset.h5()  # not read as is: staged below
            direct = plain_storage(dset) and _converts_on_read(saved.dtype, np.dtype(var.dtype))
            if data_past_end(dset, size):
                raise OSError(self._err(
                    f"The data of weight {saved.name!r} (dataset {dset.name!r}) lies past the "
                    "end of the file: the file is truncated"))
            if not direct:
                try:
                    saved.array = np.asarray(dset[()])
                except (OSError, ValueError, TypeError) as exc:
                    raise OSError(self._err(f"Cannot read dataset {dset.name!r}: {exc}")) \
                        from exc

    def apply(self) -> None:
        """Assign staged values; read the others straight into the variables' buffers
        (contiguous datasets of the variable's exact dtype with ``os.preadv``, a few calls
        for the whole file; the rest with ``read_direct``, HDF5 converting)."""
        fd = self.root.file.id.get_vfd_handle() \
            if self.root.file.driver == "sec2" and h5scan.HAVE_PREADV else None
        ranges, filled = [], []
        for var, saved in self.pairs:
            if saved.array is not None:
                var.assign(saved.array)
            elif var.size:
                dset = saved.dataset
                if isinstance(dset, _Plain) and fd is not None and dset.info.dtype == var.dtype:
                    ranges.append((dset.info.offset, h5scan.bytes_of(var.value)))
                    filled.append(var)
                    continue
                dset = dset.h5() if isinstance(dset, _Plain) else dset
                dset.read_direct(var.value)
                var.mark_changed()
        h5scan.read_into(fd, ranges, f"Cannot read weights from {self.filepath!r}")
        for var in filled:
            var.mark_changed()


def _converts_on_read(saved: np.dtype, target: np.dtype) -> bool:
    """Whether HDF5 reads values of dtype ``saved`` into a ``target`` buffer as they are
    (equal dtypes) or by converting floats (not into bfloat16)."""
    return saved == target or (saved.kind == "f" and target.kind == "f"
                               and target.name != "bfloat16")


class _Plain:
    """A contiguous dataset of a standard number type found by the fast path
    (:func:`~numkeras.saving.h5scan.plain_dataset`): shape, dtype and name without an h5py
    ``Dataset``; :meth:`h5` opens one when needed."""

    __slots__ = ("root", "key", "info")

    def __init__(self, root, key: str, info):
        self.root, self.key, self.info = root, key, info

    shape = property(lambda self: self.info.shape)
    dtype = property(lambda self: self.info.dtype)
    name = property(lambda self: f"{self.root.name.rstrip('/')}/{self.key}")

    def h5(self):
        return self.root[self.key]

    def __getitem__(self, selection):
        return self.h5()[selection]


def _uncovered(layer, covered: set[int], prefix: str) -> list[str]:
    """Names of weighted layers under ``layer`` that no file group was paired with."""
    if id(layer) in covered or not legacy_weights(layer):
        return []
    children = [sub for sub in layer.child_layers() if legacy_weights(sub)]
    if not any(id(x) in covered for x in layer.submodules):
        return [prefix + layer.name]
    out = []
    for sub in children:
        out.extend(_uncovered(sub, covered, f"{prefix}{layer.name}/"))
    return out
