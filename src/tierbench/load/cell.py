"""One cell of the sweep: one runtime under one tier's limits, loaded by k6, measured.

The procedure is written once against `tierbench.load.backend.Backend`: start the support
services, place the runtime, wait until ready, verify the limits, sample, load, tear down.
Outputs are written under temporary names and renamed only when the whole cell finished,
so an interrupted or failed cell never leaves a file that looks finished. The runtime is
removed on every path.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tierbench import __version__
from tierbench.config.limits import LimitSet, format_bytes
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet, file_sha256
from tierbench.load.backend import (
    Backend,
    BackendError,
    LimitCheck,
    LimitsNotApplied,
    LoadRequest,
    Placement,
    RuntimeFailed,
    RuntimeState,
)
from tierbench.load.host import cpuset, plan_cpus
from tierbench.load.host_speed import speed_record
from tierbench.load.k6 import K6Run
from tierbench.load.progress import ProgressLine, SweepPosition
from tierbench.load.samples import load_side_usage, load_side_warning, write_resources_csv
from tierbench.preflight.record import recorded_warnings


@dataclass(frozen=True)
class CellOutputs:
    k6_json: Path
    k6_summary: Path
    resources_csv: Path
    meta_json: Path

    def output_set(self) -> OutputSet:
        # The meta goes last: its presence means the cell is complete.
        return OutputSet([self.k6_json, self.k6_summary, self.resources_csv, self.meta_json])


def results_dir(outputs: CellOutputs) -> Path:
    """The sweep's results/ directory, where results/meta/{cell}.json lives."""
    return outputs.meta_json.parent.parent


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


def load_warnings(oom_kills: int, restarts: int, thresholds_failed: bool) -> list[str]:
    """What went wrong during the load itself; the aggregate step adds the rest
    (contention, spread) from the meta."""
    warnings = []
    if oom_kills:
        warnings.append(
            f"The runtime was OOM-killed {oom_kills} time(s) under this tier's memory limit: "
            "its figures cover a crashing service. Give the tier more memory or fix the "
            "runtime's memory use."
        )
    if restarts:
        warnings.append(f"The runtime's container restarted {restarts} time(s) during the load.")
    if thresholds_failed:
        warnings.append("k6 thresholds failed in this cell (k6 exit code 99): see its log.")
    return warnings


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


def run_cell(
    sweep: Sweep,
    cell: Cell,
    backend: Backend,
    outputs: CellOutputs,
    log: Path,
    project_dir: Path = Path("."),
) -> dict:
    """Run one cell end to end and write its outputs; returns its meta.

    A runtime that fails (exits, is OOM-killed or never becomes healthy before the load;
    dies during it) is the cell's result: its status and evidence are written as the cell's
    outputs and the sweep goes on. A fault of the machinery (BackendError) stops the sweep
    with nothing written.
    """
    placement = placement_for(sweep, cell)
    files = outputs.output_set()
    files.prepare()
    log.parent.mkdir(parents=True, exist_ok=True)
    say(log, f"{cell.name}: {placement.cpus.reason}")

    timings: dict[str, float] = {}
    failed: BaseException | None = None
    try:
        backend.start_support(sweep.health_timeout_s)
        speed_before = backend.probe_host_speed(placement)
        started = time.monotonic()
        backend.place(placement)
        timings["recreate"] = time.monotonic() - started
        try:
            timings["health"] = backend.wait_ready(sweep.health_timeout_s)
        except RuntimeFailed as failure:
            meta = failed_start_meta(sweep, cell, placement, failure, backend)
            meta["orchestration_s"] = timings
            say(log, f"{cell.name}: failed to start: {failure}")
            _write_failed_outputs(files, outputs, meta)
            return meta
        workers = runtime_workers(backend.health_report())
        started = time.monotonic()
        check = verify_limits(backend, placement)
        timings["limits_check"] = time.monotonic() - started
        say(log, f"{cell.name}: {_ready_line(placement, check, timings['health'])}")
        progress = ProgressLine(
            cell.name,
            SweepPosition.of(cell.name, [c.name for c in sweep.cells], results_dir(outputs)),
            sweep.load_duration_s,
        )
        sampler = backend.sampler()
        sampler.start()
        try:
            k6 = backend.run_load(
                LoadRequest(
                    script=sweep.k6_script,
                    base_url=placement.runtime.base_url,
                    out_json=files.partial(outputs.k6_json),
                    summary_json=files.partial(outputs.k6_summary),
                    log=log,
                    stages=sweep.stages,
                    progress=progress.tick,
                ),
                sampler,
            )
        finally:
            progress.done()
            rows = sampler.stop()
        state = backend.runtime_state()
        crash = crash_evidence(state, sampler.summary(), backend)
    except BaseException as error:
        failed = error
        files.discard()
        raise
    finally:
        started = time.monotonic()
        tear_down(backend, failed, log)
        timings["teardown"] = time.monotonic() - started

    facts = backend.facts()
    speed = speed_record(speed_before, backend.probe_host_speed(placement))
    meta = cell_meta(sweep, cell, placement, check, k6, sampler.summary(), state, facts)
    meta["host_speed"] = speed
    meta["versions"] = {"tierbench": __version__, **backend.versions()}
    meta["git_revision"] = git_revision(project_dir)
    meta["orchestration_s"] = timings
    meta["runtime_workers"] = workers
    # The sweep's pre-flight warnings, from results/preflight.json beside results/meta/.
    meta["preflight"] = recorded_warnings(results_dir(outputs))
    if crash is not None:
        _record_crash(meta, crash)
    cores_given, shared = backend.load_side_cores(placement)
    window_start = datetime.fromisoformat(meta["window"]["start"])
    window_end = datetime.fromisoformat(meta["window"]["end"])
    meta["load_side"] = load_side_usage(rows, window_start, window_end, cores_given, shared)
    saturated = load_side_warning(meta["load_side"])
    if saturated:
        meta["warnings"].append(saturated)
    for warning in meta["warnings"]:
        say(log, f"{cell.name}: warning: {warning}")

    write_resources_csv(files.partial(outputs.resources_csv), rows)
    files.partial(outputs.meta_json).write_text(json.dumps(meta, indent=2) + "\n")
    files.commit()
    return meta


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


def _ready_line(placement: Placement, check: LimitCheck, health_s: float) -> str:
    applied = check.applied
    return (
        f"{placement.runtime.service} healthy in {health_s:.2f} s, limits verified "
        f"({applied.cpus:g} CPUs, {format_bytes(applied.memory_bytes)}, no swap"
        + (f", CPUs {applied.cpuset}" if applied.cpuset else "")
        + ")"
    )


def crash_evidence(state: RuntimeState, resources: dict[str, Any], backend: Backend) -> dict | None:
    """How the runtime died during the load, or None when it lived through it."""
    if state.status == "running" and not state.oom_killed and not resources.get("deaths"):
        return None
    reason = (
        "OOM-killed"
        if state.oom_killed or resources.get("oom_kills")
        else (
            f"exited with code {state.exit_code}"
            if state.status in ("exited", "dead")
            else "died and restarted"
        )
    )
    return {
        "reason": reason,
        "status": state.status,
        "exit_code": state.exit_code,
        "oom_killed": bool(state.oom_killed),
        # When the process ended (the engine's record), else when the engine said so.
        "at": state.finished_at or resources.get("first_death_at"),
        "last_logs": backend.last_logs(),
    }


def _record_crash(meta: dict[str, Any], crash: dict[str, Any]) -> None:
    """A crashed cell keeps its figures up to the crash: the measured window ends there."""
    meta["status"] = "crashed"
    meta["failure"] = crash
    window = meta["window"]
    if crash["at"] and crash["at"] < window["end"]:
        died = datetime.fromisoformat(crash["at"])
        start = datetime.fromisoformat(window["start"])
        window["end"] = window["samples_until"] = max(died, start).isoformat()
        window["duration_s"] = max(0.0, (died - start).total_seconds())
        window["cut_at_crash"] = True
    meta["warnings"].append(
        f"The runtime crashed during the load ({crash['reason']}): its figures cover the "
        "load up to the crash only."
    )


def cell_identity(sweep: Sweep, cell: Cell, placement: Placement) -> dict[str, Any]:
    """Which cell a meta is of: the first keys of every meta, failed or not."""
    return {
        "tierbench_version": __version__,
        "cell": cell.name,
        "runtime": cell.runtime,
        "tier": cell.tier,
        "repeat": cell.repeat,
        "service": placement.runtime.service,
        "port": placement.runtime.port,
        "tier_order": sweep.tiers[cell.tier].order,
        "backend": sweep.backend,
    }


def profile_meta(sweep: Sweep) -> dict[str, Any]:
    return {
        "name": sweep.profile_name,
        "stages": sweep.stages,
        "warmup_s": sweep.warmup_s,
        "duration_s": sweep.load_duration_s,
    }


def failed_start_meta(
    sweep: Sweep, cell: Cell, placement: Placement, failure: RuntimeFailed, backend: Backend
) -> dict[str, Any]:
    """The meta of a cell whose runtime never ran the load: what was asked, and why not."""
    try:
        limits = backend.check_limits().as_meta()
    except BackendError:
        limits = {"requested": placement.requested.as_dict(), "applied": None, "verified": False}
    return {
        **cell_identity(sweep, cell, placement),
        "status": "failed_to_start",
        "failure": failure.evidence,
        "profile": profile_meta(sweep),
        "limits": limits,
        "window": None,
        "pinning": placement.cpus.as_dict(),
        "contended": placement.cpus.contended,
        "k6": {"script": str(sweep.k6_script), "script_sha256": file_sha256(sweep.k6_script)},
        "host": backend.facts(),
        "versions": {"tierbench": __version__, **backend.versions()},
        "config_hash": sweep.cell_config_hash(cell),
        "warnings": [f"The runtime failed to start at this tier: {failure.evidence['reason']}."],
    }


def _write_failed_outputs(files: OutputSet, outputs: CellOutputs, meta: dict[str, Any]) -> None:
    """A failed cell's outputs: no k6 data (an empty raw file, an empty summary), no
    samples, and the meta that says why; written whole, like any cell's."""
    raw = files.partial(outputs.k6_json)
    raw.write_bytes(gzip.compress(b"") if raw.name.endswith(".gz") else b"")
    files.partial(outputs.k6_summary).write_text(json.dumps({"metrics": {}}) + "\n")
    write_resources_csv(files.partial(outputs.resources_csv), [])
    files.partial(outputs.meta_json).write_text(json.dumps(meta, indent=2) + "\n")
    files.commit()


def _window(k6: K6Run, warmup_s: float):
    """The measured window on k6's clock: from the load's start plus the warm-up to its
    end. The start is the instant tierbench resumed k6 (before k6's clock started), the
    end k6's acknowledgement of that plus k6's own run duration. k6 starts its clock a
    scheduling delay after it acknowledges, so its last samples can be stamped just past
    this end: samples are taken up to `samples_until` (k6's exit) instead."""
    return k6.started_at + timedelta(seconds=warmup_s), k6.ended_at


def cell_meta(
    sweep: Sweep,
    cell: Cell,
    placement: Placement,
    check: LimitCheck,
    k6: K6Run,
    resources: dict[str, Any],
    state: Any,
    facts: dict[str, Any],
) -> dict[str, Any]:
    """What was run, under which limits, over which window, with which result."""
    window_start, window_end = _window(k6, sweep.warmup_s)
    oom_kills = max(resources["oom_kills"], int(state.oom_killed))
    return {
        **cell_identity(sweep, cell, placement),
        "profile": profile_meta(sweep),
        "limits": check.as_meta(),
        "window": {
            "start": window_start.isoformat(),
            "end": window_end.isoformat(),
            "load_start": k6.started_at.isoformat(),
            "load_end": window_end.isoformat(),
            "samples_until": max(k6.exited_at, window_end).isoformat(),
            "warmup_s": sweep.warmup_s,
            "duration_s": k6.duration_s - sweep.warmup_s,
            "load_duration_s": k6.duration_s,
            "clock": k6.duration_source,
        },
        "pinning": placement.cpus.as_dict(),
        "contended": placement.cpus.contended,
        "k6": {
            "exit_code": k6.exit_code,
            "script": str(sweep.k6_script),
            "script_sha256": file_sha256(sweep.k6_script),
            "thresholds_failed": k6.thresholds_failed,
            "cpu_s": k6.cpu_s,
            "wall_s": k6.wall_s,
            "run_s": k6.duration_s,
        },
        "resources": {**resources, "oom_kills": oom_kills, "exit_status": state.status},
        "image": state.image,
        "host": facts,
        "config_hash": sweep.cell_config_hash(cell),
        "status": "ok",
        "warnings": load_warnings(oom_kills, resources["restarts"], k6.thresholds_failed),
    }
