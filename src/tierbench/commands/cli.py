"""The `tierbench` command line: one subcommand per module in tierbench.commands."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module declares its `COMMAND` (tierbench.commands.declare).
COMMAND_MODULES = [
    "tierbench.commands.tidy",
    "tierbench.commands.compare",
    "tierbench.commands.render",
    "tierbench.commands.k8s",
    "tierbench.commands.recommend",
    "tierbench.commands.doctor",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tierbench",
        description="Benchmark HTTP service runtimes across Kubernetes-style resource tiers.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).COMMAND.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
