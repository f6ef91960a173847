"""The ``numkeras`` command line: ``demo``, and tools for weight files.

>>> main(["--help"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
SystemExit: 0
"""

from __future__ import annotations

import argparse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numkeras", description="Keras 2 weights without TensorFlow.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the walk-through (the seed example and format round trips)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from numkeras import demo

        return demo.run()
    return 2
