"""One cell's life, whichever procedure runs inside it.

    with CellRun(sweep, cell, backend, files, log) as run:
        if run.failure:          # the runtime never started at this tier: that is the result
            ...
        sampler = run.start_sampler()
        ...                      # one closed-loop load, or a capacity search of many steps

On entry: start the support services, time the host, place the runtime under its tier's
limits, wait until it is ready and verify the limits. On exit, on every path: stop the
sampler, remove the runtime and, when the body raised, every partial output. The
comparison cell (`tierbench.load.cell`) and the capacity search (`tierbench.capacity.cell`)
are each the short body inside it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from tierbench import __version__
from tierbench.cell_meta import CellIdentity
from tierbench.config.limits import LimitSet, format_bytes
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet
from tierbench.load.backend import (
    Backend,
    BackendError,
    LimitCheck,
    LimitsNotApplied,
    Placement,
    RuntimeFailed,
    Sampler,
)
from tierbench.load.host import cpuset, plan_cpus
from tierbench.load.host_speed import speed_record
from tierbench.load.yardstick import YardstickError, yardstick_pair


def say(log: Path, message: str) -> None:
    """A progress line, to the job's log and to the terminal."""
    line = f"tierbench: {message}"
    print(line, file=sys.stderr, flush=True)
    with open(log, "a") as handle:
        handle.write(line + "\n")


@contextmanager
def faults_stop_the_sweep(cell: str, log: Path) -> Iterator[None]:
    """A fault of the machinery (not of the runtime, whose failure is the cell's result)
    stops the sweep: said once, plainly, in the log and on the terminal, and the job
    exits 1."""
    try:
        yield
    except BackendError as error:
        say(log, f"cell {cell} stopped the sweep: {error}")
        sys.exit(1)


def git_revision(directory: Path) -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True
        ).stdout.strip()

    revision = git("rev-parse", "--short=12", "HEAD")
    if not revision:
        return None
    return revision + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def runtime_workers(report: dict[str, Any]) -> int | None:
    """The worker processes a runtime reports on its health path, if it does."""
    workers = report.get("workers")
    return workers if isinstance(workers, int) and not isinstance(workers, bool) else None


def placement_for(sweep: Sweep, cell: Cell) -> Placement:
    tier = sweep.tiers[cell.tier]
    plan = plan_cpus(
        tier.limits.cpus, [t.limits.cpus for t in sweep.tiers.values()], sweep.cpu_pinning
    )
    return Placement(
        cell=cell,
        runtime=sweep.runtimes[cell.runtime],
        requested=LimitSet.for_tier(tier.limits, cpuset(plan.runtime_cpus)),
        cpus=plan,
    )


def verify_limits(backend: Backend, placement: Placement) -> LimitCheck:
    check = backend.check_limits()
    if not check.verified:
        raise LimitsNotApplied(
            f"{placement.cell.name}: the runtime {placement.runtime.service} does not run under "
            f"tier {placement.cell.tier}'s limits ({check.source}): " + "; ".join(check.problems),
            check,
        )
    return check


def tear_down(backend: Backend, failed: BaseException | None, log: Path) -> None:
    """Tear the cell down, on every path. After a failure, a teardown that fails too is
    logged, and the first failure, the one that says what happened, is the one raised."""
    if failed is None:
        backend.teardown()
        return
    try:
        backend.teardown()
    except BackendError as also:
        say(log, f"teardown after {type(failed).__name__} failed too: {also}")


def ready_line(placement: Placement, check: LimitCheck, health_s: float) -> str:
    applied = check.applied
    return (
        f"{placement.runtime.service} healthy in {health_s:.2f} s, limits verified "
        f"({applied.cpus:g} CPUs, {format_bytes(applied.memory_bytes)}, no swap"
        + (f", CPUs {applied.cpuset}" if applied.cpuset else "")
        + ")"
    )


def cell_identity(sweep: Sweep, cell: Cell, placement: Placement) -> dict[str, Any]:
    """Which cell a record is of: the first keys of every meta and capacity record,
    failed or not (`CellIdentity`'s fields)."""
    identity = CellIdentity(
        tierbench_version=__version__,
        cell=cell.name,
        runtime=cell.runtime,
        tier=cell.tier,
        repeat=cell.repeat,
        service=placement.runtime.service,
        port=placement.runtime.port,
        environment=dict(placement.runtime.environment),
        build_args=dict(placement.runtime.build_args),
        variant_of=sweep.runtime_settings.get(cell.runtime, {}).get("variant_of"),
        tier_order=sweep.tiers[cell.tier].order,
        backend=sweep.backend,
    )
    return {f.name: getattr(identity, f.name) for f in fields(identity)}


class CellRun:
    """One runtime under one tier's limits, from placement to teardown (a context manager).

    `failure` is set when the runtime failed to start at this tier; `unplaceable` when it
    died later and could not be placed again. `rows` holds the samples of every sampler
    the run started, each stamped with its container, so a runtime placed afresh keeps
    the earlier container's samples apart from its own. With `yardstick`, the yardstick is
    measured before the runtime is placed and after it is removed (`yardstick_record`).
    """

    def __init__(
        self,
        sweep: Sweep,
        cell: Cell,
        backend: Backend,
        files: OutputSet,
        log: Path,
        project_dir: Path = Path("."),
        yardstick: bool = False,
    ):
        self.sweep, self.cell, self.backend = sweep, cell, backend
        self.files, self.log, self.project_dir = files, log, project_dir
        self.placement = placement_for(sweep, cell)
        self.failure: RuntimeFailed | None = None
        self.unplaceable: RuntimeFailed | None = None
        self.check: LimitCheck | None = None
        self.workers: int | None = None
        self.timings: dict[str, float] = {}
        self.placements = 0
        self.sampler: Sampler | None = None
        self.rows: list[dict] = []
        self.host_speed: dict[str, Any] | None = None
        self._speed_before: dict[str, Any] | None = None
        self.measures_yardstick = yardstick
        self.yardstick: dict[str, dict[str, Any] | None] = {"before": None, "after": None}

    @property
    def name(self) -> str:
        return self.cell.name

    def say(self, message: str) -> None:
        say(self.log, f"{self.cell.name}: {message}")

    def __enter__(self) -> CellRun:
        self.files.prepare()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.say(self.placement.cpus.reason)
        try:
            self.backend.start_support(self.sweep.health_timeout_s)
            self._speed_before = self.backend.probe_host_speed(self.placement)
            self.measure_yardstick("before")
            try:
                self.place()
            except RuntimeFailed as failure:
                self.failure = failure
                self.say(f"failed to start: {failure}")
        except BaseException as error:
            self.__exit__(type(error), error, None)
            raise
        return self

    def place(self) -> None:
        """Place the runtime under its tier's limits, wait until ready, verify the limits."""
        started = time.monotonic()
        self.backend.place(self.placement)
        self.timings["recreate"] = time.monotonic() - started
        self.timings["health"] = self.backend.wait_ready(self.sweep.health_timeout_s)
        self.workers = runtime_workers(self.backend.health_report())
        started = time.monotonic()
        self.check = verify_limits(self.backend, self.placement)
        self.timings["limits_check"] = time.monotonic() - started
        self.placements += 1
        self.say(ready_line(self.placement, self.check, self.timings["health"]))

    def place_afresh(self, why: str) -> bool:
        """A new runtime in place of the current one; False (and `unplaceable` set) when
        it cannot start again."""
        self.say(f"{why}; placing the runtime afresh")
        running = self.sampler is not None
        self.stop_sampler()
        try:
            self.place()
        except RuntimeFailed as failure:
            self.unplaceable = failure
            return False
        if running:
            self.start_sampler()
        return True

    def start_sampler(self) -> Sampler:
        self.sampler = self.backend.sampler()
        self.sampler.start()
        return self.sampler

    def stop_sampler(self) -> list[dict]:
        """Stop the sampler (if one runs); its rows join the run's."""
        if self.sampler is None:
            return []
        sampler, self.sampler = self.sampler, None
        rows = sampler.stop()
        self.rows.extend(rows)
        return rows

    def samples(self) -> list[dict]:
        """Every sample so far, the running sampler's included."""
        return [*self.rows, *(list(self.sampler.rows) if self.sampler else [])]

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> bool:
        try:
            if error is not None:
                try:
                    self.stop_sampler()
                finally:
                    self.files.discard()
        finally:
            started = time.monotonic()
            tear_down(self.backend, error, self.log)
            self.timings["teardown"] = time.monotonic() - started
        if error is None and self.failure is None:
            after = self.backend.probe_host_speed(self.placement)
            self.host_speed = speed_record(self._speed_before, after)
            self.measure_yardstick("after")
        return False

    def measure_yardstick(self, when: str) -> None:
        """The yardstick now (`when`: "before" or "after"), when this run measures it; one
        that cannot be measured is said in the log and stays null: no figure depends on it."""
        if not self.measures_yardstick:
            return
        try:
            found = self.backend.measure_yardstick(self.placement)
        except YardstickError as error:
            self.say(f"no yardstick {when} the cell: {error}")
            return
        self.yardstick[when] = found
        if found is not None:
            self.say(
                f"yardstick {when}: {found['rps']:,.0f} req/s, "
                f"{found['cpu_ms_per_request']:.3f} ms CPU per request "
                f"({found['cpu_pct_of_limit']:.0f} % of the CPU limit)"
            )

    def yardstick_record(self) -> dict[str, Any] | None:
        """The record's `yardstick`: before and after; None when neither was measured."""
        return yardstick_pair(self.yardstick["before"], self.yardstick["after"])

    def provenance(self) -> dict[str, Any]:
        """Where and with what the cell ran: the last keys of every record."""
        return {
            "host": self.backend.facts(),
            "host_speed": self.host_speed,
            "versions": {"tierbench": __version__, **self.backend.versions()},
            "git_revision": git_revision(self.project_dir),
        }
