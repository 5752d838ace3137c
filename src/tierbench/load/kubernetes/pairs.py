"""Which node pair a cell runs on: the first free one, held by a file lock per pair.

Snakemake's `load_slot` resource equals the number of pairs, so at most that many cells
load at once and a free pair always exists for a starting cell. Each cell takes one by an
exclusive, non-blocking `flock` on `{directory}/pair-{i}.lock`: the kernel releases it when
the job's process ends, however it ends, so a killed job never leaves a pair taken. The
locks coordinate the jobs of one machine (Snakemake runs load jobs locally); two sweeps
from different machines must use different pairs or namespaces.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class NoFreePair(RuntimeError):
    pass


class PairLock:
    def __init__(self, directory: Path, pairs: int):
        self.directory = directory
        self.pairs = pairs
        self.index: int | None = None
        self._fd: int | None = None

    def acquire(self, timeout_s: float = 600.0, poll_s: float = 0.5) -> int:
        """The index of a free pair, held until `release`; waits while all are taken."""
        if self.index is not None:
            return self.index
        self.directory.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        while True:
            for index in range(self.pairs):
                fd = os.open(self.directory / f"pair-{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self.index, self._fd = index, fd
                return index
            if time.monotonic() >= deadline:
                raise NoFreePair(
                    f"all {self.pairs} node pairs stayed taken for {timeout_s:g} s (locks in "
                    f"{self.directory}): another tierbench run on this machine is using them"
                )
            time.sleep(poll_s)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self.index, self._fd = None, None
