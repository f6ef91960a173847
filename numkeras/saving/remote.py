"""Weights on remote storage (``gs://``, ``s3://``, ``memory://``, any fsspec URL).

h5py and the checkpoint readers need local files, so every remote operation is staged
through a private temporary folder that is removed afterwards:

- **loading** downloads *all* files of the format first (a TF checkpoint's ``.index``, each
  of its ``.data-*`` shards and the ``checkpoint`` state file; a ``.weights.json`` manifest
  and every shard it names; a SavedModel's ``variables/``), then loads the local copy;
- **saving** writes locally with the ordinary (atomic) writers, then uploads in commit
  order: data files and shards, then the ``.index``/manifest, then the ``checkpoint`` state
  file. Replacing a multi-file save, the previous files are first copied to hidden backups
  and its index/manifest moved there; a failed upload copies the previous version back, so
  it is never lost and never mixed with new files. Single-file formats are one upload,
  which object stores (GCS, S3) make visible all at once.

fsspec is an optional dependency (``pip install 'numkeras[remote]'``, plus ``gcsfs`` for
``gs://`` or ``s3fs`` for ``s3://``) imported only when a URL is used.

>>> is_remote("gs://bucket/w.h5"), is_remote("/tmp/w.h5"), is_remote("file:///tmp/w.h5")
(True, False, False)
>>> commit_order(["ckpt.index", "checkpoint", "ckpt.data-00000-of-00001"])
['ckpt.data-00000-of-00001', 'ckpt.index', 'checkpoint']
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import tempfile
from collections.abc import Iterator

from numkeras.saving import formats
from numkeras.saving.formats import INDEX_SUFFIX

__all__ = ["is_remote", "staged_read", "staged_write", "commit_order", "save_weights",
           "load_weights", "save_model", "load_model", "filesystem", "list_files"]

_INSTALL_HINT = ("Remote paths need fsspec: pip install 'numkeras[remote]' (plus gcsfs for "
                 "gs://, s3fs for s3://).")
_STATE = "checkpoint"
#: Files naming the rest of a save (a checkpoint index, a shard manifest): uploaded after it.
_MARKERS = (INDEX_SUFFIX,) + formats.get("weights.json").suffixes


def is_remote(path) -> bool:
    """Whether ``path`` is a URL with a scheme other than ``file://`` (no import needed)."""
    if not isinstance(path, str) or "://" not in path:
        return False
    scheme = path.split("://", 1)[0]
    return scheme.replace("+", "").replace("-", "").replace(".", "").isalnum() and \
        scheme.lower() not in ("file", "local")


def filesystem(url: str):
    """``(fsspec filesystem, path inside it)`` for ``url``; ImportError with an install hint."""
    try:
        import fsspec
    except ImportError as exc:
        raise ImportError(f"Cannot use {url!r}: {_INSTALL_HINT}") from exc
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec knows the scheme but its driver is missing
        raise ImportError(f"Cannot use {url!r}: fsspec needs a driver for this scheme "
                          f"({str(exc).rstrip('.')}). Install it, e.g. pip install gcsfs "
                          "(gs://) or s3fs (s3://).") from exc
    except ValueError as exc:  # unknown protocol
        raise ValueError(f"Cannot use {url!r}: {exc}") from exc


def _unstrip(fs, path: str) -> str:
    """The URL of an fsspec path (for messages)."""
    return fs.unstrip_protocol(path) if hasattr(fs, "unstrip_protocol") else path


# -- which files make up a saved object -------------------------------------------------------

def commit_order(names: list[str]) -> list[str]:
    """File names in upload order: payload, then index/manifest, then ``checkpoint``."""
    def rank(name: str) -> int:
        base = posixpath.basename(name)
        if base == _STATE:
            return 3
        if base.endswith(_MARKERS):
            return 2
        return 1
    return sorted(names, key=lambda n: (rank(n), n))


def _checkpoint_files(fs, prefix: str, fetch) -> list[str]:
    """Fetch ``prefix.index`` (via ``fetch``), and return the data files it names."""
    from numkeras.saving.tf_checkpoint.bundle import BundleReader, data_filename

    local_index = fetch(prefix + INDEX_SUFFIX)
    reader = BundleReader(local_index[: -len(INDEX_SUFFIX)])
    return [data_filename(prefix, i, reader.num_shards) for i in range(reader.num_shards)]


def _latest_in_state(fs, folder: str, fetch) -> str | None:
    """The prefix the remote ``<folder>/checkpoint`` names (relative names stay in ``folder``)."""
    from numkeras.saving.tf_checkpoint.state import parse_checkpoint_state

    local = fetch(posixpath.join(folder, _STATE))
    with open(local, "rb") as f:
        state = parse_checkpoint_state(f.read(), filename=_unstrip(fs, folder + "/checkpoint"))
    name = state.model_checkpoint_path
    if ".." in name.replace("\\", "/").split("/"):
        raise ValueError(f"{_unstrip(fs, folder + '/checkpoint')} names {name!r}, a path with "
                         "'..'; refusing to follow it outside the folder.")
    return posixpath.join(folder, name if not posixpath.isabs(name) else
                          posixpath.basename(name))


def _manifest_shards(manifest_path: str) -> list[str]:
    """Plain shard names listed by a downloaded manifest (anything else is refused)."""
    with open(manifest_path, "rb") as f:
        manifest = json.loads(f.read())
    names: list[str] = []
    for files in (manifest.get("weight_map") or {}).values():
        for name in files if isinstance(files, list) else [files]:
            if not isinstance(name, str) or posixpath.basename(name) != name or \
                    name in ("", ".", ".."):
                raise ValueError(f"{manifest_path}: shard {name!r} is not a plain file name; "
                                 "refusing to download it.")
            if name not in names:
                names.append(name)
    return names


class _Downloader:
    """Copies remote files under ``root`` into ``local_root``, keeping relative paths."""

    def __init__(self, fs, root: str, local_root: str):
        self.fs, self.root, self.local_root = fs, root, local_root

    def __call__(self, remote: str) -> str:
        rel = posixpath.relpath(posixpath.normpath(remote), posixpath.normpath(self.root))
        if rel == ".." or rel.startswith("../") or posixpath.isabs(rel):
            raise ValueError(f"{_unstrip(self.fs, remote)} lies outside "
                             f"{_unstrip(self.fs, self.root)}; refusing to download a file a "
                             "checkpoint names outside its folder.")
        local = os.path.join(self.local_root, *rel.split("/"))
        staging = os.path.realpath(self.local_root)
        if not os.path.realpath(local).startswith(staging + os.sep):
            raise ValueError(f"{_unstrip(self.fs, remote)} would be written outside the "
                             "staging folder; refusing it.")
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            self.fs.get_file(remote, local)
        except FileNotFoundError:
            raise FileNotFoundError(f"{_unstrip(self.fs, remote)} does not exist (needed to "
                                    "read this checkpoint/weights file).") from None
        return local


def _download(fs, path: str, local_root: str) -> str:
    """Download everything ``path`` needs; return the local path to hand to the loaders."""
    path = path.rstrip("/")
    parent = posixpath.dirname(path)
    fetch = _Downloader(fs, parent, local_root)
    local = os.path.join(local_root, posixpath.basename(path))
    if formats.get("weights.json").matches(path):
        for shard in _manifest_shards(fetch(path)):
            fetch(posixpath.join(parent, shard))
        return local
    if fs.exists(path + INDEX_SUFFIX):
        _fetch_checkpoint(fs, path, fetch)
        return local
    if fs.isdir(path):
        return _download_folder(fs, path, local_root)
    if fs.isfile(path):
        fetch(path)
        return local
    raise FileNotFoundError(
        f"No weights found at {_unstrip(fs, path)}: looked for that file, a TF checkpoint "
        f"index {_unstrip(fs, path + '.index')} and a folder of that name. Pass an .h5/.keras/"
        ".weights.h5/.weights.json URL, a checkpoint prefix (without .index) or a "
        "SavedModel/checkpoint folder.")


def _fetch_checkpoint(fs, prefix: str, fetch) -> None:
    for data in _checkpoint_files(fs, prefix, fetch):
        fetch(data)
    state = posixpath.join(posixpath.dirname(prefix), _STATE)
    if fs.isfile(state):
        fetch(state)


def _download_folder(fs, path: str, local_root: str) -> str:
    """A SavedModel folder (its ``variables/``) or a folder with a ``checkpoint`` file."""
    fetch = _Downloader(fs, posixpath.dirname(path), local_root)
    local = os.path.join(local_root, posixpath.basename(path))
    variables = posixpath.join(path, "variables", "variables")
    if fs.exists(variables + INDEX_SUFFIX):
        for data in _checkpoint_files(fs, variables, fetch):
            fetch(data)
        return local
    if fs.isfile(posixpath.join(path, _STATE)):
        latest = _latest_in_state(fs, path, fetch)
        _fetch_checkpoint(fs, latest, fetch)
        return local
    raise FileNotFoundError(
        f"{_unstrip(fs, path)} is a folder without a 'checkpoint' state file or "
        "variables/variables.index (SavedModel); pass a weights file or checkpoint prefix "
        "inside it.")


@contextlib.contextmanager
def staged_read(url: str) -> Iterator[str]:
    """Download everything ``url`` needs into a temporary folder; yield the local path."""
    fs, path = filesystem(url)
    with tempfile.TemporaryDirectory(prefix="numkeras-remote-") as tmp:
        yield _download(fs, path, tmp)


# -- upload -----------------------------------------------------------------------------------

def list_files(root: str) -> list[str]:
    """Every file under ``root`` as a ``/``-separated relative path."""
    out = []
    for folder, _, files in os.walk(root):
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), root)
            out.append(rel.replace(os.sep, "/"))
    return out


def _backup(target: str) -> str:
    return posixpath.join(posixpath.dirname(target), "." + posixpath.basename(target) + ".prev")


def _upload(fs, local_root: str, remote_parent: str) -> list[str]:
    """Upload the files of ``local_root`` into ``remote_parent`` in commit order.

    Replacing a multi-file save (an index or manifest already there), the previous files
    are first copied to hidden backups (``.<name>.prev``) and its marker moved there; if an
    upload fails, the previous version is copied back, so a failed save never loses it.
    """
    names = commit_order(list_files(local_root))
    markers = [n for n in names if n.endswith(_MARKERS)]
    payload = [n for n in names if n not in markers and posixpath.basename(n) != _STATE]

    def target(name: str) -> str:
        return posixpath.join(remote_parent, name)

    kept: list[tuple[str, str]] = []
    if any(fs.exists(target(m)) for m in markers):
        for name in payload + markers:  # data first, the marker (moved) last
            if fs.exists(target(name)):
                fs.copy(target(name), _backup(target(name)))
                kept.append((target(name), _backup(target(name))))
        for name in markers:  # an old index must not describe the new data during the upload
            if fs.exists(target(name)):
                fs.rm_file(target(name))
    with contextlib.suppress(Exception):  # object stores have no folders; memory/local do
        fs.makedirs(remote_parent, exist_ok=True)
    try:
        for name in names:
            with contextlib.suppress(Exception):
                fs.makedirs(posixpath.dirname(target(name)), exist_ok=True)
            fs.put_file(os.path.join(local_root, *name.split("/")), target(name))
    except BaseException:
        for original, backup in kept:  # put the previous version back
            with contextlib.suppress(Exception):
                fs.copy(backup, original)
        _drop(fs, kept)
        raise
    _drop(fs, kept)
    return [_unstrip(fs, target(n)) for n in names]


def _drop(fs, kept: list[tuple[str, str]]) -> None:
    for _, backup in reversed(kept):  # the marker's backup first
        with contextlib.suppress(Exception):
            fs.rm_file(backup)


@contextlib.contextmanager
def staged_write(url: str) -> Iterator[str]:
    """Yield a local path to write ``url``'s files to; upload them when the body succeeds.

    If the body raises, nothing is uploaded. The temporary folder is always removed.
    """
    fs, path = filesystem(url)
    path = path.rstrip("/")
    with tempfile.TemporaryDirectory(prefix="numkeras-remote-") as tmp:
        yield os.path.join(tmp, posixpath.basename(path))
        _upload(fs, tmp, posixpath.dirname(path))


def _exists_for_overwrite(url: str, fmt: str) -> bool:
    fs, path = filesystem(url)
    return fs.exists(formats.by_family(fmt)[0].marker(path) if fmt == "tf" else path)


@contextlib.contextmanager
def _mention(url: str) -> Iterator[None]:
    """Add a note to errors raised on the staged copy: they concern ``url``."""
    try:
        yield
    except Exception as exc:
        if hasattr(exc, "add_note"):
            exc.add_note(f"(while reading a temporary local copy of {url})")
        raise


# -- the saving API on URLs -------------------------------------------------------------------

def save_weights(model, url: str, overwrite: bool = True, save_format=None, options=None,
                 **kwargs):
    """``model.save_weights(url)``: write locally in the chosen format, then upload."""
    from numkeras import saving
    from numkeras.train import _writer

    fmt = saving.save_format_for(url, save_format)
    if not overwrite and _exists_for_overwrite(url, fmt):
        raise FileExistsError(f"{url} already exists and overwrite=False. Pass overwrite=True, "
                              "or choose another path.")
    with staged_write(url) as local:
        saving.save_weights(model, local, overwrite=True, save_format=save_format,
                            options=options, **kwargs)
        _writer.sync(model)  # an async TF write must finish before its files are uploaded


def load_weights(model, url: str, skip_mismatch: bool = False, by_name: bool = False,
                 options=None):
    """``model.load_weights(url)``: download every file of the format, then load."""
    from numkeras import saving

    with staged_read(url) as local, _mention(url):
        result = saving.load_weights(model, local, skip_mismatch=skip_mismatch,
                                     by_name=by_name, options=options)
    if isinstance(getattr(result, "filepath", None), str):
        result.filepath = url  # a LoadReport names the URL, not the deleted temporary copy
    return result


def save_model(model, url: str, overwrite: bool = True, save_format=None, **kwargs):
    """``model.save(url)`` (``.keras`` or full-model ``.h5``), written locally then uploaded."""
    from numkeras import saving

    if not overwrite and _exists_for_overwrite(url, "file"):
        raise FileExistsError(f"{url} already exists and overwrite=False. Pass overwrite=True, "
                              "or choose another path.")
    with staged_write(url) as local:
        saving.save_model(model, local, overwrite=True, save_format=save_format, **kwargs)


def load_model(url: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """``numkeras.models.load_model`` for a URL: download, then rebuild (no code runs)."""
    from numkeras.saving.model_loading import load_model as load_local

    with staged_read(url) as local, _mention(url):
        return load_local(local, custom_objects=custom_objects, compile=compile,
                          safe_mode=safe_mode)
