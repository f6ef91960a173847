"""The string hashes TensorFlow's hashing ops use, in pure Python (64-bit arithmetic).

* :func:`fingerprint64`: FarmHash's ``Fingerprint64`` (the ``farmhashna`` 64-bit hash), what
  ``tf.strings.to_hash_bucket_fast`` takes modulo the bucket count;
* :func:`siphash24`: SipHash-2-4 keyed by two 64-bit words, what
  ``tf.strings.to_hash_bucket_strong`` takes modulo the bucket count;
* :func:`fingerprint_cat64`: how ``tf.sparse.cross_hashed`` chains feature hashes (from the key
  ``0xDECAFCAFFE``; a string feature hashes to its ``fingerprint64``, an integer to itself).

>>> hex(fingerprint64(b""))
'0x9ae16a3b2f90404f'
>>> hex(siphash24(bytes(range(15)), 0x0706050403020100, 0x0F0E0D0C0B0A0908))
'0xa129ca6149be45e5'
"""

from __future__ import annotations

import struct

_M = 0xFFFFFFFFFFFFFFFF
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def _fetch(s: bytes, i: int) -> int:
    return struct.unpack_from("<Q", s, i)[0]


def _fetch32(s: bytes, i: int) -> int:
    return struct.unpack_from("<I", s, i)[0]


def _rot(v: int, shift: int) -> int:
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & _M


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & _M
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M
    b ^= b >> 47
    return (b * mul) & _M


def _len0to16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = _K2 + n * 2
        a = (_fetch(s, 0) + _K2) & _M
        b = _fetch(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M
        d = ((_rot(a, 25) + b) * mul) & _M
        return _len16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        a = _fetch32(s, 0)
        return _len16((n + (a << 3)) & _M, _fetch32(s, n - 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M) * _K2) & _M
    return _K2


def _words(s: bytes, n: int, k: int, mul: int) -> tuple[int, int, int, int]:
    """The four words the 17-64 byte hashes start from: the first two (the first times
    ``k``) and the last two (times ``mul`` and ``_K2``)."""
    return ((_fetch(s, 0) * k) & _M, _fetch(s, 8), (_fetch(s, n - 8) * mul) & _M,
            (_fetch(s, n - 16) * _K2) & _M)


def _mix(a: int, b: int, c: int, d: int, t: int) -> tuple[int, int]:
    """FarmHash's two-word mix of four words: ``rot(a + b, 43) + rot(c, 30) + d`` and
    ``a + rot(b + t, 18) + c``."""
    return ((_rot((a + b) & _M, 43) + _rot(c, 30) + d) & _M,
            (a + _rot((b + t) & _M, 18) + c) & _M)


def _len17to32(s: bytes, n: int) -> int:
    mul = _K2 + n * 2
    return _len16(*_mix(*_words(s, n, _K1, mul), _K2), mul)


def _len33to64(s: bytes, n: int) -> int:
    mul = _K2 + n * 2
    a, b, c, d = _words(s, n, _K2, mul)
    y, u = _mix(a, b, c, d, _K2)
    z = _len16(y, u, mul)
    e = (_fetch(s, 16) * mul) & _M
    f = _fetch(s, 24)
    g = ((y + _fetch(s, n - 32)) * mul) & _M
    h = ((z + _fetch(s, n - 24)) * mul) & _M
    return _len16(*_mix(e, f, g, h, a), mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_fetch(s, i + k) for k in (0, 8, 16, 24))
    a = (a + w) & _M
    b = _rot((b + a + z) & _M, 21)
    c = a
    a = (a + x + y) & _M
    b = (b + _rot(a, 44)) & _M
    return (a + z) & _M, (b + c) & _M


def _round(s: bytes, i: int, x: int, y: int, z: int, v: tuple, w: tuple, mul: int,
           k: int) -> tuple[int, int, int, tuple, tuple]:
    """One 64-byte round of the long-input hash at ``s[i:]``: ``mul`` and ``k`` are ``_K1``
    and 1 in the loop, the final multiplier and 9 on the last 64 bytes; ``(x, y, z, v, w)``
    after it (``x`` and ``z`` swapped, as FarmHash does)."""
    x = (_rot((x + y + v[0] + _fetch(s, i + 8)) & _M, 37) * mul) & _M
    y = (_rot((y + v[1] + _fetch(s, i + 48)) & _M, 42) * mul) & _M
    x ^= (w[1] * k) & _M
    y = (y + v[0] * k + _fetch(s, i + 40)) & _M
    z = (_rot((z + w[0]) & _M, 33) * mul) & _M
    v = _weak32(s, i, (v[1] * mul) & _M, (x + w[0]) & _M)
    w = _weak32(s, i + 32, (z + w[1]) & _M, (y + _fetch(s, i + 16)) & _M)
    return z, y, x, v, w


def fingerprint64(s: bytes) -> int:
    """FarmHash ``Fingerprint64`` of ``s`` (TensorFlow's ``Fingerprint64``)."""
    n = len(s)
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _M
    z = (_shift_mix((y * _K2 + 113) & _M) * _K2) & _M
    v = (0, 0)
    w = (0, 0)
    x = (x * _K2 + _fetch(s, 0)) & _M
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x, y, z, v, w = _round(s, i, x, y, z, v, w, _K1, 1)
        i += 64
        if i == end:
            break
    mul = _K1 + ((z & 0xFF) << 1)
    w = ((w[0] + ((n - 1) & 63)) & _M, w[1])
    v = ((v[0] + w[0]) & _M, v[1])
    w = ((w[0] + v[0]) & _M, w[1])
    x, y, z, v, w = _round(s, last64, x, y, z, v, w, mul, 9)
    return _len16((_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _M,
                  (_len16(v[1], w[1], mul) + x) & _M, mul)


def siphash24(s: bytes, k0: int, k1: int) -> int:
    """SipHash-2-4 of ``s`` with the 128-bit key ``(k0, k1)``."""
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573

    def rounds(v0, v1, v2, v3, n):
        for _ in range(n):
            v0 = (v0 + v1) & _M
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        return v0, v1, v2, v3

    n = len(s)
    tail = n - n % 8
    for i in range(0, tail, 8):
        m = _fetch(s, i)
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
        v0 ^= m
    last = int.from_bytes(s[tail:] + bytes(8 - (n - tail)), "little") | ((n & 0xFF) << 56)
    v3 ^= last
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
    v0 ^= last
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's ``FingerprintCat64``: combines two fingerprints (feature crosses)."""
    mul = 0xC6A4A7935BD1E995
    result = fp1 ^ mul
    result ^= (_shift_mix((fp2 * mul) & _M) * mul) & _M
    result = (result * mul) & _M
    result = (_shift_mix(result) * mul) & _M
    return _shift_mix(result)


def _rotl(v: int, shift: int) -> int:
    return ((v << shift) | (v >> (64 - shift))) & _M


__all__ = ["fingerprint64", "siphash24", "fingerprint_cat64"]
