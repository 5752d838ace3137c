"""The yardstick on the real engine: a busy loop sharing the runtime's CPU slows it by the
share the kernel takes from it, as it slows a CPU-bound service.

Each side is measured three times, interleaved (quiet, busy, busy, quiet, quiet, busy), and
compared by its medians: on this 2-core host one quiet yardstick alone read 1,469 to 2,604
req/s, the host's own speed moving that much from one second to the next, so one reading
a side made the slowdown anything from 0.48 to 0.74. How closely the one's slowdown
predicts the other's is printed, not held to a bound: in five runs of this test the
quotient of the two read 0.86-1.05, outside the 10 % the yardstick aims at twice."""

from __future__ import annotations

import json
import os
import statistics
import subprocess

import pytest

from conftest import Workdir, busy_loop, containers_of
from tierbench.config.limits import Limits, LimitSet
from tierbench.config.sweep import ServiceEndpoint
from tierbench.load.docker import yardstick as docker_yardstick
from tierbench.load.docker.cgroups import CgroupFiles, locate_cgroup
from tierbench.load.docker.containers import RuntimeContainer, limits_override, write_override
from tierbench.load.docker.yardstick import LABEL, measure_yardstick
from tierbench.load.host import cpuset, plan_cpus, usable_cpus
from tierbench.load.k6 import k6_binary

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"
# One CPU of quota on a core shared with a busy loop: the kernel's fair share gives each
# about half the core, so the container gets about 0.5 CPU. (A quota of half a core or
# less would be untouched: its fair share covers it.)
TIER = Limits(cpus=1.0, memory_bytes=512 * 2**20)
CALIBRATED = ServiceEndpoint("calibrated", 19186, "/healthz")  # 2 ms of CPU per request
# Each side three times, in an order that puts as many of each early as late.
ORDER = ("quiet", "busy", "busy", "quiet", "quiet", "busy")


def service_load(
    workdir: Workdir, load_cpus: tuple[int, ...], cgroup: CgroupFiles
) -> tuple[float, float]:
    """The calibrated service at saturation, k6 closed-loop with 32 VUs for 2 s (its
    replies come in two writes, so a connection waits out the peer's delayed ACK: a few
    VUs would leave it idle): its req/s and its CPU ms per request, from its cgroup."""
    summary = workdir.path / "summary.json"
    before = cgroup.read().cpu_usage_ns
    done = subprocess.run(
        [k6_binary(), "run", "--quiet", "--no-usage-report", "--vus", "32", "--duration", "2s"]
        + ["--summary-export", str(summary), str(workdir.path / "k6" / "work.js")],
        env=os.environ | {"BASE_URL": CALIBRATED.base_url, "K6_NO_USAGE_REPORT": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.sched_setaffinity(0, load_cpus),
    )
    used_ms = (cgroup.read().cpu_usage_ns - before) / 1e6
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(summary.read_text())["metrics"]
    assert metrics["http_req_failed"]["value"] == 0
    return metrics["http_reqs"]["rate"], used_ms / metrics["http_reqs"]["count"]


def measure(
    limits: LimitSet, load: tuple[int, ...], workdir: Workdir, cgroup: CgroupFiles
) -> dict[str, float]:
    """The yardstick, then the calibrated service, as they run now."""
    yardstick = measure_yardstick(limits, load)
    rps, cpu_ms = service_load(workdir, load, cgroup)
    return {
        "yardstick_rps": yardstick.rps,
        "yardstick_cpu_ms": yardstick.cpu_ms_per_request,
        "yardstick_cpu_pct": yardstick.cpu_pct_of_limit,
        "service_rps": rps,
        "service_cpu_ms": cpu_ms,
    }


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def yardstick_containers() -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL}"], capture_output=True, text=True
    )
    return listed.stdout.split()


def test_a_busy_loop_on_the_runtimes_cpu_slows_the_yardstick_as_it_slows_a_cpu_bound_service(
    workdir: Workdir,
):
    assert len(usable_cpus()) >= 2, "the runtime needs a CPU apart from the load generator's"
    plan = plan_cpus(TIER.cpus, [TIER.cpus], "auto")
    assert plan.enabled and len(plan.runtime_cpus) == 1, plan.reason
    limits = LimitSet.for_tier(TIER, cpuset(plan.runtime_cpus))
    load = plan.load_generator_cpus
    override = write_override(
        workdir.path / "calibrated.yaml", limits_override("calibrated", limits, [], [], "")
    )
    service = RuntimeContainer(workdir.path / "compose.yaml", override, PROJECT, CALIBRATED)
    try:
        cgroup = locate_cgroup(service.recreate_with_limits().state.pid)
        assert cgroup is not None
        service.wait_until_healthy(20)
        runs: dict[str, list[dict[str, float]]] = {"quiet": [], "busy": []}
        for side in ORDER:
            if side == "busy":
                with busy_loop(plan.runtime_cpus[0]):
                    runs[side].append(measure(limits, load, workdir, cgroup))
            else:
                runs[side].append(measure(limits, load, workdir, cgroup))
    finally:
        service.remove()
    for side in ORDER[:2]:
        for run in runs[side]:
            print(side, *(f"{key} {value:.4g}" for key, value in run.items()), sep="; ")
    quiet, busy = medians(runs["quiet"]), medians(runs["busy"])
    yardstick_ratio = busy["yardstick_rps"] / quiet["yardstick_rps"]
    service_ratio = busy["service_rps"] / quiet["service_rps"]
    print(
        f"yardstick ratio {yardstick_ratio:.3f}, service ratio {service_ratio:.3f}, "
        f"quotient {service_ratio / yardstick_ratio:.3f}"
    )
    # Alone, the yardstick fills its CPU limit: it measures the CPU, not the load generator.
    assert all(run["yardstick_cpu_pct"] > 85 for run in runs["quiet"]), runs["quiet"]
    # The busy loop takes about half the core: the yardstick gets about half as far.
    assert 0.3 < yardstick_ratio < 0.7, (quiet, busy)
    # The CPU-bound service loses its share of the core too: both see the same neighbour.
    assert 0.3 < service_ratio < 0.7, (quiet, busy)
    assert yardstick_containers() == [] and containers_of(PROJECT) == []


def test_an_interrupt_as_the_engine_starts_the_yardstick_leaves_no_container(monkeypatch):
    """Ctrl-C (or the SIGTERM a sweep turns into one) arriving while the engine starts the
    yardstick's container, before its handle came back: the container is removed anyway.
    (A sweep interrupted there once left one running.)"""
    started: list[str] = []
    run_service = docker_yardstick.run_service

    def run_then_interrupt(client, image, name, limits, arguments):
        run_service(client, image, name, limits, arguments)
        started.append(name)
        raise KeyboardInterrupt

    monkeypatch.setattr(docker_yardstick, "run_service", run_then_interrupt)
    limits = LimitSet.for_tier(Limits(cpus=0.25, memory_bytes=256 * 2**20), "")
    with pytest.raises(KeyboardInterrupt):
        measure_yardstick(limits, ())
    assert len(started) == 1
    leftover = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"label={LABEL}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert leftover == []
