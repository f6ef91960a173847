"""The approximate quantile summaries behind ``Discretization(num_bins=...).adapt`` (tf-keras
2.21's rule, in float32 as TF computes it).

A summary is a ``(2, n)`` float32 array: sorted values and the weight (count of inputs) each
stands for. Each batch is summarized by taking every ``step``-th sorted value (``step`` =
``size * epsilon`` truncated, at least 1, starting at index ``step``), merged with the running
summary, and compressed back to about ``1 / epsilon`` entries by interpolating the cumulative
weights; the bin boundaries are the ``num_bins - 1`` interior points of the summary compressed
to ``num_bins`` entries.

>>> s = summarize(np.arange(10, dtype="float32"), epsilon=0.25)
>>> s.tolist()
[[2.0, 4.0, 6.0, 8.0], [2.0, 2.0, 2.0, 2.0]]
>>> bin_boundaries(merge(s, np.zeros((2, 0), "float32"), 0.25), num_bins=3)
[2.6666667461395264, 5.333333492279053]
"""

from __future__ import annotations

import numpy as np


def summarize(values, epsilon: float) -> np.ndarray:
    """The summary of one batch of values (any shape)."""
    values = np.sort(np.asarray(values, np.float32).reshape(-1))
    increment = int(np.float32(values.size) / np.float32(1.0 / epsilon))
    step = max(increment, 1)
    boundaries = values[increment::step]
    return np.stack([boundaries, np.full(boundaries.shape, step, np.float32)])


def compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """``summary`` reduced to about ``1 / epsilon`` entries (unchanged when already smaller)."""
    summary = np.asarray(summary, np.float32)
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(percents, fractions, summary[0])
    cumulative = np.interp(percents, fractions, cumulative)
    weights = np.diff(cumulative, prepend=0.0)
    return np.stack((values, weights)).astype(np.float32)


def merge(new: np.ndarray, running: np.ndarray, epsilon: float) -> np.ndarray:
    """``new`` and ``running`` merged in value order, then compressed."""
    merged = np.concatenate((new, running), axis=1)
    return compress(merged[:, np.argsort(merged[0], kind="stable")], epsilon)


def bin_boundaries(summary: np.ndarray, num_bins: int) -> list[float]:
    """The ``num_bins - 1`` boundaries of an adapted summary."""
    return [float(v) for v in compress(summary, 1.0 / num_bins)[0, :-1]]
