"""Where a Keras-v3 weights file's HDF5 data comes from: a file, an archive member, or shards.

Each source indexes its ``vars`` groups without reading values (:meth:`Source.index`) and
later reads selected datasets (:meth:`Source.read`), opening one HDF5 file at a time.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
import zlib
from collections import defaultdict

import numpy as np

from numkeras.saving import formats, h5common, h5raw_read, h5scan
from numkeras.saving.keras_v3 import archive, sharded
from numkeras.saving.keras_v3.errors import KerasFileError
from numkeras.saving.keras_v3.h5io import VarsIndex, read_dataset
from numkeras.saving.paths import lock_folder, unlock_folder


class Source:
    """Base: ``_open(i)`` is a context manager giving the i-th open ``h5py.File``."""

    def __init__(self, filename: str, count: int = 1):
        self.filename = filename
        self.count = count

    def _open(self, i: int):
        raise NotImplementedError

    def _label(self, i: int) -> str:
        return self.filename

    def index(self) -> VarsIndex:
        index = VarsIndex(self.filename)
        for i in range(self.count):
            with self._open(i) as f, _damage_is_an_error(self._label(i)):
                VarsIndex.from_h5(f, self._label(i), source=i, into=index,
                                  tree=self._tree(f))
        return index

    def _tree(self, f):
        """The open HDF5 file ``f`` as :mod:`~numkeras.saving.h5raw_read` reads it."""
        return h5raw_read.tree_of_h5(f)

    def _direct(self, f) -> tuple[int, int] | None:
        """``(fd, start)``: the open HDF5 file ``f``'s bytes lie in ``fd`` from ``start`` on
        (read with ``os.preadv``); ``None``: read through h5py."""
        if f.driver == "sec2" and h5scan.HAVE_PREADV:
            return f.id.get_vfd_handle(), 0
        return None

    def _size(self, i: int) -> int | None:
        """Bytes of the i-th HDF5 file, to check data lies inside it (None: already verified)."""
        return os.path.getsize(self._label(i))

    def assign(self, pairs: list, cast) -> None:
        """Load each ``(variable, DatasetRef)`` into the variable's own buffer.

        First every dataset is checked without reading it (contiguous, unfiltered data of a
        directly convertible dtype that lies inside its file) or, if it cannot be read
        directly, read and converted with ``cast(value, variable)`` now. Only then is each
        variable filled, straight from the file: no second copy of the model in memory, and
        nothing is assigned unless every value is known to be readable.
        """
        by_source = defaultdict(list)
        for var, ref in pairs:
            by_source[ref.source].append((var, ref))
        staged, exact = {}, set()
        for i in sorted(by_source):
            with self._open(i) as f, _damage_is_an_error(self._label(i)):
                size = self._size(i)
                for var, ref in by_source[i]:
                    if _exact(ref, var):  # contiguous, of the variable's dtype (h5scan)
                        exact.add((id(var), id(ref)))
                        if size is not None and ref.offset + var.value.nbytes > size:
                            raise KerasFileError(f"{self._label(i)}: the data of {ref.name!r} "
                                                 "lies past the end of the file: the file is "
                                                 "truncated.")
                    elif not _readable_directly(f, ref, var, size, self._label(i)):
                        staged[id(var)] = cast(read_dataset(f, ref), var)
        for i in sorted(by_source):
            with self._open(i) as f, _damage_is_an_error(self._label(i)):
                # contiguous data goes straight into the buffers with a few os.preadv calls
                fd, start = self._direct(f) or (None, 0)
                ranges, filled = [], []
                for var, ref in by_source[i]:
                    if id(var) in staged:
                        var.assign(staged.pop(id(var)))
                    elif var.size and fd is not None and (id(var), id(ref)) in exact:
                        ranges.append((start + ref.offset, h5scan.bytes_of(var.value)))
                        filled.append(var)
                    elif var.size:
                        f[ref.name].read_direct(var.value)
                        var.mark_changed()
                h5scan.read_into(fd, ranges, self._label(i))
                for var in filled:
                    var.mark_changed()

    def read(self, refs: list) -> dict:
        """``{ref: array}`` for every DatasetRef in ``refs``, one file open at a time."""
        by_source = defaultdict(list)
        for ref in refs:
            by_source[ref.source].append(ref)
        values = {}
        for i in sorted(by_source):
            with self._open(i) as f, _damage_is_an_error(self._label(i)):
                for ref in by_source[i]:
                    values[ref] = read_dataset(f, ref)
        return values


def _exact(ref, var) -> bool:
    """Whether ``ref`` is contiguous data (its offset known) of exactly ``var``'s dtype and
    shape: its bytes are the variable's bytes."""
    return ref.offset is not None and not ref.bfloat16 and \
        np.dtype(ref.dtype) == np.dtype(var.dtype) and tuple(ref.shape) == tuple(var.shape)


def _readable_directly(f, ref, var, size: int | None, label: str) -> bool:
    """Whether ``ref`` can be read straight into ``var`` (raises if its data is truncated)."""
    dtype = np.dtype(var.dtype)
    if ref.bfloat16 or dtype.name == "bfloat16" or tuple(ref.shape) != tuple(var.shape):
        return False
    src = np.dtype(ref.dtype)
    if not (src == dtype or (src.kind == "f" and dtype.kind == "f")):
        return False
    dset = f[ref.name]
    if not h5common.plain_storage(dset):
        return False
    if h5common.data_past_end(dset, size):
        raise KerasFileError(f"{label}: the data of {ref.name!r} lies past the end of the "
                             "file: the file is truncated.")
    return True


def _damage_is_an_error(label: str):
    """h5py reports damaged metadata/data as RuntimeError, KeyError, OSError ... without the
    file name: make those a :class:`KerasFileError` naming the file."""
    return h5common.damage_is_an_error(
        lambda exc: KerasFileError(f"{label} is damaged or not a Keras weights file: "
                                   f"{type(exc).__name__}: {exc}"), keep=(KerasFileError,))


def _h5_open(target, label: str):
    try:
        return h5common.open_file(target, label, KerasFileError)
    except KerasFileError:
        raise
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise KerasFileError(f"{label} is not a readable HDF5 file: {exc}") from None


class H5Source(Source):
    """A ``.weights.h5`` file on disk."""

    def __init__(self, filename: str):
        if not os.path.isfile(filename):
            raise FileNotFoundError(f"No weights file found at {filename!r}.")
        super().__init__(filename)

    def _open(self, i: int):
        return _h5_open(self.filename, self.filename)


class ShardedSource(Source):
    """A ``.weights.json`` manifest and its shard files (all beside it, all present)."""

    def __init__(self, filename: str):
        from numkeras.saving.crashsafe import recover

        self.folder = os.path.dirname(os.path.abspath(filename))
        # a save replacing this manifest and its shards was killed: put the previous back
        recover(filename, sharded.shard_pattern(sharded.base_name(filename)))
        # Shared lock on the folder until close(): a save committing new shards and a new
        # manifest there waits, so this load never mixes shards of two saves.
        self._lock = lock_folder(self.folder, shared=True)
        try:
            self.manifest = sharded.read_manifest(filename)
            self.files = sharded.shard_files(self.manifest)
        except BaseException:
            self.close()
            raise
        super().__init__(filename, len(self.files))

    def close(self) -> None:
        unlock_folder(self._lock)
        self._lock = None

    def _label(self, i: int) -> str:
        return os.path.join(self.folder, self.files[i])

    def _open(self, i: int):
        return _h5_open(self._label(i), self._label(i))

    def index(self) -> VarsIndex:
        index = super().index()
        for group in self.manifest["weight_map"]:
            owner = str(group).strip("/")
            owner = owner[:-4].rstrip("/") if owner.endswith("vars") else owner
            if owner not in index.groups:
                raise KerasFileError(f"{self.filename}: weight_map lists {group!r}, but no shard "
                                     "holds that group.")
        return index


_ZIP_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error,
               OSError, ValueError, RuntimeError, OverflowError)


class ArchiveSource(Source):
    """``model.weights.h5`` inside a ``.keras`` zip, read in place (never extracted)."""

    def __init__(self, filename: str):
        self._stack = contextlib.ExitStack()
        try:
            self._raw = self._stack.enter_context(open(filename, "rb"))
            try:
                self.zf = self._stack.enter_context(zipfile.ZipFile(self._raw))
            except zipfile.BadZipFile as exc:
                raise KerasFileError(f"{filename} is not a valid .keras (zip) file: {exc}") \
                    from None
            archive.check_archive(self.zf, filename)
            names = set(self.zf.namelist())
            if archive.WEIGHTS not in names:
                hint = (" It holds model.weights.npz (pickled NumPy), which numkeras does not "
                        "read." if "model.weights.npz" in names else "")
                raise KerasFileError(f"{filename}: the archive has no {archive.WEIGHTS!r} "
                                     f"entry.{hint}")
            archive.verify_member(self.zf, self._raw, archive.WEIGHTS, filename)
            self.config = None
            if archive.CONFIG in names:
                self.config = archive.parse_json(
                    archive.read_member(self.zf, archive.CONFIG, filename),
                    f"{filename}: {archive.CONFIG}")
        except BaseException as exc:
            self._stack.close()
            if isinstance(exc, (KerasFileError, FileNotFoundError)) or \
                    not isinstance(exc, _ZIP_DAMAGE):
                raise
            # a damaged central directory or local header (zipfile raises many types)
            raise KerasFileError(f"{filename} is not a valid .keras (zip) file: "
                                 f"{type(exc).__name__}: {exc}") from exc
        super().__init__(filename)

    def _label(self, i: int) -> str:
        return f"{self.filename}: {archive.WEIGHTS}"

    def _size(self, i: int) -> None:
        return None  # the member's CRC-32 was checked when the archive was opened

    @contextlib.contextmanager
    def _open(self, i: int):
        view = archive.open_member(self.zf, self._raw, archive.WEIGHTS, self.filename)
        try:
            with _h5_open(view, self._label(i)) as f:
                self._view = view
                yield f
        finally:
            self._view = None
            view.close()

    def _member(self) -> tuple[int, int, int] | None:
        """``(fd, start, size)`` of the open member when it is stored uncompressed in the
        archive file (its CRC-32 was checked when the archive was opened)."""
        member = getattr(getattr(self, "_view", None), "raw", None)
        if not isinstance(member, archive.MemberView):
            return None
        try:
            fd = self._raw.fileno()
        except (OSError, ValueError, AttributeError):
            return None
        return fd, member.start, self.zf.getinfo(archive.WEIGHTS).file_size

    def _tree(self, f):
        member = self._member() if hasattr(os, "pread") else None
        if member is None:
            return None
        fd, start, size = member
        try:
            return h5raw_read.read_tree(lambda at, n: os.pread(fd, n, start + at), size)
        except OSError:
            return None

    def _direct(self, f) -> tuple[int, int] | None:
        member = self._member() if h5scan.HAVE_PREADV else None
        return None if member is None else member[:2]

    def close(self) -> None:
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(filename: str) -> Source:
    """The source for ``filename``: by suffix, or by the zip signature for archives."""
    if formats.get("weights.json").matches(filename):
        return ShardedSource(filename)
    keras = formats.get("keras")
    if keras.matches(filename) or formats.head(filename, len(keras.magic)) == keras.magic:
        return ArchiveSource(filename)
    return H5Source(filename)
