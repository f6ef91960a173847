"""Lowerings of the recurrent layers (filled in below)."""

from __future__ import annotations

LOWERINGS: dict = {}
