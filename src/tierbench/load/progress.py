"""Where a sweep is while a cell loads: one status line, read from k6 as it runs.

On a terminal the line rewrites itself about once a second; elsewhere (a log, CI) a line
is printed every few seconds. It goes to the terminal only, never into the job's log:
cell n of N, elapsed and remaining time of the cell and of the sweep, and k6's live
request rate, p95 so far and error rate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

# Seconds between lines when the output is not a terminal, and between rewrites when it is.
PLAIN_INTERVAL_S = 5.0
TERMINAL_INTERVAL_S = 1.0
# A cell's time beyond its load (recreate, health, teardown, k6's start), for estimates.
CELL_OVERHEAD_S = 3.0


class LiveMetrics(Protocol):
    def metric(self, name: str) -> dict | None: ...


@dataclass(frozen=True)
class SweepPosition:
    """Which cell this is of how many, and when the sweep began."""

    index: int  # 1-based
    total: int
    started: float  # time.time() of the sweep's start

    @classmethod
    def of(cls, cell: str, cells: list[str], results: Path) -> SweepPosition:
        """This cell's place: after the cells that finished already (their metas exist),
        in a sweep that began when its pre-flight ran (results/preflight.json)."""
        done = sum(
            1 for name in cells if name != cell and (results / "meta" / f"{name}.json").exists()
        )
        marker = results / "preflight.json"
        started = marker.stat().st_mtime if marker.exists() else time.time()
        return cls(index=min(done + 1, len(cells)), total=len(cells), started=started)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


@dataclass
class ProgressLine:
    cell: str
    position: SweepPosition
    load_s: float
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    terminal: bool | None = None
    clock: Callable[[], float] = time.time
    _last_at: float = field(default=-1e9, init=False)
    _read_at: float = field(default=-1e9, init=False)
    _last_count: float | None = field(default=None, init=False)
    _last_elapsed: float = field(default=0.0, init=False)
    _width: int = field(default=0, init=False)
    _unprinted: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.terminal is None:
            self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, api: LiveMetrics, elapsed: float) -> str:
        requests = api.metric("http_reqs") or {}
        duration = api.metric("http_req_duration") or {}
        failed = api.metric("http_req_failed") or {}
        count = requests.get("count")
        rate = None
        if count is not None and self._last_count is not None and elapsed > self._last_elapsed:
            rate = (count - self._last_count) / (elapsed - self._last_elapsed)
        elif count is not None and elapsed > 0:
            rate = count / elapsed
        self._last_count, self._last_elapsed = count, elapsed
        cell_left = max(0.0, self.load_s - elapsed)
        cells_after = self.position.total - self.position.index
        sweep_left = cell_left + cells_after * (self.load_s + CELL_OVERHEAD_S)
        parts = [
            f"tierbench: cell {self.position.index}/{self.position.total} {self.cell}",
            f"{_duration(elapsed)} of {_duration(self.load_s)}",
            f"sweep {_duration(self.clock() - self.position.started)} in, "
            f"~{_duration(sweep_left)} left",
            "– req/s" if rate is None else f"{rate:,.0f} req/s",
            "p95 –"
            if not count or duration.get("p(95)") is None
            else f"p95 {duration['p(95)']:.0f} ms",
            "errors –"
            if not count or failed.get("rate") is None
            else f"errors {failed['rate']:.1%}",
        ]
        return " · ".join(parts)

    def tick(self, api: LiveMetrics, elapsed: float) -> None:
        """Read k6 about once a second; print as often as the output suits."""
        now = self.clock()
        if now - self._read_at < TERMINAL_INTERVAL_S:
            return
        self._read_at = now
        text = self.line(api, elapsed)
        interval = TERMINAL_INTERVAL_S if self.terminal else PLAIN_INTERVAL_S
        if now - self._last_at < interval:
            self._unprinted = text
            return
        self._last_at = now
        self._print(text)

    def _print(self, text: str) -> None:
        self._unprinted = None
        if self.terminal:
            padding = " " * max(0, self._width - len(text))
            self.stream.write("\r" + text + padding)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        """The last reading, if it was not shown, and the end of the line."""
        if self._unprinted is not None:
            self._print(self._unprinted)
        if self.terminal and self._width:
            self.stream.write("\n")
            self.stream.flush()
