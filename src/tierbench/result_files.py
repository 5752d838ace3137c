"""Writing result files whole or not at all: to a temporary name, then a rename."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl


@contextmanager
def replaced_atomically(destination: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `destination`; rename it into place on success."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
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
