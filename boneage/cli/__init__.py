"""The ``boneage`` command line: a thin shell around the library.

Each module in this package adds one subcommand through ``register(subparsers)``; they are
discovered here so that adding a command never means editing a central list.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from boneage.errors import BoneAgeError


def add_compute_options(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads``, shared by every command that trains or evaluates models."""
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def apply_threads(args: argparse.Namespace) -> None:
    """Limit torch's CPU threads when ``--threads`` was given (training shares the cores)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def build_parser() -> argparse.ArgumentParser:
    """Collect the subcommands of every module in this package."""
    parser = argparse.ArgumentParser(prog="boneage", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a :class:`BoneAgeError` becomes a one-line message and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BoneAgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
