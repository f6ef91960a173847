"""CRC-32C (Castagnoli) and the checksum mask used by LevelDB tables and TF bundles.

TensorFlow never stores a raw CRC: it stores ``mask(crc)``, a 15-bit rotation plus a
constant, so that a CRC computed over data that itself contains CRCs stays well-behaved.

>>> hex(value(b"123456789"))
'0xe3069283'
>>> hex(extend(value(b"1234"), b"56789"))
'0xe3069283'
>>> hex(mask(0xE3069283)), hex(mask(0))
('0xc78ab0e5', '0xa282ead8')
>>> unmask(mask(0x12345678)) == 0x12345678
True
"""

from __future__ import annotations

try:  # zero-copy over any buffer (numpy arrays, memoryviews); releases the GIL
    import crc32c as _buffer_crc
except ImportError:  # pragma: no cover - optional speed-up
    _buffer_crc = None
try:
    import google_crc32c as _crc32c
except ImportError as exc:  # pragma: no cover - google-crc32c is a hard dependency
    raise ImportError(
        "numkeras needs the 'google-crc32c' package to read and write TensorFlow checkpoints "
        "(pip install google-crc32c)"
    ) from exc

__all__ = ["MASK_DELTA", "extend", "mask", "masked_value", "unmask", "value"]

#: The constant added by :func:`mask` (``kMaskDelta`` in LevelDB and TensorFlow).
MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def value(data: bytes | bytearray | memoryview) -> int:
    """Returns the CRC-32C of ``data`` (same as ``extend(0, data)``)."""
    return extend(0, data)


def extend(crc: int, data: bytes | bytearray | memoryview) -> int:
    """Continues the CRC-32C ``crc`` (of some earlier bytes) over ``data``.

    ``data`` may be any C-contiguous buffer (a NumPy array's memory, a slice of a
    memoryview): with the ``crc32c`` package installed it is read in place, without a copy.
    """
    if type(data) is bytes:
        return _crc32c.extend(crc, data)
    if _buffer_crc is not None:
        view = memoryview(data)
        return _buffer_crc.crc32c(view if view.format == "B" and view.ndim == 1
                                  else view.cast("B"), crc)
    # google_crc32c accepts only objects whose buffer needs no release (i.e. ``bytes``).
    return _crc32c.extend(crc, bytes(data))


def masked_value(data: bytes | bytearray | memoryview) -> int:
    """``mask(value(data))`` for a 1-D byte buffer, in one call where ``crc32c`` is there.

    >>> hex(masked_value(memoryview(b"123456789")))
    '0xc78ab0e5'
    """
    if _buffer_crc is not None and type(data) is memoryview and data.format == "B":
        crc = _buffer_crc.crc32c(data)
    else:
        crc = value(data)
    crc &= _U32
    return ((((crc >> 15) | (crc << 17)) & _U32) + MASK_DELTA) & _U32


def mask(crc: int) -> int:
    """Returns the masked form of ``crc`` that TensorFlow stores on disk."""
    crc &= _U32
    return ((((crc >> 15) | (crc << 17)) & _U32) + MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverts :func:`mask`."""
    rot = (masked - MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32
