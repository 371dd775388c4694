"""Entry point of the ``aanlevering`` command.

Each command group lives in its own module under :mod:`aanlevering.cli` and
exposes ``register(subparsers)``; this module only assembles them and maps the
product's exceptions to exit codes (0 ok, 1 validation blocked, 2 unusable
input or config, 3 no delivery obligation).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from aanlevering.errors import AanleveringError

# Command modules, imported lazily by name so `aanlevering --help` stays fast.
COMMAND_MODULES: tuple[str, ...] = (
    "aanlevering.cli.registrations",
    "aanlevering.cli.events",
)

log = logging.getLogger("aanlevering")


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every command module."""
    parser = argparse.ArgumentParser(
        prog="aanlevering",
        description="Deliver pseudonymised hospital data to Dutch quality registries.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code instead of raising product errors."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except AanleveringError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
