"""The yardstick on this host's Docker engine (see `tierbench.load.yardstick`).

The reference service runs in a container of the reference stack's base image with host
networking, bound to 127.0.0.1, under the tier's CPU quota and memory limit (no swap) and
on the runtime's CPUs; k6 on the load side's CPUs drives it closed-loop and writes only
its summary; the container's own cgroup CPU counter, read before and after k6's run,
gives the CPU per request. The container is removed on every path.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import uuid
from importlib import resources
from pathlib import Path

from python_on_whales import Container, DockerClient
from python_on_whales.exceptions import DockerException

from tierbench.config.limits import LimitSet
from tierbench.load.backend import BackendError
from tierbench.load.docker.cgroups import CgroupFiles, locate_cgroup
from tierbench.load.docker.compose import docker_client
from tierbench.load.docker.containers import wait_for_http
from tierbench.load.host import cpuset_list
from tierbench.load.k6 import free_loopback_port, k6_binary, run_duration
from tierbench.load.yardstick import (
    DURATION_S,
    VUS_PER_PROCESS,
    Yardstick,
    YardstickError,
    workload_text,
    yardstick_from_counts,
)

# The base images the reference stack builds from (scripts/ensure-base-images.sh): the
# public one, or the one built locally where no registry answers. Both have python3.
BASE_IMAGES = ("python:3.11-slim-bookworm", "tierbench/base:bookworm")
LABEL = "tierbench.yardstick"
READY_TIMEOUT_S = 20.0
K6_TIMEOUT_S = 60.0
K6_SCRIPT = """import http from "k6/http";
// Each VU keeps one connection to one of the service's processes, in turn.
const ports = __ENV.YARDSTICK_PORTS.split(",");
const url = `http://127.0.0.1:${ports[(Math.max(__VU, 1) - 1) % ports.length]}/`;
export const options = { discardResponseBodies: true };
export default function () {
  http.get(url);
}
"""


def yardstick_image(client: DockerClient) -> str:
    """The first base image present on the engine (TIERBENCH_PYTHON_BASE first, as the
    reference stack's Compose file reads it); nothing is pulled."""
    candidates = [os.environ.get("TIERBENCH_PYTHON_BASE"), *BASE_IMAGES]
    for name in filter(None, candidates):
        if client.image.exists(name):
            return name
    raise YardstickError(
        f"no image to run it in: none of {', '.join(BASE_IMAGES)} is on the engine; run "
        "scripts/ensure-base-images.sh, or `docker pull python:3.11-slim-bookworm`"
    )


def distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_loopback_port()
        if port not in ports:
            ports.append(port)
    return ports


def start_service(client: DockerClient, limits: LimitSet, ports: list[int]) -> Container:
    """The reference service's container, under `limits`, serving `ports`; one created but
    not started, or started as an interrupt (Ctrl-C, SIGTERM) came, is removed before the
    error goes on."""
    source = resources.files("tierbench.load").joinpath("yardstick_server.py").read_text()
    image, name = yardstick_image(client), f"tierbench-yardstick-{uuid.uuid4().hex[:12]}"
    try:
        return run_service(client, image, name, limits, [source, *map(str, ports)])
    except DockerException as error:
        remove_named(client, name)
        raise YardstickError(f"its container did not start: {error.stderr}") from None
    except BaseException:
        remove_named(client, name)
        raise


def remove_named(client: DockerClient, name: str) -> None:
    """The container called `name` gone, if the engine made it."""
    if client.container.exists(name):
        client.container.remove(name, force=True)


def run_service(
    client: DockerClient, image: str, name: str, limits: LimitSet, arguments: list[str]
) -> Container:
    return client.container.run(
        image,
        ["python3", "-c", *arguments],
        detach=True,
        name=name,
        labels={LABEL: "1"},
        networks=["host"],
        cpus=limits.cpus,
        memory=limits.memory_bytes,
        memory_swap=limits.memswap_bytes or limits.memory_bytes,
        cpuset_cpus=cpuset_list(limits.cpuset) or None,
    )


def wait_until_serving(container: Container, ports: list[int]) -> None:
    def exited() -> str | None:
        container.reload()
        if container.state.running:
            return None
        return f"the yardstick's service exited: {container.logs(tail=10).strip()}"

    try:
        for port in ports:
            wait_for_http(f"http://127.0.0.1:{port}/", READY_TIMEOUT_S, "the yardstick", exited)
    except BackendError as error:
        raise YardstickError(str(error)) from None


def service_cgroup(container: Container, limits: LimitSet) -> CgroupFiles:
    """The container's own cgroup files, proven to be its own by its id and limits."""
    container.reload()
    cgroup = locate_cgroup(container.state.pid)
    if cgroup is None:
        raise YardstickError("the yardstick's cgroup files are out of reach from this host")
    problem = cgroup.identity_problem(container.id, limits.memory_bytes, round(limits.cpus * 1e9))
    if problem:
        raise YardstickError(problem)
    return cgroup


def run_closed_loop(
    ports: list[int], load_cpus: tuple[int, ...], work: Path, duration_s: float = DURATION_S
) -> tuple[int, float]:
    """k6's closed-loop run against `ports`, pinned to `load_cpus` (all when empty):
    (requests, k6's run in s). YardstickError when k6 fails or a request failed."""
    script, summary = work / "yardstick.js", work / "summary.json"
    script.write_text(K6_SCRIPT)
    vus = VUS_PER_PROCESS * len(ports)
    command = [k6_binary(), "run", "--quiet", "--no-color", "--no-usage-report"]
    command += ["--vus", str(vus), "--duration", f"{duration_s:g}s"]
    command += ["--summary-export", str(summary), str(script)]
    env = os.environ | {"YARDSTICK_PORTS": ",".join(map(str, ports)), "K6_NO_USAGE_REPORT": "true"}
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=K6_TIMEOUT_S,
        preexec_fn=(lambda: os.sched_setaffinity(0, load_cpus)) if load_cpus else None,
    )
    if done.returncode != 0:
        raise YardstickError(f"k6 exited with code {done.returncode}: {done.stderr[-500:]}")
    metrics = json.loads(summary.read_text()).get("metrics", {})
    failed = (metrics.get("http_req_failed") or {}).get("value") or 0
    measured = run_duration({"metrics": metrics})
    if failed or measured is None:
        raise YardstickError(f"{failed:.1%} of its requests failed" if failed else "no request")
    return int(metrics["http_reqs"]["count"]), measured[0]


def remove(container: Container) -> None:
    try:
        container.remove(force=True)
    except DockerException as error:
        raise YardstickError(f"could not remove {container.name}: {error.stderr}") from None


def measure_yardstick(
    limits: LimitSet, load_cpus: tuple[int, ...], duration_s: float = DURATION_S
) -> Yardstick:
    """The yardstick under `limits`, loaded from `load_cpus` for `duration_s` (a sweep
    always uses DURATION_S; benchmarks/yardstick_spread.py tries others); YardstickError
    when it cannot be measured here (the message says why)."""
    if limits.cpus <= 0:
        raise YardstickError("the tier sets no CPU limit")
    client = docker_client()
    ports = distinct_ports(max(1, math.ceil(limits.cpus)))
    try:
        container = start_service(client, limits, ports)
    except DockerException as error:
        raise YardstickError(f"Docker refused a request: {error.stderr}") from None
    try:
        wait_until_serving(container, ports)
        cgroup = service_cgroup(container, limits)
        with tempfile.TemporaryDirectory(prefix="tierbench-yardstick-") as work:
            before = cgroup.read().cpu_usage_ns
            requests, measured_s = run_closed_loop(ports, load_cpus, Path(work), duration_s)
            used_ns = cgroup.read().cpu_usage_ns - before
    except DockerException as error:
        raise YardstickError(f"Docker refused a request: {error.stderr}") from None
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
        raise YardstickError(f"{type(error).__name__}: {error}") from None
    finally:
        remove(container)
    return yardstick_from_counts(
        requests,
        measured_s,
        used_ns,
        limits.cpus,
        limits.memory_bytes,
        workload_text(duration_s),
    )
