"""The global heap collections an HDF5 file's variable-length attributes point to.

Reading a variable-length string attribute (tf-keras's ``keras_version``, ``model_config``,
``layer_names``...) makes HDF5 walk the global heap collection holding the strings; a damaged
collection can make that walk endless (see :func:`numkeras.saving.h5common.check_global_heaps`).
That check skips the bytes of the datasets' values for speed; a crafted dataset header
could claim the bytes of a collection and hide it. So the collections the attributes
actually reference are found here, from the object headers' attribute messages, and checked
wherever they lie.

Only what the HDF5 file format specification (version 3, "Data Object Headers",
"Attribute Message", "Datatype Message", "Dataspace Message", "Attribute Info Message")
fixes is read: version 1 and 2 object headers with their continuation blocks, attribute
messages of versions 1 to 3. Anything else (attributes in dense storage or shared messages,
unknown versions, damage) gives ``None``: the caller then scans the whole file.

>>> import io, h5py
>>> buf = io.BytesIO()
>>> with h5py.File(buf, "w") as f:
...     f.attrs["keras_version"] = "2.21.0"
...     f.create_group("dense").attrs["weight_names"] = ["dense/kernel:0"]
>>> with h5py.File(buf, "r") as f:
...     heaps = referenced_heaps(f, lambda at, n: buf.getvalue()[at:at + n])
>>> len(heaps), all(buf.getvalue()[a:a + 4] == b"GCOL" for a in heaps)
(1, True)
"""

from __future__ import annotations

from collections.abc import Callable

_UNDEF = (1 << 64) - 1
_CONTINUATION, _ATTRIBUTE, _ATTRIBUTE_INFO = 0x10, 0x0C, 0x15
_VLEN = 9
#: Bounds on what one file's headers may make this read (a damaged size cannot loop).
_MAX_BLOCKS = 100_000
_MAX_BYTES = 256 << 20


class _Unsure(Exception):
    """The headers hold something this reader does not follow: scan the whole file."""


def _u(data: bytes, at: int, n: int) -> int:
    if at < 0 or at + n > len(data):
        raise _Unsure
    return int.from_bytes(data[at:at + n], "little")


def _pad8(n: int) -> int:
    return (n + 7) & ~7


def _elements(space: bytes, sizeof_size: int) -> int:
    version, ndims = _u(space, 0, 1), _u(space, 1, 1)
    if version == 1:
        dims_at = 8
    elif version == 2:
        if _u(space, 3, 1) == 2:  # null dataspace
            return 0
        dims_at = 4
    else:
        raise _Unsure
    count = 1
    for i in range(ndims):
        count *= _u(space, dims_at + i * sizeof_size, sizeof_size)
    return count


def _attribute_heaps(msg: bytes, sizeof_addr: int, sizeof_size: int) -> list[int]:
    """The heap addresses in one attribute message's data (none unless variable-length)."""
    version = _u(msg, 0, 1)
    name_size, type_size, space_size = _u(msg, 2, 2), _u(msg, 4, 2), _u(msg, 6, 2)
    if version == 1:
        at = 8
        sizes = [_pad8(name_size), _pad8(type_size), _pad8(space_size)]
    elif version in (2, 3):
        if _u(msg, 1, 1) & 0x03:  # shared datatype or dataspace
            raise _Unsure
        at = 8 if version == 2 else 9
        sizes = [name_size, type_size, space_size]
    else:
        raise _Unsure
    dtype_at = at + sizes[0]
    space_at = dtype_at + sizes[1]
    data_at = space_at + sizes[2]
    if _u(msg, dtype_at, 1) & 0x0F != _VLEN:
        return []  # fixed-size values hold no heap address (other classes are never read)
    count = _elements(msg[space_at:space_at + sizes[2]], sizeof_size)
    step = 4 + sizeof_addr + 4  # sequence length, collection address, object index
    if data_at + count * step > len(msg):
        raise _Unsure
    return [_u(msg, data_at + i * step + 4, sizeof_addr) for i in range(count)]


def _messages_v1(block: bytes):
    p = 0
    while p + 8 <= len(block):
        kind, size, flags = _u(block, p, 2), _u(block, p + 2, 2), _u(block, p + 4, 1)
        yield kind, flags, block[p + 8:p + 8 + size]
        p += 8 + size


def _messages_v2(block: bytes, creation_order: bool):
    head = 6 if creation_order else 4
    p = 0
    while p + head <= len(block):
        kind, size, flags = _u(block, p, 1), _u(block, p + 1, 2), _u(block, p + 3, 1)
        yield kind, flags, block[p + head:p + head + size]
        p += head + size


def _header_heaps(addr: int, read_at: Callable[[int, int], bytes], sizeof_addr: int,
                  sizeof_size: int, budget: list[int], file_size: int) -> list[int]:
    def read(at: int, n: int) -> bytes:
        budget[0] -= 1
        budget[1] -= n
        if budget[0] < 0 or budget[1] < 0 or n < 0 or at < 0 or at + n > file_size:
            raise _Unsure  # (a damaged size must not make Python allocate it either)
        data = read_at(at, n)
        if len(data) != n:
            raise _Unsure
        return data

    prefix = read(addr, 16)
    heaps: list[int] = []
    if prefix[:4] == b"OHDR":
        if prefix[4] != 2:
            raise _Unsure
        flags = prefix[5]
        at = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 0x03)
        head = read(addr, at + width)
        blocks = [(addr + at + width, _u(head, at, width), 0)]
        creation_order = bool(flags & 0x04)
    elif prefix[0] == 1:
        blocks = [(addr + 16, _u(prefix, 8, 4), 0)]
        creation_order = False
    else:
        raise _Unsure
    v2 = prefix[:4] == b"OHDR"
    while blocks:
        start, length, signature = blocks.pop()
        block = read(start, length)
        if v2 and signature:  # a continuation block: signature, messages, checksum
            if block[:4] != b"OCHK":
                raise _Unsure
            block = block[4:-4]
        messages = _messages_v2(block, creation_order) if v2 else _messages_v1(block)
        for kind, flags, msg in messages:
            if kind == _CONTINUATION:
                blocks.append((_u(msg, 0, sizeof_addr), _u(msg, sizeof_addr, sizeof_size), 1))
            elif kind == _ATTRIBUTE:
                if flags & 0x02:  # a shared message: its bytes are elsewhere
                    raise _Unsure
                heaps += _attribute_heaps(msg, sizeof_addr, sizeof_size)
            elif kind == _ATTRIBUTE_INFO:
                info_flags = _u(msg, 1, 1)
                heap_at = 2 + (2 if info_flags & 0x01 else 0)
                if _u(msg, heap_at, sizeof_addr) != (1 << (8 * sizeof_addr)) - 1:
                    raise _Unsure  # attributes in dense storage (a fractal heap)
    return heaps


def referenced_heaps(h5file, read_at: Callable[[int, int], bytes]) -> set[int] | None:
    """File offsets of the global heap collections that the variable-length attributes of
    every object in the open ``h5file`` point to (``read_at(offset, n)`` reads its bytes),
    or ``None`` when the headers hold anything this module does not follow."""
    from numkeras.saving import h5common

    h5py = h5common.import_h5py()
    try:
        plist = h5file.id.get_create_plist()
        sizeof_addr, sizeof_size = plist.get_sizes()
        base = plist.get_userblock()
        addrs = {h5py.h5o.get_info(h5file.id).addr}

        def visit(name, info):
            addrs.add(info.addr)

        size = h5file.id.get_filesize()
        with h5common.bounded_native_memory(h5common._NATIVE_EXTRA + 4 * size):
            h5py.h5o.visit(h5file.id, visit, info=True)
    except (*h5common.DAMAGE_ERRORS, MemoryError):
        return None
    if sizeof_addr != 8 or sizeof_size != 8:
        return None  # what every Keras writer uses; others are scanned whole
    budget = [_MAX_BLOCKS, _MAX_BYTES]
    heaps: set[int] = set()
    try:
        for addr in sorted(addrs):
            heaps.update(base + a for a in _header_heaps(base + addr, read_at, sizeof_addr,
                                                         sizeof_size, budget, size)
                         if a != _UNDEF)
    except _Unsure:
        return None
    return heaps
