"""Facts about the host, and how its CPUs are shared between runtime and load generator."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path


def usable_cpus() -> list[int]:
    """CPUs this process may run on, in order."""
    return sorted(os.sched_getaffinity(0))


def cgroup_version() -> int:
    """2 on a unified cgroup hierarchy, 1 otherwise."""
    return 2 if Path("/sys/fs/cgroup/cgroup.controllers").exists() else 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def host_facts() -> dict:
    return {
        "cpu_model": cpu_model(),
        "cores": len(usable_cpus()),
        "kernel": platform.release(),
        "cgroup_version": cgroup_version(),
        "memory_bytes": memory_bytes(),
    }


@dataclass(frozen=True)
class CpuPlan:
    """Which CPUs the runtime, the load generator and the support services get.

    `runtime_cpus` empty means "not pinned" (the kernel schedules freely).
    """

    enabled: bool
    contended: bool
    runtime_cpus: tuple[int, ...]
    load_generator_cpus: tuple[int, ...]
    support_cpus: tuple[int, ...]
    reason: str

    def as_dict(self) -> dict:
        return {
            "enabled": self.enabled,
            "contended": self.contended,
            "runtime_cpus": cpuset(self.runtime_cpus),
            "load_generator_cpus": cpuset(self.load_generator_cpus),
            "support_cpus": cpuset(self.support_cpus),
            "reason": self.reason,
        }


def cpuset(cpus: tuple[int, ...] | list[int]) -> str:
    """The cpuset string Docker takes (`0,1,3`); empty for "all"."""
    return ",".join(str(c) for c in cpus)


def cpuset_list(cpuset: str) -> list[int]:
    """Docker's cpuset string (`0,1`, `0-3`) as CPU ids; [] for every CPU."""
    cpus: list[int] = []
    for part in filter(None, cpuset.split(",")):
        first, _, last = part.partition("-")
        cpus += range(int(first), int(last or first) + 1)
    return cpus


def support_cpus_for(tier_cpus: list[float], cpus: list[int]) -> tuple[int, ...]:
    """CPUs for support services: those no uncontended tier gives to the runtime.

    Support services start once for the whole sweep, so their CPUs must stay apart from
    the runtime's in every tier that can be kept apart at all.
    """
    fitting = [math.ceil(c) for c in tier_cpus if math.ceil(c) + 1 <= len(cpus)]
    if not fitting:
        return ()
    return tuple(cpus[max(fitting) :])


def plan_cpus(
    tier_cpus: float, all_tier_cpus: list[float], pinning: str, cpus: list[int] | None = None
) -> CpuPlan:
    """Share the host's CPUs for one cell.

    With at least ceil(tier cpus) + 1 cores, the runtime gets the first ceil(tier cpus) cores
    and the load generator the rest; support services get the cores no tier's runtime uses.
    Otherwise the cell runs unpinned and is marked contended. `separate-nodes` (the
    kubernetes backend) shares nothing and pins nothing.
    """
    if pinning == "separate-nodes":
        # A cluster: the runtime has a node of its own and k6 another, so this host's
        # cores say nothing about contention, and there are no CPU ids to pin to.
        return CpuPlan(
            False,
            False,
            (),
            (),
            (),
            "the runtime runs on a node of its own, k6 on another: no CPU is shared",
        )
    cpus = usable_cpus() if cpus is None else cpus
    needed = math.ceil(tier_cpus)
    contended = needed + 1 > len(cpus)
    if pinning == "off":
        reason = "CPU pinning is off: the kernel schedules runtime and load generator freely"
        if contended:
            reason += (
                f"; the tier asks for {tier_cpus:g} CPUs and the host has {len(cpus)}, so the "
                "runtime shares CPUs with the load generator (contended)"
            )
        return CpuPlan(False, contended, (), (), (), reason)
    if contended:
        return CpuPlan(
            enabled=False,
            contended=True,
            runtime_cpus=(),
            load_generator_cpus=(),
            support_cpus=support_cpus_for(all_tier_cpus, cpus),
            reason=(
                f"the tier asks for {tier_cpus:g} CPUs and the host has {len(cpus)}: the runtime "
                f"needs {needed + 1} cores to keep one apart for the load generator, so it runs "
                "unpinned and shares CPUs with the load generator (contended)"
            ),
        )
    return CpuPlan(
        enabled=True,
        contended=False,
        runtime_cpus=tuple(cpus[:needed]),
        load_generator_cpus=tuple(cpus[needed:]),
        support_cpus=support_cpus_for(all_tier_cpus, cpus),
        reason=(
            f"runtime pinned to CPU {cpuset(cpus[:needed])}, load generator and support "
            f"services to CPU {cpuset(cpus[needed:])}"
        ),
    )
