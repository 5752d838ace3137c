"""The facts the pre-flight judges. The machinery gathers them (on one host's Docker
engine, `tierbench.load.docker.preflight`); the checks judge them without asking anyone."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tierbench.config.sweep import Sweep


@dataclass(frozen=True)
class EngineFacts:
    """The container engine as `docker info` describes it; `problem` when none answered."""

    endpoint: str
    problem: str | None = None
    version: str = ""
    operating_system: str = ""
    os_type: str = ""
    architecture: str = ""
    cgroup_version: int | None = None
    cpus: int | None = None
    memory_bytes: int | None = None
    network_drivers: tuple[str, ...] = ()
    rootless: bool = False
    # What the engine can enforce: CFS quota, memory, swap (memswap), cpusets.
    enforces: tuple[tuple[str, bool], ...] = ()

    @property
    def answered(self) -> bool:
        return self.problem is None

    @property
    def docker_desktop(self) -> bool:
        return "Docker Desktop" in self.operating_system

    @property
    def on_this_host(self) -> bool:
        """The engine's processes share this host's kernel and loopback: a local socket
        (or a loopback TCP address), not Docker Desktop's VM."""
        endpoint = urlparse(self.endpoint)
        local = endpoint.scheme in ("unix", "npipe", "fd") or endpoint.hostname in (
            "127.0.0.1",
            "localhost",
            "::1",
        )
        return local and not self.docker_desktop

    @classmethod
    def from_docker_info(cls, info: dict, endpoint: str) -> EngineFacts:
        cgroup = str(info.get("CgroupVersion") or "")
        return cls(
            endpoint=endpoint,
            version=info.get("ServerVersion") or "",
            operating_system=info.get("OperatingSystem") or "",
            os_type=info.get("OSType") or "",
            architecture=info.get("Architecture") or "",
            cgroup_version=int(cgroup) if cgroup.isdigit() else None,
            cpus=info.get("NCPU"),
            memory_bytes=info.get("MemTotal"),
            network_drivers=tuple((info.get("Plugins") or {}).get("Network") or ()),
            rootless=any("rootless" in option for option in info.get("SecurityOptions") or ()),
            enforces=(
                ("CPU quota", bool(info.get("CpuCfsQuota"))),
                ("memory limits", bool(info.get("MemoryLimit"))),
                ("swap limits", bool(info.get("SwapLimit"))),
                ("cpusets", bool(info.get("CPUSet"))),
            ),
        )


@dataclass(frozen=True)
class ToolFacts:
    """A tool's version, or why it cannot be used."""

    version: str | None
    problem: str | None = None


@dataclass(frozen=True)
class HostFacts:
    system: str  # platform.system()
    machine: str  # platform.machine()
    cpus: tuple[int, ...]  # the CPUs this process may run on
    cgroup_version: int
    cgroup_files_readable: bool
    memory_available_bytes: int | None
    disk_free_bytes: int
    disk_path: Path  # the results directory the free space is for
    engine: EngineFacts
    compose: ToolFacts
    k6: ToolFacts
    chromium: str | None
    npm: str | None


@dataclass(frozen=True)
class SweepShape:
    """What the pre-flight needs to know of a sweep."""

    tiers: dict[str, tuple[float, int]]  # name -> (CPUs, memory bytes), in config order
    cells_per_tier: int  # runtimes x repeats
    load_duration_s: float
    cpu_pinning: str

    @classmethod
    def of(cls, sweep: Sweep) -> SweepShape:
        return cls(
            tiers={
                name: (tier.limits.cpus, tier.limits.memory_bytes)
                for name, tier in sweep.tiers.items()
            },
            cells_per_tier=len(sweep.runtimes) * sweep.repeats,
            load_duration_s=sweep.load_duration_s,
            cpu_pinning=sweep.cpu_pinning,
        )

    @property
    def cells(self) -> int:
        return self.cells_per_tier * len(self.tiers)

    @property
    def tier_cpus(self) -> list[float]:
        return [cpus for cpus, _ in self.tiers.values()]

    @staticmethod
    def cores_to_keep_apart(cpus: float) -> int:
        """Cores a tier needs to run uncontended: its own, and one for the load side."""
        return math.ceil(cpus) + 1
