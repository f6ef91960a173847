"""The group tree of an HDF5 file read straight from its bytes, for the loaders' fast path.

Opening an object through libhdf5 (``H5Gopen``/``H5Dopen``: read and decode its object
header) costs about 0.1 ms, so a file of thousands of small layers spends most of a load
there. This module reads the structures HDF5 writes by default (h5py's ``libver="earliest"``,
which tf-keras, Keras 3 and numkeras use) itself, following the HDF5 file format
specification version 3 (``docs/formats.md`` §2.9 lists what is read):

- superblock versions 0 and 1 with 8-byte offsets and lengths;
- groups stored as symbol tables: v1 B-tree nodes (``TREE``), symbol table nodes (``SNOD``),
  local heaps (``HEAP``);
- version 1 object headers with their continuation blocks;
- dataspace, datatype, contiguous data layout and attribute messages.

The answer is a :class:`Node` tree: every group's members in name order (h5py's order), each
object's attributes, and for each dataset stored contiguously in the file with a standard
float or integer type its shape, dtype and byte offset (the
:class:`~numkeras.saving.h5scan.PlainDataset` that ``h5scan.plain_dataset`` gives).

It only ever answers what libhdf5 would answer; anything it does not recognise makes
:func:`read_tree` return ``None`` (new-style groups, other superblock or header versions,
soft links, shared messages it would need, unknown message types, B-trees whose keys are
out of order, any offset outside the file, a structure met twice), and a dataset or an
attribute it cannot decode is marked so (``info`` is ``None``, the attribute value is
:data:`UNREAD`): the callers then use h5py for it, with its checks and error messages.
Every offset and length is checked against the file size before it is read, each
structure is read at most once (cycles end the walk), and the walk uses an explicit stack.

(One module of about 700 lines: the checks of every structure sit next to each other and
next to the libhdf5 behaviour they mirror, which a reviewer of a hostile-input parser reads
together.)

>>> import io, numpy as np, h5py
>>> buf = io.BytesIO()
>>> with h5py.File(buf, "w") as f:
...     f.attrs["layer_names"] = np.array([b"dense"])
...     _ = f.create_dataset("dense/kernel", data=np.ones((2, 3), "float32"))
>>> data = buf.getvalue()
>>> root = read_tree(lambda at, n: data[at:at + n], len(data))
>>> list(root.children), root.attrs["layer_names"]
(['dense'], array([b'dense'], dtype='|S5'))
>>> info = root.children["dense"].children["kernel"].info
>>> info.shape, info.dtype, np.frombuffer(data[info.offset:info.offset + info.size], "f4")
((2, 3), dtype('float32'), array([1., 1., 1., 1., 1., 1.], dtype=float32))
"""

from __future__ import annotations

import math
import operator
import os
import struct
from collections.abc import Callable

import numpy as np

from numkeras.saving.formats import HDF5_MAGIC as _SIGNATURE
from numkeras.saving.h5heaps import _ATTRIBUTE, _ATTRIBUTE_INFO, _CONTINUATION, _UNDEF
from numkeras.saving.h5scan import PlainDataset

# Header message types (HDF5 file format specification, "Header Message Types").
_NIL, _DATASPACE, _LINK_INFO, _DATATYPE, _FILL_OLD, _FILL = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
_LINK, _EXTERNAL, _LAYOUT, _GROUP_INFO, _PIPELINE = 0x06, 0x07, 0x08, 0x0A, 0x0B
_COMMENT, _MTIME_OLD, _SYMBOL_TABLE, _MTIME, _REFCOUNT = 0x0D, 0x0E, 0x11, 0x12, 0x16
#: Messages an object of the subset may carry (others: not followed).
_KNOWN = frozenset({_NIL, _DATASPACE, _DATATYPE, _FILL_OLD, _FILL, _EXTERNAL, _LAYOUT,
                    _PIPELINE, _ATTRIBUTE, _COMMENT, _MTIME_OLD, _CONTINUATION,
                    _SYMBOL_TABLE, _MTIME, _ATTRIBUTE_INFO, _REFCOUNT})
_SHARED = 0x02  # header message flag: the message is stored elsewhere
#: Messages of the dataset headers read through a learnt layout (``_Reader.learn``).
_TEMPLATED = frozenset({_NIL, _DATASPACE, _DATATYPE, _FILL_OLD, _FILL, _LAYOUT, _COMMENT,
                        _MTIME_OLD, _MTIME, _REFCOUNT})

GROUP, DATASET, OTHER = "group", "dataset", "other"
_NULL_SPACE = "null"  # a dataspace of no elements (no shape)
#: An attribute that exists but whose value this module does not decode (read it with h5py).
UNREAD = object()

#: Files up to this size are read whole (one read); larger ones structure by structure.
WHOLE_FILE = 64 << 20
#: At most this many objects (more: ``None``, the callers' own walks decide).
MAX_OBJECTS = 1_000_000
#: Longest link name followed (bytes).
MAX_NAME = 1 << 16
#: Most dimensions of a dataspace (HDF5's H5S_MAX_RANK).
MAX_RANK = 32

_HEADER_V1 = struct.Struct("<BBHII")       # version, reserved, messages, refcount, size
_MESSAGE_V1 = struct.Struct("<HHB3x")      # type, size, flags
_TREE = struct.Struct("<4sBBHQQ")          # "TREE", node type, level, entries, siblings
_HEAP = struct.Struct("<4sB3xQQQ")         # "HEAP", version, data size, free list, address
_SNOD = struct.Struct("<4sBxH")            # "SNOD", version, symbols
_ENTRY = struct.Struct("<QQI4xQQ")         # name offset, header, cache type, scratch pad
_ENTRY_SIZE = 40
_TWO_Q = struct.Struct("<QQ")
_Q = struct.Struct("<Q")
# sign location, exponent location and size, mantissa location and size, exponent bias
_IEEE = {2: (15, 10, 5, 0, 10, 15), 4: (31, 23, 8, 0, 23, 127), 8: (63, 52, 11, 0, 52, 1023)}
_FLOAT_PROPS = struct.Struct("<HHBBBBI")
_VLEN_REF = struct.Struct("<IQI")          # length, global heap collection, object index
_VLEN_BASE = bytes.fromhex("100000000100000000000800")  # the characters: unsigned bytes
_GCOL_OBJECT = struct.Struct("<HH4xQ")     # index, reference count, size


class Unsure(Exception):
    """The file holds something this reader does not follow: use h5py for all of it."""


class Node:
    """One object of the tree: ``kind`` (:data:`GROUP`, :data:`DATASET` or :data:`OTHER`),
    ``children`` (a group's members by name, in name order), ``attrs`` (name -> value, or
    :data:`UNREAD`; ``None`` when the attributes are stored where this module does not
    look), ``info`` (a dataset's :class:`~numkeras.saving.h5scan.PlainDataset`, or ``None``
    when it is not a plain contiguous dataset of a standard number type)."""

    __slots__ = ("kind", "children", "attrs", "info")

    def __init__(self, kind: str, children, attrs, info):
        self.kind, self.children, self.attrs, self.info = kind, children, attrs, info

    def find(self, path: str) -> Node | None:
        """The object at the relative ``path`` below this group (``None``: not found here,
        or a path spelling such as ``a//b``, ``./a`` or ``/a`` that h5py would resolve)."""
        node = self
        for part in path.split("/"):
            if not part or part == "." or node.children is None:
                return None
            node = node.children.get(part)
            if node is None:
                return None
        return node


def read_tree(read_at: Callable[[int, int], bytes], size: int) -> Node | None:
    """The root group of the HDF5 file whose bytes ``read_at(offset, n)`` returns (``size``
    bytes in all), or ``None`` when it holds anything this module does not follow."""
    try:
        return _Reader(read_at, size).root()
    except (Unsure, struct.error, IndexError, ValueError, UnicodeDecodeError, OverflowError):
        return None


def tree_of_fd(fd: int) -> Node | None:
    """:func:`read_tree` of the open file descriptor ``fd`` (read with ``os.pread``;
    ``None`` where there is none, Windows)."""
    if not hasattr(os, "pread"):
        return None
    try:
        size = os.fstat(fd).st_size
    except OSError:
        return None
    try:
        return read_tree(lambda at, n: os.pread(fd, n, at), size)
    except OSError:
        return None


def tree_of_h5(h5file) -> Node | None:
    """:func:`read_tree` of the file h5py opened as ``h5file`` (its own descriptor: the bytes
    libhdf5 reads), or ``None`` for other drivers than ``sec2``."""
    try:
        if h5file.driver != "sec2":
            return None
        fd = h5file.id.get_vfd_handle()
    except (RuntimeError, ValueError, OSError, TypeError):
        return None
    return tree_of_fd(fd)


class _Reader:
    def __init__(self, read_at, size: int):
        self.size = size
        self.whole = read_at(0, size) if size <= WHOLE_FILE else None
        if self.whole is not None and len(self.whole) != size:
            raise Unsure
        self.read_at = read_at
        self.seen: set[int] = set()     # every structure's address, each read once
        self.objects = 0
        self.dtypes: dict[tuple, object] = {}
        self.spaces: dict[bytes, object] = {}
        self.heaps: dict[int, dict | None] = {}  # global heap collections by address
        self.templates: dict[tuple, list] = {}  # learnt dataset header layouts (learn)
        self.meta: dict[tuple, object] = {}     # (dtype, shape, bytes) by their messages
        self.heap_budget = 4 * size + (1 << 20)
        self.name_budget = 8 * size + (16 << 20)

    def get(self, at: int, n: int) -> tuple[bytes, int]:
        """``(data, p)``: the ``n`` bytes at file offset ``at`` are ``data[p:p + n]``."""
        if at < 0 or n < 0 or at + n > self.size:
            raise Unsure
        if self.whole is not None:
            return self.whole, at
        data = self.read_at(at, n)
        if len(data) != n:
            raise Unsure
        return data, 0

    # -- superblock --------------------------------------------------------------------
    def root(self) -> Node:
        at = 0
        while True:  # the superblock is at 0, 512, 1024, 2048, ... (after a user block)
            data, p = self.get(at, 8)
            if data[p:p + 8] == _SIGNATURE:
                break
            at = 512 if at == 0 else at * 2
            if at + 8 > self.size:
                raise Unsure
        data, p = self.get(at, 9)
        version = data[p + 8]
        if version not in (0, 1):
            raise Unsure  # later versions come with new-style groups and checksums
        data, p = self.get(at, 96 if version == 0 else 100)
        if data[p + 9] or data[p + 10] or data[p + 12] or data[p + 13] != 8 or \
                data[p + 14] != 8:
            raise Unsure
        leaf_k, internal_k = struct.unpack_from("<HH", data, p + 16)
        if not leaf_k or not internal_k:
            raise Unsure
        # entries per B-tree node and symbol table node; libhdf5 reads whole nodes, as
        # allocated for 2K entries
        self.node_sizes = (2 * internal_k, 2 * leaf_k, 24 + 32 * internal_k + 8,
                           8 + _ENTRY_SIZE * 2 * leaf_k)
        q = p + (24 if version == 0 else 28)
        base, _, eof, driver = struct.unpack_from("<QQQQ", data, q)
        if base != at or driver != _UNDEF or eof > self.size:  # (EOF counts the user block)
            raise Unsure
        self.base = base
        self.size = eof  # libhdf5 reads nothing past the end address (it counts the user block)
        _, header, cache, _, _ = _ENTRY.unpack_from(data, q + 32)
        if cache not in (0, 1):
            raise Unsure
        return self.walk(header)

    # -- the tree ----------------------------------------------------------------------
    def walk(self, header: int) -> Node:
        root = self.object(header, "")
        stack = [root]
        while stack:
            node = stack.pop()
            if node.kind != GROUP:
                continue
            btree, heap, prefix = node.children
            node.children = children = {}
            for name, addr in self.members(btree, heap):
                self.objects += 1
                if self.objects > MAX_OBJECTS:
                    raise Unsure
                child = children[name] = self.object(addr, prefix + name)
                if child.kind == GROUP:
                    stack.append(child)
        return root

    def object(self, addr: int, path: str) -> Node:
        """The object whose version 1 header is at ``addr`` (one pass over its messages);
        a group's ``children`` are left as ``(btree, heap, path/)`` for :meth:`walk`."""
        seen = self.seen
        if addr in seen:
            raise Unsure  # a structure met twice: a cycle, or an object with two paths
        seen.add(addr)
        at = self.base + addr
        data, p = self.get(at, 16)
        version, _, count, _, size = _HEADER_V1.unpack_from(data, p)
        if version != 1:
            raise Unsure
        for template in self.templates.get((count, size), ()):
            node = self.from_template(template, at + 16, size, path)
            if node is not None:
                return node
        chunks = [(at + 16, size)]
        learn = []  # (kind, size, flags) of each message, to learn a dataset template
        attrs: dict | None = {}
        stab = dtype = space = layout = None
        plain = True
        found = 0
        unpack, known = _MESSAGE_V1.unpack_from, _KNOWN
        chunks_read = []
        while chunks:
            start, length = chunks.pop()
            data, p = self.get(start, length)
            chunks_read.append((data, p))
            end = p + length
            while p < end:
                if p + 8 > end:
                    raise Unsure
                kind, n, flags = unpack(data, p)
                q = p + 8
                p = q + n
                found += 1
                learn.append((kind, n, flags))
                if p > end or n & 7 or kind not in known or found > count or \
                        flags & ~0x07 or flags & 0x06 == 0x06:
                    raise Unsure  # (and flags libhdf5 refuses, or unknown-message flags)
                if kind == _ATTRIBUTE:
                    if attrs is not None:
                        attrs = None if flags & _SHARED else self.attribute(data, q, n, attrs)
                    continue
                if flags & _SHARED:
                    plain = False  # a committed datatype or another shared message
                if kind == _DATATYPE:
                    dtype = (data, q, n)
                elif kind == _DATASPACE:
                    space = (data, q, n)
                elif kind == _LAYOUT:
                    layout = (data, q, n)
                elif kind == _CONTINUATION:
                    if n < 16:
                        raise Unsure
                    cont, clen = _TWO_Q.unpack_from(data, q)
                    if cont in seen:
                        raise Unsure
                    seen.add(cont)
                    chunks.append((self.base + cont, clen))
                elif kind == _SYMBOL_TABLE:
                    if n < 16 or flags & _SHARED or stab is not None:
                        raise Unsure
                    stab = _TWO_Q.unpack_from(data, q)
                elif kind == _ATTRIBUTE_INFO:
                    attrs = self.attribute_info(data, q, n, attrs)
                elif kind == _EXTERNAL or kind == _PIPELINE:
                    plain = False
                elif kind == _FILL or kind == _FILL_OLD:
                    plain = plain and _fill_ok(kind, data, q, n)
        if found != count:
            raise Unsure
        if stab is not None:
            if dtype or space or layout:
                raise Unsure
            return Node(GROUP, (stab[0], stab[1], path + "/" if path else ""), attrs, None)
        if dtype and space:
            info = self.dataset(dtype, space, layout, path) if plain and layout else None
            if info is not None and len(chunks_read) == 1 and attrs == {} and \
                    len(self.templates.get((count, size), ())) < 4:  # (plain ones only)
                self.learn(learn, count, size, *chunks_read[0])
            return Node(DATASET, None, attrs, info)
        if dtype:
            return Node(OTHER, None, attrs, None)
        raise Unsure

    def members(self, btree: int, heap: int) -> list[tuple[str, int]]:
        """``(name, header address)`` of a symbol table's entries, in name order, checking
        that the B-tree's keys lead libhdf5's searches to each of them."""
        seen, base, get = self.seen, self.base, self.get
        if heap in seen:
            raise Unsure
        seen.add(heap)
        data, p = get(base + heap, 32)
        sig, version, seg_size, free, seg_addr = _HEAP.unpack_from(data, p)
        if sig != b"HEAP" or version != 0 or seg_addr == _UNDEF:
            raise Unsure
        seg, s0 = get(base + seg_addr, seg_size)
        blocks = 0
        while free != 1:  # the free list, checked as libhdf5 checks it (1: its end)
            blocks += 1
            if free + 16 > seg_size or blocks > seg_size // 16:
                raise Unsure
            nxt, length = _TWO_Q.unpack_from(seg, s0 + free)
            if not nxt or free + length > seg_size:
                raise Unsure
            free = nxt
        names: dict[int, bytes] = {}

        def name_at(offset: int) -> bytes:
            value = names.get(offset)
            if value is None:
                names[offset] = value = self.name(seg, s0, seg_size, offset)
            return value

        out: list[tuple[str, int]] = []
        last = None
        two_k_tree, two_k_node, tree_size, node_size = self.node_sizes
        stack = [(btree, -1, None, None)]  # node, expected level, lower, upper bound
        while stack:
            addr, level, low, high = stack.pop()
            if addr in seen:
                raise Unsure
            seen.add(addr)
            data, p = get(base + addr, tree_size)
            sig, node_type, node_level, entries, _, _ = _TREE.unpack_from(data, p)
            if sig != b"TREE" or node_type != 0 or entries > two_k_tree or \
                    (level >= 0 and node_level != level):
                raise Unsure
            values = _quads(2 * entries + 1).unpack_from(data, p + 24)
            keys = [name_at(k) for k in values[0::2]]
            children = values[1::2]
            bounds = []  # each child's names lie in (key i, key i+1] and in its parent's
            for i in range(entries):
                lo, hi = keys[i], keys[i + 1]
                if lo > hi:
                    raise Unsure
                bounds.append((lo if low is None or lo > low else low,
                               hi if high is None or hi < high else high))
            if node_level > 0:
                stack.extend((children[i], node_level - 1, *bounds[i])
                             for i in reversed(range(entries)))
                continue
            for child, (lo, hi) in zip(children, bounds):
                if child in seen:
                    raise Unsure
                seen.add(child)
                data, p = get(base + child, node_size)
                sig, version, count = _SNOD.unpack_from(data, p)
                if sig != b"SNOD" or version != 1 or count > two_k_node:
                    raise Unsure
                values = _entries(data, p + 8, count)
                for i in range(0, 5 * count, 5):
                    name = name_at(values[i])
                    if values[i + 2] > 1 or values[i + 1] == _UNDEF or not name or \
                            not lo < name <= hi or (last is not None and name <= last) or \
                            b"/" in name or name == b".":
                        raise Unsure  # soft links, or a name libhdf5 would not find
                    last = name
                    out.append((name.decode("utf-8"), values[i + 1]))
        return out

    def name(self, seg: bytes, s0: int, seg_size: int, offset: int) -> bytes:
        """The null-terminated name at ``offset`` of a local heap's data ``seg[s0:]``; the
        bytes searched for names' ends count against one budget per file (heaps may share
        their data: a hostile file must not make each search scan it again)."""
        if offset >= seg_size:
            raise Unsure
        at = s0 + offset
        stop = seg.find(b"\0", at, min(s0 + seg_size, at + MAX_NAME))
        self.name_budget -= (stop if stop >= 0 else MAX_NAME) - at
        if stop < 0 or self.name_budget < 0:
            raise Unsure
        return seg[at:stop]

    # -- messages --------------------------------------------------------------------
    def attribute_info(self, data: bytes, p: int, n: int, attrs):
        if n < 2 or data[p] != 0:
            raise Unsure
        at = p + 2 + (2 if data[p + 1] & 0x01 else 0)
        if at + 8 > p + n:
            raise Unsure
        return attrs if _Q.unpack_from(data, at)[0] == _UNDEF else None  # dense storage

    def attribute(self, data: bytes, p: int, n: int, attrs: dict) -> dict | None:
        """Add one attribute message to ``attrs`` (``None``: its name cannot be read)."""
        end = p + n
        if n < 8:
            return None
        version, flags, name_size, type_size, space_size = struct.unpack_from("<BBHHH", data, p)
        if version == 1:
            at, pad = p + 8, _pad8
        elif version in (2, 3):
            at, pad = p + (8 if version == 2 else 9), int
        else:
            return None
        type_at = at + pad(name_size)
        space_at = type_at + pad(type_size)
        data_at = space_at + pad(space_size)
        if not name_size or data_at > end or data[at + name_size - 1] != 0:
            return None
        raw = bytes(data[at:at + name_size - 1])
        if b"\0" in raw:
            return None
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None  # (h5py lists such a name as bytes)
        if name in attrs:
            return None
        attrs[name] = UNREAD
        if version > 1 and flags & 0x03:
            return None  # a shared datatype or dataspace: h5py decides
        dtype = self.datatype(data, type_at, type_size, strings=True)
        shape = self.dataspace(data, space_at, space_size)
        if dtype is None or shape is None:
            return None  # not understood here (or damaged): h5py decides
        if shape is _NULL_SPACE:
            return attrs
        count = math.prod(shape)
        if data_at + count * (16 if dtype.kind == "O" else dtype.itemsize) > end:
            return None  # (a variable-length string is stored as 16 bytes)
        if not count or dtype.kind not in "SO":
            return attrs
        if dtype.kind == "S":
            value = np.frombuffer(data, dtype, count, data_at).reshape(shape).copy()
        else:
            value = self.strings(data, data_at, count, shape)
            if value is None:
                return attrs
        attrs[name] = value[()] if value.ndim == 0 else value
        return attrs

    def strings(self, data: bytes, p: int, count: int, shape: tuple):
        """Variable-length strings (length, global heap collection, object index each) as
        h5py reads them from an attribute: ``str`` (UTF-8, surrogate escapes), in an
        object array of ``shape``; ``None`` when one cannot be found exactly."""
        out = []
        for length, addr, index in _VLEN_REF.iter_unpack(data[p:p + 16 * count]):
            objects = self.collection(addr)
            value = objects.get(index) if objects is not None else None
            if value is None or len(value) != length or b"\0" in value:
                return None
            out.append(value.decode("utf-8", "surrogateescape"))
        value = np.empty(count, dtype=object)
        value[:] = out
        return value.reshape(shape)

    def collection(self, addr: int) -> dict | None:
        """``{index: bytes}`` of the global heap collection at ``addr`` (``None``: not a
        well-formed collection inside the file, or the reading budget is spent)."""
        if addr in self.heaps:
            return self.heaps[addr]
        self.heaps[addr] = None
        at = self.base + addr
        if at + 16 > self.size:
            return None
        data, p = self.get(at, 16)
        size = _Q.unpack_from(data, p + 8)[0]
        self.heap_budget -= size
        if data[p:p + 5] != b"GCOL\x01" or size < 16 or at + size > self.size or \
                self.heap_budget < 0:
            return None
        data, p = self.get(at, size)
        # every object is decoded, as libhdf5 does (index 0: free space, its size counting
        # its header; a tail shorter than a header is free space too)
        objects, q, end = {}, p + 16, p + size
        while q + 16 <= end:
            index, _, length = _GCOL_OBJECT.unpack_from(data, q)
            need = length if index == 0 else 16 + _pad8(length)
            if not need or need > end - q or index in objects:
                return None
            if index:
                objects[index] = bytes(data[q + 16:q + 16 + length])
            q += need
        self.heaps[addr] = objects
        return objects

    def datatype(self, data: bytes, p: int, n: int, strings: bool = False):
        """The NumPy dtype of a standard float or integer type (with ``strings``, also
        of a null-padded fixed-length string), else ``None``."""
        raw = bytes(data[p:p + n])
        key = (raw, strings)
        if key in self.dtypes:
            return self.dtypes[key]
        dtype = None
        if n >= 8:
            head, b1, b2, b3, size = struct.unpack_from("<BBBBI", raw)
            cls, version = head & 0x0F, head >> 4
            if 1 <= version <= 3:
                dtype = _number_or_string(cls, b1, b2, b3, size, raw, strings)
        self.dtypes[key] = dtype
        return dtype

    def dataspace(self, data: bytes, p: int, n: int):
        """A simple or scalar dataspace's shape, :data:`_NULL_SPACE`, or ``None`` (not
        understood)."""
        raw = bytes(data[p:p + n])
        if raw in self.spaces:
            return self.spaces[raw]
        shape = None
        if n >= 4:
            version, rank, flags, kind = raw[0], raw[1], raw[2], raw[3]
            if version not in (1, 2) or rank > MAX_RANK or (version == 2 and kind > 2):
                raise Unsure  # libhdf5 refuses the object
            at = 8 if version == 1 else 4
            if version == 2 and kind == 0 and rank == 0:
                shape = ()
            elif version == 2 and kind == 2 and rank == 0:
                shape = _NULL_SPACE
            elif rank <= MAX_RANK and not flags & ~0x01 and \
                    at + (16 if flags & 0x01 else 8) * rank <= n and \
                    (version == 1 or (version == 2 and kind == 1)):
                shape = _quads(rank).unpack_from(raw, at)
                if flags & 0x01:  # maximum dimensions: libhdf5 refuses dims past them
                    limits = _quads(rank).unpack_from(raw, at + 8 * rank)
                    if any(d > m for d, m in zip(shape, limits) if m != _UNDEF):
                        raise Unsure  # libhdf5 refuses the object
        self.spaces[raw] = shape
        return shape

    # -- dataset headers seen before ----------------------------------------------------
    def learn(self, messages: list, count: int, size: int, data: bytes, p: int) -> None:
        """Remember the layout of a dataset header in one block without attributes (the
        same messages of the same sizes and flags, a contiguous layout message of the same
        version), so that the next header of that layout is read with one ``struct`` call
        (:meth:`from_template`). ``data[p:]`` holds the block just read."""
        kinds = [kind for kind, _, _ in messages]
        if len(messages) != count or count > 16 or any(k not in _TEMPLATED for k in kinds) or \
                any(flags & _SHARED for _, _, flags in messages) or \
                any(kinds.count(k) != 1 for k in (_DATATYPE, _DATASPACE, _LAYOUT)) or \
                kinds.count(_FILL) + kinds.count(_FILL_OLD) > 1:
            return
        fmt, heads, fields = ["<"], [], [None, None, None, None, None]
        at = 0
        for kind, n, _ in messages:
            heads += [at, at + 1, at + 2]
            fmt.append("HHB3x")
            at += 3
            if kind == _LAYOUT:
                if n < 18:
                    return
                fmt.append(f"BBQQ{n - 18}x")
                heads += [at, at + 1]
                fields[3], fields[4] = at + 2, at + 3
                at += 4
            elif kind in (_DATATYPE, _DATASPACE, _FILL, _FILL_OLD):
                fmt.append(f"{n}s")
                fields[{_DATATYPE: 0, _DATASPACE: 1}.get(kind, 2)] = at
                at += 1
            else:
                fmt.append(f"{n}x")
        layout = struct.Struct("".join(fmt))
        if layout.size != size:
            return
        heads = operator.itemgetter(*heads)
        expected = heads(layout.unpack_from(data, p))
        fill = _FILL_OLD if _FILL_OLD in kinds else _FILL
        self.templates.setdefault((count, size), []).append(
            (layout, heads, expected, fields, fill))

    def from_template(self, template, start: int, size: int, path: str) -> Node | None:
        """The dataset whose header block at ``start`` has a learnt layout (``None``: it
        has another one)."""
        layout, heads, expected, fields, fill_kind = template
        data, p = self.get(start, size)
        values = layout.unpack_from(data, p)
        if heads(values) != expected:
            return None
        dtype_raw, space_raw, fill_raw, addr, stored = (None if i is None else values[i]
                                                        for i in fields)
        key = (dtype_raw, space_raw, fill_raw)
        meta = self.meta.get(key)
        if meta is None:
            dtype = self.datatype(dtype_raw, 0, len(dtype_raw))
            shape = self.dataspace(space_raw, 0, len(space_raw))
            fill = fill_raw is None or _fill_ok(fill_kind, fill_raw, 0, len(fill_raw))
            meta = self.meta[key] = (dtype, shape, math.prod(shape) * dtype.itemsize) \
                if fill and dtype is not None and isinstance(shape, tuple) else False
        info = None
        if meta:
            dtype, shape, nbytes = meta
            if addr != _UNDEF and stored == nbytes and nbytes and \
                    self.base + addr + nbytes <= self.size:
                info = PlainDataset(path, shape, dtype, self.base + addr, nbytes)
        return Node(DATASET, None, {}, info)

    def dataset(self, dtype_msg, space_msg, layout_msg, path: str):
        data, p, n = layout_msg
        if n < 18 or data[p] not in (3, 4) or data[p + 1] != 1:
            return None  # compact, chunked, virtual, or an old layout version
        addr, stored = _TWO_Q.unpack_from(data, p + 2)
        dtype = self.datatype(*dtype_msg)
        shape = self.dataspace(*space_msg)
        if dtype is None or shape is None or shape is _NULL_SPACE or addr == _UNDEF:
            return None
        nbytes = math.prod(shape) * dtype.itemsize
        if stored != nbytes or not nbytes or self.base + addr + nbytes > self.size:
            return None  # (libhdf5 gives no offset for a dataset of no bytes)
        return PlainDataset(path, shape, dtype, self.base + addr, nbytes)


def _fill_ok(kind: int, data: bytes, p: int, n: int) -> bool:
    """Whether a fill value message is one libhdf5 decodes (else h5py reports it)."""
    if kind == _FILL_OLD:
        return n >= 4 and 4 + int.from_bytes(data[p:p + 4], "little") <= n
    version = data[p] if n else 0
    if version in (1, 2):
        if n < 4 or data[p + 1] > 3 or data[p + 2] > 2 or data[p + 3] > 2:
            return False
        if version == 1 or data[p + 3]:  # a fill value follows (size, bytes)
            return n >= 8 and 8 + int.from_bytes(data[p + 4:p + 8], "little") <= n
        return True
    if version == 3:
        flags = data[p + 1] if n > 1 else 0xFF
        if flags & ~0x3F or flags & 0x03 > 3 or (flags >> 2) & 0x03 > 2 or \
                (flags & 0x10 and flags & 0x20):
            return False
        if flags & 0x20:
            return n >= 6 and 6 + int.from_bytes(data[p + 2:p + 6], "little") <= n
        return True
    return False


_STRUCTS: dict = {}


def _quads(count: int) -> struct.Struct:
    """``count`` little-endian 8-byte numbers (formats of small counts are kept)."""
    key = ("Q", count)
    found = _STRUCTS.get(key)
    if found is None:
        found = struct.Struct(f"<{count}Q")
        if count <= 256:
            _STRUCTS[key] = found
    return found


def _entries(data: bytes, p: int, count: int):
    """The fields of ``count`` symbol table entries at ``data[p:]`` in one flat sequence:
    name offset, header, cache type, scratch pad (two numbers), for each."""
    if count > 16:  # (a format per large count would grow without bound)
        view = memoryview(data)[p:p + _ENTRY_SIZE * count]
        return [v for entry in _ENTRY.iter_unpack(view) for v in entry]
    key = ("E", count)
    found = _STRUCTS.get(key)
    if found is None:
        found = _STRUCTS[key] = struct.Struct("<" + "QQI4xQQ" * count)
    return found.unpack_from(data, p)


def _pad8(n: int) -> int:
    return (n + 7) & ~7


def _number_or_string(cls: int, b1: int, b2: int, b3: int, size: int, raw: bytes,
                      strings: bool):
    order = ">" if b1 & 0x01 else "<"
    if cls == 0 and size in (1, 2, 4, 8) and not b1 & ~0x09 and not b2 and not b3 and \
            (size > 1 or not b1 & 0x01) and \
            len(raw) >= 12 and struct.unpack_from("<HH", raw, 8) == (0, 8 * size):
        return np.dtype(f"{order}{'i' if b1 & 0x08 else 'u'}{size}")
    if cls == 1 and size in _IEEE and b1 & ~0x01 == 0x20 and not b3 and len(raw) >= 20:
        offset, precision, *fields = _FLOAT_PROPS.unpack_from(raw, 8)
        if offset == 0 and precision == 8 * size and \
                (b2, *fields) == _IEEE[size]:
            return np.dtype(f"{order}f{size}")
        return None
    if strings and cls == 9 and b1 == 0x01 and b2 in (0, 1) and not b3 and size == 16 and \
            raw[8:] == _VLEN_BASE:
        return np.dtype(object)  # a variable-length string (null-terminated) of bytes
    if strings and cls == 3 and b1 & 0x0F == 1 and b1 >> 4 in (0, 1) and not b2 and \
            not b3 and size:
        return np.dtype(f"S{size}")  # null-padded, ASCII or UTF-8: h5py reads the bytes
    return None
