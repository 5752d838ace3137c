"""The pre-flight's facts on one host with a Docker engine, gathered without starting a
container: files under /proc and /sys, the engine's `docker info`, `docker compose
version` and `k6 version`, side by side so the whole stays well under 3 s."""

from __future__ import annotations

import os
import platform
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from python_on_whales.exceptions import DockerException

from tierbench.load.docker.cgroups import locate_cgroup, parse_mountinfo
from tierbench.load.docker.compose import compose_version
from tierbench.load.docker.engine import docker_endpoint, docker_info
from tierbench.load.host import cgroup_version
from tierbench.load.k6 import K6Error, k6_version
from tierbench.preflight.facts import EngineFacts, HostFacts, ToolFacts

# The browsers kaleido can drive for the charts, as tests/conftest.py and
# scripts/ensure-chromium.sh look for them.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
ENGINE_TIMEOUT_S = 2.0


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
