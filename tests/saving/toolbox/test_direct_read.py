"""direct_read: stored tensors read straight into existing arrays, neighbours together."""

from __future__ import annotations

import os

import numpy as np
import pytest

from numkeras.saving import direct_read


def _file(tmp_path, count: int = 1000) -> tuple[str, np.ndarray]:
    data = np.arange(count, dtype=np.float32)
    path = str(tmp_path / "raw.bin")
    data.tofile(path)
    return path, data


@pytest.mark.parametrize("preadv", [True, False])
def test_pieces_with_gaps_and_any_order(tmp_path, monkeypatch, preadv) -> None:
    if not preadv:
        monkeypatch.setattr(direct_read, "_HAVE_PREADV", False)
    path, data = _file(tmp_path)
    spans = [(900, 50), (0, 3), (10, 7), (17, 1), (500, 0), (600, 100)]
    outs = [np.full(n, -1, np.float32) for _, n in spans]
    direct_read.read_into([(path, 4 * start, out) for (start, _), out in zip(spans, outs)])
    for (start, n), out in zip(spans, outs):
        np.testing.assert_array_equal(out, data[start:start + n])


def test_one_call_for_neighbours(tmp_path, monkeypatch) -> None:
    path, data = _file(tmp_path)
    calls = []
    real = os.preadv
    monkeypatch.setattr(direct_read.os, "preadv",
                        lambda fd, bufs, off: calls.append(len(bufs)) or real(fd, bufs, off))
    outs = [np.zeros(4, np.float32) for _ in range(200)]
    direct_read.read_into([(path, 20 * i, out) for i, out in enumerate(outs)])  # 4-byte gaps
    assert len(calls) == 1
    assert all(np.array_equal(out, data[5 * i:5 * i + 4]) for i, out in enumerate(outs))


def test_a_file_shorter_than_expected_is_an_oserror_naming_it(tmp_path) -> None:
    path, _ = _file(tmp_path, 10)
    with pytest.raises(OSError, match="raw.bin ended at byte 40"):
        direct_read.read_into([(path, 0, np.zeros(20, np.float32))])
