"""OrderedCode slice keys (EncodeTensorNameSlice); TF-confirmed in test_bundle_tf_interop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numkeras.saving.tf_checkpoint.slice_keys import (
    decode_tensor_name_slice,
    encode_tensor_name_slice,
    read_signed_num_increasing,
    write_signed_num_increasing,
)

INT64 = st.integers(-(2**63), 2**63 - 1)


def test_key_seen_in_a_tf_checkpoint() -> None:
    # Bytes of a slice key from a TF 2.21 MaxShardSizePolicy checkpoint: rows 0..24, cols 10..19.
    key = b"\x00v/.ATTRIBUTES/VARIABLE_VALUE\x00\x01\x01\x02\x80\x99\x8a\x8a"
    assert decode_tensor_name_slice(key) == (b"v/.ATTRIBUTES/VARIABLE_VALUE", [(0, 25), (10, 10)])
    assert encode_tensor_name_slice("v/.ATTRIBUTES/VARIABLE_VALUE", [(0, 25), (10, 10)]) == key


def test_signed_vectors_from_tf_source_comments() -> None:
    for value, encoded in [(0x424242, "f0424242"), (-0x800, "3800")]:
        out = bytearray()
        write_signed_num_increasing(out, value)
        assert out.hex() == encoded
        assert read_signed_num_increasing(bytes.fromhex(encoded), 0) == (value, len(out))


def test_signed_lengths() -> None:
    for value, length in [(0, 1), (63, 1), (-64, 1), (64, 2), (-65, 2), (2**13 - 1, 2),
                          (2**13, 3), (2**55, 9), (2**62, 10), (2**63 - 1, 10), (-(2**63), 10)]:
        out = bytearray()
        write_signed_num_increasing(out, value)
        assert len(out) == length, value


@given(INT64)
def test_signed_roundtrip(value: int) -> None:
    out = bytearray()
    write_signed_num_increasing(out, value)
    assert read_signed_num_increasing(bytes(out) + b"tail", 0) == (value, len(out))


@given(INT64, INT64)
def test_signed_order_preserved(a: int, b: int) -> None:
    ea, eb = bytearray(), bytearray()
    write_signed_num_increasing(ea, a)
    write_signed_num_increasing(eb, b)
    assert (a < b) == (bytes(ea) < bytes(eb))


@given(st.binary(max_size=30),
       st.lists(st.tuples(st.integers(0, 2**40), st.integers(-1, 2**40)), min_size=1,
                max_size=4))
def test_key_roundtrip(name: bytes, extents: list[tuple[int, int]]) -> None:
    key = encode_tensor_name_slice(name, extents)
    assert key.startswith(b"\x00")
    assert decode_tensor_name_slice(key) == (name, extents)


@pytest.mark.parametrize("key", [b"", b"\x01\x01", b"\x00abc", b"\x00a\x00\x01",
                                 b"\x00a\x00\x01\x01\x01\x80", b"\x00a\x00\x02"])
def test_malformed_keys(key: bytes) -> None:
    with pytest.raises(ValueError):
        decode_tensor_name_slice(key)


def test_out_of_range() -> None:
    with pytest.raises(ValueError):
        write_signed_num_increasing(bytearray(), 2**63)
