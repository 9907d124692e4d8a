"""The ``interestyle`` command: parses arguments, calls the public API, prints. No logic of its own.

Each subcommand is a module of this package with ``add_parser(subparsers)`` (which sets ``func`` through
``set_defaults``) and a ``run(args) -> int``; [`COMMANDS`][interestyle.cli.COMMANDS] lists them. They are imported only
when the command line is parsed, so ``import interestyle`` stays light.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import NoReturn

from .._version import __version__
from ..errors import InterestyleError, StretchWarning, UpscaleWarning
from .inputs import warn

__all__ = ["COMMANDS", "main"]

COMMANDS: tuple[str, ...] = ("demo", "invert", "edit", "mix", "masks", "eval", "convert", "train", "app", "comfy")
"""The subcommands, each a module ``interestyle.cli.<name>`` with ``add_parser`` and ``run``."""

# What a user can fix from the command line: one line on stderr and exit code 2, never a traceback.
USER_ERRORS = (
    InterestyleError,
    ValueError,
    TypeError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    PermissionError,
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``PROG: error: ...``) and exit code 2, no usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _one_line_warnings(command: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints ``interestyle COMMAND: warning: MESSAGE``, not a file and line."""

    def show(message: Warning | str, *_: object, **__: object) -> None:
        warn(command, str(message))

    return show


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="interestyle",
        description="IntereStyle: StyleGAN2 inversion that encodes the interest region (face + hair).",
    )
    parser.add_argument("--version", action="version", version=f"interestyle {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``interestyle`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(args.command)
            # the readers name each enlarged or stretched file; the library's warnings would count images in a batch
            warnings.filterwarnings("ignore", category=UpscaleWarning)
            warnings.filterwarnings("ignore", category=StretchWarning)
            return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        print(f"interestyle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
