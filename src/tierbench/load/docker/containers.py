"""Control of the runtime's container: recreate it with a tier's limits, wait for health,
read the limits back, and remove it on every path."""

from __future__ import annotations

import errno
import json
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import yaml
from python_on_whales import Container, DockerClient
from python_on_whales.exceptions import DockerException

from tierbench.config.limits import LimitSet, format_cpus
from tierbench.config.sweep import ServiceEndpoint
from tierbench.files import write_text
from tierbench.load.backend import BackendError, RuntimeFailed
from tierbench.load.docker.compose import compose_client


class ContainerError(BackendError):
    """The runtime's container could not be brought to a state fit for a load."""


# Limits a Compose file may set on a service that tierbench's override would otherwise
# replace. Where the user's file sets one, the override leaves it, and the limit check
# reports the difference by name instead of overwriting the user's setting unseen.
USER_SET_LIMITS = ("memswap_limit", "cpuset")


def limits_override(
    service: str,
    requested: LimitSet,
    user_set: Iterable[str],
    support_services: list[str],
    support_cpuset: str,
    environment: dict[str, str] | None = None,
    image: str | None = None,
) -> dict:
    """A Compose override that gives `service` the tier's limits, as a pod's limits, the
    runtime's own `environment` (a variant's, say) over the Compose file's, and, for a
    variant with build args, the `image` built for it (`variant_image_override`).

    memswap_limit equals the memory limit, so the runtime cannot swap (pods do not).
    CPUs are written exactly, in millicores at most (the config refuses finer values).
    """
    kept = set(user_set)
    runtime: dict = {
        "deploy": {
            "resources": {
                "limits": {
                    "cpus": format_cpus(requested.cpus),
                    "memory": str(requested.memory_bytes),
                }
            }
        },
    }
    if "memswap_limit" not in kept and requested.memswap_bytes is not None:
        runtime["memswap_limit"] = str(requested.memswap_bytes)
    if "cpuset" not in kept and requested.cpuset:
        runtime["cpuset"] = requested.cpuset
    if environment:
        runtime["environment"] = dict(environment)
    if image:
        runtime |= variant_image_override(image)
    services = {service: runtime}
    for name in support_services:
        if support_cpuset:
            services[name] = {"cpuset": support_cpuset}
    return {"services": services}


def variant_image_override(image: str) -> dict:
    """What runs a variant's own image on its service: the image, already built by the
    workflow (`tierbench.load.docker.images.ensure_variant_image`), never pulled; and the
    runtime is started without a build (`RuntimeContainer`), so Compose cannot build the
    service's own section under the variant's tag."""
    return {"image": image, "pull_policy": "never"}


def limits_from_inspect(host_config: dict) -> LimitSet:
    """The limits Docker applied, from `docker inspect`'s HostConfig.

    Compose may express CPUs as a CFS quota instead of NanoCpus; both are read. A
    MemorySwap of 0 means "not set", which Docker turns into twice the memory; -1 means
    unlimited swap.
    """
    nano_cpus = host_config.get("NanoCpus") or 0
    if nano_cpus:
        cpus = nano_cpus / 1e9
    elif host_config.get("CpuQuota") and host_config.get("CpuPeriod"):
        cpus = host_config["CpuQuota"] / host_config["CpuPeriod"]
    else:
        cpus = 0.0
    memory = int(host_config.get("Memory") or 0)
    swap = host_config.get("MemorySwap")
    if swap in (None, -1) or (swap == 0 and not memory):
        memswap = None
    elif swap == 0:
        memswap = 2 * memory
    else:
        memswap = int(swap)
    return LimitSet(cpus, memory, memswap, host_config.get("CpusetCpus") or "")


def write_override(path: Path, override: dict) -> Path:
    write_text(yaml.safe_dump(override, sort_keys=False), path)
    return path


def health_problem(url: str) -> str | None:
    """None when `url` answers HTTP 200, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))


def health_json(url: str) -> dict:
    """The JSON object a health path answers with, or {} when it answers anything else."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def local_json(port: int, method: str, path: str, timeout_s: float = 15) -> dict:
    """The JSON object a service on 127.0.0.1:`port` answers to `method` `path` (a POST
    with no body); OSError when it cannot be reached or answers an HTTP error, ValueError
    when the answer is not a JSON object."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        body = json.loads(response.read() or b"null")
    if not isinstance(body, dict):
        raise ValueError(f"answered {body!r:.100}, not a JSON object")
    return body


def tcp_problem(port: int) -> str | None:
    """None when a TCP connection to 127.0.0.1:`port` succeeds, else what went wrong."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


def _wait_until(
    problem_now: Callable[[], str | None],
    timeout_s: float,
    failure: Callable[[str], str],
    stop_early: Callable[[], str | None],
) -> float:
    """Seconds until `problem_now()` names no problem; ContainerError with `failure(last
    problem)` past the timeout, or as soon as `stop_early` names a reason to give up."""
    started = time.monotonic()
    problem = "no answer"
    while time.monotonic() - started < timeout_s:
        found = problem_now()
        if found is None:
            return time.monotonic() - started
        problem = found
        reason = stop_early()
        if reason:
            raise ContainerError(reason)
        time.sleep(0.05)
    raise ContainerError(failure(problem))


def wait_for_http(
    url: str,
    timeout_s: float,
    what: str,
    stop_early: Callable[[], str | None] = lambda: None,
) -> float:
    """Seconds until `url` answered 200; ContainerError past the timeout, or as soon as
    `stop_early` names a reason to give up (the container exited, say)."""
    return _wait_until(
        lambda: health_problem(url),
        timeout_s,
        lambda problem: f"{what} was not healthy after {timeout_s:g} s: {url} gave {problem}",
        stop_early,
    )


def wait_until_ready(endpoint: ServiceEndpoint, timeout_s: float, what: str) -> float:
    """Seconds until `endpoint` is ready: HTTP 200 from its health path, or, for a service
    with none (a database, say), a TCP connection to its port."""
    if endpoint.health_path is not None:
        return wait_for_http(endpoint.base_url + endpoint.health_path, timeout_s, what)
    return _wait_until(
        lambda: tcp_problem(endpoint.port),
        timeout_s,
        lambda problem: (
            f"{what} was not ready after {timeout_s:g} s: no TCP connection to "
            f"127.0.0.1:{endpoint.port} ({problem}). Check its port in the config, or give "
            "it a health_path if it speaks HTTP"
        ),
        lambda: None,
    )


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Closed connections in TIME_WAIT do not stop a server from listening; only a
        # listener does, which SO_REUSEADDR still detects.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


class RuntimeContainer:
    """One runtime's Compose service, limited to one tier."""

    def __init__(
        self,
        compose_file: Path,
        override_file: Path,
        project: str,
        endpoint: ServiceEndpoint,
    ):
        self.endpoint = endpoint
        self.project = project
        self.client: DockerClient = compose_client(
            [compose_file, override_file],
            project_name=project,
            project_directory=compose_file.parent,
        )
        self.container: Container | None = None

    def start_support(
        self, support: list[ServiceEndpoint | str], timeout_s: float | None = None
    ) -> None:
        """Start the support services unless they run already; they are never limited.
        Compose waits for the healthcheck of those that have one, up to `timeout_s`."""
        names = [entry if isinstance(entry, str) else entry.service for entry in support]
        if not names:
            return
        running = {c.name for c in self.client.compose.ps(services=names)}
        for entry in support:
            if isinstance(entry, str) or any(entry.service in name for name in running):
                continue
            if port_in_use(entry.port):
                raise ContainerError(
                    f"port {entry.port} on 127.0.0.1 is already in use by another process, so "
                    f"support service {entry.service} cannot listen on it: stop that process "
                    "or move the service to another port"
                )
        try:
            self.client.compose.up(
                services=names,
                detach=True,
                wait=True,
                wait_timeout=None if timeout_s is None else math.ceil(timeout_s),
                quiet=True,
            )
        except DockerException as error:
            raise ContainerError(
                f"could not start support services {', '.join(names)}: {error.stderr or error}"
            ) from None
        self._wait_until_healthy(names, timeout_s)

    def _wait_until_healthy(self, names: list[str], timeout_s: float | None) -> None:
        """Compose's `--wait` can return before a container's first healthcheck has run:
        wait here too for every support container that has a healthcheck to be healthy."""
        wait_s = math.ceil(timeout_s) if timeout_s is not None else 60
        deadline = time.monotonic() + wait_s
        for container in self.client.compose.ps(services=names):
            while True:
                container.reload()
                health = container.state.health
                status = None if health is None else health.status
                if status in (None, "healthy"):
                    break
                if status == "unhealthy" or time.monotonic() >= deadline:
                    raise ContainerError(
                        f"could not start support services {', '.join(names)}: container "
                        f"{container.name} is {status}, not healthy after {wait_s}s"
                    )
                time.sleep(0.25)

    def recreate_with_limits(self) -> Container:
        """Remove any old container of the service, then create and start a new one."""
        self.remove()
        if port_in_use(self.endpoint.port):
            raise ContainerError(
                f"port {self.endpoint.port} on 127.0.0.1 is already in use by another process, "
                f"so service {self.endpoint.service} cannot listen on it: stop that process "
                "or give the runtime another port in the config"
            )
        try:
            self.client.compose.up(
                services=[self.endpoint.service],
                detach=True,
                force_recreate=True,
                # A variant's own image is built beforehand, with its build args.
                no_build=self.endpoint.image is not None,
                dependencies=False,
                quiet=True,
            )
        except DockerException as error:
            raise ContainerError(
                f"could not start service {self.endpoint.service}: {error.stderr or error}"
            ) from None
        containers = self.service_containers()
        if not containers:
            raise ContainerError(f"service {self.endpoint.service} has no container after `up`")
        self.container = containers[0]
        return self.container

    def service_containers(self, service: str | None = None) -> list[Container]:
        """A service's containers (the runtime's by default), by Compose's labels (much
        faster than `compose ps`)."""
        return self.client.container.list(
            all=True,
            filters=[
                ("label", f"com.docker.compose.project={self.project}"),
                ("label", f"com.docker.compose.service={service or self.endpoint.service}"),
            ],
        )

    def last_logs(self, lines: int = 30) -> str:
        if self.container is None:
            return ""
        try:
            return self.client.container.logs(self.container, tail=lines).strip()
        except DockerException:
            return "(no logs: the container is gone)"

    def exit_problem(self) -> str | None:
        """Why waiting for health is pointless now: the container exited."""
        if self.container is None:
            return None
        self.container.reload()
        if self.container.state.status not in ("exited", "dead"):
            return None
        return (
            f"service {self.endpoint.service} exited (code {self.container.state.exit_code}) "
            "before its health path answered"
        )

    def wait_until_healthy(self, timeout_s: float) -> float:
        """Seconds until the health path answered 200; RuntimeFailed, with the evidence,
        once the container exited or past the timeout."""
        url = self.endpoint.base_url + self.endpoint.health_path
        try:
            return wait_for_http(
                url, timeout_s, f"service {self.endpoint.service}", self.exit_problem
            )
        except ContainerError as error:
            raise self.failure(str(error)) from None

    def failure(self, problem: str) -> RuntimeFailed:
        """Why the runtime failed, with what its container says: exit code, OOM kill, its
        last log lines; and what to do, which depends on how it failed."""
        evidence: dict = {"at": datetime.now(UTC).isoformat(), "problem": problem}
        if self.container is not None:
            try:
                self.container.reload()
                state = self.container.state
                evidence |= {
                    "status": state.status,
                    "exit_code": state.exit_code,
                    "oom_killed": bool(state.oom_killed),
                }
            except DockerException:
                evidence["status"] = "gone"
        evidence["last_logs"] = self.last_logs()
        if evidence.get("oom_killed"):
            reason = "OOM-killed"
            hint = "its memory limit at this tier is too small for it to start"
        elif evidence.get("status") in ("exited", "dead"):
            reason = f"exited with code {evidence.get('exit_code')}"
            hint = "it crashed while starting: see its last log lines"
        else:
            reason = "never became healthy"
            hint = "check the health path and port in the config, or raise health_timeout"
        evidence["reason"] = reason
        return RuntimeFailed(
            f"{problem}: {reason}; {hint}. Its last log lines:\n{evidence['last_logs']}",
            evidence,
        )

    def applied_limits(self) -> LimitSet:
        """The limits Docker applied, read back from `docker inspect`."""
        assert self.container is not None
        self.container.reload()
        host_config = self.container.host_config
        return limits_from_inspect(
            {
                "NanoCpus": host_config.nano_cpus,
                "CpuQuota": host_config.cpu_quota,
                "CpuPeriod": host_config.cpu_period,
                "Memory": host_config.memory,
                "MemorySwap": host_config.memory_swap,
                "CpusetCpus": host_config.cpuset_cpus,
            }
        )

    def remove(self) -> None:
        """Kill and remove the service's container(s); harmless when there are none."""
        try:
            containers = self.service_containers()
            if containers:
                self.client.container.remove(containers, force=True, volumes=True)
        except DockerException as error:
            raise ContainerError(
                f"could not remove service {self.endpoint.service}: {error.stderr or error}"
            ) from None
        self.container = None
