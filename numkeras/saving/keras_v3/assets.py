"""``assets/`` of a ``.keras`` archive: lookup layers' ``vocabulary.txt`` files.

tf-keras and Keras 3 write an adapted lookup layer's vocabulary (special tokens included, one
per line) to ``assets/<object path>/vocabulary.txt``, the object path being the one its
variables have (``layers/string_lookup``, ``layers/text_vectorization/_lookup_layer``). A
layer takes part by having ``vocabulary_asset() -> bytes | None`` (what to write) and
``vocabulary_from_asset(data)`` (what was read); this module only names and moves the bytes.
Members are read in place from the zip (never extracted), each capped in size.
"""

from __future__ import annotations

from numkeras.saving.keras_v3 import archive
from numkeras.saving.keras_v3.walk import union_entries

VOCABULARY = "vocabulary.txt"
#: Largest vocabulary file read (bytes).
MAX_ASSET_BYTES = 256 * 2**20


def _member(path: str) -> str:
    return f"assets/{path}/{VOCABULARY}" if path else f"assets/{VOCABULARY}"


def asset_members(model, entries=None) -> dict[str, bytes]:
    """``{zip member name: bytes}`` of every vocabulary the model's layers want written
    (``entries``: ``union_entries(model)`` if the caller has it)."""
    out: dict[str, bytes] = {}
    for entry in union_entries(model) if entries is None else entries:
        produce = getattr(entry.obj, "vocabulary_asset", None)
        if callable(produce):
            data = produce()
            if data is not None:
                out[_member(entry.path)] = data
    return out


def load_assets(model, zf, filename: str) -> None:
    """Give each layer that reads a vocabulary the ``vocabulary.txt`` stored at its path."""
    names = set(zf.namelist())
    for entry in union_entries(model):
        consume = getattr(entry.obj, "vocabulary_from_asset", None)
        member = _member(entry.path)
        if callable(consume) and member in names:
            data = archive.read_member(zf, member, filename, cap=MAX_ASSET_BYTES)
            try:
                consume(data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"{filename}: {member} does not hold a vocabulary this layer "
                                 f"accepts: {exc}") from exc


__all__ = ["asset_members", "load_assets"]
