"""How fast the host runs a fixed CPU workload, timed before and after each cell.

A shared host can run slower for minutes or hours without any steal time showing, and a
runtime measured then looks slower than its tier. The same pure-Python loop, timed on
the CPUs the runtime is pinned to while nothing of the cell runs, makes that visible:
the aggregate warns when the cells of one sweep were measured at different speeds.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence

from tierbench.load.host import cpuset

LOOP_ITERATIONS = 1_000_000  # about 40 ms on a 2020s x86 core
REPEATS = 5
WORKLOAD = f"median of {REPEATS} runs of a {LOOP_ITERATIONS:,}-iteration pure-Python loop"

_PROBE = f"""
import json, time
def work():
    total = 0
    for i in range({LOOP_ITERATIONS}):
        total += i * i
    return total
times = []
for _ in range({REPEATS}):
    started = time.perf_counter()
    work()
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps(times))
"""


def probe_speed(cpus: Sequence[int] = ()) -> list[float]:
    """The loop's times in ms, in a fresh interpreter pinned to `cpus` (all when empty)."""

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        preexec_fn=pin,
        timeout=60,
        check=True,
    )
    return [float(value) for value in json.loads(done.stdout)]


def speed_record(before: dict | None, after: dict | None) -> dict | None:
    """The meta's `host_speed` from the probes before and after a cell (each the
    backend's `{"cpus": [...], "runs_ms": [...]}`): the workload, where it ran, the median
    of every run (`median_ms`, the cell's figure) and of those before and after (ms;
    lower is faster). None when either is missing."""
    if before is None or after is None:
        return None
    return {
        "workload": WORKLOAD,
        "cpus": cpuset(before["cpus"]) or "all",
        "median_ms": round(statistics.median([*before["runs_ms"], *after["runs_ms"]]), 2),
        "before_ms": round(statistics.median(before["runs_ms"]), 2),
        "after_ms": round(statistics.median(after["runs_ms"]), 2),
        "runs_ms": {
            "before": [round(value, 2) for value in before["runs_ms"]],
            "after": [round(value, 2) for value in after["runs_ms"]],
        },
    }


def cell_speed_ms(speed: dict | None) -> float | None:
    """A cell's host speed: the median of every run of the workload before and after it,
    so that a moment of other work on the host during one run does not move it."""
    if not speed:
        return None
    if speed.get("median_ms"):
        return float(speed["median_ms"])
    runs = [*speed.get("runs_ms", {}).get("before", []), *speed.get("runs_ms", {}).get("after", [])]
    return statistics.median(runs) if runs else None


def speed_range(
    speeds: Sequence[tuple[str, dict | None]],
) -> tuple[tuple[float, str], tuple[float, str]] | None:
    """The fastest and the slowest cell of a sweep, each (ms, cell), from their
    `host_speed` records; None with fewer than two cells timed."""
    timed = [(ms, cell) for cell, speed in speeds if (ms := cell_speed_ms(speed))]
    if len(timed) < 2:
        return None
    return min(timed), max(timed)
