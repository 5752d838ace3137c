"""Writing files whole or not at all: to a temporary name beside the destination, then a
rename. Every stage writes through here, so a failed or interrupted step never leaves a
file that looks finished."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl


def file_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def files_digest(paths: Iterable[Path | str]) -> str:
    """One digest of several files' names and contents (not their times, so a moved or
    restored copy digests the same)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def temporary_path(destination: Path, keep_suffix: bool = False) -> Path:
    """A hidden name beside `destination`, unique to this process; with `keep_suffix`, it
    ends like the destination (for writers that choose a format by the suffix)."""
    if keep_suffix:
        return destination.with_name(f".{destination.stem}.{os.getpid()}.tmp{destination.suffix}")
    return destination.with_name(f".{destination.name}.{os.getpid()}.tmp")


@contextmanager
def replaced_atomically(destination: Path | str, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `destination`; rename it into place on success."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(destination, keep_suffix)
    temporary.unlink(missing_ok=True)
    try:
        yield temporary
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def write_with(destination: Path | str, writer: Callable[[Path], object]) -> None:
    with replaced_atomically(destination) as temporary:
        writer(temporary)


def write_frame(frame: pl.DataFrame, destination: Path | str) -> None:
    """CSV or Parquet by suffix."""
    destination = Path(destination)
    if destination.suffix == ".parquet":
        write_with(destination, frame.write_parquet)
    elif destination.suffix == ".csv":
        write_with(destination, frame.write_csv)
    else:
        raise ValueError(f"{destination}: expected a .csv or .parquet path")


def write_text(text: str, destination: Path | str) -> None:
    write_with(destination, lambda path: path.write_text(text, encoding="utf-8"))


def write_json(value: object, destination: Path | str) -> None:
    write_text(json.dumps(value, indent=2) + "\n", destination)


class OutputSet:
    """Several files (or directories) of one step, written under partial names and renamed
    together.

    `commit` renames them in the order given, so the last one (a meta file, say) appears
    only once all the others are in place; `discard` removes every partial file.
    """

    def __init__(self, destinations: Iterable[Path]):
        self.destinations = [Path(p) for p in destinations]

    @staticmethod
    def partial(destination: Path) -> Path:
        """A hidden name beside `destination`. A compressed file's keeps its `.gz` ending,
        since writers such as k6 choose to compress by the name they are given."""
        if destination.suffix == ".gz":
            return destination.with_name(f".{destination.stem}.partial.gz")
        return destination.with_name(f".{destination.name}.partial")

    def discard(self) -> None:
        for destination in self.destinations:
            partial = self.partial(destination)
            if partial.is_dir():
                shutil.rmtree(partial)
            else:
                partial.unlink(missing_ok=True)

    def prepare(self) -> None:
        for destination in self.destinations:
            destination.parent.mkdir(parents=True, exist_ok=True)
        self.discard()

    def commit(self) -> None:
        for destination in self.destinations:
            partial = self.partial(destination)
            if partial.is_dir() and destination.is_dir():
                # A directory cannot be renamed over a full one: the old goes first.
                shutil.rmtree(destination)
            os.replace(partial, destination)
