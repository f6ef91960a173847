"""CRC-32C and mask: known vectors (docs/formats.md §5.5) and properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from numkeras.saving.tf_checkpoint import crc


def test_known_vectors() -> None:
    assert crc.value(b"123456789") == 0xE3069283
    assert crc.value(b"") == 0
    # RFC 3720 (iSCSI) test vectors.
    assert crc.value(bytes(32)) == 0x8A9136AA
    assert crc.value(b"\xff" * 32) == 0x62A8AB43
    assert crc.value(bytes(range(32))) == 0x46DD794E


def test_mask_values() -> None:
    assert crc.mask(0xE3069283) == 0xC78AB0E5
    assert crc.mask(0) == 0xA282EAD8
    assert crc.unmask(0xA282EAD8) == 0
    assert crc.unmask(0xC78AB0E5) == 0xE3069283


def test_block_trailer_from_spec() -> None:
    # The empty metaindex block `00000000 01000000` + type byte 0 has trailer c0 f2 a1 b0.
    block = bytes.fromhex("0000000001000000")
    assert crc.mask(crc.extend(crc.value(block), b"\x00")).to_bytes(4, "little").hex() == \
        "c0f2a1b0"


def test_accepts_buffers() -> None:
    data = np.arange(100, dtype=np.float32)
    expected = crc.value(data.tobytes())
    assert crc.value(memoryview(data).cast("B")) == expected
    assert crc.value(bytearray(data.tobytes())) == expected


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_extend_is_concatenation(a: bytes, b: bytes) -> None:
    assert crc.extend(crc.value(a), b) == crc.value(a + b)


@given(st.integers(0, 2**32 - 1))
def test_mask_roundtrip(x: int) -> None:
    assert crc.unmask(crc.mask(x)) == x
    assert 0 <= crc.mask(x) < 2**32
