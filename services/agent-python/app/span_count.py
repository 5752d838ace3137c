"""A count of ended spans shared by a runtime's worker processes.

Each process keeps its own count and, every tick when it changed, writes it to a file of
its own in one directory (TRACING_STATS_DIR: chosen by the first process, inherited by the
workers it starts); the total is its own count plus the other processes' files. A flush
asked of one process is written there too, and every other process flushes at its next
tick. A request reaches one process only (they share the port), so this is how it speaks
for all of them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

TICK_S = 0.1


class SharedSpanCount:
    def __init__(self, flush: Callable[[], None]):
        self._flush = flush
        directory = os.environ.get("TRACING_STATS_DIR")
        if not directory:
            # The first process: a directory of its own, empty.
            directory = f"/tmp/agent-tracing-{os.getpid()}"
            shutil.rmtree(directory, ignore_errors=True)
            os.environ["TRACING_STATS_DIR"] = directory
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._own = 0
        self._written = -1
        self._flush_seen = self._read("flush")
        self._stopped = threading.Event()

    @property
    def _own_file(self) -> str:
        return f"{os.getpid()}.count"  # read at each use: a worker forked later has its own

    def add(self, spans: int) -> None:
        self._own += spans

    def start(self) -> None:
        threading.Thread(target=self._run, name="span-count", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._tick()

    def total(self) -> int:
        total = self._own
        for path in self.dir.glob("*.count"):
            if path.name != self._own_file:
                total += _as_int(self._read(path.name))
        return total

    def request_flush(self) -> None:
        token = f"{os.getpid()}-{uuid.uuid4().hex}"
        self._write("flush", token)
        self._flush_seen = token

    def _run(self) -> None:
        while not self._stopped.wait(TICK_S):
            try:
                self._tick()
            except Exception as error:  # keep counting whatever one tick met
                print(f"span count: {error!r}", flush=True)
                time.sleep(1)

    def _tick(self) -> None:
        own = self._own
        if own != self._written:
            self._write(self._own_file, str(own))
            self._written = own
        asked = self._read("flush")
        if asked != self._flush_seen:
            self._flush_seen = asked
            self._flush()

    def _write(self, name: str, text: str) -> None:
        """Written whole (a temporary name, then a rename): a reader never sees half."""
        temporary = self.dir / f".{name}.{os.getpid()}"
        temporary.write_text(text)
        temporary.replace(self.dir / name)

    def _read(self, name: str) -> str:
        try:
            return (self.dir / name).read_text().strip()
        except OSError:
            return ""


def _as_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
