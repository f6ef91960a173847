"""Reading stored tensors straight into existing arrays, neighbours in one system call.

Formats that keep each tensor's bytes contiguous and uncompressed at a known offset
(safetensors, stored ``.npz`` members) are loaded into a built model by reading those
bytes straight into the variables' buffers: no memory map (its pages would count as
resident memory), no temporary array, and tensors that lie next to each other in the file
(gaps up to ``GAP`` bytes) are read with one ``os.preadv`` (a model of thousands of small
layers costs a few calls, not thousands).

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "raw.bin")
>>> _ = open(path, "wb").write(np.arange(10, dtype=np.float32).tobytes())
>>> a, b = np.zeros(3, np.float32), np.zeros((2, 2), np.float32)
>>> read_into([(path, 0, a), (path, 16, b)])
>>> a.tolist(), b.tolist()
([0.0, 1.0, 2.0], [[4.0, 5.0], [6.0, 7.0]])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["GAP", "read_into", "suitable"]

GAP = 64 << 10  # unused bytes between two tensors still read in one call
_MAX_IOV = 512  # buffers per call (Linux allows 1024)
_HAVE_PREADV = hasattr(os, "preadv")


def suitable(target: np.ndarray, dtype: np.dtype) -> bool:
    """Whether bytes stored as ``dtype`` can be read straight into ``target``: same dtype in
    the machine's byte order, a C-contiguous writeable buffer."""
    return (target.dtype == dtype and dtype.isnative and target.flags.c_contiguous
            and target.flags.writeable)


def read_into(items: Sequence[tuple[str, int, np.ndarray]]) -> None:
    """Fill each ``(file, offset, array)``'s array with its ``array.nbytes`` bytes at
    ``offset`` of ``file`` (C-contiguous arrays). Raises ``OSError`` naming the file if it
    ends early (changed since its size was checked)."""
    by_file: dict[str, list[tuple[int, np.ndarray]]] = {}
    for path, offset, array in items:
        by_file.setdefault(path, []).append((offset, array))
    for path, pieces in by_file.items():
        pieces.sort(key=lambda p: (p[0], p[1].nbytes))
        with open(path, "rb", buffering=0) as f:
            fd = f.fileno()
            run: list[tuple[int, np.ndarray]] = []
            for piece in pieces:
                if run and not _joins(run, piece):
                    _read_run(path, fd, run)
                    run = []
                run.append(piece)
            if run:
                _read_run(path, fd, run)


def _joins(run: list, piece: tuple[int, np.ndarray]) -> bool:
    end = run[-1][0] + run[-1][1].nbytes
    return end <= piece[0] <= end + GAP and len(run) < _MAX_IOV // 2 and _HAVE_PREADV


def _read_run(path: str, fd: int, run: list[tuple[int, np.ndarray]]) -> None:
    start = run[0][0]
    buffers = []
    end = start
    gap = None
    for offset, array in run:
        if offset > end:
            gap = gap if gap is not None and len(gap) >= offset - end else \
                memoryview(bytearray(GAP))
            buffers.append(gap[: offset - end])
        if array.nbytes:
            buffers.append(memoryview(array.reshape(-1).view(np.uint8)))
        end = offset + array.nbytes
    want = end - start
    done = 0
    while done < want:
        if _HAVE_PREADV:
            n = os.preadv(fd, buffers, start + done)
        else:  # pragma: no cover - Windows: one buffer per run (see _joins)
            os.lseek(fd, start + done, os.SEEK_SET)
            data = os.read(fd, len(buffers[0]))
            buffers[0][: len(data)] = data
            n = len(data)
        if n == 0:
            raise OSError(f"{path} ended at byte {start + done}, expected at least {end} "
                          "bytes: the file changed while it was being loaded.")
        done += n
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
