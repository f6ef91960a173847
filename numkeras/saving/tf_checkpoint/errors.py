"""Exceptions raised for malformed or unreadable checkpoint files."""

from __future__ import annotations

__all__ = ["CheckpointFormatError"]


class CheckpointFormatError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, or uses an unsupported feature.

    The message names the file (and, where one is involved, the tensor key) and says what
    was expected and what was found.

    It is a :class:`ValueError`, so callers that already catch ``ValueError`` keep working:

    >>> issubclass(CheckpointFormatError, ValueError)
    True
    """
