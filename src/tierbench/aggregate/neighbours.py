"""Other work on the runtime's CPUs: what the host's counters saw there beside the runtime.

A runtime pinned to CPUs of its own should be nearly all the kernel counts busy on them
during its load: the samples' `runtime_cpus_busy` (/proc/stat, whoever ran) times the
number of those CPUs, less the runtime's own cgroup CPU (`cpu_cores`), leaves the kernel's
loopback network and the engine. On the quiet host that made docs/example that was 0.00 to
0.11 cores in each of the 198 steps of its 18 pinned capacity searches (median 0.02). More
is another process on the runtime's CPUs, taking from the runtime what its tier should
give it: a slower cell with a cause, not a slower host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tierbench.load.host import cpuset_list


def runtime_cpu_count(pinning: Mapping[str, Any] | None) -> int | None:
    """How many CPUs the runtime had to itself; None when it was not pinned apart from
    the load side (unpinned, or contended: k6 ran on its CPUs too)."""
    if not pinning or not pinning.get("enabled") or pinning.get("contended"):
        return None
    return len(cpuset_list(str(pinning.get("runtime_cpus") or ""))) or None


def neighbour_cores(
    runtime_cpus_busy: float | None, runtime_cpus: int | None, cpu_cores: float | None
) -> float | None:
    """Cores of the runtime's CPUs busy beyond the runtime itself (never below 0); None
    where a figure is missing or the runtime had no CPUs of its own."""
    if runtime_cpus_busy is None or runtime_cpus is None or cpu_cores is None:
        return None
    return max(0.0, runtime_cpus_busy * runtime_cpus - cpu_cores)


def neighbour_warning(
    cell: str,
    cores: float | None,
    pinning: Mapping[str, Any] | None,
    max_cores: float,
    when: str = "during the load",
) -> str | None:
    """A warning naming the cause when another process used more than `max_cores` of the
    runtime's CPUs `when` (the cell's load, a search's median step)."""
    if cores is None or cores <= max_cores:
        return None
    cpus = (pinning or {}).get("runtime_cpus")
    return (
        f"{cell}: something besides the runtime kept {cores:.2f} cores of its CPUs ({cpus}) "
        f"busy {when} by the host's counters (/proc/stat), more than a quiet host "
        f"shows ({max_cores:.2f}, `thresholds.max_neighbour_cores`): another process shared the "
        "runtime's CPUs. A runtime that needs more than its fair share of them got less than "
        "its limit there, and reads slower than its tier is. Find the process with `top -1` "
        "and rerun the cell on a quiet host."
    )
