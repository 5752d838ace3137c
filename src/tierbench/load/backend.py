"""The seam between one cell's procedure and the machinery that runs it.

`tierbench.load.cell` reads like the procedure (start the support services, place the
runtime under the tier's limits, wait until ready, verify the limits, sample, load, tear
down) and talks only to a `Backend`. Docker Compose on one host is one backend
(`tierbench.load.docker`); a Kubernetes cluster is another. Nothing above this seam
imports a Docker or Kubernetes client.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tierbench.config.limits import LimitSet
from tierbench.config.sweep import Cell, ServiceEndpoint
from tierbench.load.host import CpuPlan
from tierbench.load.k6 import K6Run


class BackendError(RuntimeError):
    """The machinery could not bring a cell to a state fit for a load (engine, ports,
    images, limits): nothing was measured, and the message says what to do."""


class RuntimeFailed(BackendError):
    """The runtime itself failed before the load: it exited, was OOM-killed, or never
    became healthy. That is the cell's result (this runtime cannot run at this tier), not
    a fault of the machinery: the sweep records it and goes on."""

    def __init__(self, message: str, evidence: dict[str, Any]):
        super().__init__(message)
        self.evidence = evidence


class LimitsNotApplied(BackendError):
    """The runtime runs under other limits than the tier asked for."""

    def __init__(self, message: str, check: LimitCheck):
        super().__init__(message)
        self.check = check


@dataclass(frozen=True)
class Placement:
    """Where and under which limits one cell's runtime runs."""

    cell: Cell
    runtime: ServiceEndpoint
    requested: LimitSet
    cpus: CpuPlan


@dataclass(frozen=True)
class LimitCheck:
    """The limits asked for, the limits read back from the machinery, and every way they
    differ; `verified` is the outcome of that comparison, nothing else."""

    requested: LimitSet
    applied: LimitSet
    problems: tuple[str, ...]
    source: str  # where `applied` was read, e.g. "docker inspect"

    @property
    def verified(self) -> bool:
        return not self.problems

    def as_meta(self) -> dict[str, Any]:
        return {
            "requested": self.requested.as_dict(),
            "applied": self.applied.as_dict(),
            "verified": self.verified,
            "problems": list(self.problems),
            "source": self.source,
        }


@dataclass(frozen=True)
class RuntimeState:
    """The runtime after the load: still running, exited, OOM-killed."""

    status: str
    exit_code: int | None
    oom_killed: bool
    image: dict[str, str | None]
    finished_at: str | None = None  # ISO 8601 UTC: when its process ended, if it did


@dataclass(frozen=True)
class LoadRequest:
    """One k6 run against the placed runtime."""

    script: Path
    base_url: str
    out_json: Path | None  # None: k6 writes no raw data (a backend that `summarises_loads`)
    summary_json: Path
    log: Path
    stages: list[dict] | None = None  # None: the script's own options set the load
    env: dict[str, str] = field(default_factory=dict)
    # Called about every 0.2 s while k6 loads, with k6's live metrics and the seconds since
    # the load began (a backend that cannot read k6 live may not call it).
    progress: Callable[[Any, float], None] | None = None


class Sampler(Protocol):
    """Resource samples of the runtime and the load side while the load runs."""

    source: str
    source_reason: str
    rows: list[dict]  # the samples so far, in tierbench.load.samples.COLUMNS

    def start(self) -> None: ...

    def stop(self) -> list[dict]: ...

    def summary(self) -> dict[str, Any]: ...


class Backend(ABC):
    """One machinery that runs cells. Every method may raise BackendError."""

    name: str
    # Whether a load may run without k6's raw data (LoadRequest.out_json None).
    summarises_loads: bool = False

    @abstractmethod
    def start_support(self, timeout_s: float) -> None:
        """Start the support services unless they run already, and wait until ready."""

    @abstractmethod
    def place(self, placement: Placement) -> None:
        """(Re)create the runtime under the placement's limits."""

    @abstractmethod
    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until the runtime's health path answered."""

    def health_report(self) -> dict[str, Any]:
        """What the runtime's health path answered, when it answers JSON (the reference
        runtimes report their `workers` there); {} otherwise."""
        return {}

    @abstractmethod
    def check_limits(self) -> LimitCheck:
        """The limits the runtime runs under, read back and compared with the request."""

    @abstractmethod
    def sampler(self) -> Sampler:
        """A sampler of the placed runtime and of the load side."""

    @abstractmethod
    def run_load(self, request: LoadRequest, sampler: Sampler) -> K6Run:
        """Run k6 to its end against the runtime; its outputs land at the request's paths."""

    @abstractmethod
    def runtime_state(self) -> RuntimeState:
        """The runtime's state now."""

    @abstractmethod
    def last_logs(self, lines: int = 30) -> str:
        """The runtime's last log lines, for messages."""

    @abstractmethod
    def teardown(self) -> None:
        """Remove the runtime; harmless when there is none. Called on every path."""

    @abstractmethod
    def stop_support(self) -> None:
        """Stop the support services at the end of the sweep."""

    def load_side_cores(self, placement: Placement) -> tuple[int, bool]:
        """The cores the load side (k6 and the support services) was given for this cell,
        and whether it shared them with the runtime. On one host, from the CPU plan:
        pinned, the load generator's and support services' own cores; unpinned (a
        contended tier), every core, shared with the runtime."""
        plan = placement.cpus
        if plan.enabled:
            return len(set(plan.load_generator_cpus) | set(plan.support_cpus)), False
        return int(self.facts()["cores"]), True

    # Whether `service_json` reaches the cell's services from here (on one host, at
    # 127.0.0.1); where not, the span-delivery check is skipped.
    reaches_services = False

    def service_json(self, port: int, method: str, path: str) -> dict[str, Any]:
        """What a service of the cell (the runtime, a support service) answers at `path`
        on its port, as a JSON object. OSError or ValueError when it does not answer one."""
        raise OSError(f"the {self.name} backend cannot reach the services from here")

    def probe_host_speed(self, placement: Placement) -> dict[str, Any] | None:
        """Time a fixed CPU workload where the runtime runs, with nothing of the cell
        running (tierbench.load.host_speed); None where the backend cannot run it there."""
        return None

    def measure_yardstick(self, placement: Placement) -> dict[str, Any] | None:
        """Measure the yardstick (tierbench.load.yardstick) where the runtime runs, under
        the placement's limits and on its CPUs, with nothing of the cell running: the
        record's dict, or None where the backend has no way to run it.
        tierbench.load.yardstick.YardstickError when it could not be measured this time."""
        return None

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of the machinery, for the meta."""

    @abstractmethod
    def facts(self) -> dict[str, Any]:
        """Facts about where the runtime runs (host cores, CPU model, cgroup version)."""
