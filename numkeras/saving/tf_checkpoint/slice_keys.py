"""Table keys of the slices of a partitioned tensor (TensorFlow ``EncodeTensorNameSlice``).

When a tensor is saved in slices (e.g. by ``tf.train.experimental.MaxShardSizePolicy``), its
own entry lists the slices, and each slice is stored under the key::

    OrderedCode(0) + OrderedCode(name) + OrderedCode(rank) + (start, length) per dimension

using TensorFlow's order-preserving "OrderedCode": an unsigned number is a length byte plus
big-endian bytes; a string escapes ``\\x00`` as ``\\x00\\xff`` and ``\\xff`` as
``\\xff\\x00`` and ends with ``\\x00\\x01``; signed numbers use a self-delimiting
sign-and-length prefix.  A dimension taken whole is written as ``start=0, length=-1``.
Such keys start with ``\\x00`` and so sort right after the bundle header.

>>> key = encode_tensor_name_slice("v", [(0, 25), (0, -1)])
>>> key.hex()
'0076000101028099807f'
>>> decode_tensor_name_slice(key)
(b'v', [(0, 25), (0, -1)])
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "decode_tensor_name_slice",
    "encode_tensor_name_slice",
    "read_signed_num_increasing",
    "write_signed_num_increasing",
]


def _write_num_increasing(out: bytearray, value: int) -> None:
    payload = value.to_bytes((value.bit_length() + 7) // 8, "big")
    out.append(len(payload))
    out += payload


def _read_num_increasing(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise ValueError("truncated number")
    n = data[pos]
    if n > 8 or pos + 1 + n > len(data):
        raise ValueError("bad number length")
    return int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def _escape(value: bytes) -> bytes:
    out = bytearray()
    for byte in value:
        if byte == 0x00:
            out += b"\x00\xff"
        elif byte == 0xFF:
            out += b"\xff\x00"
        else:
            out.append(byte)
    return bytes(out)


def _read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while pos + 1 < len(data):
        byte = data[pos]
        if byte == 0x00:
            nxt = data[pos + 1]
            if nxt == 0x01:
                return bytes(out), pos + 2
            if nxt != 0xFF:
                raise ValueError("bad escape in string")
            out.append(0)
            pos += 2
        elif byte == 0xFF:
            if data[pos + 1] != 0x00:
                raise ValueError("bad escape in string")
            out.append(0xFF)
            pos += 2
        else:
            out.append(byte)
            pos += 1
    raise ValueError("unterminated string")


def write_signed_num_increasing(out: bytearray, value: int) -> None:
    """Appends a signed 64-bit integer in OrderedCode's order-preserving form.

    The encoding is ``n`` bytes (1..10) of two's complement, whose leading bits are
    flipped into a unary length marker: ``n`` copies of the sign bit, then its opposite.

    >>> for v in (0, -1, 63, 64, -65, 0x424242):
    ...     buf = bytearray(); write_signed_num_increasing(buf, v); print(v, bytes(buf).hex())
    0 80
    -1 7f
    63 bf
    64 c040
    -65 3fbf
    4342338 f0424242
    """
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"{value} does not fit in int64")
    magnitude = ~value if value < 0 else value
    length = magnitude.bit_length() // 7 + 1  # n bytes hold 7n-1 value bits
    raw = (value & ((1 << (8 * length)) - 1)).to_bytes(length, "big")
    # XOR `length` one-bits into the top: a non-negative value (top bits 0) then starts with
    # `length` ones and a zero, a negative one (top bits 1, sign-extended) with `length`
    # zeros and a one.  For lengths 9 and 10 the marker spills into the second byte.
    header = ((1 << length) - 1) << (7 * length)
    encoded = int.from_bytes(raw, "big") ^ header
    out += encoded.to_bytes(length, "big")


def read_signed_num_increasing(data: bytes, pos: int) -> tuple[int, int]:
    """Decodes :func:`write_signed_num_increasing` output at ``data[pos:]``.

    >>> read_signed_num_increasing(bytes.fromhex("3fbf"), 0)
    (-65, 2)
    """
    if pos >= len(data):
        raise ValueError("truncated signed number")
    negative = not data[pos] & 0x80
    flip = 0xFF if negative else 0x00
    second = data[pos + 1] ^ flip if pos + 1 < len(data) else 0
    marker = ((data[pos] ^ flip) << 8) | second  # length marker: leading one-bits
    length = 0
    while length < 10 and marker & (0x8000 >> length):
        length += 1
    if length == 10 and marker & (0x8000 >> 10):
        raise ValueError("signed number longer than 10 bytes")
    if pos + length > len(data):
        raise ValueError("truncated signed number")
    encoded = int.from_bytes(data[pos : pos + length], "big")
    raw = encoded ^ (((1 << length) - 1) << (7 * length))
    value = raw - (1 << (8 * length)) if negative else raw
    return value, pos + length


def encode_tensor_name_slice(name: str | bytes, extents: Sequence[tuple[int, int]]) -> bytes:
    """The table key of the slice ``extents`` (``(start, length)`` per dim; ``(0, -1)`` = all).

    >>> encode_tensor_name_slice(b"a\\x00b", [(3, 4)]).hex()
    '006100ff62000101018384'
    """
    if isinstance(name, str):
        name = name.encode("utf-8")
    out = bytearray()
    _write_num_increasing(out, 0)
    out += _escape(name) + b"\x00\x01"
    _write_num_increasing(out, len(extents))
    for start, length in extents:
        write_signed_num_increasing(out, start)
        write_signed_num_increasing(out, length)
    return bytes(out)


def decode_tensor_name_slice(key: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """Inverts :func:`encode_tensor_name_slice`; raises ``ValueError`` on malformed keys."""
    lead, pos = _read_num_increasing(key, 0)
    if lead != 0:
        raise ValueError("slice keys start with OrderedCode(0)")
    name, pos = _read_string(key, pos)
    rank, pos = _read_num_increasing(key, pos)
    if not 0 < rank < 2**31 - 1:
        raise ValueError(f"bad slice rank {rank}")
    extents = []
    for _ in range(rank):
        start, pos = read_signed_num_increasing(key, pos)
        length, pos = read_signed_num_increasing(key, pos)
        extents.append((start, length))
    if pos != len(key):
        raise ValueError("trailing bytes after slice key")
    return name, extents
