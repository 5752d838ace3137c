"""Frames written as numbered Parquet parts, joined into one file at the end."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tierbench.files import replaced_atomically

# Rows held in memory before they are written out as a Parquet part.
FLUSH_ROWS = 250_000


class PartWriter:
    """Buffers frames and writes them as numbered Parquet parts in a directory."""

    def __init__(self, directory: Path, schema: pl.Schema) -> None:
        self.directory, self.schema = directory, schema
        self.frames: list[pl.DataFrame] = []
        self.buffered = 0
        self.parts: list[Path] = []
        self.rows = 0

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.frames.append(frame)
            self.buffered += frame.height
            self.rows += frame.height
        if self.buffered >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.frames:
            return
        part = self.directory / f"part-{len(self.parts):05d}.parquet"
        pl.concat(self.frames).write_parquet(part, compression="uncompressed")
        self.parts.append(part)
        self.frames, self.buffered = [], 0

    def finish(self, destination: Path) -> None:
        """Join the parts into `destination` through a temporary name, then rename."""
        self.flush()
        with replaced_atomically(destination) as temporary:
            if self.parts:
                pl.scan_parquet(self.parts, schema=self.schema).sink_parquet(temporary)
            else:
                self.schema.to_frame().write_parquet(temporary)
