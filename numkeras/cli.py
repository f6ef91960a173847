"""The ``numkeras`` command line: ``demo`` and tools for weight files (no model needed).

- ``numkeras inspect PATH [--json] [--graph] [--model M]``: the format, every stored tensor
  (name, shape, dtype, bytes; Keras weight names for ``.keras``/``.weights.h5``) and totals,
  from metadata only; ``--graph``: a TF checkpoint's object graph;
- ``numkeras verify PATH [--json]``: read every tensor, check checksums; exit 0 (OK) or 1;
- ``numkeras diff A B [--by-order] [--atol X] [--rtol Y] [--json]``: compare two files of
  any formats; exit 0 only when equal within the tolerance;
- ``numkeras convert SRC DST [--format F] [--dtype D] [--model M] [--keras-style S]``:
  between every format, using a model only where the target needs one.

Exit status: 0 ok, 1 a finding (corrupt file, differences) or a failure (missing or
unreadable file), 2 a usage error (bad options, existing destination without
``--overwrite``, a lossy conversion not asked for, an architecture needed). Errors are one
line on stderr naming the file and the cause. Progress bars go to stderr, only on a
terminal and without ``--quiet``.

PATH, SRC and DST may be fsspec URLs (``gs://``, ``s3://``, ``memory://``; needs
``pip install 'numkeras[remote]'``).

The module is long because each command's parser carries its ``--help`` examples; the work
itself is done in ``numkeras.saving``.

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
from collections.abc import Iterator

from numkeras.saving import formats

#: What ``inspect`` prints for each format name of :mod:`numkeras.saving.inspect`.
FORMAT_LABELS = {f.name: f.label for f in formats.FORMATS}
#: ``--format`` choices of ``convert``.
TARGET_FORMATS = tuple(f.cli_name for f in formats.FORMATS if f.cli_name)
DTYPES = ("float16", "bfloat16", "float32", "float64")


class CliError(Exception):
    """A failure: printed as ``numkeras <command>: <message>``, exit status 1."""


class UsageError(CliError):
    """The command line asks for something that cannot be done as given: exit status 2."""


_EXAMPLES = {
    "inspect": """examples:
  numkeras inspect model.keras              # Keras weight names, shapes, dtypes, bytes
  numkeras inspect w.weights.h5 --model model.keras   # name the vars/N datasets
  numkeras inspect ckpt/weights --graph     # the TF checkpoint's object graph
  numkeras inspect w.safetensors --json""",
    "verify": """examples:
  numkeras verify ckpt/weights              # every CRC-32C checked; exit 1 if corrupt
  numkeras verify model.keras --json""",
    "diff": """examples:
  numkeras diff run1.h5 run2.h5                       # exit 0 only if identical
  numkeras diff model.keras w.safetensors --atol 1e-6
  numkeras diff a.weights.h5 b.npz --by-order --json  # pair weights by position""",
    "convert": """examples:
  numkeras convert weights.h5 weights.safetensors     # no model needed
  numkeras convert model.keras out/ckpt/weights       # TF checkpoint, folders created
  numkeras convert ckpt/weights w.weights.h5 --model model.keras
  numkeras convert w.safetensors w16.safetensors --dtype float16
  numkeras convert model.keras old.keras --keras-style tf_keras   # readable by tf-keras""",
}


def _sub(sub, name: str, help: str):
    return sub.add_parser(name, help=help, description=help, epilog=_EXAMPLES.get(name),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numkeras", description="Keras 2 weights without TensorFlow.",
        epilog="Run 'numkeras COMMAND --help' for examples. Exit status: 0 ok, 1 finding or "
               "failure, 2 usage error.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the walk-through (the seed example and format round trips)")
    p = _sub(sub, "inspect", "list the tensors of a weights file (metadata only)")
    p.add_argument("path", help="weights file, checkpoint prefix or folder, or URL")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--graph", action="store_true",
                   help="show a TF checkpoint's object graph instead of the tensors")
    p.add_argument("--model", help=".keras/.h5/SavedModel/model.json naming the vars/N "
                                   "datasets of a .weights.h5/.weights.json")
    p = _sub(sub, "verify", "read every tensor and check checksums (exit 0/1)")
    p.add_argument("path", help="weights file, checkpoint prefix or folder, or URL")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p = _sub(sub, "diff", "compare the weights of two files of any formats (exit 0 if equal)")
    p.add_argument("a", help="first file (A)")
    p.add_argument("b", help="second file (B)")
    p.add_argument("--by-order", action="store_true",
                   help="pair weights by position instead of by name")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
    p.add_argument("--rtol", type=float, default=0.0,
                   help="relative tolerance, relative to B (default 0)")
    p.add_argument("--model", help="architecture naming the vars/N datasets of .weights.h5 "
                                   "files on either side")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p = _sub(sub, "convert", "convert weights to another format (a model only where needed)")
    p.add_argument("src", help="any weights file, checkpoint prefix or folder, or URL")
    p.add_argument("dst", help="output path; the format follows its suffix unless --format "
                               "(no suffix: a TF checkpoint prefix)")
    p.add_argument("--format", choices=TARGET_FORMATS, help="output format")
    p.add_argument("--dtype", choices=DTYPES,
                   help="cast floating-point weights (needed to narrow them on purpose)")
    p.add_argument("--model", help="architecture for targets that need one: a .keras, "
                                   "full-model .h5, tf-keras SavedModel or model.json")
    p.add_argument("--config", dest="model", help=argparse.SUPPRESS)  # the old name
    p.add_argument("--keras-style", choices=("keras3", "tf_keras"), default="keras3",
                   help="config of a .keras target: Keras 3 (default) or tf-keras 2.x")
    p.add_argument("--max-shard-size", type=float, default=None,
                   help="GB per shard for the weights.json format")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits 2 on bad usage)."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from numkeras import demo

        return demo.run()
    command = {"inspect": cmd_inspect, "verify": cmd_verify, "convert": cmd_convert,
               "diff": cmd_diff}
    try:
        return command[args.command](args)
    except BrokenPipeError:  # `numkeras inspect big.h5 | head`: the reader left, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 0
    except UsageError as exc:
        print(f"numkeras {args.command}: {_message(exc)}", file=sys.stderr)
        return 2
    except (CliError, FileNotFoundError, FileExistsError, ValueError, ImportError,
            NotImplementedError, OSError, KeyError) as exc:
        print(f"numkeras {args.command}: {_message(exc)}", file=sys.stderr)
        return 1


def _message(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0])
    notes = getattr(exc, "__notes__", None) or []
    return " ".join([text or type(exc).__name__, *notes]).replace("\n", " ")


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
        if args.graph:
            return _show_graph(args, local)
        info = nk_inspect.inspect(local)
        _add_keras_names(info, local, args.model)
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
    elif info.format in _VARS_FORMATS:
        header = ["keras name", "stored as", "shape", "dtype", "bytes"]
        rows = [[e.keras_name or "-", e.name, _shape(e.shape), e.dtype, f"{e.nbytes:,}"]
                for e in info.entries]
    else:
        first = "layer" if info.format.startswith("h5") or info.format == "safetensors" \
            else "object"
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


_VARS_FORMATS = ("keras", "weights.h5", "weights.json")


def _add_keras_names(info, local: str, model_path: str | None) -> None:
    """Name the ``vars/N`` entries of Keras 3 files through the archive's config or
    ``--model`` (entries numkeras cannot name keep ``keras_name`` empty)."""
    if info.format not in _VARS_FORMATS:
        if model_path:
            raise UsageError("--model names the vars/N datasets of .keras/.weights.h5/"
                             f".weights.json files; {info.path} is {info.format}.")
        return
    from numkeras.saving.weights import read_weights

    with read_weights(local, model=model_path) as mapping:
        names = {spec.key: name for name, spec in mapping.specs.items() if name != spec.key}
    for entry in info.entries:
        entry.keras_name = names.get(entry.name, "")


def _show_graph(args, local: str) -> int:
    """``inspect --graph``: the nodes of a TF checkpoint's object graph."""
    from numkeras.saving.tf_checkpoint import graph_view

    fmt, prefix = formats.detect(local)
    if fmt not in ("tf-checkpoint", "saved-model"):
        raise UsageError(f"--graph shows the object graph of TF checkpoints; {args.path} is "
                         f"{FORMAT_LABELS.get(fmt, fmt)}.")
    nodes = graph_view.nodes(prefix)
    if args.json:
        print(json.dumps({"path": args.path, "format": fmt, "nodes": nodes}, indent=2))
    else:
        print(f"{args.path}: {FORMAT_LABELS[fmt]} [{fmt}], {len(nodes)} objects")
        print(graph_view.to_text(nodes))
    return 0


# -- verify ----------------------------------------------------------------------------------

def cmd_verify(args) -> int:
    """``numkeras verify``: 0 when every tensor reads back intact, else 1 naming the entry."""
    from numkeras import progress
    from numkeras.saving import inspect as nk_inspect

    with _readable(args.path) as (local, root, shown):
        on = progress.enabled(args.quiet)
        if on:  # a bar over the tensors the metadata lists
            try:
                total = nk_inspect.inspect(local).count
            except (ValueError, OSError, KeyError, RuntimeError):
                total = None  # damaged: verify says how
            ticks = progress.bar(iter(range(total)), total=total, desc="verifying", enabled=on)
            nk_inspect.on_tensor_checked = lambda: next(ticks, None)
        try:
            result = nk_inspect.verify(local)
        finally:
            nk_inspect.on_tensor_checked = None
            if on:
                ticks.close()
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


# -- diff ------------------------------------------------------------------------------------

def cmd_diff(args) -> int:
    """``numkeras diff``: exit 0 when A and B hold the same weights within the tolerance."""
    from numkeras import progress
    from numkeras.saving.diff import diff
    from numkeras.saving.weights import read_weights

    if args.atol < 0 or args.rtol < 0:
        raise UsageError("--atol and --rtol must be >= 0.")
    on = progress.enabled(args.quiet)
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(_readable(args.a))[0]
        b = stack.enter_context(_readable(args.b))[0]
        ma = stack.enter_context(read_weights(a, model=_model_for(a, args.model)))
        mb = stack.enter_context(read_weights(b, model=_model_for(b, args.model)))
        result = diff(ma, mb, by_order=args.by_order, atol=args.atol, rtol=args.rtol,
                      progress=lambda it, n: progress.bar(it, n, "comparing", on))
    result.a, result.b = args.a, args.b
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"A: {args.a} [{ma.format}], {len(ma)} weights")
        print(f"B: {args.b} [{mb.format}], {len(mb)} weights")
        print(result.to_text())
        print("EQUAL" if result.equal else "DIFFERENT")
    return 0 if result.equal else 1


def _model_for(local: str, model_path: str | None):
    """``--model`` for the sides whose names need it (Keras 3 weights files)."""
    if not model_path:
        return None
    fmt, _ = formats.detect(local)
    return model_path if fmt in ("weights.h5", "weights.json") else None


# -- convert ---------------------------------------------------------------------------------

def target_format(dst: str, requested: str | None) -> str:
    """The output format: ``requested``, else from DST's suffix; conflicts are usage errors.

    >>> target_format("m.keras", None), target_format("w.h5", None), target_format("ck", None)
    ('keras', 'h5', 'tf')
    >>> target_format("w.safetensors", None), target_format("out/model.ckpt", None)
    ('safetensors', 'tf')
    """
    by_suffix = formats.target_for(dst)
    if requested is None:
        ext = os.path.splitext(os.path.basename(dst.rstrip("/")))[1]
        if by_suffix.name == "tf-checkpoint" and ext and ext != ".ckpt" and \
                not ext[1:].isdigit():
            raise UsageError(f"{dst!r}: unknown output format {ext!r}. Use a suffix numkeras "
                             "writes (.safetensors, .npz, .h5, .keras, .weights.h5, "
                             ".weights.json) or --format tf for a TF checkpoint prefix.")
        return by_suffix.cli_name
    if requested == by_suffix.cli_name:
        return requested
    wanted = formats.get(requested)
    if wanted.name != "tf-checkpoint" or by_suffix.name != "tf-checkpoint":
        raise UsageError(f"--format {requested} does not fit {dst!r}: that format needs a "
                         f"path with {wanted.path_hint or wanted.suffixes[0]}.")
    return requested


def _exists(path: str, fmt: str) -> bool:
    from numkeras.saving import remote

    target = formats.get(fmt).marker(path)
    if remote.is_remote(path):
        fs, inner = remote.filesystem(target)
        return fs.exists(inner)
    return os.path.exists(target)


@contextlib.contextmanager
def _staged_destination(dst: str) -> Iterator[tuple[str, list[str]]]:
    """A private folder beside DST (missing parent folders are created, as save_weights
    does); on success its files are moved into place in commit order, else everything made
    here (files and folders) is removed."""
    import shutil
    import tempfile

    from numkeras.saving import remote
    from numkeras.saving.paths import fsync_dir

    moved: list[str] = []
    if remote.is_remote(dst):
        with remote.staged_write(dst) as local:
            yield local, moved
            names = remote.list_files(os.path.dirname(local))
        moved += [dst.rstrip("/").rsplit("/", 1)[0] + "/" + n for n in remote.commit_order(names)]
        return
    folder = os.path.dirname(os.path.abspath(dst))
    created = []
    probe = folder
    while not os.path.isdir(probe):
        created.append(probe)
        probe = os.path.dirname(probe)
    os.makedirs(folder, exist_ok=True)
    stage = tempfile.mkdtemp(dir=folder, prefix=".numkeras-convert-")
    try:
        try:
            yield os.path.join(stage, os.path.basename(dst)), moved
            for name in remote.commit_order(remote.list_files(stage)):
                target = os.path.join(folder, *name.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(os.path.join(stage, *name.split("/")), target)
                moved.append(target)
            fsync_dir(folder)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        for path in created:  # innermost first; only folders this command made, if empty
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise


def cmd_convert(args) -> int:
    """``numkeras convert``: read SRC, write DST atomically (no code from a file runs)."""
    from numkeras import progress
    from numkeras.saving import convert as conv

    fmt = target_format(args.dst, args.format)
    if not args.overwrite and _exists(args.dst, fmt):
        raise UsageError(f"{args.dst!r} already exists; pass --overwrite to replace it.")
    on = progress.enabled(args.quiet)
    with contextlib.ExitStack() as stack:
        local = stack.enter_context(_readable(args.src))[0]
        model = stack.enter_context(_readable(args.model))[0] if args.model else None
        out, written = stack.enter_context(_staged_destination(args.dst))
        try:
            result = conv.convert(
                local, out, format=fmt, dtype=args.dtype, architecture=model,
                keras_style=args.keras_style, max_shard_size=args.max_shard_size,
                wrap=lambda m: progress.TickingMapping(m, "converting", on))
        except (conv.NeedsArchitecture, conv.LossyConversion) as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps({"src": args.src, "src_format": result.src_format, "dst": args.dst,
                          "dst_format": result.dst_format, "weights": result.count,
                          "model": result.model, "files": written, "notes": result.notes},
                         indent=2))
        return 0
    what = f"model {result.model!r}, " if result.model else ""
    print(f"converted {args.src} [{result.src_format}] -> {args.dst} [{result.dst_format}]: "
          f"{what}{result.count} weights")
    for note in result.notes:
        print(f"note: {note}")
    for path in written:
        print(f"  wrote {path}")
    return 0
