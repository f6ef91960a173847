"""A small HDF5 *encoder* for exactly the files numkeras writes (``.h5``, ``.weights.h5``).

Why not libhdf5: creating one group or dataset through libhdf5 costs about 0.1-0.2 ms on
the 2-core benchmark machine (``docs/benchmarks.md``), whatever the API (h5py's high-level
API, its low-level ``h5g``/``h5d``/``h5a`` calls, or the in-memory ``core`` driver: 0.73-0.9 s
for the 2,000-layer model of issue 10, whose ``.h5`` file holds 4,000 groups, 4,000 datasets
and 2,000 attributes). No other Python library writes HDF5 (h5py *is* the libhdf5 binding),
so the subset is encoded here, in one pass over a tree of groups, into one ``bytearray``.

What is written (HDF5 file format specification version 2.0 / 3.0 names; the oldest
structures, as libhdf5 writes them with ``libver='earliest'``, readable by every HDF5 since
1.6 and so by old Keras / h5py):

* superblock version 0 (8-byte offsets and lengths, group K values 4 and 16);
* version 1 object headers, each message in the first chunk, no continuation, no padding
  NIL messages, no modification times;
* groups as symbol tables: a local heap of the link names, symbol table nodes of up to
  2 x 4 entries and a version-1 B-tree of as many levels as the number of children needs
  (at most 2 x 16 children per node);
* datasets: dataspace version 1 (maximum dimensions = dimensions), the datatype message
  h5py writes for the NumPy dtype (from ``H5Tencode``), fill value message version 2 (default
  fill, late allocation, as libhdf5 writes it), contiguous layout version 3; a dataset of
  no elements has no storage (undefined address, size 0);
* attributes (message version 1): NumPy arrays and scalars of numbers or fixed-length bytes,
  ``str`` as a variable-length UTF-8 string and ``bytes`` as a variable-length ASCII string
  (what h5py writes for ``attrs[name] = value``), their characters in global heap
  collections (at least 4 KiB each, as libhdf5 requires).

Links are ASCII-coded symbol table entries as in tf-keras's files (the names' UTF-8 bytes).
Anything else (another dtype, such as ``bfloat16`` or complex numbers; a name with an empty
path component; a dataset and a group at one path; an attribute too big for an object header)
raises :class:`Unsupported` while the tree is built, before any file is touched: callers
then write with h5py (:mod:`numkeras.saving.h5write`).

(The module is longer than most: the encoder's parts only make sense together.)

Tensor bytes are never copied: the file is the superblock, the metadata image, then every
dataset's bytes (each at a 64-byte aligned address) taken from the arrays' own buffers,
written with ``pwritev`` (:func:`write_file`, crash-safe like ``h5write.write_file``).

>>> import io, os, tempfile, numpy as np, h5py
>>> root = Group()
>>> root.attribute("layer_names", np.array([b"dense"]))
>>> g = root.group("dense")
>>> g.attribute("name", "dense")
>>> _ = g.dataset("dense/kernel:0", np.arange(6, dtype="float32").reshape(2, 3))
>>> path = os.path.join(tempfile.mkdtemp(), "x.h5")
>>> write_file(path, root)
>>> with h5py.File(path, "r") as f:
...     f["dense/dense/kernel:0"][()].tolist(), f.attrs["layer_names"].tolist()
([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], [b'dense'])
>>> with h5py.File(io.BytesIO(to_bytes(root)), "r") as f:
...     f["dense"].attrs["name"]
'dense'
"""

from __future__ import annotations

import errno
import os
import struct

import numpy as np

from numkeras.saving.formats import HDF5_MAGIC
from numkeras.saving.h5heaps import _ATTRIBUTE, _UNDEF

_DATASPACE, _DATATYPE, _FILL_VALUE, _LAYOUT, _SYMBOL_TABLE = 0x01, 0x03, 0x05, 0x08, 0x11
_LEAF_K, _NODE_K = 4, 16              # the group K values of the superblock (libhdf5's)
_SNOD_SIZE = 8 + 2 * _LEAF_K * 40     # a symbol table node, allocated for 2K entries
_TREE_SIZE = 24 + 2 * _NODE_K * 8 + (2 * _NODE_K + 1) * 8  # a group B-tree node
_GCOL_MIN = 4096                      # a global heap collection's minimum size
_GCOL_OBJECTS = 60_000                # objects per collection (indices are 16-bit)
_ALIGN = 64                           # where each dataset's bytes start
_SUPERBLOCK = 96
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
#: the fill value message libhdf5 writes for h5py's default dataset creation properties
_FILL = b"\x02\x02\x02\x01\x00\x00\x00\x00"
#: variable-length string of 16-byte heap references (length, collection, index), base
#: type one unsigned byte; byte 2 is the character set (0 ASCII, 1 UTF-8)
_VLEN_STR = bytes.fromhex("1901000010000000100000000100000000000800")
_ENTRY = struct.Struct("<QQI4xQQ")    # symbol table entry with cached group addresses
_PLAIN_ENTRY = struct.Struct("<QQI20x")
_OH_PREFIX = struct.Struct("<BBHII4x")
_MSG = struct.Struct("<HHB3x")
_HEAP_HEAD = struct.Struct("<4sB3xQQQ")
_Q = struct.Struct("<Q")
_ZEROS = bytes(_TREE_SIZE)


class Unsupported(ValueError):
    """The tree holds something this encoder does not write; write it with h5py instead."""


def _pad8(data: bytes) -> bytes:
    return data + _ZEROS[:-len(data) % 8]


_TYPES: dict = {}


def _datatype(dtype: np.dtype) -> bytes:
    """The datatype message h5py writes for ``dtype`` (numbers, bool, fixed bytes)."""
    msg = _TYPES.get(dtype)
    if msg is None:
        if dtype.kind not in "biufS" or dtype.byteorder == ">" or dtype.itemsize == 0 or \
                (dtype.kind == "f" and dtype.itemsize not in (2, 4, 8)) or dtype.names or \
                dtype.subdtype or dtype.metadata:
            raise Unsupported(f"dtype {dtype}")
        from numkeras.saving.h5common import import_h5py

        encoded = import_h5py().h5t.py_create(dtype, logical=True).encode()
        if encoded[:2] != b"\x03\x00":  # H5Tencode: message id and encoding version, message
            raise Unsupported(f"dtype {dtype}")
        msg = _TYPES[dtype] = encoded[2:]
    return msg


def _dataspace(shape: tuple) -> bytes:
    if not shape:
        return b"\x01\x00\x00\x00\x00\x00\x00\x00"
    dims = struct.pack(f"<{len(shape)}Q", *shape)
    return bytes((1, len(shape), 1, 0, 0, 0, 0, 0)) + dims + dims


def _name(name: str) -> bytes:
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Unsupported(f"name {name!r}") from exc
    if not raw or b"\0" in raw or raw in (b".", b".."):
        raise Unsupported(f"name {name!r}")
    return raw


def _c_array(value) -> np.ndarray:
    value = np.asarray(value)
    return value if value.flags.c_contiguous else np.ascontiguousarray(value)


_HEADS: dict = {}


def _head(shape: tuple, dtype: np.dtype) -> bytes:
    """A dataset header's dataspace, datatype and fill value messages."""
    head = _HEADS.get((shape, dtype))
    if head is None:
        space, dt = _pad8(_dataspace(shape)), _pad8(_datatype(dtype))
        head = _HEADS[(shape, dtype)] = (_MSG.pack(_DATASPACE, len(space), 0) + space
                                         + _MSG.pack(_DATATYPE, len(dt), 1) + dt
                                         + _MSG.pack(_FILL_VALUE, 8, 1) + _FILL)
    return head


class Dataset:
    """A contiguous dataset: its first messages and the array it holds."""

    __slots__ = ("value", "head", "nbytes", "attrs")

    def __init__(self, value: np.ndarray):
        self.value = value
        self.nbytes = value.nbytes
        self.head = _head(value.shape, value.dtype)
        self.attrs: list = []

    def attribute(self, name: str, value) -> None:
        """An attribute (see :meth:`Group.attribute`)."""
        self.attrs.append(_attribute(name, value))


class Group:
    """A group: ``children`` by link name (bytes), attributes in creation order."""

    __slots__ = ("children", "attrs")

    def __init__(self):
        self.children: dict[bytes, Group | Dataset] = {}
        self.attrs: list = []

    def group(self, path: str, new: bool = True) -> Group:
        """The group at ``path`` below this one, created with its intermediate groups
        (``new``: it must not exist yet, as libhdf5's ``H5Gcreate``)."""
        if "/" not in path:  # (the common case, without the loop)
            key = _name(path)
            child = self.children.get(key)
            if child is None:
                child = self.children[key] = Group()
            elif new or type(child) is not Group:
                raise Unsupported(f"{path!r} exists")
            return child
        group = self
        parts = path.split("/")
        last = len(parts) - 1
        for i, part in enumerate(parts):
            key = _name(part)
            child = group.children.get(key)
            if child is None:
                child = group.children[key] = Group()
            elif type(child) is not Group or (new and i == last):
                raise Unsupported(f"{path!r} exists")
            group = child
        return group

    def dataset(self, path: str, value) -> Dataset:
        """A dataset holding ``value`` at ``path`` (intermediate groups created)."""
        parent, _, name = path.rpartition("/")
        group = self.group(parent, new=False) if parent else self
        key = _name(name)
        if key in group.children:
            raise Unsupported(f"{path!r} exists")
        ds = group.children[key] = Dataset(_c_array(value))
        return ds

    def attribute(self, name: str, value) -> None:
        """``attrs[name] = value`` as h5py writes it for a NumPy array or scalar, a ``str``
        (variable-length UTF-8) or ``bytes`` (variable-length ASCII)."""
        self.attrs.append(_attribute(name, value))


def _attribute_message(name: bytes, dtype: bytes, space: bytes, data: bytes) -> bytes:
    body = (struct.pack("<BBHHH", 1, 0, len(name) + 1, len(dtype), len(space))
            + _pad8(name + b"\0") + _pad8(dtype) + _pad8(space) + data)
    if len(body) > 0xFFF8:
        raise Unsupported(f"attribute {name!r} of {len(body)} bytes")
    body = _pad8(body)
    return _MSG.pack(_ATTRIBUTE, len(body), 0) + body


def _attribute(name: str, value) -> bytes | tuple:
    """The attribute message, or for a variable-length string ``(message, where its heap
    reference goes in the message, characters)`` (the encoder sets the reference)."""
    raw = _name(name)
    if isinstance(value, str) or type(value) is bytes:  # (numpy.bytes_: a fixed string)
        if isinstance(value, str):
            try:
                data, cset = value.encode("utf-8"), b"\x01"
            except UnicodeEncodeError as exc:
                raise Unsupported(f"attribute {name!r}") from exc
        else:
            data, cset = value, b"\x00"
        msg = _attribute_message(raw, _VLEN_STR[:2] + cset + _VLEN_STR[3:], _SCALAR,
                                 struct.pack("<I12x", len(data)))
        # message header, attribute fields, name, datatype (20 + 4), dataspace, length
        return msg, 8 + 8 + len(_pad8(raw + b"\0")) + 24 + 8 + 4, data
    value = _c_array(value)
    if value.dtype.kind == "O":
        raise Unsupported(f"attribute {name!r} of dtype object")
    return _attribute_message(raw, _datatype(value.dtype), _dataspace(value.shape),
                              value.tobytes())


_SCALAR = b"\x01\x00\x00\x00\x00\x00\x00\x00"
_HEAP_OBJECT = struct.Struct("<HH4xQ")
_SNOD_HEAD = struct.Struct("<4sBxH")
_TREE_HEAD = struct.Struct("<4sBBHQQQ")  # and the first key
_ONE_CHILD = struct.Struct("<4sBBHQQQQQ")


class _Encoder:
    """Lays the file out: superblock, the metadata image (objects in post-order: a group's
    children before the group, the root group last; then the global heap collections of
    the attributes' strings), then every dataset's bytes."""

    def __init__(self, root: Group):
        self.chunks: list = []      # (offset in the data, memoryview) of dataset bytes
        self.strings: list = []     # (image offset of the heap reference, characters)
        self.layouts: list = []     # image offsets of the layout addresses, as chunks
        self.data_end = 0           # the data's size so far
        self.base = _SUPERBLOCK
        self.out = bytearray()
        root_oh, btree, heap = self._group(root)
        self._global_heaps()
        out = self.out
        data = -(self.base + len(out)) % _ALIGN + self.base + len(out)
        pack_into = _Q.pack_into
        for pos, (at, _) in zip(self.layouts, self.chunks):
            pack_into(out, pos, data + at)
        self.chunks = [(at + data, view) for at, view in self.chunks]
        self.size = data + self.data_end
        self.superblock = (HDF5_MAGIC + bytes(5) + b"\x08\x08\x00"
                           + struct.pack("<HHIQQQQ", _LEAF_K, _NODE_K, 0, 0, _UNDEF,
                                         self.size, _UNDEF)
                           + _ENTRY.pack(0, root_oh, 1, btree, heap))

    def _global_heaps(self) -> None:
        """Append the collections holding the attributes' strings and point each string
        attribute at its characters."""
        out = self.out
        strings = [(pos, data) for pos, data in self.strings if data]
        i = 0
        while i < len(strings):
            start = len(out)
            out += b"GCOL\x01\x00\x00\x00" + bytes(8)
            addr = self.base + start
            for index, (pos, data) in enumerate(strings[i:i + _GCOL_OBJECTS], 1):
                out += _HEAP_OBJECT.pack(index, 0, len(data)) + _pad8(data)
                struct.pack_into("<QI", out, pos, addr, index)
            i += _GCOL_OBJECTS
            used = len(out) - start
            size = max(_GCOL_MIN, used)
            if size - used >= 16:
                out += _HEAP_OBJECT.pack(0, 0, size - used) + bytes(size - used - 16)
            else:
                out += bytes(size - used)
            _Q.pack_into(out, start + 8, size)

    def _header(self, count: int, first: bytes, attrs: list) -> int:
        """Append a version-1 object header: the message(s) ``first`` then ``attrs``
        (``count`` messages in all); its address."""
        out = self.out
        start = len(out)
        out += _OH_PREFIX.pack(1, 0, count, 1, 0)
        out += first
        for attr in attrs:
            if type(attr) is bytes:
                out += attr
            else:
                msg, at, data = attr
                self.strings.append((len(out) + at, data))
                out += msg
        _OH_PREFIX.pack_into(out, start, 1, 0, count, 1, len(out) - start - 16)
        return self.base + start

    def _dataset(self, ds: Dataset) -> int:
        out = self.out
        nbytes = ds.nbytes
        if nbytes:
            at = -self.data_end % _ALIGN + self.data_end
            self.data_end = at + nbytes
            value = ds.value
            self.chunks.append((at, memoryview(value if value.ndim else value.reshape(1))
                                .cast("B")))
            self.layouts.append(len(out) + 16 + len(ds.head) + 10)
            layout = _LAYOUT_MSG.pack(_LAYOUT, 24, 0, 3, 1, 0, nbytes)
        else:
            layout = _LAYOUT_MSG.pack(_LAYOUT, 24, 0, 3, 1, _UNDEF, 0)
        return self._header(4 + len(ds.attrs), ds.head + layout, ds.attrs)

    def _group(self, group: Group) -> tuple[int, int, int]:
        children = group.children
        entries = []
        heap_data = [_ZEROS[:8]]  # offset 0: the empty name
        offset = 8
        keys = [0]
        for key in sorted(children) if len(children) > 1 else children:
            child = children[key]
            if type(child) is Group:
                oh, bt, hp = self._group(child)
                entries.append(_ENTRY.pack(offset, oh, 1, bt, hp))
            else:
                entries.append(_PLAIN_ENTRY.pack(offset, self._dataset(child), 0))
            keys.append(offset)
            name = key + _ZEROS[:8 - len(key) % 8]
            heap_data.append(name)
            offset += len(name)
        out = self.out
        heap = self.base + len(out)
        out += _HEAP_HEAD.pack(b"HEAP", 0, offset, 1, heap + 32)
        out += b"".join(heap_data)
        count = len(entries)
        step = 2 * _LEAF_K
        if count <= step:  # one symbol table node (or none) under one B-tree node
            if count:
                snod = self.base + len(out)
                out += _SNOD_HEAD.pack(b"SNOD", 1, count)
                out += b"".join(entries)
                out += _ZEROS[:_SNOD_SIZE - 8 - 40 * count]
                btree = self.base + len(out)
                out += _ONE_CHILD.pack(b"TREE", 0, 0, 1, _UNDEF, _UNDEF, 0, snod, keys[-1])
                out += _ZEROS[:_TREE_SIZE - _ONE_CHILD.size]
            else:
                btree = self.base + len(out)
                out += _TREE_HEAD.pack(b"TREE", 0, 0, 0, _UNDEF, _UNDEF, 0)
                out += _ZEROS[:_TREE_SIZE - _TREE_HEAD.size]
        else:  # leaves of up to 2K entries, with their (left, right) keys
            items = []
            for i in range(0, count, step):
                part = entries[i:i + step]
                items.append((self.base + len(out), keys[i], keys[i + len(part)]))
                out += _SNOD_HEAD.pack(b"SNOD", 1, len(part))
                out += b"".join(part)
                out += _ZEROS[:_SNOD_SIZE - 8 - 40 * len(part)]
            btree = self._btree(items)
        symbols = _SYMBOLS.pack(_SYMBOL_TABLE, 16, 0, btree, heap)
        return self._header(1 + len(group.attrs), symbols, group.attrs), btree, heap

    def _btree(self, items: list) -> int:
        """B-tree nodes over ``items`` (child address, left key, right key), level by level
        up to one root; the root's address."""
        level = 0
        step = 2 * _NODE_K
        while True:
            count = -(-len(items) // step)
            first = self.base + len(self.out)
            nodes = []
            for n in range(count):
                part = items[n * step:(n + 1) * step]
                addr = first + n * _TREE_SIZE
                left = addr - _TREE_SIZE if n else _UNDEF
                right = addr + _TREE_SIZE if n + 1 < count else _UNDEF
                node = [_TREE_HEAD.pack(b"TREE", 0, level, len(part), left, right,
                                        part[0][1])]
                node += [struct.pack("<QQ", child, hi) for child, _, hi in part]
                node = b"".join(node)
                self.out += node + _ZEROS[:_TREE_SIZE - len(node)]
                nodes.append((addr, part[0][1], part[-1][2]))
            if count == 1:
                return first
            items = nodes
            level += 1


_LAYOUT_MSG = struct.Struct("<HHB3xBBQQ6x")
_SYMBOLS = struct.Struct("<HHB3xQQ")


def encode(root: Group) -> tuple[bytes, list, bytearray, int]:
    """``(superblock, metadata image, [(address, bytes view) of each dataset], file size)``;
    the image follows the superblock."""
    enc = _Encoder(root)
    return enc.superblock, enc.out, enc.chunks, enc.size


def to_bytes(root: Group) -> bytearray:
    """The whole file in memory (the weights member of a ``.keras`` archive): one copy of
    the tensors, in the buffer returned."""
    superblock, image, chunks, size = encode(root)
    out = bytearray(size)
    out[:_SUPERBLOCK] = superblock
    out[_SUPERBLOCK:_SUPERBLOCK + len(image)] = image
    for at, view in chunks:
        out[at:at + len(view)] = view
    return out


def _pieces(superblock: bytes, image: bytearray, chunks: list) -> list:
    """The file as consecutive buffers (alignment gaps as zero bytes)."""
    pieces = [superblock, image]
    at = len(superblock) + len(image)
    for start, view in chunks:
        if start > at:
            pieces.append(_ZEROS[:start - at])
        pieces.append(view)
        at = start + len(view)
    return pieces


#: buffers per ``pwritev`` call (POSIX guarantees 16; Linux allows 1024)
_IOV_MAX = max(16, min(1024, os.sysconf("SC_IOV_MAX"))) if hasattr(os, "sysconf") and \
    "SC_IOV_MAX" in getattr(os, "sysconf_names", {}) else 16


def _write_all(fd: int, pieces: list) -> None:
    """Write ``pieces`` one after another from offset 0 (``pwritev``, short writes resumed)."""
    at = 0
    i = 0
    pieces = [memoryview(p).cast("B") if not isinstance(p, bytes) else memoryview(p)
              for p in pieces]
    while i < len(pieces):
        batch = pieces[i:i + _IOV_MAX]
        if hasattr(os, "pwritev"):
            wrote = os.pwritev(fd, batch, at)
        else:  # pragma: no cover - platforms without pwritev
            os.lseek(fd, at, os.SEEK_SET)
            wrote = os.write(fd, batch[0])
        if wrote <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        at += wrote
        while wrote and i < len(pieces):  # skip what was written, keep the rest of a piece
            n = len(pieces[i])
            if wrote >= n:
                wrote -= n
                i += 1
            else:
                pieces[i] = pieces[i][wrote:]
                wrote = 0


def write_file(target: str, root: Group) -> None:
    """Create ``target`` (a save's temporary path) holding ``root``: the exact size is
    reserved first (``posix_fallocate``), so a full disk fails before anything is written;
    any failure is an ``OSError`` naming ``target``. The caller fsyncs and renames."""
    superblock, image, chunks, size = encode(root)
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno in _NO_ROOM:
                    raise OSError(exc.errno, f"Cannot save {target!r}: {exc.strerror} (the "
                                  f"file needs up to {size} bytes); nothing was "
                                  "replaced.") from exc
        try:
            _write_all(fd, _pieces(superblock, image, chunks))
        except OSError as exc:
            raise OSError(exc.errno, f"Cannot save {target!r}: writing failed "
                          f"({exc.strerror}); nothing was replaced.") from exc
    finally:
        os.close(fd)
