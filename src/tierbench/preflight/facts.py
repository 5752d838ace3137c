"""The facts the pre-flight judges, and how they are gathered on this host.

Gathering reads files under /proc and /sys, asks the engine `docker info`, and runs
`docker compose version` and `k6 version`, side by side so the whole stays well under 3 s.
No container is started.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from python_on_whales.exceptions import DockerException

from tierbench.config.sweep import Sweep
from tierbench.load.docker.cgroups import locate_cgroup, parse_mountinfo
from tierbench.load.docker.compose import compose_version
from tierbench.load.docker.engine import docker_endpoint, docker_info
from tierbench.load.host import cgroup_version
from tierbench.load.k6 import K6Error, k6_version

# The browsers kaleido can drive for the charts, as tests/conftest.py and
# scripts/ensure-chromium.sh look for them.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
ENGINE_TIMEOUT_S = 2.0


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


def host_cpus() -> tuple[int, ...]:
    if hasattr(os, "sched_getaffinity"):
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


def memory_available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """What the kernel says can be used without swapping (MemAvailable)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cgroup_files_readable(version: int, proc: Path = Path("/proc")) -> bool:
    """Whether this process can read the counters the sampler reads: on v1 its own
    cgroup's cpu, cpuacct and memory files; on v2 a unified hierarchy that offers the cpu
    and memory controllers. A container's cgroup sits beside these."""
    if version == 1:
        own = locate_cgroup(os.getpid(), proc)
        return own is not None and own.version == 1
    try:
        mounts = parse_mountinfo((proc / "self" / "mountinfo").read_text())
        controllers = (Path(mounts[""][1]) / "cgroup.controllers").read_text().split()
    except (OSError, KeyError):
        return False
    return {"cpu", "memory"} <= set(controllers)


def free_disk(results_dir: Path) -> int:
    """Free bytes on the file system that will hold `results_dir` (it may not exist yet)."""
    path = results_dir.resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def engine_facts() -> EngineFacts:
    info, problem = docker_info(ENGINE_TIMEOUT_S)
    if info is None:
        return EngineFacts(endpoint=docker_endpoint(), problem=problem)
    return EngineFacts.from_docker_info(info, docker_endpoint())


def compose_facts() -> ToolFacts:
    try:
        return ToolFacts(compose_version().removeprefix("Docker Compose version "))
    except (RuntimeError, OSError, ImportError, DockerException) as error:
        lines = str(error).strip().splitlines()
        return ToolFacts(None, lines[-1] if lines else type(error).__name__)


def k6_facts() -> ToolFacts:
    try:
        return ToolFacts(k6_version())
    except (K6Error, OSError) as error:
        return ToolFacts(None, str(error))


def first_chromium() -> str | None:
    return next(filter(None, (shutil.which(name) for name in CHROMIUM_NAMES)), None)


def gather_host_facts(results_dir: Path) -> HostFacts:
    """Every fact the checks judge; the engine, Compose and k6 are asked side by side."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        engine = pool.submit(engine_facts)
        compose = pool.submit(compose_facts)
        k6 = pool.submit(k6_facts)
        version = cgroup_version()
        return HostFacts(
            system=platform.system(),
            machine=platform.machine(),
            cpus=host_cpus(),
            cgroup_version=version,
            cgroup_files_readable=cgroup_files_readable(version),
            memory_available_bytes=memory_available_bytes(),
            disk_free_bytes=free_disk(results_dir),
            disk_path=results_dir,
            engine=engine.result(),
            compose=compose.result(),
            k6=k6.result(),
            chromium=first_chromium(),
            npm=shutil.which("npm"),
        )
