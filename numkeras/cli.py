"""The ``numkeras`` command line: ``demo``, and tools for weight files.

- ``numkeras inspect PATH [--json]``: the format, every stored tensor (name, shape, dtype,
  bytes) and totals, from metadata only;
- ``numkeras verify PATH [--json]``: read every tensor, check checksums; exit 0 (OK) or 1;
- ``numkeras convert SRC DST [--format F] [--config model.json]``: rebuild the model from a
  ``.keras``/full-model ``.h5`` (or from ``--config``) and write DST atomically.

PATH, SRC and DST may be fsspec URLs (``gs://``, ``s3://``, ``memory://``; needs
``pip install 'numkeras[remote]'``).

>>> main(["--help"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
SystemExit: 0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator

from numkeras.saving import formats

#: What ``inspect`` prints for each format name of :mod:`numkeras.saving.inspect`.
FORMAT_LABELS = {f.name: f.label for f in formats.FORMATS}
#: ``--format`` choices of ``convert``.
TARGET_FORMATS = tuple(f.cli_name for f in formats.FORMATS if f.cli_name)


class CliError(Exception):
    """A user-facing failure: printed as ``numkeras <command>: <message>``, exit code 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numkeras", description="Keras 2 weights without TensorFlow.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the walk-through (the seed example and format round trips)")
    p = sub.add_parser("inspect", help="list the tensors of a weights file (metadata only)")
    p.add_argument("path", help="weights file, checkpoint prefix or folder, or URL")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p = sub.add_parser("verify", help="read every tensor and check checksums (exit 0/1)")
    p.add_argument("path", help="weights file, checkpoint prefix or folder, or URL")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p = sub.add_parser("convert", help="convert a model's weights to another format")
    p.add_argument("src", help=".keras or full-model .h5 (or any weights file with --config)")
    p.add_argument("dst", help="output path; the format follows its suffix unless --format")
    p.add_argument("--format", choices=TARGET_FORMATS, help="output format")
    p.add_argument("--config", help="model config JSON (model.to_json() / get_config()) to "
                                    "build the model when SRC holds weights only")
    p.add_argument("--max-shard-size", type=float, default=None,
                   help="GB per shard for the weights.json format")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from numkeras import demo

        return demo.run()
    command = {"inspect": cmd_inspect, "verify": cmd_verify, "convert": cmd_convert}
    try:
        return command[args.command](args)
    except BrokenPipeError:  # `numkeras inspect big.h5 | head`: the reader left, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 0
    except (CliError, FileNotFoundError, FileExistsError, ValueError, ImportError,
            NotImplementedError, OSError) as exc:
        print(f"numkeras {args.command}: {_message(exc)}", file=sys.stderr)
        return 1


def _message(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0])
    notes = getattr(exc, "__notes__", None) or []
    return " ".join([text or type(exc).__name__, *notes])


# -- local copies of remote paths ------------------------------------------------------------

@contextlib.contextmanager
def _readable(path: str) -> Iterator[tuple[str, str, str]]:
    """Yield ``(local path, local root, shown root)``; URLs are downloaded to a temp folder."""
    from numkeras.saving import remote

    if not remote.is_remote(path):
        yield path, "", ""
        return
    with remote.staged_read(path) as local:
        yield local, os.path.dirname(local), path.rstrip("/").rsplit("/", 1)[0]


def _relabel(text, local_root: str, shown_root: str):
    """Replace the temporary folder in ``text`` (a str or list of str) by the URL's folder."""
    if not local_root:
        return text
    if isinstance(text, list):
        return [_relabel(t, local_root, shown_root) for t in text]
    if isinstance(text, str):
        return text.replace(local_root + os.sep, shown_root + "/").replace(local_root,
                                                                          shown_root)
    return text


# -- inspect ---------------------------------------------------------------------------------

def cmd_inspect(args) -> int:
    """``numkeras inspect``: print the format, the entries table and the totals."""
    from numkeras.saving import inspect as nk_inspect

    with _readable(args.path) as (local, root, shown):
        info = nk_inspect.inspect(local)
    info.path = args.path
    info.resolved = _relabel(info.resolved, root, shown)
    info.files = _relabel(info.files, root, shown)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(format_inventory(info))
    return 0


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()
    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def format_inventory(info) -> str:
    """The human-readable ``inspect`` report of an :class:`~numkeras.saving.inspect.Inventory`."""
    lines = [f"{info.path}: {FORMAT_LABELS.get(info.format, info.format)} [{info.format}]"]
    if info.resolved and info.resolved != info.path:
        lines.append(f"reads: {info.resolved}")
    lines.append("files: " + ", ".join(info.files))
    facts = {k: v for k, v in info.attributes.items() if k not in ("layer_names", "members")}
    if facts:
        lines.append("  ".join(f"{k}={v}" for k, v in facts.items()))
    architecture = "yes" if info.has_architecture else "no (weights only)"
    lines.append(f"architecture: {architecture}")
    lines.append("")
    tf = info.format in ("tf-checkpoint", "saved-model")
    if tf:
        header = ["checkpoint key", "object path", "variable", "shape", "dtype", "bytes"]
        rows = [[e.name, e.object_path, e.variable, _shape(e.shape), e.dtype, f"{e.nbytes:,}"]
                for e in info.entries]
    else:
        first = "layer" if info.format.startswith("h5") else "object"
        header = [first, "weight", "shape", "dtype", "bytes"]
        rows = [[e.group, e.name, _shape(e.shape), e.dtype, f"{e.nbytes:,}"]
                for e in info.entries]
        if info.format == "weights.json":
            header.append("shard")
            for row, e in zip(rows, info.entries):
                row.append(e.file)
    lines += _table(header, rows, right={len(header) - 1} if info.format != "weights.json"
                    else {len(header) - 2})
    lines.append("")
    lines.append(f"total: {info.count} entries, {info.parameters:,} parameters, "
                 f"{info.nbytes:,} bytes")
    return "\n".join(lines)


# -- verify ----------------------------------------------------------------------------------

def cmd_verify(args) -> int:
    """``numkeras verify``: 0 when every tensor reads back intact, else 1 naming the entry."""
    from numkeras.saving import inspect as nk_inspect

    with _readable(args.path) as (local, root, shown):
        result = nk_inspect.verify(local)
    result.path = args.path
    result.file = _relabel(result.file, root, shown)
    result.problem = _relabel(result.problem, root, shown)
    result.warnings = _relabel(result.warnings, root, shown)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    elif result.ok:
        print(f"OK {args.path} [{result.format}]: {result.checked} tensors, "
              f"{result.nbytes:,} bytes read and checked")
    else:
        where = f"{result.file}" + (f", key {result.key!r}" if result.key else "")
        print(f"CORRUPT {args.path} [{result.format}]: {where}: {result.problem}")
    if not args.json:
        for warning in result.warnings:
            print(f"warning: {warning}")
    return 0 if result.ok else 1


# -- convert ---------------------------------------------------------------------------------

def target_format(dst: str, requested: str | None) -> str:
    """The output format: ``requested``, else from DST's suffix; conflicts are errors.

    >>> target_format("m.keras", None), target_format("w.h5", None), target_format("ck", None)
    ('keras', 'h5', 'tf')
    """
    by_suffix = formats.target_for(dst).cli_name
    if requested is None or requested == by_suffix:
        return by_suffix
    wanted = formats.get(requested)
    raise CliError(f"--format {requested} does not fit {dst!r}: that format needs a path with "
                   f"{wanted.path_hint or wanted.suffixes[0]}.")


def _config_from_file(path: str) -> dict:
    """A model config from ``model.to_json()`` output or a bare ``get_config()`` dict."""
    try:
        with open(path, "rb") as f:
            config = json.loads(f.read())
    except FileNotFoundError:
        raise CliError(f"--config {path!r}: no such file.") from None
    except ValueError as exc:
        raise CliError(f"--config {path!r} is not valid JSON: {exc}") from None
    if isinstance(config, dict) and "class_name" not in config and "layers" in config:
        kind = "Functional" if "input_layers" in config else "Sequential"
        config = {"class_name": kind, "config": config}
    return config


def _build_model(src_local: str, src_format: str, config_path: str | None):
    """The model to write: from ``--config`` + SRC's weights, or rebuilt from SRC."""
    from numkeras import saving
    from numkeras.saving import inspect as nk_inspect
    from numkeras.saving.serialization import deserialize_model

    if config_path:
        model = deserialize_model(_config_from_file(config_path))
        try:
            model._assert_weights_created()
        except ValueError as exc:
            raise CliError(f"the model from --config has no weights yet ({exc}); give its "
                           "Input/input_shape in the config.") from None
        saving.load_weights(model, src_local)
        return model
    if nk_inspect.has_architecture(src_local, src_format):
        return saving.load_model(src_local)
    raise CliError(
        f"{FORMAT_LABELS[src_format]} holds weights only, no model architecture, so numkeras "
        "cannot know which model to build. Either convert from a file that has one (a .keras "
        "archive, a full-model .h5 or a tf-keras SavedModel written by model.save), or pass "
        "--config model.json: the "
        "output of model.to_json() (tf.keras) or json.dumps(model.get_config()) for the model "
        "these weights belong to.")


def _write(model, path: str, fmt: str, max_shard_size: float | None) -> None:
    target = formats.get(fmt)
    if target.writes == "model":
        model.save(path)
    elif target.name == "weights.json":
        model.save_weights(path, max_shard_size=max_shard_size or 5)
    else:
        model.save_weights(path, save_format={"h5": "h5", "tf": "tf"}.get(target.family))


def _exists(path: str, fmt: str) -> bool:
    from numkeras.saving import remote

    target = formats.get(fmt).marker(path)
    if remote.is_remote(path):
        fs, inner = remote.filesystem(target)
        return fs.exists(inner)
    return os.path.exists(target)


def _write_atomic(model, dst: str, fmt: str, max_shard_size: float | None) -> list[str]:
    """Write into a private folder beside DST, then move the files in commit order."""
    from numkeras.saving import remote
    from numkeras.saving.paths import fsync_dir

    if remote.is_remote(dst):
        with remote.staged_write(dst) as local:
            _write(model, local, fmt, max_shard_size)
            names = remote.list_files(os.path.dirname(local))
        return [dst.rstrip("/").rsplit("/", 1)[0] + "/" + n for n in remote.commit_order(names)]
    folder = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(folder):
        raise CliError(f"cannot write {dst!r}: the folder {folder!r} does not exist.")
    stage = tempfile.mkdtemp(dir=folder, prefix=".numkeras-convert-")
    try:
        _write(model, os.path.join(stage, os.path.basename(dst)), fmt, max_shard_size)
        moved = []
        for name in remote.commit_order(remote.list_files(stage)):
            target = os.path.join(folder, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(stage, *name.split("/")), target)
            moved.append(target)
        fsync_dir(folder)
        return moved
    finally:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)


def cmd_convert(args) -> int:
    """``numkeras convert``: rebuild the model (no code from the file runs) and write DST."""
    from numkeras.saving import inspect as nk_inspect

    fmt = target_format(args.dst, args.format)
    if not args.overwrite and _exists(args.dst, fmt):
        raise CliError(f"{args.dst!r} already exists; pass --overwrite to replace it.")
    with _readable(args.src) as (local, _, _):
        src_format, _ = nk_inspect.detect(local)
        model = _build_model(local, src_format, args.config)
    written = _write_atomic(model, args.dst, fmt, args.max_shard_size)
    count = len(model.weights)
    print(f"converted {args.src} [{src_format}] -> {args.dst} [{fmt}]: model "
          f"{model.name!r}, {count} weights")
    for path in written:
        print(f"  wrote {path}")
    return 0
