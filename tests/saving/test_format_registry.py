"""The format registry (numkeras/saving/formats.py): every record is complete and usable, and
it is the only code that knows the formats' magic bytes."""

from __future__ import annotations

import pathlib

import pytest

import numkeras
from numkeras.saving import formats

ROOT = pathlib.Path(numkeras.__file__).parent
#: HDF5's superblock signature and the zip local-header signature, as source text.
MAGIC_LITERALS = ('b"\\x89HDF', "b'\\x89HDF", 'b"PK\\x03\\x04', "b'PK\\x03\\x04")


def test_names_are_unique():
    names = [f.name for f in formats.FORMATS]
    cli = [f.cli_name for f in formats.FORMATS if f.cli_name]
    assert len(set(names)) == len(names) and len(set(cli)) == len(cli)


@pytest.mark.parametrize("record", formats.FORMATS, ids=lambda f: f.name)
def test_every_named_function_exists(record):
    for which in ("inspect", "verify", "sniff", "architecture_check"):
        if getattr(record, which):
            assert callable(record.function(which)), (record.name, which)


@pytest.mark.parametrize("record", [f for f in formats.FORMATS if f.writes == "weights"],
                         ids=lambda f: f.name)
def test_every_weights_format_can_be_saved_and_loaded_by_its_package(record):
    module = record.module()
    assert callable(module.save_weights) and callable(module.load_weights)
    assert record.inspect and record.verify, f"{record.name}: numkeras inspect/verify need them"


def test_formats_sharing_magic_bytes_are_told_apart():
    by_magic: dict = {}
    for f in formats.FORMATS:
        if f.magic:
            by_magic.setdefault(f.magic, []).append(f)
    for magic, records in by_magic.items():
        if len(records) > 1:
            untold = [f.name for f in records if not f.sniff]
            assert len(untold) <= 1, f"{magic!r}: only one format may go without a sniffer"
            assert sum(f.fallback for f in records) <= 1


def test_only_the_registry_knows_the_magic_bytes():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == ROOT / "saving" / "formats.py":
            continue
        text = path.read_text(encoding="utf8")
        found += [f"{path.relative_to(ROOT)}: {m}" for m in MAGIC_LITERALS if m in text]
    assert found == []


def test_the_magic_bytes_are_the_formats_own():
    # HDF5 File Format Specification, "Format Signature"; PKWARE APPNOTE 4.3.7.
    assert formats.HDF5_MAGIC == bytes([0x89]) + b"HDF\r\n" + bytes([0x1A]) + b"\n"
    assert formats.ZIP_MAGIC == bytes([0x50, 0x4B, 0x03, 0x04])
