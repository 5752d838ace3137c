"""How busy a set of the host's CPUs was between two readings of /proc/stat.

The load side's own processes (k6, the support services' containers) are not all that
runs on its CPUs: the engine, the sampler, the kernel's loopback network and any other
process take their share too. The kernel's per-CPU counters count everything, so a CPU
with no idle time left is seen as full whoever filled it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# /proc/stat's per-CPU fields, in order; guest time is already counted in user time.
FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
IDLE_FIELDS = ("idle", "iowait")


def cpu_ticks(cpus: Sequence[int] = (), proc: Path = Path("/proc")) -> tuple[int, int] | None:
    """(busy, total) clock ticks since boot, summed over `cpus` (every CPU when empty);
    None where /proc/stat cannot be read or lacks one of them."""
    try:
        lines = (proc / "stat").read_text().splitlines()
    except OSError:
        return None
    wanted = {f"cpu{n}" for n in cpus}
    busy = total = 0
    found = set()
    for line in lines:
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or (wanted and name not in wanted):
            continue
        ticks = dict(zip(FIELDS, (int(v) for v in values), strict=False))
        idle = sum(ticks.get(key, 0) for key in IDLE_FIELDS)
        all_ticks = sum(ticks.values())
        busy += all_ticks - idle
        total += all_ticks
        found.add(name)
    if not found or (wanted and found != wanted):
        return None
    return busy, total


class CpuBusy:
    """The busy share of some CPUs since the previous reading (0 idle, 1 full)."""

    def __init__(self, cpus: Sequence[int] = (), proc: Path = Path("/proc")):
        self.cpus = tuple(cpus)
        self.proc = proc
        self._previous = cpu_ticks(self.cpus, proc)

    def share(self) -> float | None:
        current = cpu_ticks(self.cpus, self.proc)
        previous, self._previous = self._previous, current
        if current is None or previous is None or current[1] <= previous[1]:
            return None
        return (current[0] - previous[0]) / (current[1] - previous[1])
