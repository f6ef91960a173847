"""Writing ``.weights.h5``, sharded ``.weights.json`` and ``.keras`` archives, atomically.

``.weights.h5`` holds the ``vars`` tree at Keras 3's paths and, where tf-keras's walk differs,
at tf-keras's paths too; every object gets a ``vars`` group (tf-keras needs the root one)
with a ``name`` attribute (Keras 3 writes it). Sharded weights follow Keras 3's layout and
are written shard by shard, the manifest last.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings

import numpy as np

from numkeras.saving import formats, h5raw_write, h5write
from numkeras.saving.keras_v3 import archive, sharded
from numkeras.saving.keras_v3.h5io import import_h5py, write_dataset, write_group
from numkeras.saving.keras_v3.walk import KERAS3, union_entries, walk
from numkeras.saving.paths import atomic_write_path, atomic_write_paths

KERAS_VERSION = "3.15.1"


def _name(obj) -> str | None:
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) else None


def write_vars(h5file, entries) -> None:
    """Write each entry's ``vars`` group: what its ``save_own_variables`` stored (variables are
    written straight from their buffers, no copy)."""
    make = h5write.Creator()  # h5py's low-level API: many small layers save fast
    for entry in entries:
        gid = make.group(h5file.id, f"{entry.path}/vars" if entry.path else "vars")
        name = _name(entry.obj)
        if name is not None:
            make.attribute(gid, "name", name)  # Keras 3 writes it; tf-keras ignores it
        for key, value in zip(entry.keys, entry.variables):
            value = np.asarray(value)
            if value.dtype.name == "bfloat16":  # Keras 3's raw layout and dtype attribute
                write_dataset(import_h5py().Group(gid), key, value)
            else:
                make.dataset(gid, key, value)


def vars_tree(entries) -> h5raw_write.Group | None:
    """What :func:`write_vars` writes, as a tree for :mod:`~numkeras.saving.h5raw_write`
    (``None`` when that encoder does not cover it, e.g. a ``bfloat16`` variable)."""
    root = h5raw_write.Group()
    try:
        for entry in entries:
            group = root.group(f"{entry.path}/vars" if entry.path else "vars")
            name = _name(entry.obj)
            if name is not None:
                group.attribute("name", name)
            for key, value in zip(entry.keys, entry.variables):
                group.dataset(key, value)  # (np.asarray of a Variable: its buffer)
    except h5raw_write.Unsupported:
        return None
    return root


def save_h5(model, filepath: str) -> None:
    """``model``'s weights as a ``.weights.h5`` file (atomic)."""
    if not formats.get("weights.h5").matches(filepath):
        raise ValueError("The filename must end in `.weights.h5`. "
                         f"Received: filepath={filepath}")
    import_h5py()  # a clear ImportError before anything is written
    entries = union_entries(model)
    tree = vars_tree(entries)
    with atomic_write_path(filepath) as tmp:  # a full disk is an OSError (h5write)
        if tree is not None:  # the fast encoder; h5py for what it does not cover
            h5raw_write.write_file(tmp, tree)
        else:
            h5write.write_file(tmp, lambda f: write_vars(f, entries), reserved(entries))


def reserved(entries, only=None) -> int:
    """An upper bound of the size of the file of ``entries`` (``h5write``); ``only``:
    the ``(path, key)`` pairs of the variables written (default: all)."""
    data = objects = text = 0
    for entry in entries:
        objects += entry.path.count("/") + 2
        text += len(entry.path) + len(_name(entry.obj) or "") + 16
        for key, value in enumerate(entry.variables):
            if only is None or (entry.path, key) in only:
                data += np.asarray(value).nbytes
                objects += 1
                text += 24
    return h5write.reserve(data, objects, text)


def h5_bytes(model) -> bytes | bytearray:
    """The ``model.weights.h5`` member of a ``.keras`` archive, built in memory."""
    entries = union_entries(model)
    tree = vars_tree(entries)
    if tree is not None:
        return h5raw_write.to_bytes(tree)
    h5py = import_h5py()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_vars(f, entries)
    return buf.getvalue()


def h5_member(model, entries=None) -> list:
    """The ``model.weights.h5`` member of a ``.keras`` archive as consecutive buffers: the
    encoder's metadata and the variables' own memory (no copy), or, where the encoder does
    not cover the model, the bytes h5py builds (``entries``: ``union_entries(model)``)."""
    entries = union_entries(model) if entries is None else entries
    tree = vars_tree(entries)
    if tree is None:
        return [h5_bytes(model)]
    superblock, image, chunks, size = h5raw_write.encode(tree)
    pieces = [superblock, image]
    at = len(superblock) + len(image)
    for start, view in chunks:
        if start > at:
            pieces.append(bytes(start - at))  # alignment
        pieces.append(view)
        at = start + len(view)
    if size > at:
        pieces.append(bytes(size - at))
    return pieces


def save_sharded(model, filepath: str, max_shard_size: float = 5) -> dict:
    """Keras 3's sharded layout: shards ``<base>_00000.weights.h5``... then the manifest."""
    if formats.get("weights.h5").matches(filepath):
        new = filepath[:-3] + ".json"
        warnings.warn(f"Saving sharded weights requires `*.json` as the extension. The original "
                      f"path: {filepath} will be renamed to {new}.", stacklevel=3)
        filepath = new
    if not formats.get("weights.json").matches(filepath):
        raise ValueError("The filename must end in `.weights.json` when `max_shard_size` is "
                         f"specified. Received: filepath={filepath}")
    entries = walk(model, KERAS3)
    max_bytes = float(max_shard_size) * 1024 ** 3
    plan = sharded.plan_shards([(e.path, [np.asarray(v).nbytes for v in e.variables])
                                for e in entries], max_bytes)
    base, folder = sharded.base_name(filepath), os.path.dirname(os.path.abspath(filepath))
    names = [sharded.shard_name(base, index) for index in range(len(plan))]
    # Every shard and the manifest are complete on disk before any is renamed; the manifest
    # is renamed last (see atomic_write_paths: a kill during the renames leaves no manifest,
    # never an old manifest naming a mix of old and new shards).
    with atomic_write_paths([os.path.join(folder, n) for n in names] + [filepath],
                            sharded.shard_pattern(base)) as tmps:
        weight_map = _write_shards(entries, plan, names, tmps[:-1])
        total = float(sum(np.asarray(v).nbytes for e in entries for v in e.variables))
        manifest = {"metadata": {"total_size": total}, "weight_map": weight_map}
        with open(tmps[-1], "w", encoding="utf-8") as f:
            f.write(json.dumps(manifest, indent=4))
    return manifest


def _make_shard(entries: list, plan: list) -> dict:
    """For each entry path, the shard its (possibly empty) named group is created in."""
    where, current = {}, 0
    first_var = {(path, key): shard for shard_list in plan for path, key, shard in shard_list}
    for entry in entries:
        where[entry.path] = current
        if entry.variables:
            current = first_var[(entry.path, len(entry.variables) - 1)]
    return where


def _write_shards(entries: list, plan: list, names: list[str], targets: list[str]) -> dict:
    """Write shard ``i`` (named ``names[i]`` in the manifest) to the file ``targets[i]``."""
    import_h5py()
    make_shard = _make_shard(entries, plan)
    by_path = {e.path: e for e in entries}
    weight_map: dict = {}
    for index, assigned in enumerate(plan):
        name = names[index]

        def build(f, index=index, assigned=assigned, name=name):
            groups = {}
            for entry in entries:
                if make_shard[entry.path] == index:
                    groups[entry.path] = write_group(f, entry.path, _name(entry.obj), [])
            for path, key, _ in assigned:
                group = groups.get(path)
                if group is None:
                    group = groups[path] = f.create_group(f"{path}/vars" if path else "vars")
                entry = by_path[path]
                write_dataset(group, entry.keys[key], np.asarray(entry.variables[key]))
                _record(weight_map, group.name, name)
        tree = _shard_tree(entries, make_shard, by_path, index, assigned)
        if tree is not None:  # the fast encoder; h5py for what it does not cover
            for path, _, _ in assigned:
                _record(weight_map, "/" + (f"{path}/vars" if path else "vars"), name)
            h5raw_write.write_file(targets[index], tree)
            continue
        size = reserved(entries, {(path, key) for path, key, _ in assigned})
        h5write.write_file(targets[index], build, size)  # a full disk is an OSError
    return weight_map


def _shard_tree(entries, make_shard: dict, by_path: dict, index: int,
                assigned: list) -> h5raw_write.Group | None:
    """What ``_write_shards``'s h5py build writes in shard ``index``, as a tree for
    :mod:`~numkeras.saving.h5raw_write` (``None`` where it does not cover it)."""
    root = h5raw_write.Group()
    groups = {}
    try:
        for entry in entries:
            if make_shard[entry.path] == index:
                group = groups[entry.path] = root.group(
                    f"{entry.path}/vars" if entry.path else "vars")
                name = _name(entry.obj)
                if name is not None:
                    group.attribute("name", name)
        for path, key, _ in assigned:
            group = groups.get(path)
            if group is None:
                group = groups[path] = root.group(f"{path}/vars" if path else "vars")
            entry = by_path[path]
            group.dataset(entry.keys[key], entry.variables[key])
    except h5raw_write.Unsupported:
        return None
    return root


def _record(weight_map: dict, group: str, shard: str) -> None:
    if group not in weight_map:
        weight_map[group] = shard
        return
    if not isinstance(weight_map[group], list):
        weight_map[group] = [weight_map[group]]
    if shard not in weight_map[group]:
        weight_map[group].append(shard)


def save_archive(filepath: str, config: dict, weights: bytes | bytearray | list,
                 extra: dict[str, bytes] | None = None) -> None:
    """A ``.keras`` zip: metadata.json, config.json, model.weights.h5 (stored, atomic), then
    ``extra`` members (``assets/...``). ``weights``: the member's bytes, or its buffers in
    order (:func:`h5_member`), written from those buffers (:mod:`~numkeras.saving.zipio`)."""
    from numkeras import __version__
    from numkeras.saving.zipio import StoredZipWriter

    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "numkeras_version": __version__}
    pieces = [weights] if isinstance(weights, (bytes, bytearray, memoryview)) else weights
    with atomic_write_path(filepath) as tmp:
        fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        try:
            out = StoredZipWriter(fd)
            out.add(archive.METADATA, [json.dumps(metadata).encode("utf-8")])
            out.add(archive.CONFIG, [json.dumps(config).encode("utf-8")])
            out.add(archive.WEIGHTS, pieces)
            for name, data in (extra or {}).items():
                out.add(name, [data])
            out.close()
        finally:
            os.close(fd)
