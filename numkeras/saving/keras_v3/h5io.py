"""Reading and writing the ``vars`` tree of a Keras-v3 HDF5 weights file, defensively.

Reading first builds an index (:class:`VarsIndex`) of every ``.../vars`` group: the dataset
keys, shapes and dtypes, without reading any values. The index walk refuses soft and external
links, external and virtual datasets, and files with absurdly many objects, so a hostile file
cannot make the reader touch other files or run away. Values are read later, only for datasets
whose shape has been checked against the model.

>>> import io, numpy as np
>>> buf = io.BytesIO()
>>> h5py = import_h5py()
>>> with h5py.File(buf, "w") as f:
...     _ = write_group(f, "layers/dense", "dense", [np.ones((2, 3), "float32")])
>>> with h5py.File(buf, "r") as f:
...     index = VarsIndex.from_h5(f, "w.weights.h5")
>>> index.groups["layers/dense"]["0"].shape, "layers/dense" in index.named
((2, 3), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from numkeras.saving import h5raw_read, h5scan
from numkeras.saving.h5common import check_dataset, import_h5py, read_attr
from numkeras.saving.keras_v3.errors import KerasFileError

MAX_OBJECTS = 1_000_000


@dataclass(frozen=True)
class DatasetRef:
    """Where one saved variable lives: ``source`` (file number) and the full HDF5 name."""

    source: int
    name: str
    shape: tuple
    dtype: np.dtype
    bfloat16: bool = False
    offset: int | None = None  # contiguous plain data: where its bytes start (h5scan)


@dataclass
class VarsIndex:
    """The ``vars`` groups of one or more HDF5 files: object path -> {key: DatasetRef}."""

    filename: str
    groups: dict = field(default_factory=dict)
    named: set = field(default_factory=set)  # owners whose group has a ``name`` attribute
    sources: list = field(default_factory=list)

    @classmethod
    def from_h5(cls, h5file, filename: str, source: int = 0,
                into: VarsIndex | None = None, tree=None) -> VarsIndex:
        """Index ``h5file`` (opened by the caller) into a new index or into ``into``;
        ``tree``: the file as :mod:`~numkeras.saving.h5raw_read` read it, if not from
        ``h5file``'s own descriptor."""
        index = into if into is not None else cls(filename)
        index._scan(h5file, source, tree)
        return index

    def _scan(self, h5file, source: int, tree=None) -> None:
        if tree is None:
            tree = h5raw_read.tree_of_h5(h5file)
        if tree is not None:
            self._scan_tree(h5file, source, tree)
        elif not self._scan_fast(h5file, source):
            self._scan_links(h5file, source)

    def _scan_tree(self, h5file, source: int, tree) -> None:
        """The index from the tree :mod:`~numkeras.saving.h5raw_read` read (hard links
        only, each object once): objects in the order of :meth:`_scan_fast`'s ``H5Ovisit``
        (depth first, members by name); what the tree does not decode goes to h5py."""
        h5py = import_h5py()
        group_kind = h5raw_read.GROUP
        stack = [("", iter(tree.children.items()))]
        while stack:
            parent, members = stack[-1]
            item = next(members, None)
            if item is None:
                stack.pop()
                continue
            key, node = item
            path = f"{parent}/{key}" if parent else key
            if node.kind == group_kind:
                if key == "vars":
                    self.groups.setdefault(parent, {})
                    if node.attrs is None:
                        named = h5py.h5a.exists(h5py.h5g.open(
                            h5file.id, path.encode("utf-8", "surrogateescape")), b"name")
                    else:
                        named = "name" in node.attrs
                    if named:
                        self.named.add(parent)
                stack.append((path, iter(node.children.items())))
                continue
            if parent != "vars" and not parent.endswith("/vars"):
                if node.info is None:  # libhdf5 decides whether it can list this object
                    h5py.h5o.get_info(h5file.id, path.encode("utf-8", "surrogateescape"))
            else:
                owner = parent[:-5] if parent != "vars" else ""
                info = node.info if node.attrs == {} else None  # (attributes: h5py decides)
                if info is None:
                    self._add_dataset(owner, key, h5file[path], source)
                    continue
                entries = self.groups.setdefault(owner, {})
                if key in entries:
                    raise KerasFileError(f"{self.filename}: variable '{owner}/vars/{key}' "
                                         "appears in more than one shard.")
                entries[key] = DatasetRef(source, "/" + path, info.shape, info.dtype,
                                          offset=info.offset)

    def _scan_fast(self, h5file, source: int) -> bool:
        """The index from one pass over the file with h5py's low-level API (see
        :mod:`~numkeras.saving.h5scan`); ``False`` (nothing added) when the file has links
        other than hard links or objects reached twice, which :meth:`_scan_links` reports."""
        h5py = import_h5py()
        objects = h5scan.hard_tree(h5file)
        if objects is None:
            return False
        fid, fileno = h5file.id, h5file.id.fileno
        for path, kind in objects.items():
            parent, _, key = path.rpartition("/")
            if kind == h5py.h5o.TYPE_GROUP and key == "vars":
                self.groups.setdefault(parent, {})
                if h5py.h5a.exists(h5py.h5g.open(fid, path.encode("utf-8", "surrogateescape")),
                                   b"name"):
                    self.named.add(parent)
            elif kind != h5py.h5o.TYPE_GROUP and (parent == "vars" or parent.endswith("/vars")):
                info = h5scan.plain_dataset(fid, path, fileno, attributes=False) \
                    if kind == h5py.h5o.TYPE_DATASET else None
                owner = parent[:-5] if parent != "vars" else ""
                if info is None:
                    self._add_dataset(owner, key, h5file[path], source)
                    continue
                entries = self.groups.setdefault(owner, {})
                if key in entries:
                    raise KerasFileError(f"{self.filename}: variable '{owner}/vars/{key}' "
                                         "appears in more than one shard.")
                entries[key] = DatasetRef(source, "/" + path, info.shape, info.dtype,
                                          offset=info.offset)
        return True

    def _scan_links(self, h5file, source: int) -> None:
        h5py = import_h5py()
        stack = [("", h5file)]
        count = 0
        while stack:
            path, group = stack.pop()
            for key in group:
                count += 1
                if count > MAX_OBJECTS:
                    raise KerasFileError(f"{self.filename}: more than {MAX_OBJECTS} HDF5 "
                                         "objects; refusing to index it.")
                link = group.get(key, getlink=True)
                full = f"{path}/{key}" if path else key
                if not isinstance(link, h5py.HardLink):
                    raise KerasFileError(f"{self.filename}: '{full}' is a "
                                         f"{type(link).__name__}; links are not allowed in "
                                         "weights files.")
                obj = group[key]
                if isinstance(obj, h5py.Group):
                    stack.append((full, obj))
                    if key == "vars":
                        self._add_group(path, obj, source)
                elif path.endswith("vars") and (path == "vars" or path.endswith("/vars")):
                    self._add_dataset(path[:-5] if path != "vars" else "", key, obj, source)

    def _add_group(self, owner: str, group, source: int) -> None:
        self.groups.setdefault(owner, {})
        # Only whether Keras 3's ``name`` attribute exists matters (never its value): reading
        # a damaged variable-length string attribute can hang the HDF5 library.
        if "name" in group.attrs:
            self.named.add(owner)

    def _add_dataset(self, owner: str, key: str, dataset, source: int) -> None:
        check_dataset(dataset, self.filename, f"variable '{owner}/vars/{key}'", KerasFileError)
        entries = self.groups.setdefault(owner, {})
        if key in entries:
            raise KerasFileError(f"{self.filename}: variable '{owner}/vars/{key}' appears in "
                                 "more than one shard.")
        # (Keras 3 marks only bfloat16 datasets: the attribute is read only if it exists.)
        bf16 = "dtype" in dataset.attrs and _attr_str(read_attr(dataset, "dtype")) == "bfloat16"
        entries[key] = DatasetRef(source, dataset.name, tuple(dataset.shape),
                                  np.dtype(dataset.dtype), bf16)

    @property
    def has_name_attrs(self) -> bool:
        """Keras 3 writes a ``name`` attribute on each ``vars`` group; tf-keras never does."""
        return bool(self.named)

    def find(self, path: str, legacy: bool = False):
        """The ``{key: DatasetRef}`` of the object at ``path`` (or None)."""
        from numkeras.saving.keras_v3.walk import legacy_path

        return self.groups.get(legacy_path(path) if legacy else path)


def _attr_str(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def read_dataset(h5file, ref: DatasetRef) -> np.ndarray:
    """The value of ``ref`` from the open ``h5file`` (bfloat16 restored from its raw bytes)."""
    value = np.asarray(h5file[ref.name][()])
    if ref.bfloat16:
        import ml_dtypes

        value = value.view(ml_dtypes.bfloat16) if value.dtype.itemsize == 2 else \
            value.astype(ml_dtypes.bfloat16)
    return value


def write_group(h5file, path: str, name: str | None, values: list, group=None):
    """Create ``<path>/vars`` (``vars`` at the root) with datasets ``"0"``, ``"1"``, ...

    The group gets a ``name`` attribute (Keras 3 writes it; tf-keras ignores it).
    """
    if group is None:
        group = h5file.create_group(f"{path}/vars" if path else "vars")
        if name is not None:
            group.attrs["name"] = name
    for i, value in enumerate(values):
        write_dataset(group, str(i), value)
    return group


def write_dataset(group, key: str, value) -> None:
    """One variable as a dataset; bfloat16 is stored as Keras 3 does (raw, ``dtype`` attr)."""
    value = np.asarray(value)
    if value.dtype.name == "bfloat16":
        ds = group.create_dataset(key, data=value)  # opaque 2-byte elements, as Keras 3
        ds.attrs["dtype"] = "bfloat16"
    else:
        group.create_dataset(key, data=value)
