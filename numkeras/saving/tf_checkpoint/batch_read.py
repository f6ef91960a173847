"""Verifying and reading many small tensors of a bundle in a few system calls.

A model of many small layers stores thousands of tensors of a few hundred bytes each, back
to back in the data file. Checking and reading them one by one costs two system calls and
a few dozen Python calls per tensor; here neighbouring tensors (gaps up to ``GAP`` bytes,
runs up to ``SPAN`` bytes) are read together: the verify pass reads a run into one reused
buffer and checks each tensor's CRC-32C on its slice, the copy pass reads a run with one
``preadv`` straight into the variables' buffers and checks each CRC again on the bytes that
landed (a data file changed between the passes is caught, as by
:meth:`.bundle.BundleReader.read_verified`).

Both functions are fast paths of :class:`~.bundle.BundleReader`: they take only plain
numeric tensors of at most ``SMALL`` bytes. :func:`verify_small` answers ``None`` when
anything about a tensor is wrong; the reader then verifies every key one by one, which
raises the precise error (same message and order as without this module).

>>> import os, tempfile, numpy as np
>>> from numkeras.saving.tf_checkpoint.bundle import BundleReader, write_bundle
>>> prefix = os.path.join(tempfile.mkdtemp(), "ckpt")
>>> _ = write_bundle(prefix, [(f"w{i}", np.full(3, i, np.float32)) for i in range(4)])
>>> with BundleReader(prefix) as reader:
...     keys = reader.keys()
...     print(verify_small(reader, keys))
...     outs = [np.zeros(3, np.float32) for _ in keys]
...     print(read_small(reader, list(zip(keys, outs))), outs[3])
[]
[] [3. 3. 3.]
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import crc
from .dtypes import DataType, to_numpy_dtype
from .errors import CheckpointFormatError

__all__ = ["GAP", "SMALL", "SPAN", "read_small", "verify_small"]

SMALL = 1 << 20  # tensors up to this many bytes are read in runs
SPAN = 4 << 20  # bytes per run (the verify buffer's size)
GAP = 64 << 10  # unused bytes between two tensors that still join one run
_MAX_IOV = 512  # buffers per preadv (Linux allows 1024)
_HAVE_PREADV = hasattr(os, "preadv")
_masked_crc = crc.masked_value
_CHANGED = ("data file changed while reading (checksum differs from the one verified a "
            "moment ago)")


class _Plain:
    """Which entries are plain numeric tensors of at most ``SMALL`` bytes, with their sizes
    and byte ranges checked (the reader's own checks, without its per-call overhead)."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.files: dict[int, tuple[str, int]] = {}  # shard -> path, size
        self.passed: dict[str, Any] = {}  # key -> entry, checked by an earlier call

    @classmethod
    def of(cls, reader) -> _Plain:
        """The checker of ``reader`` (one per reader: the copy pass reuses the verify
        pass's checks)."""
        plain = reader._plain_checks  # reset when the reader closes its files
        if plain is None:
            plain = cls(reader)
            reader._plain_checks = plain
        return plain

    def entry(self, key: str):
        """The entry of ``key`` if it qualifies, else ``None``; raises ``_Doubt`` if a
        check fails (the per-tensor path then raises the precise error)."""
        entry = self.passed.get(key)
        if entry is not None:
            return entry
        entry = self.reader.get_entry(key)
        if entry.slices or entry.dtype == DataType.DT_STRING or entry.size > SMALL:
            return None
        if entry.size != math.prod(entry.shape) * to_numpy_dtype(entry.dtype).itemsize:
            raise _Doubt
        shard = self.files.get(entry.shard_id)
        if shard is None:
            path = self.reader._check_range(entry)
            shard = self.files[entry.shard_id] = (path, self.reader._shard_size(entry)[1])
        if entry.offset < 0 or entry.offset + entry.size > shard[1]:
            raise _Doubt
        self.passed[key] = entry
        return entry


class _Doubt(Exception):
    """A check failed: leave the whole job to the per-tensor path."""


def _runs(items: list[tuple[Any, Any]]) -> list[list[tuple[Any, Any]]]:
    """``(entry, payload)`` pairs grouped into runs of neighbouring, non-overlapping byte
    ranges of one data file."""
    items = sorted(items, key=lambda item: (item[0].shard_id, item[0].offset, item[0].size))
    runs: list[list[tuple[Any, Any]]] = []
    start = end = shard = -1
    for item in items:
        entry = item[0]
        if (entry.shard_id != shard or entry.offset < end or entry.offset - end > GAP
                or entry.offset + entry.size - start > SPAN or len(runs[-1]) >= _MAX_IOV // 2):
            runs.append([])
            start, shard = entry.offset, entry.shard_id
        runs[-1].append(item)
        end = entry.offset + entry.size
    return runs


def _pread_all(fd: int, buffers: list, offset: int) -> int:
    total = 0
    while True:  # preadv may return fewer bytes than asked (signals, huge runs)
        n = os.preadv(fd, buffers, offset + total)
        total += n
        want = sum(len(b) for b in buffers)
        if n == 0 or n >= want:
            return total
        buffers = _skip(buffers, n)


def _skip(buffers: list, count: int) -> list:
    out = []
    for b in buffers:
        if count >= len(b):
            count -= len(b)
            continue
        out.append(b[count:])
        count = 0
    return out


def verify_small(reader, keys: Sequence[str]) -> list[str] | None:
    """CRC-check the small numeric tensors of ``keys`` in runs; return the other keys (for
    the per-tensor path), or ``None`` if any check failed or could not be made here."""
    if not _HAVE_PREADV:  # pragma: no cover - Windows: the per-tensor path
        return list(keys)
    small, rest = [], []
    plain = _Plain.of(reader)
    try:
        for key in keys:
            entry = plain.entry(key)
            if entry is None:
                rest.append(key)
            else:
                small.append((entry, None))
        if not small:
            return rest
        runs = _runs(small)
        longest = max(r[-1][0].offset + r[-1][0].size - r[0][0].offset for r in runs)
        buffer = memoryview(bytearray(max(longest, 1)))
        for run in runs:
            first = run[0][0]
            fd = reader._fd(plain.files[first.shard_id][0], first.key)
            start = first.offset
            view = buffer[: run[-1][0].offset + run[-1][0].size - start]
            if _pread_all(fd, [view], start) != len(view):
                return None
            for entry, _ in run:
                begin = entry.offset - start
                if _masked_crc(view[begin : begin + entry.size]) != entry.crc32c:
                    return None
    except (_Doubt, CheckpointFormatError, KeyError, ValueError, OSError):
        return None
    return rest


def read_small(reader, items: Sequence[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Read the small numeric tensors of ``(key, out)`` pairs (verified before) into ``out``
    in runs, checking each CRC again on the bytes read; return the other pairs.

    Every pair is checked (shape, dtype, sizes) before the first byte is read; a data file
    that changed since the verify pass raises :class:`~.errors.CheckpointFormatError`.
    """
    if not _HAVE_PREADV:  # pragma: no cover - Windows: the per-tensor path
        return list(items)
    small, rest = [], []
    plain = _Plain.of(reader)
    for key, out in items:
        try:
            entry = plain.entry(key)
        except _Doubt:
            entry = None
        if entry is None or not isinstance(out, np.ndarray) or not out.flags.c_contiguous \
                or not out.flags.writeable or out.shape != entry.shape \
                or out.dtype != to_numpy_dtype(entry.dtype):
            rest.append((key, out))  # the per-tensor path checks it (and raises)
            continue
        small.append((entry, out))
    if rest:  # check every pair before reading anything
        for key, out in rest:
            entry = reader.get_entry(key)
            reader._check_out(entry, reader._numpy_dtype(entry), out)
    swap = reader.endianness != sys.byteorder
    gap = memoryview(bytearray(GAP))
    for run in _runs(small):
        first = run[0][0]
        path = plain.files[first.shard_id][0]
        fd = reader._fd(path, first.key)
        buffers, targets = [], []
        end = first.offset
        for entry, out in run:
            if entry.offset > end:
                buffers.append(gap[: entry.offset - end])
            target = memoryview(out.reshape(-1).view(np.uint8))  # any dtype (bfloat16 too)
            buffers.append(target)
            targets.append((entry, target))
            end = entry.offset + entry.size
        if _pread_all(fd, buffers, first.offset) != end - first.offset:
            for entry, out in run:  # the per-tensor read names what is missing
                reader.read_verified(entry.key, out)
            continue
        for entry, target in targets:
            if _masked_crc(target) != entry.crc32c:
                reader._fail(entry, _CHANGED, path)
        if swap:
            for _, out in run:
                if out.dtype.itemsize > 1:
                    out.byteswap(inplace=True)
    return rest
