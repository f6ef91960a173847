"""Lowerings of MultiHeadAttention and EinsumDense (filled in below)."""

from __future__ import annotations

LOWERINGS: dict = {}
