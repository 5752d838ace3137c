"""The load stage on one host's Docker engine: Docker Compose places the runtime under
the tier's limits, k6 runs on the host, cgroup files (or docker stats) measure."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

from python_on_whales.exceptions import DockerException

from tierbench.compose_project import compose_config
from tierbench.config.limits import LimitSet, format_bytes, limit_differences
from tierbench.config.sweep import ServiceEndpoint, Sweep
from tierbench.load.backend import (
    Backend,
    BackendError,
    LimitCheck,
    LoadRequest,
    Placement,
    RuntimeFailed,
    RuntimeState,
)
from tierbench.load.docker.compose import compose_version, docker_client
from tierbench.load.docker.containers import (
    USER_SET_LIMITS,
    RuntimeContainer,
    health_json,
    limits_override,
    local_json,
    wait_until_ready,
    write_override,
)
from tierbench.load.docker.engine import docker_endpoint, docker_info, stop_support_services
from tierbench.load.docker.sampler import ResourceSampler
from tierbench.load.docker.yardstick import measure_yardstick
from tierbench.load.host import cpuset, host_facts, support_cpus_for, usable_cpus
from tierbench.load.host_speed import probe_speed
from tierbench.load.k6 import K6Run, k6_version, run_k6

# What to change in the Compose file when Docker applied another limit than the tier's.
COMPOSE_HINTS = {
    "cpus": "remove the service's own `cpus` and `deploy.resources.limits.cpus`",
    "memory": "remove the service's own `mem_limit` and `deploy.resources.limits.memory`",
    "memswap": "remove the service's own `memswap_limit` (a pod cannot swap)",
    "cpuset": (
        "remove the service's own `cpuset` (tierbench pins CPUs itself, or leaves them "
        "free with cpu_pinning: off)"
    ),
}


class EngineGone(BackendError):
    """The Docker engine stopped answering in the middle of a cell."""


Method = TypeVar("Method", bound=Callable[..., Any])


def engine_answers() -> bool:
    info, _ = docker_info(timeout_s=5.0)
    return info is not None


def talks_to_engine(method: Method) -> Method:
    """A failure while talking to the engine is checked against the engine itself: when
    the engine no longer answers, that (and what to do) is the message, not whichever
    call happened to notice first."""

    @functools.wraps(method)
    def call(self: DockerBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except RuntimeFailed:
            raise
        except (BackendError, DockerException) as error:
            if engine_answers():
                if isinstance(error, DockerException):
                    raise BackendError(
                        f"Docker refused a request during {method.__name__}: "
                        f"{error.stderr or error}"
                    ) from None
                raise
            raise EngineGone(
                f"the Docker engine stopped answering during {method.__name__} "
                f"at {docker_endpoint()}: start it again (`make docker`) and rerun; "
                "the cells finished so far are kept and only the missing ones run"
            ) from None

    return call  # type: ignore[return-value]


class DockerBackend(Backend):
    """Cells on this host's Docker engine, through Docker Compose."""

    name = "docker"
    summarises_loads = True

    def __init__(self, sweep: Sweep, override_dir: Path):
        self.sweep = sweep
        self.override_dir = override_dir
        self.runtime: RuntimeContainer | None = None
        self.placement: Placement | None = None
        self.user_set: list[str] = []

    def _service_definition(self, service: str) -> dict:
        return compose_config(self.sweep.compose_file, self.sweep.project)["services"][service]

    def _support_cpuset(self) -> str:
        """The support services' CPUs: the same for every cell of the sweep, so they start
        once and are never recreated by a cell's override."""
        tier_cpus = [tier.limits.cpus for tier in self.sweep.tiers.values()]
        if self.sweep.cpu_pinning == "off":
            return ""
        return cpuset(support_cpus_for(tier_cpus, usable_cpus()))

    def _support_client(self) -> RuntimeContainer:
        """A Compose client of the project with the support services' CPUs."""
        any_runtime = next(iter(self.sweep.runtimes.values()))
        support_cpuset = self._support_cpuset()
        override = write_override(
            self.override_dir / "support.override.yaml",
            {
                "services": {
                    name: {"cpuset": support_cpuset}
                    for name in self.sweep.support_service_names
                    if support_cpuset
                }
            },
        )
        return RuntimeContainer(self.sweep.compose_file, override, self.sweep.project, any_runtime)

    @talks_to_engine
    def start_support(self, timeout_s: float) -> None:
        self._support_client().start_support(self.sweep.support, timeout_s)
        for entry in self.sweep.support:
            if isinstance(entry, ServiceEndpoint):
                wait_until_ready(entry, timeout_s, f"support service {entry.service}")

    @talks_to_engine
    def place(self, placement: Placement) -> None:
        service = placement.runtime.service
        self.user_set = [k for k in USER_SET_LIMITS if k in self._service_definition(service)]
        override = write_override(
            self.override_dir / f"{placement.cell.name}.override.yaml",
            limits_override(
                service,
                placement.requested,
                self.user_set,
                self.sweep.support_service_names,
                self._support_cpuset(),
                dict(placement.runtime.environment),
                placement.runtime.image,
            ),
        )
        self.placement = placement
        self.runtime = RuntimeContainer(
            self.sweep.compose_file, override, self.sweep.project, placement.runtime
        )
        self.runtime.recreate_with_limits()

    def _placed(self) -> tuple[RuntimeContainer, Placement]:
        if self.runtime is None or self.placement is None:
            raise BackendError("no runtime is placed")
        return self.runtime, self.placement

    @talks_to_engine
    def wait_ready(self, timeout_s: float) -> float:
        return self._placed()[0].wait_until_healthy(timeout_s)

    def health_report(self) -> dict[str, Any]:
        _, placement = self._placed()
        return health_json(placement.runtime.base_url + placement.runtime.health_path)

    reaches_services = True

    def service_json(self, port: int, method: str, path: str) -> dict[str, Any]:
        return local_json(port, method, path)

    @talks_to_engine
    def check_limits(self) -> LimitCheck:
        runtime, placement = self._placed()
        applied = runtime.applied_limits()
        problems = []
        for key, text in limit_differences(placement.requested, applied, "Docker"):
            own = {"memswap": "memswap_limit", "cpuset": "cpuset"}.get(key)
            where = (
                f"; the Compose file sets `{own}` for service {placement.runtime.service}"
                if own in self.user_set
                else ""
            )
            problems.append(f"{text}{where}: {COMPOSE_HINTS[key]}")
        return LimitCheck(placement.requested, applied, tuple(problems), "docker inspect")

    @talks_to_engine
    def sampler(self) -> ResourceSampler:
        runtime, placement = self._placed()
        assert runtime.container is not None
        runtime.container.reload()
        support = [
            (container.id, container.state.pid)
            for name in self.sweep.support_service_names
            for container in runtime.service_containers(name)
            if container.state.running
        ]
        applied = runtime.applied_limits()
        plan = placement.cpus
        # Unpinned, the load side and the runtime share every CPU: () reads them all.
        load_cpus = set(plan.load_generator_cpus) | set(plan.support_cpus) if plan.enabled else ()
        return ResourceSampler(
            runtime.container.id,
            runtime.container.state.pid,
            applied,
            support,
            load_cpus=tuple(sorted(load_cpus)),
            runtime_cpus=plan.runtime_cpus,
        )

    def run_load(self, request: LoadRequest, sampler: ResourceSampler) -> K6Run:
        _, placement = self._placed()
        return run_k6(
            request.script,
            request.stages,
            request.base_url,
            request.out_json,
            request.summary_json,
            request.log,
            cpus=placement.cpus.load_generator_cpus,
            extra_env=request.env,
            on_spawn=sampler.watch_process,
            on_start=sampler.sample_now,
            on_tick=request.progress or (lambda api, elapsed: None),
        )

    @talks_to_engine
    def runtime_state(self) -> RuntimeState:
        runtime, _ = self._placed()
        container = runtime.container
        assert container is not None
        container.reload()
        state = container.state
        finished = state.finished_at
        ended = state.status != "running" and finished is not None and finished.year > 1
        return RuntimeState(
            status=state.status,
            exit_code=state.exit_code,
            oom_killed=bool(state.oom_killed),
            image={"id": container.image, "name": container.config.image},
            finished_at=finished.astimezone(UTC).isoformat() if ended else None,
        )

    def last_logs(self, lines: int = 30) -> str:
        return self.runtime.last_logs(lines) if self.runtime else ""

    @talks_to_engine
    def teardown(self) -> None:
        if self.runtime is not None:
            self.runtime.remove()

    @talks_to_engine
    def stop_support(self) -> None:
        stop_support_services(self.sweep)

    @talks_to_engine
    def versions(self) -> dict[str, str]:
        return {
            "k6": k6_version(),
            "docker": docker_client().version().server.version,
            "compose": compose_version().removeprefix("Docker Compose version "),
        }

    def facts(self) -> dict[str, Any]:
        return host_facts()

    def probe_host_speed(self, placement: Placement) -> dict[str, Any] | None:
        cpus = placement.cpus.runtime_cpus
        try:
            return {"cpus": list(cpus), "runs_ms": probe_speed(cpus)}
        except (OSError, subprocess.SubprocessError, ValueError):
            return None  # the figures do not depend on it: the meta says null

    def measure_yardstick(self, placement: Placement) -> dict[str, Any] | None:
        """The yardstick in a container of its own under the tier's limits, on the
        runtime's CPUs, k6 on the load generator's (tierbench.load.docker.yardstick)."""
        return measure_yardstick(placement.requested, placement.cpus.load_generator_cpus).as_dict()

    @staticmethod
    def describe(limits: LimitSet) -> str:
        return f"{limits.cpus:g} CPUs, {format_bytes(limits.memory_bytes)}"
