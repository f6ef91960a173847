"""``inspect``/``verify`` of ``.keras`` archives, ``.weights.h5`` and sharded
``.weights.json`` files, and the sniffer that tells a ``.weights.h5`` from a legacy ``.h5``.

Used through the format registry (:mod:`numkeras.saving.formats`) by
:mod:`numkeras.saving.inspect`.
"""

from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np

from numkeras.saving import formats, h5common
from numkeras.saving.inspect import Corrupt, Entry, Inventory, VerifyResult, dtype_name, note_values
from numkeras.saving.keras_v3 import archive, sharded, sources

_MARKERS = ("layers", "vars", "_layer_checkpoint_dependencies")


def is_weights_file(path: str) -> bool:
    """A Keras 3 ``.weights.h5`` layout (``layers``/``vars`` groups); a file h5py cannot
    open is one when its name says so (``inspect``/``verify`` then report the damage)."""
    names = h5common.layout_of(path)
    if names is None:
        return formats.get("weights.h5").matches(path)
    return any(k in names for k in _MARKERS)


def _entries(index, files: list[str]) -> list[Entry]:
    entries = []
    for owner in sorted(index.groups):
        refs = index.groups[owner]
        for key in sorted(refs, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k)):
            ref = refs[key]
            dtype = "bfloat16" if ref.bfloat16 else dtype_name(ref.dtype)
            nbytes = math.prod(ref.shape) * np.dtype(ref.dtype).itemsize
            entries.append(Entry(ref.name.lstrip("/"), tuple(ref.shape), dtype, nbytes,
                                 group=owner or "(model)", file=files[ref.source]))
    return entries


def inspect(info: Inventory) -> None:
    """Fill ``info`` from the ``vars`` index of the file, archive member or shards."""
    source = sources.open_source(info.resolved)
    try:
        index = source.index()
        if isinstance(source, sources.ShardedSource):
            info.files = [info.resolved] + [os.path.join(source.folder, n) for n in source.files]
            shard_names = list(source.files)
        else:
            info.files = [info.resolved]
            shard_names = [os.path.basename(info.resolved)] * max(1, source.count)
        if isinstance(source, sources.ArchiveSource):
            info.attributes.update(_archive_metadata(source))
            shard_names = [archive.WEIGHTS]
        info.entries = _entries(index, shard_names)
    finally:
        if hasattr(source, "close"):
            source.close()


def _archive_metadata(source) -> dict:
    out = {"has_model_config": source.config is not None,
           "members": source.zf.namelist()}
    if archive.METADATA in out["members"]:
        meta = archive.parse_json(archive.read_member(source.zf, archive.METADATA,
                                                      source.filename), "metadata.json")
        if isinstance(meta, dict):
            out.update({k: meta[k] for k in ("keras_version", "date_saved") if k in meta})
    if isinstance(source.config, dict):
        out["class_name"] = source.config.get("class_name")
    return out


def verify_archive(path: str, result: VerifyResult) -> None:
    """Check every member's zip CRC and ``config.json``, then read every dataset."""
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                archive.check_archive(zf, path)
            except ValueError as exc:
                raise Corrupt(path, "", str(exc)) from None
            for info in zf.infolist():
                try:  # streamed, output capped at the declared size (zip bombs)
                    for _ in archive.iter_member(zf, info.filename, path,
                                                 cap=archive.MEMBER_CAP):
                        pass
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                    raise Corrupt(path, info.filename, f"member {info.filename!r}: {exc}") \
                        from None
            if archive.CONFIG in zf.namelist():
                _check_json(archive.read_member(zf, archive.CONFIG, path), path,
                            archive.CONFIG)
    except zipfile.BadZipFile as exc:
        raise Corrupt(path, "", f"not a valid zip archive: {exc}") from None
    _verify_values(path, result)


def _check_json(data: bytes, path: str, member: str) -> None:
    try:
        json.loads(data)
    except ValueError as exc:
        raise Corrupt(path, member, f"{member} is not valid JSON: {exc}") from None


def _verify_values(path: str, result: VerifyResult) -> None:
    """Index and read every dataset through the Keras v3 sources (archive, file or shards)."""
    try:
        source = sources.open_source(path)
    except (ValueError, OSError) as exc:
        raise Corrupt(path, "", str(exc)) from None
    try:
        files = [os.path.join(source.folder, n) for n in source.files] \
            if isinstance(source, sources.ShardedSource) else [path]
        index = source.index()
        for owner in sorted(index.groups):
            for ref in index.groups[owner].values():
                label = files[ref.source] if len(files) > 1 else path
                try:
                    value = source.read([ref])[ref]
                except (OSError, RuntimeError, ValueError) as exc:
                    raise Corrupt(label, ref.name, f"cannot read {ref.name!r}: {exc}") \
                        from None
                note_values(result, label, ref.name, value)
    except (ValueError, OSError) as exc:
        raise Corrupt(path, "", str(exc)) from None
    finally:
        if hasattr(source, "close"):
            source.close()


def verify_h5(path: str, result: VerifyResult) -> None:
    """Read every dataset of the ``.weights.h5`` file (or of every shard), then index them."""
    def ignore(*args) -> None:
        pass

    if formats.get("weights.json").matches(path):
        try:
            manifest = sharded.read_manifest(path)
        except (ValueError, OSError) as exc:
            raise Corrupt(path, "", str(exc)) from None
        folder = os.path.dirname(os.path.abspath(path))
        for name in sharded.shard_files(manifest):
            shard = os.path.join(folder, name)
            h5common.read_every_dataset(shard, shard, ignore, Corrupt)
    else:
        h5common.read_every_dataset(path, path, ignore, Corrupt)
    _verify_values(path, result)
