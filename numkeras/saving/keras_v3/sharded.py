"""Sharded weights as Keras 3 writes them: ``x.weights.json`` + ``x_00000.weights.h5``, ...

The manifest is ``{"metadata": {"total_size": <bytes>}, "weight_map": {group: shard}}``
where ``group`` is an HDF5 group name such as ``/layers/dense/vars`` and ``shard`` a file
name (or a list of them when a group's variables span shards). Shards are filled greedily
in walk order: a variable that would push the current shard past ``max_shard_size`` (in GB,
like Keras 3) starts a new one; a single variable larger than the limit is an error.

>>> plan_shards([("layers/a", [4, 4]), ("layers/b", [8])], max_bytes=10)
[[('layers/a', 0, 0), ('layers/a', 1, 0)], [('layers/b', 0, 1)]]
"""

from __future__ import annotations

import os

from numkeras.saving.keras_v3.archive import JSON_CAP, parse_json
from numkeras.saving.keras_v3.errors import KerasFileError


def base_name(manifest_path: str) -> str:
    """``x.weights.json`` -> ``x`` (shards are ``x_00000.weights.h5``, ...).

    >>> base_name("/tmp/model.weights.json")
    'model'
    """
    stem = os.path.splitext(os.path.basename(manifest_path))[0]
    return stem.replace(".weights", "")


def shard_name(base: str, index: int) -> str:
    return f"{base}_{index:05d}.weights.h5"


def shard_pattern(base: str) -> str:
    """A glob pattern (escaped) matching every shard name of ``base``.

    >>> shard_pattern("m[1]")
    'm[[]1]_*.weights.h5'
    """
    import glob

    return glob.escape(base) + "_*.weights.h5"


def plan_shards(groups: list[tuple[str, list[int]]], max_bytes: float) -> list[list]:
    """Assign each variable ``(group, key, shard)`` greedily; one list per shard.

    ``groups`` is ``[(path, [nbytes of each variable]), ...]`` in walk order.
    """
    shards: list[list] = [[]]
    current = 0.0
    for path, sizes in groups:
        for key, size in enumerate(sizes):
            if size > max_bytes:
                raise ValueError(
                    f"The size of variable {key} of '{path or '/'}' is {size} bytes, which "
                    f"exceeds the maximum shard size of {max_bytes:.0f} bytes. Increase "
                    "`max_shard_size` (in GB).")
            current += size
            if current > max_bytes:
                shards.append([])
                current = size
            shards[-1].append((path, key, len(shards) - 1))
    return shards


def read_manifest(path: str) -> dict:
    """The parsed, validated manifest: every shard a plain file name beside it, present."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise FileNotFoundError(f"No sharded weights manifest at {path!r}: {exc}") from None
    if size > JSON_CAP:
        raise KerasFileError(f"{path}: manifest of {size} bytes exceeds the {JSON_CAP}-byte "
                             "limit.")
    with open(path, "rb") as f:
        manifest = parse_json(f.read(), path)
    weight_map = manifest.get("weight_map") if isinstance(manifest, dict) else None
    if not isinstance(weight_map, dict):
        raise KerasFileError(f"{path}: not a Keras sharded-weights manifest (expected an object "
                             "with a 'weight_map' object).")
    folder = os.path.dirname(os.path.abspath(path))
    for group, files in weight_map.items():
        for name in files if isinstance(files, list) else [files]:
            _check_shard(path, folder, group, name)
    return manifest


def _check_shard(path: str, folder: str, group, name) -> None:
    if not isinstance(name, str) or not name:
        raise KerasFileError(f"{path}: weight_map entry {group!r} names {name!r}, not a file "
                             "name.")
    if (os.path.basename(name) != name or "\\" in name or name in (".", "..")
            or os.path.isabs(name)):
        raise KerasFileError(f"{path}: weight_map entry {group!r} points to {name!r}, outside "
                             "the manifest's folder; refusing to read it.")
    if not os.path.isfile(os.path.join(folder, name)):
        raise KerasFileError(f"{path}: shard {name!r} (for {group!r}) is missing from "
                             f"{folder}.")


def shard_files(manifest: dict) -> list[str]:
    """The distinct shard file names of a manifest, in order of first mention."""
    out: list[str] = []
    for files in manifest["weight_map"].values():
        for name in files if isinstance(files, list) else [files]:
            if name not in out:
                out.append(name)
    return out
