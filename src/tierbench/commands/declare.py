"""The one way a subcommand declares itself: its name, its words, its arguments and what
it runs. `tierbench.commands.cli` registers every module's `COMMAND`; the options several
commands share are defined here once."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR_EXIT = 2  # bad input: the message says what is wrong and what to do


@dataclass(frozen=True)
class Arg:
    """One argument, as `argparse.ArgumentParser.add_argument` takes it."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


def configfile(help: str, *aliases: str) -> Arg:
    """--configfile FILE, config/config.yaml by default."""
    return arg(
        "--configfile",
        *aliases,
        type=Path,
        default=Path("config/config.yaml"),
        metavar="FILE",
        help=help,
    )


def out_dir(help: str, default: Path | None = None) -> Arg:
    """--out DIR: where a command writes."""
    return arg("--out", type=Path, default=default, metavar="DIR", help=help)


def path(name: str, metavar: str) -> Arg:
    """A positional path."""
    return arg(name, type=Path, metavar=metavar)


@dataclass(frozen=True)
class Command:
    """A subcommand: `run` gets the parsed arguments and returns the exit code. One with
    `actions` has subcommands of its own instead (`tierbench k8s manifests`)."""

    name: str
    help: str
    description: str
    arguments: tuple[Arg, ...] = ()
    run: Callable[[argparse.Namespace], int] | None = None
    actions: tuple[Command, ...] = field(default_factory=tuple)

    def register(self, subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser(self.name, help=self.help, description=self.description)
        for argument in self.arguments:
            parser.add_argument(*argument.flags, **argument.options)
        if self.actions:
            actions = parser.add_subparsers(dest="action", required=True)
            for action in self.actions:
                action.register(actions)
        else:
            parser.set_defaults(func=self.run)


def error(command: str, message: object) -> int:
    """Say a bad input's message on stderr, as `tierbench COMMAND: error: ...`."""
    print(f"tierbench {command}: error: {message}", file=sys.stderr)
    return ERROR_EXIT
